//! StartQuery's OpenSearch `SQL` and `PPL` languages, executed by DataFusion: the events of each
//! log group a query reads (in the query's time range) become a table with the system fields
//! (`@timestamp`, `@message`, `@logStream`, `@log`, `@ingestionTime`) and the fields of JSON
//! messages, nested keys joined by dots, typed by what the events hold (integers, decimals,
//! booleans, else text).
use crate::insights_scan::{Scanned, Source};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMillisecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};
use nuage_core::{AwsError, AwsResult};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The message bytes one SQL or PPL query may load: a query over more is refused rather than
/// allowed to exhaust the server's memory.
const MAX_LOADED_BYTES: usize = 512 << 20;
/// What DataFusion may hold for one query's joins, sorts and aggregations.
const MEMORY_LIMIT: usize = 1 << 30;

/// A parsed SQL query: its text (log group references rewritten as table names) and, for each
/// table it reads, the log groups behind it.
#[derive(Debug)]
pub(crate) struct SqlQuery {
    pub text: String,
    pub tables: Vec<(String, Vec<String>)>,
}

impl SqlQuery {
    /// Every log group the query reads.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for g in self.tables.iter().flat_map(|(_, g)| g) {
            if !all.contains(g) {
                all.push(g.clone());
            }
        }
        all
    }
}

/// Parses an SQL query and finds the log groups it reads: names in FROM and JOIN (in
/// backticks, quotes or bare) and the `logGroups(logGroupIdentifier: ['a', 'b'])` form.
pub(crate) fn parse_sql(text: &str) -> Result<SqlQuery, String> {
    use datafusion::sql::parser::{DFParser, Statement};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    let mut tables = Vec::new();
    // `logGroups(logGroupIdentifier: [...])` is not SQL: each becomes a table of its own.
    let sets =
        regex::Regex::new(r"(?i)\blogGroups\s*\(\s*logGroupIdentifier\s*:\s*\[([^\]]*)\]\s*\)").expect("valid regex");
    let mut rewritten = String::new();
    let mut last = 0;
    for (n, c) in sets.captures_iter(text).enumerate() {
        let whole = c.get(0).expect("match");
        let names: Vec<String> = c[1]
            .split(',')
            .map(|s| s.trim().trim_matches(|ch| ch == '\'' || ch == '"' || ch == '`').to_string())
            .filter(|s| !s.is_empty())
            .map(|s| crate::group_name_of_arn(&s).to_string())
            .collect();
        if names.is_empty() {
            return Err("logGroups(logGroupIdentifier: [...]) names no log group".into());
        }
        let table = format!("__log_groups_{n}");
        rewritten.push_str(&text[last..whole.start()]);
        rewritten.push_str(&format!("`{table}`"));
        tables.push((table, names));
        last = whole.end();
    }
    rewritten.push_str(&text[last..]);
    // A log group in single quotes (`FROM 'my-group'`) is a name, not a string.
    let quoted = regex::Regex::new(r"(?i)\b(FROM|JOIN)\s+'([^']+)'").expect("valid regex");
    let text = quoted.replace_all(&rewritten, "$1 `$2`").into_owned();
    let mut statements = DFParser::parse_sql_with_dialect(&text, &GenericDialect {}).map_err(|e| e.to_string())?;
    let statement = match (statements.pop_front(), statements.is_empty()) {
        (Some(s), true) => s,
        (None, _) => return Err("the query is empty".into()),
        (Some(_), false) => return Err("a query is one SELECT statement".into()),
    };
    let is_select = matches!(&statement, Statement::Statement(s)
        if matches!(**s, datafusion::sql::sqlparser::ast::Statement::Query(_)));
    if !is_select {
        return Err("only SELECT queries are supported".into());
    }
    let (refs, _) = datafusion::sql::resolve::resolve_table_references(&statement, false).map_err(|e| e.to_string())?;
    for r in refs {
        let name = r.table().to_string();
        if !tables.iter().any(|(t, _)| *t == name) {
            tables.push((name.clone(), vec![crate::group_name_of_arn(&name).to_string()]));
        }
    }
    if tables.is_empty() {
        return Err("the query reads no log group: name one in its FROM clause".into());
    }
    Ok(SqlQuery { text, tables })
}

