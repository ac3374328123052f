//! The warehouse of one cluster: its committed state, commits, users and credentials, and
//! the DataFusion catalog through which a session sees a state.
use crate::error::{SqlError, SqlResult};
use crate::external::{Admission, External};
use crate::state::{Catalog, DbState, Disk, SchemaMeta, UserMeta};
use crate::system;
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::{CatalogProvider, MemTable, SchemaProvider, TableProvider};
use datafusion::common::DataFusionError;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(l: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    l.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The database user a login name stands for: temporary credentials log in as `IAM:user`,
/// `IAMA:user` (auto-created) or `IAMR:role`.
pub fn database_user(login: &str) -> String {
    for prefix in ["IAM:", "IAMA:"] {
        if let Some(u) = login.strip_prefix(prefix) {
            return u.to_string();
        }
    }
    if let Some(r) = login.strip_prefix("IAMR:") {
        return format!("iamr:{}", r.to_ascii_lowercase());
    }
    login.to_string()
}

/// md5(password || user), hex: what PostgreSQL and Redshift keep for a password.
pub fn password_md5(user: &str, password: &str) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(format!("{password}{user}").as_bytes()))
}

/// One statement as STL_QUERY records it.
#[derive(Clone, Debug)]
pub struct QueryRecord {
    pub query: i64,
    pub pid: i32,
    pub user: String,
    pub text: String,
    pub start_us: i64,
    pub end_us: i64,
    pub aborted: bool,
    /// The session's query_group when it ran (STL_QUERY's label).
    pub label: String,
}

/// An open session, as STV_SESSIONS shows it.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub user: String,
    pub start_us: i64,
}

/// One rejected row of a COPY, as STL_LOAD_ERRORS shows it.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub query: i64,
    pub pid: i32,
    pub user: String,
    pub table_id: u64,
    pub time_us: i64,
    pub filename: String,
    pub line_number: i64,
    pub colname: String,
    pub coltype: String,
    pub col_length: String,
    pub position: i32,
    pub raw_line: String,
    pub raw_field_value: String,
    pub err_code: i32,
    pub err_reason: String,
}

/// One file a COPY read, as STL_LOAD_COMMITS shows it.
#[derive(Clone, Debug)]
pub struct LoadCommit {
    pub query: i64,
    pub user: String,
    pub filename: String,
    pub lines_scanned: i64,
    pub errors: i64,
    pub time_us: i64,
    /// Whether the COPY committed its rows.
    pub committed: bool,
}

/// A COPY under way, as STV_LOAD_STATE shows it: updated as its files are read.
#[derive(Debug, Default)]
pub struct LoadState {
    pub query: i64,
    pub pid: i32,
    pub user: String,
    pub num_files: i64,
    /// What the files hold on S3: counted as compressed bytes when COPY decompresses them.
    pub bytes_to_load: i64,
    pub compressed: bool,
    pub bytes_loaded: std::sync::atomic::AtomicI64,
    pub bytes_loaded_compressed: std::sync::atomic::AtomicI64,
    pub lines: std::sync::atomic::AtomicI64,
    pub files_complete: std::sync::atomic::AtomicI64,
    pub current_file: Mutex<String>,
}

/// Removes a COPY from STV_LOAD_STATE when it ends, however it ends.
pub struct LoadGuard {
    warehouse: std::sync::Weak<Warehouse>,
    pub state: Arc<LoadState>,
}

impl Drop for LoadGuard {
    fn drop(&mut self) {
        if let Some(w) = self.warehouse.upgrade() {
            lock(&w.loads).retain(|l| !Arc::ptr_eq(l, &self.state));
        }
    }
}

/// Temporary credentials from GetClusterCredentials: accepted until they expire.
#[derive(Clone, Debug)]
struct TemporaryCredential {
    password_md5: String,
    expires: i64,
    /// The database user the login stands for (`IAM:alice` is `alice` for
    /// GetClusterCredentials, `iam:alice` for the IAM-mapped kinds).
    user: String,
}

