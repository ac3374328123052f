//! Bucket policies, whether they make a bucket public, and the public access block; plus the
//! S3 condition keys a request carries into policy evaluation.
use crate::bucket::update_bucket;
use crate::error::S3Error;
use crate::meta::Bucket;
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_policy::{Context, Effect, Policy, PolicyKind, PrincipalId};
use nuage_protocol::s3 as m;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

fn malformed(msg: impl Into<String>) -> AwsError {
    AwsError::new("MalformedPolicy", 400, msg)
}

fn access_denied() -> AwsError {
    AwsError::new("AccessDenied", 403, "Access Denied")
}

/// Parsed bucket policies, keyed by bucket and checked against the stored text, so a request
/// parses nothing.
#[derive(Default)]
pub struct PolicyCache {
    parsed: RwLock<HashMap<String, (String, Arc<Policy>)>>,
}

impl PolicyCache {
    pub fn get(&self, bucket: &str, doc: &str) -> Option<Arc<Policy>> {
        if let Some((text, p)) = self.parsed.read().unwrap_or_else(|e| e.into_inner()).get(bucket) {
            if text == doc {
                return Some(p.clone());
            }
        }
        let p = Arc::new(Policy::parse(doc, PolicyKind::Resource).ok()?);
        self.parsed.write().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_string(), (doc.to_string(), p.clone()));
        Some(p)
    }

    pub fn clear(&self) {
        self.parsed.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Condition keys that confine a statement to known callers, so a `"*"` principal with one of
/// them is not public (as S3's policy status judges it).
const CONFINING_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceowner",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:userid",
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

/// Whether a policy grants access to anyone: an Allow to `"*"` not confined by a condition.
pub fn is_public(policy: &Policy) -> bool {
    policy.statements.iter().any(|s| {
        s.effect == Effect::Allow
            && s.principal.as_ref().is_some_and(|p| !p.negated && p.items.contains(&PrincipalId::Anyone))
            && !s.conditions.iter().any(|c| CONFINING_KEYS.contains(&c.key.as_str()))
    })
}

/// The public access block settings that apply to a bucket: its own and its account's.
fn block(svc: &S3Service, b: &Bucket) -> m::PublicAccessBlockConfiguration {
    svc.effective_block(b)
}

pub fn block_public_policy(svc: &S3Service, b: &Bucket) -> bool {
    block(svc, b).block_public_policy == Some(true)
}

pub fn restrict_public_buckets(svc: &S3Service, b: &Bucket) -> bool {
    block(svc, b).restrict_public_buckets == Some(true)
}

pub fn block_public_acls(svc: &S3Service, b: &Bucket) -> bool {
    block(svc, b).block_public_acls == Some(true)
}

pub fn ignore_public_acls(svc: &S3Service, b: &Bucket) -> bool {
    block(svc, b).ignore_public_acls == Some(true)
}

/// Whether a request would make a bucket or object public through an ACL: a public canned
/// ACL, or a grant to everyone or to every AWS user (headers or an AccessControlPolicy body).
pub fn grants_public_access(req: &ServiceRequest) -> bool {
    const GROUPS: [&str; 2] = [
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    ];
    if req.header("x-amz-acl").is_some_and(|a| matches!(a, "public-read" | "public-read-write" | "authenticated-read"))
    {
        return true;
    }
    let in_headers = req
        .headers
        .iter()
        .any(|(k, v)| k.to_ascii_lowercase().starts_with("x-amz-grant-") && GROUPS.iter().any(|g| v.contains(g)));
    let in_body = req.query_param("acl").is_some() && {
        let body = String::from_utf8_lossy(&req.body);
        GROUPS.iter().any(|g| body.contains(g))
    };
    in_headers || in_body
}

fn check_document(svc: &S3Service, bucket: &str, doc: &str) -> AwsResult<Policy> {
    if !doc.trim_start().starts_with('{') {
        return Err(malformed("Policies must be valid JSON and the first byte must be '{'"));
    }
    let policy = Policy::parse(doc, PolicyKind::Resource).map_err(|e| malformed(e.0))?;
    let own = format!("arn:aws:s3:::{bucket}");
    for s in &policy.statements {
        for r in s.resource.iter().flat_map(|r| r.items.iter()) {
            let in_bucket = r == &own || r.starts_with(&format!("{own}/")) || r.starts_with("arn:aws:s3:::*");
            if !in_bucket {
                return Err(malformed("Policy has invalid resource"));
            }
        }
    }
    for p in policy.named_principals() {
        if let PrincipalId::Aws(arn) = p {
            if !svc.principals.principal_exists(arn) {
                return Err(malformed("Invalid principal in policy"));
            }
        }
    }
    Ok(policy)
}

pub async fn put_bucket_policy(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketPolicyRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let name = input.bucket.clone().unwrap_or_default();
    let doc = input.policy.unwrap_or_default();
    if doc.len() > 20 * 1024 {
        return Err(AwsError::new("PolicyTooLarge", 400, "Policy exceeds the maximum allowed document size."));
    }
    let policy = check_document(svc, &name, &doc)?;
    if is_public(&policy) && block_public_policy(svc, &svc.bucket(&name)?) {
        return Err(access_denied());
    }
    let binds_root = input.confirm_remove_self_bucket_access == Some(true);
    update_bucket(svc, input.bucket, move |b| {
        b.policy = Some(doc);
        b.policy_binds_root = binds_root;
        Ok(())
    })
    .await
}

pub async fn get_bucket_policy(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketPolicyRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketPolicyOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let policy = b.policy.ok_or_else(|| {
        AwsError::new("NoSuchBucketPolicy", 404, "The bucket policy does not exist").with("BucketName", b.name.clone())
    })?;
    Ok(m::GetBucketPolicyOutput { policy: Some(policy) })
}

pub async fn delete_bucket_policy(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketPolicyRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.policy = None;
        b.policy_binds_root = false;
        Ok(())
    })
    .await
}

