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
use std::collections::{BTreeMap, HashMap, HashSet};
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
}

pub struct Session {
    wh: Arc<Warehouse>,
    pub user: String,
    pub pid: i32,
    ctx: SessionContext,
    view: Arc<View>,
    tx: Option<Transaction>,
    settings: BTreeMap<String, String>,
    pg_parser: Arc<PostgresCompatibilityParser>,
    temp_tables: Vec<(String, String)>,
    /// The query id of the last statement run.
    last_query: i64,
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
}

impl Special {
    pub fn parse(sql: &str) -> Option<SqlResult<Special>> {
        if let Some(c) = CopySpec::parse(sql) {
            return Some(c.map(|c| Special::Copy(Box::new(c))));
        }
        if let Some(u) = UnloadSpec::parse(sql) {
            return Some(u.map(|u| Special::Unload(Box::new(u))));
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

/// Effects of one write statement on a state copy.
#[derive(Default)]
struct Effects {
    dirty: HashSet<u64>,
    ddl: bool,
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
        let config = config
            .with_default_catalog_and_schema(&db, "public")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true)
            .with_target_partitions(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2));
        let ctx = SessionContext::new_with_config(config);
        let system = Arc::new(SystemTables { warehouse: Arc::downgrade(&wh) });
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
        crate::functions::register(&ctx, user);
        crate::functions::register_catalog(&ctx, view.clone());
        ctx.add_analyzer_rule(Arc::new(crate::types::LenientTimestampLiterals));
        let last_copy = Arc::new((std::sync::atomic::AtomicI64::new(-1), std::sync::atomic::AtomicI64::new(0)));
        crate::functions::register_last_copy(&ctx, last_copy.clone());
        let pid = wh.new_pid();
        Ok(Session {
            wh,
            user: user.to_string(),
            pid,
            ctx,
            view,
            tx: None,
            settings: BTreeMap::new(),
            pg_parser,
            temp_tables: Vec::new(),
            last_query: 0,
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
        self.last_query = self.wh.new_query_id();
        self.end_logged(self.last_query, start, &text, out.is_err());
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
                let df = self.query(*query).await?;
                Ok(Output::Rows(df))
            }
            Statement::Explain { .. } | Statement::ShowVariable { .. } | Statement::Set(_) => {
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

    /// Plans and starts a query against the session's view.
    pub async fn query(&self, query: ast::Query) -> SqlResult<DataFrame> {
        let mut statement = Statement::Query(Box::new(query));
        // Privileges are checked on what the query names: a view, not the tables behind it.
        self.qualify_temporary(&mut statement);
        self.check_select(&statement)?;
        self.expand_views(&mut statement)?;
        self.plan(statement).await
    }

    /// Unqualified names find the session's temporary tables first, as on Redshift.
    fn qualify_temporary(&self, statement: &mut Statement) {
        if self.temp_tables.is_empty() {
            return;
        }
        struct Qualify<'a>(&'a [(String, String)]);
        impl VisitorMut for Qualify<'_> {
            type Break = ();
            fn pre_visit_relation(&mut self, name: &mut ObjectName) -> ControlFlow<()> {
                if name.0.len() == 1 {
                    let (_, table) = object_name(name);
                    if let Some((schema, _)) = self.0.iter().find(|(_, t)| *t == table) {
                        name.0.insert(0, ast::ObjectNamePart::Identifier(ast::Ident::with_quote('"', schema.clone())));
                    }
                }
                ControlFlow::Continue(())
            }
        }
        let _ = statement.visit(&mut Qualify(&self.temp_tables));
    }

    async fn plan(&self, statement: Statement) -> SqlResult<DataFrame> {
        let plan = self.logical_plan(statement).await?;
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// Plans a statement. A WHERE may name a select item's alias, as Redshift allows, when no
    /// column has that name: such a name is replaced by the aliased expression and planned again.
    async fn logical_plan(&self, mut statement: Statement) -> SqlResult<datafusion::logical_expr::LogicalPlan> {
        for _ in 0..8 {
            let err =
                match self.ctx.state().statement_to_plan(DfStatement::Statement(Box::new(statement.clone()))).await {
                    Ok(plan) => return Ok(plan),
                    Err(e) => SqlError::from(e),
                };
            let missing = (err.code == "42703")
                .then(|| err.message.strip_prefix("column \"").and_then(|m| m.strip_suffix("\" does not exist")))
                .flatten();
            match missing {
                Some(name) if dialect::where_alias(&mut statement, name) => continue,
                _ => return Err(err),
            }
        }
        Err(SqlError::internal("too many aliases named in WHERE"))
    }

    async fn query_sql(&self, sql: &str) -> SqlResult<Vec<RecordBatch>> {
        let mut parsed = dialect::parse(sql)?;
        let Some(p) = parsed.pop() else { return Ok(vec![]) };
        let Statement::Query(query) = p.statement else { return Err(SqlError::internal("not a query")) };
        Ok(self.query(*query).await?.collect().await?)
    }

    /// The result schema and parameter types of a statement, without running it (extended
    /// protocol's Describe). Only queries have a result.
    pub async fn describe(
        &self,
        statement: &Statement,
    ) -> SqlResult<Option<(Arc<Schema>, Vec<Option<datafusion::arrow::datatypes::DataType>>)>> {
        if let Statement::ShowVariable { variable } = statement {
            let name = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect::<Vec<_>>().join(" ");
            let field =
                datafusion::arrow::datatypes::Field::new(name, datafusion::arrow::datatypes::DataType::Utf8, true);
            return Ok(Some((Arc::new(Schema::new(vec![field])), vec![])));
        }
        if !matches!(statement, Statement::Query(_) | Statement::Explain { .. }) {
            return Ok(None);
        }
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let mut statement = statement.clone();
        self.expand_views(&mut statement)?;
        let plan = self.logical_plan(statement).await?;
        let params = plan.get_parameter_types().map_err(SqlError::from)?;
        let mut ordered: Vec<(usize, Option<datafusion::arrow::datatypes::DataType>)> = params
            .into_iter()
            .filter_map(|(k, v)| k.trim_start_matches('$').parse::<usize>().ok().map(|i| (i, v)))
            .collect();
        ordered.sort_by_key(|(i, _)| *i);
        let n = ordered.last().map(|(i, _)| *i).unwrap_or(0);
        let mut types = vec![None; n];
        for (i, t) in ordered {
            if i >= 1 {
                types[i - 1] = t;
            }
        }
        Ok(Some((Arc::new(plan.schema().as_arrow().clone()), types)))
    }

    /// Replaces references to views by their defining queries.
    fn expand_views(&self, statement: &mut Statement) -> SqlResult<()> {
        let st = self.view.get();
        let has_views = st.catalog.schemas.values().any(|s| !s.views.is_empty());
        if !has_views {
            return Ok(());
        }
        struct Expand<'a> {
            st: &'a DbState,
            changed: bool,
            error: Option<SqlError>,
        }
        impl VisitorMut for Expand<'_> {
            type Break = ();
            fn pre_visit_table_factor(&mut self, tf: &mut TableFactor) -> ControlFlow<()> {
                if let TableFactor::Table { name, alias, args: None, .. } = tf {
                    let (schema, view) = object_name(name);
                    let schema = schema.unwrap_or_else(|| "public".into());
                    if let Some(v) = self.st.catalog.schemas.get(&schema).and_then(|s| s.views.get(&view)) {
                        match dialect::parse(&v.sql).map(|mut p| p.pop()) {
                            Ok(Some(Parsed { statement: Statement::Query(query), .. })) => {
                                let alias = alias.clone().unwrap_or(ast::TableAlias {
                                    explicit: true,
                                    at: None,
                                    name: ast::Ident::new(view.clone()),
                                    columns: vec![],
                                });
                                *tf = TableFactor::Derived {
                                    lateral: false,
                                    subquery: query,
                                    alias: Some(alias),
                                    sample: None,
                                };
                                self.changed = true;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                self.error = Some(e);
                                return ControlFlow::Break(());
                            }
                        }
                    }
                }
                ControlFlow::Continue(())
            }
        }
        for _ in 0..16 {
            let mut v = Expand { st: &st, changed: false, error: None };
            let _ = statement.visit(&mut v);
            if let Some(e) = v.error {
                return Err(e);
            }
            if !v.changed {
                break;
            }
        }
        Ok(())
    }

