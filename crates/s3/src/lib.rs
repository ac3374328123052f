//! Amazon S3: buckets, objects, versions, multipart uploads, tagging, ACLs, on durable storage.

mod access_log;
mod acl;
mod bucket;
mod bucket_config;
mod checksum;
mod control;
mod cors;
mod error;
mod glacier_select;
mod inventory;
mod lifecycle;
mod list;
mod lock;
mod meta;
mod metrics;
mod multipart;
mod object;
mod payload;
mod policy;
mod post;
mod restore;
mod routes;
mod select;
mod sse;
mod website;

use error::S3Result;
use meta::{Bucket, Owner, BUCKETS};
use nuage_core::identity::Identities;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Authorization, PolicyStore, Routed, Service, ServiceRequest};
use nuage_protocol::{rest_xml, s3 as m, HttpRequest, HttpResponse, Model, Protocol};
use nuage_storage::Store;
use routes::{Target, ROUTES};
use std::sync::Arc;

pub const NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

pub struct S3Service {
    store: Store,
    ids: Arc<Identities>,
    model: &'static Model,
    router: routes::Router,
    /// Bucket policies, parsed once.
    policies: policy::PolicyCache,
    /// Who exists, for bucket policies that name principals.
    principals: Arc<dyn PolicyStore>,
    /// Server access logging: the logged buckets and their records awaiting delivery.
    access_logs: access_log::AccessLogs,
    marked: bucket_config::Marked,
    request_metrics: metrics::RequestMetrics,
    /// The front door, through which access logs are delivered as the logging service.
    internal: Arc<nuage_front::Internal>,
    /// How much faster than S3 a restore of an archived object completes.
    restore_speedup: f64,
}

/// The bucket and key a request addresses, from the host (virtual-hosted style) or the path.
pub(crate) struct Addressed {
    pub bucket: Option<String>,
    pub key: Option<String>,
}

fn address(req: &ServiceRequest) -> Addressed {
    let host = req.host.to_ascii_lowercase();
    let vhost_bucket = if host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" || host.starts_with("s3.") {
        None
    } else if let Some(b) = bucket_config::accelerate_bucket(&host) {
        Some(b)
    } else if let Some(b) = host.strip_suffix(".localhost") {
        Some(b.strip_suffix(".s3").unwrap_or(b).to_string())
    } else {
        host.split_once(".s3.")
            .map(|(b, _)| b.to_string())
            .or_else(|| host.strip_suffix(".s3.amazonaws.com").map(String::from))
    };
    let path = req.raw_path.strip_prefix('/').unwrap_or(&req.raw_path);
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    match vhost_bucket {
        Some(b) => Addressed { bucket: Some(b), key: (!path.is_empty()).then(|| decode(path)) },
        None => {
            let (b, k) = match path.split_once('/') {
                Some((b, k)) => (b, Some(k)),
                None => (path, None),
            };
            Addressed { bucket: (!b.is_empty()).then(|| decode(b)), key: k.filter(|k| !k.is_empty()).map(decode) }
        }
    }
}

impl S3Service {
    pub fn new(
        store: Store,
        ids: Arc<Identities>,
        principals: Arc<dyn PolicyStore>,
        internal: Arc<nuage_front::Internal>,
    ) -> S3Service {
        let model = m::model();
        let svc = S3Service {
            store,
            ids,
            model,
            router: routes::Router::new(model),
            policies: policy::PolicyCache::default(),
            principals,
            access_logs: access_log::AccessLogs::default(),
            marked: bucket_config::Marked::default(),
            request_metrics: metrics::RequestMetrics::default(),
            internal,
            restore_speedup: 60.0,
        };
        svc.load_marked_buckets();
        svc
    }

    /// Restores of archived objects complete `speedup` times faster than on S3.
    pub fn with_restore_speedup(mut self, speedup: f64) -> S3Service {
        self.restore_speedup = speedup.max(1.0);
        self
    }

    /// The buckets every request must check (logged, Requester Pays, notifying), from the store.
    fn load_marked_buckets(&self) {
        let buckets = self.store.read().and_then(|r| r.scan::<Bucket>(BUCKETS, "")).unwrap_or_default();
        let buckets: Vec<Bucket> = buckets.into_iter().map(|(_, b)| b).collect();
        self.marked.load(&buckets);
        self.request_metrics.load(&buckets);
        self.access_logs.load(buckets.into_iter());
    }

    /// The bucket and key a request addresses.
    pub(crate) fn addressed(&self, req: &ServiceRequest) -> Option<(String, Option<String>)> {
        let a = address(req);
        Some((a.bucket?, a.key))
    }

