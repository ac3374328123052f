//! AWS's public sample data, served by nuage's own S3: the buckets AWS's tutorials copy from.
//! Each is published through the front door by a keyless AWS-owned account, readable by
//! everyone through its bucket policy, so reading it is judged like any cross-account read.

pub mod tickit;

use bytes::Bytes;
use nuage_core::{AwsError, AwsResult};
use nuage_front::Frontend;
use nuage_protocol::s3;
use std::sync::Arc;

/// The account that owns the sample buckets.
pub const SAMPLES_ACCOUNT: &str = "999999999999";
/// The bucket of Redshift's getting-started lab, in us-west-2.
pub const TICKIT_BUCKET: &str = "awssampledbuswest2";
pub const TICKIT_REGION: &str = "us-west-2";
pub const TICKIT_PREFIX: &str = "tickit/";

fn failed(what: &str, e: AwsError) -> AwsError {
    AwsError::internal(format!("{what}: status {} {} {}", e.status, e.code, e.message))
}

/// Publishes the TICKIT bucket unless it is already there: the files are generated (a
/// second or two) only when missing.
pub async fn publish_tickit(f: Arc<Frontend>) -> AwsResult<()> {
    let owner = f.identities.add_keyless_account(SAMPLES_ACCOUNT, "aws-samples");
    let bucket = || Some(TICKIT_BUCKET.to_string());
    let listed = f
        .call(
            owner.clone(),
            TICKIT_REGION,
            s3::ListObjectsV2Request { bucket: bucket(), prefix: Some(TICKIT_PREFIX.into()), ..Default::default() },
        )
        .await;
    match listed {
        Ok(l) if l.key_count == Some(7) => return Ok(()),
        Ok(_) => {}
        Err(e) if e.code == "NoSuchBucket" => {
            let config =
                s3::CreateBucketConfiguration { location_constraint: Some(TICKIT_REGION.into()), ..Default::default() };
            let create = s3::CreateBucketRequest {
                bucket: bucket(),
                create_bucket_configuration: Some(config),
                ..Default::default()
            };
            f.call(owner.clone(), TICKIT_REGION, create).await.map_err(|e| failed("CreateBucket", e))?;
        }
        Err(e) => return Err(failed("ListObjectsV2", e)),
    }
    // New buckets block public policies, as on AWS; this one is public on purpose.
    let unblock = s3::DeletePublicAccessBlockRequest { bucket: bucket(), ..Default::default() };
    match f.call(owner.clone(), TICKIT_REGION, unblock).await {
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
            "Resource": [format!("arn:aws:s3:::{TICKIT_BUCKET}"), format!("arn:aws:s3:::{TICKIT_BUCKET}/*")]
        }]
    });
    let put_policy =
        s3::PutBucketPolicyRequest { bucket: bucket(), policy: Some(policy.to_string()), ..Default::default() };
    f.call(owner.clone(), TICKIT_REGION, put_policy).await.map_err(|e| failed("PutBucketPolicy", e))?;
    let files = tokio::task::spawn_blocking(tickit::files).await.map_err(AwsError::internal)?;
    for (name, body) in files {
        let put = s3::PutObjectRequest {
            bucket: bucket(),
            key: Some(format!("{TICKIT_PREFIX}{name}")),
            body: Some(Bytes::from(body)),
            ..Default::default()
        };
        f.call(owner.clone(), TICKIT_REGION, put).await.map_err(|e| failed("PutObject", e))?;
    }
    tracing::info!(bucket = TICKIT_BUCKET, "TICKIT sample published");
    Ok(())
}
