//! AWS Signature Version 4: header and presigned-query signatures, signed payload hashes and
//! the aws-chunked body encodings (signed chunks, unsigned chunks with trailing checksums).
use bytes::Bytes;
use hmac::{Hmac, Mac};
use nuage_core::identity::{Credential, Identities};
use nuage_core::AwsError;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The allowed difference between a request's time and ours.
const MAX_SKEW_SECS: i64 = 15 * 60;
const MAX_PRESIGN_SECS: i64 = 7 * 24 * 3600;

/// The outcome of verifying a request.
pub struct Verified {
    /// The access key that signed.
    pub access_key: String,
    pub credential: Credential,
    pub region: String,
    pub service: String,
    pub presigned: bool,
    /// The body with any aws-chunked framing removed.
    pub body: Bytes,
    /// What remains to check of a spooled body.
    pub check: PayloadCheck,
    /// Trailing headers of an aws-chunked body (e.g. `x-amz-checksum-crc32`).
    pub trailers: Vec<(String, String)>,
}

/// What the front door knows of a request before authentication.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: Bytes,
    /// The body was spooled to a file by the front door: what remains to check of it is
    /// returned (`Verified::check`) rather than done here.
    pub spooled: bool,
    /// S3 signs the path as sent; other services sign it URI-encoded once more.
    pub s3_path_rules: bool,
    pub now: i64,
}

impl SignedRequest<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// URI-encodes as SigV4 prescribes: unreserved characters stay, everything else is %XX.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Splits a raw query string into decoded pairs (no `+`-as-space: AWS clients encode spaces).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

