//! What the warehouse reaches outside the database: objects in S3 (COPY reads, UNLOAD writes),
//! reached with the credentials a statement names, and the network rules that decide who may
//! connect. The warehouse knows no AWS; whoever runs it (the Redshift control plane) supplies
//! an `External`, which checks credentials and talks to S3, and an `Admission`.
use crate::error::SqlResult;
use async_trait::async_trait;
use std::sync::Arc;

/// The authorisation clause of COPY or UNLOAD.
#[derive(Clone, Debug, PartialEq)]
pub enum Credentials {
    /// `IAM_ROLE 'arn'` or `CREDENTIALS 'aws_iam_role=arn'`: a role (or a comma-separated
    /// chain of roles) associated with the cluster.
    IamRole(String),
    /// `IAM_ROLE default`: the cluster's default role.
    DefaultIamRole,
    /// Access keys, and a session token for temporary ones.
    Keys { access_key_id: String, secret_access_key: String, session_token: Option<String> },
}

/// One object under a prefix.
#[derive(Clone, Debug)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// S3 as a statement's credentials allow: every call is authorised as that principal.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Every object whose key starts with `prefix`, in key order.
    async fn list(&self, bucket: &str, prefix: &str) -> SqlResult<Vec<ObjectInfo>>;
    async fn get(&self, bucket: &str, key: &str) -> SqlResult<Vec<u8>>;
    /// An object's body as a blocking reader, for a caller that processes it as it reads
    /// (on a blocking thread), so that memory does not grow with the object.
    async fn open(&self, bucket: &str, key: &str) -> SqlResult<Box<dyn std::io::Read + Send>>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> SqlResult<()>;
    async fn delete(&self, bucket: &str, key: &str) -> SqlResult<()>;
}

/// What the system information functions report about the cluster the warehouse serves.
#[derive(Clone, Debug, Default)]
pub struct ClusterFacts {
    pub account: String,
    /// The namespace's UUID (the last part of its `ClusterNamespaceArn`).
    pub namespace: String,
    pub default_iam_role: Option<String>,
}

#[async_trait]
pub trait External: Send + Sync {
    /// The cluster as its control plane knows it now; None once it is gone.
    fn cluster(&self) -> Option<ClusterFacts>;

    /// S3 as `credentials` allow, for the database user `db_user`, reaching buckets of
    /// `region` (the cluster's region when none is named): refused when the credentials
    /// are not usable, as Redshift refuses them.
    async fn open(
        &self,
        credentials: &Credentials,
        region: Option<&str>,
        db_user: &str,
    ) -> SqlResult<Arc<dyn ObjectStore>>;
}

/// Who may open a connection to the SQL port (a cluster's security groups).
#[async_trait]
pub trait Admission: Send + Sync {
    async fn admits(&self, peer: std::net::SocketAddr) -> bool;
}