    /// Privileges: a query reads every table it names.
    fn check_select(&self, statement: &Statement) -> SqlResult<()> {
        let st = self.view.get();
        privileges::check_reads(&st, &self.user, statement)
    }

    async fn session_statement(&mut self, statement: Statement) -> SqlResult<Output> {
        match statement {
            Statement::Set(ast::Set::SingleAssignment { variable, values, .. }) => {
                let name = variable.to_string().to_ascii_lowercase();
                let value =
                    values.iter().map(|v| v.to_string().trim_matches('\'').to_string()).collect::<Vec<_>>().join(", ");
                self.settings.insert(name, value);
                Ok(Output::Command("SET".into(), None))
            }
            Statement::Set(_) => Ok(Output::Command("SET".into(), None)),
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
        if let Some(v) = self.settings.get(name) {
            return Some(v.clone());
        }
        Some(
            match name {
                "search_path" => "$user, public",
                "datestyle" => "ISO, MDY",
                "timezone" => "UTC",
                "standard_conforming_strings" => "on",
                "server_version" => "8.0.2",
                "server_encoding" | "client_encoding" => "UTF8",
                "transaction_isolation" | "transaction isolation level" => "serializable",
                "max_identifier_length" => "127",
                "enable_result_cache_for_session" => "on",
                "query_group" => "default",
                "statement_timeout" => "0",
                "integer_datetimes" => "on",
                "is_superuser" => {
                    return Some(
                        if self.view.get().catalog.users.get(&self.user).is_some_and(|u| u.superuser) {
                            "on"
                        } else {
                            "off"
                        }
                        .into(),
                    )
                }
                _ => return None,
            }
            .to_string(),
        )
    }

    /// Applies a write statement: on the transaction's state inside BEGIN ... COMMIT, else on
    /// a copy of the committed state that is committed at once.
    async fn write(&mut self, statement: Statement, attrs: TableAttributes) -> SqlResult<Output> {
        if let Some(tx) = &self.tx {
            let mut work = tx.state.clone();
            self.view.set(Arc::new(work.clone()));
            let mut fx = Effects::default();
            let result = self.apply(&mut work, statement, attrs, &mut fx).await;
            let tx = self.tx.as_mut().expect("in a transaction");
            match result {
                Ok(out) => {
                    tx.state = work;
                    tx.dirty.extend(fx.dirty);
                    tx.ddl |= fx.ddl;
                    self.view.set(Arc::new(tx.state.clone()));
                    Ok(out)
                }
                Err(e) => {
                    self.view.set(Arc::new(tx.state.clone()));
                    Err(e)
                }
            }
        } else {
            let wh = self.wh.clone();
            let _one = wh.commit_lock.lock().await;
            let base = wh.committed();
            let mut work = (*base).clone();
            self.view.set(base);
            let mut fx = Effects::default();
            let out = self.apply(&mut work, statement, attrs, &mut fx).await?;
            if !fx.dirty.is_empty() || fx.ddl {
                wh.commit(work, &fx.dirty).await?;
            }
            self.view.set(wh.committed());
            Ok(out)
        }
    }

    /// The schema an unqualified table name means: the session's temporary table of that
    /// name, else `public`.
    fn schema_of(&self, schema: Option<String>, table: &str) -> String {
        schema.unwrap_or_else(|| {
            self.temp_tables.iter().find(|(_, t)| t == table).map(|(s, _)| s.clone()).unwrap_or_else(|| "public".into())
        })
    }

    fn table_ref(&self, st: &DbState, name: &ObjectName) -> SqlResult<(String, String)> {
        let (schema, table) = object_name(name);
        let schema = self.schema_of(schema, &table);
        if st.table(&schema, &table).is_none() {
            return Err(SqlError::relation_missing(&table));
        }
        Ok((schema, table))
    }

    async fn apply(
        &mut self,
        st: &mut DbState,
        statement: Statement,
        attrs: TableAttributes,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        match statement {
            Statement::Insert(ins) => {
                let ast::TableObject::TableName(name) = &ins.table else {
                    return Err(SqlError::unsupported("INSERT into a table function is not supported"));
                };
                let (schema, table) = self.table_ref(st, name)?;
                privileges::require_table(st, &self.user, &schema, &table, Privilege::Insert)?;
                let meta = st.table(&schema, &table).cloned().expect("resolved");
                let targets = target_columns(&meta, &table, &ins.columns)?;
                let mut source = ins.source.ok_or_else(|| SqlError::unsupported("INSERT without VALUES or a query"))?;
                if let SetExpr::Values(values) = source.body.as_mut() {
                    for row in values.rows.iter_mut() {
                        if row.len() != targets.len() {
                            let more = if row.len() > targets.len() {
                                "expressions than target columns"
                            } else {
                                "target columns than expressions"
                            };
                            return Err(SqlError::new("42601", format!("INSERT has more {more}")));
                        }
                        for (i, e) in row.iter_mut().enumerate() {
                            if matches!(e, Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
                            {
                                let col = &meta.columns[targets[i]];
                                let default = match (&col.identity, &col.default) {
                                    (Some(_), _) | (None, None) => "NULL".to_string(),
                                    (None, Some(d)) => d.clone(),
                                };
                                *e = dialect::parse(&format!("SELECT {default}"))
                                    .ok()
                                    .and_then(|mut p| p.pop())
                                    .and_then(|p| match p.statement {
                                        Statement::Query(q) => match *q.body {
                                            SetExpr::Select(s) => s.projection.into_iter().next(),
                                            _ => None,
                                        },
                                        _ => None,
                                    })
                                    .and_then(|item| match item {
                                        ast::SelectItem::UnnamedExpr(e)
                                        | ast::SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
                                        _ => None,
                                    })
                                    .unwrap_or(Expr::Value(ast::Value::Null.with_empty_span()));
                            }
                        }
                    }
                }
                let batches = self.query(*source).await?.collect().await?;
                if let Some(b) = batches.first() {
                    if b.num_columns() != targets.len() {
                        let more = if b.num_columns() > targets.len() {
                            "expressions than target columns"
                        } else {
                            "target columns than expressions"
                        };
                        return Err(SqlError::new("42601", format!("INSERT has more {more}")));
                    }
                }
                let rows = self.append(st, &schema, &table, &targets, batches).await?;
                fx.dirty.insert(meta.id);
                Ok(Output::Command("INSERT 0".into(), Some(rows)))
            }
            Statement::Update(upd) => {
                let TableFactor::Table { name, alias, .. } = &upd.table.relation else {
                    return Err(SqlError::unsupported("UPDATE of this relation is not supported"));
                };
                let (schema, table) = self.table_ref(st, name)?;
                privileges::require_table(st, &self.user, &schema, &table, Privilege::Update)?;
                let meta = st.table(&schema, &table).cloned().expect("resolved");
                let assigned = assignments(&meta, &table, &upd.assignments)?;
                if let Some(from) = &upd.from {
                    let from = match from {
                        ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f) => f,
                    };
                    let me = alias.as_ref().map(|a| a.name.to_string()).unwrap_or_else(|| q(&table));
                    let hits =
                        self.update_from(st, &schema, &table, &me, &assigned, from, upd.selection.as_ref()).await?;
                    fx.dirty.insert(meta.id);
                    return Ok(Output::Command("UPDATE".into(), Some(hits)));
                }
                let pred = upd.selection.as_ref().map(|e| e.to_string()).unwrap_or_else(|| "TRUE".into());
                let mut items: Vec<String> = meta
                    .columns
                    .iter()
                    .map(|c| match assigned.get(&c.name) {
                        Some(v) => format!("CASE WHEN ({pred}) THEN {v} ELSE {} END AS {}", q(&c.name), q(&c.name)),
                        None => q(&c.name),
                    })
                    .collect();
                items.push(format!("CASE WHEN ({pred}) THEN 1 ELSE 0 END AS \"__nuage_hit\""));
                let from = match alias {
                    Some(a) => format!("{}.{} AS {}", q(&schema), q(&table), a.name),
                    None => format!("{}.{}", q(&schema), q(&table)),
                };
                let batches = self.query_sql(&format!("SELECT {} FROM {from}", items.join(", "))).await?;
                let (hits, kept) = split_hits(batches)?;
                let all: Vec<usize> = (0..meta.columns.len()).collect();
                let out = self.conform(st, &schema, &table, &all, kept).await?;
                st.replace(meta.id, out);
                fx.dirty.insert(meta.id);
                Ok(Output::Command("UPDATE".into(), Some(hits)))
            }
            Statement::Delete(del) => {
                let tables = match &del.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                let Some(TableFactor::Table { name, alias, .. }) = tables.first().map(|t| &t.relation) else {
                    return Err(SqlError::unsupported("DELETE of this relation is not supported"));
                };
                let (schema, table) = self.table_ref(st, name)?;
                privileges::require_table(st, &self.user, &schema, &table, Privilege::Delete)?;
                let meta = st.table(&schema, &table).cloned().expect("resolved");
                let before = st.rows(meta.id);
                let from = match alias {
                    Some(a) => format!("{}.{} AS {}", q(&schema), q(&table), a.name),
                    None => format!("{}.{}", q(&schema), q(&table)),
                };
                let kept = match (&del.selection, &del.using) {
                    (None, None) => Vec::new(),
                    (pred, Some(using)) => {
                        let using: Vec<String> = using.iter().map(|u| u.to_string()).collect();
                        let pred = pred.as_ref().map(|e| e.to_string()).unwrap_or_else(|| "TRUE".into());
                        let me = alias.as_ref().map(|a| a.name.to_string()).unwrap_or_else(|| q(&table));
                        self.query_sql(&format!(
                            "SELECT {me}.* FROM {from} WHERE NOT EXISTS (SELECT 1 FROM {} WHERE {pred})",
                            using.join(", ")
                        ))
                        .await?
                    }
                    (Some(pred), None) => {
                        self.query_sql(&format!("SELECT * FROM {from} WHERE NOT COALESCE(({pred}), FALSE)")).await?
                    }
                };
                let schema_ref = meta.arrow_schema();
                let kept: Vec<RecordBatch> = kept
                    .into_iter()
                    .map(|b| RecordBatch::try_new(schema_ref.clone(), b.columns().to_vec()).map_err(SqlError::internal))
                    .collect::<SqlResult<_>>()?;
                let after: usize = kept.iter().map(|b| b.num_rows()).sum();
                st.replace(meta.id, kept);
                fx.dirty.insert(meta.id);
                Ok(Output::Command("DELETE".into(), Some(before - after)))
            }
            Statement::Merge(m) => self.merge(st, m, fx).await,
            Statement::Truncate(t) => {
                for target in &t.table_names {
                    let (schema, table) = self.table_ref(st, &target.name)?;
                    privileges::require_owner(st, &self.user, &schema, &table)?;
                    let id = st.table(&schema, &table).expect("resolved").id;
                    st.replace(id, vec![]);
                    fx.dirty.insert(id);
                }
                Ok(Output::Command("TRUNCATE TABLE".into(), None))
            }
            Statement::CreateTable(ct) => self.create_table(st, ct, attrs, fx).await,
            Statement::CreateSchema { schema_name, if_not_exists, .. } => {
                let (name, owner) = match &schema_name {
                    ast::SchemaName::Simple(n) => (object_name(n).1, self.user.clone()),
                    ast::SchemaName::NamedAuthorization(n, a) => (object_name(n).1, normalize(a)),
                    ast::SchemaName::UnnamedAuthorization(a) => (normalize(a), normalize(a)),
                };
                privileges::require_superuser_or_createdb(st, &self.user, "create schema")?;
                if st.catalog.schemas.contains_key(&name) {
                    if if_not_exists {
                        return Ok(Output::Command("CREATE SCHEMA".into(), None));
                    }
                    return Err(SqlError::new("42P06", format!("Schema \"{name}\" already exists")));
                }
                st.catalog.schemas.insert(name, SchemaMeta { owner, ..Default::default() });
                fx.ddl = true;
                Ok(Output::Command("CREATE SCHEMA".into(), None))
            }
            Statement::CreateView(cv) => {
                let (schema, name) = object_name(&cv.name);
                let schema = schema.unwrap_or_else(|| "public".into());
                if !st.catalog.schemas.contains_key(&schema) {
                    return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
                }
                if st.table(&schema, &name).is_some() {
                    return Err(SqlError::new("42P07", format!("relation \"{name}\" already exists")));
                }
                let exists = st.catalog.schemas[&schema].views.contains_key(&name);
                if exists && !cv.or_replace {
                    return Err(SqlError::new("42P07", format!("relation \"{name}\" already exists")));
                }
                // The view must plan now, against the state it is created in.
                self.query((*cv.query).clone()).await?;
                let mut sql = cv.query.to_string();
                if !cv.columns.is_empty() {
                    let cols: Vec<String> = cv.columns.iter().map(|c| c.name.to_string()).collect();
                    sql = format!("SELECT * FROM ({sql}) AS v({})", cols.join(", "));
                }
                let schema_meta = st.catalog.schemas.get_mut(&schema).expect("checked");
                schema_meta.views.insert(name, ViewMeta { sql, owner: self.user.clone(), grants: Default::default() });
                fx.ddl = true;
                Ok(Output::Command("CREATE VIEW".into(), None))
            }
            Statement::Drop { object_type, if_exists, names, cascade, .. } => {
                self.drop(st, object_type, if_exists, &names, cascade, fx)
            }
            Statement::AlterTable(at) => self.alter_table(st, at, fx).await,
            Statement::Grant(_)
            | Statement::Revoke(_)
            | Statement::CreateUser(_)
            | Statement::AlterUser(_)
            | Statement::CreateRole(_) => Err(SqlError::unsupported("this form of the statement is not supported")),
            Statement::Analyze(_) => Ok(Output::Command("ANALYZE".into(), None)),
            Statement::Vacuum(_) => Ok(Output::Command("VACUUM".into(), None)),
            other => {
                let first = other.to_string().split_whitespace().next().unwrap_or("").to_string();
                Err(SqlError::unsupported(format!("{first} is not supported")))
            }
        }
    }

    /// MERGE INTO target USING source ON ... WHEN MATCHED THEN UPDATE SET ... | DELETE
    /// WHEN NOT MATCHED THEN INSERT ...: both branches read the target as it was before.
    async fn merge(&mut self, st: &mut DbState, m: ast::Merge, fx: &mut Effects) -> SqlResult<Output> {
        let TableFactor::Table { name, alias, .. } = &m.table else {
            return Err(SqlError::unsupported("MERGE into this relation is not supported"));
        };
        let (schema, table) = self.table_ref(st, name)?;
        let meta = st.table(&schema, &table).cloned().expect("resolved");
        let target_alias = alias.as_ref().map(|a| a.name.to_string()).unwrap_or_else(|| q(&table));
        let target_ref = format!("{}.{} AS {target_alias}", q(&schema), q(&table));
        let source_alias = match &m.source {
            TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
                a.name.to_string()
            }
            TableFactor::Table { name, alias: None, .. } => q(&object_name(name).1),
            _ => return Err(SqlError::new("42601", "the MERGE source needs an alias")),
        };
        let source = m.source.to_string();
        let on = m.on.to_string();
        let mut matched: Option<&ast::MergeAction> = None;
        let mut not_matched: Option<&ast::MergeAction> = None;
        for c in &m.clauses {
            if c.predicate.is_some() {
                return Err(SqlError::unsupported("Redshift's MERGE takes no AND condition on WHEN clauses"));
            }
            match c.clause_kind {
                ast::MergeClauseKind::Matched => matched = Some(&c.action),
                ast::MergeClauseKind::NotMatched | ast::MergeClauseKind::NotMatchedByTarget => {
                    not_matched = Some(&c.action)
                }
                ast::MergeClauseKind::NotMatchedBySource => {
                    return Err(SqlError::unsupported("WHEN NOT MATCHED BY SOURCE is not supported"))
                }
            }
        }
        let before = st.rows(meta.id);
        let joined = format!(
            "FROM {target_ref} LEFT JOIN (SELECT {source_alias}.*, 1 AS \"__nuage_m\" FROM {source}) AS {source_alias} ON {on}"
        );
        let hit = format!("{source_alias}.\"__nuage_m\" = 1");
        let mut touched = 0usize;
        let mut kept: Option<Vec<RecordBatch>> = None;
        match matched {
            Some(ast::MergeAction::Update(u)) => {
                let assigned = assignments(&meta, &table, &u.assignments)?;
                let mut items: Vec<String> = meta
                    .columns
                    .iter()
                    .map(|c| match assigned.get(&c.name) {
                        Some(v) => {
                            format!("CASE WHEN {hit} THEN {v} ELSE {target_alias}.{} END AS {}", q(&c.name), q(&c.name))
                        }
                        None => format!("{target_alias}.{}", q(&c.name)),
                    })
                    .collect();
                items.push(format!("CASE WHEN {hit} THEN 1 ELSE 0 END AS \"__nuage_hit\""));
                let batches = self.query_sql(&format!("SELECT {} {joined}", items.join(", "))).await?;
                let (hits, out) = split_hits(batches)?;
                touched += hits;
                kept = Some(out);
            }
            Some(ast::MergeAction::Delete { .. }) => {
                let batches = self
                    .query_sql(&format!("SELECT {target_alias}.* {joined} WHERE {source_alias}.\"__nuage_m\" IS NULL"))
                    .await?;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                touched += before.saturating_sub(rows);
                kept = Some(batches);
            }
            Some(_) => return Err(SqlError::new("42601", "WHEN MATCHED takes UPDATE or DELETE")),
            None => {}
        }
        if let Some(k) = &kept {
            let rows: usize = k.iter().map(|b| b.num_rows()).sum();
            let expected =
                if matches!(matched, Some(ast::MergeAction::Delete { .. })) { before - touched } else { before };
            if rows != expected {
                return Err(SqlError::new("21000", "Found multiple matches to update the same tuple."));
            }
        }
        let mut inserted: Option<(Vec<usize>, Vec<RecordBatch>)> = None;
        match not_matched {
            Some(ast::MergeAction::Insert(ins)) => {
                let ast::MergeInsertKind::Values(values) = &ins.kind else {
                    return Err(SqlError::unsupported("INSERT ROW is not supported"));
                };
                let targets = target_columns(&meta, &table, &ins.columns)?;
                let row = values.rows.first().ok_or_else(|| SqlError::syntax("VALUES"))?;
                if row.len() != targets.len() {
                    return Err(SqlError::new("42601", "INSERT has more target columns than expressions"));
                }
                let exprs: Vec<String> = row.iter().map(|e| e.to_string()).collect();
                let batches = self
                    .query_sql(&format!(
                        "SELECT {} FROM {source} WHERE NOT EXISTS (SELECT 1 FROM {target_ref} WHERE {on})",
                        exprs.join(", ")
                    ))
                    .await?;
                inserted = Some((targets, batches));
            }
            Some(_) => return Err(SqlError::new("42601", "WHEN NOT MATCHED takes INSERT")),
            None => {}
        }
        if let Some(k) = kept {
            let all: Vec<usize> = (0..meta.columns.len()).collect();
            let out = self.conform(st, &schema, &table, &all, k).await?;
            st.replace(meta.id, out);
        }
        if let Some((targets, batches)) = inserted {
            touched += self.append(st, &schema, &table, &targets, batches).await?;
        }
        fx.dirty.insert(meta.id);
        Ok(Output::Command("MERGE".into(), Some(touched)))
    }