fn canonical_query(raw: &str, skip_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = parse_query(raw)
        .into_iter()
        .filter(|(k, _)| !(skip_signature && k == "X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn canonical_headers(req: &SignedRequest, signed: &[&str]) -> String {
    let mut out = String::new();
    for name in signed {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// Every `x-amz-*` header a request carries must be covered by its signature: otherwise a
/// man in the middle could add metadata, ACLs or tags to a signed request. The payload hash
/// is exempt, being bound into the canonical request on its own line.
fn check_headers_signed(req: &SignedRequest, signed: &[&str]) -> Result<(), AwsError> {
    let mut unsigned: Vec<String> = req
        .headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .filter(|k| k.starts_with("x-amz-") && k != "x-amz-content-sha256")
        .filter(|k| !signed.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort();
    unsigned.dedup();
    Err(AwsError::new("AccessDenied", 403, "There were headers present in the request which were not signed")
        .with("HeadersNotSigned", unsigned.join(", ")))
}

struct Parsed<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_credential(cred: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = cred.split('/');
    let (ak, date, region, service, term) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    (term == "aws4_request").then_some((ak, date, region, service))
}

fn auth_header_error(msg: &str) -> AwsError {
    AwsError::new("AuthorizationHeaderMalformed", 400, msg.to_string())
}

fn parse_auth_header(h: &str) -> Result<Parsed<'_>, AwsError> {
    let rest = h.strip_prefix(ALGORITHM).ok_or_else(|| auth_header_error("Unsupported authorization type"))?;
    let mut cred = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let cred = cred.ok_or_else(|| auth_header_error("The authorization header is malformed; missing Credential."))?;
    let (access_key, date, region, service) = parse_credential(cred)
        .ok_or_else(|| auth_header_error("The authorization header is malformed; the Credential is mal-formed."))?;
    Ok(Parsed {
        access_key,
        date,
        region,
        service,
        signed_headers: signed
            .ok_or_else(|| auth_header_error("The authorization header is malformed; missing SignedHeaders."))?
            .split(';')
            .collect(),
        signature: sig.ok_or_else(|| auth_header_error("The authorization header is malformed; missing Signature."))?,
    })
}

/// Parses `20130524T000000Z` to Unix seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    time::PrimitiveDateTime::parse(s, fmt).ok().map(|d| d.assume_utc().unix_timestamp())
}

pub(crate) fn lookup(
    ids: &Identities,
    access_key: &str,
    req: &SignedRequest,
    token: Option<&str>,
) -> Result<Credential, AwsError> {
    let cred = ids.credential(access_key).filter(|c| c.active).ok_or_else(|| {
        AwsError::new("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.")
            .with("AWSAccessKeyId", access_key)
    })?;
    if let Some(expected) = &cred.session_token {
        if token != Some(expected.as_str()) {
            return Err(AwsError::new("InvalidToken", 400, "The provided token is malformed or otherwise invalid."));
        }
    }
    if cred.expires_at.is_some_and(|e| e < req.now) {
        return Err(AwsError::new("ExpiredToken", 400, "The provided token has expired."));
    }
    Ok(cred)
}

fn signature_mismatch(access_key: &str, sts: &str, creq: &str, provided: &str) -> AwsError {
    AwsError::new(
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .with("AWSAccessKeyId", access_key)
    .with("StringToSign", sts)
    .with("SignatureProvided", provided)
    .with("StringToSignBytes", hex_spaced(sts.as_bytes()))
    .with("CanonicalRequest", creq)
    .with("CanonicalRequestBytes", hex_spaced(creq.as_bytes()))
}

fn hex_spaced(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

/// Verifies a SigV4-signed request. `Ok(None)` means it carries no signature (anonymous).
pub fn verify(ids: &Identities, req: SignedRequest, host: &str) -> Result<Option<Verified>, AwsError> {
    if let Some(h) = req.header("authorization") {
        if h.starts_with("AWS ") && req.s3_path_rules {
            return crate::sigv2::verify_header(ids, &req, h, host).map(Some);
        }
        let p = parse_auth_header(h)?;
        return verify_header(ids, &req, &p).map(Some);
    }
    let query = parse_query(req.raw_query);
    let q = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match q("X-Amz-Algorithm") {
        Some(ALGORITHM) => verify_presigned(ids, &req, &q).map(Some),
        Some(_) => Err(AwsError::new(
            "AuthorizationQueryParametersError",
            400,
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        )),
        None if q("AWSAccessKeyId").is_some() && q("Signature").is_some() && req.s3_path_rules => {
            crate::sigv2::verify_query(ids, &req, host).map(Some)
        }
        None => Ok(None),
    }
}

fn canonical_uri(req: &SignedRequest) -> String {
    if req.s3_path_rules {
        // S3 signs the path exactly as the client encoded it.
        let p = if req.raw_path.is_empty() { "/" } else { req.raw_path };
        uri_encode(&percent_decode(p), true)
    } else {
        uri_encode(&uri_encode(&percent_decode(req.raw_path), true), true)
    }
}

fn verify_header(ids: &Identities, req: &SignedRequest, p: &Parsed) -> Result<Verified, AwsError> {
    let amz_date = req.header("x-amz-date").or_else(|| req.header("date")).ok_or_else(|| {
        AwsError::new("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header")
    })?;
    let t = parse_amz_date(amz_date)
        .or_else(|| nuage_protocol::time_fmt::parse(amz_date).map(|t| t.seconds()))
        .ok_or_else(|| {
            AwsError::new("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header")
        })?;
    if (req.now - t).abs() > MAX_SKEW_SECS {
        return Err(AwsError::new(
            "RequestTimeTooSkewed",
            403,
            "The difference between the request time and the current time is too large.",
        )
        .with("RequestTime", amz_date)
        .with("ServerTime", nuage_protocol::time_fmt::iso8601(nuage_protocol::Timestamp(req.now * 1000)))
        .with("MaxAllowedSkewMilliseconds", "900000"));
    }
    check_headers_signed(req, &p.signed_headers)?;
    let cred = lookup(ids, p.access_key, req, req.header("x-amz-security-token"))?;
    let payload_hash = match req.header("x-amz-content-sha256") {
        Some(h) => h.to_string(),
        None if req.s3_path_rules => {
            return Err(AwsError::new(
                "InvalidRequest",
                400,
                "Missing required header for this request: x-amz-content-sha256",
            ))
        }
        None => hex::encode(Sha256::digest(&req.body)),
    };
    let creq = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req),
        canonical_query(req.raw_query, false),
        canonical_headers(req, &p.signed_headers),
        p.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!("{}/{}/{}/aws4_request", p.date, p.region, p.service);
    let sts = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(creq.as_bytes())));
    let key = signing_key(&cred.secret, p.date, p.region, p.service);
    let expected = hex::encode(hmac(&key, sts.as_bytes()));
    if expected != p.signature {
        return Err(signature_mismatch(p.access_key, &sts, &creq, p.signature));
    }
    let (body, trailers, check) = decode_payload(req, &payload_hash, &key, amz_date, &scope, p.signature)?;
    Ok(Verified {
        access_key: p.access_key.to_string(),
        credential: cred,
        region: p.region.to_string(),
        service: p.service.to_string(),
        presigned: false,
        body,
        check,
        trailers,
    })
}

fn verify_presigned<'a>(
    ids: &Identities,
    req: &SignedRequest,
    q: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<Verified, AwsError> {
    let missing = || {
        AwsError::new(
            "AuthorizationQueryParametersError",
            400,
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
        )
    };
    let cred_s = q("X-Amz-Credential").ok_or_else(missing)?;
    let amz_date = q("X-Amz-Date").ok_or_else(missing)?;
    let signed = q("X-Amz-SignedHeaders").ok_or_else(missing)?;
    let signature = q("X-Amz-Signature").ok_or_else(missing)?;
    let expires: i64 = q("X-Amz-Expires").ok_or_else(missing)?.parse().map_err(|_| missing())?;
    let (access_key, date, region, service) = parse_credential(cred_s).ok_or_else(|| {
        AwsError::new(
            "AuthorizationQueryParametersError",
            400,
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed.",
        )
    })?;
    if !(0..=MAX_PRESIGN_SECS).contains(&expires) {
        return Err(AwsError::new(
            "AccessDenied",
            403,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    let t = parse_amz_date(amz_date).ok_or_else(missing)?;
    if req.now >= t + expires {
        return Err(AwsError::new("AccessDenied", 403, "Request has expired")
            .with("X-Amz-Expires", expires.to_string())
            .with("Expires", nuage_protocol::time_fmt::iso8601(nuage_protocol::Timestamp((t + expires) * 1000)))
            .with("ServerTime", nuage_protocol::time_fmt::iso8601(nuage_protocol::Timestamp(req.now * 1000))));
    }
    if t - req.now > MAX_SKEW_SECS {
        return Err(AwsError::new("AccessDenied", 403, "Request is not valid yet"));
    }
    let cred = lookup(ids, access_key, req, q("X-Amz-Security-Token"))?;
    let signed_headers: Vec<&str> = signed.split(';').collect();
    check_headers_signed(req, &signed_headers)?;
    let payload_hash = req.header("x-amz-content-sha256").unwrap_or("UNSIGNED-PAYLOAD").to_string();
    let creq = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req),
        canonical_query(req.raw_query, true),
        canonical_headers(req, &signed_headers),
        signed,
        if req.s3_path_rules { payload_hash.as_str() } else { EMPTY_SHA256 }
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let sts = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(creq.as_bytes())));
    let key = signing_key(&cred.secret, date, region, service);
    let expected = hex::encode(hmac(&key, sts.as_bytes()));
    if expected != signature {
        return Err(signature_mismatch(access_key, &sts, &creq, signature));
    }
    Ok(Verified {
        access_key: access_key.to_string(),
        credential: cred,
        region: region.to_string(),
        service: service.to_string(),
        presigned: true,
        body: req.body.clone(),
        check: PayloadCheck::None,
        trailers: Vec::new(),
    })
}

/// Verifies a signature carried in a request body (S3 POST policy) and names its principal.
pub fn verify_embedded(
    ids: &Identities,
    e: crate::EmbeddedCredentials,
    now: i64,
) -> Result<nuage_core::Principal, AwsError> {
    let mismatch = || {
        AwsError::new(
            "SignatureDoesNotMatch",
            403,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        )
    };
    match e {
        crate::EmbeddedCredentials::V2 { access_key, signature, string_to_sign } => {
            let cred = ids.credential(&access_key).filter(|c| c.active).ok_or_else(|| {
                AwsError::new(
                    "InvalidAccessKeyId",
                    403,
                    "The AWS Access Key Id you provided does not exist in our records.",
                )
                .with("AWSAccessKeyId", access_key.clone())
            })?;
            use base64::Engine;
            let mut m = Hmac::<sha1::Sha1>::new_from_slice(cred.secret.as_bytes()).expect("any key length");
            m.update(string_to_sign.as_bytes());
            let expected = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
            if expected != signature {
                return Err(mismatch());
            }
            Ok(cred.principal)
        }
        crate::EmbeddedCredentials::V4 { credential, signature, string_to_sign } => {
            let (ak, date, region, service) = parse_credential(&credential)
                .ok_or_else(|| AwsError::new("InvalidArgument", 400, "Invalid credential in x-amz-credential"))?;
            let cred = ids.credential(ak).filter(|c| c.active).ok_or_else(|| {
                AwsError::new(
                    "InvalidAccessKeyId",
                    403,
                    "The AWS Access Key Id you provided does not exist in our records.",
                )
                .with("AWSAccessKeyId", ak)
            })?;
            if cred.expires_at.is_some_and(|t| t < now) {
                return Err(AwsError::new("ExpiredToken", 400, "The provided token has expired."));
            }
            let key = signing_key(&cred.secret, date, region, service);
            if hex::encode(hmac(&key, string_to_sign.as_bytes())) != signature {
                return Err(mismatch());
            }
            Ok(cred.principal)
        }
    }
}

fn incomplete_body() -> AwsError {
    AwsError::new("IncompleteBody", 400, "The request body terminated unexpectedly")
}

/// What remains to be checked of a body spooled to a file (the front door does it off the
/// request thread): its hash, or its aws-chunked framing and chunk signatures.
pub enum PayloadCheck {
    None,
    Sha256(String),
    Chunked(Option<ChunkSigner>),
}

/// A body as verification leaves it: decoded, its trailing headers, what remains to check.
type Payload = (Bytes, Vec<(String, String)>, PayloadCheck);

/// Checks the payload against its declared hash, or decodes an aws-chunked body. A spooled
/// body is left where it is, with what remains to check of it.
fn decode_payload(
    req: &SignedRequest,
    payload_hash: &str,
    key: &[u8],
    amz_date: &str,
    scope: &str,
    seed_signature: &str,
) -> Result<Payload, AwsError> {
    let signer = || ChunkSigner {
        key: key.to_vec(),
        amz_date: amz_date.to_string(),
        scope: scope.to_string(),
        prev: seed_signature.to_string(),
    };
    let check = match payload_hash {
        "UNSIGNED-PAYLOAD" => PayloadCheck::None,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
            PayloadCheck::Chunked(Some(signer()))
        }
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER" => PayloadCheck::Chunked(None),
        h if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => PayloadCheck::Sha256(h.to_ascii_lowercase()),
        other => {
            return Err(AwsError::new(
                "InvalidArgument",
                400,
                format!("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value, not {other}"),
            ))
        }
    };
    if req.spooled {
        return Ok((Bytes::new(), Vec::new(), check));
    }
    match check {
        PayloadCheck::None => Ok((req.body.clone(), Vec::new(), PayloadCheck::None)),
        PayloadCheck::Sha256(h) => {
            check_sha256(&h, &hex::encode(Sha256::digest(&req.body)))?;
            Ok((req.body.clone(), Vec::new(), PayloadCheck::None))
        }
        PayloadCheck::Chunked(signer) => {
            let mut out = Vec::with_capacity(req.body.len());
            let declared = req.header("x-amz-decoded-content-length").map(|d| d.parse::<u64>().ok());
            let trailers = decode_chunked(&mut &req.body[..], &mut out, signer, declared)?;
            Ok((Bytes::from(out), trailers, PayloadCheck::None))
        }
    }
}

/// The payload's SHA-256 against the one the client declared.
pub fn check_sha256(declared: &str, actual: &str) -> Result<(), AwsError> {
    if actual.eq_ignore_ascii_case(declared) {
        return Ok(());
    }
    Err(AwsError::new(
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    )
    .with("ClientComputedContentSHA256", declared)
    .with("S3ComputedContentSHA256", actual))
}

/// The chain of chunk signatures of a signed aws-chunked body.
pub struct ChunkSigner {
    key: Vec<u8>,
    amz_date: String,
    scope: String,
    prev: String,
}

impl ChunkSigner {
    fn check(&mut self, data_sha256: &str, provided: &str) -> Result<(), AwsError> {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{data_sha256}",
            self.amz_date, self.scope, self.prev,
        );
        let expected = hex::encode(hmac(&self.key, sts.as_bytes()));
        if expected != provided {
            return Err(AwsError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            ));
        }
        self.prev = expected;
        Ok(())
    }
}

