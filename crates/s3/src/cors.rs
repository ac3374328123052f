//! CORS: preflight (OPTIONS) answers and the headers actual cross-origin requests receive,
//! both decided by the bucket's CORS rules.
use crate::meta::{Bucket, BUCKETS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, HttpResponse};

/// `*` matches anything; one `*` inside a pattern matches any run of characters there.
fn wildcard(pattern: &str, value: &str, case_insensitive: bool) -> bool {
    let (p, v) = if case_insensitive {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_string(), value.to_string())
    };
    match p.split_once('*') {
        None => p == v,
        Some((pre, post)) => v.len() >= pre.len() + post.len() && v.starts_with(pre) && v.ends_with(post),
    }
}

fn matching_rule<'a>(
    cors: &'a m::CORSConfiguration,
    origin: &str,
    method: &str,
    headers: &[String],
) -> Option<&'a m::CORSRule> {
    cors.cors_rules.as_ref()?.iter().find(|r| {
        r.allowed_origins.iter().flatten().any(|o| wildcard(o, origin, false))
            && r.allowed_methods.iter().flatten().any(|m| m == method)
            && headers.iter().all(|h| r.allowed_headers.iter().flatten().any(|a| wildcard(a, h, true)))
    })
}

fn apply(resp: &mut HttpResponse, rule: &m::CORSRule, origin: &str, request_headers: &[String]) {
    let any_origin = rule.allowed_origins.iter().flatten().any(|o| o == "*");
    resp.headers.push(("access-control-allow-origin".into(), if any_origin { "*".into() } else { origin.to_string() }));
    resp.headers
        .push(("access-control-allow-methods".into(), rule.allowed_methods.clone().unwrap_or_default().join(", ")));
    if !request_headers.is_empty() {
        resp.headers.push(("access-control-allow-headers".into(), request_headers.join(", ")));
    }
    if let Some(exp) = rule.expose_headers.as_ref().filter(|e| !e.is_empty()) {
        resp.headers.push(("access-control-expose-headers".into(), exp.join(", ")));
    }
    if let Some(age) = rule.max_age_seconds {
        resp.headers.push(("access-control-max-age".into(), age.to_string()));
    }
    resp.headers.push(("vary".into(), "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".into()));
}

fn bucket_cors(svc: &S3Service, bucket: &str) -> Option<m::CORSConfiguration> {
    svc.store.read().ok()?.get::<Bucket>(BUCKETS, bucket).ok()??.cors
}

/// Answers an OPTIONS preflight request.
pub fn preflight(svc: &S3Service, req: &ServiceRequest, bucket: &str) -> AwsResult<HttpResponse> {
    let bad = |msg: &str| AwsError::new("BadRequest", 400, msg.to_string());
    let origin = req.header("origin").ok_or_else(|| bad("Insufficient information. Origin request header needed."))?;
    let method = req
        .header("access-control-request-method")
        .ok_or_else(|| bad("Invalid Access-Control-Request-Method: null"))?;
    let headers: Vec<String> = req
        .header("access-control-request-headers")
        .map(|h| h.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let forbidden = || {
        AwsError::new("AccessForbidden", 403, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
        .with("Method", method.to_string())
        .with("ResourceType", "OBJECT")
    };
    let cors = match svc.bucket(bucket) {
        Ok(b) => b.cors.ok_or_else(|| {
            AwsError::new("AccessForbidden", 403, "CORSResponse: CORS is not enabled for this bucket.")
                .with("Method", method.to_string())
                .with("ResourceType", "BUCKET")
        })?,
        Err(e) => return Err(e),
    };
    let rule = matching_rule(&cors, origin, method, &headers).ok_or_else(forbidden)?;
    let mut resp = HttpResponse { status: 200, ..Default::default() };
    apply(&mut resp, rule, origin, &headers);
    Ok(resp)
}

/// Adds CORS headers to the answer of an actual request that carries an Origin.
pub fn decorate(svc: &S3Service, req: &ServiceRequest, bucket: Option<&str>, resp: &mut HttpResponse) {
    if req.method == "OPTIONS" {
        return;
    }
    let (Some(origin), Some(bucket)) = (req.header("origin"), bucket) else { return };
    let Some(cors) = bucket_cors(svc, bucket) else { return };
    let method = req.header("access-control-request-method").unwrap_or(&req.method);
    if let Some(rule) = matching_rule(&cors, origin, method, &[]) {
        apply(resp, rule, origin, &[]);
    }
}