    /// UPDATE target SET ... FROM list WHERE ...: the target is joined with the FROM list; a
    /// row that joins is updated from one of its matches (any one, as Redshift does, or the
    /// statement fails when `error_on_nondeterministic_update` is on). The target's rows are
    /// numbered in a hidden temporary table so that each match can be traced back to its row.
    #[allow(clippy::too_many_arguments)]
    async fn update_from(
        &mut self,
        st: &mut DbState,
        schema: &str,
        table: &str,
        me: &str,
        assigned: &BTreeMap<String, String>,
        from: &[ast::TableWithJoins],
        selection: Option<&Expr>,
    ) -> SqlResult<usize> {
        const ROW_ID: &str = "__nuage_row";
        let meta = st.table(schema, table).cloned().expect("resolved");
        let target = concat_batches(&meta.arrow_schema(), &st.batches(meta.id)).map_err(SqlError::internal)?;
        let rows = target.num_rows();

        let mut numbered = meta.clone();
        numbered.id = u64::MAX;
        numbered.temporary = true;
        numbered.columns.push(ColumnMeta {
            name: ROW_ID.into(),
            ty: RsType::BigInt,
            nullable: false,
            default: None,
            identity: None,
            encode: None,
        });
        let mut columns = target.columns().to_vec();
        columns.push(Arc::new(Int64Array::from_iter_values(0..rows as i64)));
        let numbered_batch = RecordBatch::try_new(numbered.arrow_schema(), columns).map_err(SqlError::internal)?;
        let scratch_schema = format!("pg_temp_{}", self.pid);
        let scratch_table = "__nuage_update_target";
        let mut scratch = st.clone();
        scratch
            .catalog
            .schemas
            .entry(scratch_schema.clone())
            .or_default()
            .tables
            .insert(scratch_table.into(), numbered);
        scratch.replace(u64::MAX, vec![numbered_batch]);

        let names: Vec<&String> = assigned.keys().collect();
        let mut items = vec![format!("{me}.{}", q(ROW_ID))];
        items.extend(names.iter().map(|n| assigned[*n].clone()));
        let from: Vec<String> = from.iter().map(|t| t.to_string()).collect();
        let pred = selection.map(|e| format!(" WHERE {e}")).unwrap_or_default();
        let sql = format!(
            "SELECT {} FROM {}.{} AS {me}, {}{pred}",
            items.join(", "),
            q(&scratch_schema),
            q(scratch_table),
            from.join(", ")
        );
        let before = self.view.get();
        self.view.set(Arc::new(scratch));
        let matches = self.query_sql(&sql).await;
        self.view.set(before);
        let matches = matches?;

        // Row → (batch, row) of the match that updates it.
        let mut chosen: HashMap<usize, (usize, usize)> = HashMap::new();
        let strict = self.setting("error_on_nondeterministic_update").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        for (b, batch) in matches.iter().enumerate() {
            let ids = cast_with_options(batch.column(0), &DataType::Int64, &CastOptions::default())
                .map_err(SqlError::internal)?;
            let ids = ids.as_any().downcast_ref::<Int64Array>().ok_or_else(|| SqlError::internal("row ids"))?;
            for (i, id) in ids.values().iter().enumerate() {
                if chosen.insert(*id as usize, (b, i)).is_some() && strict {
                    return Err(SqlError::new("21000", "Found multiple matches to update the same tuple."));
                }
            }
        }
        let mut columns = target.columns().to_vec();
        for (k, name) in names.iter().enumerate() {
            let (ci, _) = meta.column(name).expect("checked by assignments");
            let ty = columns[ci].data_type().clone();
            let mut sources: Vec<ArrayRef> = vec![columns[ci].clone()];
            for batch in &matches {
                sources.push(
                    cast_with_options(batch.column(k + 1), &ty, &CastOptions::default()).map_err(SqlError::internal)?,
                );
            }
            let refs: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
            let picks: Vec<(usize, usize)> =
                (0..rows).map(|r| chosen.get(&r).map(|(b, i)| (b + 1, *i)).unwrap_or((0, r))).collect();
            columns[ci] = interleave(&refs, &picks).map_err(SqlError::internal)?;
        }
        let updated = RecordBatch::try_new(meta.arrow_schema(), columns).map_err(SqlError::internal)?;
        let all: Vec<usize> = (0..meta.columns.len()).collect();
        let out = self.conform(st, schema, table, &all, vec![updated]).await?;
        st.replace(meta.id, out);
        Ok(chosen.len())
    }

