//! SelectObjectContent: the request checked and translated for the S3 Select engine, the
//! object streamed through it on a blocking thread, the answer sent as an event stream
//! (Records, Progress, Cont, Stats, End; an error message when the query fails midway).
use crate::object::{locate, open_range};
use crate::S3Service;
use bytes::Bytes;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::ServiceRequest;
use nuage_protocol::eventstream;
use nuage_protocol::{s3 as m, HttpResponse, Piece, Streamed};
use nuage_s3select as sel;
use std::sync::Arc;

fn refused(code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError::new(code, 400, message)
}

pub(crate) fn from_select(e: sel::SelectError) -> AwsError {
    AwsError::new(e.code, e.status, e.message)
}

/// One character of a CSV setting, as a byte (the engine reads ASCII delimiters).
fn one_char(value: Option<&str>, default: u8, name: &str) -> AwsResult<u8> {
    match value {
        None => Ok(default),
        Some(s) if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        Some(s) => Err(refused(
            "InvalidRequestParameter",
            format!("The value of {name} ('{s}') is not valid: it must be a single ASCII character."),
        )),
    }
}

fn csv_input(c: &m::CSVInput) -> AwsResult<sel::CsvInput> {
    let header = match c.file_header_info.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("NONE") => sel::FileHeader::None,
        Some("USE") => sel::FileHeader::Use,
        Some("IGNORE") => sel::FileHeader::Ignore,
        Some(_) => {
            return Err(refused(
                "InvalidFileHeaderInfo",
                "The FileHeaderInfo value is not valid. Only NONE, USE, and IGNORE are supported.",
            ))
        }
    };
    let record_delimiter = match c.record_delimiter.as_deref() {
        Some("\r\n") => None,
        other => Some(one_char(other, b'\n', "RecordDelimiter")?),
    };
    let quote = one_char(c.quote_character.as_deref(), b'"', "QuoteCharacter")?;
    let comment = match c.comments.as_deref() {
        Some("") => None,
        other => Some(one_char(other, b'#', "Comments")?),
    };
    Ok(sel::CsvInput {
        header,
        comment,
        quote_escape: one_char(c.quote_escape_character.as_deref(), quote, "QuoteEscapeCharacter")?,
        record_delimiter,
        field_delimiter: one_char(c.field_delimiter.as_deref(), b',', "FieldDelimiter")?,
        quote,
        allow_quoted_record_delimiter: c.allow_quoted_record_delimiter.unwrap_or(false),
    })
}

fn output(o: &m::OutputSerialization) -> AwsResult<sel::Output> {
    match (&o.csv, &o.json) {
        (Some(_), Some(_)) => Err(refused(
            "ObjectSerializationConflict",
            "OutputSerialization specifies more than one format (CSV or JSON).",
        )),
        (None, None) => Err(refused("MissingRequiredParameter", "OutputSerialization must name CSV or JSON.")),
        (Some(c), None) => {
            let always = match c.quote_fields.as_deref().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASNEEDED") => false,
                Some("ALWAYS") => true,
                Some(_) => {
                    return Err(refused(
                        "InvalidQuoteFields",
                        "The QuoteFields value is not valid. Only ALWAYS and ASNEEDED are supported.",
                    ))
                }
            };
            let quote = c.quote_character.clone().unwrap_or_else(|| "\"".into());
            let char_of = |s: &str, name: &str| -> AwsResult<char> {
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(ch), None) => Ok(ch),
                    _ => Err(refused(
                        "InvalidRequestParameter",
                        format!("The value of {name} must be a single character."),
                    )),
                }
            };
            let quote = char_of(&quote, "QuoteCharacter")?;
            let escape = match c.quote_escape_character.as_deref() {
                Some(e) => char_of(e, "QuoteEscapeCharacter")?,
                None => quote,
            };
            Ok(sel::Output::Csv(sel::CsvOutput {
                field_delimiter: c.field_delimiter.clone().unwrap_or_else(|| ",".into()),
                record_delimiter: c.record_delimiter.clone().unwrap_or_else(|| "\n".into()),
                quote,
                quote_escape: escape,
                always_quote: always,
            }))
        }
        (None, Some(j)) => {
            Ok(sel::Output::Json { record_delimiter: j.record_delimiter.clone().unwrap_or_else(|| "\n".into()) })
        }
    }
}

