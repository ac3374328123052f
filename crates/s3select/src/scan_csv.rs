//! CSV input. When record delimiters cannot be quoted (S3's default) the object is cut at
//! record delimiters into chunks that worker threads parse and evaluate in parallel, their
//! answers sent in input order; otherwise (quoted delimiters allowed, LIMIT, a scan range's end)
//! records are read one after the other.
use crate::ast::Statement;
use crate::bind::bind_csv;
use crate::error::{err, Result, SelectError};
use crate::eval::{Row, Scope};
use crate::exec::{Collector, Part, Plan, Sequential, EVENT_BYTES};
use crate::{io_error, CsvInput, FileHeader, Request, Stats, MAX_RECORD};
use std::io::{BufRead, Read};

/// Input handed to one worker at a time.
const CHUNK: usize = 4 << 20;

fn builder(c: &CsvInput) -> csv::ReaderBuilder {
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
    b
}

fn csv_error(e: csv::Error, compressed: bool) -> SelectError {
    if let csv::ErrorKind::Io(_) = e.kind() {
        let csv::ErrorKind::Io(io) = e.into_kind() else { unreachable!() };
        return io_error(io, compressed);
    }
    SelectError::new("CSVParsingError", format!("An error occurred while parsing the CSV file: {e}."))
}

/// The next record that is not a comment. (A record whose first byte is the comment
/// character is skipped: the csv crate's own comments end at a newline whatever the record
/// delimiter.)
fn next_record<R: Read>(
    csv: &mut csv::Reader<R>,
    rec: &mut csv::ByteRecord,
    c: &CsvInput,
    compressed: bool,
) -> Result<bool> {
    loop {
        if !csv.read_byte_record(rec).map_err(|e| csv_error(e, compressed))? {
            return Ok(false);
        }
        let comment = c.comment.is_some_and(|ch| rec.get(0).is_some_and(|f| f.first() == Some(&ch)));
        if !comment {
            return Ok(true);
        }
    }
}

fn check_record(rec: &csv::ByteRecord, c: &CsvInput) -> Result<()> {
    let raw = rec.as_slice();
    if raw.len() > MAX_RECORD {
        return err(
            "OverMaxRecordSize",
            "The length of a record in the input is greater than maxCharsPerRecord of 1 MB.",
        );
    }
    if !c.allow_quoted_record_delimiter && raw.contains(&c.record_delimiter.unwrap_or(b'\n')) {
        return err(
            "CSVEscapingRecordDelimiter",
            "A quoted record delimiter was found in the file. To allow quoted record delimiters, set AllowQuotedRecordDelimiter to 'TRUE'.",
        );
    }
    Ok(())
}

