//! One connection's session: runs statements against the committed state or its open
//! transaction. Queries are planned and executed by DataFusion; DDL and DML are applied to a
//! copy of the state that replaces the old one only when the whole statement succeeded, and
//! become durable at commit (each statement commits by itself outside BEGIN ... COMMIT).
use crate::copy::{self, CopySpec};
use crate::dialect::{self, normalize, object_name, Parsed, TableAttributes};
use crate::engine::{DatabaseCatalog, LoadCommit, LoadError, QueryRecord, View, Warehouse};
use crate::error::{SqlError, SqlResult};
use crate::privileges;
use crate::state::{ColumnMeta, DbState, Privilege, SchemaMeta, TableMeta, ViewMeta};
use crate::system::SystemTables;
use crate::types::{RsType, TYPE_KEY};
use crate::unload::UnloadSpec;
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::compute::{cast_with_options, concat_batches, interleave, CastOptions};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::execution::context::SessionConfig;
use datafusion::prelude::{DataFrame, SessionContext};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{
    self, AlterTableOperation, ColumnOption, Expr, ObjectName, ObjectType, SetExpr, Statement, TableFactor, VisitMut,
    VisitorMut,
};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

/// What a statement produced.
pub enum Output {
    Rows(DataFrame),
    /// A command tag (`CREATE TABLE`, `INSERT`) and, for DML, the rows it touched.
    Command(String, Option<usize>),
    Begin,
    Commit,
    Rollback,
}

struct Transaction {
    state: DbState,
    dirty: HashSet<u64>,
    /// Whether the catalog changed (a DDL transaction cannot merge with a concurrent commit).
    ddl: bool,
    base_version: u64,
    base_versions: std::collections::HashMap<u64, u64>,
    failed: bool,
    /// Segment files its COPYs wrote, kept from garbage collection until it ends.
    staged: Vec<crate::state::StagedFiles>,
}

pub struct Session {
    wh: Arc<Warehouse>,
    pub user: String,
    pub pid: i32,
    ctx: SessionContext,
    view: Arc<View>,
    tx: Option<Transaction>,
    /// The session's user, pid, settings and last query, shared with the functions that
    /// report them (CURRENT_SETTING, PG_LAST_QUERY_ID, ...).
    facts: Arc<crate::functions::system::SessionFacts>,
    pg_parser: Arc<PostgresCompatibilityParser>,
    temp_tables: Vec<(String, String)>,
    /// The last COPY's query id and row count (pg_last_copy_id(), pg_last_copy_count()).
    last_copy: Arc<(std::sync::atomic::AtomicI64, std::sync::atomic::AtomicI64)>,
}

/// Statements read from their tokens rather than by sqlparser: the user-management family
/// and COPY, whose Redshift forms sqlparser does not take.
#[derive(Clone, Debug)]
pub enum Special {
    Manage(privileges::Command),
    Copy(Box<CopySpec>),
    Unload(Box<UnloadSpec>),
    /// REFRESH MATERIALIZED VIEW name.
    Refresh(ObjectName),
}

impl Special {
    pub fn parse(sql: &str) -> Option<SqlResult<Special>> {
        if let Some(c) = CopySpec::parse(sql) {
            return Some(c.map(|c| Special::Copy(Box::new(c))));
        }
        if let Some(u) = UnloadSpec::parse(sql) {
            return Some(u.map(|u| Special::Unload(Box::new(u))));
        }
        if let Some(r) = materialized::parse_refresh(sql) {
            return Some(r.map(Special::Refresh));
        }
        privileges::Command::parse(sql).map(|c| c.map(Special::Manage))
    }
}

/// What one statement gave a caller other than the wire (the Data API): its rows if it is
/// a query, else the rows it touched.
pub struct Outcome {
    pub schema: datafusion::arrow::datatypes::SchemaRef,
    pub batches: Vec<RecordBatch>,
    pub has_result_set: bool,
    pub rows: i64,
}

