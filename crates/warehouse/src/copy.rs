//! COPY from S3: the statement read from its tokens (Redshift's options are a language of
//! their own), the objects listed and fetched through `External`, decompressed, split into
//! fields and converted to the table's types with Redshift's rules, file by file (and piece by
//! piece of a large file) in parallel. A row that does not convert is reported as
//! STL_LOAD_ERRORS reports it, with Redshift's error codes.
use crate::error::{SqlError, SqlResult};
use crate::external::{Credentials, ObjectStore};
use crate::privileges::Words;
use crate::state::ColumnMeta;
use crate::types::RsType;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, RecordBatch, StringArray, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::compute::{cast_with_options, filter_record_batch, CastOptions};
use datafusion::arrow::datatypes::{Field, Schema};
use std::io::Read;
use std::sync::Arc;

mod convert;
mod stream;
use convert::*;

#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// Delimited text (the default: `|`).
    Text {
        delimiter: char,
    },
    Csv {
        delimiter: char,
        quote: char,
    },
    /// `label:width, ...`: each field takes that many characters.
    FixedWidth(Vec<usize>),
    /// `'auto'`, `'auto ignorecase'`, or a JSONPaths file in S3.
    Json(JsonMapping),
    /// Avro object container files: fields by name, or through a JSONPaths file.
    Avro(JsonMapping),
    Parquet,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JsonMapping {
    Auto { ignore_case: bool },
    Paths(String),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
    Zstd,
}

/// A COPY statement.
#[derive(Clone, Debug, PartialEq)]
pub struct CopySpec {
    /// The statement as sent (for STL_QUERY).
    pub text: String,
    pub schema: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub source: String,
    pub credentials: Credentials,
    pub format: Format,
    pub region: Option<String>,
    pub manifest: bool,
    pub ignore_header: usize,
    pub null_as: String,
    pub empty_as_null: bool,
    pub blanks_as_null: bool,
    pub date_format: Option<String>,
    pub time_format: Option<String>,
    pub accept_inv_chars: Option<char>,
    pub truncate_columns: bool,
    pub max_error: usize,
    pub fill_record: bool,
    pub escape: bool,
    pub remove_quotes: bool,
    pub compression: Compression,
    pub explicit_ids: bool,
    pub ignore_blank_lines: bool,
    pub trim_blanks: bool,
    /// NOLOAD: the files are read and checked, nothing is loaded.
    pub no_load: bool,
    /// ACCEPTANYDATE: a date or timestamp that does not parse is loaded as NULL.
    pub accept_any_date: bool,
    /// ROUNDEC: decimals with more fractional digits than the column's scale are rounded
    /// (by default they are truncated).
    pub round_decimals: bool,
    /// ENCODING: the character set of the text files.
    pub encoding: Encoding,
}

/// The character sets COPY reads (ENCODING).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    Utf8,
    /// UTF16: big-endian unless a byte-order mark says otherwise.
    Utf16,
    Utf16Le,
    Utf16Be,
}

/// `'\t'` and friends as Redshift reads them in DELIMITER and QUOTE.
pub(crate) fn one_char(s: &str, what: &str) -> SqlResult<char> {
    let c = match s {
        "\\t" => '\t',
        "\\n" => '\n',
        "\\\\" => '\\',
        "\\|" => '|',
        _ => {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(c), None) => c,
                _ => return Err(SqlError::new("42601", format!("{what} must be a single character"))),
            }
        }
    };
    Ok(c)
}

/// `aws_iam_role=arn` or `aws_access_key_id=...;aws_secret_access_key=...[;token=...]`.
fn credentials_string(s: &str) -> SqlResult<Credentials> {
    let mut role = None;
    let (mut key, mut secret, mut token) = (None, None, None);
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| SqlError::new("42601", "Invalid credentials string"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "aws_iam_role" => role = Some(v.trim().to_string()),
            "aws_access_key_id" => key = Some(v.trim().to_string()),
            "aws_secret_access_key" => secret = Some(v.trim().to_string()),
            "token" => token = Some(v.trim().to_string()),
            other => return Err(SqlError::new("42601", format!("Invalid credentials: unknown key {other}"))),
        }
    }
    match (role, key, secret) {
        (Some(r), None, None) => Ok(Credentials::IamRole(r)),
        (None, Some(access_key_id), Some(secret_access_key)) => {
            Ok(Credentials::Keys { access_key_id, secret_access_key, session_token: token })
        }
        _ => Err(SqlError::new("42601", "Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or 'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'")),
    }
}

/// The authorisation clause COPY and UNLOAD share, read option by option.
#[derive(Default)]
pub(crate) struct Authorization {
    credentials: Option<Credentials>,
    key: Option<String>,
    secret: Option<String>,
    token: Option<String>,
}

