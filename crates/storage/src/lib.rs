//! Durable state: metadata in one redb database written with group commit, object bytes
//! inline in that database (small) or in fsynced files (large), committed atomically.

use bytes::Bytes;
use nuage_core::AwsError;
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, TableHandle, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

pub use redb;

/// Bodies up to this size live in the metadata database and share its group commit.
pub const INLINE_LIMIT: usize = 64 * 1024;

const INLINE_BLOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("_blobs_inline");
const BLOB_FILES: TableDefinition<&str, &[u8]> = TableDefinition::new("_blobs_files");

/// A table of JSON-encoded values keyed by string; every service keeps its state in these.
pub type JsonTable = TableDefinition<'static, &'static str, &'static [u8]>;

/// Where a committed body lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub id: String,
    pub len: u64,
    pub inline: bool,
}

/// A committed blob, ready to be read.
pub enum BlobSource {
    Bytes(Bytes),
    File(std::fs::File),
}

/// Bytes made durable (or ready to be) but not yet referenced by any committed metadata.
pub enum StagedBlob {
    Inline(Bytes),
    File { id: String, len: u64 },
}

type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued write: runs against the shared transaction, says whether to keep its effects,
/// which files to delete after commit, and how to report the commit's outcome.
type Job = Box<dyn FnOnce(&WriteTransaction, &Path) -> (bool, Vec<PathBuf>, Completion) + Send>;

/// A table of raw values keyed by bytes, in byte order: for state whose keys are encoded to
/// sort as the service orders them (DynamoDB's items by partition and sort key).
pub type BytesTable = TableDefinition<'static, &'static [u8], &'static [u8]>;

type BytesEntry<'a> = (redb::AccessGuard<'a, &'static [u8]>, redb::AccessGuard<'a, &'static [u8]>);

/// The smallest key greater than every key starting with `prefix`: the exclusive end of a
/// prefix range in a `BytesTable`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xff {
            s.push(last + 1);
            return s;
        }
    }
    vec![0xff; prefix.len() + 1]
}

/// A key of either kind of table; the overlay keeps both apart.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Str(String),
    Bytes(Vec<u8>),
}

/// Pending writes of one job: (table, key) to the new value, or `None` for a deletion.
type Overlay = std::collections::BTreeMap<(String, Key), Option<Vec<u8>>>;

/// The handle a write closure gets. Its writes go to an overlay that reads see and that is
/// applied to the shared transaction only if the closure succeeds, so a failed write changes
/// nothing even though it shares a commit with others.
pub struct WriteCtx<'a> {
    txn: &'a WriteTransaction,
    blob_dir: &'a Path,
    overlay: RefCell<Overlay>,
    deletions: RefCell<Vec<PathBuf>>,
}

fn db_err(e: impl std::fmt::Display) -> AwsError {
    AwsError::internal(format!("storage: {e}"))
}

