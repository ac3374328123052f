//! S3's CloudWatch metrics (namespace `AWS/S3`), as S3 publishes them:
//! - request metrics, for the requests a bucket's metrics configurations select
//!   (Put/Get/Delete/ListBucketMetricsConfiguration; a filter by prefix, object tags or access
//!   point, or none for the whole bucket): AllRequests, Get/Put/Delete/Head/Post/List/Select
//!   requests, BytesDownloaded, BytesUploaded, 4xxErrors and 5xxErrors (1 or 0 per request, so
//!   the average is the error rate), FirstByteLatency; per minute, with the dimensions
//!   BucketName and FilterId;
//! - storage metrics for every bucket, once per storage-metrics period (a day, as on S3):
//!   BucketSizeBytes by storage type and NumberOfObjects (every version, delete markers and
//!   the parts of unfinished multipart uploads included), with BucketName and StorageType.
use crate::error::S3Error;
use crate::meta::{Bucket, ObjectEntry, Upload, BUCKETS, OBJECTS, UPLOADS};
use crate::S3Service;
use nuage_core::{AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, HttpResponse};
use std::collections::BTreeMap;
use std::sync::Arc;

fn check_id(id: &str) -> AwsResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(S3Error::InvalidArgument(
            "The metrics configuration id must be 1 to 64 characters: letters, digits, '-', '_' or '.'".into(),
            Some(("ArgumentName", "id".into())),
        )
        .into())
    }
}

pub async fn put_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketMetricsConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let id = input.id.clone().unwrap_or_default();
    check_id(&id)?;
    let config = input.metrics_configuration.ok_or(S3Error::MalformedXml)?;
    if config.id.as_deref() != Some(id.as_str()) {
        return Err(S3Error::InvalidArgument(
            "The Id of the metrics configuration must match the id parameter of the request".into(),
            Some(("ArgumentName", "Id".into())),
        )
        .into());
    }
    if let Some(f) = &config.filter {
        let members = [f.prefix.is_some(), f.tag.is_some(), f.access_point_arn.is_some(), f.and.is_some()];
        if members.iter().filter(|x| **x).count() != 1 {
            return Err(S3Error::MalformedXml.into());
        }
    }
    let name = input.bucket.clone().unwrap_or_default();
    crate::bucket::update_bucket(svc, input.bucket, move |b| {
        crate::bucket_config::insert_configuration(&mut b.metrics, &id, config)
    })
    .await?;
    svc.request_metrics.set(&name, true);
    Ok(())
}

pub async fn get_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketMetricsConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketMetricsConfigurationOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let id = input.id.unwrap_or_default();
    let config = crate::bucket_config::find_configuration(b.metrics, &id)?;
    Ok(m::GetBucketMetricsConfigurationOutput { metrics_configuration: Some(config) })
}

pub async fn delete_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketMetricsConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let id = input.id.clone().unwrap_or_default();
    let name = input.bucket.clone().unwrap_or_default();
    crate::bucket::update_bucket(svc, input.bucket, move |b| {
        crate::bucket_config::remove_configuration(&mut b.metrics, &id)
    })
    .await?;
    let left = svc.bucket(&name).is_ok_and(|b| !b.metrics.is_empty());
    svc.request_metrics.set(&name, left);
    Ok(())
}

pub async fn list_configurations(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListBucketMetricsConfigurationsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListBucketMetricsConfigurationsOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let (page, truncated, next) =
        crate::bucket_config::page_configurations(b.metrics, input.continuation_token.as_deref());
    Ok(m::ListBucketMetricsConfigurationsOutput {
        is_truncated: Some(truncated),
        continuation_token: input.continuation_token,
        next_continuation_token: next,
        metrics_configuration_list: (!page.is_empty()).then_some(page),
    })
}

/// The buckets with metrics configurations, so that most requests skip the bucket read.
#[derive(Default)]
pub struct RequestMetrics {
    buckets: std::sync::RwLock<std::collections::HashSet<String>>,
    folder: nuage_front::metrics::MetricFolder,
}

impl RequestMetrics {
    pub fn load(&self, buckets: &[Bucket]) {
        let set = buckets.iter().filter(|b| !b.metrics.is_empty()).map(|b| b.name.clone()).collect();
        *self.buckets.write().unwrap_or_else(|e| e.into_inner()) = set;
    }

