//! S3 Select: the SQL subset S3 runs over one object's CSV, JSON or Parquet records, streamed
//! as it reads (pure: bytes in, serialized records out, no I/O of its own).
mod ast;
mod error;
mod eval;
mod lexer;
mod output;
mod parquet_rows;
mod parser;
mod time;
mod value;

pub use error::{Result, SelectError};
pub use output::{CsvOutput, Output};

use ast::{Expr, Projection, Statement, Step};
use error::err;
use eval::{eval, Env, Row, Scope};

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
/// Records are sent in events of about this size.
const EVENT_BYTES: usize = 256 * 1024;

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

fn io_error(e: std::io::Error, compressed: bool) -> SelectError {
    if compressed {
        SelectError::new("TruncatedInput", format!("Object decompression failed: {e}. Check that the object is properly compressed using the format specified in the request."))
    } else {
        SelectError::internal(format!("Reading the object failed: {e}."))
    }
}

/// The query's running state: the statement bound to the input, aggregates, output buffer.
struct Exec<'s> {
    stmt: Statement,
    names: Vec<String>,
    scope: Scope,
    output: Output,
    aggregates: Vec<Accumulator>,
    /// Each aggregate's argument, by slot (`None` for COUNT(*)).
    aggregate_args: Vec<Option<Expr>>,
    buffer: String,
    emitted: u64,
    sink: &'s mut dyn Sink,
    stats: Stats,
    scanned: Arc<std::sync::atomic::AtomicU64>,
    processed: Arc<std::sync::atomic::AtomicU64>,
    progress: bool,
    last_event: std::time::Instant,
    rows_since_check: u32,
}

impl Exec<'_> {
    /// Takes the statement (bound to the input), with each aggregate's argument by slot.
    fn start(&mut self, mut stmt: Statement) -> Result<()> {
        let mut found: Vec<(usize, ast::Agg, Option<Expr>)> = Vec::new();
        for p in stmt.projections.iter_mut().flatten() {
            p.expr.visit_mut(&mut |e| {
                if let Expr::Aggregate { agg, arg, slot } = e {
                    found.push((*slot, *agg, arg.as_deref().cloned()));
                    return Ok(false);
                }
                Ok(true)
            })?;
        }
        found.sort_by_key(|(slot, _, _)| *slot);
        self.aggregates = found.iter().map(|(_, a, _)| Accumulator::new(*a)).collect();
        self.aggregate_args = found.into_iter().map(|(_, _, e)| e).collect();
        self.stmt = stmt;
        Ok(())
    }

    fn done(&self) -> bool {
        self.stmt.aggregates == 0 && self.stmt.limit.is_some_and(|l| self.emitted >= l)
    }

    fn refresh_stats(&mut self) {
        use std::sync::atomic::Ordering;
        self.stats.bytes_scanned = self.scanned.load(Ordering::Relaxed);
        self.stats.bytes_processed = self.processed.load(Ordering::Relaxed);
    }

    fn flush(&mut self) -> Result<()> {
        if !self.buffer.is_empty() {
            self.stats.bytes_returned += self.buffer.len() as u64;
            self.sink.records(self.buffer.as_bytes())?;
            self.buffer.clear();
            self.last_event = std::time::Instant::now();
            if self.progress {
                self.refresh_stats();
                self.sink.progress(&self.stats)?;
            }
        }
        Ok(())
    }

    /// Every few thousand rows: a Cont event when nothing has been sent for a second.
    fn tick(&mut self) -> Result<()> {
        self.rows_since_check += 1;
        if self.rows_since_check < 4096 {
            return Ok(());
        }
        self.rows_since_check = 0;
        if self.last_event.elapsed() >= std::time::Duration::from_secs(1) {
            if self.progress {
                self.refresh_stats();
                self.sink.progress(&self.stats)?;
            } else {
                self.sink.keep_alive()?;
            }
            self.last_event = std::time::Instant::now();
        }
        Ok(())
    }

    /// One input row: filtered, then projected into the output or folded into aggregates.
    fn row(&mut self, row: Row<'_>) -> Result<()> {
        self.tick()?;
        let env = Env { row, aggregates: &[], scope: &self.scope };
        if let Some(f) = &self.stmt.filter {
            if !eval(f, &env)?.truthy() {
                return Ok(());
            }
        }
        if !self.aggregate_args.is_empty() {
            for (acc, arg) in self.aggregates.iter_mut().zip(&self.aggregate_args) {
                acc.add(match arg {
                    Some(a) => Some(eval(a, &env)?),
                    None => None,
                })?;
            }
            return Ok(());
        }
        match &self.stmt.projections {
            None => write_row(&self.output, row, &self.names, &mut self.buffer),
            Some(list) => {
                let mut values = Vec::with_capacity(list.len());
                for p in list {
                    values.push(eval(&p.expr, &env)?);
                }
                self.output.write(self.names.iter().map(String::as_str).zip(values.iter()), &mut self.buffer);
            }
        }
        self.emitted += 1;
        if self.buffer.len() >= EVENT_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Stats> {
        if self.stmt.aggregates > 0 && self.stmt.limit != Some(0) {
            let results: Vec<Value<'static>> = self.aggregates.iter().map(Accumulator::result).collect();
            let env = Env { row: Row::None, aggregates: &results, scope: &self.scope };
            let mut values = Vec::new();
            for p in self.stmt.projections.iter().flatten() {
                values.push(eval(&p.expr, &env)?);
            }
            self.output.write(self.names.iter().map(String::as_str).zip(values.iter()), &mut self.buffer);
        }
        self.flush()?;
        self.refresh_stats();
        if self.progress {
            self.sink.progress(&self.stats)?;
        }
        Ok(self.stats)
    }
}