/// Binds the statement's columns to the header (USE) or to positions, and names `SELECT *`'s
/// columns after the header.
fn plan(
    c: &CsvInput,
    mut stmt: Statement,
    mut names: Vec<String>,
    scope: Scope,
    req: &Request,
    header: Option<Vec<String>>,
) -> Result<Plan> {
    if c.header == FileHeader::Use {
        bind_csv(&mut stmt, header.as_deref())?;
        if stmt.projections.is_none() {
            names = header.unwrap_or_default();
        }
    } else {
        bind_csv(&mut stmt, None)?;
    }
    Plan::new(stmt, names, scope, req.output.clone())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn scan<R: BufRead + Send>(
    req: &Request,
    c: &CsvInput,
    stmt: Statement,
    names: Vec<String>,
    scope: Scope,
    mut reader: R,
    skipped: u64,
    collector: Collector,
    compressed: bool,
) -> Result<Stats> {
    let wants_header = c.header != FileHeader::None && !req.window.skip_partial;
    let parallel = !c.allow_quoted_record_delimiter && req.window.last_start.is_none() && stmt.limit.is_none();
    if parallel {
        // Delimiters are never quoted: the header is the first line that is not a comment.
        let delimiter = c.record_delimiter.unwrap_or(b'\n');
        let mut header = None;
        let mut line = Vec::new();
        if wants_header {
            loop {
                line.clear();
                if reader.read_until(delimiter, &mut line).map_err(|e| io_error(e, compressed))? == 0 {
                    break;
                }
                let mut csv = builder(c).from_reader(line.as_slice());
                let mut rec = csv::ByteRecord::new();
                if next_record(&mut csv, &mut rec, c, compressed)? {
                    header = Some(rec.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect());
                    break;
                }
            }
        }
        let plan = plan(c, stmt, names, scope, req, header)?;
        return parallel_scan(&plan, c, reader, collector, compressed);
    }
    let mut csv = builder(c).from_reader(reader);
    let mut rec = csv::ByteRecord::new();
    let mut header = None;
    if wants_header && next_record(&mut csv, &mut rec, c, compressed)? {
        header = Some(rec.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect());
    }
    let plan = plan(c, stmt, names, scope, req, header)?;
    let mut run = Sequential { plan: &plan, part: plan.part(), collector };
    while !run.done() && next_record(&mut csv, &mut rec, c, compressed)? {
        let start = rec.position().map(|p| p.byte()).unwrap_or(0);
        if req.window.last_start.is_some_and(|last| skipped + start > last) {
            break;
        }
        check_record(&rec, c)?;
        if !run.row(Row::Csv(&rec))? {
            break;
        }
    }
    run.finish()
}

/// Parses and evaluates one chunk of whole records.
fn scan_chunk(plan: &Plan, c: &CsvInput, chunk: &[u8], compressed: bool) -> Result<Part> {
    let mut csv = builder(c).from_reader(chunk);
    let mut rec = csv::ByteRecord::new();
    let mut part = plan.part();
    while next_record(&mut csv, &mut rec, c, compressed)? {
        check_record(&rec, c)?;
        plan.row(&mut part, Row::Csv(&rec))?;
        if part.out.len() >= EVENT_BYTES {
            part.events.push(std::mem::take(&mut part.out));
        }
    }
    Ok(part)
}

/// Reads up to a chunk's worth, cut after its last record delimiter; `carry` holds what follows.
fn read_chunk<R: Read>(
    reader: &mut R,
    carry: &mut Vec<u8>,
    delimiter: u8,
    compressed: bool,
) -> Result<Option<Vec<u8>>> {
    let mut buf = std::mem::take(carry);
    loop {
        let want = (CHUNK.saturating_sub(buf.len())).max(64 << 10);
        let n = reader.by_ref().take(want as u64).read_to_end(&mut buf).map_err(|e| io_error(e, compressed))?;
        if n == 0 {
            return Ok((!buf.is_empty()).then_some(buf));
        }
        if buf.len() < CHUNK {
            continue;
        }
        match buf.iter().rposition(|b| *b == delimiter) {
            Some(i) => {
                *carry = buf.split_off(i + 1);
                return Ok(Some(buf));
            }
            None if buf.len() > CHUNK + MAX_RECORD => {
                return err(
                    "OverMaxRecordSize",
                    "The length of a record in the input is greater than maxCharsPerRecord of 1 MB.",
                )
            }
            None => {}
        }
    }
}

fn parallel_scan<R: Read + Send>(
    plan: &Plan,
    c: &CsvInput,
    mut reader: R,
    mut collector: Collector,
    compressed: bool,
) -> Result<Stats> {
    use std::sync::mpsc;
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let delimiter = c.record_delimiter.unwrap_or(b'\n');
    let mut total = plan.part();
    let (job_tx, job_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(workers);
    let job_rx = std::sync::Mutex::new(job_rx);
    std::thread::scope(|scope| -> Result<()> {
        let (done_tx, done_rx) = mpsc::channel::<(u64, Result<Part>)>();
        for _ in 0..workers {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            scope.spawn(move || loop {
                let job = job_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((seq, chunk))) = job else { return };
                if done_tx.send((seq, scan_chunk(plan, c, &chunk, compressed))).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        // Answers arrive in any order; they are sent in input order.
        let mut pending = std::collections::BTreeMap::new();
        let mut next = 0u64;
        let mut deliver = |pending: &mut std::collections::BTreeMap<u64, Result<Part>>, next: &mut u64| -> Result<()> {
            while let Some(part) = pending.remove(next) {
                let mut part = part?;
                for mut event in std::mem::take(&mut part.events) {
                    collector.flush(&mut event)?;
                }
                collector.flush(&mut part.out)?;
                collector.idle_check()?;
                total.merge_aggregates(part)?;
                *next += 1;
            }
            Ok(())
        };
        let mut carry = Vec::new();
        let mut sent = 0u64;
        while let Some(chunk) = read_chunk(&mut reader, &mut carry, delimiter, compressed)? {
            let mut job = (sent, chunk);
            sent += 1;
            // Wait for an answer while the workers are all busy, sending what is ready.
            loop {
                match job_tx.try_send(job) {
                    Ok(()) => break,
                    Err(mpsc::TrySendError::Full(j)) => {
                        job = j;
                        let (seq, part) = done_rx.recv().map_err(|_| SelectError::internal("A worker stopped."))?;
                        pending.insert(seq, part);
                        deliver(&mut pending, &mut next)?;
                    }
                    Err(mpsc::TrySendError::Disconnected(_)) => {
                        return Err(SelectError::internal("The workers stopped."))
                    }
                }
            }
            while let Ok((seq, part)) = done_rx.try_recv() {
                pending.insert(seq, part);
            }
            deliver(&mut pending, &mut next)?;
        }
        drop(job_tx);
        while next < sent {
            let (seq, part) = done_rx.recv().map_err(|_| SelectError::internal("A worker stopped."))?;
            pending.insert(seq, part);
            deliver(&mut pending, &mut next)?;
        }
        Ok(())
    })?;
    plan.answer(&mut total)?;
    collector.flush(&mut total.out)?;
    collector.finish()
}
