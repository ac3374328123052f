//! Public sample data, served by nuage's own S3: the buckets AWS's tutorials copy from, and the
//! café's web logs of the CloudWatch Logs lab.
//! Each is published through the front door by a keyless AWS-owned account, readable by
//! everyone through its bucket policy, so reading it is judged like any cross-account read.

pub mod cafe;
pub mod tickit;

use bytes::Bytes;
use nuage_core::{AwsError, AwsResult, Principal};
use nuage_front::Frontend;
use nuage_protocol::s3;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The account that owns the sample buckets.
pub const SAMPLES_ACCOUNT: &str = "999999999999";
/// The bucket of Redshift's getting-started lab, in us-west-2.
pub const TICKIT_BUCKET: &str = "awssampledbuswest2";
pub const TICKIT_REGION: &str = "us-west-2";
pub const TICKIT_PREFIX: &str = "tickit/";
/// The café's web-server logs, for the CloudWatch Logs lab (`docs/labs/cafe-logs.md`).
pub const CAFE_BUCKET: &str = "nuage-samples-cafe";
pub const CAFE_REGION: &str = "us-east-1";
pub const CAFE_ACCESS_LOG: &str = "logs/access_log";
pub const CAFE_ERROR_LOG: &str = "logs/error_log";

fn failed(what: &str, e: AwsError) -> AwsError {
    AwsError::internal(format!("{what}: status {} {} {}", e.status, e.code, e.message))
}

/// Creates a sample bucket if it is missing, readable by everyone through its policy.
async fn public_bucket(f: &Frontend, owner: &Principal, bucket: &str, region: &str) -> AwsResult<()> {
    let name = || Some(bucket.to_string());
    let exists = f.call(owner.clone(), region, s3::HeadBucketRequest { bucket: name(), ..Default::default() }).await;
    match exists {
        Ok(_) => return Ok(()),
        Err(e) if e.status == 404 => {}
        Err(e) => return Err(failed("HeadBucket", e)),
    }
    // us-east-1 takes no location constraint.
    let config = (region != "us-east-1")
        .then(|| s3::CreateBucketConfiguration { location_constraint: Some(region.into()), ..Default::default() });
    let create = s3::CreateBucketRequest { bucket: name(), create_bucket_configuration: config, ..Default::default() };
    f.call(owner.clone(), region, create).await.map_err(|e| failed("CreateBucket", e))?;
    // New buckets block public policies, as on AWS; this one is public on purpose.
    let unblock = s3::DeletePublicAccessBlockRequest { bucket: name(), ..Default::default() };
    match f.call(owner.clone(), region, unblock).await {
        Err(e) if e.status != 404 => return Err(failed("DeletePublicAccessBlock", e)),
        _ => {}
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")]
        }]
    });
    let put_policy =
        s3::PutBucketPolicyRequest { bucket: name(), policy: Some(policy.to_string()), ..Default::default() };
    f.call(owner.clone(), region, put_policy).await.map_err(|e| failed("PutBucketPolicy", e))?;
    Ok(())
}

/// Writes one sample object.
async fn put(
    f: &Frontend,
    owner: &Principal,
    (bucket, region): (&str, &str),
    key: String,
    body: Vec<u8>,
    metadata: Option<BTreeMap<String, String>>,
) -> AwsResult<()> {
    let put = s3::PutObjectRequest {
        bucket: Some(bucket.to_string()),
        key: Some(key),
        body: Some(Bytes::from(body)),
        metadata,
        ..Default::default()
    };
    f.call(owner.clone(), region, put).await.map_err(|e| failed("PutObject", e))?;
    Ok(())
}

/// Publishes the TICKIT bucket unless it is already there: the files are generated (a
/// second or two) only when missing.
pub async fn publish_tickit(f: Arc<Frontend>) -> AwsResult<()> {
    let owner = f.identities.add_keyless_account(SAMPLES_ACCOUNT, "aws-samples");
    let listed = f
        .call(
            owner.clone(),
            TICKIT_REGION,
            s3::ListObjectsV2Request {
                bucket: Some(TICKIT_BUCKET.into()),
                prefix: Some(TICKIT_PREFIX.into()),
                ..Default::default()
            },
        )
        .await;
    match listed {
        Ok(l) if l.key_count == Some(7) => return Ok(()),
        Ok(_) => {}
        Err(e) if e.code == "NoSuchBucket" => {}
        Err(e) => return Err(failed("ListObjectsV2", e)),
    }
    public_bucket(&f, &owner, TICKIT_BUCKET, TICKIT_REGION).await?;
    tracing::info!(bucket = TICKIT_BUCKET, "generating the TICKIT sample");
    let files = tokio::task::spawn_blocking(tickit::files).await.map_err(AwsError::internal)?;
    let total = files.len();
    for (n, (name, body)) in files.into_iter().enumerate() {
        let bytes = body.len();
        put(&f, &owner, (TICKIT_BUCKET, TICKIT_REGION), format!("{TICKIT_PREFIX}{name}"), body, None).await?;
        tracing::info!(bucket = TICKIT_BUCKET, file = %name, bytes, "TICKIT sample: {}/{total} files published", n + 1);
    }
    tracing::info!(bucket = TICKIT_BUCKET, "TICKIT sample published");
    Ok(())
}

/// Publishes the café's logs of yesterday (UTC), unless that day's are already there.
pub async fn publish_cafe(f: Arc<Frontend>) -> AwsResult<()> {
    let owner = f.identities.add_keyless_account(SAMPLES_ACCOUNT, "aws-samples");
    let day = cafe::sample_day(time::OffsetDateTime::now_utc()).to_string();
    let head = s3::HeadObjectRequest {
        bucket: Some(CAFE_BUCKET.into()),
        key: Some(CAFE_ACCESS_LOG.into()),
        ..Default::default()
    };
    if let Ok(h) = f.call(owner.clone(), CAFE_REGION, head).await {
        if h.metadata.as_ref().and_then(|m| m.get("sample-day")) == Some(&day) {
            return Ok(());
        }
    }
    public_bucket(&f, &owner, CAFE_BUCKET, CAFE_REGION).await?;
    let today = cafe::sample_day(time::OffsetDateTime::now_utc());
    let (access, errors) = tokio::task::spawn_blocking(move || cafe::logs(today)).await.map_err(AwsError::internal)?;
    let meta = Some(BTreeMap::from([("sample-day".to_string(), day)]));
    // The error log first: the access log's day says the pair is complete.
    put(&f, &owner, (CAFE_BUCKET, CAFE_REGION), CAFE_ERROR_LOG.into(), errors.into_bytes(), meta.clone()).await?;
    put(&f, &owner, (CAFE_BUCKET, CAFE_REGION), CAFE_ACCESS_LOG.into(), access.into_bytes(), meta).await?;
    tracing::info!(bucket = CAFE_BUCKET, "café logs sample published");
    Ok(())
}
