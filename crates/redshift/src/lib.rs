//! Amazon Redshift control plane: clusters, snapshots, database credentials; each available cluster serves its warehouse on its own port.

mod api;
mod cluster_options;
mod data_api;
mod events;
mod managed_password;
mod metrics;
mod parameter_groups;
mod routes;
mod s3_access;
mod schedule;
mod scheduled_actions;
mod serverless;
mod snapshot_schedules;
mod snapshots;
mod subnet_groups;
mod usage_limits;

use nuage_core::{AwsError, AwsResult};
use nuage_storage::redb::TableDefinition;
use nuage_storage::{JsonTable, Store};
use nuage_warehouse::Warehouse;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use data_api::RedshiftDataService;
pub use routes::RedshiftService;
pub use serverless::RedshiftServerlessService;

const CLUSTERS: JsonTable = TableDefinition::new("redshift_clusters");
const SNAPSHOTS: JsonTable = TableDefinition::new("redshift_snapshots");

/// A cluster as the control plane keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub account: String,
    pub region: String,
    pub identifier: String,
    pub node_type: String,
    pub number_of_nodes: i32,
    pub master_username: String,
    pub db_name: String,
    /// The port asked for; `bound_port` is where it listens (another when taken).
    pub port: i32,
    #[serde(default)]
    pub bound_port: Option<u16>,
    pub iam_roles: Vec<String>,
    pub default_iam_role: Option<String>,
    pub vpc_security_group_ids: Vec<String>,
    pub publicly_accessible: bool,
    pub encrypted: bool,
    pub tags: Vec<(String, String)>,
    /// creating, available, paused, rebooting, resuming, modifying, deleting.
    pub status: String,
    pub create_time_ms: i64,
    pub namespace_uuid: String,
    /// Its cluster parameter group; None is the default one.
    #[serde(default)]
    pub parameter_group: Option<String>,
    /// Static parameters of its group changed since it last started.
    #[serde(default)]
    pub parameters_pending_reboot: bool,
    #[serde(default)]
    pub options: cluster_options::ClusterOptions,
    /// The secret holding the master password, when Redshift manages it.
    #[serde(default)]
    pub master_password_secret: Option<ManagedPassword>,
    /// Its last resize, for DescribeResize.
    #[serde(default)]
    pub last_resize: Option<events::ResizeRecord>,
    /// The snapshot schedule deciding its automated snapshots, and since when.
    #[serde(default)]
    pub snapshot_schedule: Option<String>,
    #[serde(default)]
    pub snapshot_schedule_since_ms: i64,
}

/// A password kept in Secrets Manager for Redshift: the secret and its KMS key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManagedPassword {
    pub arn: String,
    pub kms_key_id: Option<String>,
}

impl ClusterRecord {
    fn key(&self) -> String {
        key(&self.account, &self.region, &self.identifier)
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:redshift:{}:{}:cluster:{}", self.region, self.account, self.identifier)
    }

    /// Its cluster subnet group's name (`default`: the default VPC's subnets).
    pub fn subnet_group(&self) -> &str {
        self.options.subnet_group.as_deref().unwrap_or("default")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub account: String,
    pub region: String,
    pub identifier: String,
    pub cluster: ClusterRecord,
    pub create_time_ms: i64,
    /// manual or automated.
    pub kind: String,
    pub tags: Vec<(String, String)>,
    pub size_bytes: u64,
    /// Days a manual snapshot is kept; -1 until it is deleted.
    #[serde(default = "keep_forever")]
    pub retention_days: i32,
    /// Other accounts that may describe and restore it.
    #[serde(default)]
    pub restore_accounts: Vec<String>,
}

fn keep_forever() -> i32 {
    -1
}

fn key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

/// What serves a database on a SQL port: a provisioned cluster or a serverless workgroup.
#[derive(Clone, Debug)]
pub(crate) enum Compute {
    Cluster(String),
    Workgroup(String),
}

impl std::fmt::Display for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Compute::Cluster(id) => write!(f, "cluster {id}"),
            Compute::Workgroup(name) => write!(f, "workgroup {name}"),
        }
    }
}

/// What a compute's COPY, UNLOAD and admission read of it, whichever kind it is.
pub(crate) struct ComputeFacts {
    /// The resource on whose behalf Redshift assumes roles (`aws:SourceArn`).
    pub source_arn: String,
    /// The ARN prefix of its database users (`...:dbuser:<cluster>`), for messages.
    pub dbuser_prefix: String,
    pub iam_roles: Vec<String>,
    pub default_iam_role: Option<String>,
    pub namespace_uuid: String,
    pub security_groups: Vec<String>,
    /// The subnet its endpoint is in, whose network ACL also decides who may connect.
    pub subnet: SubnetChoice,
    /// The port asked for, and the one bound.
    pub port: i32,
    pub bound_port: Option<u16>,
}