/// The request as the engine takes it, with every check S3 makes before answering; and the
/// byte range of the object to read.
pub(crate) fn request(
    input: &m::SelectObjectContentRequest,
    size: u64,
) -> AwsResult<(sel::Request, Option<(u64, u64)>)> {
    let expression = input.expression.clone().ok_or_else(|| {
        refused("MissingRequiredParameter", "The SelectRequest entity is missing a required parameter: Expression.")
    })?;
    if !input.expression_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("SQL")) {
        return Err(refused(
            "InvalidExpressionType",
            "The ExpressionType value is not valid. Only SQL expressions are supported.",
        ));
    }
    let ins = input.input_serialization.as_ref().ok_or_else(|| {
        refused(
            "MissingRequiredParameter",
            "The SelectRequest entity is missing a required parameter: InputSerialization.",
        )
    })?;
    let formats = [ins.csv.is_some(), ins.json.is_some(), ins.parquet.is_some()].iter().filter(|b| **b).count();
    if formats > 1 {
        return Err(refused(
            "ObjectSerializationConflict",
            "InputSerialization specifies more than one format (CSV, JSON, or Parquet).",
        ));
    }
    let format = if let Some(c) = &ins.csv {
        sel::Input::Csv(csv_input(c)?)
    } else if let Some(j) = &ins.json {
        match j.r#type.as_deref().map(str::to_ascii_uppercase).as_deref() {
            Some("DOCUMENT") => sel::Input::Json { lines: false },
            Some("LINES") => sel::Input::Json { lines: true },
            _ => {
                return Err(refused(
                    "InvalidJsonType",
                    "The JsonType value is not valid. Only DOCUMENT and LINES are supported.",
                ))
            }
        }
    } else if ins.parquet.is_some() {
        sel::Input::Parquet
    } else {
        return Err(refused("MissingRequiredParameter", "InputSerialization must name CSV, JSON or Parquet."));
    };
    let compression = match ins.compression_type.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("NONE") => sel::Compression::None,
        Some("GZIP") => sel::Compression::Gzip,
        Some("BZIP2") => sel::Compression::Bzip2,
        Some(_) => {
            return Err(refused(
                "InvalidCompressionFormat",
                "The file is not in a supported compression format. Only GZIP and BZIP2 are supported.",
            ))
        }
    };
    if matches!(format, sel::Input::Parquet) && compression != sel::Compression::None {
        return Err(refused(
            "InvalidRequestParameter",
            "Parquet input takes CompressionType NONE: its pages carry their own compression.",
        ));
    }
    let out = output(input.output_serialization.as_ref().ok_or_else(|| {
        refused(
            "MissingRequiredParameter",
            "The SelectRequest entity is missing a required parameter: OutputSerialization.",
        )
    })?)?;
    let mut window = sel::Window::default();
    let mut range = (size > 0).then(|| (0, size - 1));
    if let Some(r) = &input.scan_range {
        let scannable = compression == sel::Compression::None
            && match &format {
                sel::Input::Csv(c) => !c.allow_quoted_record_delimiter,
                sel::Input::Json { lines } => *lines,
                sel::Input::Parquet => false,
            };
        if !scannable {
            return Err(refused(
                "UnsupportedScanRangeInput",
                "Scan range queries are supported only on uncompressed CSV (without quoted record delimiters) and JSON Lines objects.",
            ));
        }
        if r.start.is_some_and(|s| s < 0)
            || r.end.is_some_and(|e| e < 0)
            || matches!((r.start, r.end), (Some(s), Some(e)) if s > e)
        {
            return Err(refused("InvalidScanRange", "The provided scan range is not valid."));
        }
        let (start, end) = match (r.start, r.end) {
            (Some(s), Some(e)) => (s as u64, e as u64),
            (Some(s), None) => (s as u64, u64::MAX),
            // Only End: the last End bytes.
            (None, Some(e)) => (size.saturating_sub(e as u64), u64::MAX),
            (None, None) => (0, u64::MAX),
        };
        // Records that start in the range are read whole, even past its end; the reader
        // starts one byte early to tell whether the range's first byte starts a record.
        let begin = start.saturating_sub(1);
        window = sel::Window { skip_partial: start > 0, last_start: (end != u64::MAX).then(|| end - begin) };
        range = (begin < size).then(|| (begin, size - 1));
    }
    let req = sel::Request {
        statement_text: expression,
        input: format,
        compression,
        output: out,
        window,
        progress: input.request_progress.as_ref().and_then(|p| p.enabled).unwrap_or(false),
    };
    Ok((req, range))
}