pub struct Warehouse {
    disk: Disk,
    committed: RwLock<Arc<DbState>>,
    /// One writer at a time: autocommit statements and COMMITs are serialised here.
    pub(crate) commit_lock: tokio::sync::Mutex<()>,
    temporary: Mutex<HashMap<String, TemporaryCredential>>,
    queries: Mutex<VecDeque<QueryRecord>>,
    next_query: AtomicU64,
    next_pid: AtomicI32,
    load_errors: Mutex<VecDeque<LoadError>>,
    load_commits: Mutex<VecDeque<LoadCommit>>,
    /// The COPY commands running now (STV_LOAD_STATE).
    loads: Mutex<Vec<Arc<LoadState>>>,
    /// The open sessions (STV_SESSIONS), by process id.
    sessions: Mutex<std::collections::BTreeMap<i32, SessionInfo>>,
    external: std::sync::OnceLock<Arc<dyn External>>,
    admission: std::sync::OnceLock<Arc<dyn Admission>>,
    /// The values new sessions start from where they differ from Redshift's defaults (a
    /// serverless workgroup's config parameters); RESET returns to them.
    session_defaults: RwLock<std::collections::BTreeMap<String, String>>,
    /// Shared by the cluster's sessions: its memory budget, spill directory, and the caches
    /// of its segment files' metadata and statistics.
    pub(crate) runtime: Arc<RuntimeEnv>,
    memory: usize,
}

const QUERY_LOG_LIMIT: usize = 10_000;