    /// Casts, defaults, identities and checks rows for a table, then appends them.
    async fn append(
        &self,
        st: &mut DbState,
        schema: &str,
        table: &str,
        targets: &[usize],
        batches: Vec<RecordBatch>,
    ) -> SqlResult<usize> {
        let out = self.conform(st, schema, table, targets, batches).await?;
        let rows = out.iter().map(|b| b.num_rows()).sum();
        let id = st.table(schema, table).expect("resolved").id;
        st.append(id, out);
        Ok(rows)
    }

    async fn conform(
        &self,
        st: &mut DbState,
        schema: &str,
        table: &str,
        targets: &[usize],
        batches: Vec<RecordBatch>,
    ) -> SqlResult<Vec<RecordBatch>> {
        let meta = st.table(schema, table).cloned().expect("resolved");
        let table_schema = meta.arrow_schema();
        let mut defaults: BTreeMap<usize, ScalarValue> = BTreeMap::new();
        for (i, c) in meta.columns.iter().enumerate() {
            if targets.contains(&i) || c.identity.is_some() {
                continue;
            }
            if let Some(d) = &c.default {
                let b = self.query_sql(&format!("SELECT CAST(({d}) AS {})", sql_type(&c.ty))).await?;
                let v = b
                    .first()
                    .filter(|b| b.num_rows() > 0)
                    .map(|b| ScalarValue::try_from_array(b.column(0), 0))
                    .transpose()?
                    .unwrap_or(ScalarValue::Null);
                defaults.insert(i, v);
            }
        }
        let opts = CastOptions { safe: false, ..Default::default() };
        let mut out = Vec::with_capacity(batches.len());
        let mut identity_next = meta.identity_next.clone();
        for b in batches {
            let n = b.num_rows();
            if n == 0 {
                continue;
            }
            let mut arrays: Vec<ArrayRef> = Vec::with_capacity(meta.columns.len());
            for (i, c) in meta.columns.iter().enumerate() {
                let ty = c.ty.arrow();
                let mut array = match targets.iter().position(|t| *t == i) {
                    Some(pos) => {
                        let source = match ty {
                            DataType::Timestamp(..) => crate::types::lenient_timestamp_text(b.column(pos)),
                            _ => b.column(pos).clone(),
                        };
                        cast_with_options(&source, &ty, &opts).map_err(|e| cast_error(&c.name, &c.ty, e))?
                    }
                    None => match defaults.get(&i) {
                        Some(v) if !v.is_null() => {
                            let a = v.to_array_of_size(n)?;
                            cast_with_options(&a, &ty, &opts).map_err(|e| cast_error(&c.name, &c.ty, e))?
                        }
                        _ => new_null_array(&ty, n),
                    },
                };
                if let Some((seed, step)) = c.identity {
                    if array.null_count() > 0 {
                        let next = identity_next.entry(c.name.clone()).or_insert(seed);
                        let mut values = Vec::with_capacity(n);
                        let given = cast_with_options(&array, &datafusion::arrow::datatypes::DataType::Int64, &opts)
                            .map_err(SqlError::internal)?;
                        let given = given.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
                        for r in 0..n {
                            if given.is_null(r) {
                                values.push(*next);
                                *next += step;
                            } else {
                                values.push(given.value(r));
                            }
                        }
                        array = cast_with_options(&(Arc::new(Int64Array::from(values)) as ArrayRef), &ty, &opts)
                            .map_err(|e| cast_error(&c.name, &c.ty, e))?;
                    }
                }
                array = c.ty.check_column(&c.name, array)?;
                if !c.nullable && array.null_count() > 0 {
                    return Err(SqlError::new("23502", format!("Cannot insert a NULL value into column {}", c.name)));
                }
                arrays.push(array);
            }
            out.push(RecordBatch::try_new(table_schema.clone(), arrays).map_err(SqlError::internal)?);
        }
        if let Some(m) = st.table_mut(schema, table) {
            m.identity_next = identity_next;
        }
        Ok(out)
    }