/// A JSON value of a message's field.
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// The Arrow type a field takes: the narrowest that holds every value the events gave it.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
}

impl Kind {
    fn of(s: &Scalar) -> Kind {
        match s {
            Scalar::Int(_) => Kind::Int,
            Scalar::Float(_) => Kind::Float,
            Scalar::Bool(_) => Kind::Bool,
            Scalar::Text(_) => Kind::Text,
        }
    }
    fn widen(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::Text,
        }
    }
}

/// The columns of one table as the events are read.
#[derive(Default)]
struct Columns {
    rows: usize,
    timestamp: Vec<i64>,
    ingestion: Vec<i64>,
    message: Vec<String>,
    stream: Vec<u32>,
    group: Vec<u32>,
    names: Vec<String>,
    index: HashMap<String, usize>,
    fields: Vec<(Kind, Vec<(u32, Scalar)>)>,
}

const SYSTEM_FIELDS: [&str; 5] = ["@timestamp", "@message", "@logStream", "@log", "@ingestionTime"];

impl Columns {
    fn push_field(&mut self, name: String, value: Scalar) {
        if SYSTEM_FIELDS.contains(&name.as_str()) {
            return;
        }
        let row = self.rows as u32;
        let k = match self.index.get(&name) {
            Some(&k) => k,
            None => {
                self.index.insert(name.clone(), self.fields.len());
                self.names.push(name);
                self.fields.push((Kind::of(&value), Vec::new()));
                self.fields.len() - 1
            }
        };
        let (kind, values) = &mut self.fields[k];
        *kind = kind.widen(Kind::of(&value));
        values.push((row, value));
    }

    fn flatten(&mut self, prefix: &str, v: serde_json::Value) {
        use serde_json::Value as J;
        let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
        match v {
            J::Object(m) => m.into_iter().for_each(|(k, v)| self.flatten(&key(&k), v)),
            J::Array(a) => a.into_iter().enumerate().for_each(|(i, v)| self.flatten(&key(&i.to_string()), v)),
            J::Number(n) => {
                let s = match n.as_i64() {
                    Some(i) => Scalar::Int(i),
                    None => n.as_f64().map(Scalar::Float).unwrap_or_else(|| Scalar::Text(n.to_string())),
                };
                self.push_field(prefix.to_string(), s)
            }
            J::String(s) => self.push_field(prefix.to_string(), Scalar::Text(s)),
            J::Bool(b) => self.push_field(prefix.to_string(), Scalar::Bool(b)),
            J::Null => {}
        }
    }

