//! Server-side encryption as S3 reports and enforces it: SSE-S3 and SSE-KMS are recorded and
//! reported; SSE-C keys are checked (by their MD5) on every read, so a wrong or missing key
//! fails exactly as on S3.
use crate::error::S3Error;
use crate::meta::Bucket;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};
use nuage_core::{AwsError, AwsResult};
use nuage_front::ServiceRequest;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sse {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`; absent with SSE-C.
    pub algorithm: Option<String>,
    pub kms_key_id: Option<String>,
    pub bucket_key: Option<bool>,
    pub customer_algorithm: Option<String>,
    pub customer_key_md5: Option<String>,
}

fn invalid(msg: &str) -> AwsError {
    S3Error::InvalidArgument(msg.into(), None).into()
}

/// The SSE-C key a request presents under `prefix` (`x-amz-` or `x-amz-copy-source-`):
/// (algorithm, key MD5), validated.
pub fn customer_key(req: &ServiceRequest, prefix: &str) -> AwsResult<Option<(String, String)>> {
    let h = |n: &str| req.header(&format!("{prefix}server-side-encryption-customer-{n}"));
    let (alg, key, md5) = (h("algorithm"), h("key"), h("key-md5"));
    if alg.is_none() && key.is_none() && md5.is_none() {
        return Ok(None);
    }
    let alg = alg.ok_or_else(|| invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."))?;
    if alg != "AES256" {
        return Err(invalid("The requested encryption algorithm is not valid, must be AES256."));
    }
    let key = key.ok_or_else(|| invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."))?;
    let raw = B64.decode(key).map_err(|_| invalid("The secret key was invalid for the specified algorithm."))?;
    if raw.len() != 32 {
        return Err(invalid("The secret key was invalid for the specified algorithm."));
    }
    let actual = B64.encode(Md5::digest(&raw));
    if let Some(given) = md5 {
        if given != actual {
            return Err(invalid("The calculated MD5 hash of the key did not match the hash that was provided."));
        }
    }
    Ok(Some((alg.to_string(), actual)))
}

/// What a write asks for, falling back to the bucket's default encryption.
pub fn for_write(req: &ServiceRequest, bucket: &Bucket, region: &str) -> AwsResult<Sse> {
    if let Some((alg, md5)) = customer_key(req, "x-amz-")? {
        if req.header("x-amz-server-side-encryption").is_some() {
            return Err(invalid("Server Side Encryption with Customer provided key is incompatible with the encryption method specified"));
        }
        return Ok(Sse { customer_algorithm: Some(alg), customer_key_md5: Some(md5), ..Default::default() });
    }
    let requested = req.header("x-amz-server-side-encryption").map(str::to_string);
    let default_rule = bucket
        .encryption
        .as_ref()
        .and_then(|e| e.rules.as_ref())
        .and_then(|r| r.first())
        .and_then(|r| r.apply_server_side_encryption_by_default.clone());
    let algorithm = requested
        .clone()
        .or_else(|| default_rule.as_ref().and_then(|d| d.sse_algorithm.clone()))
        .unwrap_or_else(|| "AES256".into());
    if !matches!(algorithm.as_str(), "AES256" | "aws:kms" | "aws:kms:dsse") {
        return Err(invalid("The encryption method specified is not supported"));
    }
    let mut kms_key_id = req.header("x-amz-server-side-encryption-aws-kms-key-id").map(str::to_string);
    if kms_key_id.is_some() && algorithm == "AES256" {
        return Err(invalid("Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms"));
    }
    if algorithm.starts_with("aws:kms") && kms_key_id.is_none() {
        kms_key_id = default_rule
            .as_ref()
            .and_then(|d| d.kms_master_key_id.clone())
            .or_else(|| Some(format!("arn:aws:kms:{region}:{}:alias/aws/s3", bucket.owner.account_id)));
    }
    let bucket_key =
        req.header("x-amz-server-side-encryption-bucket-key-enabled").map(|v| v.eq_ignore_ascii_case("true"));
    Ok(Sse { algorithm: Some(algorithm), kms_key_id, bucket_key, ..Default::default() })
}

/// Checks that a read (under `prefix`) presents the SSE-C key the object was written with.
pub fn check_read(stored: &Option<Sse>, req: &ServiceRequest, prefix: &str) -> AwsResult<()> {
    let want = stored.as_ref().and_then(|s| s.customer_key_md5.as_deref());
    let given = customer_key(req, prefix)?;
    match (want, given) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(S3Error::InvalidRequest(
            "The encryption parameters are not applicable to this object.".into(),
        )
        .into()),
        (Some(_), None) => Err(S3Error::InvalidRequest(
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.".into(),
        )
        .into()),
        (Some(w), Some((_, g))) if w == g => Ok(()),
        (Some(_), Some(_)) => Err(AwsError::new("AccessDenied", 403, "Access Denied")),
    }
}

/// Sets the SSE response fields every output that reports encryption shares.
#[macro_export]
macro_rules! report_sse {
    ($out:expr, $sse:expr) => {{
        let sse: &Option<$crate::sse::Sse> = $sse;
        match sse {
            Some(s) if s.customer_key_md5.is_some() => {
                $out.sse_customer_algorithm = s.customer_algorithm.clone();
                $out.sse_customer_key_md5 = s.customer_key_md5.clone();
                $out.server_side_encryption = None;
            }
            Some(s) => {
                $out.server_side_encryption = s.algorithm.clone();
                $out.ssekms_key_id = s.kms_key_id.clone();
                $out.bucket_key_enabled = s.bucket_key;
            }
            None => $out.server_side_encryption = Some("AES256".into()),
        }
    }};
}