impl WriteCtx<'_> {
    fn raw_get(&self, table: JsonTable, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        if let Some(v) = self.overlay.borrow().get(&(table.name().to_string(), Key::Str(key.to_string()))) {
            return Ok(v.clone());
        }
        let t = self.txn.open_table(table).map_err(db_err)?;
        let v = t.get(key).map_err(db_err)?;
        Ok(v.map(|g| g.value().to_vec()))
    }
    fn raw_put(&self, table: JsonTable, key: &str, value: Option<Vec<u8>>) {
        self.overlay.borrow_mut().insert((table.name().to_string(), Key::Str(key.to_string())), value);
    }
    /// The value under `key` in a bytes table, as this write sees it.
    pub fn get_bytes(&self, table: BytesTable, key: &[u8]) -> Result<Option<Vec<u8>>, AwsError> {
        if let Some(v) = self.overlay.borrow().get(&(table.name().to_string(), Key::Bytes(key.to_vec()))) {
            return Ok(v.clone());
        }
        let t = self.txn.open_table(table).map_err(db_err)?;
        let v = t.get(key).map_err(db_err)?;
        Ok(v.map(|g| g.value().to_vec()))
    }
    pub fn put_bytes(&self, table: BytesTable, key: &[u8], value: Vec<u8>) {
        self.overlay.borrow_mut().insert((table.name().to_string(), Key::Bytes(key.to_vec())), Some(value));
    }
    pub fn delete_bytes(&self, table: BytesTable, key: &[u8]) {
        self.overlay.borrow_mut().insert((table.name().to_string(), Key::Bytes(key.to_vec())), None);
    }
    /// The keys of a bytes table starting with `prefix`, in order, as this write sees them.
    pub fn keys_with_prefix(&self, table: BytesTable, prefix: &[u8]) -> Result<Vec<Vec<u8>>, AwsError> {
        let mut merged = std::collections::BTreeMap::new();
        {
            let t = self.txn.open_table(table).map_err(db_err)?;
            for item in t.range(prefix..).map_err(db_err)? {
                let (k, _) = item.map_err(db_err)?;
                if !k.value().starts_with(prefix) {
                    break;
                }
                merged.insert(k.value().to_vec(), true);
            }
        }
        for ((tname, k), v) in self.overlay.borrow().iter() {
            if let Key::Bytes(k) = k {
                if tname == table.name() && k.starts_with(prefix) {
                    merged.insert(k.clone(), v.is_some());
                }
            }
        }
        Ok(merged.into_iter().filter(|(_, live)| *live).map(|(k, _)| k).collect())
    }
    pub fn get<T: DeserializeOwned>(&self, table: JsonTable, key: &str) -> Result<Option<T>, AwsError> {
        self.raw_get(table, key)?.map(|v| serde_json::from_slice(&v).map_err(db_err)).transpose()
    }
    pub fn put<T: Serialize>(&self, table: JsonTable, key: &str, value: &T) -> Result<(), AwsError> {
        self.raw_put(table, key, Some(serde_json::to_vec(value).map_err(db_err)?));
        Ok(())
    }
    pub fn delete(&self, table: JsonTable, key: &str) -> Result<(), AwsError> {
        self.raw_put(table, key, None);
        Ok(())
    }
    /// Every (key, value) whose key starts with `prefix`, in key order.
    pub fn scan<T: DeserializeOwned>(&self, table: JsonTable, prefix: &str) -> Result<Vec<(String, T)>, AwsError> {
        let mut merged = std::collections::BTreeMap::new();
        {
            let t = self.txn.open_table(table).map_err(db_err)?;
            for item in t.range(prefix..).map_err(db_err)? {
                let (k, v) = item.map_err(db_err)?;
                if !k.value().starts_with(prefix) {
                    break;
                }
                merged.insert(k.value().to_string(), Some(v.value().to_vec()));
            }
        }
        for ((tname, k), v) in self.overlay.borrow().iter() {
            if let Key::Str(k) = k {
                if tname == table.name() && k.starts_with(prefix) {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .map(|(k, v)| Ok((k, serde_json::from_slice(&v).map_err(db_err)?)))
            .collect()
    }
    /// Makes a staged blob part of this transaction.
    pub fn commit_blob(&self, staged: StagedBlob) -> Result<BlobRef, AwsError> {
        match staged {
            StagedBlob::Inline(bytes) => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                let len = bytes.len() as u64;
                self.raw_put(INLINE_BLOBS, &id, Some(bytes.to_vec()));
                Ok(BlobRef { id, len, inline: true })
            }
            StagedBlob::File { id, len } => {
                self.raw_put(BLOB_FILES, &id, Some(len.to_string().into_bytes()));
                Ok(BlobRef { id, len, inline: false })
            }
        }
    }
    /// Drops a blob; a file is removed once the transaction has committed.
    pub fn drop_blob(&self, blob: &BlobRef) -> Result<(), AwsError> {
        if blob.inline {
            self.raw_put(INLINE_BLOBS, &blob.id, None);
        } else {
            self.raw_put(BLOB_FILES, &blob.id, None);
            self.deletions.borrow_mut().push(self.blob_dir.join(&blob.id));
        }
        Ok(())
    }
    /// Copies a committed inline blob into a new one; file blobs are copied by the caller.
    pub fn duplicate_blob(&self, blob: &BlobRef) -> Result<Option<BlobRef>, AwsError> {
        if !blob.inline {
            return Ok(None);
        }
        let data = self.raw_get(INLINE_BLOBS, &blob.id)?;
        data.map(|d| self.commit_blob(StagedBlob::Inline(Bytes::from(d)))).transpose()
    }

    /// Writes the overlay into the shared transaction.
    fn apply(self) -> Result<Vec<PathBuf>, String> {
        for ((tname, key), value) in self.overlay.into_inner() {
            match key {
                Key::Str(key) => {
                    let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&tname);
                    let mut t = self.txn.open_table(def).map_err(|e| e.to_string())?;
                    match value {
                        Some(v) => t.insert(key.as_str(), v.as_slice()).map(|_| ()),
                        None => t.remove(key.as_str()).map(|_| ()),
                    }
                    .map_err(|e| e.to_string())?;
                }
                Key::Bytes(key) => {
                    let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&tname);
                    let mut t = self.txn.open_table(def).map_err(|e| e.to_string())?;
                    match value {
                        Some(v) => t.insert(key.as_slice(), v.as_slice()).map(|_| ()),
                        None => t.remove(key.as_slice()).map(|_| ()),
                    }
                    .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(self.deletions.into_inner())
    }
}

/// A read snapshot.
pub struct Snapshot {
    txn: ReadTransaction,
}

impl Snapshot {
    pub fn get<T: DeserializeOwned>(&self, table: JsonTable, key: &str) -> Result<Option<T>, AwsError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let v = t.get(key).map_err(db_err)?;
        v.map(|g| serde_json::from_slice(g.value()).map_err(db_err)).transpose()
    }
    /// Up to `limit` entries whose key starts with `prefix`, starting at `start` (inclusive).
    pub fn scan_from<T: DeserializeOwned>(
        &self,
        table: JsonTable,
        prefix: &str,
        start: &str,
        limit: usize,
    ) -> Result<Vec<(String, T)>, AwsError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_err(e)),
        };
        let from = if start > prefix { start } else { prefix };
        let mut out = Vec::new();
        for item in t.range(from..).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let key = k.value();
            if !key.starts_with(prefix) || out.len() >= limit {
                break;
            }
            out.push((key.to_string(), serde_json::from_slice(v.value()).map_err(db_err)?));
        }
        Ok(out)
    }
    pub fn scan<T: DeserializeOwned>(&self, table: JsonTable, prefix: &str) -> Result<Vec<(String, T)>, AwsError> {
        self.scan_from(table, prefix, prefix, usize::MAX)
    }
    /// How many entries a table holds (none when it was never written).
    pub fn count(&self, table: JsonTable) -> Result<u64, AwsError> {
        use redb::ReadableTableMetadata;
        match self.txn.open_table(table) {
            Ok(t) => t.len().map_err(db_err),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(db_err(e)),
        }
    }
    /// The value under `key` in a bytes table.
    pub fn get_bytes(&self, table: BytesTable, key: &[u8]) -> Result<Option<Vec<u8>>, AwsError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        Ok(t.get(key).map_err(db_err)?.map(|g| g.value().to_vec()))
    }
    /// Visits the entries of a bytes table between `lower` and `upper`, forward or backward,
    /// until `visit` answers false.
    pub fn range_bytes(
        &self,
        table: BytesTable,
        lower: std::ops::Bound<&[u8]>,
        upper: std::ops::Bound<&[u8]>,
        forward: bool,
        mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, AwsError>,
    ) -> Result<(), AwsError> {
        let t = match self.txn.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(db_err(e)),
        };
        let range = t.range::<&[u8]>((lower, upper)).map_err(db_err)?;
        let mut step = |item: Result<BytesEntry, redb::StorageError>| {
            let (k, v) = item.map_err(db_err)?;
            visit(k.value(), v.value())
        };
        if forward {
            for item in range {
                if !step(item)? {
                    break;
                }
            }
        } else {
            for item in range.rev() {
                if !step(item)? {
                    break;
                }
            }
        }
        Ok(())
    }
    fn inline_blob(&self, id: &str) -> Result<Option<Bytes>, AwsError> {
        let t = match self.txn.open_table(INLINE_BLOBS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db_err(e)),
        };
        let v = t.get(id).map_err(db_err)?;
        Ok(v.map(|g| Bytes::copy_from_slice(g.value())))
    }
}