impl Warehouse {
    /// Opens the database kept in `dir`, creating it with its master user when it is new.
    /// `memory` bounds what its queries hold at once: joins, aggregations and sorts past it
    /// spill to `<dir>/spill`, and what cannot spill fails with 53200, as Redshift does.
    pub fn open(
        dir: &Path,
        database: &str,
        master_user: &str,
        master_password: &str,
        memory: usize,
    ) -> SqlResult<Arc<Warehouse>> {
        std::fs::create_dir_all(dir).map_err(SqlError::internal)?;
        let spill = dir.join("spill");
        // Spill files of a previous run are never read again.
        let _ = std::fs::remove_dir_all(&spill);
        std::fs::create_dir_all(&spill).map_err(SqlError::internal)?;
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::new(FairSpillPool::new(memory)))
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![spill])),
            )
            .build_arc()
            .map_err(SqlError::internal)?;
        let disk = Disk { dir: dir.to_path_buf(), pending: Default::default() };
        let state = if disk.exists() {
            let st = disk.load()?;
            disk.collect_garbage(&st.catalog);
            st
        } else {
            let mut catalog = Catalog { database: database.to_string(), ..Default::default() };
            catalog
                .schemas
                .insert("public".into(), SchemaMeta { owner: master_user.to_string(), ..Default::default() });
            catalog.users.insert(
                "rdsdb".into(),
                UserMeta { id: 1, password_md5: None, superuser: true, createdb: true, ..Default::default() },
            );
            // A database opened with `rdsdb` as its master has no admin login (a serverless
            // namespace created without admin credentials): only IAM logins reach it.
            if master_user != "rdsdb" {
                catalog.users.insert(
                    master_user.to_string(),
                    UserMeta {
                        id: 100,
                        password_md5: Some(password_md5(master_user, master_password)),
                        superuser: true,
                        createdb: true,
                        ..Default::default()
                    },
                );
            }
            catalog.next_id = 100_000;
            let mut st = DbState { catalog, data_dir: disk.data_dir(), ..Default::default() };
            disk.persist(&mut st)?;
            st
        };
        Ok(Arc::new(Warehouse {
            runtime,
            memory,
            disk,
            committed: RwLock::new(Arc::new(state)),
            commit_lock: tokio::sync::Mutex::new(()),
            temporary: Mutex::new(HashMap::new()),
            queries: Mutex::new(VecDeque::new()),
            next_query: AtomicU64::new(1000),
            next_pid: AtomicI32::new(1073741000),
            load_errors: Mutex::new(VecDeque::new()),
            load_commits: Mutex::new(VecDeque::new()),
            loads: Mutex::new(Vec::new()),
            sessions: Mutex::new(std::collections::BTreeMap::new()),
            external: std::sync::OnceLock::new(),
            admission: std::sync::OnceLock::new(),
            session_defaults: RwLock::new(Default::default()),
        }))
    }

    /// What the cluster's queries may hold at once, in bytes.
    pub(crate) fn memory_budget(&self) -> usize {
        self.memory
    }

    pub(crate) fn disk(&self) -> &Disk {
        &self.disk
    }

    /// Gives COPY and UNLOAD their way to S3 (set once, by whoever runs the warehouse).
    pub fn set_external(&self, external: Arc<dyn External>) {
        let _ = self.external.set(external);
    }

    pub(crate) fn external(&self) -> Option<Arc<dyn External>> {
        self.external.get().cloned()
    }

    /// Decides who may connect (set once; everyone, when never set).
    pub fn set_admission(&self, admission: Arc<dyn Admission>) {
        let _ = self.admission.set(admission);
    }

    pub(crate) fn admission(&self) -> Option<Arc<dyn Admission>> {
        self.admission.get().cloned()
    }

    /// Sets what sessions opened from now on start from; each value must pass SET's checks.
    pub fn set_session_defaults(&self, defaults: std::collections::BTreeMap<String, String>) -> SqlResult<()> {
        for (k, v) in &defaults {
            crate::functions::system::check_setting(k, v).map_err(SqlError::from)?;
        }
        *self.session_defaults.write().unwrap_or_else(|e| e.into_inner()) = defaults;
        Ok(())
    }

    pub(crate) fn session_defaults(&self) -> std::collections::BTreeMap<String, String> {
        self.session_defaults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn log_load(&self, errors: Vec<LoadError>, commits: Vec<LoadCommit>) {
        let mut e = lock(&self.load_errors);
        e.extend(errors);
        while e.len() > QUERY_LOG_LIMIT {
            e.pop_front();
        }
        let mut c = lock(&self.load_commits);
        c.extend(commits);
        while c.len() > QUERY_LOG_LIMIT {
            c.pop_front();
        }
    }

    pub fn load_errors(&self) -> Vec<LoadError> {
        lock(&self.load_errors).iter().cloned().collect()
    }

    /// Registers a COPY that starts; it leaves STV_LOAD_STATE when the guard drops.
    pub fn start_load(self: &Arc<Self>, state: LoadState) -> LoadGuard {
        let state = Arc::new(state);
        lock(&self.loads).push(state.clone());
        LoadGuard { warehouse: Arc::downgrade(self), state }
    }

    /// Opens a session for `user`, refused past the user's CONNECTION LIMIT (superusers are
    /// not limited).
    pub(crate) fn open_session(&self, pid: i32, user: &str) -> SqlResult<()> {
        let st = self.committed();
        let mut sessions = lock(&self.sessions);
        if let Some(u) = st.catalog.users.get(user) {
            if let (Some(limit), false) = (u.connection_limit, u.superuser) {
                if sessions.values().filter(|s| s.user == user).count() >= limit as usize {
                    return Err(SqlError::new("53300", format!("too many connections for role \"{user}\"")));
                }
            }
        }
        sessions.insert(pid, SessionInfo { user: user.to_string(), start_us: chrono::Utc::now().timestamp_micros() });
        Ok(())
    }

    pub(crate) fn close_session(&self, pid: i32) {
        lock(&self.sessions).remove(&pid);
    }

    pub fn sessions(&self) -> Vec<(i32, SessionInfo)> {
        lock(&self.sessions).iter().map(|(p, s)| (*p, s.clone())).collect()
    }

    pub fn loads(&self) -> Vec<Arc<LoadState>> {
        lock(&self.loads).clone()
    }

    pub fn load_commits(&self) -> Vec<LoadCommit> {
        lock(&self.load_commits).iter().cloned().collect()
    }

    pub fn dir(&self) -> &PathBuf {
        &self.disk.dir
    }

    pub fn database(&self) -> String {
        read(&self.committed).catalog.database.clone()
    }

    pub fn committed(&self) -> Arc<DbState> {
        read(&self.committed).clone()
    }

    pub(crate) fn new_pid(&self) -> i32 {
        self.next_pid.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn new_query_id(&self) -> i64 {
        self.next_query.fetch_add(1, Ordering::Relaxed) as i64
    }

    pub(crate) fn log_query(&self, r: QueryRecord) {
        let mut q = lock(&self.queries);
        if q.len() >= QUERY_LOG_LIMIT {
            q.pop_front();
        }
        q.push_back(r);
    }

    pub fn query_log(&self) -> Vec<QueryRecord> {
        lock(&self.queries).iter().cloned().collect()
    }

    /// Makes `new` the committed state. The caller holds `commit_lock`; `dirty` names the
    /// tables whose rows changed.
    pub(crate) async fn commit(&self, mut new: DbState, dirty: &HashSet<u64>) -> SqlResult<()> {
        let version = read(&self.committed).version + 1;
        new.version = version;
        for id in dirty {
            new.table_versions.insert(*id, version);
        }
        let disk = self.disk.clone();
        let new = tokio::task::spawn_blocking(move || disk.persist(&mut new).map(|_| new))
            .await
            .map_err(SqlError::internal)??;
        *write(&self.committed) = Arc::new(new);
        Ok(())
    }

    /// Changes the catalog alone (users, passwords), durably.
    pub async fn update_catalog(&self, f: impl FnOnce(&mut Catalog) -> SqlResult<()>) -> SqlResult<()> {
        let _one = self.commit_lock.lock().await;
        let mut st = (*self.committed()).clone();
        f(&mut st.catalog)?;
        self.commit(st, &HashSet::new()).await
    }

    /// Sets a user's password (ModifyCluster's MasterUserPassword), creating the user if needed.
    pub async fn set_password(&self, user: &str, password: &str, superuser: bool) -> SqlResult<()> {
        let md5 = password_md5(user, password);
        self.update_catalog(|c| {
            let next = c.users.values().map(|u| u.id).max().unwrap_or(100) + 1;
            let u = c.users.entry(user.to_string()).or_insert(UserMeta {
                id: next,
                password_md5: None,
                superuser,
                createdb: superuser,
                ..Default::default()
            });
            u.password_md5 = Some(md5);
            Ok(())
        })
        .await
    }

    /// Accepts `password` for the login name `login` (`IAM:user`) until `expires`
    /// (GetClusterCredentials); the session runs as `user`, created when missing with
    /// `auto_create`, and joins `groups`.
    pub async fn grant_temporary(
        &self,
        login: &str,
        user: &str,
        password: &str,
        expires: i64,
        auto_create: bool,
        groups: &[String],
    ) -> SqlResult<()> {
        let exists = self.committed().catalog.users.contains_key(user);
        if !exists && !auto_create {
            return Err(SqlError::new("28000", format!("user \"{user}\" does not exist")));
        }
        if !exists || !groups.is_empty() {
            self.update_catalog(|c| {
                let next = c.users.values().map(|u| u.id).max().unwrap_or(100) + 1;
                c.users.entry(user.to_string()).or_insert(UserMeta {
                    id: next,
                    password_md5: None,
                    superuser: false,
                    createdb: false,
                    ..Default::default()
                });
                for g in groups {
                    c.groups.entry(g.to_lowercase()).or_default().insert(user.to_string());
                }
                Ok(())
            })
            .await?;
        }
        lock(&self.temporary).insert(
            login.to_string(),
            TemporaryCredential { password_md5: password_md5(login, password), expires, user: user.to_string() },
        );
        Ok(())
    }

    /// The database user a login name logs in as: the one its live temporary credential was
    /// granted for, else what the name itself says.
    pub fn login_user(&self, login: &str) -> String {
        match lock(&self.temporary).get(login) {
            Some(t) if t.expires > now_secs() => t.user.clone(),
            _ => database_user(login),
        }
    }

    /// The md5 hash a login must answer with: a live temporary credential for that login
    /// name, else the user's own password.
    pub fn login_hash(&self, login: &str) -> Option<String> {
        let now = now_secs();
        if let Some(t) = lock(&self.temporary).get(login) {
            if t.expires > now {
                return Some(t.password_md5.clone());
            }
        }
        let u = self.committed().catalog.users.get(login).cloned()?;
        if u.valid_until.is_some_and(|t| t <= now) {
            return None;
        }
        u.password_md5
    }

    /// Copies the committed database into `to` (a snapshot, or a restore's starting point).
    pub async fn copy_to(&self, to: &Path) -> SqlResult<()> {
        let _one = self.commit_lock.lock().await;
        copy_database(&self.disk.dir, to)
    }
}

/// Copies a database directory (catalog and the segments it names).
pub fn copy_database(from: &Path, to: &Path) -> SqlResult<()> {
    let err = |e: std::io::Error| SqlError::new("58030", format!("could not copy the database: {e}"));
    std::fs::create_dir_all(to.join("data")).map_err(err)?;
    let catalog: Catalog =
        serde_json::from_slice(&std::fs::read(from.join("catalog.json")).map_err(err)?).map_err(SqlError::internal)?;
    // Segment files are written once under fresh random names and never changed: the copy
    // shares them by hard link (a snapshot costs no space until the tables change), and
    // copies them only where links are not possible (another file system).
    for t in catalog.schemas.values().flat_map(|s| s.tables.values()) {
        for f in &t.segments {
            let (src, dst) = (from.join("data").join(f), to.join("data").join(f));
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).map_err(err)?;
            }
        }
    }
    std::fs::copy(from.join("catalog.json"), to.join("catalog.json")).map_err(err)?;
    Ok(())
}

