//! A database's state: the catalog (schemas, tables, views, users) and each table's rows as
//! immutable Arrow segments. A state is a value: transactions work on a copy and a commit
//! swaps it in after writing new segments as Parquet files and the catalog as one JSON file.
use crate::error::{SqlError, SqlResult};
use crate::types::RsType;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::{concat, concat_batches, interleave_record_batch, lexsort_to_indices, SortColumn};
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::metadata::ParquetMetaDataReader;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnMeta {
    pub name: String,
    pub ty: RsType,
    pub nullable: bool,
    /// The DEFAULT expression, as SQL.
    #[serde(default)]
    pub default: Option<String>,
    /// IDENTITY(seed, step).
    #[serde(default)]
    pub identity: Option<(i64, i64)>,
    #[serde(default)]
    pub encode: Option<String>,
    /// Some value this VARCHAR column was given ends in a blank: comparisons, which ignore
    /// trailing blanks in Redshift, must trim its values (see `trailing_blanks`). Never
    /// cleared, so it errs on the side of trimming.
    #[serde(default)]
    pub trailing_blanks: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Privilege {
    Select,
    Insert,
    Update,
    Delete,
    References,
    Usage,
    Create,
}

impl Privilege {
    pub fn parse(s: &str) -> Option<Privilege> {
        Some(match s.to_ascii_uppercase().as_str() {
            "SELECT" => Privilege::Select,
            "INSERT" => Privilege::Insert,
            "UPDATE" => Privilege::Update,
            "DELETE" => Privilege::Delete,
            "REFERENCES" => Privilege::References,
            "USAGE" => Privilege::Usage,
            "CREATE" => Privilege::Create,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableMeta {
    pub id: u64,
    pub columns: Vec<ColumnMeta>,
    /// AUTO, EVEN, KEY or ALL, as declared.
    pub diststyle: String,
    pub distkey: Option<String>,
    pub sortkey: Vec<String>,
    /// COMPOUND or INTERLEAVED when a sort key is declared.
    #[serde(default)]
    pub sortkey_kind: Option<String>,
    pub owner: String,
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// The next value of each IDENTITY column.
    #[serde(default)]
    pub identity_next: BTreeMap<String, i64>,
    /// Parquet files holding the rows, in order (filled in at commit).
    #[serde(default)]
    pub segments: Vec<String>,
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeSet<Privilege>>,
    #[serde(default)]
    pub temporary: bool,
    /// Set when the table holds a materialized view's rows.
    #[serde(default)]
    pub materialized: Option<MaterializedMeta>,
}

/// A materialized view: its query, and the versions of the base tables its rows were
/// computed from (a base table changed since makes the view stale).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MaterializedMeta {
    pub sql: String,
    pub auto_refresh: bool,
    /// Base table id → its version when the view was last refreshed.
    pub base_versions: BTreeMap<u64, u64>,
    /// When it was last refreshed (microseconds since the epoch).
    pub refreshed_at: i64,
}

impl TableMeta {
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(self.columns.iter().map(|c| c.ty.field(&c.name, c.nullable)).collect::<Vec<_>>()))
    }

    pub fn column(&self, name: &str) -> Option<(usize, &ColumnMeta)> {
        self.columns.iter().enumerate().find(|(_, c)| c.name == name)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ViewMeta {
    pub sql: String,
    pub owner: String,
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeSet<Privilege>>,
    /// WITH NO SCHEMA BINDING: not bound to the relations it names, which may be dropped
    /// or not exist yet.
    #[serde(default)]
    pub late_binding: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SchemaMeta {
    pub owner: String,
    pub tables: BTreeMap<String, TableMeta>,
    pub views: BTreeMap<String, ViewMeta>,
    #[serde(default)]
    pub grants: BTreeMap<String, BTreeSet<Privilege>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UserMeta {
    pub id: i64,
    /// md5(password || user name), hex, as PostgreSQL keeps it; None: password disabled.
    pub password_md5: Option<String>,
    pub superuser: bool,
    pub createdb: bool,
    /// Seconds since the epoch after which the password no longer works.
    #[serde(default)]
    pub valid_until: Option<i64>,
    /// CONNECTION LIMIT: the sessions the user may hold at once (None: unlimited).
    #[serde(default)]
    pub connection_limit: Option<u32>,
    /// SYSLOG ACCESS UNRESTRICTED: the user sees every user's rows in the system tables.
    #[serde(default)]
    pub syslog_unrestricted: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Catalog {
    pub database: String,
    pub schemas: BTreeMap<String, SchemaMeta>,
    pub users: BTreeMap<String, UserMeta>,
    /// Group name → member user names.
    #[serde(default)]
    pub groups: BTreeMap<String, BTreeSet<String>>,
    pub next_id: u64,
}

impl Catalog {
    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn groups_of(&self, user: &str) -> Vec<String> {
        self.groups.iter().filter(|(_, m)| m.contains(user)).map(|(g, _)| g.clone()).collect()
    }
}

/// Rows of one table, in immutable pieces. A committed piece is a Parquet file, read when a
/// query needs it; a piece not yet committed (or of a temporary table) is held in memory.
#[derive(Clone, Debug)]
pub struct Segment {
    pub file: Option<String>,
    pub batches: Option<Arc<Vec<RecordBatch>>>,
    pub rows: usize,
}

impl Segment {
    /// Its rows: from memory, or read from its file under `data_dir`.
    fn read(&self, data_dir: &Path, schema: &SchemaRef) -> SqlResult<Vec<RecordBatch>> {
        match (&self.batches, &self.file) {
            (Some(b), _) => Ok(b.to_vec()),
            (None, Some(f)) => read_parquet(&data_dir.join(f), schema),
            (None, None) => Ok(Vec::new()),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DbState {
    pub catalog: Catalog,
    /// Table id → its segments.
    pub data: HashMap<u64, Arc<Vec<Segment>>>,
    /// Table id → the commit that last changed it (serialisable commits compare these).
    pub table_versions: HashMap<u64, u64>,
    pub version: u64,
    /// Where the segment files are (`<database>/data`).
    pub data_dir: PathBuf,
}

impl DbState {
    pub fn table(&self, schema: &str, name: &str) -> Option<&TableMeta> {
        self.catalog.schemas.get(schema)?.tables.get(name)
    }

    pub fn table_mut(&mut self, schema: &str, name: &str) -> Option<&mut TableMeta> {
        self.catalog.schemas.get_mut(schema)?.tables.get_mut(name)
    }

    /// Every row of a table, read from its files where they are not in memory. For the
    /// statements that rewrite a table (UPDATE, DELETE, ALTER); queries scan lazily instead.
    pub fn batches(&self, meta: &TableMeta) -> SqlResult<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for seg in self.data.get(&meta.id).iter().flat_map(|s| s.iter()) {
            out.extend(self.segment_batches(meta, seg)?);
        }
        Ok(out)
    }

    fn segment_batches(&self, meta: &TableMeta, seg: &Segment) -> SqlResult<Vec<RecordBatch>> {
        seg.read(&self.data_dir, &meta.arrow_schema())
    }

    /// The bytes a table's rows take: its files on disk and its rows in memory.
    pub fn table_bytes(&self, id: u64) -> usize {
        let mut total = 0;
        for seg in self.data.get(&id).iter().flat_map(|s| s.iter()) {
            total += match (&seg.batches, &seg.file) {
                (Some(b), _) => b.iter().map(|b| b.get_array_memory_size()).sum(),
                (None, Some(f)) => std::fs::metadata(self.data_dir.join(f)).map(|m| m.len() as usize).unwrap_or(0),
                (None, None) => 0,
            };
        }
        total
    }

    /// What DataFusion scans for a table: its files, and its rows still in memory.
    pub fn provider(&self, meta: &TableMeta) -> crate::stored::StoredTable {
        let mut files = Vec::new();
        let mut memory = Vec::new();
        for seg in self.data.get(&meta.id).iter().flat_map(|s| s.iter()) {
            match (&seg.batches, &seg.file) {
                (Some(b), _) => memory.extend(b.iter().cloned()),
                (None, Some(f)) => files.push(self.data_dir.join(f)),
                (None, None) => {}
            }
        }
        let trailing_blanks = meta.columns.iter().filter(|c| c.trailing_blanks).map(|c| c.name.clone()).collect();
        let rows = self.rows(meta.id);
        crate::stored::StoredTable { schema: meta.arrow_schema(), files, memory, trailing_blanks, rows }
    }

    pub fn rows(&self, id: u64) -> usize {
        self.data.get(&id).map(|segs| segs.iter().map(|s| s.rows).sum()).unwrap_or(0)
    }

    pub fn append(&mut self, id: u64, batches: Vec<RecordBatch>) {
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        if rows == 0 {
            return;
        }
        let segs = self.data.entry(id).or_default();
        Arc::make_mut(segs).push(Segment { file: None, batches: Some(Arc::new(batches)), rows });
    }

    /// Adds segments already written to files (by a load), not yet named by the catalog.
    pub fn append_files(&mut self, id: u64, files: Vec<(String, usize)>) {
        let segs = Arc::make_mut(self.data.entry(id).or_default());
        for (file, rows) in files {
            segs.push(Segment { file: Some(file), batches: None, rows });
        }
    }

    pub fn replace(&mut self, id: u64, batches: Vec<RecordBatch>) {
        self.data.insert(id, Arc::new(Vec::new()));
        self.append(id, batches);
    }
}

fn io_err(e: impl std::fmt::Display) -> SqlError {
    SqlError::new("58030", format!("could not write table data: {e}"))
}

/// Files of one database on disk: `catalog.json` and `data/*.parquet`.
#[derive(Clone)]
pub struct Disk {
    pub dir: PathBuf,
    /// Segment files written by statements still running (a COPY), not yet named by the
    /// catalog: garbage collection leaves them alone.
    pub pending: PendingFiles,
}

/// The names of segment files written but not yet committed.
#[derive(Clone, Default, Debug)]
pub struct PendingFiles(Arc<std::sync::Mutex<BTreeSet<String>>>);

impl PendingFiles {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn contains(&self, name: &str) -> bool {
        self.lock().contains(name)
    }
}

/// Files a statement wrote, protected from garbage collection until it is dropped (after the
/// commit that names them, or when the statement failed and they are garbage).
#[derive(Debug, Default)]
pub struct StagedFiles {
    pending: PendingFiles,
    names: Vec<String>,
}

impl Drop for StagedFiles {
    fn drop(&mut self) {
        let mut p = self.pending.lock();
        for n in &self.names {
            p.remove(n);
        }
    }
}

/// Writes rows arriving in batches (a COPY) into segment files of at most `SEGMENT_ROWS`
/// rows, each sorted on the table's sort key. Full segments are sorted and encoded on
/// threads of their own, as many at once as the machine has cores, so that memory holds
/// that many segments and the one being filled.
pub struct SegmentWriter {
    meta: Arc<TableMeta>,
    data_dir: PathBuf,
    buffer: Vec<RecordBatch>,
    buffered: usize,
    staged: StagedFiles,
    /// The files written, with their row counts.
    pub files: Vec<(String, usize)>,
    /// Segments being written, oldest first.
    writing: std::collections::VecDeque<std::thread::JoinHandle<SqlResult<()>>>,
}

/// Rows of a segment written by a load.
pub const SEGMENT_ROWS: usize = 4 * BATCH_ROWS;

impl SegmentWriter {
    pub fn new(meta: TableMeta, disk: &Disk) -> SegmentWriter {
        SegmentWriter {
            meta: Arc::new(meta),
            data_dir: disk.data_dir(),
            buffer: Vec::new(),
            buffered: 0,
            staged: StagedFiles { pending: disk.pending.clone(), names: Vec::new() },
            files: Vec::new(),
            writing: Default::default(),
        }
    }

    /// Waits for the oldest segment being written; its failure is the load's.
    fn wait_oldest(&mut self) -> SqlResult<()> {
        match self.writing.pop_front() {
            Some(h) => h.join().map_err(|_| SqlError::internal("a segment writer failed"))?,
            None => Ok(()),
        }
    }

    pub fn push(&mut self, batch: RecordBatch) -> SqlResult<()> {
        let mut batch = batch;
        while self.buffered + batch.num_rows() >= SEGMENT_ROWS {
            let take = SEGMENT_ROWS - self.buffered;
            self.buffer.push(batch.slice(0, take));
            self.buffered += take;
            self.flush()?;
            batch = batch.slice(take, batch.num_rows() - take);
        }
        if batch.num_rows() > 0 {
            self.buffered += batch.num_rows();
            self.buffer.push(batch);
        }
        Ok(())
    }

    fn flush(&mut self) -> SqlResult<()> {
        if self.buffered == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.buffer);
        let name = format!("t{}_{:016x}.parquet", self.meta.id, rand::random::<u64>());
        self.staged.pending.lock().insert(name.clone());
        self.staged.names.push(name.clone());
        std::fs::create_dir_all(&self.data_dir).map_err(io_err)?;
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        while self.writing.len() >= cores {
            self.wait_oldest()?;
        }
        let (path, meta) = (self.data_dir.join(&name), self.meta.clone());
        self.writing.push_back(std::thread::spawn(move || write_segment(&path, &meta, &batches)));
        self.files.push((name, self.buffered));
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is left; the files, and the guard keeping them until they are committed.
    pub fn finish(mut self) -> SqlResult<(Vec<(String, usize)>, StagedFiles)> {
        self.flush()?;
        while !self.writing.is_empty() {
            self.wait_oldest()?;
        }
        Ok((std::mem::take(&mut self.files), std::mem::take(&mut self.staged)))
    }
}

impl Drop for SegmentWriter {
    /// A load that failed still waits for its writers, so that no file appears after the
    /// guard of its staged files has let it become garbage.
    fn drop(&mut self) {
        for h in self.writing.drain(..) {
            let _ = h.join();
        }
    }
}

impl Disk {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn exists(&self) -> bool {
        self.dir.join("catalog.json").exists()
    }

    /// Reads the catalog, and of each segment it names only the row count in its footer:
    /// rows are read when a query needs them.
    pub fn load(&self) -> SqlResult<DbState> {
        let text = std::fs::read(self.dir.join("catalog.json")).map_err(io_err)?;
        let catalog: Catalog = serde_json::from_slice(&text).map_err(io_err)?;
        let mut data = HashMap::new();
        for schema in catalog.schemas.values() {
            for t in schema.tables.values() {
                let mut segs = Vec::new();
                for f in &t.segments {
                    let file = std::fs::File::open(self.data_dir().join(f)).map_err(io_err)?;
                    let meta = ParquetMetaDataReader::new().parse_and_finish(&file).map_err(io_err)?;
                    let rows = meta.file_metadata().num_rows() as usize;
                    segs.push(Segment { file: Some(f.clone()), batches: None, rows });
                }
                data.insert(t.id, Arc::new(segs));
            }
        }
        Ok(DbState { catalog, data, table_versions: HashMap::new(), version: 0, data_dir: self.data_dir() })
    }

    /// Makes `state` durable: new segments become Parquet files (sorted by the table's sort
    /// key), then the catalog naming them replaces the old one in one rename. Files no longer
    /// named are removed afterwards.
    pub fn persist(&self, state: &mut DbState) -> SqlResult<()> {
        std::fs::create_dir_all(self.data_dir()).map_err(io_err)?;
        let mut names: Vec<(String, String, Vec<String>)> = Vec::new();
        for (sname, schema) in &state.catalog.schemas {
            for (tname, t) in &schema.tables {
                if t.temporary {
                    continue;
                }
                let Some(segs) = state.data.get_mut(&t.id) else {
                    names.push((sname.clone(), tname.clone(), Vec::new()));
                    continue;
                };
                let segs = Arc::make_mut(segs);
                compact(segs, t, &self.data_dir())?;
                for seg in segs.iter_mut().filter(|s| s.file.is_none()) {
                    let name = format!("t{}_{:016x}.parquet", t.id, rand::random::<u64>());
                    let batches = seg.batches.as_deref().map(|b| &b[..]).unwrap_or_default();
                    write_segment(&self.data_dir().join(&name), t, batches)?;
                    seg.file = Some(name);
                    // Committed rows live in their file from now on.
                    seg.batches = None;
                }
                names.push((sname.clone(), tname.clone(), segs.iter().filter_map(|s| s.file.clone()).collect()));
            }
        }
        for (s, t, files) in names {
            if let Some(meta) = state.table_mut(&s, &t) {
                meta.segments = files;
            }
        }
        let mut durable = state.catalog.clone();
        for schema in durable.schemas.values_mut() {
            schema.tables.retain(|_, t| !t.temporary);
        }
        let json = serde_json::to_vec(&durable).map_err(io_err)?;
        let tmp = self.dir.join("catalog.json.tmp");
        {
            let mut f = std::fs::File::create(&tmp).map_err(io_err)?;
            f.write_all(&json).map_err(io_err)?;
            f.sync_all().map_err(io_err)?;
        }
        std::fs::rename(&tmp, self.dir.join("catalog.json")).map_err(io_err)?;
        sync_dir(&self.dir)?;
        self.collect_garbage(&durable);
        Ok(())
    }

    /// Removes segment files the catalog no longer names (left by replaced or dropped tables,
    /// or by a crash between writing a segment and the catalog).
    pub fn collect_garbage(&self, catalog: &Catalog) {
        let live: BTreeSet<&String> =
            catalog.schemas.values().flat_map(|s| s.tables.values()).flat_map(|t| t.segments.iter()).collect();
        let Ok(entries) = std::fs::read_dir(self.data_dir()) else { return };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".parquet") && !live.contains(&name) && !self.pending.contains(&name) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Segments a table may have before a commit merges them all into one.
const MAX_SEGMENTS: usize = 16;
/// Rows per batch of a merged segment.
const BATCH_ROWS: usize = 65_536;
/// Rows per row group of a segment file.
const ROW_GROUP_ROWS: usize = 2 * BATCH_ROWS;
/// Committed segments below this many rows are merged when a table has too many; a merge
/// never reads more than `SEGMENT_ROWS` committed rows, so compaction's memory is bounded
/// whatever the table's size.
const SMALL_SEGMENT_ROWS: usize = SEGMENT_ROWS / 4;

/// Merges the uncommitted segments into one (a load of many small INSERTs becomes one file),
/// and, when a table has too many, its smallest committed segments with them, up to
/// `SEGMENT_ROWS` rows; merged rows are re-cut into batches of `BATCH_ROWS`. Large segments
/// (a load's, a VACUUM's) are left alone.
fn compact(segs: &mut Vec<Segment>, t: &TableMeta, data_dir: &Path) -> SqlResult<()> {
    let new = segs.iter().filter(|s| s.file.is_none()).count();
    let merge_small = segs.len() > MAX_SEGMENTS;
    if new <= 1 && !merge_small {
        return Ok(());
    }
    // The small committed segments to merge: smallest first, within the budget.
    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    if merge_small {
        let mut small: Vec<(usize, usize)> = segs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.file.is_some() && s.rows < SMALL_SEGMENT_ROWS)
            .map(|(i, s)| (s.rows, i))
            .collect();
        small.sort();
        let mut budget = SEGMENT_ROWS;
        for (rows, i) in small {
            if rows > budget {
                break;
            }
            budget -= rows;
            chosen.insert(i);
        }
    }
    if new <= 1 && chosen.len() <= 1 {
        return Ok(());
    }
    let (mut merge, mut keep) = (Vec::new(), Vec::new());
    for (i, s) in segs.drain(..).enumerate() {
        if s.file.is_none() || chosen.contains(&i) {
            merge.push(s);
        } else {
            keep.push(s);
        }
    }
    let schema = t.arrow_schema();
    let mut batches: Vec<RecordBatch> = Vec::new();
    for s in &merge {
        batches.extend(s.read(data_dir, &schema)?);
    }
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    let rechunked = match batches.first() {
        Some(first) => match concat_batches(&first.schema(), &batches) {
            Ok(all) => (0..all.num_rows())
                .step_by(BATCH_ROWS)
                .map(|o| all.slice(o, BATCH_ROWS.min(all.num_rows() - o)))
                .collect(),
            Err(_) => batches,
        },
        None => batches,
    };
    *segs = keep;
    segs.push(Segment { file: None, batches: Some(Arc::new(rechunked)), rows });
    Ok(())
}

/// A segment file's rows, under the table's schema (field metadata and nullability as the
/// catalog declares them).
fn read_parquet(path: &Path, schema: &SchemaRef) -> SqlResult<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(io_err)?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(io_err)?.build().map_err(io_err)?;
    let mut batches = Vec::new();
    for b in reader {
        let b = b.map_err(io_err)?;
        batches.push(RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(io_err)?);
    }
    Ok(batches)
}

fn sync_dir(dir: &Path) -> SqlResult<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) -> SqlResult<()> {
    let Some(first) = batches.first() else { return Ok(()) };
    let mut w = parquet_writer(path, first)?;
    for b in batches {
        w.write(b).map_err(io_err)?;
    }
    finish_parquet(w)
}

/// A writer for a segment whose rows begin with `sample`.
fn parquet_writer(path: &Path, sample: &RecordBatch) -> SqlResult<ArrowWriter<std::fs::File>> {
    let file = std::fs::File::create(path).map_err(io_err)?;
    // Row groups of a few batches: the unit a scan skips on its min/max statistics (Redshift's
    // zone maps), small enough that a range on the sort key reads little of a large table.
    let mut props = WriterProperties::builder().set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for name in unique_strings(sample) {
        props = props.set_column_dictionary_enabled(ColumnPath::from(name), false);
    }
    ArrowWriter::try_new(file, sample.schema(), Some(props.build())).map_err(io_err)
}

/// The string columns whose values mostly differ in a sample of rows. Dictionary encoding
/// pays where values repeat (flags, modes, names) and costs a hash per value for nothing
/// where they rarely do (comments, identifiers): the sample decides per column, as DuckDB's
/// compression analysis does, and what rarely repeats is written plain.
fn unique_strings(sample: &RecordBatch) -> Vec<String> {
    const SAMPLE: usize = 4096;
    let schema = sample.schema();
    let mut out = Vec::new();
    for (field, column) in schema.fields().iter().zip(sample.columns()) {
        let Some(strings) = column.as_any().downcast_ref::<datafusion::arrow::array::StringArray>() else {
            continue;
        };
        let n = datafusion::arrow::array::Array::len(strings).min(SAMPLE);
        let distinct: std::collections::HashSet<&str> = strings.iter().take(n).flatten().collect();
        if n >= 256 && distinct.len() * 2 > n {
            out.push(field.name().clone());
        }
    }
    out
}

fn finish_parquet(w: ArrowWriter<std::fs::File>) -> SqlResult<()> {
    let file = w.into_inner().map_err(io_err)?;
    file.sync_all().map_err(io_err)
}

/// Writes a segment's rows to `path` in the table's sort-key order (as they are without a
/// sort key). Only the sort-key columns are gathered to order the rows; the rows themselves
/// are taken from their batches a chunk at a time as the file is written, so the segment is
/// never copied whole.
fn write_segment(path: &Path, t: &TableMeta, batches: &[RecordBatch]) -> SqlResult<()> {
    let Some(first) = batches.first() else { return Ok(()) };
    let keys: Vec<usize> = t.sortkey.iter().filter_map(|k| t.column(k).map(|(i, _)| i)).collect();
    if keys.is_empty() {
        return write_parquet(path, batches);
    }
    let columns = keys
        .iter()
        .map(|i| {
            let parts: Vec<&dyn datafusion::arrow::array::Array> =
                batches.iter().map(|b| b.column(*i).as_ref()).collect();
            Ok(SortColumn { values: concat(&parts).map_err(SqlError::internal)?, options: None })
        })
        .collect::<SqlResult<Vec<_>>>()?;
    let order = lexsort_to_indices(&columns, None).map_err(SqlError::internal)?;
    drop(columns);
    // Row number in the segment -> (batch, row in batch).
    let mut starts = Vec::with_capacity(batches.len());
    let mut total = 0usize;
    for b in batches {
        starts.push(total);
        total += b.num_rows();
    }
    let locate = |n: usize| {
        let batch = starts.partition_point(|s| *s <= n) - 1;
        (batch, n - starts[batch])
    };
    let sources: Vec<&RecordBatch> = batches.iter().collect();
    let mut w = parquet_writer(path, first)?;
    for chunk in order.values().chunks(BATCH_ROWS) {
        let picks: Vec<(usize, usize)> = chunk.iter().map(|n| locate(*n as usize)).collect();
        let sorted = interleave_record_batch(&sources, &picks).map_err(SqlError::internal)?;
        w.write(&sorted).map_err(io_err)?;
    }
    finish_parquet(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TableMeta {
        TableMeta {
            id: 1,
            columns: vec![ColumnMeta {
                name: "k".into(),
                ty: RsType::Integer,
                nullable: true,
                default: None,
                identity: None,
                encode: None,
                trailing_blanks: false,
            }],
            diststyle: "AUTO".into(),
            distkey: None,
            sortkey: Vec::new(),
            sortkey_kind: None,
            owner: "u".into(),
            primary_key: Vec::new(),
            identity_next: BTreeMap::new(),
            segments: Vec::new(),
            grants: BTreeMap::new(),
            temporary: false,
            materialized: None,
        }
    }

    fn committed(rows: usize, name: &str) -> Segment {
        Segment { file: Some(name.into()), batches: None, rows }
    }

    /// A large load leaves many full segments: compaction must not read them back (it would
    /// hold the whole table in memory); the files named here do not exist, so reading fails.
    #[test]
    fn compaction_leaves_full_segments_alone() {
        let mut segs: Vec<Segment> = (0..20).map(|i| committed(SEGMENT_ROWS, &format!("missing{i}"))).collect();
        compact(&mut segs, &table(), Path::new("/nonexistent")).expect("nothing read");
        assert_eq!(segs.len(), 20);
        assert!(segs.iter().all(|s| s.batches.is_none()));
    }

    /// Too many small segments: the smallest are merged, never more than a segment's worth.
    #[test]
    fn compaction_merges_small_segments_within_a_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = table();
        let mut segs = Vec::new();
        for i in 0..20 {
            let rows = 1000 * (i + 1);
            let batch = RecordBatch::try_new(
                t.arrow_schema(),
                vec![Arc::new(datafusion::arrow::array::Int32Array::from_iter_values(0..rows as i32))],
            )
            .expect("batch");
            let name = format!("s{i}.parquet");
            write_parquet(&dir.path().join(&name), &[batch]).expect("write");
            segs.push(committed(rows, &name));
        }
        segs.push(committed(SEGMENT_ROWS, "big-untouched"));
        compact(&mut segs, &t, dir.path()).expect("compacted");
        let merged: Vec<&Segment> = segs.iter().filter(|s| s.file.is_none()).collect();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].rows, (1..=20).map(|i| 1000 * i).sum::<usize>());
        assert!(segs.iter().any(|s| s.file.as_deref() == Some("big-untouched")));
    }
}