/// `SELECT *`: the row as it was read.
fn write_row(output: &Output, row: Row<'_>, header: &[String], out: &mut String) {
    match row {
        Row::Csv(rec) => {
            let values: Vec<Value> = rec.iter().map(|f| Value::Str(String::from_utf8_lossy(f))).collect();
            let positional: Vec<String>;
            let names: &[String] = if header.len() >= values.len() {
                header
            } else {
                positional = (1..=values.len()).map(|i| format!("_{i}")).collect();
                &positional
            };
            output.write(names.iter().map(String::as_str).zip(values.iter()), out);
        }
        Row::Doc(Value::Struct(fields)) => output.write(fields.iter().map(|(k, v)| (k.as_ref(), v)), out),
        Row::Doc(v) => output.write(std::iter::once(("_1", v)), out),
        Row::None => {}
    }
}

/// The running value of one aggregate.
#[derive(Debug, Clone)]
enum Accumulator {
    Count(i64),
    Sum(Option<Value<'static>>),
    Avg(f64, i64),
    /// MIN (`Less`) or MAX (`Greater`): the best value so far.
    Best(std::cmp::Ordering, Option<Value<'static>>),
}

impl Accumulator {
    fn new(agg: ast::Agg) -> Accumulator {
        match agg {
            ast::Agg::Count => Accumulator::Count(0),
            ast::Agg::Sum => Accumulator::Sum(None),
            ast::Agg::Avg => Accumulator::Avg(0.0, 0),
            ast::Agg::Min => Accumulator::Best(std::cmp::Ordering::Less, None),
            ast::Agg::Max => Accumulator::Best(std::cmp::Ordering::Greater, None),
        }
    }

    /// Folds one row's argument in (`None`: COUNT(*), which counts every row).
    fn add(&mut self, v: Option<Value<'_>>) -> Result<()> {
        let Some(v) = v else {
            if let Accumulator::Count(n) = self {
                *n += 1;
            }
            return Ok(());
        };
        if v.is_absent() {
            return Ok(());
        }
        let number = |v: &Value| {
            v.as_number().ok_or_else(|| {
                let mut s = String::new();
                value::to_text(v, &mut s);
                SelectError::new("IncorrectSqlFunctionArgumentType", format!("SUM and AVG take numbers, not '{s}'."))
            })
        };
        match self {
            Accumulator::Count(n) => *n += 1,
            Accumulator::Sum(total) => {
                let n = number(&v)?;
                *total =
                    Some(match (total.take(), n) {
                        (None, n) => n,
                        (Some(Value::Int(a)), Value::Int(b)) => Value::Int(a.checked_add(b).ok_or_else(|| {
                            SelectError::new("IntegerOverflow", "An integer overflow occurred in SUM.")
                        })?),
                        (Some(a), b) => Value::Float(as_f64(&a) + as_f64(&b)),
                    });
            }
            Accumulator::Avg(sum, count) => {
                *sum += as_f64(&number(&v)?);
                *count += 1;
            }
            Accumulator::Best(want, best) => {
                let replace = match best {
                    None => true,
                    Some(b) => value::compare(&v, b) == Some(*want),
                };
                if replace {
                    *best = Some(v.into_owned());
                }
            }
        }
        Ok(())
    }

    fn result(&self) -> Value<'static> {
        match self {
            Accumulator::Count(n) => Value::Int(*n),
            Accumulator::Sum(v) | Accumulator::Best(_, v) => v.clone().unwrap_or(Value::Null),
            Accumulator::Avg(_, 0) => Value::Null,
            Accumulator::Avg(sum, n) => Value::Float(sum / *n as f64),
        }
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// The names of the output columns: an alias, the last name of a path, or `_N` by position.
fn output_names(stmt: &Statement) -> Vec<String> {
    let Some(list) = &stmt.projections else { return Vec::new() };
    let alias = stmt.alias.as_deref();
    list.iter()
        .enumerate()
        .map(|(i, Projection { expr, alias: a })| {
            if let Some(a) = a {
                return a.clone();
            }
            if let Expr::Path { root, quoted, steps } = expr {
                if let Some(Step::Name(n, _)) = steps.iter().rev().find(|s| matches!(s, Step::Name(..))) {
                    return n.clone();
                }
                let is_alias = alias.is_some_and(|a| if *quoted { a == root } else { a.eq_ignore_ascii_case(root) });
                if steps.is_empty() && !is_alias {
                    return root.clone();
                }
            }
            format!("_{}", i + 1)
        })
        .collect()
}

/// A CSV column named in the query: `_N` by position, or a header name (exact when quoted).
fn column_index(name: &str, quoted: bool, header: Option<&[String]>) -> Result<usize> {
    if let Some(n) = name.strip_prefix('_').filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) {
        return match n.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n - 1),
            _ => err("InvalidColumnIndex", format!("The column index {name} in the SQL expression is not valid.")),
        };
    }
    let matches: Vec<usize> = header
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, h)| if quoted { h.as_str() == name } else { h.eq_ignore_ascii_case(name) })
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [i] => Ok(*i),
        [] => err(
            "EvaluatorBindingDoesNotExist",
            format!("The column name or path \"{name}\" provided does not exist in the SQL expression."),
        ),
        _ => err("AmbiguousFieldName", format!("The field name \"{name}\" matches more than one column in the file.")),
    }
}

