//! Bucket operations: create, delete, list, location, versioning and bucket configuration.
use crate::acl;
use crate::error::{S3Error, S3Result};
use crate::meta::{bucket_prefix, Bucket, ObjectEntry, BUCKETS, OBJECTS, UPLOADS};
use crate::S3Service;
use nuage_core::{AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};

/// S3's naming rules for general purpose buckets.
pub fn valid_bucket_name(name: &str) -> bool {
    let len_ok = (3..=63).contains(&name.len());
    let chars_ok = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let ends_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    let is_ip = name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    len_ok
        && chars_ok
        && ends_ok
        && !is_ip
        && !name.contains("..")
        && !name.contains(".-")
        && !name.contains("-.")
        && !name.starts_with("xn--")
        && !name.starts_with("sthree-")
        && !name.ends_with("-s3alias")
        && !name.ends_with("--ol-s3")
}

/// Names that could belong to an existing bucket (looser: legacy buckets allowed more).
pub fn plausible_bucket_name(name: &str) -> bool {
    (1..=255).contains(&name.len()) && !name.contains('/')
}

pub async fn list_buckets(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::ListBucketsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListBucketsOutput> {
    let owner = S3Service::owner_of(ctx);
    let all: Vec<(String, Bucket)> = svc.store.read()?.scan(BUCKETS, "")?;
    let max = input.max_buckets.unwrap_or(10_000).clamp(1, 10_000) as usize;
    let mut mine: Vec<Bucket> = all
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| b.owner.account_id == owner.account_id)
        .filter(|b| input.prefix.as_deref().is_none_or(|p| b.name.starts_with(p)))
        .filter(|b| input.bucket_region.as_deref().is_none_or(|r| b.region == r))
        .filter(|b| input.continuation_token.as_deref().is_none_or(|t| b.name.as_str() > t))
        .collect();
    let truncated = mine.len() > max;
    mine.truncate(max);
    let token = truncated.then(|| mine.last().map(|b| b.name.clone())).flatten();
    Ok(m::ListBucketsOutput {
        buckets: Some(
            mine.iter()
                .map(|b| m::Bucket {
                    name: Some(b.name.clone()),
                    creation_date: Some(Timestamp(b.created)),
                    bucket_region: Some(b.region.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
        owner: Some(owner.to_model()),
        continuation_token: token,
        prefix: input.prefix,
    })
}

pub async fn create_bucket(
    svc: &S3Service,
    ctx: &RequestContext,
    input: m::CreateBucketRequest,
    req: &ServiceRequest,
) -> AwsResult<m::CreateBucketOutput> {
    let name = input.bucket.clone().unwrap_or_default();
    if !valid_bucket_name(&name) {
        return Err(S3Error::InvalidBucketName(name).into());
    }
    let owner = S3Service::owner_of(ctx);
    if ctx.principal.is_none() {
        return Err(nuage_core::AwsError::new("AccessDenied", 403, "Access Denied"));
    }
    let config = input.create_bucket_configuration.as_ref();
    // Directory buckets (S3 Express One Zone) and account-regional names are other kinds of
    // bucket: refused rather than made into an ordinary one.
    if config.is_some_and(|c| c.location.is_some() || c.bucket.is_some()) {
        return Err(S3Error::NotImplemented("directory buckets (S3 Express One Zone)".into()).into());
    }
    if input.bucket_namespace.as_deref() == Some("account-regional") {
        return Err(S3Error::NotImplemented("account-regional bucket namespaces".into()).into());
    }
    // Tags given at creation are the bucket's tags, checked as PutBucketTagging checks them.
    let tags = config.and_then(|c| c.tags.clone()).filter(|t| !t.is_empty());
    if let Some(t) = &tags {
        validate_tags(&tag_pairs(t), 50)?;
    }
    let constraint = config.and_then(|c| c.location_constraint.clone());
    let region = match constraint.as_deref() {
        None | Some("") => ctx.region.clone(),
        Some("EU") => "eu-west-1".to_string(),
        Some(c)
            if c.is_empty()
                || c.len() > 32
                || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            return Err(S3Error::InvalidLocationConstraint.into())
        }
        Some(c) => c.to_string(),
    };
    let grants = acl::from_headers(svc, req, &owner, &owner)?.unwrap_or(acl::canned("private", &owner, &owner)?);
    let ownership = input
        .object_ownership
        .clone()
        .map(|o| m::OwnershipControls { rules: Some(vec![m::OwnershipControlsRule { object_ownership: Some(o) }]) });
    let bucket = Bucket {
        name: name.clone(),
        owner,
        created: Timestamp::now().0,
        region,
        versioning: input.object_lock_enabled_for_bucket.unwrap_or(false).then(|| "Enabled".to_string()),
        tags,
        cors: None,
        encryption: None,
        ownership,
        grants,
        object_lock: input.object_lock_enabled_for_bucket.unwrap_or(false),
        lock_config: None,
        lifecycle: None,
        policy: None,
        policy_binds_root: false,
        public_access_block: None,
        logging: None,
        website: None,
        accelerate: None,
        requester_pays: false,
        notification: None,
        metrics: Vec::new(),
        inventory: Vec::new(),
        inventory_runs: Default::default(),
    };
    acl::check_acl_allowed(&bucket, None, &Some(bucket.grants.clone()))?;
    let location = format!("/{name}");
    svc.store
        .write(move |w| {
            if let Some(existing) = w.get::<Bucket>(BUCKETS, &name)? {
                // us-east-1 answers a repeated create by the owner with success, changing nothing.
                if existing.owner.account_id == bucket.owner.account_id
                    && existing.region == "us-east-1"
                    && bucket.region == "us-east-1"
                {
                    return Ok(());
                }
                return Err(if existing.owner.account_id == bucket.owner.account_id {
                    S3Error::BucketAlreadyOwnedByYou(name).into()
                } else {
                    S3Error::BucketAlreadyExists(name).into()
                });
            }
            w.put(BUCKETS, &name, &bucket)
        })
        .await?;
    Ok(m::CreateBucketOutput { location: Some(location), ..Default::default() })
}

pub async fn head_bucket(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::HeadBucketRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::HeadBucketOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::HeadBucketOutput { bucket_region: Some(b.region), ..Default::default() })
}

pub async fn delete_bucket(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let name = input.bucket.unwrap_or_default();
    svc.store
        .write(move |w| {
            w.get::<Bucket>(BUCKETS, &name)?.ok_or_else(|| S3Error::NoSuchBucket(name.clone()))?;
            let objects: Vec<(String, ObjectEntry)> = w.scan(OBJECTS, &bucket_prefix(&name))?;
            if objects.iter().any(|(_, e)| !e.versions.is_empty()) {
                return Err(S3Error::BucketNotEmpty(name).into());
            }
            // Uploads in progress die with the bucket.
            let uploads: Vec<(String, crate::meta::Upload)> = w.scan(UPLOADS, &bucket_prefix(&name))?;
            for (k, u) in uploads {
                for p in u.parts.values() {
                    w.drop_blob(&p.blob)?;
                }
                w.delete(UPLOADS, &k)?;
            }
            for (k, _) in objects {
                w.delete(OBJECTS, &k)?;
            }
            let completed: Vec<(String, serde_json::Value)> = w.scan(crate::meta::COMPLETED, &bucket_prefix(&name))?;
            for (k, _) in completed {
                w.delete(crate::meta::COMPLETED, &k)?;
            }
            w.delete(BUCKETS, &name)
        })
        .await
}

pub async fn get_bucket_location(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketLocationRequest,
    _req: &ServiceRequest,
) -> AwsResult<Option<String>> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok((b.region != "us-east-1").then_some(b.region))
}

/// Applies `change` to the stored bucket in one transaction.
pub(crate) async fn update_bucket(
    svc: &S3Service,
    name: Option<String>,
    change: impl FnOnce(&mut Bucket) -> AwsResult<()> + Send + 'static,
) -> AwsResult<()> {
    let name = name.unwrap_or_default();
    svc.store
        .write(move |w| {
            let mut b: Bucket = w.get(BUCKETS, &name)?.ok_or_else(|| S3Error::NoSuchBucket(name.clone()))?;
            change(&mut b)?;
            w.put(BUCKETS, &name, &b)
        })
        .await
}

pub fn validate_tags(tags: &[(String, String)], max: usize) -> S3Result<()> {
    if tags.len() > max {
        return Err(if max == 10 {
            S3Error::InvalidTag("Object tags cannot be greater than 10".into()).into()
        } else {
            S3Error::InvalidTag("Bucket tag count cannot be greater than 50".into()).into()
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(S3Error::InvalidTag("The TagKey you have provided is invalid".into()).into());
        }
        if v.chars().count() > 256 {
            return Err(S3Error::InvalidTag("The TagValue you have provided is invalid".into()).into());
        }
        if !seen.insert(k) {
            return Err(S3Error::InvalidTag("Cannot provide multiple Tags with the same key".into()).into());
        }
    }
    Ok(())
}

pub fn tag_pairs(tags: &[m::Tag]) -> Vec<(String, String)> {
    tags.iter().map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default())).collect()
}