    async fn create_table(
        &mut self,
        st: &mut DbState,
        ct: ast::CreateTable,
        attrs: TableAttributes,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        let (schema, name) = object_name(&ct.name);
        let temporary = ct.temporary;
        let schema = match (schema, temporary) {
            (Some(s), _) => s,
            (None, true) => format!("pg_temp_{}", self.pid),
            (None, false) => "public".into(),
        };
        if temporary && !st.catalog.schemas.contains_key(&schema) {
            st.catalog.schemas.insert(schema.clone(), SchemaMeta { owner: self.user.clone(), ..Default::default() });
        }
        let Some(schema_meta) = st.catalog.schemas.get(&schema) else {
            return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
        };
        privileges::require_schema(st, &self.user, &schema, Privilege::Create)?;
        if schema_meta.tables.contains_key(&name) || schema_meta.views.contains_key(&name) {
            if ct.if_not_exists {
                return Ok(Output::Command("CREATE TABLE".into(), None));
            }
            return Err(SqlError::new("42P07", format!("relation \"{name}\" already exists")));
        }
        let mut columns: Vec<ColumnMeta> = Vec::new();
        let mut primary_key: Vec<String> = Vec::new();
        let mut diststyle = attrs.diststyle.clone();
        let mut distkey = attrs.distkey.clone();
        let mut sortkey = attrs.sortkey.clone();
        let mut sortkey_kind = attrs.sortkey_kind.clone();
        let mut rows: Option<Vec<RecordBatch>> = None;
        if let Some(like) = &ct.like {
            let like = match like {
                ast::CreateTableLikeKind::Parenthesized(l) | ast::CreateTableLikeKind::Plain(l) => l,
            };
            let (ls, lt) = self.table_ref(st, &like.name)?;
            let src = st.table(&ls, &lt).cloned().expect("resolved");
            let with_defaults = matches!(like.defaults, Some(ast::CreateTableLikeDefaults::Including));
            columns = src
                .columns
                .iter()
                .map(|c| ColumnMeta { default: if with_defaults { c.default.clone() } else { None }, ..c.clone() })
                .collect();
            diststyle = diststyle.or(Some(src.diststyle.clone()));
            distkey = distkey.or(src.distkey.clone());
            if sortkey.is_empty() {
                sortkey = src.sortkey.clone();
                sortkey_kind = src.sortkey_kind.clone();
            }
        }
        for c in &ct.columns {
            let cname = normalize(&c.name);
            if columns.iter().any(|x| x.name == cname) {
                return Err(SqlError::new("42701", format!("column \"{cname}\" specified more than once")));
            }
            let ty = RsType::from_sql(&c.data_type)?;
            let mut nullable = true;
            let mut default = None;
            for o in &c.options {
                match &o.option {
                    ColumnOption::NotNull => nullable = false,
                    ColumnOption::Default(e) => default = Some(e.to_string()),
                    ColumnOption::PrimaryKey(_) => {
                        nullable = false;
                        primary_key.push(cname.clone());
                    }
                    _ => {}
                }
            }
            columns.push(ColumnMeta {
                name: cname.clone(),
                ty,
                nullable,
                default,
                identity: attrs.identity.get(&cname).copied(),
                encode: attrs.encode.get(&cname).cloned(),
            });
        }
        for con in &ct.constraints {
            if let ast::TableConstraint::PrimaryKey(pk) = con {
                for col in &pk.columns {
                    let n = col.column.expr.to_string().trim_matches('"').to_ascii_lowercase();
                    primary_key.push(n.clone());
                    if let Some(c) = columns.iter_mut().find(|c| c.name == n) {
                        c.nullable = false;
                    }
                }
            }
        }
        if let Some(query) = &ct.query {
            let df = self.query((**query).clone()).await?;
            let schema_df = df.schema().as_arrow().clone();
            let batches = df.collect().await?;
            if columns.is_empty() {
                for f in schema_df.fields() {
                    // A character column keeps its declared type; a computed one is VARCHAR(256).
                    let ty = match RsType::from_arrow(f.data_type()) {
                        RsType::Varchar(_) => {
                            declared_char_type(f.metadata().get(TYPE_KEY)).unwrap_or(RsType::Varchar(256))
                        }
                        other => other,
                    };
                    let name = crate::dialect::output_name(f.name()).to_ascii_lowercase();
                    if columns.iter().any(|c: &ColumnMeta| c.name == name) {
                        return Err(SqlError::new("42701", format!("column \"{name}\" specified more than once")));
                    }
                    columns.push(ColumnMeta { name, ty, nullable: true, default: None, identity: None, encode: None });
                }
            }
            rows = Some(batches);
        }
        if columns.is_empty() {
            return Err(SqlError::new("42601", "syntax error at or near \")\""));
        }
        if let Some(k) = &distkey {
            if !columns.iter().any(|c| c.name == *k) {
                return Err(SqlError::new("42703", format!("column \"{k}\" named in DISTKEY does not exist")));
            }
        }
        for k in &sortkey {
            if !columns.iter().any(|c| c.name == *k) {
                return Err(SqlError::new("42703", format!("column \"{k}\" named in SORTKEY does not exist")));
            }
        }
        let diststyle = diststyle.map(|d| d.to_ascii_uppercase()).unwrap_or_else(|| {
            if distkey.is_some() {
                "KEY".into()
            } else {
                "AUTO".into()
            }
        });
        if !matches!(diststyle.as_str(), "AUTO" | "EVEN" | "KEY" | "ALL") {
            return Err(SqlError::syntax(&diststyle));
        }
        if diststyle == "KEY" && distkey.is_none() {
            return Err(SqlError::new("42601", "DISTSTYLE KEY requires a DISTKEY column"));
        }
        let id = st.catalog.new_id();
        let meta = TableMeta {
            id,
            columns,
            diststyle,
            distkey,
            sortkey,
            sortkey_kind,
            owner: self.user.clone(),
            primary_key,
            identity_next: BTreeMap::new(),
            segments: Vec::new(),
            grants: BTreeMap::new(),
            temporary,
        };
        st.catalog.schemas.get_mut(&schema).expect("checked").tables.insert(name.clone(), meta);
        st.data.insert(id, Arc::new(Vec::new()));
        fx.ddl = true;
        fx.dirty.insert(id);
        if temporary {
            self.temp_tables.push((schema.clone(), name.clone()));
        }
        if let Some(batches) = rows {
            let n = st.table(&schema, &name).expect("created").columns.len();
            let all: Vec<usize> = (0..n).collect();
            let rows = self.append(st, &schema, &name, &all, batches).await?;
            return Ok(Output::Command("SELECT".into(), Some(rows)));
        }
        Ok(Output::Command("CREATE TABLE".into(), None))
    }

