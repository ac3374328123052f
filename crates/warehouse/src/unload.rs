//! UNLOAD to S3: a query's rows written as delimited text, CSV, JSON lines or Parquet, under
//! Redshift's file names (`<prefix>0000_part_00`, or `<prefix>000` with PARALLEL OFF), split
//! by MAXFILESIZE and PARTITION BY, compressed, with an optional manifest. What UNLOAD writes,
//! COPY reads back.
use crate::copy::{number, one_char, s3_url, Authorization, Compression};
use crate::error::{SqlError, SqlResult};
use crate::external::{Credentials, ObjectStore};
use crate::privileges::Words;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::ArrowWriter;
use std::io::Write;

#[derive(Clone, Debug, PartialEq)]
pub enum UnloadFormat {
    Text { delimiter: char },
    Csv { delimiter: char },
    Json,
    Parquet,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UnloadSpec {
    pub text: String,
    pub query: String,
    pub to: String,
    pub credentials: Credentials,
    pub format: UnloadFormat,
    pub header: bool,
    pub null_as: String,
    pub add_quotes: bool,
    pub escape: bool,
    pub parallel: bool,
    pub max_file_size: Option<u64>,
    pub manifest: Option<bool>,
    pub allow_overwrite: bool,
    pub clean_path: bool,
    pub compression: Compression,
    pub partition_by: Vec<String>,
    pub partition_include: bool,
    pub region: Option<String>,
    pub extension: Option<String>,
    /// PARQUET's ROWGROUPSIZE in bytes (of the data in memory).
    pub row_group_size: Option<u64>,
}

/// Slices a cluster of this size writes in parallel: one file each.
const SLICES: usize = 2;

impl UnloadSpec {
    pub fn parse(sql: &str) -> Option<SqlResult<UnloadSpec>> {
        Words::statement(sql, "UNLOAD", Self::read)
    }

