//! Server access logging: PutBucketLogging and GetBucketLogging; a record, in S3's access-log
//! format, for every request to a logged bucket; and their delivery, every interval, as log
//! objects written to the target bucket by the logging service principal
//! (`logging.s3.amazonaws.com`), authorised by the target's bucket policy or its LogDelivery
//! ACL grant, exactly as S3's own deliveries are.
use crate::bucket::update_bucket;
use crate::error::S3Error;
use crate::meta::{Bucket, BUCKETS};
use crate::S3Service;
use nuage_core::{AwsError, AwsResult, Principal, PrincipalKind, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::{s3 as m, HttpResponse};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use time::OffsetDateTime;

pub const LOGGING_SERVICE: &str = "logging.s3.amazonaws.com";
/// A key in the log is URL-encoded: all but the unreserved characters and `/`.
const KEY_ENCODING: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// Which buckets are logged, and the records waiting for delivery.
#[derive(Default)]
pub struct AccessLogs {
    logged: RwLock<HashSet<String>>,
    /// Per source bucket: (event time, record).
    pending: Mutex<HashMap<String, Vec<(OffsetDateTime, String)>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AccessLogs {
    /// The buckets logged according to the store (at start-up, after a reset).
    pub fn load(&self, buckets: impl Iterator<Item = Bucket>) {
        let set = buckets.filter(|b| b.logging.is_some()).map(|b| b.name).collect();
        *self.logged.write().unwrap_or_else(|e| e.into_inner()) = set;
        lock(&self.pending).clear();
    }

    fn set(&self, bucket: &str, on: bool) {
        let mut s = self.logged.write().unwrap_or_else(|e| e.into_inner());
        if on {
            s.insert(bucket.to_string());
        } else {
            s.remove(bucket);
        }
    }

    /// Whether any bucket is logged: most requests stop here.
    fn any(&self) -> bool {
        !self.logged.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    fn is_logged(&self, bucket: &str) -> bool {
        self.logged.read().unwrap_or_else(|e| e.into_inner()).contains(bucket)
    }

    fn take(&self) -> HashMap<String, Vec<(OffsetDateTime, String)>> {
        std::mem::take(&mut *lock(&self.pending))
    }
}

fn invalid_target(msg: &str) -> AwsError {
    AwsError::new("InvalidTargetBucketForLogging", 400, msg.to_string())
}

/// Whether a bucket's ACLs grant the log-delivery group what delivery needs.
fn grants_log_delivery(b: &Bucket) -> bool {
    let has = |perm: &str| {
        b.grants.iter().any(|g| {
            g.grantee.as_ref().is_some_and(|e| e.uri.as_deref() == Some(LOG_DELIVERY))
                && matches!(g.permission.as_deref(), Some(p) if p == perm || p == "FULL_CONTROL")
        })
    };
    has("WRITE") && has("READ_ACP")
}

fn enforced(b: &Bucket) -> bool {
    b.ownership
        .as_ref()
        .and_then(|o| o.rules.as_ref())
        .and_then(|r| r.first())
        .and_then(|r| r.object_ownership.as_deref())
        == Some("BucketOwnerEnforced")
}

pub async fn put_bucket_logging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::PutBucketLoggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<()> {
    let name = input.bucket.clone().unwrap_or_default();
    let source = svc.bucket(&name)?;
    let status = input.bucket_logging_status.ok_or(S3Error::MalformedXml)?;
    if let Some(le) = &status.logging_enabled {
        let target_name = le.target_bucket.clone().ok_or(S3Error::MalformedXml)?;
        let target =
            svc.bucket(&target_name).map_err(|_| invalid_target("The target bucket for logging does not exist"))?;
        if target.owner.account_id != source.owner.account_id {
            return Err(invalid_target(
                "The owner for the bucket to be logged and the target bucket must be the same.",
            ));
        }
        if target.region != source.region {
            return Err(invalid_target(
                "The target bucket for logging must be in the same region as the source bucket.",
            ));
        }
        let grants = le.target_grants.as_ref().is_some_and(|g| !g.is_empty());
        if grants && enforced(&target) {
            return Err(invalid_target(
                "Target grants are not supported when the target bucket uses the bucket owner enforced setting for Object Ownership.",
            ));
        }
        // A bucket that still uses ACLs must let the log-delivery group write, unless a bucket
        // policy grants the logging service.
        if !enforced(&target) && !grants_log_delivery(&target) && target.policy.is_none() {
            return Err(invalid_target(
                "You must give the log-delivery group WRITE and READ_ACP permissions to the target bucket",
            ));
        }
        if let Some(f) = &le.target_object_key_format {
            if f.simple_prefix.is_some() && f.partitioned_prefix.is_some() {
                return Err(S3Error::MalformedXml.into());
            }
        }
    }
    let enabled = status.logging_enabled.clone();
    let on = enabled.is_some();
    update_bucket(svc, Some(name.clone()), move |b| {
        b.logging = enabled;
        Ok(())
    })
    .await?;
    svc.access_logs.set(&name, on);
    Ok(())
}

pub async fn get_bucket_logging(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::GetBucketLoggingRequest,
    _req: &ServiceRequest,
) -> AwsResult<m::GetBucketLoggingOutput> {
    let b = svc.bucket(&input.bucket.unwrap_or_default())?;
    Ok(m::GetBucketLoggingOutput { logging_enabled: b.logging })
}

/// S3's operation name for the log: `REST.<METHOD>.<RESOURCE>`.
fn operation_name(operation: &str, method: &str, req: &ServiceRequest, has_key: bool) -> String {
    let sub = |q: &str| req.query.iter().any(|(k, _)| k == q);
    let resource = match operation {
        "CopyObject" => return "REST.COPY.OBJECT".into(),
        "UploadPartCopy" => return "REST.COPY.PART".into(),
        "DeleteObjects" => return "REST.POST.MULTI_OBJECT_DELETE".into(),
        "CreateMultipartUpload" | "ListMultipartUploads" => "UPLOADS",
        "UploadPart" => "PART",
        "CompleteMultipartUpload" | "AbortMultipartUpload" | "ListParts" => "UPLOAD",
        _ if sub("versioning") => "VERSIONING",
        _ if sub("acl") => "ACL",
        _ if sub("policy") => "BUCKETPOLICY",
        _ if sub("tagging") && has_key => "OBJECT_TAGGING",
        _ if sub("tagging") => "TAGGING",
        _ if sub("lifecycle") => "LIFECYCLE",
        _ if sub("cors") => "CORS",
        _ if sub("encryption") => "ENCRYPTION",
        _ if sub("logging") => "LOGGING_STATUS",
        _ if sub("location") => "LOCATION",
        _ if sub("versions") => "BUCKETVERSIONS",
        _ if has_key => "OBJECT",
        _ if operation == "ListBuckets" => "SERVICE",
        _ => "BUCKET",
    };
    format!("REST.{method}.{resource}")
}

fn dash(s: Option<String>) -> String {
    s.filter(|v| !v.is_empty()).unwrap_or_else(|| "-".into())
}

fn quoted(s: Option<&str>) -> String {
    format!("\"{}\"", s.filter(|v| !v.is_empty()).unwrap_or("-").replace('"', "\\\""))
}

impl S3Service {
    /// Records a request to a logged bucket, as S3 writes it in the access log.
    pub(crate) fn record_access(
        &self,
        ctx: &RequestContext,
        req: &ServiceRequest,
        operation: &'static str,
        resp: &HttpResponse,
        elapsed: std::time::Duration,
    ) {
        if !self.access_logs.any() {
            return;
        }
        let Some((bucket, key)) = self.addressed(req) else { return };
        if !self.access_logs.is_logged(&bucket) {
            return;
        }
        // The deliveries themselves are not logged (a bucket may log into itself).
        if ctx.principal.as_ref().is_some_and(|p| p.kind == PrincipalKind::Service && p.name == LOGGING_SERVICE) {
            return;
        }
        let Ok(Some(b)) = self.store.read().and_then(|r| r.get::<Bucket>(BUCKETS, &bucket)) else { return };
        // A bucket deleted (and perhaps made again) since logging was set.
        if b.logging.is_none() {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let time = now
            .format(time::macros::format_description!(
                "[[[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000]"
            ))
            .unwrap_or_default();
        let header =
            |name: &str| resp.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        let req_header = |name: &str| req.header(name).map(str::to_string);
        let error_code = if resp.status >= 300 {
            header("x-amz-error-code").or_else(|| {
                let body = resp.body.as_ref();
                let text = std::str::from_utf8(body).ok()?;
                let start = text.find("<Code>")? + 6;
                Some(text[start..start + text[start..].find("</Code>")?].to_string())
            })
        } else {
            None
        };
        let sent = resp.stream.as_ref().map_or(resp.body.len() as u64, |s| s.len());
        // The object's whole size: what was uploaded, or what a read found.
        let object_size = match (key.is_some(), req.method.as_str()) {
            (true, "PUT") if resp.status < 300 => {
                req_header("x-amz-decoded-content-length").or_else(|| req_header("content-length"))
            }
            (true, "GET" | "HEAD") if resp.status < 300 => header("content-range")
                .and_then(|r| r.rsplit('/').next().map(str::to_string))
                .or_else(|| header("content-length")),
            _ => None,
        };
        let requester = match &ctx.principal {
            None => "-".to_string(),
            Some(p) if p.kind == PrincipalKind::Root => p.canonical_id.clone(),
            Some(p) => p.arn.clone(),
        };
        let query = req.query.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") });
        let query: Vec<String> = query.collect();
        let uri = if query.is_empty() { req.raw_path.clone() } else { format!("{}?{}", req.raw_path, query.join("&")) };
        let signature = match ctx.principal {
            None => "-",
            Some(_) if req.header("authorization").is_some_and(|a| a.starts_with("AWS ")) => "SigV2",
            Some(_) => "SigV4",
        };
        let auth = match (ctx.principal.is_some(), ctx.auth_type) {
            (false, _) => "-",
            (true, "REST-QUERY-STRING") => "QueryString",
            (true, _) => "AuthHeader",
        };
        let ms = elapsed.as_millis();
        let fields = [
            b.owner.canonical_id.clone(),
            bucket.clone(),
            time,
            ctx.source_ip.to_string(),
            requester,
            ctx.request_id.clone(),
            operation_name(operation, &req.method, req, key.is_some()),
            dash(key.map(|k| percent_encoding::utf8_percent_encode(&k, KEY_ENCODING).to_string())),
            quoted(Some(&format!("{} {uri} HTTP/1.1", req.method))),
            resp.status.to_string(),
            dash(error_code),
            if sent == 0 { "-".into() } else { sent.to_string() },
            dash(object_size),
            ms.to_string(),
            ms.to_string(),
            quoted(req_header("referer").as_deref()),
            quoted(req_header("user-agent").as_deref()),
            dash(header("x-amz-version-id")),
            dash(header("x-amz-id-2")),
            signature.to_string(),
            "-".into(),
            auth.to_string(),
            dash(Some(req.host.clone())),
            "-".into(),
            "-".into(),
            "-".into(),
        ];
        lock(&self.access_logs.pending).entry(bucket).or_default().push((now, fields.join(" ")));
    }

    /// Delivers the records gathered so far, then again every `interval`.
    pub async fn run_access_log_delivery(self: std::sync::Arc<Self>, interval: std::time::Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.deliver_access_logs().await;
        }
    }

    /// Writes each logged bucket's records as log objects into its target bucket.
    pub async fn deliver_access_logs(&self) {
        let Ok(frontend) = self.internal.frontend() else { return };
        for (source, records) in self.access_logs.take() {
            let Ok(Some(b)) = self.store.read().and_then(|r| r.get::<Bucket>(BUCKETS, &source)) else { continue };
            let Some(le) = b.logging.clone() else { continue };
            let target = le.target_bucket.clone().unwrap_or_default();
            let delivery = OffsetDateTime::now_utc();
            let event_time = le
                .target_object_key_format
                .as_ref()
                .and_then(|f| f.partitioned_prefix.as_ref())
                .is_some_and(|p| p.partition_date_source.as_deref() != Some("DeliveryTime"));
            // EventTime partitions hold one day each: the day the requests were made.
            let mut by_object: Vec<(OffsetDateTime, Vec<String>)> = Vec::new();
            for (at, line) in records {
                let when = if event_time { at.replace_time(time::Time::MIDNIGHT) } else { delivery };
                match by_object.iter_mut().find(|(w, _)| *w == when) {
                    Some((_, lines)) => lines.push(line),
                    None => by_object.push((when, vec![line])),
                }
            }
            for (when, lines) in by_object {
                let key = log_key(&le, &b, &source, when);
                let mut body = lines.join("\n");
                body.push('\n');
                let mut put = m::PutObjectRequest {
                    bucket: Some(target.clone()),
                    key: Some(key.clone()),
                    body: Some(body.into_bytes().into()),
                    content_type: Some("text/plain".into()),
                    ..Default::default()
                };
                // A bucket without ACLs (bucket owner enforced) owns its log objects outright.
                let target_acls = self
                    .store
                    .read()
                    .ok()
                    .and_then(|r| r.get::<Bucket>(BUCKETS, &target).ok().flatten())
                    .is_some_and(|t| !enforced(&t));
                if target_acls {
                    apply_target_grants(&mut put, &le, &b);
                }
                let mut by = Principal::service_for(LOGGING_SERVICE, &format!("arn:aws:s3:::{source}"));
                by.source_account = Some(b.owner.account_id.clone());
                if let Err(e) = frontend.call(by, &b.region, put).await {
                    tracing::warn!(source = %source, target = %target, key = %key, error = %e, "access log delivery refused");
                }
            }
        }
    }
}

/// `[prefix][YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[unique]`, or the partitioned form
/// `[prefix][account]/[region]/[bucket]/[YYYY]/[MM]/[DD]/[YYYY]-[MM]-[DD]-[hh]-[mm]-[ss]-[unique]`.
fn log_key(le: &m::LoggingEnabled, b: &Bucket, source: &str, when: OffsetDateTime) -> String {
    let prefix = le.target_prefix.clone().unwrap_or_default();
    let stamp = format!(
        "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
        when.year(),
        when.month() as u8,
        when.day(),
        when.hour(),
        when.minute(),
        when.second()
    );
    let unique = uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase();
    let partitioned = le.target_object_key_format.as_ref().is_some_and(|f| f.partitioned_prefix.is_some());
    if partitioned {
        format!(
            "{prefix}{}/{}/{source}/{:04}/{:02}/{:02}/{stamp}-{unique}",
            b.owner.account_id,
            b.region,
            when.year(),
            when.month() as u8,
            when.day()
        )
    } else {
        format!("{prefix}{stamp}-{unique}")
    }
}

/// TargetGrants become the log objects' ACL grants.
fn apply_target_grants(put: &mut m::PutObjectRequest, le: &m::LoggingEnabled, b: &Bucket) {
    let mut by_perm: HashMap<&str, Vec<String>> = HashMap::new();
    for g in le.target_grants.iter().flatten() {
        let Some(e) = &g.grantee else { continue };
        let who = match (e.id.as_deref(), e.uri.as_deref(), e.email_address.as_deref()) {
            (Some(id), _, _) => format!("id=\"{id}\""),
            (_, Some(uri), _) => format!("uri=\"{uri}\""),
            (_, _, Some(mail)) => format!("emailAddress=\"{mail}\""),
            _ => continue,
        };
        by_perm.entry(g.permission.as_deref().unwrap_or("READ")).or_default().push(who);
    }
    let join = |p: &str| by_perm.get(p).map(|v| v.join(", "));
    put.grant_read = join("READ");
    put.grant_write_acp = join("WRITE");
    // The bucket owner keeps full control of the log objects, with any grantee given it.
    let owner = format!("id=\"{}\"", b.owner.canonical_id);
    put.grant_full_control = Some(match join("FULL_CONTROL") {
        Some(g) => format!("{owner}, {g}"),
        None => owner,
    });
}
