//! Object Lock: bucket default retention, per-version retention (GOVERNANCE / COMPLIANCE) and
//! legal holds, enforced when a version would be deleted or its retention weakened.
use crate::error::S3Error;
use crate::meta::{object_key, Bucket, ObjectEntry, Version, BUCKETS, OBJECTS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectLock {
    pub mode: Option<String>,
    /// Milliseconds since the epoch.
    pub retain_until: Option<i64>,
    pub legal_hold: bool,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

fn missing_config() -> AwsError {
    S3Error::InvalidRequest("Bucket is missing Object Lock Configuration".into()).into()
}

fn invalid_bucket_state(msg: &str) -> AwsError {
    AwsError::new("InvalidBucketState", 409, msg.to_string())
}

/// The lock a new version gets: what the request asks for, else the bucket's default rule.
pub fn for_write(req: &ServiceRequest, bucket: &Bucket) -> AwsResult<ObjectLock> {
    let mode = req.header("x-amz-object-lock-mode").map(str::to_string);
    let until = req.header("x-amz-object-lock-retain-until-date");
    let hold = req.header("x-amz-object-lock-legal-hold");
    if (mode.is_some() || until.is_some() || hold.is_some()) && !bucket.object_lock {
        return Err(missing_config());
    }
    if mode.is_some() != until.is_some() {
        return Err(S3Error::InvalidArgument(
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied".into(),
            None,
        )
        .into());
    }
    let mut lock = ObjectLock { legal_hold: hold == Some("ON"), ..Default::default() };
    if let (Some(mode), Some(until)) = (mode, until) {
        if mode != "GOVERNANCE" && mode != "COMPLIANCE" {
            return Err(S3Error::InvalidArgument("Unknown wormMode directive.".into(), None).into());
        }
        let t = nuage_protocol::time_fmt::parse(until).ok_or_else(|| {
            S3Error::InvalidArgument("The retain until date must be provided in ISO 8601 format".into(), None)
        })?;
        lock.mode = Some(mode);
        lock.retain_until = Some(t.0);
    } else if let Some(d) =
        bucket.lock_config.as_ref().and_then(|c| c.rule.as_ref()).and_then(|r| r.default_retention.as_ref())
    {
        let days = d.days.map(|d| d as i64).or(d.years.map(|y| y as i64 * 365)).unwrap_or(0);
        lock.mode = d.mode.clone();
        lock.retain_until = Some(Timestamp::now().0 + days * DAY_MS);
    }
    Ok(lock)
}

/// Whether deleting (or weakening) `v` is refused, given the bypass header.
pub fn check_delete(v: &Version, bypass: bool) -> AwsResult<()> {
    let denied = || AwsError::new("AccessDenied", 403, "forbidden by object lock");
    if v.lock.legal_hold {
        return Err(denied());
    }
    if v.lock.retain_until.is_some_and(|u| u > Timestamp::now().0) {
        match v.lock.mode.as_deref() {
            Some("COMPLIANCE") => return Err(denied()),
            Some("GOVERNANCE") if !bypass => return Err(denied()),
            _ => {}
        }
    }
    Ok(())
}

pub fn bypass(req: &ServiceRequest) -> bool {
    req.header("x-amz-bypass-governance-retention").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

pub async fn put_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutObjectLockConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::PutObjectLockConfigurationOutput> {
    let name = input.bucket.clone().unwrap_or_default();
    let conf = input.object_lock_configuration.ok_or(S3Error::MalformedXml)?;
    if conf.object_lock_enabled.as_deref() != Some("Enabled") {
        return Err(S3Error::MalformedXml.into());
    }
    if let Some(d) = conf.rule.as_ref().and_then(|r| r.default_retention.as_ref()) {
        if !matches!(d.mode.as_deref(), Some("GOVERNANCE") | Some("COMPLIANCE")) {
            return Err(S3Error::MalformedXml.into());
        }
        match (d.days, d.years) {
            (Some(_), Some(_)) | (None, None) => return Err(S3Error::MalformedXml.into()),
            (Some(n), None) | (None, Some(n)) if n <= 0 => {
                return Err(AwsError::new(
                    "InvalidRetentionPeriod",
                    400,
                    "Default retention period must be a positive integer value.",
                ))
            }
            _ => {}
        }
    }
    crate::bucket::update_bucket(svc, Some(name), move |b| {
        if b.versioning.as_deref() != Some("Enabled") {
            return Err(invalid_bucket_state(
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
            ));
        }
        b.object_lock = true;
        b.lock_config = Some(conf);
        Ok(())
    })
    .await?;
    Ok(m::PutObjectLockConfigurationOutput::default())
}

pub async fn get_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectLockConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectLockConfigurationOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    if !b.object_lock {
        return Err(AwsError::new(
            "ObjectLockConfigurationNotFoundError",
            404,
            "Object Lock configuration does not exist for this bucket",
        ));
    }
    let conf =
        b.lock_config.unwrap_or(m::ObjectLockConfiguration { object_lock_enabled: Some("Enabled".into()), rule: None });
    Ok(m::GetObjectLockConfigurationOutput { object_lock_configuration: Some(conf) })
}

/// Updates the lock of one version (the latest when no version id is given).
async fn update_lock(
    svc: &S3Service,
    bucket: String,
    key: String,
    version_id: Option<String>,
    change: impl FnOnce(&mut ObjectLock) -> AwsResult<()> + Send + 'static,
) -> AwsResult<()> {
    svc.store
        .write(move |w| {
            let b: Bucket = w.get(BUCKETS, &bucket)?.ok_or_else(|| S3Error::NoSuchBucket(bucket.clone()))?;
            if !b.object_lock {
                return Err(missing_config());
            }
            let ok = object_key(&bucket, &key);
            let mut e: ObjectEntry = w.get(OBJECTS, &ok)?.ok_or_else(|| S3Error::NoSuchKey(key.clone()))?;
            let id = crate::object::select_version(&e, &key, version_id.as_deref(), true)?.version_id.clone();
            let v = e.versions.iter_mut().find(|v| v.version_id == id).expect("selected version exists");
            change(&mut v.lock)?;
            w.put(OBJECTS, &ok, &e)
        })
        .await
}

pub async fn put_retention(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutObjectRetentionRequest,
    req: &ServiceRequest,
) -> AwsResult<m::PutObjectRetentionOutput> {
    let r = input.retention.ok_or(S3Error::MalformedXml)?;
    let mode = r.mode.clone().ok_or(S3Error::MalformedXml)?;
    if mode != "GOVERNANCE" && mode != "COMPLIANCE" {
        return Err(S3Error::MalformedXml.into());
    }
    let until = r.retain_until_date.ok_or(S3Error::MalformedXml)?.0;
    let bypass = bypass(req);
    update_lock(svc, input.bucket.unwrap_or_default(), input.key.unwrap_or_default(), input.version_id, move |lock| {
        let active = lock.retain_until.is_some_and(|u| u > Timestamp::now().0);
        if active {
            let weaker = until < lock.retain_until.unwrap_or(0) || lock.mode.as_deref() != Some(mode.as_str());
            match lock.mode.as_deref() {
                Some("COMPLIANCE") if weaker => {
                    return Err(AwsError::new("AccessDenied", 403, "forbidden by object lock"))
                }
                Some("GOVERNANCE") if weaker && !bypass => {
                    return Err(AwsError::new("AccessDenied", 403, "forbidden by object lock"))
                }
                _ => {}
            }
        }
        lock.mode = Some(mode);
        lock.retain_until = Some(until);
        Ok(())
    })
    .await?;
    Ok(m::PutObjectRetentionOutput::default())
}

fn locked_version(svc: &S3Service, bucket: &str, key: &str, version_id: Option<&str>) -> AwsResult<Version> {
    let b = svc.bucket(bucket)?;
    if !b.object_lock {
        return Err(missing_config());
    }
    let e: ObjectEntry =
        svc.store.read()?.get(OBJECTS, &object_key(bucket, key))?.ok_or_else(|| S3Error::NoSuchKey(key.to_string()))?;
    Ok(crate::object::select_version(&e, key, version_id, true)?.clone())
}

pub async fn get_retention(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectRetentionRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectRetentionOutput> {
    let v = locked_version(
        svc,
        &input.bucket.unwrap_or_default(),
        &input.key.unwrap_or_default(),
        input.version_id.as_deref(),
    )?;
    let (Some(mode), Some(until)) = (v.lock.mode, v.lock.retain_until) else {
        return Err(AwsError::new(
            "NoSuchObjectLockConfiguration",
            404,
            "The specified object does not have a ObjectLock configuration",
        ));
    };
    Ok(m::GetObjectRetentionOutput {
        retention: Some(m::ObjectLockRetention {
            mode: Some(mode),
            retain_until_date: Some(Timestamp(until)),
            ..Default::default()
        }),
    })
}

pub async fn put_legal_hold(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutObjectLegalHoldRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::PutObjectLegalHoldOutput> {
    let status = input.legal_hold.and_then(|h| h.status).ok_or(S3Error::MalformedXml)?;
    if status != "ON" && status != "OFF" {
        return Err(S3Error::MalformedXml.into());
    }
    update_lock(svc, input.bucket.unwrap_or_default(), input.key.unwrap_or_default(), input.version_id, move |lock| {
        lock.legal_hold = status == "ON";
        Ok(())
    })
    .await?;
    Ok(m::PutObjectLegalHoldOutput::default())
}

pub async fn get_legal_hold(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetObjectLegalHoldRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetObjectLegalHoldOutput> {
    let v = locked_version(
        svc,
        &input.bucket.unwrap_or_default(),
        &input.key.unwrap_or_default(),
        input.version_id.as_deref(),
    )?;
    Ok(m::GetObjectLegalHoldOutput {
        legal_hold: Some(m::ObjectLockLegalHold { status: Some(if v.lock.legal_hold { "ON" } else { "OFF" }.into()) }),
    })
}