/// Binds every path of a CSV query to a column position, once the header is known.
fn bind_csv(stmt: &mut Statement, header: Option<&[String]>) -> Result<()> {
    let alias = stmt.alias.clone();
    let mut bind = |e: &mut Expr| -> Result<bool> {
        let Expr::Path { root, quoted, steps } = e else { return Ok(true) };
        let via_alias =
            alias.as_deref().is_some_and(|a| if *quoted { a == root } else { a.eq_ignore_ascii_case(root) });
        let (name, q, rest) = if via_alias {
            match steps.split_first() {
                Some((Step::Name(n, q), rest)) => (n.clone(), *q, rest),
                _ => return err("InvalidKeyPath", format!("\"{root}\" names the record, not one of its columns.")),
            }
        } else {
            (root.clone(), *quoted, &steps[..])
        };
        let column = column_index(&name, q, header)?;
        // A CSV field is text: a path into it finds nothing.
        *e = if rest.is_empty() { Expr::Column(column) } else { Expr::Lit(Value::Missing) };
        Ok(false)
    };
    if let Some(f) = &mut stmt.filter {
        f.visit_mut(&mut bind)?;
    }
    for p in stmt.projections.iter_mut().flatten() {
        p.expr.visit_mut(&mut bind)?;
    }
    Ok(())
}

