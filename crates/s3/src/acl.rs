//! Access control lists: canned ACLs, grant headers, AccessControlPolicy documents, and the
//! check whether a grant admits a principal.
use crate::error::{S3Error, S3Result};
use crate::meta::{object_key, Bucket, ObjectEntry, Owner, BUCKETS, OBJECTS};
use crate::S3Service;
use nuage_core::{AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::s3 as m;

pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const PERMISSIONS: &[&str] = &["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"];

fn canonical(owner: &Owner, permission: &str) -> m::Grant {
    m::Grant {
        grantee: Some(m::Grantee {
            r#type: Some("CanonicalUser".into()),
            id: Some(owner.canonical_id.clone()),
            display_name: Some(owner.display_name.clone()),
            ..Default::default()
        }),
        permission: Some(permission.into()),
    }
}

fn group(uri: &str, permission: &str) -> m::Grant {
    m::Grant {
        grantee: Some(m::Grantee { r#type: Some("Group".into()), uri: Some(uri.into()), ..Default::default() }),
        permission: Some(permission.into()),
    }
}

/// The grants of a canned ACL for a resource owned by `owner` in a bucket owned by `bucket_owner`.
pub fn canned(acl: &str, owner: &Owner, bucket_owner: &Owner) -> S3Result<Vec<m::Grant>> {
    // Group grants come first, as S3 lists them.
    let mut g = Vec::new();
    match acl {
        "private" => {}
        "public-read" => g.push(group(ALL_USERS, "READ")),
        "public-read-write" => {
            g.push(group(ALL_USERS, "READ"));
            g.push(group(ALL_USERS, "WRITE"));
        }
        "authenticated-read" => g.push(group(AUTHENTICATED_USERS, "READ")),
        "bucket-owner-read" => {
            if bucket_owner != owner {
                g.push(canonical(bucket_owner, "READ"));
            }
        }
        "bucket-owner-full-control" => {
            if bucket_owner != owner {
                g.push(canonical(bucket_owner, "FULL_CONTROL"));
            }
        }
        "log-delivery-write" => {
            g.push(group("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"));
            g.push(group("http://acs.amazonaws.com/groups/s3/LogDelivery", "READ_ACP"));
        }
        _ => return Err(S3Error::InvalidArgument(format!("Invalid canned ACL: {acl}"), None).into()),
    }
    let owner_first = acl.starts_with("bucket-owner");
    if owner_first {
        g.insert(0, canonical(owner, "FULL_CONTROL"));
    } else {
        g.push(canonical(owner, "FULL_CONTROL"));
    }
    Ok(g)
}

/// Grants from `x-amz-acl` or the `x-amz-grant-*` headers; `None` when the request has neither.
pub fn from_headers(
    svc: &S3Service,
    req: &ServiceRequest,
    owner: &Owner,
    bucket_owner: &Owner,
) -> AwsResult<Option<Vec<m::Grant>>> {
    let headers = [
        ("x-amz-grant-full-control", "FULL_CONTROL"),
        ("x-amz-grant-read", "READ"),
        ("x-amz-grant-read-acp", "READ_ACP"),
        ("x-amz-grant-write", "WRITE"),
        ("x-amz-grant-write-acp", "WRITE_ACP"),
    ];
    let explicit: Vec<_> = headers.iter().filter_map(|(h, p)| req.header(h).map(|v| (v, *p))).collect();
    if let Some(acl) = req.header("x-amz-acl") {
        if !explicit.is_empty() {
            return Err(
                S3Error::InvalidRequest("Specifying both Canned ACLs and Header Grants is not allowed".into()).into()
            );
        }
        return Ok(Some(canned(acl, owner, bucket_owner)?));
    }
    if explicit.is_empty() {
        return Ok(None);
    }
    let mut grants = Vec::new();
    for (value, perm) in explicit {
        for part in value.split(',') {
            let (kind, v) = part.trim().split_once('=').ok_or_else(|| {
                S3Error::InvalidArgument(
                    "Argument format not recognized".into(),
                    Some(("x-amz-grant", part.to_string())),
                )
            })?;
            let v = v.trim().trim_matches('"');
            let grantee = match kind.trim().to_ascii_lowercase().as_str() {
                "id" => {
                    let acct = svc.ids.account_by_canonical_id(v).ok_or_else(|| {
                        S3Error::InvalidArgument("Invalid id".into(), Some(("CanonicalUser/ID", v.to_string())))
                    })?;
                    m::Grantee {
                        r#type: Some("CanonicalUser".into()),
                        id: Some(v.into()),
                        display_name: Some(acct.display_name),
                        ..Default::default()
                    }
                }
                "uri" => m::Grantee { r#type: Some("Group".into()), uri: Some(v.into()), ..Default::default() },
                "emailaddress" => {
                    let acct = svc.ids.account_by_email(v).ok_or_else(|| {
                        nuage_core::AwsError::new(
                            "UnresolvableGrantByEmailAddress",
                            400,
                            "The e-mail address you provided does not match any account on record.",
                        )
                    })?;
                    m::Grantee {
                        r#type: Some("CanonicalUser".into()),
                        id: Some(acct.canonical_id),
                        display_name: Some(acct.display_name),
                        ..Default::default()
                    }
                }
                _ => {
                    return Err(S3Error::InvalidArgument(
                        "Argument format not recognized".into(),
                        Some(("x-amz-grant", part.to_string())),
                    )
                    .into())
                }
            };
            grants.push(m::Grant { grantee: Some(grantee), permission: Some(perm.into()) });
        }
    }
    Ok(Some(grants))
}

/// Validates an AccessControlPolicy document and fills in grantee display names.
fn from_policy(svc: &S3Service, policy: m::AccessControlPolicy, owner: &Owner) -> AwsResult<Vec<m::Grant>> {
    if let Some(o) = &policy.owner {
        if o.id.as_deref().is_some_and(|id| id != owner.canonical_id) {
            return Err(S3Error::InvalidArgument("Invalid id".into(), None).into());
        }
    }
    let mut out = Vec::new();
    for mut g in policy.grants.unwrap_or_default() {
        let perm = g.permission.clone().unwrap_or_default();
        if !PERMISSIONS.contains(&perm.as_str()) {
            return Err(S3Error::MalformedXml.into());
        }
        let grantee = g.grantee.as_mut().ok_or(S3Error::MalformedXml)?;
        match grantee.r#type.as_deref() {
            Some("CanonicalUser") => {
                let id = grantee.id.clone().unwrap_or_default();
                let acct = svc.ids.account_by_canonical_id(&id).ok_or_else(|| {
                    S3Error::InvalidArgument("Invalid id".into(), Some(("CanonicalUser/ID", id.clone())))
                })?;
                grantee.display_name = Some(acct.display_name);
            }
            Some("Group") => {}
            Some("AmazonCustomerByEmail") => {
                let email = grantee.email_address.clone().unwrap_or_default();
                let acct = svc.ids.account_by_email(&email).ok_or_else(|| {
                    nuage_core::AwsError::new(
                        "UnresolvableGrantByEmailAddress",
                        400,
                        "The e-mail address you provided does not match any account on record.",
                    )
                })?;
                *grantee = m::Grantee {
                    r#type: Some("CanonicalUser".into()),
                    id: Some(acct.canonical_id),
                    display_name: Some(acct.display_name),
                    ..Default::default()
                };
            }
            _ => return Err(S3Error::MalformedXml.into()),
        }
        out.push(g);
    }
    Ok(out)
}

/// Whether `grants` give the request's principal `permission`.
pub fn grants_allow(grants: &[m::Grant], ctx: &RequestContext, permission: &str) -> bool {
    grants.iter().any(|g| {
        let perm_ok = matches!(g.permission.as_deref(), Some(p) if p == permission || p == "FULL_CONTROL");
        let Some(grantee) = &g.grantee else { return false };
        let who_ok = match grantee.r#type.as_deref() {
            Some("Group") => match grantee.uri.as_deref() {
                Some(ALL_USERS) => true,
                Some(AUTHENTICATED_USERS) => ctx.principal.is_some(),
                // The log-delivery group is S3's logging service.
                Some("http://acs.amazonaws.com/groups/s3/LogDelivery") => ctx.principal.as_ref().is_some_and(|p| {
                    p.kind == nuage_core::PrincipalKind::Service && p.name == "logging.s3.amazonaws.com"
                }),
                _ => false,
            },
            Some("CanonicalUser") => {
                ctx.principal.as_ref().is_some_and(|p| grantee.id.as_deref() == Some(p.canonical_id.as_str()))
            }
            _ => false,
        };
        perm_ok && who_ok
    })
}

/// Whether a grant makes its resource public (to everyone, or to every AWS user).
pub fn is_public_grant(g: &m::Grant) -> bool {
    g.grantee.as_ref().is_some_and(|e| {
        e.r#type.as_deref() == Some("Group") && matches!(e.uri.as_deref(), Some(ALL_USERS) | Some(AUTHENTICATED_USERS))
    })
}

/// The grants that count: all of them, or (IgnorePublicAcls) only the non-public ones.
pub fn effective_grants(grants: &[m::Grant], ignore_public: bool) -> Vec<m::Grant> {
    grants.iter().filter(|g| !(ignore_public && is_public_grant(g))).cloned().collect()
}

/// Whether the ACL of the addressed object version admits the principal.
pub fn object_grants(
    svc: &S3Service,
    bucket: &Bucket,
    key: &str,
    version: Option<&str>,
    ctx: &RequestContext,
    perm: &str,
) -> bool {
    let Ok(snap) = svc.store.read() else { return false };
    let Ok(Some(entry)) = snap.get::<ObjectEntry>(OBJECTS, &object_key(&bucket.name, key)) else {
        // A missing object: let a bucket READ grant through so the caller learns NoSuchKey.
        return grants_allow(&bucket.grants, ctx, perm);
    };
    let v = match version {
        Some(id) => entry.versions.iter().find(|v| v.version_id == id),
        None => entry.latest(),
    };
    let ignore = svc.effective_block(bucket).ignore_public_acls == Some(true);
    match v {
        Some(v) => grants_allow(&effective_grants(&v.grants, ignore), ctx, perm),
        None => grants_allow(&effective_grants(&bucket.grants, ignore), ctx, perm),
    }
}

/// The tags of the object version a request addresses (s3:ExistingObjectTag/...).
pub fn current_tags(
    store: &nuage_storage::Store,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Option<Vec<(String, String)>> {
    let snap = store.read().ok()?;
    let entry = snap.get::<ObjectEntry>(OBJECTS, &object_key(bucket, key)).ok()??;
    let v = match version {
        Some(id) => entry.versions.iter().find(|v| v.version_id == id),
        None => entry.latest(),
    }?;
    Some(v.tags.clone())
}

fn policy_of(owner: &Owner, grants: &[m::Grant]) -> (m::Owner, Vec<m::Grant>) {
    (owner.to_model(), grants.to_vec())
}

pub async fn get_bucket_acl(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketAclRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketAclOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let (owner, grants) = policy_of(&b.owner, &b.grants);
    Ok(m::GetBucketAclOutput { owner: Some(owner), grants: Some(grants) })
}

fn acls_disabled(b: &Bucket) -> bool {
    b.ownership
        .as_ref()
        .and_then(|o| o.rules.as_ref())
        .is_some_and(|r| r.iter().any(|r| r.object_ownership.as_deref() == Some("BucketOwnerEnforced")))
}

/// The bucket's Object Ownership setting (`ObjectWriter` when it has none).
fn object_ownership(b: &Bucket) -> &str {
    b.ownership
        .as_ref()
        .and_then(|o| o.rules.as_ref())
        .and_then(|r| r.first())
        .and_then(|r| r.object_ownership.as_deref())
        .unwrap_or("ObjectWriter")
}

/// Who owns a new object written by `writer`, and its ACL, under the bucket's Object
/// Ownership: with `BucketOwnerEnforced` the bucket owner owns every object and the only ACL a
/// write may state is `bucket-owner-full-control`; with `BucketOwnerPreferred` a write stating
/// `bucket-owner-full-control` gives the object to the bucket owner; otherwise the writer owns
/// it. The ACL comes from the request's headers, or `form_acl` (a POST form's `acl` field).
pub fn new_object_acl(
    svc: &S3Service,
    req: Option<&ServiceRequest>,
    form_acl: Option<&str>,
    writer: Owner,
    b: &Bucket,
) -> AwsResult<(Owner, Vec<m::Grant>)> {
    let canned_acl = form_acl.or_else(|| req.and_then(|r| r.header("x-amz-acl")));
    let mode = object_ownership(b);
    let owner = match mode {
        "BucketOwnerEnforced" => b.owner.clone(),
        "BucketOwnerPreferred" if canned_acl == Some("bucket-owner-full-control") => b.owner.clone(),
        _ => writer,
    };
    let grants = match (req, form_acl) {
        (_, Some(a)) => Some(canned(a, &owner, &b.owner)?),
        (Some(r), None) => from_headers(svc, r, &owner, &b.owner)?,
        (None, None) => None,
    };
    if mode == "BucketOwnerEnforced" {
        check_acl_allowed(b, canned_acl, &grants)?;
        return Ok((owner.clone(), canned("private", &owner, &b.owner)?));
    }
    let grants = match grants {
        Some(g) => g,
        None => canned("private", &owner, &b.owner)?,
    };
    Ok((owner, grants))
}

/// Whether a write that sets an ACL is refused because the bucket has ACLs disabled: only
/// `bucket-owner-full-control`, or grants of FULL_CONTROL to the bucket owner alone, may be
/// stated then.
pub fn check_acl_allowed(b: &Bucket, canned_acl: Option<&str>, grants: &Option<Vec<m::Grant>>) -> AwsResult<()> {
    if !acls_disabled(b) {
        return Ok(());
    }
    let only_owner = match canned_acl {
        Some(a) => a == "bucket-owner-full-control",
        None => grants.as_ref().is_none_or(|g| {
            g.iter().all(|g| {
                g.permission.as_deref() == Some("FULL_CONTROL")
                    && g.grantee.as_ref().and_then(|x| x.id.as_deref()) == Some(b.owner.canonical_id.as_str())
            })
        }),
    };
    if !only_owner {
        return Err(S3Error::AccessControlListNotSupported.into());
    }
    Ok(())
}

pub async fn put_bucket_acl(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketAclRequest,
    req: &ServiceRequest,
) -> AwsResult<()> {
    let name = input.bucket.clone().unwrap_or_default();
    let b = svc.bucket(&name)?;
    let grants = match from_headers(svc, req, &b.owner, &b.owner)? {
        Some(g) => {
            if input.access_control_policy.is_some() {
                return Err(S3Error::InvalidRequest(
                    "Specifying both Canned ACLs and Header Grants is not allowed".into(),
                )
                .into());
            }
            g
        }
        None => match input.access_control_policy {
            Some(p) => from_policy(svc, p, &b.owner)?,
            None => return Err(S3Error::MalformedXml.into()),
        },
    };
    check_acl_allowed(&b, req.header("x-amz-acl"), &Some(grants.clone()))?;
    svc.store
        .write(move |w| {
            let mut b: Bucket = w.get(BUCKETS, &name)?.ok_or_else(|| S3Error::NoSuchBucket(name.clone()))?;
            b.grants = grants;
            w.put(BUCKETS, &name, &b)
        })
        .await
}

pub async fn get_object_acl(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectAclRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectAclOutput> {
    let bucket = input.bucket.unwrap_or_default();
    let key = input.key.unwrap_or_default();
    svc.bucket(&bucket)?;
    let entry: ObjectEntry =
        svc.store.read()?.get(OBJECTS, &object_key(&bucket, &key))?.ok_or_else(|| S3Error::NoSuchKey(key.clone()))?;
    let v = crate::object::select_version(&entry, &key, input.version_id.as_deref(), false)?;
    let (owner, grants) = policy_of(&v.owner, &v.grants);
    Ok(m::GetObjectAclOutput { owner: Some(owner), grants: Some(grants), ..Default::default() })
}

pub async fn put_object_acl(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutObjectAclRequest,
    req: &ServiceRequest,
) -> AwsResult<m::PutObjectAclOutput> {
    let bucket = input.bucket.clone().unwrap_or_default();
    let key = input.key.clone().unwrap_or_default();
    let b = svc.bucket(&bucket)?;
    let entry: ObjectEntry =
        svc.store.read()?.get(OBJECTS, &object_key(&bucket, &key))?.ok_or_else(|| S3Error::NoSuchKey(key.clone()))?;
    let v = crate::object::select_version(&entry, &key, input.version_id.as_deref(), false)?;
    let grants = match from_headers(svc, req, &v.owner, &b.owner)? {
        Some(g) => g,
        None => match input.access_control_policy {
            Some(p) => from_policy(svc, p, &v.owner)?,
            None => return Err(S3Error::MalformedXml.into()),
        },
    };
    check_acl_allowed(&b, req.header("x-amz-acl"), &Some(grants.clone()))?;
    let vid = v.version_id.clone();
    svc.store
        .write(move |w| {
            let ok = object_key(&bucket, &key);
            let mut e: ObjectEntry = w.get(OBJECTS, &ok)?.ok_or_else(|| S3Error::NoSuchKey(key.clone()))?;
            if let Some(v) = e.versions.iter_mut().find(|v| v.version_id == vid) {
                v.grants = grants;
            }
            w.put(OBJECTS, &ok, &e)
        })
        .await?;
    Ok(m::PutObjectAclOutput::default())
}
