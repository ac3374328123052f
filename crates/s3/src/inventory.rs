//! S3 Inventory: a bucket's inventory configurations (Put/Get/Delete/ListBucketInventoryConfiguration)
//! and the reports they ask for, written as S3 writes them. On each inventory pass, an enabled
//! configuration whose report is due (the first one at once, then daily or weekly) lists the
//! bucket's objects (current versions or all, under its prefix, with the optional fields asked
//! for, in that order) into a gzipped CSV file `<prefix>/<source>/<id>/data/<uuid>.csv.gz`,
//! described by `<prefix>/<source>/<id>/<YYYY-MM-DDTHH-MMZ>/manifest.json` (with its MD5 in
//! `manifest.checksum`) and listed in `hive/dt=<YYYY-MM-DD-HH-MM>/symlink.txt`. The files are
//! delivered by `s3.amazonaws.com` through the front door, so the destination bucket's policy
//! must let that service write, as on S3.
use crate::error::S3Error;
use crate::meta::{Bucket, ObjectEntry, Version, BUCKETS, OBJECTS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, Principal, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::s3 as m;
use std::io::Write;

const SERVICE: &str = "s3.amazonaws.com";

/// The optional fields nuage fills, in S3's names.
const FIELDS: &[&str] = &[
    "Size",
    "LastModifiedDate",
    "StorageClass",
    "ETag",
    "IsMultipartUploaded",
    "ReplicationStatus",
    "EncryptionStatus",
    "ObjectLockRetainUntilDate",
    "ObjectLockMode",
    "ObjectLockLegalHoldStatus",
    "IntelligentTieringAccessTier",
    "BucketKeyStatus",
    "ChecksumAlgorithm",
    "ObjectOwner",
];

fn invalid(msg: impl Into<String>) -> AwsError {
    S3Error::InvalidArgument(msg.into(), None).into()
}

/// The destination bucket's name, from its ARN.
fn destination(c: &m::InventoryConfiguration) -> Option<(String, &m::InventoryS3BucketDestination)> {
    let d = c.destination.as_ref()?.s3_bucket_destination.as_ref()?;
    let name = d.bucket.as_deref()?.strip_prefix("arn:aws:s3:::")?.to_string();
    Some((name, d))
}

fn check(id: &str, c: &m::InventoryConfiguration) -> AwsResult<()> {
    if c.id.as_deref() != Some(id) {
        return Err(invalid("The Id of the inventory configuration must match the id parameter of the request"));
    }
    let (_, d) =
        destination(c).ok_or_else(|| invalid("Destination.S3BucketDestination.Bucket must be a bucket ARN"))?;
    match d.format.as_deref() {
        Some("CSV") => {}
        Some("ORC") | Some("Parquet") => {
            return Err(S3Error::NotImplemented("inventory reports in ORC or Parquet (nuage writes CSV)".into()).into())
        }
        _ => return Err(S3Error::MalformedXml.into()),
    }
    if !matches!(c.included_object_versions.as_deref(), Some("All" | "Current")) {
        return Err(S3Error::MalformedXml.into());
    }
    if !matches!(c.schedule.as_ref().and_then(|s| s.frequency.as_deref()), Some("Daily" | "Weekly")) {
        return Err(S3Error::MalformedXml.into());
    }
    if c.is_enabled.is_none() {
        return Err(S3Error::MalformedXml.into());
    }
    if let Some(f) = c.optional_fields.iter().flatten().find(|f| !FIELDS.contains(&f.as_str())) {
        return Err(invalid(format!("The inventory field {f} is not one nuage fills")));
    }
    Ok(())
}

pub async fn put_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketInventoryConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let id = input.id.clone().unwrap_or_default();
    let config = input.inventory_configuration.ok_or(S3Error::MalformedXml)?;
    check(&id, &config)?;
    crate::bucket::update_bucket(svc, input.bucket, move |b| {
        b.inventory_runs.remove(&id);
        crate::bucket_config::insert_configuration(&mut b.inventory, &id, config)
    })
    .await
}

pub async fn get_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketInventoryConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketInventoryConfigurationOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let id = input.id.unwrap_or_default();
    let c = crate::bucket_config::find_configuration(b.inventory, &id)?;
    Ok(m::GetBucketInventoryConfigurationOutput { inventory_configuration: Some(c) })
}