impl Authorization {
    /// Takes `word` (already consumed) and its argument if it belongs to the clause.
    pub(crate) fn take(&mut self, word: &str, w: &mut Words) -> SqlResult<bool> {
        match word {
            "IAM_ROLE" => {
                self.credentials = Some(if w.is("DEFAULT") {
                    Credentials::DefaultIamRole
                } else {
                    Credentials::IamRole(w.literal()?)
                });
            }
            "CREDENTIALS" => {
                w.is("AS");
                self.credentials = Some(credentials_string(&w.literal()?)?);
            }
            "ACCESS_KEY_ID" => self.key = Some(w.literal()?),
            "SECRET_ACCESS_KEY" => self.secret = Some(w.literal()?),
            "SESSION_TOKEN" => self.token = Some(w.literal()?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    pub(crate) fn finish(self, statement: &str) -> SqlResult<Credentials> {
        match (self.credentials, self.key, self.secret) {
            (Some(c), None, None) => Ok(c),
            (None, Some(access_key_id), Some(secret_access_key)) => {
                Ok(Credentials::Keys { access_key_id, secret_access_key, session_token: self.token })
            }
            (None, None, None) => Err(SqlError::new(
                "42601",
                format!("{statement} needs IAM_ROLE, CREDENTIALS or ACCESS_KEY_ID and SECRET_ACCESS_KEY"),
            )),
            _ => Err(SqlError::new("42601", format!("Conflicting or incomplete credentials in {statement}"))),
        }
    }
}

impl CopySpec {
    /// Reads a COPY statement; `None` when the text is not one.
    pub fn parse(sql: &str) -> Option<SqlResult<CopySpec>> {
        Words::statement(sql, "COPY", Self::read)
    }

    fn read(w: &mut Words, text: &str) -> SqlResult<CopySpec> {
        let first = w.name()?;
        let (schema, table) = if w.is(".") { (Some(first), w.name()?) } else { (None, first) };
        let columns = if w.is("(") { w.names_to_paren()? } else { Vec::new() };
        w.expect("FROM")?;
        let source = w.literal()?;
        let mut spec = CopySpec {
            text: text.to_string(),
            schema,
            table,
            columns,
            source,
            credentials: Credentials::DefaultIamRole,
            format: Format::Text { delimiter: '|' },
            region: None,
            manifest: false,
            ignore_header: 0,
            null_as: "\\N".into(),
            empty_as_null: false,
            blanks_as_null: false,
            date_format: None,
            time_format: None,
            accept_inv_chars: None,
            truncate_columns: false,
            max_error: 0,
            fill_record: false,
            escape: false,
            remove_quotes: false,
            compression: Compression::None,
            explicit_ids: false,
            ignore_blank_lines: false,
            trim_blanks: false,
            no_load: false,
            accept_any_date: false,
            round_decimals: false,
            encoding: Encoding::Utf8,
        };
        let mut auth = Authorization::default();
        let mut delimiter: Option<char> = None;
        let mut csv_quote: Option<char> = None;
        let mut csv = false;
        let mut fixed: Option<Vec<usize>> = None;
        let mut json: Option<JsonMapping> = None;
        let mut avro: Option<JsonMapping> = None;
        let mut parquet = false;
        while let Some(word) = w.peek().map(str::to_string) {
            w.pos += 1;
            if auth.take(&word, w)? {
                continue;
            }
            match word.as_str() {
                "," | "WITH" | "FORMAT" | "AS" => {}
                "DELIMITER" => {
                    w.is("AS");
                    delimiter = Some(one_char(&w.literal()?, "COPY delimiter")?);
                }
                "CSV" => {
                    csv = true;
                    if w.is("QUOTE") {
                        w.is("AS");
                        csv_quote = Some(one_char(&w.literal()?, "CSV quote")?);
                    }
                }
                "QUOTE" => {
                    w.is("AS");
                    csv_quote = Some(one_char(&w.literal()?, "CSV quote")?);
                }
                "FIXEDWIDTH" => {
                    w.is("AS");
                    let spec = w.literal()?;
                    let mut widths = Vec::new();
                    for part in spec.split(',') {
                        let width = part
                            .rsplit_once(':')
                            .and_then(|(_, n)| n.trim().parse::<usize>().ok())
                            .ok_or_else(|| SqlError::new("42601", format!("Invalid fixedwidth spec: {spec}")))?;
                        widths.push(width);
                    }
                    fixed = Some(widths);
                }
                "JSON" => {
                    w.is("AS");
                    let arg = if w.peek() == Some("'") { w.literal()? } else { "auto".into() };
                    json = Some(json_mapping(&arg, "JSON")?);
                }
                "PARQUET" => parquet = true,
                "AVRO" => {
                    w.is("AS");
                    let arg = if w.peek() == Some("'") { w.literal()? } else { "auto".into() };
                    avro = Some(json_mapping(&arg, "AVRO")?);
                }
                "ORC" => return Err(SqlError::unsupported("COPY FORMAT ORC is not supported yet")),
                "REGION" => {
                    w.is("AS");
                    spec.region = Some(w.literal()?);
                }
                "MANIFEST" => {
                    spec.manifest = true;
                    w.is("VERBOSE");
                }
                "IGNOREHEADER" => {
                    w.is("AS");
                    spec.ignore_header = number(w)?;
                }
                "NULL" => {
                    w.is("AS");
                    spec.null_as = w.literal()?;
                }
                "EMPTYASNULL" => spec.empty_as_null = true,
                "BLANKSASNULL" => spec.blanks_as_null = true,
                "DATEFORMAT" => {
                    w.is("AS");
                    spec.date_format = Some(w.literal()?);
                }
                "TIMEFORMAT" => {
                    w.is("AS");
                    spec.time_format = Some(w.literal()?);
                }
                "ACCEPTINVCHARS" => {
                    w.is("AS");
                    let c = if w.peek() == Some("'") { one_char(&w.literal()?, "ACCEPTINVCHARS")? } else { '?' };
                    spec.accept_inv_chars = Some(c);
                }
                "TRUNCATECOLUMNS" => spec.truncate_columns = true,
                "MAXERROR" => {
                    w.is("AS");
                    spec.max_error = number(w)?;
                }
                "FILLRECORD" => spec.fill_record = true,
                "ESCAPE" => spec.escape = true,
                "REMOVEQUOTES" => spec.remove_quotes = true,
                "GZIP" => spec.compression = Compression::Gzip,
                "BZIP2" => spec.compression = Compression::Bzip2,
                "ZSTD" => spec.compression = Compression::Zstd,
                "LZOP" => return Err(SqlError::unsupported("LZOP compression is not supported")),
                "EXPLICIT_IDS" => spec.explicit_ids = true,
                "IGNOREBLANKLINES" => spec.ignore_blank_lines = true,
                "TRIMBLANKS" => spec.trim_blanks = true,
                // Tuning options: accepted, they change nothing here.
                "COMPUPDATE" | "STATUPDATE" => {
                    for v in ["ON", "OFF", "TRUE", "FALSE", "PRESET"] {
                        if w.is(v) {
                            break;
                        }
                    }
                }
                "COMPROWS" | "READRATIO" => {
                    number(w)?;
                }
                "ACCEPTANYDATE" => spec.accept_any_date = true,
                "ROUNDEC" => spec.round_decimals = true,
                "NOLOAD" => spec.no_load = true,
                "ENCODING" => {
                    w.is("AS");
                    let name = w.name()?;
                    spec.encoding = match name.to_ascii_uppercase().as_str() {
                        "UTF8" => Encoding::Utf8,
                        "UTF16" => Encoding::Utf16,
                        "UTF16LE" => Encoding::Utf16Le,
                        "UTF16BE" => Encoding::Utf16Be,
                        _ => {
                            return Err(SqlError::new(
                                "22023",
                                format!("Invalid ENCODING {name}: UTF8, UTF16, UTF16LE or UTF16BE"),
                            ))
                        }
                    };
                }
                other => return Err(SqlError::syntax(&other.to_ascii_lowercase())),
            }
        }
        spec.credentials = auth.finish("COPY")?;
        let formats = [csv, fixed.is_some(), json.is_some(), avro.is_some(), parquet].iter().filter(|b| **b).count();
        if formats > 1 {
            return Err(SqlError::new("42601", "Only one of CSV, FIXEDWIDTH, JSON, AVRO, PARQUET may be given"));
        }
        spec.format = if csv {
            Format::Csv { delimiter: delimiter.unwrap_or(','), quote: csv_quote.unwrap_or('"') }
        } else if let Some(widths) = fixed {
            Format::FixedWidth(widths)
        } else if let Some(j) = json {
            Format::Json(j)
        } else if let Some(a) = avro {
            Format::Avro(a)
        } else if parquet {
            Format::Parquet
        } else {
            if csv_quote.is_some() {
                return Err(SqlError::new("42601", "QUOTE AS is only allowed with CSV"));
            }
            Format::Text { delimiter: delimiter.unwrap_or('|') }
        };
        if spec.remove_quotes && !matches!(spec.format, Format::Text { .. }) {
            return Err(SqlError::new("42601", "REMOVEQUOTES is only allowed with delimited text"));
        }
        Ok(spec)
    }

    /// The S3 bucket and key prefix of FROM.
    pub fn location(&self) -> SqlResult<(String, String)> {
        s3_url(&self.source)
    }
}

/// `'auto'`, `'auto ignorecase'` or a JSONPaths file, as JSON and AVRO take them.
fn json_mapping(arg: &str, format: &str) -> SqlResult<JsonMapping> {
    Ok(match arg.to_ascii_lowercase().as_str() {
        "auto" => JsonMapping::Auto { ignore_case: false },
        "auto ignorecase" => JsonMapping::Auto { ignore_case: true },
        _ if arg.starts_with("s3://") => JsonMapping::Paths(arg.to_string()),
        _ => return Err(SqlError::new("42601", format!("Invalid {format} option: {arg}"))),
    })
}

pub(crate) fn number(w: &mut Words) -> SqlResult<usize> {
    match w.next() {
        Some((u, v)) if u == "#" => v.parse().map_err(|_| SqlError::syntax(&v)),
        Some((_, v)) => Err(SqlError::syntax(&v)),
        None => Err(SqlError::new("42601", "syntax error at end of input")),
    }
}

pub fn s3_url(url: &str) -> SqlResult<(String, String)> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| SqlError::new("XX000", format!("Invalid S3 URL: '{url}'. It must begin with s3://")))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(SqlError::new("XX000", format!("Invalid S3 URL: '{url}'")));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

/// A row COPY rejected.
#[derive(Clone, Debug)]
pub struct RowError {
    pub file: String,
    pub line: i64,
    pub column: String,
    pub column_type: String,
    pub column_length: String,
    pub position: i32,
    pub raw_line: String,
    pub raw_value: String,
    pub code: i32,
    pub reason: String,
}

/// What one file gave.
pub struct FileResult {
    pub file: String,
    pub batch: Option<RecordBatch>,
    pub lines: i64,
    pub errors: Vec<RowError>,
}

/// The files a COPY reads: every object under the prefix, or a manifest's entries.
/// The files a COPY reads: bucket, key and size.
pub async fn files(spec: &CopySpec, store: &dyn ObjectStore) -> SqlResult<Vec<(String, String, u64)>> {
    let (bucket, prefix) = spec.location()?;
    if spec.manifest {
        let body = store.get(&bucket, &prefix).await?;
        let doc: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| SqlError::new("XX000", format!("Manifest file is not in correct json format: {e}")))?;
        let entries = doc.get("entries").and_then(|e| e.as_array()).ok_or_else(|| {
            SqlError::new("XX000", "Manifest file is not in correct json format: no \"entries\" array")
        })?;
        let mut out = Vec::new();
        for e in entries {
            let url = e.get("url").and_then(|u| u.as_str()).unwrap_or_default();
            let mandatory = e.get("mandatory").and_then(|m| m.as_bool()).unwrap_or(false);
            let (b, k) = s3_url(url)?;
            let found = store.list(&b, &k).await?.into_iter().find(|o| o.key == k);
            if let Some(o) = found {
                out.push((b, k, o.size));
            } else if mandatory {
                return Err(SqlError::new(
                    "XX000",
                    format!("Manifest file entry {url} is mandatory but was not found"),
                ));
            }
        }
        return Ok(out);
    }
    let objects: Vec<(String, String, u64)> = store
        .list(&bucket, &prefix)
        .await?
        .into_iter()
        .filter(|o| !(o.key.ends_with('/') && o.size == 0))
        .map(|o| (bucket.clone(), o.key, o.size))
        .collect();
    if objects.is_empty() {
        return Err(SqlError::new("XX000", format!("The specified S3 prefix '{prefix}' does not exist")).with_detail(
            format!("error: The specified S3 prefix '{prefix}' does not exist\ncode: 8001\ncontext: {}", spec.source),
        ));
    }
    Ok(objects)
}

/// Decompresses a file as COPY's compression option says.
pub(crate) fn decompress(bytes: Vec<u8>, c: Compression, file: &str) -> SqlResult<Vec<u8>> {
    let bad = |e: std::io::Error| SqlError::new("XX000", format!("Failed to decompress {file}: {e}"));
    Ok(match c {
        Compression::None => bytes,
        Compression::Gzip => {
            let mut out = Vec::with_capacity(bytes.len() * 4);
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(bad)?;
            out
        }
        Compression::Bzip2 => {
            let mut out = Vec::with_capacity(bytes.len() * 4);
            bzip2::read::MultiBzDecoder::new(&bytes[..]).read_to_end(&mut out).map_err(bad)?;
            out
        }
        Compression::Zstd => zstd::stream::decode_all(&bytes[..]).map_err(bad)?,
    })
}

/// Splits text into pieces of about `size` bytes at record ends, each with the number of the
/// line it starts on, so that pieces can be read in parallel. A record ends at a newline, one
/// outside quotes when fields may be quoted (`quote`); the text starts with a record.
pub fn pieces(text: &[u8], size: usize, quote: Option<u8>) -> Vec<(usize, usize, i64)> {
    let mut out = Vec::new();
    let (mut start, mut line) = (0usize, 1i64);
    while start < text.len() {
        let end = record_end_after(text, start, (start + size).min(text.len()), quote);
        out.push((start, end, line));
        line += memchr::memchr_iter(b'\n', &text[start..end]).count() as i64;
        start = end;
    }
    out
}

/// The end (after its newline) of the first record ending at or after `at_least`, records
/// starting at `from`; the text's end when none does.
fn record_end_after(text: &[u8], from: usize, at_least: usize, quote: Option<u8>) -> usize {
    let Some(q) = quote else {
        return memchr::memchr(b'\n', &text[at_least..]).map_or(text.len(), |p| at_least + p + 1);
    };
    let mut quoted = false;
    for i in memchr::memchr2_iter(q, b'\n', &text[from..]) {
        let i = from + i;
        if text[i] == q {
            quoted = !quoted;
        } else if !quoted && i >= at_least {
            return i + 1;
        }
    }
    text.len()
}

/// The end (after its newline) of the last whole record of `text`, records starting at its
/// start; fields may be quoted when `quote` is given.
fn last_record_end(text: &[u8], quote: Option<u8>) -> Option<usize> {
    let Some(q) = quote else { return memchr::memrchr(b'\n', text).map(|p| p + 1) };
    let mut quoted = false;
    let mut end = None;
    for i in memchr::memchr2_iter(q, b'\n', text) {
        if text[i] == q {
            quoted = !quoted;
        } else if !quoted {
            end = Some(i + 1);
        }
    }
    end
}

/// Reads one file (or one piece of one): its records split into fields, then converted.
pub struct Reader<'a> {
    pub spec: &'a CopySpec,
    pub columns: &'a [ColumnMeta],
    pub file: &'a str,
    /// JSONPaths expressions, one per column, for JSON with a paths file.
    pub json_paths: Option<&'a [Vec<PathStep>]>,
    /// Where the bytes read are counted (STV_LOAD_STATE), if anywhere.
    pub progress: Option<Arc<crate::engine::LoadState>>,
}

