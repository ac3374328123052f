//! Static website hosting: Put/Get/DeleteBucketWebsite, and the website endpoint. A request
//! whose host is `<bucket>.s3-website-<region>.amazonaws.com`, `<bucket>.s3-website.<region>.
//! amazonaws.com` or `<bucket>.s3-website.localhost` is answered as S3's website endpoint
//! answers it: anonymous GET and HEAD only, index documents for folders, the error document
//! for errors, redirect rules and object redirects, errors as HTML pages. Each object read is
//! authorised for the anonymous caller exactly as a REST GetObject would be, so the site
//! shows what its bucket policy or ACLs make public.
use crate::bucket::update_bucket;
use crate::error::S3Error;
use crate::routes::ROUTES;
use crate::{Addressed, S3Service};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, HttpResponse};

/// The bucket a website-endpoint host names, if it is one.
pub fn website_bucket(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let host = host.split(':').next().unwrap_or_default();
    let (bucket, rest) = host.split_once(".s3-website")?;
    let endpoint = rest.starts_with('-') || rest.starts_with('.');
    (endpoint && !bucket.is_empty()).then(|| bucket.to_string())
}

fn invalid(msg: &str) -> AwsError {
    S3Error::InvalidArgument(msg.to_string(), None).into()
}

/// Checks a website configuration as S3 does.
fn check(w: &m::WebsiteConfiguration) -> AwsResult<()> {
    if w.redirect_all_requests_to.is_some() {
        if w.index_document.is_some() || w.error_document.is_some() || w.routing_rules.is_some() {
            return Err(invalid("RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules."));
        }
        if w.redirect_all_requests_to.as_ref().and_then(|r| r.host_name.as_deref()).is_none_or(str::is_empty) {
            return Err(invalid("RedirectAllRequestsTo must name a HostName."));
        }
        return Ok(());
    }
    let suffix = w.index_document.as_ref().and_then(|i| i.suffix.as_deref()).ok_or_else(|| {
        invalid("A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty")
    })?;
    if suffix.is_empty() || suffix.contains('/') {
        return Err(invalid("The IndexDocument Suffix is not well formed"));
    }
    if w.error_document.as_ref().is_some_and(|e| e.key.as_deref().is_none_or(str::is_empty)) {
        return Err(invalid("The ErrorDocument Key is not well formed"));
    }
    let rules = w.routing_rules.as_deref().unwrap_or_default();
    if rules.len() > 50 {
        return Err(invalid("A website configuration can have at most 50 routing rules."));
    }
    for r in rules {
        let redirect = r.redirect.as_ref().ok_or_else(|| invalid("A RoutingRule must have a Redirect."))?;
        if redirect.replace_key_prefix_with.is_some() && redirect.replace_key_with.is_some() {
            return Err(invalid("You can only define ReplaceKeyPrefix or ReplaceKey but not both."));
        }
        if let Some(code) = &redirect.http_redirect_code {
            if !matches!(code.parse::<u16>(), Ok(300..=399)) {
                return Err(invalid(&format!("The provided HTTP redirect code ({code}) is not valid.")));
            }
        }
        if let Some(code) = r.condition.as_ref().and_then(|c| c.http_error_code_returned_equals.as_deref()) {
            if !matches!(code.parse::<u16>(), Ok(400..=599)) {
                return Err(invalid(&format!("The provided HTTP error code ({code}) is not valid.")));
            }
        }
    }
    Ok(())
}

pub async fn put_bucket_website(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketWebsiteRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let w = input.website_configuration.ok_or(S3Error::MalformedXml)?;
    check(&w)?;
    update_bucket(svc, input.bucket, |b| {
        b.website = Some(w);
        Ok(())
    })
    .await
}