/// The values a JSON record holds at the FROM clause's path (at least one: MISSING when the
/// path finds nothing).
fn expand(v: Value<'static>, steps: &[Step], out: &mut Vec<Value<'static>>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(v);
        return;
    };
    match (step, v) {
        (Step::Name(n, q), Value::Struct(fields)) => {
            if let Some((_, f)) = fields.into_iter().find(|(k, _)| if *q { k == n } else { k.eq_ignore_ascii_case(n) })
            {
                expand(f, rest, out);
            }
        }
        (Step::Index(i), Value::List(l)) if *i >= 0 => {
            if let Some(x) = l.into_iter().nth(*i as usize) {
                expand(x, rest, out);
            }
        }
        // Each element a wildcard reaches gives at least one record: MISSING when the rest of
        // the path finds nothing in it.
        (Step::Wildcard, Value::List(l)) => l.into_iter().for_each(|x| expand_one(x, rest, out)),
        (Step::Wildcard, Value::Struct(f)) => f.into_iter().for_each(|(_, x)| expand_one(x, rest, out)),
        _ => {}
    }
}

fn expand_one(v: Value<'static>, steps: &[Step], out: &mut Vec<Value<'static>>) {
    let before = out.len();
    expand(v, steps, out);
    if out.len() == before {
        out.push(Value::Missing);
    }
}

fn csv_error(e: csv::Error, compressed: bool) -> SelectError {
    if let csv::ErrorKind::Io(_) = e.kind() {
        let csv::ErrorKind::Io(io) = e.into_kind() else { unreachable!() };
        return io_error(io, compressed);
    }
    let at = e.position().map(|p| format!(" at line {}", p.line())).unwrap_or_default();
    SelectError::new("CSVParsingError", format!("An error occurred while parsing the CSV file{at}: {e}."))
}