pub async fn get_bucket_policy_status(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketPolicyStatusRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketPolicyStatusOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    // Public through the policy, or through the bucket's ACL.
    let by_policy = b.policy.as_deref().and_then(|doc| svc.policies.get(&b.name, doc)).is_some_and(|p| is_public(&p));
    let public = by_policy || b.grants.iter().any(crate::acl::is_public_grant);
    Ok(m::GetBucketPolicyStatusOutput { policy_status: Some(m::PolicyStatus { is_public: Some(public) }) })
}

pub async fn put_public_access_block(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutPublicAccessBlockRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let config = input.public_access_block_configuration.ok_or(S3Error::MalformedXml)?;
    update_bucket(svc, input.bucket, move |b| {
        b.public_access_block = Some(config);
        Ok(())
    })
    .await
}

pub async fn get_public_access_block(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetPublicAccessBlockRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetPublicAccessBlockOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let config = b.public_access_block.ok_or_else(|| {
        AwsError::new(
            "NoSuchPublicAccessBlockConfiguration",
            404,
            "The public access block configuration was not found",
        )
        .with("BucketName", b.name.clone())
    })?;
    let full = m::PublicAccessBlockConfiguration {
        block_public_acls: Some(config.block_public_acls.unwrap_or(false)),
        ignore_public_acls: Some(config.ignore_public_acls.unwrap_or(false)),
        block_public_policy: Some(config.block_public_policy.unwrap_or(false)),
        restrict_public_buckets: Some(config.restrict_public_buckets.unwrap_or(false)),
    };
    Ok(m::GetPublicAccessBlockOutput { public_access_block_configuration: Some(full) })
}

pub async fn delete_public_access_block(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeletePublicAccessBlockRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.public_access_block = None;
        Ok(())
    })
    .await
}

/// The S3 condition keys of a request (the global ones are the front door's).
pub fn condition_keys(ctx: &RequestContext, req: &ServiceRequest, object_tags: Option<&[(String, String)]>) -> Context {
    let mut c = Context::default();
    for (key, param) in [
        ("s3:prefix", "prefix"),
        ("s3:delimiter", "delimiter"),
        ("s3:max-keys", "max-keys"),
        ("s3:VersionId", "versionId"),
    ] {
        if let Some(v) = req.query_param(param) {
            c.set(key, v);
        }
    }
    for header in [
        "x-amz-acl",
        "x-amz-grant-read",
        "x-amz-grant-write",
        "x-amz-grant-read-acp",
        "x-amz-grant-write-acp",
        "x-amz-grant-full-control",
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-storage-class",
        "x-amz-copy-source",
        "x-amz-metadata-directive",
        "x-amz-content-sha256",
        "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date",
        "x-amz-object-lock-legal-hold",
    ] {
        if let Some(v) = req.header(header) {
            c.set(&format!("s3:{header}"), v);
        }
    }
    if let Some(tagging) = req.header("x-amz-tagging") {
        let tags: Vec<(String, String)> = form_urlencoded::parse(tagging.as_bytes()).into_owned().collect();
        for (k, v) in &tags {
            c.set(&format!("s3:RequestObjectTag/{k}"), v.clone());
        }
        c.set_all("s3:RequestObjectTagKeys", tags.into_iter().map(|(k, _)| k).collect());
    }
    for (k, v) in object_tags.into_iter().flatten() {
        c.set(&format!("s3:ExistingObjectTag/{k}"), v.clone());
    }
    if ctx.principal.is_some() {
        let v4 = req.header("authorization").is_some_and(|a| a.starts_with("AWS4-"))
            || req.query_param("X-Amz-Algorithm").is_some();
        c.set("s3:signatureversion", if v4 { "AWS4-HMAC-SHA256" } else { "AWS" });
        c.set("s3:authType", ctx.auth_type);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_means_unconfined_anyone() {
        let public = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
            PolicyKind::Resource,
        )
        .unwrap();
        assert!(is_public(&public));
        let confined = Policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
            PolicyKind::Resource,
        )
        .unwrap();
        assert!(!is_public(&confined));
    }
}
