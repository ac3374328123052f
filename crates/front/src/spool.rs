//! Request bodies too large to hold (an object's PUT): written as they arrive to a file in the
//! store's blob directory, hashed on the way, so that memory does not depend on an object's
//! size. A file left by a crash is removed when the store next opens.
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use nuage_core::AwsError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Bodies announcing more than this are spooled.
pub const SPOOL_THRESHOLD: u64 = 8 * 1024 * 1024;
const BUFFER: usize = 1024 * 1024;

/// A body in a file; the file goes with it unless a service adopts it (renames it away).
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub len: u64,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A body as received: its file and the SHA-256 of what arrived.
pub(crate) struct Received {
    pub spooled: Spooled,
    pub sha256: String,
}

pub(crate) enum Failure {
    /// More than the limit arrived.
    TooLarge,
    Read(String),
}

fn new_path(dir: &Path) -> PathBuf {
    dir.join(format!("{}.spool", uuid::Uuid::new_v4().simple()))
}

/// Writes the body to a new file as it arrives, refusing it past `limit` bytes.
pub(crate) async fn receive(mut body: Incoming, dir: &Path, limit: u64) -> Result<Received, Failure> {
    let path = new_path(dir);
    let file = tokio::fs::File::create(&path).await.map_err(|e| Failure::Read(e.to_string()))?;
    // From here the file is removed on every way out.
    let mut spooled = Spooled { path, len: 0 };
    let mut out = tokio::io::BufWriter::with_capacity(BUFFER, file);
    let mut hash = Sha256::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::Read(e.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        spooled.len += data.len() as u64;
        if spooled.len > limit {
            return Err(Failure::TooLarge);
        }
        hash.update(&data);
        out.write_all(&data).await.map_err(|e| Failure::Read(e.to_string()))?;
    }
    out.flush().await.map_err(|e| Failure::Read(e.to_string()))?;
    Ok(Received { spooled, sha256: hex::encode(hash.finalize()) })
}

/// Decodes a spooled aws-chunked body into a new file (chunk signatures checked by `signer`),
/// off the request threads; returns it with its trailing headers.
pub(crate) async fn decode_chunked(
    raw: Spooled,
    signer: Option<crate::sigv4::ChunkSigner>,
    declared: Option<Option<u64>>,
) -> Result<(Spooled, Vec<(String, String)>), AwsError> {
    tokio::task::spawn_blocking(move || {
        let dir = raw.path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut decoded = Spooled { path: new_path(&dir), len: 0 };
        let input = std::fs::File::open(&raw.path).map_err(AwsError::internal)?;
        let output = std::fs::File::create(&decoded.path).map_err(AwsError::internal)?;
        let mut r = std::io::BufReader::with_capacity(BUFFER, input);
        let mut w = std::io::BufWriter::with_capacity(BUFFER, output);
        let trailers = crate::sigv4::decode_chunked(&mut r, &mut w, signer, declared)?;
        let file = w.into_inner().map_err(|e| AwsError::internal(e.error()))?;
        decoded.len = file.metadata().map_err(AwsError::internal)?.len();
        Ok((decoded, trailers))
    })
    .await
    .map_err(AwsError::internal)?
}

/// A small body, whole, for requests that are not spooled.
pub(crate) async fn collect(body: Incoming, limit: usize) -> Result<Bytes, Failure> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Failure::TooLarge),
        Err(e) => Err(Failure::Read(e.to_string())),
    }
}