/// A line of the framing (a chunk header or a trailer), without its CRLF; `None` at the end.
fn framing_line(r: &mut impl std::io::BufRead) -> Result<Option<String>, AwsError> {
    let mut line = Vec::new();
    // A chunk header is short; a longer "line" is not framing.
    let n = std::io::BufRead::read_until(&mut std::io::Read::take(&mut *r, 4096), b'\n', &mut line)
        .map_err(|_| incomplete_body())?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\r\n") {
        return Err(incomplete_body());
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map(Some).map_err(|_| incomplete_body())
}

/// Decodes an aws-chunked body from `r` into `w` as it is read (chunk signatures checked when
/// it is signed), and returns its trailing headers. `declared` is x-amz-decoded-content-length.
pub fn decode_chunked(
    r: &mut impl std::io::BufRead,
    w: &mut impl std::io::Write,
    mut signer: Option<ChunkSigner>,
    declared: Option<Option<u64>>,
) -> Result<Vec<(String, String)>, AwsError> {
    let mut total = 0u64;
    loop {
        let line = framing_line(r)?.ok_or_else(incomplete_body)?;
        let (size_hex, ext) = match line.split_once(';') {
            Some((s, e)) => (s, Some(e)),
            None => (line.as_str(), None),
        };
        let size = u64::from_str_radix(size_hex.trim(), 16).map_err(|_| incomplete_body())?;
        let mut hash = signer.as_ref().map(|_| Sha256::new());
        let mut left = size;
        while left > 0 {
            let buf = r.fill_buf().map_err(|_| incomplete_body())?;
            if buf.is_empty() {
                return Err(incomplete_body());
            }
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            if let Some(h) = hash.as_mut() {
                h.update(&buf[..n]);
            }
            w.write_all(&buf[..n]).map_err(AwsError::internal)?;
            r.consume(n);
            left -= n as u64;
        }
        if let (Some(s), Some(h)) = (signer.as_mut(), hash) {
            let sig = ext.and_then(|e| e.trim().strip_prefix("chunk-signature=")).ok_or_else(incomplete_body)?;
            s.check(&hex::encode(h.finalize()), sig)?;
        }
        total += size;
        if size == 0 {
            break;
        }
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf).map_err(|_| incomplete_body())?;
        if &crlf != b"\r\n" {
            return Err(incomplete_body());
        }
    }
    let mut trailers = Vec::new();
    while let Some(line) = framing_line(r)? {
        if line.is_empty() {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k != "x-amz-trailer-signature" {
                trailers.push((k, v.trim().to_string()));
            }
        }
    }
    if let Some(declared) = declared {
        if declared != Some(total) {
            return Err(incomplete_body());
        }
    }
    Ok(trailers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of AWS's SigV4 documentation (GET object with a Range header).
    #[test]
    fn aws_documented_example_signature() {
        let key = signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3");
        let creq = "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let sts = format!(
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        );
        assert_eq!(
            hex::encode(hmac(&key, sts.as_bytes())),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn canonical_query_sorts_and_encodes() {
        assert_eq!(canonical_query("b=2&a=x%20y&c", false), "a=x%20y&b=2&c=");
        assert_eq!(uri_encode("a b/c*", true), "a%20b/c%2A");
    }

    #[test]
    fn unsigned_trailer_body_decodes() {
        let body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";
        let mut out = Vec::new();
        let t = decode_chunked(&mut &body[..], &mut out, None, Some(Some(5))).unwrap();
        assert_eq!(&out[..], b"hello");
        assert_eq!(t, vec![("x-amz-checksum-crc32".to_string(), "NhCmhg==".to_string())]);
        // Cut short, or longer than declared: refused.
        let cut = b"5\r\nhel";
        assert!(decode_chunked(&mut &cut[..], &mut Vec::new(), None, None).is_err());
        assert!(decode_chunked(&mut &body[..], &mut Vec::new(), None, Some(Some(4))).is_err());
    }

    /// Temporary credentials: the token must match, and they stop working at expiry.
    #[test]
    fn session_credentials_need_their_token_and_expire() {
        let ids = Identities::new(&Default::default());
        let root = ids.credential("test").unwrap().principal;
        ids.put_credential(
            "ASIATEMP",
            Credential {
                secret: "s".into(),
                principal: root,
                session_token: Some("tok".into()),
                expires_at: Some(1_000),
                active: true,
            },
        );
        let headers = vec![];
        let at = |now| SignedRequest {
            method: "GET",
            raw_path: "/",
            raw_query: "",
            headers: &headers,
            body: Bytes::new(),
            spooled: false,
            s3_path_rules: true,
            now,
        };
        assert!(lookup(&ids, "ASIATEMP", &at(999), Some("tok")).is_ok());
        assert_eq!(lookup(&ids, "ASIATEMP", &at(999), Some("forged")).unwrap_err().code, "InvalidToken");
        assert_eq!(lookup(&ids, "ASIATEMP", &at(999), None).unwrap_err().code, "InvalidToken");
        assert_eq!(lookup(&ids, "ASIATEMP", &at(1_001), Some("tok")).unwrap_err().code, "ExpiredToken");
        assert_eq!(lookup(&ids, "NOPE", &at(0), None).unwrap_err().code, "InvalidAccessKeyId");
    }
}
