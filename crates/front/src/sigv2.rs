//! AWS Signature Version 2 for S3 (HMAC-SHA1): the `Authorization: AWS key:sig` header and
//! presigned query strings (`AWSAccessKeyId`, `Expires`, `Signature`), which `aws s3 presign`
//! still produces.
use crate::sigv4::{parse_query, SignedRequest, Verified};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use nuage_core::identity::Identities;
use nuage_core::AwsError;

/// Query parameters that are part of the resource S3 signs.
const SUBRESOURCES: &[&str] = &[
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
];

fn string_to_sign(req: &SignedRequest, date: &str, resource_path: &str) -> String {
    let h = |n: &str| {
        req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.trim()).next().unwrap_or("")
    };
    let mut amz: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-amz-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    amz.sort();
    let mut merged: Vec<(String, String)> = Vec::new();
    for (k, v) in amz {
        match merged.last_mut() {
            Some((lk, lv)) if *lk == k => {
                lv.push(',');
                lv.push_str(&v);
            }
            _ => merged.push((k, v)),
        }
    }
    let mut sub: Vec<(String, String)> =
        parse_query(req.raw_query).into_iter().filter(|(k, _)| SUBRESOURCES.contains(&k.as_str())).collect();
    sub.sort();
    let mut resource = resource_path.to_string();
    if !sub.is_empty() {
        resource.push('?');
        let parts: Vec<String> =
            sub.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect();
        resource.push_str(&parts.join("&"));
    }
    let mut s = format!("{}\n{}\n{}\n{}\n", req.method, h("content-md5"), h("content-type"), date);
    for (k, v) in merged {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&resource);
    s
}

fn sign(secret: &str, sts: &str) -> String {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(sts.as_bytes());
    B64.encode(m.finalize().into_bytes())
}

/// The resources a v2 signature may have covered: the path as sent, and for a
/// virtual-hosted request the bucket from the host before it.
fn candidate_resources(req: &SignedRequest, host: &str) -> Vec<String> {
    let path = if req.raw_path.is_empty() { "/" } else { req.raw_path };
    let mut out = vec![path.to_string()];
    // botocore signs a bucket-level request as `/bucket/` while sending `/bucket`.
    if path.len() > 1 && !path[1..].contains('/') {
        out.push(format!("{path}/"));
    }
    if host.parse::<std::net::IpAddr>().is_err() && host != "localhost" {
        if let Some(b) = host.strip_suffix(".localhost").or_else(|| host.split_once(".s3.").map(|(b, _)| b)) {
            out.push(format!("/{}{}", b.strip_suffix(".s3").unwrap_or(b), path));
        }
    }
    out
}

fn mismatch(access_key: &str, sts: &str) -> AwsError {
    AwsError::new(
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    )
    .with("AWSAccessKeyId", access_key)
    .with("StringToSign", sts)
}

/// Verifies a v2 header signature (`Authorization: AWS key:signature`).
pub fn verify_header(ids: &Identities, req: &SignedRequest, auth: &str, host: &str) -> Result<Verified, AwsError> {
    let (ak, sig) = auth.strip_prefix("AWS ").and_then(|s| s.split_once(':')).ok_or_else(|| {
        AwsError::new("InvalidArgument", 400, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
    })?;
    let date_header = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"))
        .or_else(|| req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("date")));
    let Some((_, date_value)) = date_header else {
        return Err(AwsError::new(
            "AccessDenied",
            403,
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    let t = nuage_protocol::time_fmt::parse(date_value).ok_or_else(|| {
        AwsError::new("AccessDenied", 403, "AWS authentication requires a valid Date or x-amz-date header")
    })?;
    if (req.now - t.seconds()).abs() > 15 * 60 {
        return Err(AwsError::new(
            "RequestTimeTooSkewed",
            403,
            "The difference between the request time and the current time is too large.",
        ));
    }
    let token =
        req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amz-security-token")).map(|(_, v)| v.as_str());
    let cred = crate::sigv4::lookup(ids, ak, req, token)?;
    // With x-amz-date the Date line is signed empty (x-amz-date is among the amz headers).
    let has_amz_date = req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("x-amz-date"));
    let date_line = if has_amz_date { String::new() } else { date_value.trim().to_string() };
    let mut last = String::new();
    for resource in candidate_resources(req, host) {
        let sts = string_to_sign(req, &date_line, &resource);
        if sign(&cred.secret, &sts) == sig {
            return Ok(Verified {
                access_key: ak.to_string(),
                credential: cred,
                region: nuage_core::DEFAULT_REGION.into(),
                service: "s3".into(),
                presigned: false,
                body: req.body.clone(),
                check: crate::sigv4::PayloadCheck::None,
                trailers: Vec::new(),
            });
        }
        last = sts;
    }
    Err(mismatch(ak, &last))
}

/// Verifies a v2 presigned URL.
pub fn verify_query(ids: &Identities, req: &SignedRequest, host: &str) -> Result<Verified, AwsError> {
    let q = parse_query(req.raw_query);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let ak = get("AWSAccessKeyId").unwrap_or_default();
    let sig = get("Signature").unwrap_or_default();
    let expires = get("Expires").ok_or_else(|| {
        AwsError::new(
            "AccessDenied",
            403,
            "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters",
        )
    })?;
    let exp: i64 = expires
        .parse()
        .map_err(|_| AwsError::new("AccessDenied", 403, "Invalid date (should be seconds since epoch)"))?;
    if req.now > exp {
        return Err(AwsError::new("AccessDenied", 403, "Request has expired").with("Expires", expires.to_string()));
    }
    let cred = crate::sigv4::lookup(ids, ak, req, get("x-amz-security-token"))?;
    let mut last = String::new();
    for resource in candidate_resources(req, host) {
        let sts = string_to_sign(req, expires, &resource);
        if sign(&cred.secret, &sts) == sig {
            return Ok(Verified {
                access_key: ak.to_string(),
                credential: cred,
                region: nuage_core::DEFAULT_REGION.into(),
                service: "s3".into(),
                presigned: true,
                body: req.body.clone(),
                check: crate::sigv4::PayloadCheck::None,
                trailers: Vec::new(),
            });
        }
        last = sts;
    }
    Err(mismatch(ak, &last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET example of the S3 SigV2 documentation ("Authenticating REST requests").
    #[test]
    fn documented_example() {
        let headers = vec![("Date".to_string(), "Tue, 27 Mar 2007 19:36:42 +0000".to_string())];
        let req = SignedRequest {
            method: "GET",
            raw_path: "/awsexamplebucket1/photos/puppy.jpg",
            raw_query: "",
            headers: &headers,
            body: Default::default(),
            spooled: false,
            s3_path_rules: true,
            now: 0,
        };
        let sts = string_to_sign(&req, "Tue, 27 Mar 2007 19:36:42 +0000", "/awsexamplebucket1/photos/puppy.jpg");
        assert_eq!(sts, "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg");
        assert_eq!(sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &sts), "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=");
    }
}