pub async fn put_bucket_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let tags = input.tagging.and_then(|t| t.tag_set).unwrap_or_default();
    validate_tags(&tag_pairs(&tags), 50)?;
    update_bucket(svc, input.bucket, move |b| {
        b.tags = Some(tags);
        Ok(())
    })
    .await
}

pub async fn get_bucket_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketTaggingOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let tags = b.tags.ok_or(S3Error::NoSuchTagSet)?;
    Ok(m::GetBucketTaggingOutput { tag_set: Some(tags) })
}

pub async fn delete_bucket_tagging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketTaggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.tags = None;
        Ok(())
    })
    .await
}

pub async fn put_bucket_cors(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketCorsRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let cors = input.cors_configuration.ok_or(S3Error::MalformedXml)?;
    let rules = cors.cors_rules.clone().unwrap_or_default();
    if rules.is_empty() || rules.len() > 100 {
        return Err(S3Error::MalformedXml.into());
    }
    for r in &rules {
        for method in r.allowed_methods.iter().flatten() {
            if !["GET", "PUT", "HEAD", "POST", "DELETE"].contains(&method.as_str()) {
                return Err(S3Error::InvalidRequest(format!(
                    "Found unsupported HTTP method in CORS config. Unsupported method is {method}"
                ))
                .into());
            }
        }
        if r.allowed_origins.as_ref().is_none_or(|o| o.is_empty())
            || r.allowed_methods.as_ref().is_none_or(|m| m.is_empty())
        {
            return Err(S3Error::MalformedXml.into());
        }
    }
    update_bucket(svc, input.bucket, move |b| {
        b.cors = Some(cors);
        Ok(())
    })
    .await
}