pub async fn delete_configuration(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketInventoryConfigurationRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let id = input.id.clone().unwrap_or_default();
    crate::bucket::update_bucket(svc, input.bucket, move |b| {
        b.inventory_runs.remove(&id);
        crate::bucket_config::remove_configuration(&mut b.inventory, &id)
    })
    .await
}

pub async fn list_configurations(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::ListBucketInventoryConfigurationsRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::ListBucketInventoryConfigurationsOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    let (page, truncated, next) =
        crate::bucket_config::page_configurations(b.inventory, input.continuation_token.as_deref());
    Ok(m::ListBucketInventoryConfigurationsOutput {
        continuation_token: input.continuation_token,
        next_continuation_token: next,
        is_truncated: Some(truncated),
        inventory_configuration_list: (!page.is_empty()).then_some(page),
    })
}

fn iso(ms: i64) -> String {
    nuage_protocol::time_fmt::iso8601(nuage_protocol::Timestamp(ms))
}

/// One CSV field, quoted as S3's inventory quotes every field.
fn field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn column(name: &str, v: &Version) -> String {
    match name {
        "Size" => v.size.to_string(),
        "LastModifiedDate" => iso(v.last_modified),
        "StorageClass" => v.storage_class.clone(),
        "ETag" => v.etag.clone(),
        "IsMultipartUploaded" => v.etag.contains('-').to_string(),
        "ReplicationStatus" => String::new(),
        "EncryptionStatus" => match v.sse.as_ref().and_then(|s| s.algorithm.as_deref()) {
            Some("aws:kms") => "SSE-KMS".into(),
            Some("aws:kms:dsse") => "DSSE-KMS".into(),
            _ if v.sse.as_ref().is_some_and(|s| s.customer_algorithm.is_some()) => "SSE-C".into(),
            _ => "SSE-S3".into(),
        },
        "ObjectLockRetainUntilDate" => v.lock.retain_until.map(iso).unwrap_or_default(),
        "ObjectLockMode" => v.lock.mode.clone().unwrap_or_default(),
        "ObjectLockLegalHoldStatus" => (if v.lock.legal_hold { "ON" } else { "OFF" }).into(),
        "IntelligentTieringAccessTier" => {
            (if v.storage_class == "INTELLIGENT_TIERING" { "FREQUENT" } else { "" }).into()
        }
        "BucketKeyStatus" => {
            (if v.sse.as_ref().and_then(|s| s.bucket_key).unwrap_or(false) { "ENABLED" } else { "DISABLED" }).into()
        }
        "ChecksumAlgorithm" => v.checksum.as_ref().map(|c| c.algorithm.clone()).unwrap_or_default(),
        "ObjectOwner" => v.owner.canonical_id.clone(),
        _ => String::new(),
    }
}