struct Inner {
    db: Arc<Database>,
    blob_dir: PathBuf,
    jobs: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// The durable store shared by all services.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// Opens (or creates) the store under `dir`, removing blob files that no committed
    /// metadata references (the remains of writes interrupted by a crash).
    pub fn open(dir: &Path) -> std::io::Result<Store> {
        let blob_dir = dir.join("blobs");
        std::fs::create_dir_all(&blob_dir)?;
        let db = Database::create(dir.join("meta.redb")).map_err(std::io::Error::other)?;
        let db = Arc::new(db);
        {
            let txn = db.begin_write().map_err(std::io::Error::other)?;
            txn.open_table(INLINE_BLOBS).map_err(std::io::Error::other)?;
            txn.open_table(BLOB_FILES).map_err(std::io::Error::other)?;
            txn.commit().map_err(std::io::Error::other)?;
        }
        collect_orphans(&db, &blob_dir)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_db = db.clone();
        let writer_dir = blob_dir.clone();
        let writer = std::thread::Builder::new()
            .name("nuage-commit".into())
            .spawn(move || commit_loop(writer_db, writer_dir, rx))?;
        Ok(Store {
            inner: Arc::new(Inner { db, blob_dir, jobs: std::sync::Mutex::new(Some(tx)), writer: Some(writer) }),
        })
    }