    /// Runs the lifecycle rules every `interval` until the process ends.
    pub async fn run_lifecycle(self: Arc<Self>, interval: std::time::Duration) {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            match lifecycle::run_once(&self, nuage_protocol::Timestamp::now().0).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "lifecycle pass"),
                Err(e) => tracing::warn!(error = %e, "lifecycle pass failed"),
            }
        }
    }

    pub(crate) fn bucket(&self, name: &str) -> S3Result<Bucket> {
        self.store.read()?.get(BUCKETS, name)?.ok_or_else(|| error::S3Error::NoSuchBucket(name.to_string()).into())
    }

    pub(crate) fn owner_of(ctx: &RequestContext) -> Owner {
        match &ctx.principal {
            Some(p) => Owner {
                account_id: p.account_id.clone(),
                canonical_id: p.canonical_id.clone(),
                display_name: p.display_name.clone(),
            },
            None => {
                Owner { account_id: String::new(), canonical_id: "anonymous".into(), display_name: "anonymous".into() }
            }
        }
    }

    fn parse<T: nuage_protocol::Shape + serde::de::DeserializeOwned>(
        &self,
        req: &ServiceRequest,
        a: &Addressed,
    ) -> AwsResult<T> {
        let mut labels: Vec<(&'static str, String)> = Vec::new();
        if let Some(b) = &a.bucket {
            labels.push(("Bucket", b.clone()));
        }
        if let Some(k) = &a.key {
            labels.push(("Key", k.clone()));
        }
        rest_xml::parse_request(
            self.model,
            &HttpRequest { labels: &labels, query: &req.query, headers: &req.headers, body: req.body.clone() },
        )
    }

    fn render<T: nuage_protocol::Shape + serde::Serialize>(&self, op: &str, out: T) -> HttpResponse {
        let root = ROUTES.iter().find(|r| r.name == op).map(|r| r.root).unwrap_or("");
        let mut resp = rest_xml::render_response(self.model, out, root, NAMESPACE);
        if let Some(code) = self.model.operations.get(op).and_then(|o| o.http.as_ref()).and_then(|h| h.response_code) {
            resp.status = code;
        }
        resp
    }

    fn empty(&self, op: &str) -> HttpResponse {
        let status =
            self.model.operations.get(op).and_then(|o| o.http.as_ref()).and_then(|h| h.response_code).unwrap_or(200);
        HttpResponse { status, ..Default::default() }
    }
}

/// Runs a typed handler: parse the input shape, call, render the output shape.
macro_rules! typed {
    ($svc:ident, $ctx:ident, $req:ident, $input:ident, $op:literal, $handler:path) => {{
        let out = $handler($svc, $ctx, $input, $req).await?;
        Ok($svc.render($op, out))
    }};
    ($svc:ident, $ctx:ident, $req:ident, $input:ident, $op:literal, $handler:path, empty) => {{
        $handler($svc, $ctx, $input, $req).await?;
        Ok($svc.empty($op))
    }};
}

/// Reads an S3 operation's typed input from the request, with the bucket and key it addresses.
struct S3Decoder<'a> {
    svc: &'a S3Service,
    req: &'a ServiceRequest,
    a: &'a Addressed,
}

impl nuage_protocol::Decode for S3Decoder<'_> {
    fn input<T: nuage_protocol::Shape + serde::de::DeserializeOwned>(&self, _operation: &'static str) -> AwsResult<T> {
        self.svc.parse(self.req, self.a)
    }
}

/// Query strings S3 refuses before routing: a parameter given twice is ambiguous (which
/// `versionId` would a delete remove?), and ListObjects has only list types 1 and 2.
fn check_query(req: &ServiceRequest, a: &Addressed) -> AwsResult<()> {
    for (i, (k, _)) in req.query.iter().enumerate() {
        if req.query[..i].iter().any(|(prev, _)| prev == k) {
            return Err(AwsError::new(
                "InvalidArgument",
                400,
                format!("The query parameter {k} was given more than once."),
            )
            .with("ArgumentName", k.clone()));
        }
    }
    if req.method == "GET" && a.bucket.is_some() && a.key.is_none() {
        if let Some(t) = req.query_param("list-type").filter(|t| *t != "2") {
            return Err(AwsError::new("InvalidArgument", 400, "Invalid List Type specified.")
                .with("ArgumentName", "list-type")
                .with("ArgumentValue", t.to_string()));
        }
    }
    Ok(())
}