    fn batch(self, streams: &[String], groups: &[String]) -> AwsResult<RecordBatch> {
        let n = self.rows;
        let mut fields = vec![
            Field::new("@timestamp", DataType::Timestamp(TimeUnit::Millisecond, None), false),
            Field::new("@message", DataType::Utf8, false),
            Field::new("@logStream", DataType::Utf8, false),
            Field::new("@log", DataType::Utf8, false),
            Field::new("@ingestionTime", DataType::Timestamp(TimeUnit::Millisecond, None), false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(self.timestamp)),
            Arc::new(string_column(self.message.iter().map(|s| Some(s.as_str())), n)),
            Arc::new(string_column(self.stream.iter().map(|&s| Some(streams[s as usize].as_str())), n)),
            Arc::new(string_column(self.group.iter().map(|&g| Some(groups[g as usize].as_str())), n)),
            Arc::new(TimestampMillisecondArray::from(self.ingestion)),
        ];
        for (name, (kind, values)) in self.names.into_iter().zip(self.fields) {
            let (data_type, column): (DataType, ArrayRef) = match kind {
                Kind::Int => {
                    let mut b = Int64Builder::with_capacity(n);
                    fill(&mut b, n, values, |b, v| match v {
                        Scalar::Int(i) => b.append_value(i),
                        _ => b.append_null(),
                    });
                    (DataType::Int64, Arc::new(b.finish()))
                }
                Kind::Float => {
                    let mut b = Float64Builder::with_capacity(n);
                    fill(&mut b, n, values, |b, v| match v {
                        Scalar::Int(i) => b.append_value(i as f64),
                        Scalar::Float(f) => b.append_value(f),
                        _ => b.append_null(),
                    });
                    (DataType::Float64, Arc::new(b.finish()))
                }
                Kind::Bool => {
                    let mut b = BooleanBuilder::with_capacity(n);
                    fill(&mut b, n, values, |b, v| match v {
                        Scalar::Bool(x) => b.append_value(x),
                        _ => b.append_null(),
                    });
                    (DataType::Boolean, Arc::new(b.finish()))
                }
                Kind::Text => {
                    let mut b = StringBuilder::new();
                    fill(&mut b, n, values, |b, v| match v {
                        Scalar::Int(i) => b.append_value(i.to_string()),
                        Scalar::Float(f) => b.append_value(f.to_string()),
                        Scalar::Bool(x) => b.append_value(x.to_string()),
                        Scalar::Text(s) => b.append_value(s),
                    });
                    (DataType::Utf8, Arc::new(b.finish()))
                }
            };
            fields.push(Field::new(name, data_type, true));
            columns.push(column);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| AwsError::internal(e.to_string()))
    }
}

fn string_column<'a>(values: impl Iterator<Item = Option<&'a str>>, n: usize) -> datafusion::arrow::array::StringArray {
    let mut b = StringBuilder::with_capacity(n, n * 16);
    values.for_each(|v| b.append_option(v));
    b.finish()
}

/// Appends a sparse column's values in row order, nulls where a row has none.
fn fill<B: NullAppend>(b: &mut B, rows: usize, values: Vec<(u32, Scalar)>, mut put: impl FnMut(&mut B, Scalar)) {
    let mut next = 0usize;
    for (row, v) in values {
        while next < row as usize {
            b.null();
            next += 1;
        }
        put(b, v);
        next += 1;
    }
    while next < rows {
        b.null();
        next += 1;
    }
}

trait NullAppend {
    fn null(&mut self);
}
macro_rules! null_append {
    ($($b:ty),*) => {$(
        impl NullAppend for $b {
            fn null(&mut self) {
                self.append_null()
            }
        }
    )*};
}
null_append!(Int64Builder, Float64Builder, BooleanBuilder, StringBuilder);

/// Counters of what a query read.
#[derive(Default)]
pub(crate) struct Read {
    pub scanned: usize,
    pub bytes: usize,
}

/// The events of `sources` from `start` to `end` (milliseconds, inclusive) as one table, in
/// time order. `None` when `cancel` was raised.
pub(crate) fn load(
    store: &nuage_storage::Store,
    sources: &[Source],
    start: i64,
    end: i64,
    cancel: &AtomicBool,
    read: &mut Read,
) -> AwsResult<Option<RecordBatch>> {
    let mut rows: Vec<(i64, Vec<u8>, i64, String, u32)> = Vec::new();
    let snap = store.read()?;
    let mut groups: Vec<String> = Vec::new();
    for (s, src) in sources.iter().enumerate() {
        let mut over = false;
        crate::events::scan_stream(&snap, &src.id, start, end, |k, v| {
            let e = crate::events::Event::view(v)?;
            read.scanned += 1;
            read.bytes += e.m.len();
            if read.bytes > MAX_LOADED_BYTES {
                over = true;
                return Ok(false);
            }
            if read.scanned.is_multiple_of(8192) && cancel.load(Ordering::Relaxed) {
                return Ok(false);
            }
            rows.push((e.t, k.to_vec(), e.i, e.m.to_string(), s as u32));
            Ok(true)
        })?;
        if over {
            return Err(crate::invalid(format!(
                "The query's log groups hold more than {} MiB of events in its time range: narrow the range",
                MAX_LOADED_BYTES >> 20
            )));
        }
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        if !groups.contains(&src.group) {
            groups.push(src.group.clone());
        }
    }
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut c = Columns::default();
    let group_of: Vec<u32> =
        sources.iter().map(|s| groups.iter().position(|g| *g == s.group).unwrap_or(0) as u32).collect();
    for (t, _, i, message, s) in rows {
        if message.trim_start().starts_with('{') {
            if let Ok(doc @ serde_json::Value::Object(_)) = serde_json::from_str::<serde_json::Value>(&message) {
                c.flatten("", doc);
            }
        }
        c.timestamp.push(t);
        c.ingestion.push(i);
        c.message.push(message);
        c.stream.push(s);
        c.group.push(group_of[s as usize]);
        c.rows += 1;
    }
    let streams: Vec<String> = sources.iter().map(|s| s.stream.clone()).collect();
    c.batch(&streams, &groups).map(Some)
}