/// The object's pieces read at random, for Parquet.
struct Pieces {
    parts: Vec<(u64, Piece)>,
    size: u64,
}

impl sel::RandomAccess for Pieces {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        for (start, piece) in &self.parts {
            if buf.is_empty() {
                break;
            }
            let len = match piece {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File { len, .. } => *len,
                Piece::Produced(_) => 0,
            };
            if offset < *start || offset >= start + len {
                continue;
            }
            let within = offset - start;
            let n = ((len - within) as usize).min(buf.len());
            match piece {
                Piece::Bytes(b) => buf[..n].copy_from_slice(&b[within as usize..within as usize + n]),
                Piece::File { file, offset: base, .. } => file.read_exact_at(&mut buf[..n], base + within)?,
                Piece::Produced(_) => {}
            }
            offset += n as u64;
            buf = &mut buf[n..];
        }
        if buf.is_empty() {
            Ok(())
        } else {
            Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "read past the end of the object"))
        }
    }
}

/// Sends the engine's output as events, blocking while the client catches up.
struct EventSink {
    tx: tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
}

impl EventSink {
    fn send(&mut self, event: Vec<u8>) -> sel::Result<()> {
        self.tx.blocking_send(Ok(Bytes::from(event))).map_err(|_| sel::SelectError::internal("The client went away."))
    }
}

fn stats_xml(root: &str, s: &sel::Stats) -> Vec<u8> {
    format!(
        "<{root} xmlns=\"\"><BytesScanned>{}</BytesScanned><BytesProcessed>{}</BytesProcessed><BytesReturned>{}</BytesReturned></{root}>",
        s.bytes_scanned, s.bytes_processed, s.bytes_returned
    )
    .into_bytes()
}

impl sel::Sink for EventSink {
    fn records(&mut self, data: &[u8]) -> sel::Result<()> {
        self.send(eventstream::event("Records", Some("application/octet-stream"), data))
    }
    fn progress(&mut self, stats: &sel::Stats) -> sel::Result<()> {
        self.send(eventstream::event("Progress", Some("text/xml"), &stats_xml("Progress", stats)))
    }
    fn keep_alive(&mut self) -> sel::Result<()> {
        self.send(eventstream::event("Cont", None, &[]))
    }
}

pub async fn select_object_content(
    svc: &S3Service,
    _ctx: &RequestContext,
    input: m::SelectObjectContentRequest,
    req: &ServiceRequest,
) -> AwsResult<HttpResponse> {
    if req.header("range").is_some() {
        return Err(refused("UnsupportedRangeHeader", "A range header is not supported for this operation."));
    }
    let key = input.key.clone().unwrap_or_default();
    let loc = locate(svc, &input.bucket.clone().unwrap_or_default(), &key, None, true)?;
    crate::sse::check_read(&loc.version.sse, req, "x-amz-")?;
    let v = &loc.version;
    if crate::restore::archived(v) && !crate::restore::restored(v) {
        return Err(refused(
            "UnsupportedStorageClass",
            "We encountered a storage class that is not supported. Only STANDARD, STANDARD_IA, and ONEZONE_IA storage classes are supported.",
        ));
    }
    let (sreq, range) = request(&input, v.size)?;
    let stmt = sel::prepare(&sreq).map_err(from_select)?;
    let body = match range {
        Some((s, e)) => open_range(svc, v, s, e)?,
        None => Streamed::default(),
    };
    let source = if matches!(sreq.input, sel::Input::Parquet) {
        let mut parts = Vec::new();
        let mut at = 0;
        for p in body.0 {
            let len = match &p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File { len, .. } => *len,
                Piece::Produced(_) => 0,
            };
            parts.push((at, p));
            at += len;
        }
        sel::Source::Random(Arc::new(Pieces { parts, size: at }))
    } else {
        sel::Source::Stream(Box::new(body.into_reader()))
    };
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::task::spawn_blocking(move || {
        let mut sink = EventSink { tx };
        let ending = match sel::run(&sreq, stmt, source, &mut sink) {
            Ok(stats) => {
                let _ = sink.send(eventstream::event("Stats", Some("text/xml"), &stats_xml("Stats", &stats)));
                eventstream::event("End", None, &[])
            }
            Err(e) => eventstream::error(e.code, &e.message),
        };
        let _ = sink.send(ending);
    });
    Ok(HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: Bytes::new(),
        stream: Some(Streamed(vec![Piece::Produced(rx)])),
    })
}