/// Counts the bytes that pass through a reader into a progress counter.
pub struct Counted<R> {
    pub inner: R,
    pub counter: Arc<crate::engine::LoadState>,
    pub compressed: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let c = if self.compressed { &self.counter.bytes_loaded_compressed } else { &self.counter.bytes_loaded };
        c.fetch_add(n as i64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

impl Fields {
    /// Fields copied out of their records (escapes taken out, CSV, JSON, fixed width).
    fn new(columns: usize) -> Fields {
        Fields::with(Values::Copied((0..columns).map(|_| StringBuilder::new()).collect()))
    }

    /// Fields that are slices of the piece's text.
    fn in_text(columns: usize) -> Fields {
        Fields::with(Values::InText((0..columns).map(|_| Vec::new()).collect()))
    }

    fn with(values: Values) -> Fields {
        Fields { values, lines: Vec::new(), raw: Vec::new(), errors: Vec::new() }
    }
}

/// A field's place in the piece's text: its start and end; `NULL_SPAN` for a NULL.
type Span = (u32, u32);
const NULL_SPAN: Span = (u32::MAX, u32::MAX);

/// The fields read, column by column.
enum Values {
    Copied(Vec<StringBuilder>),
    /// Where each field lies in the piece's text (delimited text without escapes: the
    /// common case, read without copying a numeric field at all).
    InText(Vec<Vec<Span>>),
}

/// One column's fields, ready to be converted.
enum ColumnText<'a> {
    Copied(StringArray),
    InText(&'a [Span], &'a str),
}

impl ColumnText<'_> {
    fn get(&self, row: usize) -> Option<&str> {
        match self {
            ColumnText::Copied(a) => a.is_valid(row).then(|| a.value(row)),
            ColumnText::InText(spans, text) => {
                let (s, e) = spans[row];
                (spans[row] != NULL_SPAN).then(|| &text[s as usize..e as usize])
            }
        }
    }
}

