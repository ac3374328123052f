//! Amazon S3: buckets, objects, versions, multipart uploads, tagging, ACLs, on durable storage.

mod acl;
mod bucket;
mod checksum;
mod control;
mod cors;
mod error;
mod lifecycle;
mod list;
mod lock;
mod meta;
mod multipart;
mod object;
mod payload;
mod policy;
mod post;
mod routes;
mod sse;

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
    pub fn new(store: Store, ids: Arc<Identities>, principals: Arc<dyn PolicyStore>) -> S3Service {
        let model = m::model();
        S3Service {
            store,
            ids,
            model,
            router: routes::Router::new(model),
            policies: policy::PolicyCache::default(),
            principals,
        }
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
    ($svc:ident, $ctx:ident, $req:ident, $addr:ident, $op:literal, $handler:path) => {{
        let input = $svc.parse(&$req, &$addr)?;
        let out = $handler($svc, $ctx, input, $req).await?;
        Ok($svc.render($op, out))
    }};
    ($svc:ident, $ctx:ident, $req:ident, $addr:ident, $op:literal, $handler:path, empty) => {{
        let input = $svc.parse(&$req, &$addr)?;
        $handler($svc, $ctx, input, $req).await?;
        Ok($svc.empty($op))
    }};
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
    async fn run(
        &self,
        op: &'static str,
        ctx: &RequestContext,
        req: &ServiceRequest,
        a: Addressed,
    ) -> AwsResult<HttpResponse> {
        let s = self;
        // Only an object's body is large enough to have been spooled; any other body that
        // large is one S3 refuses.
        if req.spooled.is_some() && !matches!(op, "PutObject" | "UploadPart") {
            return Err(AwsError::new("MaxMessageLengthExceeded", 400, "Your request was too big."));
        }
        match op {
            "ListBuckets" => typed!(s, ctx, req, a, "ListBuckets", bucket::list_buckets),
            "CreateBucket" => typed!(s, ctx, req, a, "CreateBucket", bucket::create_bucket),
            "HeadBucket" => typed!(s, ctx, req, a, "HeadBucket", bucket::head_bucket),
            "DeleteBucket" => typed!(s, ctx, req, a, "DeleteBucket", bucket::delete_bucket, empty),
            "GetBucketLocation" => {
                let input: m::GetBucketLocationRequest = s.parse(req, &a)?;
                let region = bucket::get_bucket_location(s, ctx, input, req).await?;
                Ok(rest_xml::render_text_root("LocationConstraint", NAMESPACE, region.as_deref()))
            }
            "PutBucketTagging" => typed!(s, ctx, req, a, "PutBucketTagging", bucket::put_bucket_tagging, empty),
            "GetBucketTagging" => typed!(s, ctx, req, a, "GetBucketTagging", bucket::get_bucket_tagging),
            "DeleteBucketTagging" => {
                typed!(s, ctx, req, a, "DeleteBucketTagging", bucket::delete_bucket_tagging, empty)
            }
            "PutBucketCors" => typed!(s, ctx, req, a, "PutBucketCors", bucket::put_bucket_cors, empty),
            "GetBucketCors" => typed!(s, ctx, req, a, "GetBucketCors", bucket::get_bucket_cors),
            "DeleteBucketCors" => typed!(s, ctx, req, a, "DeleteBucketCors", bucket::delete_bucket_cors, empty),
            "PutBucketEncryption" => {
                typed!(s, ctx, req, a, "PutBucketEncryption", bucket::put_bucket_encryption, empty)
            }
            "GetBucketEncryption" => typed!(s, ctx, req, a, "GetBucketEncryption", bucket::get_bucket_encryption),
            "DeleteBucketEncryption" => {
                typed!(s, ctx, req, a, "DeleteBucketEncryption", bucket::delete_bucket_encryption, empty)
            }
            "PutBucketOwnershipControls" => {
                typed!(s, ctx, req, a, "PutBucketOwnershipControls", bucket::put_ownership_controls, empty)
            }
            "GetBucketOwnershipControls" => {
                typed!(s, ctx, req, a, "GetBucketOwnershipControls", bucket::get_ownership_controls)
            }
            "DeleteBucketOwnershipControls" => {
                typed!(s, ctx, req, a, "DeleteBucketOwnershipControls", bucket::delete_ownership_controls, empty)
            }
            "PutBucketVersioning" => {
                typed!(s, ctx, req, a, "PutBucketVersioning", bucket::put_bucket_versioning, empty)
            }
            "GetBucketVersioning" => typed!(s, ctx, req, a, "GetBucketVersioning", bucket::get_bucket_versioning),
            "GetBucketAcl" => typed!(s, ctx, req, a, "GetBucketAcl", acl::get_bucket_acl),
            "PutBucketAcl" => typed!(s, ctx, req, a, "PutBucketAcl", acl::put_bucket_acl, empty),
            "GetObjectAcl" => typed!(s, ctx, req, a, "GetObjectAcl", acl::get_object_acl),
            "PutObjectAcl" => typed!(s, ctx, req, a, "PutObjectAcl", acl::put_object_acl),
            "ListObjects" => typed!(s, ctx, req, a, "ListObjects", list::list_objects),
            "ListObjectsV2" => typed!(s, ctx, req, a, "ListObjectsV2", list::list_objects_v2),
            "ListObjectVersions" => {
                let input = s.parse(req, &a)?;
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
            "PutObject" => typed!(s, ctx, req, a, "PutObject", object::put_object),
            "GetObject" => {
                let input = s.parse(req, &a)?;
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
            "HeadObject" => {
                let input = s.parse(req, &a)?;
                let out = object::head_object(s, ctx, input, req).await?;
                let partial = out.content_range.is_some();
                let mut resp = s.render("HeadObject", out);
                if partial {
                    resp.status = 206;
                }
                Ok(resp)
            }
            "DeleteObject" => typed!(s, ctx, req, a, "DeleteObject", object::delete_object),
            "DeleteObjects" => typed!(s, ctx, req, a, "DeleteObjects", object::delete_objects),
            "CopyObject" => typed!(s, ctx, req, a, "CopyObject", object::copy_object),
            "PutObjectTagging" => typed!(s, ctx, req, a, "PutObjectTagging", object::put_object_tagging),
            "GetObjectTagging" => typed!(s, ctx, req, a, "GetObjectTagging", object::get_object_tagging),
            "DeleteObjectTagging" => typed!(s, ctx, req, a, "DeleteObjectTagging", object::delete_object_tagging),
            "GetObjectAttributes" => typed!(s, ctx, req, a, "GetObjectAttributes", object::get_object_attributes),
            "CreateMultipartUpload" => typed!(s, ctx, req, a, "CreateMultipartUpload", multipart::create),
            "UploadPart" => typed!(s, ctx, req, a, "UploadPart", multipart::upload_part),
            "UploadPartCopy" => typed!(s, ctx, req, a, "UploadPartCopy", multipart::upload_part_copy),
            "CompleteMultipartUpload" => typed!(s, ctx, req, a, "CompleteMultipartUpload", multipart::complete),
            "AbortMultipartUpload" => typed!(s, ctx, req, a, "AbortMultipartUpload", multipart::abort),
            "ListParts" => typed!(s, ctx, req, a, "ListParts", multipart::list_parts),
            "ListMultipartUploads" => typed!(s, ctx, req, a, "ListMultipartUploads", multipart::list_uploads),
            "PutBucketLifecycleConfiguration" => {
                typed!(s, ctx, req, a, "PutBucketLifecycleConfiguration", lifecycle::put)
            }
            "GetBucketLifecycleConfiguration" => {
                typed!(s, ctx, req, a, "GetBucketLifecycleConfiguration", lifecycle::get)
            }
            "DeleteBucketLifecycle" => typed!(s, ctx, req, a, "DeleteBucketLifecycle", lifecycle::delete, empty),
            "PutBucketPolicy" => {
                // S3 answers a stored bucket policy with 204 No Content.
                let resp: AwsResult<HttpResponse> =
                    typed!(s, ctx, req, a, "PutBucketPolicy", policy::put_bucket_policy, empty);
                resp.map(|r| HttpResponse { status: 204, ..r })
            }
            "GetBucketPolicy" => typed!(s, ctx, req, a, "GetBucketPolicy", policy::get_bucket_policy),
            "DeleteBucketPolicy" => typed!(s, ctx, req, a, "DeleteBucketPolicy", policy::delete_bucket_policy, empty),
            "GetBucketPolicyStatus" => {
                typed!(s, ctx, req, a, "GetBucketPolicyStatus", policy::get_bucket_policy_status)
            }
            "PutPublicAccessBlock" => {
                typed!(s, ctx, req, a, "PutPublicAccessBlock", policy::put_public_access_block, empty)
            }
            "GetPublicAccessBlock" => typed!(s, ctx, req, a, "GetPublicAccessBlock", policy::get_public_access_block),
            "DeletePublicAccessBlock" => {
                typed!(s, ctx, req, a, "DeletePublicAccessBlock", policy::delete_public_access_block, empty)
            }
            "PutObjectLockConfiguration" => {
                typed!(s, ctx, req, a, "PutObjectLockConfiguration", lock::put_configuration)
            }
            "GetObjectLockConfiguration" => {
                typed!(s, ctx, req, a, "GetObjectLockConfiguration", lock::get_configuration)
            }
            "PutObjectRetention" => typed!(s, ctx, req, a, "PutObjectRetention", lock::put_retention),
            "GetObjectRetention" => typed!(s, ctx, req, a, "GetObjectRetention", lock::get_retention),
            "PutObjectLegalHold" => typed!(s, ctx, req, a, "PutObjectLegalHold", lock::put_legal_hold),
            "GetObjectLegalHold" => typed!(s, ctx, req, a, "GetObjectLegalHold", lock::get_legal_hold),
            other => Err(error::S3Error::NotImplemented(other.to_string()).into()),
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
            _ => "arn:aws:s3:::*".to_string(),
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
        let object_tags = match (&route.target, &bucket, &a.key) {
            (Target::Object, Some(b), Some(k)) if !root || policy_reads_tags => acl::current_tags(self, b, k, version),
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
        if policy::grants_public_access(req) {
            if let Some(b) = a.bucket.as_deref().and_then(|b| self.bucket(b).ok()) {
                if policy::block_public_acls(self, &b) {
                    return Err(AwsError::new("AccessDenied", 403, "Access Denied"));
                }
            }
        }
        let name = route.name;
        Ok(Routed { authorization, run: Box::pin(async move { self.run(name, ctx, req, a).await }) })
    }
}
