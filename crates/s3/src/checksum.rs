//! Content-MD5 and the flexible checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256).
use crate::error::{S3Error, S3Result};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use md5::{Digest, Md5};

pub const ALGORITHMS: &[&str] = &["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"];

pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// An incremental checksum over data that arrives in pieces (a multipart object's parts).
pub enum Hasher {
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64(crc64fast_nvme::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    pub fn new(algorithm: &str) -> Option<Hasher> {
        Some(match algorithm {
            "CRC32" => Hasher::Crc32(crc32fast::Hasher::new()),
            "CRC32C" => Hasher::Crc32c(0),
            "CRC64NVME" => Hasher::Crc64(crc64fast_nvme::Digest::new()),
            "SHA1" => Hasher::Sha1(sha1::Sha1::new()),
            "SHA256" => Hasher::Sha256(sha2::Sha256::new()),
            _ => return None,
        })
    }
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32(h) => h.update(data),
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Crc64(d) => d.write(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }
    /// The base64 digest, as S3 reports checksums.
    pub fn finish(self) -> String {
        match self {
            Hasher::Crc32(h) => B64.encode(h.finalize().to_be_bytes()),
            Hasher::Crc32c(c) => B64.encode(c.to_be_bytes()),
            Hasher::Crc64(d) => B64.encode(d.sum64().to_be_bytes()),
            Hasher::Sha1(h) => B64.encode(h.finalize()),
            Hasher::Sha256(h) => B64.encode(h.finalize()),
        }
    }
}

/// The base64 checksum of `data` with `algorithm` (upper case).
pub fn compute(algorithm: &str, data: &[u8]) -> Option<String> {
    let mut h = Hasher::new(algorithm)?;
    h.update(data);
    Some(h.finish())
}

/// Checks Content-MD5 if given.
pub fn check_content_md5(header: Option<&str>, data: &[u8]) -> S3Result<()> {
    check_md5_digest(header, &Md5::digest(data))
}

/// Checks Content-MD5, if given, against the body's MD5 digest.
pub fn check_md5_digest(header: Option<&str>, digest: &[u8]) -> S3Result<()> {
    let Some(h) = header else { return Ok(()) };
    let given = B64.decode(h.trim()).map_err(|_| S3Error::InvalidDigest)?;
    if given.len() != 16 {
        return Err(S3Error::InvalidDigest.into());
    }
    if given.as_slice() != digest {
        return Err(S3Error::BadDigest("The Content-MD5 you specified did not match what we received.".into()).into());
    }
    Ok(())
}

/// The checksum a request names (header or trailer `x-amz-checksum-<alg>`, with its value) or
/// asks the server to compute (`x-amz-sdk-checksum-algorithm`, without one).
pub fn requested(headers: &[(String, String)]) -> S3Result<Option<(String, Option<String>)>> {
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    for alg in ALGORITHMS {
        if let Some(given) = get(&format!("x-amz-checksum-{}", alg.to_ascii_lowercase())) {
            return Ok(Some((alg.to_string(), Some(given.trim().to_string()))));
        }
    }
    match get("x-amz-sdk-checksum-algorithm").map(str::to_ascii_uppercase) {
        Some(alg) if ALGORITHMS.contains(&alg.as_str()) => Ok(Some((alg, None))),
        Some(alg) => Err(S3Error::InvalidRequest(format!("Checksum algorithm {alg} is not supported")).into()),
        None => Ok(None),
    }
}

/// The checksum of a request, once computed: refused when it differs from the one given.
pub fn check_given(algorithm: String, given: Option<String>, actual: String) -> S3Result<(String, String)> {
    if given.is_some_and(|g| g != actual) {
        return Err(S3Error::BadDigest(format!(
            "The {} you specified did not match the calculated checksum.",
            algorithm.to_ascii_uppercase()
        ))
        .into());
    }
    Ok((algorithm, actual))
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_values() {
        assert_eq!(super::compute("CRC32", b"hello").unwrap(), "NhCmhg==");
        assert_eq!(super::md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }
}