/// What a piece of a file gave: its rows, its rejected rows, how many lines it held.
pub type Piece = (Option<RecordBatch>, Vec<RowError>, i64);

/// Fields of the records read so far, column by column, and where each record came from.
struct Fields {
    values: Values,
    lines: Vec<i64>,
    raw: Vec<(usize, usize)>,
    errors: Vec<RowError>,
}

impl Reader<'_> {
    /// Decompresses and reads a whole file, in parallel pieces when the format allows.
    pub fn read_file(&self, bytes: Vec<u8>) -> SqlResult<FileResult> {
        let text = decompress(bytes, self.spec.compression, self.file)?;
        if self.spec.format == Format::Parquet {
            return self.read_parquet(text);
        }
        if let Format::Avro(mapping) = &self.spec.format {
            return self.read_avro(text, mapping);
        }
        let text = self.valid_utf8(utf16_to_utf8(text, self.spec.encoding))?;
        let splittable = matches!(self.spec.format, Format::Text { .. } | Format::FixedWidth(_))
            && !self.spec.escape
            && !self.spec.remove_quotes;
        // Header lines are dropped before splitting so that every piece is only records.
        let mut body_start = 0usize;
        let mut first_line = 1i64;
        if !matches!(self.spec.format, Format::Json(_)) {
            for _ in 0..self.spec.ignore_header {
                match text[body_start..].iter().position(|b| *b == b'\n') {
                    Some(p) => body_start += p + 1,
                    None => body_start = text.len(),
                }
                first_line += 1;
            }
        }
        let body = &text[body_start..];
        let pieces = if splittable { pieces(body, 8 << 20, None) } else { vec![(0, body.len(), 1)] };
        let results = self.read_pieces(body, &pieces, first_line);
        let mut batches = Vec::new();
        let mut errors = Vec::new();
        let mut lines = first_line - 1;
        for r in results {
            let (b, e, n) = r?;
            batches.extend(b);
            errors.extend(e);
            lines += n;
        }
        let batch = match batches.len() {
            0 => None,
            1 => batches.pop(),
            _ => Some(
                datafusion::arrow::compute::concat_batches(&batches[0].schema(), &batches)
                    .map_err(SqlError::internal)?,
            ),
        };
        Ok(FileResult { file: self.file.to_string(), batch, lines, errors })
    }

    /// Reads the pieces `(start, end, first line relative to `first_line`)` of `text`, each
    /// on its own thread when there are several.
    fn read_pieces(&self, text: &[u8], pieces: &[(usize, usize, i64)], first_line: i64) -> Vec<SqlResult<Piece>> {
        if pieces.len() <= 1 {
            return pieces.iter().map(|(s, e, l)| self.read_piece(&text[*s..*e], first_line + l - 1)).collect();
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = pieces
                .iter()
                .map(|(s, e, l)| scope.spawn(move || self.read_piece(&text[*s..*e], first_line + l - 1)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(SqlError::internal("COPY reader failed"))))
                .collect()
        })
    }

    /// Invalid UTF-8 is replaced with ACCEPTINVCHARS's character, or fails the file's rows.
    fn valid_utf8(&self, text: Vec<u8>) -> SqlResult<Vec<u8>> {
        match String::from_utf8(text) {
            Ok(s) => Ok(s.into_bytes()),
            Err(e) => match self.spec.accept_inv_chars {
                Some(c) => {
                    let lossy = String::from_utf8_lossy(e.as_bytes());
                    Ok(lossy.replace('\u{FFFD}', &c.to_string()).into_bytes())
                }
                None => Err(SqlError::new(
                    "XX000",
                    format!(
                        "Load into table failed: {} contains invalid or unsupported UTF8 codepoints (use ACCEPTINVCHARS)",
                        self.file
                    ),
                )),
            },
        }
    }

    /// Reads a piece of text whose first line is `first_line`: the converted rows, the
    /// rejected ones, and how many lines it held.
    fn read_piece(&self, piece: &[u8], first_line: i64) -> SqlResult<Piece> {
        let text = std::str::from_utf8(piece).map_err(SqlError::internal)?;
        let n = self.columns.len();
        let in_place = match self.spec.format {
            Format::Text { delimiter } => {
                delimiter.is_ascii() && !self.spec.escape && !self.spec.remove_quotes && text.len() < u32::MAX as usize
            }
            _ => false,
        };
        let mut f = if in_place { Fields::in_text(n) } else { Fields::new(n) };
        let lines = match &self.spec.format {
            Format::Text { delimiter } if in_place => self.split_delimited(text, *delimiter as u8, first_line, &mut f),
            Format::Text { delimiter } => self.split_text(text, *delimiter, first_line, &mut f),
            Format::FixedWidth(widths) => self.split_fixed(text, widths, first_line, &mut f),
            Format::Csv { delimiter, quote } => self.split_csv(text, *delimiter, *quote, first_line, &mut f)?,
            Format::Json(mapping) => self.split_json(text, mapping, &mut f)?,
            Format::Parquet | Format::Avro(_) => unreachable!("read as binary files"),
        };
        let (batch, mut errors) = self.convert(&mut f, text)?;
        f.errors.append(&mut errors);
        Ok((batch, f.errors, lines))
    }

    fn error(&self, line: i64, raw: &str, code: i32, reason: &str) -> RowError {
        RowError {
            file: self.file.to_string(),
            line,
            column: String::new(),
            column_type: String::new(),
            column_length: String::new(),
            position: 0,
            raw_line: raw.chars().take(1024).collect(),
            raw_value: String::new(),
            code,
            reason: reason.to_string(),
        }
    }

    /// Pads or refuses a record whose field count is not the column count.
    fn push_record(&self, f: &mut Fields, fields: &[Option<&str>], line: i64, span: (usize, usize), raw: &str) {
        let n = self.columns.len();
        if fields.len() > n {
            f.errors.push(self.error(line, raw, 1214, "Extra column(s) found"));
            return;
        }
        if fields.len() < n && !self.spec.fill_record {
            f.errors.push(self.error(line, raw, 1214, "Delimiter not found"));
            return;
        }
        let Values::Copied(builders) = &mut f.values else { unreachable!("copied fields") };
        for (c, builder) in builders.iter_mut().enumerate() {
            match fields.get(c).copied().flatten() {
                Some(v) => builder.append_value(v),
                None => builder.append_null(),
            }
        }
        f.lines.push(line);
        f.raw.push(span);
    }

    /// Owned fields (after escapes were taken out, or from JSON) pushed as a record.
    fn push_owned(&self, f: &mut Fields, fields: &[Option<String>], line: i64, span: (usize, usize), raw: &str) {
        let borrowed: Vec<Option<&str>> = fields.iter().map(|v| v.as_deref()).collect();
        self.push_record(f, &borrowed, line, span, raw);
    }

    /// A field as read: NULL AS's string is NULL.
    fn field(&self, s: String) -> Option<String> {
        if s == self.spec.null_as {
            None
        } else {
            Some(s)
        }
    }

    /// Delimited text without escapes: one pass over the piece finding delimiters and
    /// newlines, each field kept as its place in the text.
    fn split_delimited(&self, text: &str, delimiter: u8, first_line: i64, f: &mut Fields) -> i64 {
        let bytes = text.as_bytes();
        let null = self.spec.null_as.as_bytes();
        let n = self.columns.len();
        let mut record: Vec<Span> = Vec::with_capacity(n + 1);
        let (mut start, mut field_start, mut line) = (0usize, 0usize, first_line);
        let end_record = |f: &mut Fields, record: &mut Vec<Span>, start: usize, end: usize, line: i64| {
            let raw = &text[start..end];
            if raw.is_empty() {
                if !self.spec.ignore_blank_lines {
                    f.errors.push(self.error(line, raw, 1211, "Input line contained no data"));
                }
            } else if record.len() > n {
                f.errors.push(self.error(line, raw, 1214, "Extra column(s) found"));
            } else if record.len() < n && !self.spec.fill_record {
                f.errors.push(self.error(line, raw, 1214, "Delimiter not found"));
            } else {
                let Values::InText(columns) = &mut f.values else { unreachable!("fields in the text") };
                for (c, column) in columns.iter_mut().enumerate() {
                    column.push(record.get(c).copied().unwrap_or(NULL_SPAN));
                }
                f.lines.push(line);
                f.raw.push((start, end));
            }
            record.clear();
        };
        let field = |s: usize, e: usize| if &bytes[s..e] == null { NULL_SPAN } else { (s as u32, e as u32) };
        for at in memchr::memchr2_iter(delimiter, b'\n', bytes) {
            record.push(field(field_start, at));
            field_start = at + 1;
            if bytes[at] == b'\n' {
                end_record(f, &mut record, start, at, line);
                start = at + 1;
                line += 1;
            }
        }
        if start < bytes.len() {
            record.push(field(field_start, bytes.len()));
            end_record(f, &mut record, start, bytes.len(), line);
            line += 1;
        }
        line - first_line
    }

    fn split_text(&self, text: &str, delimiter: char, first_line: i64, f: &mut Fields) -> i64 {
        let mut fields: Vec<Option<&str>> = Vec::with_capacity(self.columns.len());
        let mut offset = 0usize;
        let mut line_no = first_line;
        let mut lines = 0i64;
        let bytes = text.as_bytes();
        while offset < text.len() {
            // A record ends at a newline not escaped by ESCAPE.
            let start = offset;
            let mut end = start;
            let mut escaped = false;
            let mut record_lines = 1i64;
            while end < bytes.len() {
                let b = bytes[end];
                if self.spec.escape && b == b'\\' && !escaped {
                    escaped = true;
                    end += 1;
                    continue;
                }
                if b == b'\n' {
                    if escaped {
                        record_lines += 1;
                    } else {
                        break;
                    }
                }
                escaped = false;
                end += 1;
            }
            let record = &text[start..end];
            offset = (end + 1).min(text.len().max(end + 1));
            lines += record_lines;
            let line = line_no;
            line_no += record_lines;
            if record.is_empty() {
                if !self.spec.ignore_blank_lines {
                    f.errors.push(self.error(line, record, 1211, "Input line contained no data"));
                }
                continue;
            }
            if !self.spec.escape && !self.spec.remove_quotes {
                // The common case: fields are slices of the record, copied once into the columns.
                fields.clear();
                fields.extend(record.split(delimiter).map(|v| (v != self.spec.null_as).then_some(v)));
                self.push_record(f, &fields, line, (start, end), record);
            } else {
                let owned = self.text_fields(record, delimiter);
                self.push_owned(f, &owned, line, (start, end), record);
            }
        }
        lines
    }

    /// A record's fields with ESCAPE or REMOVEQUOTES applied.
    fn text_fields(&self, record: &str, delimiter: char) -> Vec<Option<String>> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut chars = record.chars().peekable();
        let mut in_quotes = false;
        let mut at_start = true;
        // NULL AS is compared with the field as written, before escapes are taken out.
        let mut raw = String::new();
        while let Some(c) = chars.next() {
            if self.spec.escape && c == '\\' {
                if let Some(n) = chars.next() {
                    raw.push(c);
                    raw.push(n);
                    cur.push(n);
                }
                at_start = false;
                continue;
            }
            if self.spec.remove_quotes && c == '"' && (at_start || in_quotes) {
                in_quotes = !in_quotes;
                at_start = false;
                raw.push(c);
                continue;
            }
            if c == delimiter && !in_quotes {
                out.push(if raw == self.spec.null_as { None } else { Some(std::mem::take(&mut cur)) });
                cur.clear();
                raw.clear();
                at_start = true;
                continue;
            }
            at_start = false;
            cur.push(c);
            raw.push(c);
        }
        out.push(if raw == self.spec.null_as { None } else { Some(cur) });
        out
    }

    fn split_fixed(&self, text: &str, widths: &[usize], first_line: i64, f: &mut Fields) -> i64 {
        let mut lines = 0i64;
        let mut offset = 0usize;
        for (i, record) in text.split_inclusive('\n').enumerate() {
            let start = offset;
            offset += record.len();
            let record = record.strip_suffix('\n').unwrap_or(record);
            let line = first_line + i as i64;
            lines += 1;
            if record.is_empty() {
                if !self.spec.ignore_blank_lines {
                    f.errors.push(self.error(line, record, 1211, "Input line contained no data"));
                }
                continue;
            }
            let mut chars = record.chars();
            let mut fields = Vec::with_capacity(widths.len());
            let mut short = false;
            for w in widths {
                let s: String = chars.by_ref().take(*w).collect();
                if s.chars().count() < *w && !self.spec.fill_record {
                    short = true;
                }
                fields.push(self.field(s.trim_end().to_string()));
            }
            if short {
                f.errors.push(self.error(line, record, 1214, "Line too short for the fixed-width specification"));
                continue;
            }
            self.push_owned(f, &fields, line, (start, start + record.len()), record);
        }
        lines
    }

    fn split_csv(&self, text: &str, delimiter: char, quote: char, first_line: i64, f: &mut Fields) -> SqlResult<i64> {
        if !delimiter.is_ascii() || !quote.is_ascii() {
            return Err(SqlError::new("42601", "CSV delimiter and quote must be ASCII characters"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter as u8)
            .quote(quote as u8)
            .double_quote(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        loop {
            let start = reader.position().byte() as usize;
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let end = reader.position().byte() as usize;
                    let line = first_line + record.position().map(|p| p.line() as i64 - 1).unwrap_or(0);
                    let raw = text[start..end.min(text.len())].trim_end_matches(['\n', '\r']);
                    let fields: Vec<Option<&str>> =
                        record.iter().map(|v| (v != self.spec.null_as).then_some(v)).collect();
                    self.push_record(f, &fields, line, (start, start + raw.len()), raw);
                }
                Err(e) => {
                    let line = first_line + e.position().map(|p| p.line() as i64 - 1).unwrap_or(0);
                    f.errors.push(self.error(line, "", 1216, &format!("Invalid input line: {e}")));
                    break;
                }
            }
        }
        // The reader stands on the line after the last one read.
        let next = reader.position().line() as i64;
        Ok(if text.ends_with('\n') || text.is_empty() { next - 1 } else { next })
    }

    fn split_json(&self, text: &str, mapping: &JsonMapping, f: &mut Fields) -> SqlResult<i64> {
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
        let mut start = 0usize;
        loop {
            let item = stream.next();
            let end = stream.byte_offset();
            let Some(item) = item else { break };
            let raw = text[start..end].trim();
            let first = end - text[start..end].trim_start().len();
            let line = 1 + text[..first].bytes().filter(|b| *b == b'\n').count() as i64;
            let value = match item {
                Ok(v) => v,
                Err(e) => {
                    f.errors.push(self.error(line, raw, 1224, &format!("Invalid JSON object: {e}")));
                    break;
                }
            };
            let fields = match self.json_fields(&value, mapping)? {
                Some(fields) => fields,
                None => {
                    f.errors.push(self.error(line, raw, 1224, "Invalid JSONPath format: Member is not an object."));
                    start = end;
                    continue;
                }
            };
            self.push_owned(f, &fields, line, (start, end), raw);
            start = end;
        }
        Ok(text.lines().count() as i64)
    }

    /// A JSON record's fields, one per column, by name or through the JSONPaths; `None`
    /// when the record is not an object.
    fn json_fields(&self, value: &serde_json::Value, mapping: &JsonMapping) -> SqlResult<Option<Vec<Option<String>>>> {
        Ok(Some(match (mapping, self.json_paths) {
            (_, Some(paths)) => {
                if paths.len() != self.columns.len() {
                    return Err(SqlError::new(
                        "XX000",
                        format!(
                            "Number of jsonpaths and the number of columns should match. JSONPath size: {}, Number of columns in table or column list: {}",
                            paths.len(),
                            self.columns.len()
                        ),
                    ));
                }
                paths.iter().map(|p| json_text(walk(value, p))).collect()
            }
            (JsonMapping::Auto { ignore_case }, None) => {
                let Some(obj) = value.as_object() else { return Ok(None) };
                self.columns
                    .iter()
                    .map(|c| {
                        let v = if *ignore_case {
                            obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(&c.name)).map(|(_, v)| v)
                        } else {
                            obj.get(&c.name)
                        };
                        json_text(v)
                    })
                    .collect()
            }
            (JsonMapping::Paths(_), None) => return Err(SqlError::internal("JSONPaths not loaded")),
        }))
    }

    /// An Avro object container file: each record, made JSON with its logical types written
    /// as text (dates, timestamps), then mapped to the columns as JSON records are.
    fn read_avro(&self, bytes: Vec<u8>, mapping: &JsonMapping) -> SqlResult<FileResult> {
        let bad = |e: &dyn std::fmt::Display| SqlError::new("XX000", format!("Invalid AVRO file {}: {e}", self.file));
        let reader = apache_avro::Reader::new(&bytes[..]).map_err(|e| bad(&e))?;
        let n = self.columns.len();
        let mut f = Fields::new(n);
        let mut records = 0i64;
        for value in reader {
            records += 1;
            let value = avro_json(value.map_err(|e| bad(&e))?);
            match self.json_fields(&value, mapping)? {
                Some(fields) => self.push_owned(&mut f, &fields, records, (0, 0), ""),
                None => f.errors.push(self.error(records, "", 1224, "Invalid AVRO record: not a record")),
            }
        }
        let (batch, mut errors) = self.convert(&mut f, "")?;
        f.errors.append(&mut errors);
        Ok(FileResult { file: self.file.to_string(), batch, lines: records, errors: f.errors })
    }

    fn read_parquet(&self, bytes: Vec<u8>) -> SqlResult<FileResult> {
        use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let bad = |e: &dyn std::fmt::Display| {
            SqlError::new("XX000", format!("Failed to read Parquet file {}: {e}", self.file))
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .map_err(|e| bad(&e))?
            .with_batch_size(65536)
            .build()
            .map_err(|e| bad(&e))?;
        let mut out = Vec::new();
        let mut lines = 0i64;
        for b in reader {
            let b = b.map_err(|e| bad(&e))?;
            if b.num_columns() != self.columns.len() {
                return Err(SqlError::new(
                    "XX000",
                    format!(
                        "Spectrum Scan Error: File '{}' has {} columns; the table or column list has {}",
                        self.file,
                        b.num_columns(),
                        self.columns.len()
                    ),
                ));
            }
            lines += b.num_rows() as i64;
            let mut arrays = Vec::with_capacity(b.num_columns());
            for (c, col) in self.columns.iter().enumerate() {
                let a =
                    cast_with_options(b.column(c), &col.ty.arrow(), &CastOptions { safe: false, ..Default::default() })
                        .map_err(|e| {
                            SqlError::new(
                                "XX000",
                                format!(
                                "Spectrum Scan Error: column {} of file '{}' has an incompatible Parquet schema: {e}",
                                col.name, self.file
                            ),
                            )
                        })?;
                arrays.push(a);
            }
            out.push(RecordBatch::try_new(self.schema(), arrays).map_err(SqlError::internal)?);
        }
        let batch = if out.is_empty() {
            None
        } else {
            Some(datafusion::arrow::compute::concat_batches(&self.schema(), &out).map_err(SqlError::internal)?)
        };
        Ok(FileResult { file: self.file.to_string(), batch, lines, errors: Vec::new() })
    }

    fn schema(&self) -> Arc<Schema> {
        Arc::new(Schema::new(self.columns.iter().map(|c| Field::new(&c.name, c.ty.arrow(), true)).collect::<Vec<_>>()))
    }

    /// Converts the fields to the columns' types; rows with a bad value are left out and
    /// reported.
    fn convert(&self, f: &mut Fields, text: &str) -> SqlResult<(Option<RecordBatch>, Vec<RowError>)> {
        let rows = f.lines.len();
        if rows == 0 {
            return Ok((None, Vec::new()));
        }
        let mut bad: Vec<Option<RowError>> = vec![None; rows];
        let mut arrays = Vec::with_capacity(self.columns.len());
        for (c, col) in self.columns.iter().enumerate() {
            let mut conv = Converter::new(col, self.spec, rows);
            let values = match &mut f.values {
                Values::Copied(builders) => ColumnText::Copied(builders[c].finish()),
                Values::InText(columns) => ColumnText::InText(&columns[c], text),
            };
            for (r, row_error) in bad.iter_mut().enumerate() {
                let v = values.get(r);
                if let Err((code, reason, position)) = conv.push(v) {
                    if row_error.is_none() {
                        let (s, e) = f.raw[r];
                        *row_error = Some(RowError {
                            file: self.file.to_string(),
                            line: f.lines[r],
                            column: col.name.clone(),
                            column_type: col.ty.pg_name(),
                            column_length: match col.ty {
                                RsType::Char(n) | RsType::Varchar(n) => n.to_string(),
                                RsType::Decimal(p, s) => format!("{p},{s}"),
                                _ => "0".into(),
                            },
                            position,
                            raw_line: text.get(s..e).unwrap_or_default().chars().take(1024).collect(),
                            raw_value: v.unwrap_or_default().chars().take(1024).collect(),
                            code,
                            reason,
                        });
                    }
                }
            }
            arrays.push(conv.finish());
        }
        let batch = RecordBatch::try_new(self.schema(), arrays).map_err(SqlError::internal)?;
        let errors: Vec<RowError> = bad.iter().flatten().cloned().collect();
        if errors.is_empty() {
            return Ok((Some(batch), errors));
        }
        let keep = datafusion::arrow::array::BooleanArray::from(bad.iter().map(|b| b.is_none()).collect::<Vec<_>>());
        let batch = filter_record_batch(&batch, &keep).map_err(SqlError::internal)?;
        Ok((Some(batch), errors))
    }
}