/// A write applied to a state copy: a statement, or a REFRESH MATERIALIZED VIEW (which
/// sqlparser does not parse).
pub(crate) enum WriteOp {
    Statement(Box<Statement>, TableAttributes),
    Refresh(String, String),
}

/// Effects of one write statement on a state copy.
#[derive(Default)]
struct Effects {
    dirty: HashSet<u64>,
    ddl: bool,
    /// Segment files the statement wrote, kept from garbage collection until its commit.
    staged: Vec<crate::state::StagedFiles>,
}

fn q(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// The SQL type a value is cast to before it is checked against its column.
fn sql_type(t: &RsType) -> String {
    match t {
        RsType::SmallInt => "SMALLINT".into(),
        RsType::Integer => "INTEGER".into(),
        RsType::BigInt => "BIGINT".into(),
        RsType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        RsType::Real => "REAL".into(),
        RsType::Double => "DOUBLE".into(),
        RsType::Boolean => "BOOLEAN".into(),
        RsType::Char(_) | RsType::Varchar(_) | RsType::Super => "VARCHAR".into(),
        RsType::Varbyte(_) => "BYTEA".into(),
        RsType::HllSketch => "VARCHAR".into(),
        RsType::Date => "DATE".into(),
        RsType::Timestamp => "TIMESTAMP".into(),
        RsType::Timestamptz => "TIMESTAMPTZ".into(),
        RsType::Time => "TIME".into(),
    }
}

fn cast_error(column: &str, ty: &RsType, e: impl std::fmt::Display) -> SqlError {
    let msg = e.to_string();
    let value = msg.split('\'').nth(1).unwrap_or("").to_string();
    let kind = match ty {
        RsType::SmallInt | RsType::Integer | RsType::BigInt => "integer",
        RsType::Decimal(..) => "numeric",
        RsType::Real | RsType::Double => "double precision",
        RsType::Boolean => "boolean",
        RsType::Date => "date",
        RsType::Timestamp | RsType::Timestamptz => "timestamp",
        _ => "type",
    };
    if msg.contains("overflow") || msg.contains("Overflow") || msg.contains("out of range") || msg.contains("too large")
    {
        return SqlError::new("22003", format!("value out of range for column \"{column}\" of type {}", ty.pg_name()));
    }
    SqlError::new("22P02", format!("invalid input syntax for {kind}: \"{value}\""))
        .with_detail(format!("column \"{column}\""))
}

impl Session {
    pub fn new(wh: Arc<Warehouse>, user: &str, pg_parser: Arc<PostgresCompatibilityParser>) -> SqlResult<Session> {
        let db = wh.database();
        let view = Arc::new(View::new(wh.committed()));
        let mut config = SessionConfig::new();
        // TIMESTAMPTZ values are UTC, the session time zone Redshift starts with.
        config.options_mut().execution.time_zone = Some("UTC".into());
        let partitions = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2);
        // What each partition's sort keeps for merging its spilled runs: a small share of the
        // cluster's budget, so that a small budget still leaves room to spill.
        config.options_mut().execution.sort_spill_reservation_bytes =
            (wh.memory_budget() / (8 * partitions)).clamp(256 << 10, 10 << 20);
        // A join whose build side is small enough is built once and probed by every partition
        // ("collect left"), rather than both sides being hash-repartitioned: on TPC-H SF1 this
        // saves a tenth of the time (Q5, Q7 a third). The bound leaves the budget room.
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.hash_join_single_partition_threshold = (wh.memory_budget() / 8).clamp(1 << 20, 128 << 20);
        optimizer.hash_join_single_partition_threshold_rows = 4_000_000;
        let config = config
            .with_default_catalog_and_schema(&db, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true)
            .with_target_partitions(partitions);
        let ctx = SessionContext::new_with_config_rt(config, wh.runtime.clone());
        let system = Arc::new(SystemTables { warehouse: Arc::downgrade(&wh), user: user.to_string() });
        ctx.register_catalog(&db, Arc::new(DatabaseCatalog::new(view.clone(), system)));
        datafusion_pg_catalog::pg_catalog::setup_pg_catalog(
            &ctx,
            &db,
            datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider,
        )
        .map_err(|e| SqlError::internal(e.to_string()))?;
        // SUPER rebuilds the session state, which re-registers every function in no fixed
        // order (an alias may bring DataFusion's own TO_CHAR back): it goes before ours.
        crate::super_type::register(&ctx);
        crate::super_functions::register(&ctx);
        crate::functions::register(&ctx, user);
        crate::functions::register_catalog(&ctx, view.clone());
        ctx.add_analyzer_rule(Arc::new(crate::types::LenientTimestampLiterals));
        ctx.add_analyzer_rule(Arc::new(crate::trailing_blanks::TrailingBlanks));
        ctx.add_optimizer_rule(Arc::new(crate::optimizer::PushSemiJoins));
        ctx.add_optimizer_rule(Arc::new(crate::optimizer::join_order::ReorderJoins));
        ctx.add_optimizer_rule(Arc::new(crate::optimizer::reduce_aggregates::ReduceAggregates));
        let last_copy = Arc::new((std::sync::atomic::AtomicI64::new(-1), std::sync::atomic::AtomicI64::new(0)));
        crate::functions::register_last_copy(&ctx, last_copy.clone());
        let pid = wh.new_pid();
        wh.open_session(pid, user)?;
        let facts = Arc::new(crate::functions::system::SessionFacts::new(user, pid, wh.session_defaults()));
        crate::functions::system::register(&ctx, Arc::downgrade(&wh), view.clone(), facts.clone());
        Ok(Session {
            wh,
            user: user.to_string(),
            pid,
            ctx,
            view,
            tx: None,
            facts,
            pg_parser,
            temp_tables: Vec::new(),
            last_copy,
        })
    }

    pub fn in_transaction(&self) -> bool {
        self.tx.is_some()
    }

    pub fn transaction_failed(&self) -> bool {
        self.tx.as_ref().is_some_and(|t| t.failed)
    }

    /// Parses a query string: Redshift's dialect for user SQL; the PostgreSQL-compatibility
    /// parser for the catalog queries clients (psql, drivers) send, and `'name'::regclass`.
    pub fn parse(&self, sql: &str) -> SqlResult<Vec<Parsed>> {
        let lower = sql.to_ascii_lowercase();
        if ["pg_catalog", "information_schema", "::reg"].iter().any(|k| lower.contains(k)) {
            if let Ok(statements) = self.pg_parser.parse(sql) {
                return Ok(statements
                    .into_iter()
                    .map(|mut statement| {
                        dialect::rewrite(&mut statement);
                        Parsed { statement, attributes: TableAttributes::default(), text: sql.to_string() }
                    })
                    .collect());
            }
        }
        dialect::parse(sql)
    }

    /// Runs one statement, recording it in STL_QUERY.
    pub async fn execute(&mut self, parsed: Parsed) -> SqlResult<Output> {
        let text = parsed.text.clone();
        let start = chrono::Utc::now().timestamp_micros();
        let out = self.execute_inner(parsed).await;
        let query = self.new_query_id();
        self.end_logged(query, start, &text, out.is_err());
        out
    }

    async fn execute_inner(&mut self, parsed: Parsed) -> SqlResult<Output> {
        let Parsed { statement, attributes, .. } = parsed;
        match &statement {
            Statement::StartTransaction { .. } => return self.begin(),
            Statement::Commit { .. } => return self.commit().await,
            Statement::Rollback { .. } => {
                self.tx = None;
                self.view.set(self.wh.committed());
                return Ok(Output::Rollback);
            }
            _ => {}
        }
        if self.transaction_failed() {
            return Err(SqlError::aborted());
        }
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        match statement {
            Statement::Query(mut query) => {
                // SELECT ... INTO t is CREATE TABLE t AS SELECT ...
                if let SetExpr::Select(select) = query.body.as_mut() {
                    if let Some(into) = select.into.take() {
                        let create = format!(
                            "CREATE {}TABLE {} AS {}",
                            if into.temporary { "TEMP " } else { "" },
                            into.name,
                            query
                        );
                        let parsed = dialect::parse(&create)?.pop().ok_or_else(|| SqlError::internal("SELECT INTO"))?;
                        return self.write(parsed.statement, parsed.attributes).await;
                    }
                }
                self.check_node_functions(&query)?;
                if self.tx.is_none() {
                    self.auto_refresh(&query).await?;
                }
                let df = self.query(*query).await?;
                Ok(Output::Rows(df))
            }
            Statement::Explain { .. } | Statement::ShowVariable { .. } | Statement::Set(_) | Statement::Reset(_) => {
                self.session_statement(statement).await
            }
            other => self.write(other, attributes).await,
        }
    }

    fn begin(&mut self) -> SqlResult<Output> {
        if self.tx.is_none() {
            let st = self.wh.committed();
            self.tx = Some(Transaction {
                state: (*st).clone(),
                dirty: HashSet::new(),
                ddl: false,
                base_version: st.version,
                base_versions: st.table_versions.clone(),
                failed: false,
                staged: Vec::new(),
            });
            self.view.set(st);
        }
        Ok(Output::Begin)
    }

    async fn commit(&mut self) -> SqlResult<Output> {
        let Some(tx) = self.tx.take() else { return Ok(Output::Commit) };
        if tx.failed {
            self.view.set(self.wh.committed());
            return Ok(Output::Rollback);
        }
        if tx.dirty.is_empty() && !tx.ddl {
            self.view.set(self.wh.committed());
            return Ok(Output::Commit);
        }
        let _one = self.wh.commit_lock.lock().await;
        let latest = self.wh.committed();
        let merged = if latest.version == tx.base_version {
            tx.state
        } else {
            // Someone committed since BEGIN: this transaction's tables must be untouched by it.
            let conflict =
                tx.ddl || tx.dirty.iter().any(|id| latest.table_versions.get(id) != tx.base_versions.get(id));
            if conflict {
                self.view.set(latest);
                return Err(SqlError::new(
                    "40001",
                    "Serializable isolation violation on table in the transaction; it was changed by a concurrent transaction",
                ));
            }
            let mut merged = (*latest).clone();
            for id in &tx.dirty {
                if let Some(segs) = tx.state.data.get(id) {
                    merged.data.insert(*id, segs.clone());
                }
                for (sn, schema) in &tx.state.catalog.schemas {
                    for (tn, t) in &schema.tables {
                        if t.id == *id {
                            if let Some(m) = merged.table_mut(sn, tn) {
                                *m = t.clone();
                            }
                        }
                    }
                }
            }
            merged
        };
        self.wh.commit(merged, &tx.dirty).await?;
        self.view.set(self.wh.committed());
        Ok(Output::Commit)
    }

    async fn session_statement(&mut self, statement: Statement) -> SqlResult<Output> {
        match statement {
            Statement::Set(ast::Set::SingleAssignment { variable, values, .. }) => {
                let name = variable.to_string().to_ascii_lowercase();
                let value =
                    values.iter().map(|v| v.to_string().trim_matches('\'').to_string()).collect::<Vec<_>>().join(", ");
                let value = if value.eq_ignore_ascii_case("default") {
                    self.facts.reset(&name);
                    None
                } else {
                    Some(value)
                };
                if let Some(value) = value {
                    crate::functions::system::check_setting(&name, &value)?;
                    self.facts.set(&name, &value);
                }
                Ok(Output::Command("SET".into(), None))
            }
            Statement::Set(ast::Set::SetTimeZone { value, .. }) => {
                let value = value.to_string().trim_matches('\'').to_string();
                crate::functions::system::check_setting("timezone", &value)?;
                self.facts.set("timezone", &value);
                Ok(Output::Command("SET".into(), None))
            }
            // RESET returns a parameter to the value sessions start with.
            Statement::Reset(r) => {
                match r.reset {
                    ast::Reset::ALL => self.facts.reset_all(),
                    ast::Reset::ConfigurationParameter(p) => {
                        let name = p.to_string().to_ascii_lowercase();
                        if self.setting(&name).is_none() {
                            return Err(SqlError::new(
                                "42704",
                                format!("unrecognized configuration parameter \"{name}\""),
                            ));
                        }
                        self.facts.reset(&name);
                    }
                }
                Ok(Output::Command("RESET".into(), None))
            }
            Statement::Set(other) => Err(SqlError::unsupported(format!(
                "{} is not supported",
                other.to_string().split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            ))),
            Statement::ShowVariable { variable } => {
                let name = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
                let value = self.setting(&name).ok_or_else(|| {
                    SqlError::new("42704", format!("unrecognized configuration parameter \"{name}\""))
                })?;
                let batch = RecordBatch::try_from_iter(vec![(
                    name.as_str(),
                    Arc::new(datafusion::arrow::array::StringArray::from(vec![value])) as ArrayRef,
                )])
                .map_err(SqlError::internal)?;
                Ok(Output::Rows(self.ctx.read_batch(batch)?))
            }
            other => Ok(Output::Rows(self.plan(other).await?)),
        }
    }

    fn setting(&self, name: &str) -> Option<String> {
        if name == "is_superuser" {
            let superuser = self.view.get().catalog.users.get(&self.user).is_some_and(|u| u.superuser);
            return Some(if superuser { "on" } else { "off" }.into());
        }
        self.facts.setting(name)
    }

    /// The schemas of the session's search_path that exist, in order (`$user` is the schema
    /// named as the session's user).
    fn search_path(&self, st: &DbState) -> Vec<String> {
        crate::functions::system::search_path(&self.setting("search_path").unwrap_or_default(), &self.user, st)
    }

    /// Where an unqualified table or view name is found: the session's temporary table of
    /// that name, else the first schema of the search path holding it; None if none does.
    fn found_schema(&self, st: &DbState, table: &str) -> Option<String> {
        if let Some((s, _)) = self.temp_tables.iter().find(|(_, t)| t == table) {
            return Some(s.clone());
        }
        self.search_path(st).into_iter().find(|s| {
            st.catalog.schemas.get(s).is_some_and(|m| m.tables.contains_key(table) || m.views.contains_key(table))
        })
    }

    /// The schema a name means: its own, else where the search path finds it, else the
    /// schema new objects are created in.
    fn schema_of(&self, schema: Option<String>, table: &str) -> String {
        schema.unwrap_or_else(|| {
            let st = self.view.get();
            self.found_schema(&st, table)
                .or_else(|| self.search_path(&st).into_iter().next())
                .unwrap_or_else(|| "public".into())
        })
    }

    /// The schema an unqualified CREATE puts its object in: the first of the search path.
    fn creation_schema(&self, st: &DbState) -> SqlResult<String> {
        self.search_path(st)
            .into_iter()
            .next()
            .ok_or_else(|| SqlError::new("3F000", "no schema has been selected to create in"))
    }

    fn table_ref(&self, st: &DbState, name: &ObjectName) -> SqlResult<(String, String)> {
        let (schema, table) = object_name(name);
        let schema = self.schema_of(schema, &table);
        if st.table(&schema, &table).is_none() {
            return Err(SqlError::relation_missing(&table));
        }
        Ok((schema, table))
    }

    /// The query id (as STL_QUERY shows it) of the last statement run.
    pub fn last_query_id(&self) -> i64 {
        self.facts.last_query.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A new query id, which becomes the session's last.
    fn new_query_id(&self) -> i64 {
        let id = self.wh.new_query_id();
        self.facts.last_query.store(id, std::sync::atomic::Ordering::Relaxed);
        id
    }

    /// A session for a caller other than the wire.
    pub fn open(wh: Arc<Warehouse>, user: &str) -> SqlResult<Session> {
        Session::new(wh, user, Arc::new(PostgresCompatibilityParser::new()))
    }

    /// Runs every statement of `sql` in turn (stopping at the first failure) and gives what
    /// the last one produced, with its rows collected.
    pub async fn run(&mut self, sql: &str) -> SqlResult<Outcome> {
        let mut last = None;
        for piece in dialect::split_statements(sql)? {
            let out = match Special::parse(&piece) {
                Some(special) => self.special(special?).await?,
                None => {
                    let mut out = None;
                    for p in self.parse(&piece)? {
                        out = Some(self.execute(p).await?);
                    }
                    match out {
                        Some(o) => o,
                        None => continue,
                    }
                }
            };
            last = Some(out);
        }
        let empty = || Arc::new(Schema::empty());
        Ok(match last {
            Some(Output::Rows(df)) => {
                let schema = Arc::new(df.schema().as_arrow().clone());
                let batches = df.collect().await?;
                let rows = batches.iter().map(|b| b.num_rows() as i64).sum();
                Outcome { schema, batches, has_result_set: true, rows }
            }
            Some(Output::Command(_, n)) => Outcome {
                schema: empty(),
                batches: vec![],
                has_result_set: false,
                rows: n.map(|n| n as i64).unwrap_or(0),
            },
            _ => Outcome { schema: empty(), batches: vec![], has_result_set: false, rows: 0 },
        })
    }

    pub async fn special(&mut self, special: Special) -> SqlResult<Output> {
        match special {
            Special::Manage(c) => self.manage(c).await,
            Special::Copy(spec) => self.copy(*spec).await,
            Special::Unload(spec) => self.unload(*spec).await,
            Special::Refresh(name) => self.refresh(&name).await,
        }
    }

    /// Runs a statement of the user-management family (CREATE/ALTER/DROP USER, GROUP, GRANT,
    /// REVOKE), parsed by `privileges`.
    pub async fn manage(&mut self, command: privileges::Command) -> SqlResult<Output> {
        if self.transaction_failed() {
            return Err(SqlError::aborted());
        }
        let tag = command.tag();
        let wh = self.wh.clone();
        let user = self.user.clone();
        if let Some(tx) = &mut self.tx {
            command.apply(&mut tx.state, &user)?;
            tx.ddl = true;
            self.view.set(Arc::new(tx.state.clone()));
        } else {
            let _one = wh.commit_lock.lock().await;
            let mut work = (*wh.committed()).clone();
            command.apply(&mut work, &user)?;
            wh.commit(work, &HashSet::new()).await?;
            self.view.set(wh.committed());
        }
        Ok(Output::Command(tag, None))
    }

    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.wh.close_session(self.pid);
        if self.temp_tables.is_empty() {
            return;
        }
        // Temporary tables end with their session.
        let wh = self.wh.clone();
        let temp = std::mem::take(&mut self.temp_tables);
        let schema = format!("pg_temp_{}", self.pid);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _one = wh.commit_lock.lock().await;
                let mut st = (*wh.committed()).clone();
                for (s, t) in &temp {
                    if let Some(m) = st.catalog.schemas.get_mut(s).and_then(|x| x.tables.remove(t)) {
                        st.data.remove(&m.id);
                    }
                }
                st.catalog.schemas.remove(&schema);
                let _ = wh.commit(st, &HashSet::new()).await;
            });
        }
    }
}

mod ddl;
mod dml;
mod load;
mod materialized;
mod nodes;
pub(crate) use materialized::is_stale;
use materialized::{refuse_materialized, relations};
mod query;
mod vacuum;