    /// Runs `f` inside a write transaction that is committed (durably) together with the
    /// other writes queued at the same time. If `f` fails, its changes are rolled back alone.
    pub async fn write<T, F>(&self, f: F) -> Result<T, AwsError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteCtx) -> Result<T, AwsError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |txn, blob_dir| {
            let ctx = WriteCtx { txn, blob_dir, overlay: Default::default(), deletions: Default::default() };
            let mut result = f(&ctx);
            let mut deletions = Vec::new();
            if result.is_ok() {
                match ctx.apply() {
                    Ok(d) => deletions = d,
                    Err(e) => result = Err(AwsError::internal(format!("storage: {e}"))),
                }
            }
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(match commit {
                    Ok(()) => result,
                    Err(e) => Err(AwsError::internal(format!("commit failed: {e}"))),
                });
            });
            (ok, deletions, done)
        });
        self.send(job)?;
        rx.await.map_err(|_| AwsError::internal("commit thread gone"))?
    }

    pub fn read(&self) -> Result<Snapshot, AwsError> {
        Ok(Snapshot { txn: self.inner.db.begin_read().map_err(db_err)? })
    }

    /// Prepares a body for commit: small ones stay in memory, large ones are written to a
    /// file and fsynced before this returns.
    pub async fn stage(&self, data: Bytes) -> Result<StagedBlob, AwsError> {
        if data.len() <= INLINE_LIMIT {
            return Ok(StagedBlob::Inline(data));
        }
        let dir = self.inner.blob_dir.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<StagedBlob> {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let tmp = dir.join(format!("{id}.tmp"));
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_data()?;
            std::fs::rename(&tmp, dir.join(&id))?;
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(StagedBlob::File { id, len: data.len() as u64 })
        })
        .await
        .map_err(db_err)?
        .map_err(db_err)
    }

    /// Opens a committed blob for reading as it is sent: a small one's bytes, or its file
    /// (open, so that a delete after this cannot cut the read short).
    pub fn open_blob(&self, blob: &BlobRef) -> Result<BlobSource, AwsError> {
        if blob.inline {
            let snap = self.read()?;
            let bytes = snap.inline_blob(&blob.id)?.ok_or_else(|| AwsError::internal("blob missing"))?;
            return Ok(BlobSource::Bytes(bytes));
        }
        std::fs::File::open(self.inner.blob_dir.join(&blob.id)).map(BlobSource::File).map_err(db_err)
    }

    /// The directory of blob files: a body spooled there by the front door can be adopted
    /// (renamed) without a copy, and one left by a crash is removed at the next start.
    pub fn blob_dir(&self) -> &Path {
        &self.inner.blob_dir
    }

    /// Prepares a body already written to `path` (in the blob directory) for commit: it is
    /// fsynced and renamed, never copied.
    pub async fn adopt(&self, path: PathBuf, len: u64) -> Result<StagedBlob, AwsError> {
        let dir = self.inner.blob_dir.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<StagedBlob> {
            std::fs::File::open(&path)?.sync_data()?;
            let id = uuid::Uuid::new_v4().simple().to_string();
            std::fs::rename(&path, dir.join(&id))?;
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(StagedBlob::File { id, len })
        })
        .await
        .map_err(db_err)?
        .map_err(db_err)
    }

    /// Reads a committed blob whole.
    pub async fn read_blob(&self, blob: &BlobRef) -> Result<Bytes, AwsError> {
        if blob.inline {
            let snap = self.read()?;
            return snap.inline_blob(&blob.id)?.ok_or_else(|| AwsError::internal("blob missing"));
        }
        let path = self.inner.blob_dir.join(&blob.id);
        tokio::fs::read(path).await.map(Bytes::from).map_err(db_err)
    }

    /// Deletes every table (all services' state) and every blob file.
    pub async fn reset(&self) -> Result<(), AwsError> {
        let dir = self.inner.blob_dir.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |txn, _| {
            let result = (|| -> Result<(), String> {
                let names: Vec<String> =
                    txn.list_tables().map_err(|e| e.to_string())?.map(|t| t.name().to_string()).collect();
                for name in names {
                    let def: TableDefinition<&str, &[u8]> = TableDefinition::new(&name);
                    txn.delete_table(def).map_err(|e| e.to_string())?;
                }
                txn.open_table(INLINE_BLOBS).map_err(|e| e.to_string())?;
                txn.open_table(BLOB_FILES).map_err(|e| e.to_string())?;
                Ok(())
            })();
            let deletions: Vec<PathBuf> =
                std::fs::read_dir(&dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
            let ok = result.is_ok();
            let done: Completion = Box::new(move |commit| {
                let _ = tx.send(result.and(commit));
            });
            (ok, deletions, done)
        });
        self.send(job)?;
        rx.await.map_err(|_| AwsError::internal("commit thread gone"))?.map_err(db_err)
    }

    fn send(&self, job: Job) -> Result<(), AwsError> {
        let jobs = self.inner.jobs.lock().map_err(|_| AwsError::internal("store poisoned"))?;
        jobs.as_ref()
            .ok_or_else(|| AwsError::internal("store closed"))?
            .send(job)
            .map_err(|_| AwsError::internal("store closed"))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the commit thread once it has committed what was queued.
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        if let Some(t) = self.writer.take() {
            let _ = t.join();
        }
    }
}