/// The state one session reads: the committed state, or its transaction's working copy.
#[derive(Debug, Default)]
pub struct View(RwLock<Arc<DbState>>);

impl View {
    pub fn new(st: Arc<DbState>) -> View {
        View(RwLock::new(st))
    }

    pub fn get(&self) -> Arc<DbState> {
        read(&self.0).clone()
    }

    pub fn set(&self, st: Arc<DbState>) {
        *write(&self.0) = st;
    }
}

/// The database as DataFusion's catalog: its schemas come from the session's view; other
/// schemas (pg_catalog, information_schema) are registered beside them.
#[derive(Debug)]
pub struct DatabaseCatalog {
    pub view: Arc<View>,
    pub system: Arc<system::SystemTables>,
    extra: Arc<RwLock<HashMap<String, Arc<dyn SchemaProvider>>>>,
}

impl DatabaseCatalog {
    pub fn new(view: Arc<View>, system: Arc<system::SystemTables>) -> DatabaseCatalog {
        DatabaseCatalog { view, system, extra: Arc::new(RwLock::new(HashMap::new())) }
    }
}

impl CatalogProvider for DatabaseCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.view.get().catalog.schemas.keys().cloned().collect();
        names.extend(read(&self.extra).keys().cloned());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if let Some(s) = read(&self.extra).get(name) {
            if name == "pg_catalog" {
                return Some(Arc::new(PgCatalogSchema {
                    base: s.clone(),
                    view: self.view.clone(),
                    system: self.system.clone(),
                }));
            }
            return Some(s.clone());
        }
        if self.view.get().catalog.schemas.contains_key(name) {
            return Some(Arc::new(DatabaseSchema {
                view: self.view.clone(),
                system: self.system.clone(),
                extra: self.extra.clone(),
                name: name.to_string(),
            }));
        }
        None
    }

    fn register_schema(
        &self,
        name: &str,
        schema: Arc<dyn SchemaProvider>,
    ) -> datafusion::common::Result<Option<Arc<dyn SchemaProvider>>> {
        Ok(write(&self.extra).insert(name.to_string(), schema))
    }
}