/// A DataFusion session for one query, its memory bounded. A PPL query runs in one
/// partition, so that each stage keeps the order of the rows it reads.
pub(crate) fn session(partitions: usize) -> AwsResult<SessionContext> {
    let mut config = SessionConfig::new().with_target_partitions(partitions);
    config.options_mut().sql_parser.enable_ident_normalization = false;
    config.options_mut().execution.time_zone = Some("UTC".into());
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_limit(MEMORY_LIMIT, 1.0)
        .build_arc()
        .map_err(|e| AwsError::internal(e.to_string()))?;
    Ok(SessionContext::new_with_config_rt(config, runtime))
}

/// Registers `batch` as table `name` of `ctx`.
pub(crate) fn register(ctx: &SessionContext, name: &str, batch: RecordBatch) -> AwsResult<()> {
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(|e| AwsError::internal(e.to_string()))?;
    ctx.register_table(name, Arc::new(table)).map_err(|e| AwsError::internal(e.to_string()))?;
    Ok(())
}

/// The rows of a query's answer as GetQueryResults gives them: each non-null column as a
/// field and its text (times as Logs Insights shows them).
pub(crate) fn rows(batches: &[RecordBatch], limit: usize) -> AwsResult<Vec<Vec<(String, String)>>> {
    let options = FormatOptions::default()
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.3f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.3f"));
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AwsError::internal(e.to_string()))?;
        for row in 0..batch.num_rows() {
            if out.len() >= limit {
                return Ok(out);
            }
            let mut fields = Vec::new();
            for (col, f) in formatters.iter().enumerate() {
                if batch.column(col).is_null(row) {
                    continue;
                }
                fields.push((schema.field(col).name().clone(), f.value(row).to_string()));
            }
            out.push(fields);
        }
    }
    Ok(out)
}

/// Runs an SQL query over its tables: `tables` gives each table's name and the streams of
/// its log groups. `None` when cancelled.
pub(crate) fn execute_sql(
    store: &nuage_storage::Store,
    query: &SqlQuery,
    tables: &[(String, Vec<Source>)],
    start: i64,
    end: i64,
    limit: usize,
    cancel: &AtomicBool,
) -> AwsResult<Option<Scanned>> {
    let ctx = session(2)?;
    let mut read = Read::default();
    for (name, sources) in tables {
        let Some(batch) = load(store, sources, start, end, cancel, &mut read)? else { return Ok(None) };
        register(&ctx, name, batch)?;
    }
    let batches = run(&ctx, &query.text)?;
    let rows = rows(&batches, limit)?;
    Ok(Some(Scanned {
        outcome: crate::insights::Outcome { matched: rows.len(), rows },
        scanned: read.scanned,
        bytes: read.bytes,
    }))
}