/// An Avro value as JSON; logical dates and times as the text COPY reads for them.
fn avro_json(v: apache_avro::types::Value) -> serde_json::Value {
    use apache_avro::types::Value as A;
    use serde_json::Value as J;
    let micros = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| J::String(t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string()))
            .unwrap_or(J::Null)
    };
    match v {
        A::Null => J::Null,
        A::Boolean(b) => J::Bool(b),
        A::Int(i) => J::from(i),
        A::Long(l) => J::from(l),
        A::Float(x) => serde_json::Number::from_f64(x as f64).map(J::Number).unwrap_or(J::Null),
        A::Double(x) => serde_json::Number::from_f64(x).map(J::Number).unwrap_or(J::Null),
        A::String(s) | A::Enum(_, s) => J::String(s),
        A::Union(_, inner) => avro_json(*inner),
        A::Array(items) => J::Array(items.into_iter().map(avro_json).collect()),
        A::Map(m) => J::Object(m.into_iter().map(|(k, v)| (k, avro_json(v))).collect()),
        A::Record(fields) => J::Object(fields.into_iter().map(|(k, v)| (k, avro_json(v))).collect()),
        A::Date(days) => chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
            .and_then(|e| e.checked_add_signed(chrono::Duration::days(days as i64)))
            .map(|d| J::String(d.format("%Y-%m-%d").to_string()))
            .unwrap_or(J::Null),
        A::TimestampMillis(ms) | A::LocalTimestampMillis(ms) => micros(ms * 1000),
        A::TimestampMicros(us) | A::LocalTimestampMicros(us) => micros(us),
        A::TimestampNanos(ns) | A::LocalTimestampNanos(ns) => micros(ns / 1000),
        A::TimeMillis(ms) => J::String(format!("{:02}:{:02}:{:02}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60)),
        A::TimeMicros(us) => {
            J::String(format!("{:02}:{:02}:{:02}", us / 3_600_000_000, us / 60_000_000 % 60, us / 1_000_000 % 60))
        }
        A::Uuid(u) => J::String(u.to_string()),
        A::BigDecimal(d) => J::String(d.to_string()),
        other => serde_json::Value::try_from(other).unwrap_or(J::Null),
    }
}

fn json_text(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// One step of a JSONPath: a member or an array index.
#[derive(Clone, Debug, PartialEq)]
pub enum PathStep {
    Member(String),
    Index(usize),
}

fn walk<'v>(v: &'v serde_json::Value, path: &[PathStep]) -> Option<&'v serde_json::Value> {
    let mut cur = v;
    for step in path {
        cur = match step {
            PathStep::Member(m) => cur.get(m)?,
            PathStep::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

/// A JSONPaths file: `{"jsonpaths": ["$.a", "$['b']", "$.c[0]"]}`.
pub fn json_paths(doc: &[u8]) -> SqlResult<Vec<Vec<PathStep>>> {
    let bad = |m: String| SqlError::new("XX000", format!("Invalid JSONPath format: {m}"));
    let v: serde_json::Value = serde_json::from_slice(doc).map_err(|e| bad(e.to_string()))?;
    let list = v.get("jsonpaths").and_then(|l| l.as_array()).ok_or_else(|| bad("no \"jsonpaths\" array".into()))?;
    let mut out = Vec::new();
    for p in list {
        let p = p.as_str().ok_or_else(|| bad("a path is not a string".into()))?;
        let mut rest = p.strip_prefix('$').ok_or_else(|| bad(format!("{p} does not start with $")))?;
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                steps.push(PathStep::Member(r[..end].to_string()));
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']').ok_or_else(|| bad(format!("{p}: unclosed [")))?;
                let inner = r[..end].trim();
                if let Some(q) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    steps.push(PathStep::Member(q.to_string()));
                } else if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    steps.push(PathStep::Member(q.to_string()));
                } else {
                    steps.push(PathStep::Index(inner.parse().map_err(|_| bad(format!("{p}: bad index {inner}")))?));
                }
                rest = &r[end + 1..];
            } else {
                return Err(bad(p.to_string()));
            }
        }
        out.push(steps);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_labs_copy_statements() {
        let s = CopySpec::parse(
            "copy sales from 's3://awssampledbuswest2/tickit/sales_tab.txt' iam_role 'arn:aws:iam::000000000000:role/R' delimiter '\\t' timeformat 'MM/DD/YYYY HH:MI:SS' region 'us-west-2';",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.table, "sales");
        assert_eq!(s.format, Format::Text { delimiter: '\t' });
        assert_eq!(s.time_format.as_deref(), Some("MM/DD/YYYY HH:MI:SS"));
        assert_eq!(s.region.as_deref(), Some("us-west-2"));
        assert_eq!(s.credentials, Credentials::IamRole("arn:aws:iam::000000000000:role/R".into()));
        let s = CopySpec::parse(
            "COPY public.t (a, b) FROM 's3://b/p' CREDENTIALS 'aws_access_key_id=AK;aws_secret_access_key=SK' FORMAT AS CSV QUOTE AS '''' IGNOREHEADER 1 GZIP MAXERROR 5 COMPUPDATE OFF",
        )
        .unwrap()
        .unwrap();
        assert_eq!((s.schema.as_deref(), s.columns.len()), (Some("public"), 2));
        assert_eq!(s.format, Format::Csv { delimiter: ',', quote: '\'' });
        assert_eq!((s.ignore_header, s.max_error, s.compression), (1, 5, Compression::Gzip));
        assert!(matches!(s.credentials, Credentials::Keys { .. }));
        assert!(CopySpec::parse("select 1").is_none());
        assert!(CopySpec::parse("copy t from 's3://b/p'").unwrap().is_err());
        assert!(CopySpec::parse("copy t from 's3://b/p' iam_role default bogus").unwrap().is_err());
    }

    #[test]
    fn splits_text_into_line_aligned_pieces() {
        let text = b"a\nbb\nccc\ndddd\n";
        let p = pieces(text, 3, None);
        assert_eq!(p, vec![(0, 5, 1), (5, 9, 3), (9, 14, 4)]);
        // A quoted newline is inside a record: pieces end at the record's own newline.
        let csv = b"1,\"x\ny\"\n2,z\n3,\"\"\"\n\"\n4,w\n";
        let p = pieces(csv, 2, Some(b'"'));
        assert_eq!(p, vec![(0, 8, 1), (8, 12, 3), (12, 20, 4), (20, 24, 6)]);
        assert_eq!(last_record_end(b"1,\"a\nb", Some(b'"')), None);
        assert_eq!(last_record_end(b"1,a\n2,\"b\n", Some(b'"')), Some(4));
    }

    #[test]
    fn reads_delimited_fields_in_place() {
        let spec = CopySpec::parse("copy t from 's3://b/p' iam_role default null as 'NULL' fillrecord maxerror 9")
            .unwrap()
            .unwrap();
        let column = |name: &str, ty| ColumnMeta {
            name: name.into(),
            ty,
            nullable: true,
            default: None,
            identity: None,
            encode: None,
            trailing_blanks: false,
        };
        let columns =
            [column("n", RsType::Integer), column("s", RsType::Varchar(8)), column("d", RsType::Decimal(6, 2))];
        let reader = Reader { spec: &spec, columns: &columns, file: "f", json_paths: None, progress: None };
        let (batch, errors, lines) = reader.read_piece(b"1|a|2.5\n\n4|NULL\n5|b|1|x\n6|c|3", 1).unwrap();
        assert_eq!(lines, 5);
        let batch = batch.unwrap();
        assert_eq!(batch.num_rows(), 3);
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&[batch]).unwrap().to_string();
        assert!(text.contains("| 4 |   |      |"), "{text}");
        assert!(text.contains("| 6 | c | 3.00 |"), "{text}");
        let found: Vec<(i64, i32)> = errors.iter().map(|e| (e.line, e.code)).collect();
        assert_eq!(found, vec![(2, 1211), (4, 1214)]);
    }

    #[test]
    fn reads_decimals_by_redshifts_rules() {
        assert_eq!(convert::decimal("12.345", 10, 2, false), Ok(1234));
        assert_eq!(convert::decimal("12.345", 10, 2, true), Ok(1235));
        assert_eq!(convert::decimal("-9.995", 5, 2, true), Ok(-1000));
        assert_eq!(convert::decimal("+.5", 3, 0, true), Ok(1));
        assert_eq!(convert::decimal("7.", 3, 1, false), Ok(70));
        assert_eq!(convert::decimal("00012", 2, 0, false), Ok(12));
        assert_eq!(convert::decimal("999.995", 5, 2, true).unwrap_err().0, 1216);
        assert_eq!(convert::decimal("123", 4, 2, false).unwrap_err().0, 1216);
        assert_eq!(convert::decimal(&"9".repeat(60), 38, 0, false).unwrap_err().0, 1216);
        assert_eq!(convert::decimal("1e5", 10, 2, false).unwrap_err().0, 1207);
        assert_eq!(convert::decimal(".", 10, 2, false).unwrap_err().0, 1207);
    }

    #[test]
    fn reads_json_paths() {
        let p = json_paths(br#"{"jsonpaths": ["$.a", "$['b c']", "$.d[1]"]}"#).unwrap();
        assert_eq!(p[1], vec![PathStep::Member("b c".into())]);
        assert_eq!(p[2], vec![PathStep::Member("d".into()), PathStep::Index(1)]);
    }
}