/// Where a cluster or workgroup's endpoint sits.
pub(crate) enum SubnetChoice {
    Known(String),
    /// The default subnet of this availability zone (a cluster of the `default` subnet group).
    DefaultIn(String),
}

/// A database on disk: its directory, its name and the master user it is created with.
struct Database {
    dir: PathBuf,
    name: String,
    master: String,
}

/// A running cluster or workgroup: its warehouse and the listener's stop switch.
struct Running {
    warehouse: Arc<Warehouse>,
    stop: tokio::sync::watch::Sender<bool>,
}

pub struct Redshift {
    store: Store,
    /// The front door, for the S3 calls COPY and UNLOAD make as a cluster's role.
    internal: Arc<nuage_front::Internal>,
    /// This control plane, for the clusters' ways to S3 to find it again.
    me: std::sync::Weak<Redshift>,
    dir: PathBuf,
    running: Mutex<HashMap<String, Running>>,
    /// Control-plane writes are rare; one at a time keeps read-modify-write simple.
    writes: tokio::sync::Mutex<()>,
    /// Each cluster's query memory budget, in bytes.
    warehouse_memory: usize,
    /// Where the clusters' SQL ports listen: nuage's own address (loopback by default).
    sql_host: IpAddr,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn sql_err(e: nuage_warehouse::SqlError) -> AwsError {
    AwsError::internal(e.message)
}

impl Redshift {
    /// What the control plane holds, for `nuage status`.
    pub fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![("clusters", r.count(CLUSTERS).unwrap_or(0)), ("snapshots", r.count(SNAPSHOTS).unwrap_or(0))]
    }

    /// The address the clusters' SQL ports listen on.
    pub fn sql_host(&self) -> IpAddr {
        self.sql_host
    }

    /// Opens the control plane and brings back every cluster that was available.
    pub async fn open(
        store: Store,
        data_dir: PathBuf,
        internal: Arc<nuage_front::Internal>,
        warehouse_memory: usize,
        sql_host: IpAddr,
    ) -> AwsResult<Arc<Redshift>> {
        let rs = Arc::new_cyclic(|me| Redshift {
            warehouse_memory,
            sql_host,
            store,
            internal,
            me: me.clone(),
            dir: data_dir.join("redshift"),
            running: Mutex::new(HashMap::new()),
            writes: tokio::sync::Mutex::new(()),
        });
        data_api::recover(&rs).await?;
        let clusters: Vec<(String, ClusterRecord)> = rs.store.read()?.scan(CLUSTERS, "")?;
        for (_, mut c) in clusters {
            match c.status.as_str() {
                "paused" | "pausing" => {
                    c.status = "paused".into();
                    rs.put(&c).await?;
                }
                "deleting" => {
                    rs.remove_cluster(&c).await?;
                }
                _ => {
                    if let Err(e) = rs.start(&mut c).await {
                        tracing::error!(cluster = %c.identifier, error = %e.message, "cluster could not be started");
                        continue;
                    }
                    c.status = "available".into();
                    rs.put(&c).await?;
                }
            }
        }
        rs.recover_workgroups().await?;
        Ok(rs)
    }

    fn cluster_dir(&self, account: &str, region: &str, id: &str) -> PathBuf {
        self.dir.join(account).join(region).join("clusters").join(id)
    }

    fn snapshot_dir(&self, account: &str, region: &str, id: &str) -> PathBuf {
        self.dir.join(account).join(region).join("snapshots").join(id)
    }

    pub fn get(&self, account: &str, region: &str, id: &str) -> AwsResult<Option<ClusterRecord>> {
        self.store.read()?.get(CLUSTERS, &key(account, region, id))
    }