    fn set(&self, bucket: &str, on: bool) {
        crate::bucket_config::Marked::set(&self.buckets, bucket, on)
    }

    fn covers(&self, bucket: &str) -> bool {
        self.buckets.read().unwrap_or_else(|e| e.into_inner()).contains(bucket)
    }
}

/// Whether a configuration's filter selects a request for `key` (tags: the object's).
fn selects(c: &m::MetricsConfiguration, key: Option<&str>, tags: &dyn Fn() -> Vec<(String, String)>) -> bool {
    let Some(f) = &c.filter else { return true };
    let prefix_ok = |p: &Option<String>| p.as_deref().is_none_or(|p| key.is_some_and(|k| k.starts_with(p)));
    let tags_ok = |wanted: &[m::Tag]| {
        if wanted.is_empty() {
            return true;
        }
        let have = tags();
        wanted.iter().all(|t| have.iter().any(|(k, v)| Some(k) == t.key.as_ref() && Some(v) == t.value.as_ref()))
    };
    // Requests through an access point: nuage serves none, so such a filter selects nothing.
    if f.access_point_arn.is_some() || f.and.as_ref().is_some_and(|a| a.access_point_arn.is_some()) {
        return false;
    }
    if let Some(t) = &f.tag {
        return tags_ok(std::slice::from_ref(t));
    }
    if let Some(a) = &f.and {
        return prefix_ok(&a.prefix) && tags_ok(a.tags.as_deref().unwrap_or_default());
    }
    prefix_ok(&f.prefix)
}

/// The request-type metric of an operation, if it has one.
fn request_type(operation: &str, method: &str) -> Option<&'static str> {
    Some(match operation {
        "GetObject" => "GetRequests",
        "PutObject" | "UploadPart" | "CopyObject" | "UploadPartCopy" | "PostObject" => "PutRequests",
        "DeleteObject" => "DeleteRequests",
        "HeadObject" | "HeadBucket" => "HeadRequests",
        "ListObjects" | "ListObjectsV2" | "ListObjectVersions" | "ListMultipartUploads" | "ListParts" => "ListRequests",
        "SelectObjectContent" => "SelectRequests",
        _ if method == "POST" => "PostRequests",
        _ => return None,
    })
}

impl S3Service {
    /// Folds one completed request into the metrics of the configurations that select it.
    pub(crate) fn record_request_metrics(
        &self,
        req: &ServiceRequest,
        operation: &'static str,
        resp: &HttpResponse,
        elapsed: std::time::Duration,
    ) {
        let Some((bucket, key)) = self.addressed(req) else { return };
        if !self.request_metrics.covers(&bucket) {
            return;
        }
        let Ok(b) = self.bucket(&bucket) else { return };
        let tags = || {
            let Some(k) = key.as_deref() else { return Vec::new() };
            let entry = self
                .store
                .read()
                .ok()
                .and_then(|r| r.get::<ObjectEntry>(OBJECTS, &crate::meta::object_key(&bucket, k)).ok().flatten());
            entry.and_then(|e| e.versions.into_iter().find(|v| !v.delete_marker)).map(|v| v.tags).unwrap_or_default()
        };
        let account = b.owner.account_id.clone();
        let sent = resp.stream.as_ref().map_or(resp.body.len() as u64, |s| s.len());
        let received = req
            .header("x-amz-decoded-content-length")
            .or_else(|| req.header("content-length"))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let status = resp.status;
        for c in b.metrics.iter().filter(|c| selects(c, key.as_deref(), &tags)) {
            let dims = || {
                vec![
                    ("BucketName".to_string(), bucket.clone()),
                    ("FilterId".to_string(), c.id.clone().unwrap_or_default()),
                ]
            };
            let f = &self.request_metrics.folder;
            let rec = |metric, value, unit| f.record(&account, &b.region, metric, dims(), value, unit);
            rec("AllRequests", 1.0, "Count");
            if let Some(kind) = request_type(operation, &req.method) {
                rec(kind, 1.0, "Count");
            }
            if operation == "GetObject" && status < 300 {
                rec("BytesDownloaded", sent as f64, "Bytes");
            }
            // Object data uploaded (configuration documents are not counted).
            if matches!(operation, "PutObject" | "UploadPart" | "PostObject") && received > 0 {
                rec("BytesUploaded", received as f64, "Bytes");
            }
            rec("4xxErrors", f64::from(u8::from((400..500).contains(&status))), "Count");
            rec("5xxErrors", f64::from(u8::from(status >= 500)), "Count");
            rec("FirstByteLatency", elapsed.as_secs_f64() * 1000.0, "Milliseconds");
        }
    }