impl S3Service {
    /// Runs an inventory pass every `interval`: each due report is made and delivered.
    pub async fn run_inventory(self: std::sync::Arc<Self>, interval: std::time::Duration) {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = self.inventory_pass().await {
                tracing::warn!(error = %e.message, "S3 inventory pass failed");
            }
        }
    }

    async fn inventory_pass(&self) -> AwsResult<()> {
        let now = nuage_protocol::Timestamp::now().0;
        let buckets: Vec<Bucket> = self
            .store
            .read()?
            .scan::<Bucket>(BUCKETS, "")?
            .into_iter()
            .map(|(_, b)| b)
            .filter(|b| !b.inventory.is_empty())
            .collect();
        for b in buckets {
            for c in b.inventory.iter().filter(|c| c.is_enabled == Some(true)) {
                let id = c.id.clone().unwrap_or_default();
                let every =
                    if c.schedule.as_ref().and_then(|s| s.frequency.as_deref()) == Some("Weekly") { 7 } else { 1 };
                let due = b.inventory_runs.get(&id).is_none_or(|last| now - last >= every * 86_400_000);
                if !due {
                    continue;
                }
                if let Err(e) = self.deliver_inventory(&b, c, now).await {
                    tracing::warn!(bucket = %b.name, id = %id, error = %e.message, "inventory report not delivered");
                }
                // A report refused by its destination waits for the next period, as on S3.
                let (name, id2) = (b.name.clone(), id.clone());
                self.store
                    .write(move |w| {
                        if let Some(mut fresh) = w.get::<Bucket>(BUCKETS, &name)? {
                            fresh.inventory_runs.insert(id2, now);
                            w.put(BUCKETS, &name, &fresh)?;
                        }
                        Ok(())
                    })
                    .await?;
            }
        }
        Ok(())
    }

    async fn deliver_inventory(&self, b: &Bucket, c: &m::InventoryConfiguration, now: i64) -> AwsResult<()> {
        let (dest, d) = destination(c).ok_or_else(|| AwsError::internal("no destination"))?;
        let all = c.included_object_versions.as_deref() == Some("All");
        let prefix = c.filter.as_ref().and_then(|f| f.prefix.clone()).unwrap_or_default();
        let optional: Vec<String> = c.optional_fields.clone().unwrap_or_default();
        let mut csv = String::new();
        let snap = self.store.read()?;
        for (k, entry) in snap.scan::<ObjectEntry>(OBJECTS, &crate::meta::bucket_prefix(&b.name))? {
            let key = k.split_once('\0').map(|(_, k)| k).unwrap_or_default();
            if !key.starts_with(&prefix) {
                continue;
            }
            let versions: Vec<(usize, &Version)> = entry.versions.iter().enumerate().collect();
            for (n, v) in versions {
                if !all && (n > 0 || v.delete_marker) {
                    continue;
                }
                let mut row = vec![field(&b.name), field(key)];
                if all {
                    row.push(field(if v.version_id == "null" { "" } else { &v.version_id }));
                    row.push(field(&(n == 0).to_string()));
                    row.push(field(&v.delete_marker.to_string()));
                }
                row.extend(optional.iter().map(|f| field(&if v.delete_marker { String::new() } else { column(f, v) })));
                csv.push_str(&row.join(","));
                csv.push('\n');
            }
        }
        drop(snap);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(csv.as_bytes()).map_err(AwsError::internal)?;
        let data = gz.finish().map_err(AwsError::internal)?;
        let id = c.id.clone().unwrap_or_default();
        let base = match d.prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!("{}/{}/{id}", p.trim_end_matches('/'), b.name),
            None => format!("{}/{id}", b.name),
        };
        let data_key = format!("{base}/data/{}.csv.gz", uuid::Uuid::new_v4());
        let md5 = |bytes: &[u8]| {
            use md5::Digest;
            md5::Md5::digest(bytes).iter().map(|x| format!("{x:02x}")).collect::<String>()
        };
        let mut schema = vec!["Bucket", "Key"];
        if all {
            schema.extend(["VersionId", "IsLatest", "IsDeleteMarker"]);
        }
        schema.extend(optional.iter().map(String::as_str));
        let stamp = time::OffsetDateTime::from_unix_timestamp(now / 1000).map_err(AwsError::internal)?;
        let folder = format!(
            "{:04}-{:02}-{:02}T{:02}-{:02}Z",
            stamp.year(),
            stamp.month() as u8,
            stamp.day(),
            stamp.hour(),
            stamp.minute()
        );
        let manifest = serde_json::json!({
            "sourceBucket": b.name,
            "destinationBucket": format!("arn:aws:s3:::{dest}"),
            "version": "2016-11-30",
            "creationTimestamp": now.to_string(),
            "fileFormat": "CSV",
            "fileSchema": schema.join(", "),
            "files": [{"key": data_key, "size": data.len(), "MD5checksum": md5(&data)}],
        });
        let manifest = serde_json::to_vec_pretty(&manifest).map_err(AwsError::internal)?;
        let checksum = md5(&manifest);
        let hive =
            format!("{base}/hive/dt={}/symlink.txt", &folder.replace('T', "-").trim_end_matches('Z').to_string());
        let symlink = format!("s3://{dest}/{data_key}\n");
        let f = self.internal.frontend()?;
        let mut by = Principal::service_for(SERVICE, &format!("arn:aws:s3:::{}", b.name));
        by.source_account = Some(b.owner.account_id.clone());
        let expected = d.account_id.clone();
        for (key, body) in [
            (data_key.clone(), data),
            (format!("{base}/{folder}/manifest.json"), manifest),
            (format!("{base}/{folder}/manifest.checksum"), checksum.into_bytes()),
            (hive, symlink.into_bytes()),
        ] {
            let put = m::PutObjectRequest {
                bucket: Some(dest.clone()),
                key: Some(key),
                body: Some(body.into()),
                expected_bucket_owner: expected.clone(),
                // The destination's owner owns the reports outright.
                acl: Some("bucket-owner-full-control".into()),
                ..Default::default()
            };
            f.call(by.clone(), &b.region, put).await?;
        }
        Ok(())
    }
}
