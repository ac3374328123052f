//! AWS's public sample data, served by nuage's own S3: the buckets AWS's tutorials copy from.
//! Each is published through the front door by a keyless AWS-owned account, readable by
//! everyone through its bucket policy, so reading it is judged like any cross-account read.

pub mod tickit;

use bytes::Bytes;
use nuage_core::{AwsError, AwsResult, Principal};
use nuage_front::{Frontend, ServiceRequest};
use nuage_protocol::HttpResponse;
use std::sync::Arc;

/// The account that owns the sample buckets.
pub const SAMPLES_ACCOUNT: &str = "999999999999";
/// The bucket of Redshift's getting-started lab, in us-west-2.
pub const TICKIT_BUCKET: &str = "awssampledbuswest2";
pub const TICKIT_REGION: &str = "us-west-2";
pub const TICKIT_PREFIX: &str = "tickit/";

fn request(method: &str, path: &str, query: &[(&str, &str)], body: impl Into<Bytes>) -> ServiceRequest {
    let body = body.into();
    ServiceRequest {
        method: method.into(),
        raw_path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        headers: vec![("content-length".into(), body.len().to_string())],
        host: String::new(),
        body,
    }
}

async fn call(f: &Frontend, owner: &Principal, req: ServiceRequest) -> AwsResult<HttpResponse> {
    f.call_as(owner.clone(), "s3", TICKIT_REGION, req).await
}

fn failed(what: &str, r: &HttpResponse) -> AwsError {
    AwsError::internal(format!("{what}: status {} {}", r.status, String::from_utf8_lossy(&r.body)))
}

/// Publishes the TICKIT bucket unless it is already there: the files are generated (a
/// second or two) only when missing.
pub async fn publish_tickit(f: Arc<Frontend>) -> AwsResult<()> {
    let owner = f.identities.add_keyless_account(SAMPLES_ACCOUNT, "aws-samples");
    let bucket_path = format!("/{TICKIT_BUCKET}");
    let listed =
        call(&f, &owner, request("GET", &bucket_path, &[("list-type", "2"), ("prefix", TICKIT_PREFIX)], Bytes::new()))
            .await?;
    if listed.status == 200 && String::from_utf8_lossy(&listed.body).matches("<Key>").count() == 7 {
        return Ok(());
    }
    if listed.status == 404 {
        let config = format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{TICKIT_REGION}</LocationConstraint></CreateBucketConfiguration>"
        );
        let r = call(&f, &owner, request("PUT", &bucket_path, &[], config)).await?;
        if r.status != 200 {
            return Err(failed("CreateBucket", &r));
        }
    }
    // New buckets block public policies, as on AWS; this one is public on purpose.
    let r = call(&f, &owner, request("DELETE", &bucket_path, &[("publicAccessBlock", "")], Bytes::new())).await?;
    if r.status >= 300 && r.status != 404 {
        return Err(failed("DeletePublicAccessBlock", &r));
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
    let r = call(&f, &owner, request("PUT", &bucket_path, &[("policy", "")], policy.to_string())).await?;
    if r.status >= 300 {
        return Err(failed("PutBucketPolicy", &r));
    }
    let files = tokio::task::spawn_blocking(tickit::files).await.map_err(AwsError::internal)?;
    for (name, body) in files {
        let r = call(&f, &owner, request("PUT", &format!("{bucket_path}/{TICKIT_PREFIX}{name}"), &[], body)).await?;
        if r.status != 200 {
            return Err(failed("PutObject", &r));
        }
    }
    tracing::info!(bucket = TICKIT_BUCKET, "TICKIT sample published");
    Ok(())
}
