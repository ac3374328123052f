//! Archived objects (S3 Glacier Flexible Retrieval, Deep Archive): not readable until
//! RestoreObject has made a temporary copy, which takes the retrieval tier's time (shortened
//! by `--restore-speedup`) and lasts the days asked for.
use crate::error::S3Error;
use crate::meta::{object_key, ObjectEntry, Version, OBJECTS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::s3 as m;
use serde::{Deserialize, Serialize};

/// A restore asked for: when its copy is ready, and until when it stays (ms).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Restore {
    pub ready_ms: i64,
    pub expires_ms: i64,
    pub tier: String,
}

/// Whether a version is archived: read only through a restored copy.
pub fn archived(v: &Version) -> bool {
    matches!(v.storage_class.as_str(), "GLACIER" | "DEEP_ARCHIVE")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Whether an archived version has a restored copy now.
pub fn restored(v: &Version) -> bool {
    let now = now_ms();
    v.restore.as_ref().is_some_and(|r| r.ready_ms <= now && now < r.expires_ms)
}

/// InvalidObjectState for an archived version without a restored copy.
pub fn check_readable(v: &Version) -> AwsResult<()> {
    if archived(v) && !restored(v) {
        return Err(S3Error::InvalidObjectState.into());
    }
    Ok(())
}

/// The `x-amz-restore` header of an archived version being or having been restored.
pub fn header(v: &Version) -> Option<String> {
    let r = v.restore.as_ref()?;
    let now = now_ms();
    if now < r.ready_ms {
        Some("ongoing-request=\"true\"".into())
    } else if now < r.expires_ms {
        Some(format!(
            "ongoing-request=\"false\", expiry-date=\"{}\"",
            nuage_protocol::time_fmt::http_date(nuage_protocol::Timestamp(r.expires_ms))
        ))
    } else {
        None
    }
}

/// How long a retrieval takes on S3, in seconds, for a class and tier.
pub(crate) fn retrieval_seconds(class: &str, tier: &str) -> AwsResult<i64> {
    Ok(match (class, tier) {
        ("GLACIER", "Expedited") => 3 * 60,
        ("GLACIER", "Standard") => 4 * 3600,
        ("GLACIER", "Bulk") => 8 * 3600,
        ("DEEP_ARCHIVE", "Standard") => 12 * 3600,
        ("DEEP_ARCHIVE", "Bulk") => 48 * 3600,
        ("DEEP_ARCHIVE", "Expedited") => {
            return Err(AwsError::new(
                "InvalidArgument",
                400,
                "Expedited retrieval is not available for objects in the DEEP_ARCHIVE storage class",
            ))
        }
        (_, other) => return Err(AwsError::new("InvalidArgument", 400, format!("Invalid tier: {other}"))),
    })
}

/// The restored copy lasts `days`, to the midnight (UTC) after, as on S3.
fn expiry(ready_ms: i64, days: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    (ready_ms + days * DAY) / DAY * DAY + DAY
}

/// RestoreObject: whether the restore was newly accepted (202) or an existing copy's expiry
/// changed (200).
pub async fn restore_object(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::RestoreObjectRequest,
    _req: &ServiceRequest,
) -> AwsResult<(m::RestoreObjectOutput, bool)> {
    let bucket = svc.bucket(&input.bucket.clone().unwrap_or_default())?;
    let key = input.key.clone().unwrap_or_default();
    let request = input.restore_request.clone().unwrap_or_default();
    match request.r#type.as_deref() {
        Some("SELECT") => return crate::glacier_select::accept(svc, _ctx, input, _req).await.map(|out| (out, true)),
        Some(_) => return Err(S3Error::MalformedXml.into()),
        None if request.select_parameters.is_some() || request.output_location.is_some() => {
            return Err(S3Error::MalformedXml.into())
        }
        None => {}
    }
    let days = request.days.ok_or_else(|| {
        AwsError::new(
            "MalformedXML",
            400,
            "The XML you provided was not well-formed or did not validate against our published schema",
        )
    })? as i64;
    if days < 1 {
        return Err(AwsError::new("InvalidArgument", 400, "Days must be at least 1"));
    }
    let tier =
        request.glacier_job_parameters.and_then(|g| g.tier).or(request.tier).unwrap_or_else(|| "Standard".into());
    let speedup = svc.restore_speedup;
    let version_id = input.version_id.clone();
    let ok = object_key(&bucket.name, &key);
    svc.store
        .write(move |w| {
            let no_key = || AwsError::from(S3Error::NoSuchKey(key.clone()));
            let mut entry: ObjectEntry = w.get(OBJECTS, &ok)?.ok_or_else(no_key)?;
            let v = match &version_id {
                Some(id) => entry
                    .versions
                    .iter_mut()
                    .find(|v| v.version_id == *id)
                    .ok_or_else(|| AwsError::from(S3Error::NoSuchVersion(key.clone(), id.clone())))?,
                None => entry.versions.first_mut().filter(|v| !v.delete_marker).ok_or_else(no_key)?,
            };
            if !archived(v) {
                return Err(AwsError::new(
                    "InvalidObjectState",
                    403,
                    "Restore is not allowed for the object's current storage class",
                ));
            }
            let now = now_ms();
            let accepted = match &mut v.restore {
                Some(r) if now < r.ready_ms => {
                    return Err(AwsError::new("RestoreAlreadyInProgress", 409, "Object restore is already in progress"))
                }
                // A restored copy: its expiry moves.
                Some(r) if now < r.expires_ms => {
                    r.expires_ms = expiry(now, days);
                    false
                }
                _ => {
                    let took = (retrieval_seconds(&v.storage_class, &tier)? as f64 * 1000.0 / speedup) as i64;
                    let ready_ms = now + took.max(0);
                    v.restore = Some(Restore { ready_ms, expires_ms: expiry(ready_ms, days), tier: tier.clone() });
                    true
                }
            };
            w.put(OBJECTS, &ok, &entry)?;
            Ok(accepted)
        })
        .await
        .map(|accepted| (m::RestoreObjectOutput::default(), accepted))
}