impl S3Service {
    #[deny(clippy::wildcard_enum_match_arm)]
    async fn run(
        &self,
        name: &'static str,
        ctx: &RequestContext,
        req: &ServiceRequest,
        a: Addressed,
    ) -> AwsResult<HttpResponse> {
        use m::ops::Operation as O;
        let s = self;
        // Only an object's body is large enough to have been spooled; any other body that
        // large is one S3 refuses.
        if req.spooled.is_some() && !matches!(name, "PutObject" | "UploadPart") {
            return Err(AwsError::new("MaxMessageLengthExceeded", 400, "Your request was too big."));
        }
        // The router only names operations of ROUTES; the rest answer NotImplemented.
        let decoder = S3Decoder { svc: s, req, a: &a };
        let op = match <O as nuage_protocol::Operation>::decode(name, &decoder) {
            Some(op) => op?,
            None => return Err(error::S3Error::NotImplemented(name.to_string()).into()),
        };
        match op {
            O::ListBuckets(input) => typed!(s, ctx, req, input, "ListBuckets", bucket::list_buckets),
            O::CreateBucket(input) => typed!(s, ctx, req, input, "CreateBucket", bucket::create_bucket),
            O::HeadBucket(input) => typed!(s, ctx, req, input, "HeadBucket", bucket::head_bucket),
            O::DeleteBucket(input) => typed!(s, ctx, req, input, "DeleteBucket", bucket::delete_bucket, empty),
            O::GetBucketLocation(input) => {
                let region = bucket::get_bucket_location(s, ctx, input, req).await?;
                Ok(rest_xml::render_text_root("LocationConstraint", NAMESPACE, region.as_deref()))
            }
            O::PutBucketTagging(input) => {
                typed!(s, ctx, req, input, "PutBucketTagging", bucket::put_bucket_tagging, empty)
            }
            O::GetBucketTagging(input) => typed!(s, ctx, req, input, "GetBucketTagging", bucket::get_bucket_tagging),
            O::DeleteBucketTagging(input) => {
                typed!(s, ctx, req, input, "DeleteBucketTagging", bucket::delete_bucket_tagging, empty)
            }
            O::RestoreObject(input) => {
                let (out, accepted) = restore::restore_object(s, ctx, input, req).await?;
                let mut resp = s.render("RestoreObject", out);
                if accepted {
                    resp.status = 202;
                }
                Ok(resp)
            }
            O::PutBucketLogging(input) => {
                typed!(s, ctx, req, input, "PutBucketLogging", access_log::put_bucket_logging, empty)
            }
            O::GetBucketLogging(input) => {
                typed!(s, ctx, req, input, "GetBucketLogging", access_log::get_bucket_logging)
            }
            O::PutBucketAccelerateConfiguration(input) => {
                typed!(s, ctx, req, input, "PutBucketAccelerateConfiguration", bucket_config::put_accelerate, empty)
            }
            O::GetBucketAccelerateConfiguration(input) => {
                typed!(s, ctx, req, input, "GetBucketAccelerateConfiguration", bucket_config::get_accelerate)
            }
            O::PutBucketRequestPayment(input) => {
                typed!(s, ctx, req, input, "PutBucketRequestPayment", bucket_config::put_request_payment, empty)
            }
            O::GetBucketRequestPayment(input) => {
                typed!(s, ctx, req, input, "GetBucketRequestPayment", bucket_config::get_request_payment)
            }
            O::PutBucketNotificationConfiguration(input) => {
                typed!(s, ctx, req, input, "PutBucketNotificationConfiguration", bucket_config::put_notification, empty)
            }
            O::GetBucketNotificationConfiguration(input) => {
                typed!(s, ctx, req, input, "GetBucketNotificationConfiguration", bucket_config::get_notification)
            }
            O::GetBucketReplication(input) => {
                typed!(s, ctx, req, input, "GetBucketReplication", bucket_config::get_replication)
            }
            O::DeleteBucketReplication(input) => {
                typed!(s, ctx, req, input, "DeleteBucketReplication", bucket_config::delete_replication, empty)
            }
            O::ListBucketAnalyticsConfigurations(input) => {
                s.bucket(&input.bucket.unwrap_or_default())?;
                let out =
                    m::ListBucketAnalyticsConfigurationsOutput { is_truncated: Some(false), ..Default::default() };
                Ok(s.render("ListBucketAnalyticsConfigurations", out))
            }
            O::ListBucketMetricsConfigurations(input) => {
                typed!(s, ctx, req, input, "ListBucketMetricsConfigurations", metrics::list_configurations)
            }
            O::PutBucketMetricsConfiguration(input) => {
                typed!(s, ctx, req, input, "PutBucketMetricsConfiguration", metrics::put_configuration, empty)
            }
            O::DeleteBucketMetricsConfiguration(input) => {
                typed!(s, ctx, req, input, "DeleteBucketMetricsConfiguration", metrics::delete_configuration, empty)
            }
            O::ListBucketInventoryConfigurations(input) => {
                typed!(s, ctx, req, input, "ListBucketInventoryConfigurations", inventory::list_configurations)
            }
            O::PutBucketInventoryConfiguration(input) => {
                typed!(s, ctx, req, input, "PutBucketInventoryConfiguration", inventory::put_configuration, empty)
            }
            O::DeleteBucketInventoryConfiguration(input) => {
                typed!(s, ctx, req, input, "DeleteBucketInventoryConfiguration", inventory::delete_configuration, empty)
            }
            O::ListBucketIntelligentTieringConfigurations(input) => {
                s.bucket(&input.bucket.unwrap_or_default())?;
                let out = m::ListBucketIntelligentTieringConfigurationsOutput {
                    is_truncated: Some(false),
                    ..Default::default()
                };
                Ok(s.render("ListBucketIntelligentTieringConfigurations", out))
            }
            O::GetBucketAnalyticsConfiguration(input) => {
                bucket_config::no_configuration(s, input.bucket).map(|_| s.empty(""))
            }
            O::GetBucketMetricsConfiguration(input) => {
                typed!(s, ctx, req, input, "GetBucketMetricsConfiguration", metrics::get_configuration)
            }
            O::GetBucketInventoryConfiguration(input) => {
                typed!(s, ctx, req, input, "GetBucketInventoryConfiguration", inventory::get_configuration)
            }
            O::GetBucketIntelligentTieringConfiguration(input) => {
                bucket_config::no_configuration(s, input.bucket).map(|_| s.empty(""))
            }
            O::PutBucketWebsite(input) => {
                typed!(s, ctx, req, input, "PutBucketWebsite", website::put_bucket_website, empty)
            }
            O::GetBucketWebsite(input) => typed!(s, ctx, req, input, "GetBucketWebsite", website::get_bucket_website),
            O::DeleteBucketWebsite(input) => {
                typed!(s, ctx, req, input, "DeleteBucketWebsite", website::delete_bucket_website, empty)
            }
            O::PutBucketCors(input) => typed!(s, ctx, req, input, "PutBucketCors", bucket::put_bucket_cors, empty),
            O::GetBucketCors(input) => typed!(s, ctx, req, input, "GetBucketCors", bucket::get_bucket_cors),
            O::DeleteBucketCors(input) => {
                typed!(s, ctx, req, input, "DeleteBucketCors", bucket::delete_bucket_cors, empty)
            }
            O::PutBucketEncryption(input) => {
                typed!(s, ctx, req, input, "PutBucketEncryption", bucket::put_bucket_encryption, empty)
            }
            O::GetBucketEncryption(input) => {
                typed!(s, ctx, req, input, "GetBucketEncryption", bucket::get_bucket_encryption)
            }
            O::DeleteBucketEncryption(input) => {
                typed!(s, ctx, req, input, "DeleteBucketEncryption", bucket::delete_bucket_encryption, empty)
            }
            O::PutBucketOwnershipControls(input) => {
                typed!(s, ctx, req, input, "PutBucketOwnershipControls", bucket::put_ownership_controls, empty)
            }
            O::GetBucketOwnershipControls(input) => {
                typed!(s, ctx, req, input, "GetBucketOwnershipControls", bucket::get_ownership_controls)
            }
            O::DeleteBucketOwnershipControls(input) => {
                typed!(s, ctx, req, input, "DeleteBucketOwnershipControls", bucket::delete_ownership_controls, empty)
            }
            O::PutBucketVersioning(input) => {
                typed!(s, ctx, req, input, "PutBucketVersioning", bucket::put_bucket_versioning, empty)
            }
            O::GetBucketVersioning(input) => {
                typed!(s, ctx, req, input, "GetBucketVersioning", bucket::get_bucket_versioning)
            }
            O::GetBucketAcl(input) => typed!(s, ctx, req, input, "GetBucketAcl", acl::get_bucket_acl),
            O::PutBucketAcl(input) => typed!(s, ctx, req, input, "PutBucketAcl", acl::put_bucket_acl, empty),
            O::GetObjectAcl(input) => typed!(s, ctx, req, input, "GetObjectAcl", acl::get_object_acl),
            O::PutObjectAcl(input) => typed!(s, ctx, req, input, "PutObjectAcl", acl::put_object_acl),
            O::ListObjects(input) => typed!(s, ctx, req, input, "ListObjects", list::list_objects),
            O::ListObjectsV2(input) => typed!(s, ctx, req, input, "ListObjectsV2", list::list_objects_v2),
            O::ListObjectVersions(input) => {
                let (out, order) = list::list_object_versions(s, ctx, input, req).await?;
                let mut value = serde_json::to_value(&out).expect("shapes serialise");
                if let Some(obj) = value.as_object_mut() {
                    obj.insert(rest_xml::DOCUMENT_ORDER.into(), order.into());
                }
                let root = "ListVersionsResult";
                let obj = value.as_object().cloned().unwrap_or_default();
                Ok(rest_xml::render_value(
                    s.model,
                    <m::ListObjectVersionsOutput as nuage_protocol::Shape>::NAME,
                    &obj,
                    None,
                    root,
                    NAMESPACE,
                ))
            }
            O::PutObject(input) => typed!(s, ctx, req, input, "PutObject", object::put_object),
            O::GetObject(input) => {
                let (out, body) = object::get_object(s, ctx, input, req).await?;
                let partial = out.content_range.is_some();
                let mut resp = s.render("GetObject", out);
                if partial {
                    resp.status = 206;
                }
                // Sent from the blobs as the client reads it.
                resp.stream = Some(body);
                Ok(resp)
            }
            O::SelectObjectContent(input) => select::select_object_content(s, ctx, input, req).await,
            O::HeadObject(input) => {
                let out = object::head_object(s, ctx, input, req).await?;
                let partial = out.content_range.is_some();
                let mut resp = s.render("HeadObject", out);
                if partial {
                    resp.status = 206;
                }
                Ok(resp)
            }
            O::DeleteObject(input) => typed!(s, ctx, req, input, "DeleteObject", object::delete_object),
            O::DeleteObjects(input) => typed!(s, ctx, req, input, "DeleteObjects", object::delete_objects),
            O::CopyObject(input) => typed!(s, ctx, req, input, "CopyObject", object::copy_object),
            O::PutObjectTagging(input) => typed!(s, ctx, req, input, "PutObjectTagging", object::put_object_tagging),
            O::GetObjectTagging(input) => typed!(s, ctx, req, input, "GetObjectTagging", object::get_object_tagging),
            O::DeleteObjectTagging(input) => {
                typed!(s, ctx, req, input, "DeleteObjectTagging", object::delete_object_tagging)
            }
            O::GetObjectAttributes(input) => {
                typed!(s, ctx, req, input, "GetObjectAttributes", object::get_object_attributes)
            }
            O::CreateMultipartUpload(input) => typed!(s, ctx, req, input, "CreateMultipartUpload", multipart::create),
            O::UploadPart(input) => typed!(s, ctx, req, input, "UploadPart", multipart::upload_part),
            O::UploadPartCopy(input) => typed!(s, ctx, req, input, "UploadPartCopy", multipart::upload_part_copy),
            O::CompleteMultipartUpload(input) => {
                typed!(s, ctx, req, input, "CompleteMultipartUpload", multipart::complete)
            }
            O::AbortMultipartUpload(input) => typed!(s, ctx, req, input, "AbortMultipartUpload", multipart::abort),
            O::ListParts(input) => typed!(s, ctx, req, input, "ListParts", multipart::list_parts),
            O::ListMultipartUploads(input) => {
                typed!(s, ctx, req, input, "ListMultipartUploads", multipart::list_uploads)
            }
            O::PutBucketLifecycleConfiguration(input) => {
                typed!(s, ctx, req, input, "PutBucketLifecycleConfiguration", lifecycle::put)
            }
            O::GetBucketLifecycleConfiguration(input) => {
                typed!(s, ctx, req, input, "GetBucketLifecycleConfiguration", lifecycle::get)
            }
            O::DeleteBucketLifecycle(input) => {
                typed!(s, ctx, req, input, "DeleteBucketLifecycle", lifecycle::delete, empty)
            }
            O::PutBucketPolicy(input) => {
                // S3 answers a stored bucket policy with 204 No Content.
                let resp: AwsResult<HttpResponse> =
                    typed!(s, ctx, req, input, "PutBucketPolicy", policy::put_bucket_policy, empty);
                resp.map(|r| HttpResponse { status: 204, ..r })
            }
            O::GetBucketPolicy(input) => typed!(s, ctx, req, input, "GetBucketPolicy", policy::get_bucket_policy),
            O::DeleteBucketPolicy(input) => {
                typed!(s, ctx, req, input, "DeleteBucketPolicy", policy::delete_bucket_policy, empty)
            }
            O::GetBucketPolicyStatus(input) => {
                typed!(s, ctx, req, input, "GetBucketPolicyStatus", policy::get_bucket_policy_status)
            }
            O::PutPublicAccessBlock(input) => {
                typed!(s, ctx, req, input, "PutPublicAccessBlock", policy::put_public_access_block, empty)
            }
            O::GetPublicAccessBlock(input) => {
                typed!(s, ctx, req, input, "GetPublicAccessBlock", policy::get_public_access_block)
            }
            O::DeletePublicAccessBlock(input) => {
                typed!(s, ctx, req, input, "DeletePublicAccessBlock", policy::delete_public_access_block, empty)
            }
            O::PutObjectLockConfiguration(input) => {
                typed!(s, ctx, req, input, "PutObjectLockConfiguration", lock::put_configuration)
            }
            O::GetObjectLockConfiguration(input) => {
                typed!(s, ctx, req, input, "GetObjectLockConfiguration", lock::get_configuration)
            }
            O::PutObjectRetention(input) => typed!(s, ctx, req, input, "PutObjectRetention", lock::put_retention),
            O::GetObjectRetention(input) => typed!(s, ctx, req, input, "GetObjectRetention", lock::get_retention),
            O::PutObjectLegalHold(input) => typed!(s, ctx, req, input, "PutObjectLegalHold", lock::put_legal_hold),
            O::GetObjectLegalHold(input) => typed!(s, ctx, req, input, "GetObjectLegalHold", lock::get_legal_hold),
            O::CreateBucketMetadataConfiguration(_)
            | O::CreateBucketMetadataTableConfiguration(_)
            | O::CreateSession(_)
            | O::DeleteBucketAnalyticsConfiguration(_)
            | O::DeleteBucketIntelligentTieringConfiguration(_)
            | O::DeleteBucketMetadataConfiguration(_)
            | O::DeleteBucketMetadataTableConfiguration(_)
            | O::DeleteObjectAnnotation(_)
            | O::GetBucketAbac(_)
            | O::GetBucketLifecycle(_)
            | O::GetBucketMetadataConfiguration(_)
            | O::GetBucketMetadataTableConfiguration(_)
            | O::GetBucketNotification(_)
            | O::GetObjectAnnotation(_)
            | O::GetObjectTorrent(_)
            | O::ListDirectoryBuckets(_)
            | O::ListObjectAnnotations(_)
            | O::PutBucketAbac(_)
            | O::PutBucketAnalyticsConfiguration(_)
            | O::PutBucketIntelligentTieringConfiguration(_)
            | O::PutBucketLifecycle(_)
            | O::PutBucketNotification(_)
            | O::PutBucketReplication(_)
            | O::PutObjectAnnotation(_)
            | O::RenameObject(_)
            | O::UpdateBucketMetadataAnnotationTableConfiguration(_)
            | O::UpdateBucketMetadataInventoryTableConfiguration(_)
            | O::UpdateBucketMetadataJournalTableConfiguration(_)
            | O::UpdateObjectEncryption(_)
            | O::WriteGetObjectResponse(_) => Err(error::S3Error::NotImplemented(name.to_string()).into()),
        }
    }