    pub fn list(&self, account: &str, region: &str) -> AwsResult<Vec<ClusterRecord>> {
        Ok(self
            .store
            .read()?
            .scan::<ClusterRecord>(CLUSTERS, &format!("{account}/{region}/"))?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    async fn put(&self, c: &ClusterRecord) -> AwsResult<()> {
        let (k, v) = (c.key(), c.clone());
        self.store.write(move |w| w.put(CLUSTERS, &k, &v)).await
    }

    pub fn warehouse(&self, c: &ClusterRecord) -> Option<Arc<Warehouse>> {
        self.running_warehouse(&c.key())
    }

    /// Opens the cluster's database (created with its master user the first time) and
    /// listens on its port, or on a free one when that is taken.
    async fn start(&self, c: &mut ClusterRecord) -> AwsResult<()> {
        self.start_with_password(c, None).await
    }

    async fn start_with_password(&self, c: &mut ClusterRecord, password: Option<&str>) -> AwsResult<()> {
        let dir = self.cluster_dir(&c.account, &c.region, &c.identifier);
        let compute = Compute::Cluster(c.identifier.clone());
        let db = Database { dir, name: c.db_name.clone(), master: c.master_username.clone() };
        let port = self.launch(&c.key(), db, password, c.port, &c.account, &c.region, compute).await?;
        c.bound_port = Some(port);
        self.apply_parameters(c)
    }

    /// Opens a database (created with its master user the first time), serves it on `port`
    /// (or a free one when that is taken) and keeps it running under `key`; the port bound.
    #[allow(clippy::too_many_arguments)]
    async fn launch(
        &self,
        key: &str,
        db: Database,
        password: Option<&str>,
        port: i32,
        account: &str,
        region: &str,
        compute: Compute,
    ) -> AwsResult<u16> {
        let wh = self.open_database(db, password.unwrap_or("")).await?;
        let on = s3_access::Serving {
            redshift: self.me.clone(),
            account: account.to_string(),
            region: region.to_string(),
            compute,
        };
        wh.set_external(Arc::new(s3_access::ClusterS3(on.clone())));
        wh.set_admission(Arc::new(s3_access::ClusterNetwork(on.clone())));
        let want = SocketAddr::new(self.sql_host, port as u16);
        let listener = match tokio::net::TcpListener::bind(want).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(compute = %on.compute, port, error = %e, "port taken; listening on a free port instead");
                tokio::net::TcpListener::bind(SocketAddr::new(self.sql_host, 0)).await.map_err(AwsError::internal)?
            }
        };
        let bound = listener.local_addr().map_err(AwsError::internal)?.port();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(nuage_warehouse::serve(wh.clone(), listener, stopped));
        tracing::info!(compute = %on.compute, port = bound, "Redshift database listening");
        lock(&self.running).insert(key.to_string(), Running { warehouse: wh, stop });
        Ok(bound)
    }

    /// Opens a database without serving it; the first time, it is created with its master
    /// user and `password`.
    async fn open_database(&self, db: Database, password: &str) -> AwsResult<Arc<Warehouse>> {
        let (password, memory) = (password.to_string(), self.warehouse_memory);
        let Database { dir, name, master } = db;
        tokio::task::spawn_blocking(move || Warehouse::open(&dir, &name, &master, &password, memory))
            .await
            .map_err(AwsError::internal)?
            .map_err(sql_err)
    }

    /// Copies a database into `to` (a snapshot, a restore's start): through its warehouse
    /// while one serves it (between two commits), else from its directory.
    async fn copy_database(
        &self,
        running: Option<Arc<Warehouse>>,
        from: PathBuf,
        to: &std::path::Path,
    ) -> AwsResult<()> {
        match running {
            Some(wh) => wh.copy_to(to).await.map_err(sql_err),
            None => {
                let to = to.to_path_buf();
                tokio::task::spawn_blocking(move || nuage_warehouse::copy_database(&from, &to))
                    .await
                    .map_err(AwsError::internal)?
                    .map_err(sql_err)
            }
        }
    }

    /// Stops what runs under `key`, if anything does.
    fn stop_key(&self, key: &str) {
        if let Some(r) = lock(&self.running).remove(key) {
            let _ = r.stop.send(true);
        }
    }

    fn running_warehouse(&self, key: &str) -> Option<Arc<Warehouse>> {
        lock(&self.running).get(key).map(|r| r.warehouse.clone())
    }

    /// What COPY, UNLOAD and the SQL port's admission need of the compute serving a database.
    pub(crate) fn facts(&self, account: &str, region: &str, compute: &Compute) -> AwsResult<Option<ComputeFacts>> {
        match compute {
            Compute::Cluster(id) => Ok(self.get(account, region, id)?.map(|c| ComputeFacts {
                subnet: subnet_groups::cluster_subnet(self, &c),
                source_arn: c.arn(),
                dbuser_prefix: format!("arn:aws:redshift:{}:{}:dbuser:{}", c.region, c.account, c.identifier),
                iam_roles: c.iam_roles,
                default_iam_role: c.default_iam_role,
                namespace_uuid: c.namespace_uuid,
                security_groups: c.vpc_security_group_ids,
                port: c.port,
                bound_port: c.bound_port,
            })),
            Compute::Workgroup(name) => serverless::facts(self, account, region, name),
        }
    }

    fn stop(&self, c: &ClusterRecord) {
        self.stop_key(&c.key());
    }

    async fn remove_cluster(&self, c: &ClusterRecord) -> AwsResult<()> {
        self.stop(c);
        let k = c.key();
        self.store.write(move |w| w.delete(CLUSTERS, &k)).await?;
        let dir = self.cluster_dir(&c.account, &c.region, &c.identifier);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        Ok(())
    }

    /// Forgets running clusters after the store was emptied.
    pub fn reset(&self) {
        let all: Vec<Running> = lock(&self.running).drain().map(|(_, r)| r).collect();
        for r in all {
            let _ = r.stop.send(true);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