    fn read(w: &mut Words, text: &str) -> SqlResult<UnloadSpec> {
        let open = w.is("(");
        let query = w.literal()?;
        if open {
            w.expect(")")?;
        }
        w.expect("TO")?;
        let to = w.literal()?;
        let mut spec = UnloadSpec {
            text: text.to_string(),
            query,
            to,
            credentials: Credentials::DefaultIamRole,
            format: UnloadFormat::Text { delimiter: '|' },
            header: false,
            null_as: String::new(),
            add_quotes: false,
            escape: false,
            parallel: true,
            max_file_size: None,
            manifest: None,
            allow_overwrite: false,
            clean_path: false,
            compression: Compression::None,
            partition_by: Vec::new(),
            partition_include: false,
            region: None,
            extension: None,
            row_group_size: None,
        };
        let mut auth = Authorization::default();
        let (mut csv, mut json, mut parquet) = (false, false, false);
        let mut delimiter = None;
        while let Some(word) = w.peek().map(str::to_string) {
            w.pos += 1;
            if auth.take(&word, w)? {
                continue;
            }
            match word.as_str() {
                "," | "WITH" | "FORMAT" | "AS" => {}
                "CSV" => csv = true,
                "JSON" => json = true,
                "PARQUET" => parquet = true,
                "DELIMITER" => {
                    w.is("AS");
                    delimiter = Some(one_char(&w.literal()?, "UNLOAD delimiter")?);
                }
                "HEADER" => spec.header = true,
                "NULL" => {
                    w.is("AS");
                    spec.null_as = w.literal()?;
                }
                "ADDQUOTES" => spec.add_quotes = true,
                "ESCAPE" => spec.escape = true,
                "PARALLEL" => {
                    spec.parallel = !(w.is("OFF") || w.is("FALSE"));
                    let _ = w.is("ON") || w.is("TRUE");
                }
                "MAXFILESIZE" => {
                    w.is("AS");
                    let n = number(w)? as u64;
                    let unit = if w.is("GB") {
                        1 << 30
                    } else {
                        w.is("MB");
                        1 << 20
                    };
                    let size = n * unit;
                    if !(5 << 20..=6_200 << 20).contains(&size) {
                        return Err(SqlError::invalid_parameter("MAXFILESIZE must be between 5 MB and 6.2 GB"));
                    }
                    spec.max_file_size = Some(size);
                }
                "MANIFEST" => spec.manifest = Some(w.is("VERBOSE")),
                "ALLOWOVERWRITE" => spec.allow_overwrite = true,
                "CLEANPATH" => spec.clean_path = true,
                "GZIP" => spec.compression = Compression::Gzip,
                "BZIP2" => spec.compression = Compression::Bzip2,
                "ZSTD" => spec.compression = Compression::Zstd,
                "PARTITION" => {
                    w.expect("BY")?;
                    w.expect("(")?;
                    spec.partition_by = w.names_to_paren()?;
                    spec.partition_include = w.is("INCLUDE");
                }
                "REGION" => {
                    w.is("AS");
                    spec.region = Some(w.literal()?);
                }
                "EXTENSION" => spec.extension = Some(w.literal()?),
                // Encrypted files need KMS or a client-side key, which nuage does not serve.
                "ENCRYPTED" | "KMS_KEY_ID" | "MASTER_SYMMETRIC_KEY" => {
                    return Err(SqlError::unsupported(format!(
                        "UNLOAD {word} is not supported: nuage serves no KMS keys yet"
                    )))
                }
                "ROWGROUPSIZE" => {
                    w.is("AS");
                    let n = number(w)? as u64;
                    let size = if w.is("GB") {
                        n << 30
                    } else {
                        w.is("MB");
                        n << 20
                    };
                    if !(32 << 20..=128 << 20).contains(&size) {
                        return Err(SqlError::invalid_parameter("ROWGROUPSIZE must be between 32 MB and 128 MB"));
                    }
                    spec.row_group_size = Some(size);
                }
                "FIXEDWIDTH" => return Err(SqlError::unsupported("UNLOAD FIXEDWIDTH is not supported yet")),
                other => return Err(SqlError::syntax(&other.to_ascii_lowercase())),
            }
        }
        spec.credentials = auth.finish("UNLOAD")?;
        if [csv, json, parquet].iter().filter(|b| **b).count() > 1 {
            return Err(SqlError::new("42601", "Only one of CSV, JSON, PARQUET may be given"));
        }
        spec.format = if csv {
            UnloadFormat::Csv { delimiter: delimiter.unwrap_or(',') }
        } else if json {
            UnloadFormat::Json
        } else if parquet {
            UnloadFormat::Parquet
        } else {
            UnloadFormat::Text { delimiter: delimiter.unwrap_or('|') }
        };
        if parquet && (spec.header || spec.add_quotes || spec.compression != Compression::None) {
            return Err(SqlError::new("42601", "PARQUET takes no HEADER, ADDQUOTES or compression option"));
        }
        if spec.add_quotes && matches!(spec.format, UnloadFormat::Csv { .. }) {
            return Err(SqlError::new("42601", "ADDQUOTES cannot be used with CSV"));
        }
        Ok(spec)
    }
}

/// One file UNLOAD wrote.
pub struct Written {
    pub url: String,
    pub bytes: usize,
    pub rows: usize,
}

/// Writes the query's rows under the spec's prefix; the files written.
pub async fn write(
    spec: &UnloadSpec,
    store: &dyn ObjectStore,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> SqlResult<Vec<Written>> {
    let (bucket, prefix) = s3_url(&spec.to)?;
    let all = concat_batches(&schema, &batches).map_err(SqlError::internal)?;
    // Files name the columns as the query's client would see them.
    let schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_name(crate::dialect::output_name(f.name())))
            .collect::<Vec<_>>(),
    ));
    let all = RecordBatch::try_new(schema.clone(), all.columns().to_vec()).map_err(SqlError::internal)?;
    // PARTITION BY: one directory per distinct key, `col=value/`.
    let mut groups: Vec<(String, RecordBatch)> = Vec::new();
    if spec.partition_by.is_empty() {
        groups.push((String::new(), all));
    } else {
        let mut idx = Vec::new();
        for p in &spec.partition_by {
            idx.push(schema.index_of(p).map_err(|_| SqlError::column_missing(p))?);
        }
        let options = FormatOptions::default().with_null("__HIVE_DEFAULT_PARTITION__");
        let formatters: Vec<ArrayFormatter> = idx
            .iter()
            .map(|i| ArrayFormatter::try_new(all.column(*i).as_ref(), &options))
            .collect::<Result<_, _>>()
            .map_err(SqlError::internal)?;
        let mut keys: std::collections::BTreeMap<String, Vec<u32>> = std::collections::BTreeMap::new();
        for r in 0..all.num_rows() {
            let dir: String =
                spec.partition_by.iter().zip(&formatters).map(|(name, f)| format!("{name}={}/", f.value(r))).collect();
            keys.entry(dir).or_default().push(r as u32);
        }
        let keep: Vec<usize> =
            (0..schema.fields().len()).filter(|i| spec.partition_include || !idx.contains(i)).collect();
        for (dir, rows) in keys {
            let taken =
                datafusion::arrow::compute::take_record_batch(&all, &datafusion::arrow::array::UInt32Array::from(rows))
                    .map_err(SqlError::internal)?;
            groups.push((dir, taken.project(&keep).map_err(SqlError::internal)?));
        }
    }
    let (dir_of_prefix, name_prefix) = match prefix.rfind('/') {
        Some(i) => (&prefix[..=i], &prefix[i + 1..]),
        None => ("", prefix.as_str()),
    };
    let mut files: Vec<(String, Vec<u8>, usize)> = Vec::new();
    for (dir, batch) in &groups {
        let slices = if spec.parallel { SLICES } else { 1 };
        let per_slice = batch.num_rows().div_ceil(slices).max(1);
        for slice in 0..slices {
            let start = slice * per_slice;
            if start >= batch.num_rows() && !(slice == 0 && batch.num_rows() == 0) {
                break;
            }
            let part =
                batch.slice(start.min(batch.num_rows()), per_slice.min(batch.num_rows() - start.min(batch.num_rows())));
            let chunks = encode(spec, &part)?;
            for (n, (body, rows)) in chunks.into_iter().enumerate() {
                let base = if spec.parallel {
                    format!("{dir_of_prefix}{dir}{name_prefix}{slice:04}_part_{n:02}")
                } else {
                    format!("{dir_of_prefix}{dir}{name_prefix}{n:03}")
                };
                let ext = match (&spec.extension, &spec.format, spec.compression) {
                    (Some(e), _, c) => format!(".{}{}", e.trim_start_matches('.'), compression_ext(c)),
                    (None, UnloadFormat::Parquet, _) => ".parquet".to_string(),
                    (None, _, c) => compression_ext(c).to_string(),
                };
                files.push((format!("{base}{ext}"), body, rows));
            }
        }
    }
    // CLEANPATH first removes what the path holds: with PARTITION BY, only in the partition
    // folders that receive files.
    if spec.clean_path {
        let paths: Vec<String> = if spec.partition_by.is_empty() {
            vec![prefix.clone()]
        } else {
            groups.iter().map(|(dir, _)| format!("{dir_of_prefix}{dir}")).collect()
        };
        for path in paths {
            for o in store.list(&bucket, &path).await? {
                store.delete(&bucket, &o.key).await?;
            }
        }
    }
    // Without ALLOWOVERWRITE (or CLEANPATH), UNLOAD never replaces a file.
    if !spec.allow_overwrite && !spec.clean_path {
        let existing = store.list(&bucket, &prefix).await?;
        if files.iter().any(|(k, _, _)| existing.iter().any(|o| &o.key == k)) {
            return Err(SqlError::new(
                "XX000",
                "Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.",
            ));
        }
    }
    let mut written = Vec::with_capacity(files.len());
    for (key, body, rows) in files {
        let bytes = body.len();
        store.put(&bucket, &key, body).await?;
        written.push(Written { url: format!("s3://{bucket}/{key}"), bytes, rows });
    }
    if let Some(verbose) = spec.manifest {
        let entries: Vec<serde_json::Value> = written
            .iter()
            .map(|f| {
                if verbose {
                    serde_json::json!({"url": f.url, "meta": {"content_length": f.bytes, "record_count": f.rows}})
                } else {
                    serde_json::json!({"url": f.url})
                }
            })
            .collect();
        let mut doc = serde_json::json!({ "entries": entries });
        if verbose {
            let elements: Vec<serde_json::Value> = schema
                .fields()
                .iter()
                .map(|f| serde_json::json!({"name": f.name(), "type": {"base": crate::types::RsType::from_arrow(f.data_type()).pg_name()}}))
                .collect();
            doc["schema"] = serde_json::json!({ "elements": elements });
            doc["meta"] = serde_json::json!({
                "content_length": written.iter().map(|f| f.bytes).sum::<usize>(),
                "record_count": written.iter().map(|f| f.rows).sum::<usize>(),
            });
        }
        store.put(&bucket, &format!("{prefix}manifest"), doc.to_string().into_bytes()).await?;
    }
    Ok(written)
}