    /// The authorisation facts of a routed request: action, resource ARN, owner, ACL grants,
    /// bucket policy, condition keys; plus the read of a copy's source.
    fn authorization(
        &self,
        ctx: &RequestContext,
        route: &routes::Route,
        req: &ServiceRequest,
        a: &Addressed,
    ) -> Authorization {
        let mut main = self.authorization_of(ctx, route, req, a, req.query_param("versionId"));
        if matches!(route.name, "CopyObject" | "UploadPartCopy") {
            if let Some(Ok((bucket, key, version))) = req.header("x-amz-copy-source").map(object::parse_copy_source) {
                let get = ROUTES.iter().find(|r| r.name == "GetObject").expect("GetObject is routed");
                let source = Addressed { bucket: Some(bucket), key: Some(key) };
                let mut read = self.authorization_of(ctx, get, req, &source, version.as_deref());
                read.operation = route.name;
                main.also.push(read);
            }
        }
        main
    }

    fn authorization_of(
        &self,
        ctx: &RequestContext,
        route: &routes::Route,
        req: &ServiceRequest,
        a: &Addressed,
        version: Option<&str>,
    ) -> Authorization {
        let versioned = version.is_some();
        let action = route.action(versioned);
        let resource = match (&route.target, &a.bucket, &a.key) {
            (Target::Object, Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
            (_, Some(b), _) => format!("arn:aws:s3:::{b}"),
            // s3:ListAllMyBuckets acts on no bucket: its resource is `*`, so a policy scoped to
            // `arn:aws:s3:::*` does not grant it.
            _ => "*".to_string(),
        };
        let bucket = a.bucket.as_deref().and_then(|b| self.store.read().ok()?.get::<Bucket>(BUCKETS, b).ok().flatten());
        let owner_acts = bucket.as_ref().is_some_and(|b| ctx.account_id() == Some(b.owner.account_id.as_str()));
        // Grants only matter to principals from outside the bucket owner's account; a public
        // access block may tell S3 to ignore public ones.
        let granted = match (&bucket, route.acl_permission) {
            _ if owner_acts => false,
            (Some(b), Some((on_object, perm))) => {
                if on_object {
                    a.key.as_deref().is_some_and(|k| acl::object_grants(self, b, k, version, ctx, perm))
                } else {
                    let grants = acl::effective_grants(&b.grants, policy::ignore_public_acls(self, b));
                    acl::grants_allow(&grants, ctx, perm)
                }
            }
            _ => false,
        };
        let resource_policy = bucket.as_ref().and_then(|b| {
            let p = self.policies.get(&b.name, b.policy.as_deref()?)?;
            // RestrictPublicBuckets: a public policy admits only the owner's account.
            let restricted = policy::restrict_public_buckets(self, b) && policy::is_public(&p) && !owner_acts;
            (!restricted).then_some(p)
        });
        let root = ctx.principal.as_ref().is_some_and(|p| p.is_root());
        let policy_reads_tags = bucket
            .as_ref()
            .and_then(|b| b.policy.as_deref())
            .is_some_and(|d| d.to_ascii_lowercase().contains("existingobjecttag"));
        // The object's tags (s3:ExistingObjectTag/...) cost a read: a bucket policy that names
        // them gets them now; for the caller's own policies they are read only if one does.
        let object_tags = match (&route.target, &bucket, &a.key) {
            (Target::Object, Some(b), Some(k)) if policy_reads_tags => {
                acl::current_tags(&self.store, &b.name, k, version)
            }
            _ => None,
        };
        let lazy_context = match (&route.target, &bucket, &a.key) {
            (Target::Object, Some(b), Some(k)) if !root && object_tags.is_none() => {
                let (store, b, k, version) =
                    (self.store.clone(), b.name.clone(), k.clone(), version.map(str::to_string));
                Some(nuage_front::authz::LazyContext {
                    prefix: "s3:existingobjecttag/",
                    load: Arc::new(move || {
                        let tags = acl::current_tags(&store, &b, &k, version.as_deref()).unwrap_or_default();
                        tags.into_iter().map(|(k, v)| (format!("s3:ExistingObjectTag/{k}"), v)).collect()
                    }),
                })
            }
            _ => None,
        };
        // The owner account's root can always manage the bucket policy, so a policy that
        // denies everyone cannot lock the owner out (as on AWS).
        let always_allowed = owner_acts
            && ctx.principal.as_ref().is_some_and(|p| p.is_root())
            && !bucket.as_ref().is_some_and(|b| b.policy_binds_root)
            && matches!(route.name, "GetBucketPolicy" | "PutBucketPolicy" | "DeleteBucketPolicy");
        // Keys are read only by policies: a root (no IAM policies) where no bucket policy
        // exists has none to consult.
        let context = if root && resource_policy.is_none() {
            Default::default()
        } else {
            policy::condition_keys(ctx, req, object_tags.as_deref())
        };
        Authorization {
            operation: route.name,
            action,
            resource,
            always_allowed,
            // Creating a bucket acts on no one's resource: a taken name is the handler's 409.
            owner_account: if route.name == "CreateBucket" { None } else { bucket.map(|b| b.owner.account_id) },
            granted_by_resource: granted,
            resource_policy,
            context,
            lazy_context,
            ..Default::default()
        }
    }
}

/// `x-amz-expected-bucket-owner`: the request only proceeds if the bucket belongs to that account.
fn check_expected_owner(svc: &S3Service, req: &ServiceRequest, a: &Addressed) -> AwsResult<()> {
    let (Some(expected), Some(bucket)) = (req.header("x-amz-expected-bucket-owner"), &a.bucket) else {
        return Ok(());
    };
    if let Ok(b) = svc.bucket(bucket) {
        if b.owner.account_id != expected {
            return Err(AwsError::new("AccessDenied", 403, "Access Denied"));
        }
    }
    Ok(())
}

impl Service for S3Service {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestXml
    }