pub async fn get_bucket_cors(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketCorsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketCorsOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let cors = b.cors.ok_or(S3Error::NoSuchCors)?;
    Ok(m::GetBucketCorsOutput { cors_rules: cors.cors_rules })
}

pub async fn delete_bucket_cors(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketCorsRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.cors = None;
        Ok(())
    })
    .await
}

pub async fn put_bucket_encryption(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketEncryptionRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let conf = input.server_side_encryption_configuration.ok_or(S3Error::MalformedXml)?;
    let rules = conf.rules.as_deref().unwrap_or_default();
    if rules.is_empty() {
        return Err(S3Error::MalformedXml.into());
    }
    for r in rules {
        let alg = r.apply_server_side_encryption_by_default.as_ref().and_then(|d| d.sse_algorithm.as_deref());
        if !matches!(alg, Some("AES256") | Some("aws:kms") | Some("aws:kms:dsse")) {
            return Err(S3Error::MalformedXml.into());
        }
    }
    update_bucket(svc, input.bucket, move |b| {
        b.encryption = Some(conf);
        Ok(())
    })
    .await
}

/// Every bucket is encrypted with SSE-S3 unless configured otherwise, as on AWS since 2023.
pub fn default_encryption() -> m::ServerSideEncryptionConfiguration {
    m::ServerSideEncryptionConfiguration {
        rules: Some(vec![m::ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(m::ServerSideEncryptionByDefault {
                sse_algorithm: Some("AES256".into()),
                ..Default::default()
            }),
            bucket_key_enabled: Some(false),
            ..Default::default()
        }]),
    }
}

pub async fn get_bucket_encryption(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketEncryptionRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketEncryptionOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(b.encryption.unwrap_or_else(default_encryption)),
    })
}

pub async fn delete_bucket_encryption(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketEncryptionRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.encryption = None;
        Ok(())
    })
    .await
}

pub async fn put_ownership_controls(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketOwnershipControlsRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let controls = input.ownership_controls.ok_or(S3Error::MalformedXml)?;
    let rules = controls.rules.as_deref().unwrap_or_default();
    if rules.len() != 1
        || !matches!(
            rules[0].object_ownership.as_deref(),
            Some("BucketOwnerPreferred") | Some("ObjectWriter") | Some("BucketOwnerEnforced")
        )
    {
        return Err(S3Error::MalformedXml.into());
    }
    let enforced = rules[0].object_ownership.as_deref() == Some("BucketOwnerEnforced");
    update_bucket(svc, input.bucket, move |b| {
        if enforced && b.grants.iter().any(|g| g.grantee.as_ref().is_some_and(|e| e.r#type.as_deref() == Some("Group")))
        {
            return Err(nuage_core::AwsError::new(
                "InvalidBucketAclWithObjectOwnership",
                400,
                "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
            ));
        }
        b.ownership = Some(controls);
        Ok(())
    })
    .await
}

pub async fn get_ownership_controls(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketOwnershipControlsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketOwnershipControlsOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketOwnershipControlsOutput {
        ownership_controls: Some(b.ownership.ok_or(S3Error::NoSuchOwnershipControls)?),
    })
}

pub async fn delete_ownership_controls(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketOwnershipControlsRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.ownership = None;
        Ok(())
    })
    .await
}

pub async fn put_bucket_versioning(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketVersioningRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let status = input.versioning_configuration.and_then(|v| v.status).ok_or(S3Error::MalformedXml)?;
    if status != "Enabled" && status != "Suspended" {
        return Err(S3Error::MalformedXml.into());
    }
    update_bucket(svc, input.bucket, move |b| {
        if b.object_lock && status == "Suspended" {
            return Err(nuage_core::AwsError::new(
                "InvalidBucketState",
                409,
                "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
            ));
        }
        b.versioning = Some(status);
        Ok(())
    })
    .await
}

pub async fn get_bucket_versioning(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketVersioningRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketVersioningOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketVersioningOutput { status: b.versioning, ..Default::default() })
}