fn compression_ext(c: Compression) -> &'static str {
    match c {
        Compression::None => "",
        Compression::Gzip => ".gz",
        Compression::Bzip2 => ".bz2",
        Compression::Zstd => ".zst",
    }
}

fn compress(c: Compression, body: Vec<u8>) -> SqlResult<Vec<u8>> {
    let io = |e: std::io::Error| SqlError::internal(e);
    Ok(match c {
        Compression::None => body,
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&body).map_err(io)?;
            e.finish().map_err(io)?
        }
        Compression::Bzip2 => {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(&body).map_err(io)?;
            e.finish().map_err(io)?
        }
        Compression::Zstd => zstd::stream::encode_all(&body[..], 3).map_err(io)?,
    })
}

/// One slice's rows as files of at most MAXFILESIZE (before compression): (body, rows).
fn encode(spec: &UnloadSpec, batch: &RecordBatch) -> SqlResult<Vec<(Vec<u8>, usize)>> {
    if spec.format == UnloadFormat::Parquet {
        // Files of at most MAXFILESIZE, sized in rows from the batch's bytes per row.
        let rows = batch.num_rows().max(1);
        let per_row = (batch.get_array_memory_size() / rows).max(1) as u64;
        let file_rows = spec.max_file_size.map(|b| (b / per_row).max(1) as usize).unwrap_or(rows);
        let props = spec.row_group_size.map(|b| {
            datafusion::parquet::file::properties::WriterProperties::builder()
                .set_max_row_group_bytes(Some(b as usize))
                .build()
        });
        let mut files = Vec::new();
        let mut start = 0;
        while start < batch.num_rows() || (start == 0 && files.is_empty()) {
            let len = file_rows.min(batch.num_rows() - start);
            let part = batch.slice(start, len);
            let mut out = Vec::new();
            let mut w = ArrowWriter::try_new(&mut out, batch.schema(), props.clone()).map_err(SqlError::internal)?;
            w.write(&part).map_err(SqlError::internal)?;
            w.close().map_err(SqlError::internal)?;
            files.push((out, len));
            start += len.max(1);
        }
        return Ok(files);
    }
    let limit = spec.max_file_size.unwrap_or(6_200 << 20) as usize;
    let options = FormatOptions::default().with_null("").with_date_format(Some("%Y-%m-%d"));
    // Floats and times as Redshift writes them; the batch's own types still decide JSON's.
    let texts: Vec<_> =
        batch.columns().iter().map(|c| crate::text::redshift_text(c, 0).unwrap_or_else(|| c.clone())).collect();
    let formatters: Vec<ArrayFormatter> = texts
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(SqlError::internal)?;
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| crate::dialect::output_name(f.name())).collect();
    let header = |out: &mut Vec<u8>| -> SqlResult<()> {
        if !spec.header {
            return Ok(());
        }
        let line = match spec.format {
            UnloadFormat::Text { delimiter } => names.join(&delimiter.to_string()),
            UnloadFormat::Csv { delimiter } => {
                names.iter().map(|n| csv_field(n, delimiter)).collect::<Vec<_>>().join(&delimiter.to_string())
            }
            _ => return Ok(()),
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        Ok(())
    };
    let mut files = Vec::new();
    let mut out = Vec::new();
    header(&mut out)?;
    let mut rows = 0usize;
    let mut line = String::new();
    for r in 0..batch.num_rows() {
        line.clear();
        match spec.format {
            UnloadFormat::Json => {
                let mut obj = serde_json::Map::new();
                for (c, f) in formatters.iter().enumerate() {
                    let col = batch.column(c);
                    if col.is_null(r) {
                        continue;
                    }
                    let v = match col.data_type() {
                        DataType::Boolean => serde_json::Value::Bool(col.as_boolean().value(r)),
                        t if t.is_integer() || t.is_floating() => {
                            serde_json::from_str(&f.value(r).to_string()).unwrap_or(serde_json::Value::Null)
                        }
                        DataType::Decimal128(..) => serde_json::from_str(&f.value(r).to_string())
                            .unwrap_or_else(|_| serde_json::Value::String(f.value(r).to_string())),
                        _ => serde_json::Value::String(f.value(r).to_string()),
                    };
                    obj.insert(names[c].to_string(), v);
                }
                line.push_str(&serde_json::Value::Object(obj).to_string());
            }
            UnloadFormat::Text { delimiter } | UnloadFormat::Csv { delimiter } => {
                let csv = matches!(spec.format, UnloadFormat::Csv { .. });
                for (c, f) in formatters.iter().enumerate() {
                    if c > 0 {
                        line.push(delimiter);
                    }
                    let col = batch.column(c);
                    if col.is_null(r) {
                        line.push_str(&spec.null_as);
                        continue;
                    }
                    let v = match col.data_type() {
                        // Redshift writes booleans as t and f.
                        DataType::Boolean => (if col.as_boolean().value(r) { "t" } else { "f" }).to_string(),
                        _ => f.value(r).to_string(),
                    };
                    if csv {
                        line.push_str(&csv_field(&v, delimiter));
                    } else if spec.add_quotes || spec.escape {
                        let mut v = v;
                        if spec.escape {
                            v = escape(&v, delimiter);
                        }
                        if spec.add_quotes {
                            line.push('"');
                            line.push_str(&v);
                            line.push('"');
                        } else {
                            line.push_str(&v);
                        }
                    } else {
                        line.push_str(&v);
                    }
                }
            }
            UnloadFormat::Parquet => unreachable!("written above"),
        }
        if rows > 0 && out.len() + line.len() + 1 > limit {
            files.push((compress(spec.compression, std::mem::take(&mut out))?, rows));
            header(&mut out)?;
            rows = 0;
        }
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        rows += 1;
    }
    files.push((compress(spec.compression, out)?, rows));
    Ok(files)
}