    fn drop(
        &mut self,
        st: &mut DbState,
        kind: ObjectType,
        if_exists: bool,
        names: &[ObjectName],
        cascade: bool,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        let tag = match kind {
            ObjectType::Table => "DROP TABLE",
            ObjectType::View => "DROP VIEW",
            ObjectType::Schema => "DROP SCHEMA",
            other => return Err(SqlError::unsupported(format!("DROP {other} is not supported"))),
        };
        for n in names {
            let (schema, name) = object_name(n);
            match kind {
                ObjectType::Schema => {
                    let Some(s) = st.catalog.schemas.get(&name) else {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::new("3F000", format!("schema \"{name}\" does not exist")));
                    };
                    privileges::require_schema_owner(st, &self.user, &name)?;
                    if (!s.tables.is_empty() || !s.views.is_empty()) && !cascade {
                        return Err(SqlError::new(
                            "2BP01",
                            format!("cannot drop schema {name} because other objects depend on it"),
                        )
                        .with_detail("Use DROP ... CASCADE to drop the dependent objects too."));
                    }
                    let removed = st.catalog.schemas.remove(&name).expect("present");
                    for t in removed.tables.values() {
                        st.data.remove(&t.id);
                    }
                }
                ObjectType::Table => {
                    let schema = self.schema_of(schema, &name);
                    let Some(t) = st.table(&schema, &name).cloned() else {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::new("42P01", format!("table \"{name}\" does not exist")));
                    };
                    privileges::require_owner(st, &self.user, &schema, &name)?;
                    st.catalog.schemas.get_mut(&schema).expect("present").tables.remove(&name);
                    st.data.remove(&t.id);
                    self.temp_tables.retain(|(s, n)| !(s == &schema && n == &name));
                }
                _ => {
                    let schema = schema.unwrap_or_else(|| "public".into());
                    let present = st.catalog.schemas.get_mut(&schema).and_then(|s| s.views.remove(&name));
                    if present.is_none() && !if_exists {
                        return Err(SqlError::new("42P01", format!("view \"{name}\" does not exist")));
                    }
                }
            }
        }
        fx.ddl = true;
        Ok(Output::Command(tag.into(), None))
    }

    async fn alter_table(&mut self, st: &mut DbState, at: ast::AlterTable, fx: &mut Effects) -> SqlResult<Output> {
        let (schema, table) = match self.table_ref(st, &at.name) {
            Ok(r) => r,
            Err(_) if at.if_exists => return Ok(Output::Command("ALTER TABLE".into(), None)),
            Err(e) => return Err(e),
        };
        privileges::require_owner(st, &self.user, &schema, &table)?;
        let mut table = table;
        for op in at.operations {
            let meta = st.table(&schema, &table).cloned().expect("resolved");
            match op {
                AlterTableOperation::AddColumn { column_def, if_not_exists, .. } => {
                    let cname = normalize(&column_def.name);
                    if meta.column(&cname).is_some() {
                        if if_not_exists {
                            continue;
                        }
                        return Err(SqlError::new(
                            "42701",
                            format!("column \"{cname}\" of relation \"{table}\" already exists"),
                        ));
                    }
                    let ty = RsType::from_sql(&column_def.data_type)?;
                    let mut nullable = true;
                    let mut default = None;
                    for o in &column_def.options {
                        match &o.option {
                            ColumnOption::NotNull => nullable = false,
                            ColumnOption::Default(e) => default = Some(e.to_string()),
                            _ => {}
                        }
                    }
                    if !nullable && default.is_none() {
                        return Err(SqlError::new(
                            "0A000",
                            "ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression",
                        ));
                    }
                    let fill = match &default {
                        Some(d) => {
                            let b = self.query_sql(&format!("SELECT CAST(({d}) AS {})", sql_type(&ty))).await?;
                            b.first()
                                .filter(|b| b.num_rows() > 0)
                                .map(|b| ScalarValue::try_from_array(b.column(0), 0))
                                .transpose()?
                        }
                        None => None,
                    };
                    let mut new_meta = meta.clone();
                    new_meta.columns.push(ColumnMeta {
                        name: cname,
                        ty: ty.clone(),
                        nullable,
                        default,
                        identity: None,
                        encode: None,
                    });
                    let schema_ref = new_meta.arrow_schema();
                    let mut batches = Vec::new();
                    for b in st.batches(meta.id) {
                        let mut cols = b.columns().to_vec();
                        let a = match &fill {
                            Some(v) if !v.is_null() => cast_with_options(
                                &v.to_array_of_size(b.num_rows())?,
                                &ty.arrow(),
                                &CastOptions::default(),
                            )
                            .map_err(SqlError::internal)?,
                            _ => new_null_array(&ty.arrow(), b.num_rows()),
                        };
                        cols.push(a);
                        batches.push(RecordBatch::try_new(schema_ref.clone(), cols).map_err(SqlError::internal)?);
                    }
                    *st.table_mut(&schema, &table).expect("resolved") = new_meta;
                    st.replace(meta.id, batches);
                }
                AlterTableOperation::DropColumn { column_names, if_exists, .. } => {
                    for c in column_names {
                        let cname = normalize(&c);
                        let meta = st.table(&schema, &table).cloned().expect("resolved");
                        let Some((idx, _)) = meta.column(&cname) else {
                            if if_exists {
                                continue;
                            }
                            return Err(SqlError::new(
                                "42703",
                                format!("column \"{cname}\" of relation \"{table}\" does not exist"),
                            ));
                        };
                        if meta.distkey.as_deref() == Some(cname.as_str()) || meta.sortkey.contains(&cname) {
                            return Err(SqlError::new(
                                "0A000",
                                format!("cannot drop a DISTKEY or SORTKEY column \"{cname}\""),
                            ));
                        }
                        if meta.columns.len() == 1 {
                            return Err(SqlError::new("0A000", "cannot drop the only column of a table"));
                        }
                        let mut new_meta = meta.clone();
                        new_meta.columns.remove(idx);
                        let schema_ref = new_meta.arrow_schema();
                        let keep: Vec<usize> = (0..meta.columns.len()).filter(|i| *i != idx).collect();
                        let batches = st
                            .batches(meta.id)
                            .into_iter()
                            .map(|b| {
                                let cols = keep.iter().map(|i| b.column(*i).clone()).collect();
                                RecordBatch::try_new(schema_ref.clone(), cols).map_err(SqlError::internal)
                            })
                            .collect::<SqlResult<Vec<_>>>()?;
                        *st.table_mut(&schema, &table).expect("resolved") = new_meta;
                        st.replace(meta.id, batches);
                    }
                }
                AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                    let old = normalize(&old_column_name);
                    let new = normalize(&new_column_name);
                    if meta.column(&old).is_none() {
                        return Err(SqlError::new("42703", format!("column \"{old}\" does not exist")));
                    }
                    if meta.column(&new).is_some() {
                        return Err(SqlError::new(
                            "42701",
                            format!("column \"{new}\" of relation \"{table}\" already exists"),
                        ));
                    }
                    let mut new_meta = meta.clone();
                    for c in new_meta.columns.iter_mut().filter(|c| c.name == old) {
                        c.name = new.clone();
                    }
                    if new_meta.distkey.as_deref() == Some(old.as_str()) {
                        new_meta.distkey = Some(new.clone());
                    }
                    for k in new_meta.sortkey.iter_mut().filter(|k| **k == old) {
                        *k = new.clone();
                    }
                    let schema_ref = new_meta.arrow_schema();
                    let batches = st
                        .batches(meta.id)
                        .into_iter()
                        .map(|b| {
                            RecordBatch::try_new(schema_ref.clone(), b.columns().to_vec()).map_err(SqlError::internal)
                        })
                        .collect::<SqlResult<Vec<_>>>()?;
                    *st.table_mut(&schema, &table).expect("resolved") = new_meta;
                    st.replace(meta.id, batches);
                }
                AlterTableOperation::RenameTable { table_name } => {
                    let new = match table_name {
                        ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => object_name(&n).1,
                    };
                    let s = st.catalog.schemas.get_mut(&schema).expect("resolved");
                    if s.tables.contains_key(&new) || s.views.contains_key(&new) {
                        return Err(SqlError::new("42P07", format!("relation \"{new}\" already exists")));
                    }
                    let m = s.tables.remove(&table).expect("resolved");
                    s.tables.insert(new.clone(), m);
                    table = new;
                }
                AlterTableOperation::OwnerTo { new_owner } => {
                    let owner = new_owner.to_string().trim_matches('"').to_string();
                    if !st.catalog.users.contains_key(&owner) {
                        return Err(SqlError::new("42704", format!("user \"{owner}\" does not exist")));
                    }
                    st.table_mut(&schema, &table).expect("resolved").owner = owner;
                }
                other => return Err(SqlError::unsupported(format!("ALTER TABLE {other} is not supported"))),
            }
            fx.dirty.insert(meta.id);
        }
        fx.ddl = true;
        Ok(Output::Command("ALTER TABLE".into(), None))
    }

    /// The query id (as STL_QUERY shows it) of the last statement run.
    pub fn last_query_id(&self) -> i64 {
        self.last_query
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
        }
    }

    /// UNLOAD: the query runs as any query of this session (its privileges checked), and its
    /// rows are written to S3 as the statement's credentials allow.
    async fn unload(&mut self, spec: UnloadSpec) -> SqlResult<Output> {
        let (query, start) = self.start_logged()?;
        let out = self.unload_rows(&spec).await;
        self.end_logged(query, start, &spec.text, out.is_err());
        Ok(Output::Command("UNLOAD".into(), Some(out?)))
    }

    /// A statement run outside `execute` (COPY, UNLOAD) begins: refused in a failed
    /// transaction, else given its query id and start time.
    fn start_logged(&mut self) -> SqlResult<(i64, i64)> {
        if self.transaction_failed() {
            return Err(SqlError::aborted());
        }
        self.last_query = self.wh.new_query_id();
        Ok((self.last_query, chrono::Utc::now().timestamp_micros()))
    }

    /// A statement ends: a failure aborts the open transaction, and STL_QUERY records it.
    fn end_logged(&mut self, query: i64, start_us: i64, text: &str, failed: bool) {
        if let Some(tx) = &mut self.tx {
            tx.failed |= failed;
        }
        self.wh.log_query(QueryRecord {
            query,
            pid: self.pid,
            user: self.user.clone(),
            text: text.to_string(),
            start_us,
            end_us: chrono::Utc::now().timestamp_micros(),
            aborted: failed,
        });
    }

    async fn unload_rows(&mut self, spec: &UnloadSpec) -> SqlResult<usize> {
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let mut parsed = self.parse(&spec.query)?;
        let statement = match (parsed.pop(), parsed.is_empty()) {
            (Some(Parsed { statement: Statement::Query(q), .. }), true) => q,
            _ => return Err(SqlError::new("42601", "UNLOAD takes one SELECT statement")),
        };
        let df = self.query(*statement).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let rows = batches.iter().map(|b| b.num_rows()).sum();
        let external = self
            .wh
            .external()
            .ok_or_else(|| SqlError::unsupported("UNLOAD to S3 needs the warehouse to run in a cluster"))?;
        let store = external.open(&spec.credentials, spec.region.as_deref(), &self.user).await?;
        crate::unload::write(spec, &*store, schema, batches).await?;
        Ok(rows)
    }

    /// COPY, recorded in STL_QUERY like any statement; its failure aborts a transaction.
    async fn copy(&mut self, spec: CopySpec) -> SqlResult<Output> {
        let (query, start) = self.start_logged()?;
        let out = self.copy_rows(&spec, query).await;
        self.end_logged(query, start, &spec.text, out.is_err());
        let rows = out?;
        self.last_copy.0.store(query, std::sync::atomic::Ordering::Relaxed);
        self.last_copy.1.store(rows as i64, std::sync::atomic::Ordering::Relaxed);
        Ok(Output::Command("COPY".into(), Some(rows)))
    }

    /// Reads the files, converts their rows, and appends them in one commit (or to the open
    /// transaction); nothing is appended when more rows fail than MAXERROR allows.
    async fn copy_rows(&mut self, spec: &CopySpec, query: i64) -> SqlResult<usize> {
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let st = self.view.get();
        let schema = self.schema_of(spec.schema.clone(), &spec.table);
        let meta = st.table(&schema, &spec.table).cloned().ok_or_else(|| SqlError::relation_missing(&spec.table))?;
        privileges::require_table(&st, &self.user, &schema, &spec.table, Privilege::Insert)?;
        let targets: Vec<usize> = if spec.columns.is_empty() {
            (0..meta.columns.len()).filter(|i| spec.explicit_ids || meta.columns[*i].identity.is_none()).collect()
        } else {
            let mut t = Vec::new();
            for c in &spec.columns {
                let (i, _) = meta.column(c).ok_or_else(|| {
                    SqlError::new("42703", format!("column \"{c}\" of relation \"{}\" does not exist", spec.table))
                })?;
                t.push(i);
            }
            t
        };
        let columns: Arc<Vec<ColumnMeta>> = Arc::new(targets.iter().map(|i| meta.columns[*i].clone()).collect());
        let external = self
            .wh
            .external()
            .ok_or_else(|| SqlError::unsupported("COPY from S3 needs the warehouse to run in a cluster"))?;
        let store = external.open(&spec.credentials, spec.region.as_deref(), &self.user).await?;
        let files = copy::files(spec, &*store).await?;
        let json_paths = match &spec.format {
            copy::Format::Json(copy::JsonMapping::Paths(url)) | copy::Format::Avro(copy::JsonMapping::Paths(url)) => {
                let (b, k) = copy::s3_url(url)?;
                Some(Arc::new(copy::json_paths(&store.get(&b, &k).await?)?))
            }
            _ => None,
        };
        let spec_arc = Arc::new(spec.clone());
        let mut tasks = Vec::with_capacity(files.len());
        for (bucket, key) in files {
            let body = store.get(&bucket, &key).await?;
            let (spec, columns, paths) = (spec_arc.clone(), columns.clone(), json_paths.clone());
            let file = format!("s3://{bucket}/{key}");
            tasks.push(tokio::task::spawn_blocking(move || {
                copy::Reader {
                    spec: &spec,
                    columns: &columns,
                    file: &file,
                    json_paths: paths.as_deref().map(|p| &p[..]),
                }
                .read_file(body)
            }));
        }
        let mut results = Vec::with_capacity(tasks.len());
        for t in tasks {
            results.push(t.await.map_err(SqlError::internal)??);
        }
        let now = chrono::Utc::now().timestamp_micros();
        // Redshift stops at the first error past MAXERROR: that many are reported.
        let mut row_errors: Vec<&copy::RowError> = results.iter().flat_map(|r| r.errors.iter()).collect();
        row_errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        row_errors.truncate(spec.max_error + 1);
        let errors: Vec<LoadError> = row_errors
            .into_iter()
            .map(|e| LoadError {
                query,
                pid: self.pid,
                user: self.user.clone(),
                table_id: meta.id,
                time_us: now,
                filename: e.file.clone(),
                line_number: e.line,
                colname: e.column.clone(),
                coltype: e.column_type.clone(),
                col_length: e.column_length.clone(),
                position: e.position,
                raw_line: e.raw_line.clone(),
                raw_field_value: e.raw_value.clone(),
                err_code: e.code,
                err_reason: e.reason.clone(),
            })
            .collect();
        let commits = |committed: bool| -> Vec<LoadCommit> {
            results
                .iter()
                .map(|r| LoadCommit {
                    query,
                    user: self.user.clone(),
                    filename: r.file.clone(),
                    lines_scanned: r.lines,
                    errors: r.errors.len() as i64,
                    time_us: now,
                    committed,
                })
                .collect()
        };
        if errors.len() > spec.max_error {
            let first = errors[0].clone();
            self.wh.log_load(errors, commits(false));
            return Err(SqlError::new(
                "XX000",
                format!("Load into table '{}' failed.  Check 'stl_load_errors' system table for details.", spec.table),
            )
            .with_detail(format!(
                "error:  Load into table '{}' failed.  Check 'stl_load_errors' system table for details.\ncode:      {}\ncontext:   {}\nquery:     {query}\nlocation:  {}:{}",
                spec.table, first.err_code, first.err_reason, first.filename, first.line_number
            )));
        }
        if spec.no_load {
            // NOLOAD checks the files and loads nothing.
            self.wh.log_load(errors, commits(false));
            return Ok(0);
        }
        let batches: Vec<RecordBatch> = results.iter().filter_map(|r| r.batch.clone()).collect();
        let table = spec.table.clone();
        let rows = if let Some(tx) = &self.tx {
            let mut work = tx.state.clone();
            let rows = self.append(&mut work, &schema, &table, &targets, batches).await?;
            let tx = self.tx.as_mut().expect("in a transaction");
            tx.state = work;
            tx.dirty.insert(meta.id);
            self.view.set(Arc::new(tx.state.clone()));
            rows
        } else {
            let wh = self.wh.clone();
            let _one = wh.commit_lock.lock().await;
            let mut work = (*wh.committed()).clone();
            if work.table(&schema, &table).map(|t| t.id) != Some(meta.id) {
                return Err(SqlError::relation_missing(&table));
            }
            let rows = self.append(&mut work, &schema, &table, &targets, batches).await?;
            wh.commit(work, &HashSet::from([meta.id])).await?;
            self.view.set(wh.committed());
            rows
        };
        self.wh.log_load(errors, commits(true));
        Ok(rows)
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

/// The positions of an INSERT's target columns (all, in order, when none are named).
fn target_columns(meta: &TableMeta, table: &str, columns: &[ObjectName]) -> SqlResult<Vec<usize>> {
    if columns.is_empty() {
        return Ok((0..meta.columns.len()).collect());
    }
    columns
        .iter()
        .map(|c| {
            let n = column_name(c);
            meta.column(&n)
                .map(|(i, _)| i)
                .ok_or_else(|| SqlError::new("42703", format!("column \"{n}\" of relation \"{table}\" does not exist")))
        })
        .collect()
}

/// The last part of a column reference, folded.
fn column_name(c: &ObjectName) -> String {
    c.0.last().and_then(|p| p.as_ident()).map(normalize).unwrap_or_default()
}

/// Splits off the trailing `__nuage_hit` column (1 where a row was touched): how many rows
/// it marks, and the batches without it.
fn split_hits(batches: Vec<RecordBatch>) -> SqlResult<(usize, Vec<RecordBatch>)> {
    let mut hits = 0usize;
    let mut kept = Vec::with_capacity(batches.len());
    for b in batches {
        let last = b.num_columns() - 1;
        let h =
            cast_with_options(b.column(last), &datafusion::arrow::datatypes::DataType::Int64, &CastOptions::default())
                .map_err(SqlError::internal)?;
        if let Some(h) = h.as_any().downcast_ref::<Int64Array>() {
            hits += h.iter().flatten().sum::<i64>() as usize;
        }
        kept.push(b.project(&(0..last).collect::<Vec<_>>()).map_err(SqlError::internal)?);
    }
    Ok((hits, kept))
}

/// SET assignments as `column → CAST((value) AS type)`, each column checked to exist.
fn assignments(meta: &TableMeta, table: &str, list: &[ast::Assignment]) -> SqlResult<BTreeMap<String, String>> {
    let mut assigned = BTreeMap::new();
    for a in list {
        let ast::AssignmentTarget::ColumnName(c) = &a.target else {
            return Err(SqlError::unsupported("tuple assignments are not supported"));
        };
        let col = column_name(c);
        let Some((_, cm)) = meta.column(&col) else {
            return Err(SqlError::new("42703", format!("column \"{col}\" of relation \"{table}\" does not exist")));
        };
        assigned.insert(col, format!("CAST(({}) AS {})", a.value, sql_type(&cm.ty)));
    }
    Ok(assigned)
}

/// The character type a column declared, read back from its field metadata.
fn declared_char_type(meta: Option<&String>) -> Option<RsType> {
    let m = meta?;
    let n: u32 = m.split('(').nth(1)?.trim_end_matches(')').parse().ok()?;
    if m.starts_with("character varying") {
        Some(RsType::Varchar(n))
    } else if m.starts_with("character") {
        Some(RsType::Char(n))
    } else {
        None
    }
}

impl Drop for Session {
    fn drop(&mut self) {
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