fn collect_orphans(db: &Database, blob_dir: &Path) -> std::io::Result<()> {
    let txn = db.begin_read().map_err(std::io::Error::other)?;
    let files = txn.open_table(BLOB_FILES).map_err(std::io::Error::other)?;
    let mut removed = 0;
    for entry in std::fs::read_dir(blob_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let known = files.get(name.as_str()).map_err(std::io::Error::other)?.is_some();
        if !known {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed blob files of uncommitted writes");
    }
    Ok(())
}

fn commit_loop(db: Arc<Database>, blob_dir: PathBuf, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let txn = match db.begin_write() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot begin a write transaction");
                continue;
            }
        };
        let mut completions = Vec::with_capacity(batch.len());
        let mut deletions = Vec::new();
        for job in batch {
            let (ok, job_deletions, done) = job(&txn, &blob_dir);
            if ok {
                deletions.extend(job_deletions);
            }
            completions.push(done);
        }
        let result = txn.commit().map_err(|e| e.to_string());
        if result.is_ok() {
            for path in deletions {
                let _ = std::fs::remove_file(path);
            }
        }
        for done in completions {
            done(result.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const T: JsonTable = TableDefinition::new("t");

    #[tokio::test]
    async fn failed_write_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = store.write(|c| c.put(T, "a", &1));
        let b = store.write(|c| {
            c.put(T, "b", &2)?;
            Err::<(), _>(AwsError::new("Nope", 400, "no"))
        });
        let (ra, rb) = tokio::join!(a, b);
        assert!(ra.is_ok());
        assert_eq!(rb.unwrap_err().code, "Nope");
        let snap = store.read().unwrap();
        assert_eq!(snap.get::<i32>(T, "a").unwrap(), Some(1));
        assert_eq!(snap.get::<i32>(T, "b").unwrap(), None);
    }

    #[tokio::test]
    async fn blobs_survive_reopen_and_orphans_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let big = Bytes::from(vec![7u8; INLINE_LIMIT + 1]);
        let (small_ref, big_ref) = {
            let store = Store::open(dir.path()).unwrap();
            let s = store.stage(Bytes::from_static(b"hi")).await.unwrap();
            let b = store.stage(big.clone()).await.unwrap();
            let _orphan = store.stage(big.clone()).await.unwrap();
            store.write(move |c| Ok((c.commit_blob(s)?, c.commit_blob(b)?))).await.unwrap()
        };
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.read_blob(&small_ref).await.unwrap(), Bytes::from_static(b"hi"));
        assert_eq!(store.read_blob(&big_ref).await.unwrap(), big);
        assert_eq!(std::fs::read_dir(dir.path().join("blobs")).unwrap().count(), 1);
    }
}