/// Runs a PPL query over the events of `sources` as one table.
pub(crate) fn execute_ppl(
    store: &nuage_storage::Store,
    query: &crate::ppl::PplQuery,
    sources: &[Source],
    start: i64,
    end: i64,
    limit: usize,
    cancel: &AtomicBool,
) -> AwsResult<Option<Scanned>> {
    let ctx = session(1)?;
    let mut read = Read::default();
    let Some(batch) = load(store, sources, start, end, cancel, &mut read)? else { return Ok(None) };
    register(&ctx, crate::ppl::EVENTS_TABLE, batch)?;
    let batches = tokio::runtime::Handle::current().block_on(crate::ppl::run(&ctx, query))?;
    let rows = rows(&batches, limit)?;
    Ok(Some(Scanned {
        outcome: crate::insights::Outcome { matched: rows.len(), rows },
        scanned: read.scanned,
        bytes: read.bytes,
    }))
}

/// Plans and runs `sql` on the runtime of the thread's tokio context.
pub(crate) fn run(ctx: &SessionContext, sql: &str) -> AwsResult<Vec<RecordBatch>> {
    let handle = tokio::runtime::Handle::current();
    handle.block_on(async {
        let df = ctx.sql(sql).await.map_err(malformed)?;
        df.collect().await.map_err(malformed)
    })
}

/// DataFusion's refusal of a query, as the error StartQuery's caller sees in the logs.
pub(crate) fn malformed(e: datafusion::error::DataFusionError) -> AwsError {
    nuage_protocol::logs::errors::Error::MalformedQueryException
        .msg(format!("Query is malformed: {}", e.strip_backtrace()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_finds_its_log_groups() {
        let q = parse_sql("SELECT a.x FROM `/aws/lambda/f` a JOIN `other` b ON a.id = b.id").unwrap();
        let mut groups = q.groups();
        groups.sort();
        assert_eq!(groups, vec!["/aws/lambda/f".to_string(), "other".to_string()]);
        let q = parse_sql("SELECT count(*) FROM logGroups(logGroupIdentifier: ['g1', 'arn:aws:logs:us-east-1:000000000000:log-group:g2'])")
            .unwrap();
        assert_eq!(q.tables, vec![("__log_groups_0".to_string(), vec!["g1".to_string(), "g2".to_string()])]);
        let q = parse_sql("SELECT count(*) as c FROM 'my-group'").unwrap();
        assert_eq!(q.groups(), vec!["my-group".to_string()]);
        // A log group named twice, apart, is read (and authorised) once.
        let q = parse_sql("SELECT 1 FROM `a` x JOIN logGroups(logGroupIdentifier: ['b', 'a']) y ON x.k = y.k").unwrap();
        assert_eq!(q.groups(), vec!["b".to_string(), "a".to_string()]);
        assert!(parse_sql("DELETE FROM g").is_err());
        assert!(parse_sql("SELECT 1").is_err());
        assert!(parse_sql("SELECT * FROM g; SELECT * FROM h").is_err());
    }

    #[test]
    fn fields_take_the_narrowest_type() {
        let mut c = Columns::default();
        for (n, doc) in
            [r#"{"a": 1, "b": 1, "c": true, "d": {"e": "x"}}"#, r#"{"a": 2, "b": 2.5, "c": "no"}"#].iter().enumerate()
        {
            c.flatten("", serde_json::from_str(doc).unwrap());
            c.timestamp.push(n as i64);
            c.ingestion.push(n as i64);
            c.message.push(doc.to_string());
            c.stream.push(0);
            c.group.push(0);
            c.rows += 1;
        }
        let batch = c.batch(&["s".into()], &["g".into()]).unwrap();
        let schema = batch.schema();
        let ty = |n: &str| schema.field_with_name(n).unwrap().data_type().clone();
        assert_eq!(ty("a"), DataType::Int64);
        assert_eq!(ty("b"), DataType::Float64);
        assert_eq!(ty("c"), DataType::Utf8);
        assert_eq!(ty("d.e"), DataType::Utf8);
        assert_eq!(batch.column_by_name("d.e").unwrap().null_count(), 1);
    }
}