/// A CSV field, quoted when it holds the delimiter, a quote or a line break.
fn csv_field(v: &str, delimiter: char) -> String {
    if v.contains(delimiter) || v.contains('"') || v.contains('\n') || v.contains('\r') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// ESCAPE: a backslash before the delimiter, line breaks, quotes and backslashes.
fn escape(v: &str, delimiter: char) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if ch == delimiter || ch == '\n' || ch == '\r' || ch == '"' || ch == '\'' || ch == '\\' {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unload_statements() {
        let s = UnloadSpec::parse(
            "unload ('select * from venue where venuestate = ''NV''') to 's3://b/unload/venue_' iam_role 'arn:aws:iam::0:role/R' format as csv header parallel off maxfilesize 100 mb manifest verbose gzip allowoverwrite",
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.query, "select * from venue where venuestate = 'NV'");
        assert_eq!(s.format, UnloadFormat::Csv { delimiter: ',' });
        assert!(s.header && !s.parallel && s.allow_overwrite);
        assert_eq!((s.max_file_size, s.manifest, s.compression), (Some(100 << 20), Some(true), Compression::Gzip));
        let p = UnloadSpec::parse(
            "unload ('select 1') to 's3://b/p/' iam_role default parquet partition by (a, b) include",
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.partition_by.len(), p.partition_include), (2, true));
        assert!(UnloadSpec::parse("unload ('select 1') to 's3://b/p/' iam_role default parquet header")
            .unwrap()
            .is_err());
        assert!(UnloadSpec::parse("select 1").is_none());
    }
}