/// pg_catalog as Redshift has it: its system views and the catalog relations computed from
/// the warehouse's catalog first, then datafusion-pg-catalog's tables.
#[derive(Debug)]
struct PgCatalogSchema {
    base: Arc<dyn SchemaProvider>,
    view: Arc<View>,
    system: Arc<system::SystemTables>,
}

#[async_trait::async_trait]
impl SchemaProvider for PgCatalogSchema {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.base.table_names();
        names.extend(crate::pg_catalog::NAMES.iter().map(|n| n.to_string()));
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        let st = self.view.get();
        if let Some(batch) = self.system.table(name, &st).map_err(|e| DataFusionError::External(Box::new(e)))? {
            return Ok(Some(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?)));
        }
        self.base.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.system.has(name) || self.base.table_exist(name)
    }
}

#[derive(Debug)]
struct DatabaseSchema {
    view: Arc<View>,
    system: Arc<system::SystemTables>,
    /// pg_catalog is searched after the schema, as PostgreSQL's search path implies.
    extra: Arc<RwLock<HashMap<String, Arc<dyn SchemaProvider>>>>,
    name: String,
}

/// Splits a table's batches over a few partitions so scans run in parallel.
pub fn partitioned(batches: Vec<RecordBatch>, n: usize) -> Vec<Vec<RecordBatch>> {
    let n = n.clamp(1, batches.len().max(1));
    let mut parts = vec![Vec::new(); n];
    for (i, b) in batches.into_iter().enumerate() {
        parts[i % n].push(b);
    }
    parts
}

#[async_trait::async_trait]
impl SchemaProvider for DatabaseSchema {
    fn table_names(&self) -> Vec<String> {
        self.view.get().catalog.schemas.get(&self.name).map(|s| s.tables.keys().cloned().collect()).unwrap_or_default()
    }

    async fn table(&self, name: &str) -> datafusion::common::Result<Option<Arc<dyn TableProvider>>> {
        let st = self.view.get();
        if let Some(t) = st.table(&self.name, name) {
            return Ok(Some(Arc::new(st.provider(t))));
        }
        // Redshift's system views resolve from any schema on the search path.
        if let Some(batch) = self.system.table(name, &st).map_err(|e| DataFusionError::External(Box::new(e)))? {
            return Ok(Some(Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]])?)));
        }
        let pg_catalog = read(&self.extra).get("pg_catalog").cloned();
        match pg_catalog {
            Some(pg) => pg.table(name).await,
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.view.get().table(&self.name, name).is_some() || self.system.has(name)
    }
}
