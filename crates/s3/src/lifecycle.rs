//! Lifecycle configuration: stored and validated as S3 does, and reported on objects through
//! `x-amz-expiration`. (Rules are not yet executed: objects do not expire on their own.)
use crate::error::S3Error;
use crate::meta::Bucket;
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn invalid(msg: &str) -> AwsError {
    S3Error::InvalidArgument(msg.to_string(), None).into()
}

fn validate(rules: &mut [m::LifecycleRule]) -> AwsResult<()> {
    if rules.is_empty() || rules.len() > 1000 {
        return Err(S3Error::MalformedXml.into());
    }
    let mut ids = std::collections::HashSet::new();
    for r in rules.iter_mut() {
        let id = r.id.get_or_insert_with(|| uuid::Uuid::new_v4().simple().to_string()).clone();
        if id.len() > 255 {
            return Err(invalid("ID length should not exceed allowed limit of 255"));
        }
        if !ids.insert(id) {
            return Err(invalid("Rule ID must be unique. Found same ID for more than one rule"));
        }
        if !matches!(r.status.as_deref(), Some("Enabled") | Some("Disabled")) {
            return Err(S3Error::MalformedXml.into());
        }
        if let Some(e) = &r.expiration {
            if e.days.is_some_and(|d| d <= 0) {
                return Err(invalid("'Days' for Expiration action must be a positive integer"));
            }
            if let Some(d) = e.date {
                if d.0.rem_euclid(DAY_MS) != 0 {
                    return Err(invalid("'Date' must be at midnight GMT"));
                }
            }
        }
        for t in r.transitions.iter().flatten() {
            if let Some(d) = t.date {
                if d.0.rem_euclid(DAY_MS) != 0 {
                    return Err(invalid("'Date' must be at midnight GMT"));
                }
            }
            if t.days.is_some_and(|d| d < 0) {
                return Err(invalid("'Days' for Transition action must be a positive integer"));
            }
        }
        if r.noncurrent_version_expiration.as_ref().and_then(|n| n.noncurrent_days).is_some_and(|d| d <= 0) {
            return Err(invalid("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"));
        }
    }
    Ok(())
}

pub async fn put(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketLifecycleConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::PutBucketLifecycleConfigurationOutput> {
    let name = input.bucket.clone().unwrap_or_default();
    let mut conf = input.lifecycle_configuration.ok_or(S3Error::MalformedXml)?;
    let rules = conf.rules.get_or_insert_with(Vec::new);
    validate(rules)?;
    crate::bucket::update_bucket(svc, Some(name), move |b| {
        b.lifecycle = Some(conf);
        Ok(())
    })
    .await?;
    Ok(m::PutBucketLifecycleConfigurationOutput::default())
}

pub async fn get(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketLifecycleConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketLifecycleConfigurationOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let conf = b.lifecycle.ok_or_else(|| {
        AwsError::new("NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist")
    })?;
    Ok(m::GetBucketLifecycleConfigurationOutput { rules: conf.rules, ..Default::default() })
}

pub async fn delete(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketLifecycleRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    crate::bucket::update_bucket(svc, input.bucket, |b| {
        b.lifecycle = None;
        Ok(())
    })
    .await
}

fn rule_matches(r: &m::LifecycleRule, key: &str, tags: &[(String, String)]) -> bool {
    let has_tag = |t: &m::Tag| tags.iter().any(|(k, v)| Some(k) == t.key.as_ref() && Some(v) == t.value.as_ref());
    let prefix_ok = |p: &Option<String>| p.as_deref().is_none_or(|p| key.starts_with(p));
    match &r.filter {
        Some(f) => {
            prefix_ok(&f.prefix)
                && f.tag.as_ref().is_none_or(has_tag)
                && f.and.as_ref().is_none_or(|a| prefix_ok(&a.prefix) && a.tags.iter().flatten().all(has_tag))
        }
        None => prefix_ok(&r.prefix),
    }
}

/// The `x-amz-expiration` value for an object: the first enabled rule with an expiration that
/// applies, its date rounded up to the next midnight UTC as S3 does.
pub fn expiration_header(bucket: &Bucket, key: &str, tags: &[(String, String)], last_modified: i64) -> Option<String> {
    let rules = bucket.lifecycle.as_ref()?.rules.as_ref()?;
    let r = rules.iter().find(|r| {
        r.status.as_deref() == Some("Enabled")
            && r.expiration.as_ref().is_some_and(|e| e.days.is_some() || e.date.is_some())
            && rule_matches(r, key, tags)
    })?;
    let e = r.expiration.as_ref()?;
    let at = match (e.days, e.date) {
        (Some(d), _) => {
            let t = last_modified + d as i64 * DAY_MS;
            (t + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS
        }
        (None, Some(date)) => date.0,
        _ => return None,
    };
    Some(format!(
        "expiry-date=\"{}\", rule-id=\"{}\"",
        nuage_protocol::time_fmt::http_date(Timestamp(at)),
        r.id.clone().unwrap_or_default()
    ))
}
