//! An object's body as PutObject and UploadPart receive it: in memory, or in the file the front
//! door spooled it to. Either way its MD5 (the ETag), its size and the checksum the request
//! names are computed in one pass, checked against Content-MD5 and the checksum, and the body
//! is staged for commit without being copied when it is a file.
use crate::checksum;
use crate::error::S3Result;
use bytes::Bytes;
use md5::{Digest, Md5};
use nuage_core::{AwsError, AwsResult};
use nuage_front::ServiceRequest;
use nuage_storage::{StagedBlob, Store};

/// What was received.
pub struct Received {
    pub md5_hex: String,
    pub len: u64,
    /// The checksum the request names or asks for: (algorithm, base64 value).
    pub checksum: Option<(String, String)>,
}

/// Digests the body (`body` or the request's spooled file) and checks it against the
/// request's Content-MD5 and checksum.
pub async fn receive(req: &ServiceRequest, body: &Bytes, content_md5: Option<&str>) -> AwsResult<Received> {
    let asked = checksum::requested(&req.headers)?;
    let algorithm = asked.as_ref().map(|(alg, _)| alg.clone());
    let (md5, len, computed) = match &req.spooled {
        None => {
            let mut h = algorithm.as_deref().and_then(checksum::Hasher::new);
            if let Some(h) = h.as_mut() {
                h.update(body);
            }
            (Md5::digest(body).to_vec(), body.len() as u64, h.map(|h| h.finish()))
        }
        Some(s) => {
            let path = s.path.clone();
            tokio::task::spawn_blocking(move || digest_file(&path, algorithm.as_deref()))
                .await
                .map_err(AwsError::internal)?
                .map_err(AwsError::internal)?
        }
    };
    checksum::check_md5_digest(content_md5, &md5)?;
    let checksum = match (asked, computed) {
        (Some((alg, given)), Some(actual)) => Some(checksum::check_given(alg, given, actual)?),
        _ => None,
    };
    Ok(Received { md5_hex: hex::encode(md5), len, checksum })
}

fn digest_file(path: &std::path::Path, algorithm: Option<&str>) -> std::io::Result<(Vec<u8>, u64, Option<String>)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut md5 = Md5::new();
    let mut h = algorithm.and_then(checksum::Hasher::new);
    let mut buf = vec![0u8; 1024 * 1024];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        md5.update(&buf[..n]);
        if let Some(h) = h.as_mut() {
            h.update(&buf[..n]);
        }
        len += n as u64;
    }
    Ok((md5.finalize().to_vec(), len, h.map(|h| h.finish())))
}

/// Stages the body for commit: the spooled file is adopted (fsynced and renamed), a body in
/// memory is written out as usual.
pub async fn stage(store: &Store, req: &ServiceRequest, body: Bytes) -> AwsResult<StagedBlob> {
    match &req.spooled {
        Some(s) => store.adopt(s.path.clone(), s.len).await,
        None => store.stage(body).await,
    }
}

/// The checks on a received size that PutObject and UploadPart share.
pub fn check_size(received: &Received, req: &ServiceRequest) -> S3Result<()> {
    // S3 takes an object's body only with its length announced, or chunked.
    if req.header("content-length").is_none() && req.header("transfer-encoding").is_none() {
        return Err(AwsError::new("MissingContentLength", 411, "You must provide the Content-Length HTTP header."));
    }
    if received.len > crate::object::MAX_OBJECT_SIZE {
        return Err(crate::error::S3Error::EntityTooLarge.into());
    }
    if let Some(declared) = req.header("x-amz-decoded-content-length") {
        if declared.parse::<u64>().ok() != Some(received.len) {
            return Err(AwsError::new(
                "IncompleteBody",
                400,
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            ));
        }
    }
    Ok(())
}
