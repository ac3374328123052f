//! The S3 operations nuage serves: each with its IAM action, what it addresses, the ACL
//! permission that admits other principals, and the XML root of its output. HTTP matching is
//! derived from the botocore model (method, URI pattern, required query keys and headers).
use nuage_front::ServiceRequest;
use nuage_protocol::Model;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Service,
    Bucket,
    Object,
}

pub struct Route {
    pub name: &'static str,
    action: &'static str,
    /// The action when a `versionId` is given (s3:GetObjectVersion, ...).
    versioned_action: Option<&'static str>,
    pub target: Target,
    /// (whether the object's ACL decides, the permission) that lets a non-owner through.
    pub acl_permission: Option<(bool, &'static str)>,
    pub root: &'static str,
}

impl Route {
    pub fn action(&self, versioned: bool) -> &'static str {
        match (versioned, self.versioned_action) {
            (true, Some(a)) => a,
            _ => self.action,
        }
    }
}

const fn r(
    name: &'static str,
    action: &'static str,
    versioned_action: Option<&'static str>,
    target: Target,
    acl_permission: Option<(bool, &'static str)>,
    root: &'static str,
) -> Route {
    Route { name, action, versioned_action, target, acl_permission, root }
}

use Target::*;
const READ_BUCKET: Option<(bool, &str)> = Some((false, "READ"));
const WRITE_BUCKET: Option<(bool, &str)> = Some((false, "WRITE"));
const READ_OBJECT: Option<(bool, &str)> = Some((true, "READ"));

pub static ROUTES: &[Route] = &[
    r("ListBuckets", "s3:ListAllMyBuckets", None, Service, None, "ListAllMyBucketsResult"),
    r("CreateBucket", "s3:CreateBucket", None, Bucket, None, ""),
    r("HeadBucket", "s3:ListBucket", None, Bucket, READ_BUCKET, ""),
    r("DeleteBucket", "s3:DeleteBucket", None, Bucket, None, ""),
    r("GetBucketLocation", "s3:GetBucketLocation", None, Bucket, None, ""),
    r("PutBucketTagging", "s3:PutBucketTagging", None, Bucket, None, ""),
    r("GetBucketTagging", "s3:GetBucketTagging", None, Bucket, None, "Tagging"),
    r("DeleteBucketTagging", "s3:PutBucketTagging", None, Bucket, None, ""),
    r("RestoreObject", "s3:RestoreObject", None, Object, None, ""),
    r("PutBucketLogging", "s3:PutBucketLogging", None, Bucket, None, ""),
    r("GetBucketLogging", "s3:GetBucketLogging", None, Bucket, None, "BucketLoggingStatus"),
    r("PutBucketAccelerateConfiguration", "s3:PutAccelerateConfiguration", None, Bucket, None, ""),
    r(
        "GetBucketAccelerateConfiguration",
        "s3:GetAccelerateConfiguration",
        None,
        Bucket,
        None,
        "AccelerateConfiguration",
    ),
    r("PutBucketRequestPayment", "s3:PutBucketRequestPayment", None, Bucket, None, ""),
    r("GetBucketRequestPayment", "s3:GetBucketRequestPayment", None, Bucket, None, "RequestPaymentConfiguration"),
    r("PutBucketNotificationConfiguration", "s3:PutBucketNotification", None, Bucket, None, ""),
    r(
        "GetBucketNotificationConfiguration",
        "s3:GetBucketNotification",
        None,
        Bucket,
        None,
        "NotificationConfiguration",
    ),
    r("GetBucketReplication", "s3:GetReplicationConfiguration", None, Bucket, None, "ReplicationConfiguration"),
    r("DeleteBucketReplication", "s3:PutReplicationConfiguration", None, Bucket, None, ""),
    r(
        "ListBucketAnalyticsConfigurations",
        "s3:GetAnalyticsConfiguration",
        None,
        Bucket,
        None,
        "ListBucketAnalyticsConfigurationResult",
    ),
    r("GetBucketAnalyticsConfiguration", "s3:GetAnalyticsConfiguration", None, Bucket, None, "AnalyticsConfiguration"),
    r(
        "ListBucketMetricsConfigurations",
        "s3:GetMetricsConfiguration",
        None,
        Bucket,
        None,
        "ListMetricsConfigurationsResult",
    ),
    r("GetBucketMetricsConfiguration", "s3:GetMetricsConfiguration", None, Bucket, None, "MetricsConfiguration"),
    r("PutBucketMetricsConfiguration", "s3:PutMetricsConfiguration", None, Bucket, None, ""),
    r("DeleteBucketMetricsConfiguration", "s3:PutMetricsConfiguration", None, Bucket, None, ""),
    r(
        "ListBucketInventoryConfigurations",
        "s3:GetInventoryConfiguration",
        None,
        Bucket,
        None,
        "ListInventoryConfigurationsResult",
    ),
    r("GetBucketInventoryConfiguration", "s3:GetInventoryConfiguration", None, Bucket, None, "InventoryConfiguration"),
    r("PutBucketInventoryConfiguration", "s3:PutInventoryConfiguration", None, Bucket, None, ""),
    r("DeleteBucketInventoryConfiguration", "s3:PutInventoryConfiguration", None, Bucket, None, ""),
    r(
        "ListBucketIntelligentTieringConfigurations",
        "s3:GetIntelligentTieringConfiguration",
        None,
        Bucket,
        None,
        "ListBucketIntelligentTieringConfigurationsOutput",
    ),
    r(
        "GetBucketIntelligentTieringConfiguration",
        "s3:GetIntelligentTieringConfiguration",
        None,
        Bucket,
        None,
        "IntelligentTieringConfiguration",
    ),
    r("PutBucketWebsite", "s3:PutBucketWebsite", None, Bucket, None, ""),
    r("GetBucketWebsite", "s3:GetBucketWebsite", None, Bucket, None, "WebsiteConfiguration"),
    r("DeleteBucketWebsite", "s3:DeleteBucketWebsite", None, Bucket, None, ""),
    r("PutBucketCors", "s3:PutBucketCORS", None, Bucket, None, ""),
    r("GetBucketCors", "s3:GetBucketCORS", None, Bucket, None, "CORSConfiguration"),
    r("DeleteBucketCors", "s3:PutBucketCORS", None, Bucket, None, ""),
    r("PutBucketEncryption", "s3:PutEncryptionConfiguration", None, Bucket, None, ""),
    r("GetBucketEncryption", "s3:GetEncryptionConfiguration", None, Bucket, None, ""),
    r("DeleteBucketEncryption", "s3:PutEncryptionConfiguration", None, Bucket, None, ""),
    r("PutBucketOwnershipControls", "s3:PutBucketOwnershipControls", None, Bucket, None, ""),
    r("GetBucketOwnershipControls", "s3:GetBucketOwnershipControls", None, Bucket, None, ""),
    r("DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls", None, Bucket, None, ""),
    r("PutBucketVersioning", "s3:PutBucketVersioning", None, Bucket, None, ""),
    r("GetBucketVersioning", "s3:GetBucketVersioning", None, Bucket, None, "VersioningConfiguration"),
    r("GetBucketAcl", "s3:GetBucketAcl", None, Bucket, Some((false, "READ_ACP")), "AccessControlPolicy"),
    r("PutBucketAcl", "s3:PutBucketAcl", None, Bucket, Some((false, "WRITE_ACP")), ""),
    r("ListObjects", "s3:ListBucket", None, Bucket, READ_BUCKET, "ListBucketResult"),
    r("ListObjectsV2", "s3:ListBucket", None, Bucket, READ_BUCKET, "ListBucketResult"),
    r("ListObjectVersions", "s3:ListBucketVersions", None, Bucket, READ_BUCKET, "ListVersionsResult"),
    r("ListMultipartUploads", "s3:ListBucketMultipartUploads", None, Bucket, READ_BUCKET, "ListMultipartUploadsResult"),
    r("DeleteObjects", "s3:DeleteObject", None, Bucket, WRITE_BUCKET, "DeleteResult"),
    r("PutObject", "s3:PutObject", None, Object, WRITE_BUCKET, ""),
    r("CopyObject", "s3:PutObject", None, Object, WRITE_BUCKET, ""),
    r("GetObject", "s3:GetObject", Some("s3:GetObjectVersion"), Object, READ_OBJECT, ""),
    r("SelectObjectContent", "s3:GetObject", None, Object, READ_OBJECT, ""),
    r("HeadObject", "s3:GetObject", Some("s3:GetObjectVersion"), Object, READ_OBJECT, ""),
    r("DeleteObject", "s3:DeleteObject", Some("s3:DeleteObjectVersion"), Object, WRITE_BUCKET, ""),
    r(
        "GetObjectAcl",
        "s3:GetObjectAcl",
        Some("s3:GetObjectVersionAcl"),
        Object,
        Some((true, "READ_ACP")),
        "AccessControlPolicy",
    ),
    r("PutObjectAcl", "s3:PutObjectAcl", Some("s3:PutObjectVersionAcl"), Object, Some((true, "WRITE_ACP")), ""),
    r("PutObjectTagging", "s3:PutObjectTagging", Some("s3:PutObjectVersionTagging"), Object, None, ""),
    r("GetObjectTagging", "s3:GetObjectTagging", Some("s3:GetObjectVersionTagging"), Object, READ_OBJECT, "Tagging"),
    r("DeleteObjectTagging", "s3:DeleteObjectTagging", Some("s3:DeleteObjectVersionTagging"), Object, None, ""),
    r(
        "GetObjectAttributes",
        "s3:GetObjectAttributes",
        Some("s3:GetObjectVersionAttributes"),
        Object,
        READ_OBJECT,
        "GetObjectAttributesResponse",
    ),
    r("CreateMultipartUpload", "s3:PutObject", None, Object, WRITE_BUCKET, "InitiateMultipartUploadResult"),
    r("UploadPart", "s3:PutObject", None, Object, WRITE_BUCKET, ""),
    r("UploadPartCopy", "s3:PutObject", None, Object, WRITE_BUCKET, ""),
    r("CompleteMultipartUpload", "s3:PutObject", None, Object, WRITE_BUCKET, "CompleteMultipartUploadResult"),
    r("AbortMultipartUpload", "s3:AbortMultipartUpload", None, Object, WRITE_BUCKET, ""),
    r("ListParts", "s3:ListMultipartUploadParts", None, Object, WRITE_BUCKET, "ListPartsResult"),
    r("PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration", None, Bucket, None, ""),
    r("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration", None, Bucket, None, "LifecycleConfiguration"),
    r("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration", None, Bucket, None, ""),
    r("PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", None, Bucket, None, ""),
    r("GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration", None, Bucket, None, ""),
    r("PutObjectRetention", "s3:PutObjectRetention", None, Object, None, ""),
    r("GetObjectRetention", "s3:GetObjectRetention", None, Object, None, ""),
    r("PutObjectLegalHold", "s3:PutObjectLegalHold", None, Object, None, ""),
    r("GetObjectLegalHold", "s3:GetObjectLegalHold", None, Object, None, ""),
    r("PutBucketPolicy", "s3:PutBucketPolicy", None, Bucket, None, ""),
    r("GetBucketPolicy", "s3:GetBucketPolicy", None, Bucket, None, ""),
    r("DeleteBucketPolicy", "s3:DeleteBucketPolicy", None, Bucket, None, ""),
    r("GetBucketPolicyStatus", "s3:GetBucketPolicyStatus", None, Bucket, None, "PolicyStatus"),
    r("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", None, Bucket, None, ""),
    r("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock", None, Bucket, None, ""),
    r("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock", None, Bucket, None, ""),
];

/// How one operation is recognised on the wire.
struct Matcher {
    route: &'static Route,
    method: String,
    target: Target,
    /// Query keys that must be present, with the value when the URI fixes one (`list-type=2`).
    query: Vec<(String, Option<String>)>,
    headers: Vec<String>,
}

pub struct Router {
    matchers: Vec<Matcher>,
    /// Every query key that names a sub-resource in the model (`acl`, `policy`, `lifecycle`, ...).
    subresources: Vec<String>,
}

impl Router {
    pub fn new(model: &Model) -> Router {
        let mut matchers = Vec::new();
        let mut subresources: Vec<String> = model
            .operations
            .values()
            .filter_map(|op| op.http.as_ref()?.request_uri.split_once('?').map(|(_, q)| q.to_string()))
            .flat_map(|q| q.split('&').map(|kv| kv.split('=').next().unwrap_or("").to_string()).collect::<Vec<_>>())
            .filter(|k| !k.is_empty() && k != "x-id")
            .collect();
        subresources.sort();
        subresources.dedup();
        for route in ROUTES {
            let op = &model.operations[route.name];
            let http = op.http.as_ref().expect("S3 operations have http traits");
            let (path, q) = http.request_uri.split_once('?').unwrap_or((&http.request_uri, ""));
            let target = if path.contains("{Key+}") {
                Target::Object
            } else if path.contains("{Bucket}") {
                Target::Bucket
            } else {
                Target::Service
            };
            let mut query: Vec<(String, Option<String>)> = q
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (kv.to_string(), None),
                })
                .collect();
            let mut headers = Vec::new();
            if let Some(input) = &op.input {
                let shape = model.shape(&input.shape);
                for req in &shape.required {
                    let mref = &shape.members[req];
                    let name = mref.location_name.clone().unwrap_or_else(|| req.clone());
                    match mref.location.as_deref() {
                        Some("querystring") => query.push((name, None)),
                        Some("header") => headers.push(name.to_ascii_lowercase()),
                        _ => {}
                    }
                }
            }
            matchers.push(Matcher { route, method: http.method.clone(), target, query, headers });
        }
        Router { matchers, subresources }
    }

    /// The most specific operation whose method, target and required parameters all match.
    pub fn route(&self, req: &ServiceRequest, has_bucket: bool, has_key: bool) -> Option<&'static Route> {
        let target = match (has_bucket, has_key) {
            (false, _) => Target::Service,
            (true, false) => Target::Bucket,
            (true, true) => Target::Object,
        };
        self.matchers
            .iter()
            .filter(|m| m.method == req.method && m.target == target)
            .filter(|m| {
                m.query.iter().all(|(k, v)| match req.query.iter().find(|(qk, _)| qk == k) {
                    Some((_, qv)) => v.as_ref().is_none_or(|v| v == qv),
                    None => false,
                })
            })
            .filter(|m| m.headers.iter().all(|h| req.header(h).is_some()))
            .max_by_key(|m| m.query.len() + m.headers.len())
            // A sub-resource the chosen operation does not consume is an operation nuage lacks
            // (e.g. `PUT /bucket?policy` must not fall through to CreateBucket).
            .filter(|m| {
                req.query.iter().all(|(k, _)| !self.subresources.contains(k) || m.query.iter().any(|(mk, _)| mk == k))
            })
            .map(|m| m.route)
    }
}
