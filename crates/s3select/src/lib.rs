//! S3 Select: the SQL subset S3 runs over one object's CSV, JSON or Parquet records, streamed
//! as it reads (pure: bytes in, serialized records out, no I/O of its own).
mod ast;
mod bind;
mod error;
mod eval;
mod exec;
mod lexer;
mod output;
mod parquet_rows;
mod parser;
mod scan_csv;
mod time;
mod value;

pub use error::{Result, SelectError};
pub use output::{CsvOutput, Output};

use ast::{Statement, Step};
use error::err;
use eval::{Row, Scope};
use exec::{Collector, Plan, Sequential};
use std::io::{BufRead, Read};
use std::sync::Arc;
use value::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileHeader {
    None,
    Use,
    Ignore,
}

#[derive(Debug, Clone)]
pub struct CsvInput {
    pub header: FileHeader,
    pub comment: Option<u8>,
    pub quote_escape: u8,
    /// A single byte, or `None` for `\r\n`.
    pub record_delimiter: Option<u8>,
    pub field_delimiter: u8,
    pub quote: u8,
    pub allow_quoted_record_delimiter: bool,
}

impl Default for CsvInput {
    fn default() -> Self {
        CsvInput {
            header: FileHeader::None,
            comment: Some(b'#'),
            quote_escape: b'"',
            record_delimiter: Some(b'\n'),
            field_delimiter: b',',
            quote: b'"',
            allow_quoted_record_delimiter: false,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Input {
    Csv(CsvInput),
    /// JSON: `lines` for JSON Lines, otherwise a document of one or more top-level values.
    Json {
        lines: bool,
    },
    Parquet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
}

/// The part of the object a scan range selects, as the reader given to [`run`] sees it: the
/// reader starts one byte before the range (unless the range starts the object), so the
/// record cut by the range's start is skipped, and records starting after `last_start` (an
/// offset from the reader's first byte) are not read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    pub skip_partial: bool,
    pub last_start: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub statement_text: String,
    pub input: Input,
    pub compression: Compression,
    pub output: Output,
    pub window: Window,
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_scanned: u64,
    pub bytes_processed: u64,
    pub bytes_returned: u64,
}

/// Where the answer goes, as it is computed.
pub trait Sink {
    fn records(&mut self, data: &[u8]) -> Result<()>;
    fn progress(&mut self, stats: &Stats) -> Result<()>;
    /// Nothing to send for a while: S3 sends a Cont event so the connection stays open.
    fn keep_alive(&mut self) -> Result<()>;
}

/// An object read at random (Parquet's footer and row groups).
pub trait RandomAccess: Send + Sync {
    fn size(&self) -> u64;
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

/// What [`run`] reads: a stream (CSV, JSON) or the object at random (Parquet).
pub enum Source {
    Stream(Box<dyn Read + Send>),
    Random(Arc<dyn RandomAccess>),
}

/// The longest record S3 Select reads (`maxCharsPerRecord`).
const MAX_RECORD: usize = 1024 * 1024;

/// Parses the expression and checks it against the input format: the errors S3 gives before
/// it starts answering.
pub fn prepare(req: &Request) -> Result<Statement> {
    let stmt = parser::parse(&req.statement_text)?;
    if !matches!(req.input, Input::Json { .. }) && !stmt.from.is_empty() {
        return err("InvalidKeyPath", "Paths in the FROM clause are only supported for JSON input.");
    }
    Ok(stmt)
}

struct Counter<R> {
    inner: R,
    count: Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

pub(crate) fn io_error(e: std::io::Error, compressed: bool) -> SelectError {
    if compressed {
        SelectError::new("TruncatedInput", format!("Object decompression failed: {e}. Check that the object is properly compressed using the format specified in the request."))
    } else {
        SelectError::internal(format!("Reading the object failed: {e}."))
    }
}

/// Runs a prepared statement over `source`, sending records (and progress) to `sink` as they
/// are produced. Returns the final statistics; the caller sends them and the End event.
pub fn run(req: &Request, stmt: Statement, source: Source, sink: &mut dyn Sink) -> Result<Stats> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let scanned = Arc::new(AtomicU64::new(0));
    let processed = Arc::new(AtomicU64::new(0));
    let from = stmt.from.clone();
    let from_steps = match from.first() {
        Some(Step::Wildcard) => &from[1..],
        _ => &from[..],
    };
    let scope = Scope {
        alias: stmt.alias.clone(),
        implicit: match from_steps.last() {
            Some(Step::Name(n, _)) if stmt.alias.is_none() => Some(n.clone()),
            _ => None,
        },
        wildcard_row: !matches!(from_steps.last(), Some(Step::Name(..)) | Some(Step::Index(_))),
    };
    let names = bind::output_names(&stmt);
    let collector = Collector::new(sink, scanned.clone(), processed.clone(), req.progress);
    let stream = match source {
        Source::Random(object) => {
            let plan = Plan::new(stmt, names, scope, req.output.clone())?;
            let mut run = Sequential { plan: &plan, part: plan.part(), collector };
            let size = object.size();
            'batches: for batch in parquet_rows::batches(object)? {
                let batch = batch?;
                for i in 0..batch.num_rows() {
                    if !run.row(Row::Doc(&parquet_rows::row(&batch, i)?))? {
                        break 'batches;
                    }
                }
            }
            scanned.store(size, Ordering::Relaxed);
            processed.store(size, Ordering::Relaxed);
            return run.finish();
        }
        Source::Stream(s) => s,
    };
    let compressed = req.compression != Compression::None;
    let counted = Counter { inner: stream, count: scanned };
    let decompressed: Box<dyn Read + Send> = match req.compression {
        Compression::None => Box::new(counted),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counted)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(counted)),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, Counter { inner: decompressed, count: processed });
    let ioe = |e| io_error(e, compressed);
    let mut skipped = 0u64;
    if req.window.skip_partial {
        let delimiter = match &req.input {
            Input::Csv(c) => c.record_delimiter.unwrap_or(b'\n'),
            _ => b'\n',
        };
        skipped = reader.read_until(delimiter, &mut Vec::new()).map_err(ioe)? as u64;
    }
    let json_error = |e: serde_json::Error| {
        if e.is_io() {
            io_error(std::io::Error::other(e.to_string()), compressed)
        } else {
            SelectError::new("JSONParsingError", format!("An error occurred while parsing the JSON file: {e}."))
        }
    };
    match &req.input {
        Input::Csv(c) => scan_csv::scan(req, c, stmt, names, scope, reader, skipped, collector, compressed),
        Input::Json { lines } => {
            let plan = Plan::new(stmt, names, scope, req.output.clone())?;
            let mut run = Sequential { plan: &plan, part: plan.part(), collector };
            let mut rows = Vec::new();
            if *lines {
                let mut line = Vec::new();
                let mut offset = 0u64;
                while !run.done() {
                    line.clear();
                    let n = reader.read_until(b'\n', &mut line).map_err(ioe)?;
                    if n == 0 || req.window.last_start.is_some_and(|last| skipped + offset > last) {
                        break;
                    }
                    offset += n as u64;
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if line.len() > MAX_RECORD {
                        return err(
                            "OverMaxRecordSize",
                            "The length of a record in the input is greater than maxCharsPerRecord of 1 MB.",
                        );
                    }
                    json_rows(&mut run, serde_json::from_slice(&line).map_err(json_error)?, from_steps, &mut rows)?;
                }
            } else {
                for v in serde_json::Deserializer::from_reader(reader).into_iter::<serde_json::Value>() {
                    if !json_rows(&mut run, v.map_err(json_error)?, from_steps, &mut rows)? {
                        break;
                    }
                }
            }
            run.finish()
        }
        Input::Parquet => err("InvalidDataSource", "Parquet input is read at random, not as a stream."),
    }
}

/// The rows one JSON value yields at the FROM path; false once LIMIT is reached.
fn json_rows(
    run: &mut Sequential,
    v: serde_json::Value,
    steps: &[Step],
    rows: &mut Vec<Value<'static>>,
) -> Result<bool> {
    rows.clear();
    bind::expand_one(Value::from_json(v), steps, rows);
    for r in rows.iter() {
        if !run.row(Row::Doc(r))? {
            return Ok(false);
        }
    }
    Ok(true)
}
