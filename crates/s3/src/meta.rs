//! What S3 persists: buckets, objects with their versions, multipart uploads.
use nuage_protocol::s3 as m;
use nuage_storage::{BlobRef, JsonTable};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const BUCKETS: JsonTable = JsonTable::new("s3_buckets");
/// Keyed `bucket \0 key`, so one bucket's keys are one contiguous, ordered range.
pub const OBJECTS: JsonTable = JsonTable::new("s3_objects");
/// Keyed `bucket \0 key \0 upload-id`.
pub const UPLOADS: JsonTable = JsonTable::new("s3_uploads");
/// Uploads already completed, same keys: a repeated CompleteMultipartUpload gets the same answer.
pub const COMPLETED: JsonTable = JsonTable::new("s3_completed_uploads");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Completed {
    pub etag: String,
    pub version_id: Option<String>,
    pub checksum: Option<Checksum>,
    pub sse: Option<crate::sse::Sse>,
}

pub fn object_key(bucket: &str, key: &str) -> String {
    format!("{bucket}\0{key}")
}
pub fn bucket_prefix(bucket: &str) -> String {
    format!("{bucket}\0")
}
pub fn upload_key(bucket: &str, key: &str, upload_id: &str) -> String {
    format!("{bucket}\0{key}\0{upload_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Owner {
    pub account_id: String,
    pub canonical_id: String,
    pub display_name: String,
}

impl Owner {
    pub fn to_model(&self) -> m::Owner {
        m::Owner { id: Some(self.canonical_id.clone()), display_name: Some(self.display_name.clone()) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub owner: Owner,
    pub created: i64,
    pub region: String,
    /// `Enabled`, `Suspended`, or `None` for a bucket that never had versioning.
    pub versioning: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<m::Tag>>,
    #[serde(default)]
    pub cors: Option<m::CORSConfiguration>,
    #[serde(default)]
    pub encryption: Option<m::ServerSideEncryptionConfiguration>,
    #[serde(default)]
    pub ownership: Option<m::OwnershipControls>,
    #[serde(default)]
    pub grants: Vec<m::Grant>,
    #[serde(default)]
    pub object_lock: bool,
    #[serde(default)]
    pub lock_config: Option<m::ObjectLockConfiguration>,
    #[serde(default)]
    pub lifecycle: Option<m::BucketLifecycleConfiguration>,
    /// The bucket policy, as the owner wrote it.
    #[serde(default)]
    pub policy: Option<String>,
    /// Put with `x-amz-confirm-remove-self-bucket-access`: the policy binds the owner's root too.
    #[serde(default)]
    pub policy_binds_root: bool,
    #[serde(default)]
    pub public_access_block: Option<m::PublicAccessBlockConfiguration>,
    /// Server access logging: where this bucket's access log goes.
    #[serde(default)]
    pub logging: Option<m::LoggingEnabled>,
    /// Static website hosting.
    #[serde(default)]
    pub website: Option<m::WebsiteConfiguration>,
    /// Transfer Acceleration: `Enabled` or `Suspended` once set.
    #[serde(default)]
    pub accelerate: Option<String>,
    /// Requester Pays.
    #[serde(default)]
    pub requester_pays: bool,
    /// Event notifications.
    #[serde(default)]
    pub notification: Option<m::NotificationConfiguration>,
    /// CloudWatch request-metrics configurations, by id.
    #[serde(default)]
    pub metrics: Vec<m::MetricsConfiguration>,
    /// Inventory configurations, by id, and when each last made its report (ms).
    #[serde(default)]
    pub inventory: Vec<m::InventoryConfiguration>,
    #[serde(default)]
    pub inventory_runs: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checksum {
    pub algorithm: String,
    pub value: String,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    /// `null` for the version written while versioning was off or suspended.
    pub version_id: String,
    pub delete_marker: bool,
    /// Without quotes: the hex MD5, or `md5-of-md5s-N` for multipart objects.
    pub etag: String,
    pub size: u64,
    pub last_modified: i64,
    pub owner: Owner,
    /// Content-Type, Content-Encoding, ... as given at upload (lower-case names).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The body as consecutive segments (one per multipart part).
    #[serde(default)]
    pub segments: Vec<BlobRef>,
    #[serde(default)]
    pub checksum: Option<Checksum>,
    #[serde(default)]
    pub part_checksums: Vec<Option<String>>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub grants: Vec<m::Grant>,
    pub storage_class: String,
    #[serde(default)]
    pub sse: Option<crate::sse::Sse>,
    #[serde(default)]
    pub lock: crate::lock::ObjectLock,
    /// For an archived version: the restore asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<crate::restore::Restore>,
}

impl Version {
    pub fn quoted_etag(&self) -> String {
        format!("\"{}\"", self.etag)
    }
}

/// All versions of one key, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ObjectEntry {
    pub versions: Vec<Version>,
}

impl ObjectEntry {
    pub fn latest(&self) -> Option<&Version> {
        self.versions.first()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub number: i32,
    pub etag: String,
    pub size: u64,
    pub last_modified: i64,
    pub blob: BlobRef,
    #[serde(default)]
    pub checksum: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    pub initiated: i64,
    pub owner: Owner,
    pub initiator: Owner,
    pub headers: BTreeMap<String, String>,
    pub metadata: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub grants: Vec<m::Grant>,
    pub storage_class: String,
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    #[serde(default)]
    pub checksum_type: Option<String>,
    #[serde(default)]
    pub sse: Option<crate::sse::Sse>,
    #[serde(default)]
    pub lock: crate::lock::ObjectLock,
    pub parts: BTreeMap<i32, Part>,
}