    fn embedded_credentials(&self, req: &ServiceRequest) -> AwsResult<Option<nuage_front::EmbeddedCredentials>> {
        if post::is_form_post(req) && address(req).key.is_none() {
            return post::credentials(&post::parse(req)?);
        }
        Ok(None)
    }

    fn reset(&self) {
        self.policies.clear();
        self.load_marked_buckets();
    }

    fn completed(
        &self,
        ctx: &RequestContext,
        req: &ServiceRequest,
        operation: &'static str,
        resp: &HttpResponse,
        elapsed: std::time::Duration,
    ) {
        self.record_access(ctx, req, operation, resp, elapsed);
        self.record_request_metrics(req, operation, resp, elapsed);
        if (200..300).contains(&resp.status) {
            if let Some((bucket, key)) = self.addressed(req) {
                bucket_config::report_events(self, &bucket, key.as_deref(), operation);
            }
        }
    }

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![("buckets", r.count(meta::BUCKETS).unwrap_or(0)), ("object versions", r.count(meta::OBJECTS).unwrap_or(0))]
    }

    fn is_unauthenticated(&self, method: &str) -> bool {
        method == "OPTIONS"
    }

    fn finish_response(&self, req: &ServiceRequest, resp: &mut HttpResponse) {
        let a = address(req);
        // HeadBucket tells the bucket's region even to callers it denies, as S3 does: clients
        // (and Redshift's COPY) find a bucket's region this way.
        let has_region = resp.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("x-amz-bucket-region"));
        if req.method == "HEAD" && a.key.is_none() && !has_region {
            if let Some(b) = a.bucket.as_deref().and_then(|b| self.bucket(b).ok()) {
                resp.headers.push(("x-amz-bucket-region".into(), b.region));
            }
        }
        cors::decorate(self, req, a.bucket.as_deref(), resp);
    }

    fn route<'a>(&'a self, ctx: &'a RequestContext, req: &'a ServiceRequest) -> AwsResult<Routed<'a>> {
        // S3 Control shares the endpoint: its requests name an account (or an Outpost).
        let control_header = req.header("x-amz-account-id").or_else(|| req.header("x-amz-outpost-id"));
        if req.raw_path.starts_with(control::PREFIX) && control_header.is_some() {
            return self.route_control(req);
        }
        // The website endpoint: anonymous reads, each object authorised as a GetObject.
        if let Some(bucket) = website::website_bucket(&req.host) {
            let authorization = Authorization {
                operation: "WebsiteGet",
                action: "s3:GetObject",
                resource: format!("arn:aws:s3:::{bucket}"),
                always_allowed: true,
                ..Default::default()
            };
            return Ok(Routed {
                authorization,
                run: Box::pin(async move { website::serve(self, ctx, req, &bucket).await }),
            });
        }
        let a = address(req);
        if post::is_form_post(req) && a.key.is_none() {
            if let Some(bucket) = a.bucket.clone() {
                let route = ROUTES.iter().find(|r| r.name == "PutObject").expect("PutObject is routed");
                let mut authorization = self.authorization(ctx, route, req, &a);
                authorization.operation = "PostObject";
                return Ok(Routed {
                    authorization,
                    run: Box::pin(async move { post::post_object(self, ctx, req, &bucket).await }),
                });
            }
        }
        if req.method == "OPTIONS" {
            let bucket = a.bucket.clone().ok_or_else(|| {
                AwsError::new("BadRequest", 400, "Insufficient information. Origin request header needed.")
            })?;
            let authorization = Authorization {
                operation: "PreflightCors",
                action: "s3:PreflightCors",
                resource: format!("arn:aws:s3:::{bucket}"),
                // A preflight is answered from the bucket's CORS rules alone, for anyone.
                always_allowed: true,
                ..Default::default()
            };
            return Ok(Routed { authorization, run: Box::pin(async move { cors::preflight(self, req, &bucket) }) });
        }
        check_query(req, &a)?;
        let route = self.router.route(req, a.bucket.is_some(), a.key.is_some()).ok_or_else(|| {
            AwsError::from(error::S3Error::NotImplemented(format!("{} {}", req.method, req.raw_path)))
        })?;
        if let Some(b) = &a.bucket {
            if route.name != "CreateBucket" && !bucket::plausible_bucket_name(b) {
                return Err(error::S3Error::NoSuchBucket(b.clone()).into());
            }
        }
        let authorization = self.authorization(ctx, route, req, &a);
        check_expected_owner(self, req, &a)?;
        bucket_config::check_accelerate(self, req)?;
        let charged = match a.bucket.as_deref().filter(|b| self.marked.requester_pays(b)) {
            Some(b) if route.name != "CreateBucket" => match self.bucket(b) {
                Ok(b) => bucket_config::check_requester_pays(ctx, req, &b)?,
                Err(_) => false,
            },
            _ => false,
        };
        if policy::grants_public_access(req) {
            if let Some(b) = a.bucket.as_deref().and_then(|b| self.bucket(b).ok()) {
                if policy::block_public_acls(self, &b) {
                    return Err(AwsError::new("AccessDenied", 403, "Access Denied"));
                }
            }
        }
        let name = route.name;
        Ok(Routed {
            authorization,
            run: Box::pin(async move {
                let mut resp = self.run(name, ctx, req, a).await?;
                if charged {
                    resp.headers.push(("x-amz-request-charged".into(), "requester".into()));
                }
                Ok(resp)
            }),
        })
    }
}