/// Runs a prepared statement over `source`, sending records (and progress) to `sink` as they
/// are produced. Returns the final statistics; the caller sends them and the End event.
pub fn run(req: &Request, mut stmt: Statement, source: Source, sink: &mut dyn Sink) -> Result<Stats> {
    use std::sync::atomic::AtomicU64;
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
    let names = output_names(&stmt);
    let mut exec = Exec {
        names,
        scope,
        output: req.output.clone(),
        aggregates: Vec::new(),
        aggregate_args: Vec::new(),
        stmt: Statement { projections: None, from: Vec::new(), alias: None, filter: None, limit: None, aggregates: 0 },
        buffer: String::new(),
        emitted: 0,
        sink,
        stats: Stats::default(),
        scanned: scanned.clone(),
        processed: processed.clone(),
        progress: req.progress,
        last_event: std::time::Instant::now(),
        rows_since_check: 0,
    };
    let stream = match source {
        Source::Random(object) => {
            exec.start(stmt)?;
            let size = object.size();
            for batch in parquet_rows::batches(object)? {
                let batch = batch?;
                for i in 0..batch.num_rows() {
                    let row = parquet_rows::row(&batch, i)?;
                    exec.row(Row::Doc(&row))?;
                    if exec.done() {
                        break;
                    }
                }
                if exec.done() {
                    break;
                }
            }
            scanned.store(size, std::sync::atomic::Ordering::Relaxed);
            processed.store(size, std::sync::atomic::Ordering::Relaxed);
            return exec.finish();
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
        let mut discard = Vec::new();
        skipped = reader.read_until(delimiter, &mut discard).map_err(ioe)? as u64;
    }
    let past_window = |offset: u64| req.window.last_start.is_some_and(|last| skipped + offset > last);
    match &req.input {
        Input::Csv(c) => {
            let mut b = csv::ReaderBuilder::new();
            b.has_headers(false).flexible(true).delimiter(c.field_delimiter).quote(c.quote).terminator(
                match c.record_delimiter {
                    Some(d) => csv::Terminator::Any(d),
                    None => csv::Terminator::CRLF,
                },
            );
            if c.quote_escape != c.quote {
                b.escape(Some(c.quote_escape)).double_quote(false);
            }
            let mut csv = b.from_reader(reader);
            let mut rec = csv::ByteRecord::new();
            let mut header = None;
            // A record whose first byte is the comment character is skipped (the csv crate's own
            // comment handling ends comments at a newline whatever the record delimiter).
            let comment = c.comment;
            let next = |csv: &mut csv::Reader<_>, rec: &mut csv::ByteRecord| -> Result<bool> {
                loop {
                    if !csv.read_byte_record(rec).map_err(|e| csv_error(e, compressed))? {
                        return Ok(false);
                    }
                    let is_comment = comment.is_some_and(|ch| rec.get(0).is_some_and(|f| f.first() == Some(&ch)));
                    if !is_comment {
                        return Ok(true);
                    }
                }
            };
            if c.header != FileHeader::None && !req.window.skip_partial && next(&mut csv, &mut rec)? {
                header = Some(rec.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect::<Vec<_>>());
            }
            if c.header == FileHeader::Use {
                bind_csv(&mut stmt, header.as_deref())?;
                if stmt.projections.is_none() {
                    exec.names = header.unwrap_or_default();
                }
            } else {
                bind_csv(&mut stmt, None)?;
            }
            exec.start(stmt)?;
            let delimiter = c.record_delimiter.unwrap_or(b'\n');
            while !exec.done() && next(&mut csv, &mut rec)? {
                if past_window(rec.position().map(|p| p.byte()).unwrap_or(0)) {
                    break;
                }
                let raw = rec.as_slice();
                if raw.len() > MAX_RECORD {
                    return err(
                        "OverMaxRecordSize",
                        "The length of a record in the input is greater than maxCharsPerRecord of 1 MB.",
                    );
                }
                if !c.allow_quoted_record_delimiter && raw.contains(&delimiter) {
                    return err(
                        "CSVEscapingRecordDelimiter",
                        "A quoted record delimiter was found in the file. To allow quoted record delimiters, set AllowQuotedRecordDelimiter to 'TRUE'.",
                    );
                }
                exec.row(Row::Csv(&rec))?;
            }
        }
        Input::Json { lines: true } => {
            exec.start(stmt)?;
            let mut line = Vec::new();
            let mut offset = 0u64;
            let mut rows = Vec::new();
            while !exec.done() {
                line.clear();
                let n = reader.read_until(b'\n', &mut line).map_err(ioe)?;
                if n == 0 || past_window(offset) {
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
                let v: serde_json::Value = serde_json::from_slice(&line).map_err(|e| {
                    SelectError::new("JSONParsingError", format!("An error occurred while parsing the JSON file: {e}."))
                })?;
                json_rows(&mut exec, v, from_steps, &mut rows)?;
            }
        }
        Input::Json { lines: false } => {
            exec.start(stmt)?;
            let mut rows = Vec::new();
            for v in serde_json::Deserializer::from_reader(reader).into_iter::<serde_json::Value>() {
                let v = v.map_err(|e| {
                    if e.is_io() {
                        io_error(std::io::Error::other(e.to_string()), compressed)
                    } else {
                        SelectError::new(
                            "JSONParsingError",
                            format!("An error occurred while parsing the JSON file: {e}."),
                        )
                    }
                })?;
                json_rows(&mut exec, v, from_steps, &mut rows)?;
                if exec.done() {
                    break;
                }
            }
        }
        Input::Parquet => return err("InvalidDataSource", "Parquet input is read at random, not as a stream."),
    }
    exec.finish()
}

fn json_rows(exec: &mut Exec, v: serde_json::Value, steps: &[Step], rows: &mut Vec<Value<'static>>) -> Result<()> {
    rows.clear();
    expand_one(Value::from_json(v), steps, rows);
    for r in rows.iter() {
        exec.row(Row::Doc(r))?;
        if exec.done() {
            break;
        }
    }
    Ok(())
}