pub async fn get_bucket_website(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketWebsiteRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketWebsiteOutput> {
    let name = input.bucket.unwrap_or_default();
    let w = svc.bucket(&name)?.website.ok_or_else(|| no_website(&name))?;
    Ok(m::GetBucketWebsiteOutput {
        redirect_all_requests_to: w.redirect_all_requests_to,
        index_document: w.index_document,
        error_document: w.error_document,
        routing_rules: w.routing_rules,
    })
}

pub async fn delete_bucket_website(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::DeleteBucketWebsiteRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    update_bucket(svc, input.bucket, |b| {
        b.website = None;
        Ok(())
    })
    .await
}

fn no_website(bucket: &str) -> AwsError {
    AwsError::new("NoSuchWebsiteConfiguration", 404, "The specified bucket does not have a website configuration")
        .with("BucketName", bucket.to_string())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// S3's HTML error page.
fn error_page(e: &AwsError, head: bool) -> HttpResponse {
    let reason = match e.status {
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    };
    let mut items = format!("<li>Code: {}</li>\n<li>Message: {}</li>\n", html_escape(&e.code), html_escape(&e.message));
    for (k, v) in &e.fields {
        items.push_str(&format!("<li>{k}: {}</li>\n", html_escape(v)));
    }
    let body = format!(
        "<html>\n<head><title>{status} {reason}</title></head>\n<body>\n<h1>{status} {reason}</h1>\n<ul>\n{items}</ul>\n<hr/>\n</body>\n</html>\n",
        status = e.status
    );
    HttpResponse {
        status: e.status,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: if head { Default::default() } else { body.into() },
        stream: None,
    }
}

fn redirect(status: u16, location: String) -> HttpResponse {
    HttpResponse { status, headers: vec![("location".into(), location)], body: Default::default(), stream: None }
}

/// Where a routing rule sends a request for `key`.
fn rule_location(r: &m::Redirect, prefix: Option<&str>, key: &str, host: &str) -> (u16, String) {
    let protocol = r.protocol.as_deref().unwrap_or("http");
    let host = r.host_name.as_deref().unwrap_or(host);
    let new_key = match (&r.replace_key_with, &r.replace_key_prefix_with) {
        (Some(k), _) => k.clone(),
        (None, Some(p)) => format!("{p}{}", key.strip_prefix(prefix.unwrap_or_default()).unwrap_or(key)),
        (None, None) => key.to_string(),
    };
    let status = r.http_redirect_code.as_deref().and_then(|c| c.parse().ok()).unwrap_or(301);
    (status, format!("{protocol}://{host}/{new_key}"))
}

/// The first rule matching `key` (and, for an error, its status), with the redirect it makes.
fn matching_rule(w: &m::WebsiteConfiguration, key: &str, error: Option<u16>, host: &str) -> Option<HttpResponse> {
    w.routing_rules.iter().flatten().find_map(|r| {
        let c = r.condition.as_ref();
        let prefix = c.and_then(|c| c.key_prefix_equals.as_deref());
        let on_error = c.and_then(|c| c.http_error_code_returned_equals.as_deref());
        let prefix_ok = prefix.is_none_or(|p| key.starts_with(p));
        let error_ok = match (on_error, error) {
            (None, None) => true,
            (Some(code), Some(status)) => code == status.to_string(),
            _ => false,
        };
        (prefix_ok && error_ok).then(|| {
            let (status, location) = rule_location(r.redirect.as_ref()?, prefix, key, host);
            Some(redirect(status, location))
        })?
    })
}

/// Reads an object for the anonymous website visitor, authorised as a REST GetObject.
async fn read(
    svc: &S3Service,
    ctx: &RequestContext,
    req: &ServiceRequest,
    bucket: &str,
    key: &str,
) -> AwsResult<(m::GetObjectOutput, nuage_protocol::Streamed)> {
    let route = ROUTES.iter().find(|r| r.name == "GetObject").expect("GetObject is routed");
    let addressed = Addressed { bucket: Some(bucket.to_string()), key: Some(key.to_string()) };
    let authorization = svc.authorization_of(ctx, route, req, &addressed, None);
    let frontend = svc.internal.frontend()?;
    frontend.permits(ctx, &authorization).map_err(|_| AwsError::new("AccessDenied", 403, "Access Denied"))?;
    let input = m::GetObjectRequest { bucket: Some(bucket.into()), key: Some(key.into()), ..Default::default() };
    crate::object::get_object(svc, ctx, input, req).await
}

fn object_response(out: m::GetObjectOutput, body: nuage_protocol::Streamed, status: u16, head: bool) -> HttpResponse {
    let mut headers = vec![
        ("content-type".to_string(), out.content_type.unwrap_or_else(|| "binary/octet-stream".into())),
        ("content-length".to_string(), body.len().to_string()),
    ];
    if let Some(e) = out.e_tag {
        headers.push(("etag".into(), e));
    }
    if let Some(t) = out.last_modified {
        headers.push(("last-modified".into(), nuage_protocol::time_fmt::http_date(t)));
    }
    HttpResponse { status, headers, body: Default::default(), stream: (!head).then_some(body) }
}

/// Answers a request to the website endpoint of `bucket`.
pub async fn serve(
    svc: &S3Service,
    ctx: &RequestContext,
    req: &ServiceRequest,
    bucket: &str,
) -> AwsResult<HttpResponse> {
    let head = req.method == "HEAD";
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        let e = AwsError::new("MethodNotAllowed", 405, "The specified method is not allowed against this resource.")
            .with("Method", req.method.clone())
            .with("ResourceType", "OBJECT");
        return Ok(error_page(&e, head));
    }
    let b = match svc.bucket(bucket) {
        Ok(b) => b,
        Err(_) => {
            let e = AwsError::new("NoSuchBucket", 404, "The specified bucket does not exist")
                .with("BucketName", bucket.to_string());
            return Ok(error_page(&e, head));
        }
    };
    let Some(w) = b.website.clone() else { return Ok(error_page(&no_website(bucket), head)) };
    let host = req.host.clone();
    let path = req.raw_path.split('?').next().unwrap_or_default();
    let path =
        percent_encoding::percent_decode_str(path.strip_prefix('/').unwrap_or(path)).decode_utf8_lossy().into_owned();
    if let Some(all) = &w.redirect_all_requests_to {
        let protocol = all.protocol.as_deref().unwrap_or("http");
        let target = all.host_name.as_deref().unwrap_or_default();
        return Ok(redirect(301, format!("{protocol}://{target}/{path}")));
    }
    let suffix = w.index_document.as_ref().and_then(|i| i.suffix.clone()).unwrap_or_default();
    let key = if path.is_empty() || path.ends_with('/') { format!("{path}{suffix}") } else { path.clone() };
    if let Some(r) = matching_rule(&w, &path, None, &host) {
        return Ok(r);
    }
    let e = match read(svc, ctx, req, bucket, &key).await {
        Ok((out, body)) => {
            if let Some(location) = out.website_redirect_location.clone() {
                return Ok(redirect(301, location));
            }
            return Ok(object_response(out, body, 200, head));
        }
        Err(e) => e,
    };
    // A folder named without its slash: S3 redirects to the folder when its index exists.
    if e.status == 404
        && !path.is_empty()
        && !path.ends_with('/')
        && read(svc, ctx, req, bucket, &format!("{path}/{suffix}")).await.is_ok()
    {
        return Ok(redirect(302, format!("/{path}/")));
    }
    let e = match e.status {
        403 => AwsError::new("AccessDenied", 403, "Access Denied"),
        404 => AwsError::new("NoSuchKey", 404, "The specified key does not exist.").with("Key", key.clone()),
        _ => e,
    };
    if let Some(r) = matching_rule(&w, &path, Some(e.status), &host) {
        return Ok(r);
    }
    if let Some(doc) = w.error_document.as_ref().and_then(|d| d.key.clone()) {
        if let Ok((out, body)) = read(svc, ctx, req, bucket, &doc).await {
            return Ok(object_response(out, body, e.status, head));
        }
    }
    Ok(error_page(&e, head))
}