    /// Publishes request metrics every `interval`, and storage metrics every `storage_period`.
    pub async fn run_metrics(self: Arc<Self>, interval: std::time::Duration, storage_period: std::time::Duration) {
        let mut next_storage = tokio::time::Instant::now() + storage_period;
        loop {
            tokio::time::sleep(interval.min(storage_period)).await;
            let f = match self.internal.frontend() {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %e.message, "S3 metrics: no front door");
                    continue;
                }
            };
            if let Err(e) = self.request_metrics.folder.publish(&f, "AWS/S3", "s3.amazonaws.com").await {
                tracing::warn!(error = %e.message, "S3 request metrics could not be published to CloudWatch");
            }
            if tokio::time::Instant::now() >= next_storage {
                next_storage += storage_period;
                if let Err(e) = self.publish_storage_metrics(&f).await {
                    tracing::warn!(error = %e.message, "S3 storage metrics could not be published to CloudWatch");
                }
            }
        }
    }

    async fn publish_storage_metrics(&self, f: &nuage_front::Frontend) -> AwsResult<()> {
        let now = nuage_protocol::Timestamp::now().0;
        let snap = self.store.read()?;
        let buckets: Vec<Bucket> = snap.scan::<Bucket>(BUCKETS, "")?.into_iter().map(|(_, b)| b).collect();
        let mut out: BTreeMap<(String, String), Vec<nuage_protocol::cloudwatch::MetricDatum>> = BTreeMap::new();
        for b in buckets {
            let prefix = crate::meta::bucket_prefix(&b.name);
            let mut bytes: BTreeMap<&'static str, u64> = BTreeMap::new();
            let mut count = 0u64;
            for (_, entry) in snap.scan::<ObjectEntry>(OBJECTS, &prefix)? {
                for v in entry.versions {
                    count += 1;
                    if !v.delete_marker {
                        *bytes.entry(storage_type(&v.storage_class)).or_default() += v.size;
                    }
                }
            }
            for (_, u) in snap.scan::<Upload>(UPLOADS, &prefix)? {
                count += u.parts.len() as u64;
                *bytes.entry(storage_type(&u.storage_class)).or_default() +=
                    u.parts.values().map(|p| p.size).sum::<u64>();
            }
            let data = out.entry((b.owner.account_id.clone(), b.region.clone())).or_default();
            let datum = |metric: &str, value: f64, storage: &str, unit: &str| nuage_protocol::cloudwatch::MetricDatum {
                metric_name: Some(metric.into()),
                dimensions: Some(vec![
                    nuage_protocol::cloudwatch::Dimension {
                        name: Some("BucketName".into()),
                        value: Some(b.name.clone()),
                    },
                    nuage_protocol::cloudwatch::Dimension {
                        name: Some("StorageType".into()),
                        value: Some(storage.into()),
                    },
                ]),
                timestamp: Some(nuage_protocol::Timestamp(now)),
                value: Some(value),
                unit: Some(unit.into()),
                ..Default::default()
            };
            for (storage, size) in bytes {
                data.push(datum("BucketSizeBytes", size as f64, storage, "Bytes"));
            }
            data.push(datum("NumberOfObjects", count as f64, "AllStorageTypes", "Count"));
        }
        drop(snap);
        for ((account, region), data) in out {
            nuage_front::metrics::publish(f, &account, &region, "AWS/S3", "s3.amazonaws.com", data).await?;
        }
        Ok(())
    }
}

/// The StorageType dimension of BucketSizeBytes for a storage class.
fn storage_type(class: &str) -> &'static str {
    match class {
        "STANDARD_IA" => "StandardIAStorage",
        "ONEZONE_IA" => "OneZoneIAStorage",
        "REDUCED_REDUNDANCY" => "ReducedRedundancyStorage",
        "GLACIER" => "GlacierStorage",
        "DEEP_ARCHIVE" => "DeepArchiveStorage",
        "GLACIER_IR" => "GlacierInstantRetrievalStorage",
        "INTELLIGENT_TIERING" => "IntelligentTieringFAStorage",
        _ => "StandardStorage",
    }
}
