//! Lifecycle configuration: stored and validated as S3 does, reported on objects through
//! `x-amz-expiration`, and executed: a periodic pass expires current versions whose rule's
//! date has come (a delete marker in a versioned bucket) and removes noncurrent versions past
//! their NoncurrentDays.
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

/// `t` rounded up to the next midnight UTC, as S3 schedules lifecycle actions.
fn next_midnight(t: i64) -> i64 {
    (t + DAY_MS - 1).div_euclid(DAY_MS) * DAY_MS
}

/// When a current version expires: the first enabled rule with an expiration that applies,
/// and its date (days after creation rounded up to midnight UTC, or the rule's date).
fn expiry(bucket: &Bucket, key: &str, tags: &[(String, String)], last_modified: i64) -> Option<(i64, String)> {
    let rules = bucket.lifecycle.as_ref()?.rules.as_ref()?;
    let r = rules.iter().find(|r| {
        r.status.as_deref() == Some("Enabled")
            && r.expiration.as_ref().is_some_and(|e| e.days.is_some() || e.date.is_some())
            && rule_matches(r, key, tags)
    })?;
    let e = r.expiration.as_ref()?;
    let at = match (e.days, e.date) {
        (Some(d), _) => next_midnight(last_modified + d as i64 * DAY_MS),
        (None, Some(date)) => date.0,
        _ => return None,
    };
    Some((at, r.id.clone().unwrap_or_default()))
}

/// The `x-amz-expiration` value for an object.
pub fn expiration_header(bucket: &Bucket, key: &str, tags: &[(String, String)], last_modified: i64) -> Option<String> {
    let (at, rule) = expiry(bucket, key, tags, last_modified)?;
    Some(format!("expiry-date=\"{}\", rule-id=\"{rule}\"", nuage_protocol::time_fmt::http_date(Timestamp(at))))
}

/// How long a noncurrent version is kept: the first enabled rule with NoncurrentDays that applies.
fn noncurrent_days(bucket: &Bucket, key: &str, tags: &[(String, String)]) -> Option<i64> {
    let rules = bucket.lifecycle.as_ref()?.rules.as_ref()?;
    rules.iter().find_map(|r| {
        let days = r.noncurrent_version_expiration.as_ref()?.noncurrent_days?;
        (r.status.as_deref() == Some("Enabled") && rule_matches(r, key, tags)).then_some(days as i64)
    })
}

/// One lifecycle pass over every bucket with rules: what is due at `now` (ms) is expired, through
/// the same deletes a client would make. Returns how many versions it expired or removed.
pub async fn run_once(svc: &S3Service, now: i64) -> AwsResult<usize> {
    use crate::meta::{bucket_prefix, ObjectEntry, BUCKETS, OBJECTS};
    let snap = svc.store.read()?;
    let buckets: Vec<Bucket> =
        snap.scan::<Bucket>(BUCKETS, "")?.into_iter().map(|(_, b)| b).filter(|b| b.lifecycle.is_some()).collect();
    let mut due: Vec<(Bucket, String, Option<String>)> = Vec::new();
    for b in buckets {
        let prefix = bucket_prefix(&b.name);
        for (full, entry) in snap.scan::<ObjectEntry>(OBJECTS, &prefix)? {
            let key = full[prefix.len()..].to_string();
            if let Some(v) = entry.latest().filter(|v| !v.delete_marker) {
                if expiry(&b, &key, &v.tags, v.last_modified).is_some_and(|(at, _)| at <= now) {
                    due.push((b.clone(), key.clone(), None));
                }
            }
            // A noncurrent version's clock starts when a newer version replaced it.
            for pair in entry.versions.windows(2) {
                let (newer, older) = (&pair[0], &pair[1]);
                if let Some(days) = noncurrent_days(&b, &key, &older.tags) {
                    if next_midnight(newer.last_modified + days * DAY_MS) <= now {
                        due.push((b.clone(), key.clone(), Some(older.version_id.clone())));
                    }
                }
            }
        }
    }
    drop(snap);
    let mut done = 0;
    for (bucket, key, version) in due {
        let owner = bucket.owner.clone();
        let result = svc
            .store
            .write(move |w| crate::object::delete_in_txn(w, &bucket, &key, version.as_deref(), &owner, false))
            .await;
        match result {
            Ok(_) => done += 1,
            // An object under retention or legal hold stays, as on S3.
            Err(e) => tracing::debug!(error = %e, "lifecycle left a version in place"),
        }
    }
    Ok(done)
}
