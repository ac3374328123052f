//! The PostgreSQL wire protocol, as Redshift speaks it: MD5 password authentication,
//! Redshift's server parameters, the simple and extended query protocols (parameters bound
//! by substituting typed literals), and results encoded from Arrow by arrow-pg. Each
//! connection has its own handlers and session.
use crate::dialect::{Parsed, TableAttributes};
use crate::engine::Warehouse;
use crate::error::{SqlError, SqlResult};
use crate::session::Special;
use crate::session::{Output, Session};
use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type};
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::sql::sqlparser::ast::{self, Expr, Statement, Value, VisitMut, VisitorMut};
use datafusion_pg_catalog::sql::PostgresCompatibilityParser;
use futures::Sink;
use pgwire::api::auth::md5pass::Md5PasswordAuthStartupHandler;
use pgwire::api::auth::{AuthSource, LoginInfo, Password, ServerParameterProvider};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, ConnectionManager, PgWireServerHandlers, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::types::format::FormatOptions;
use std::collections::HashMap;
use std::fmt::Debug;
use std::ops::ControlFlow;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// A prepared statement: its text, and what parsing and planning learnt of it.
#[derive(Clone, Debug)]
pub struct Prepared {
    sql: String,
    inner: Arc<PreparedInner>,
}

#[derive(Debug)]
struct PreparedInner {
    statement: Option<Statement>,
    attributes: TableAttributes,
    special: Option<Special>,
    schema: Option<Arc<Schema>>,
    params: Vec<Option<DataType>>,
}

/// Checks passwords against the warehouse's users and temporary credentials.
#[derive(Debug)]
struct WarehouseAuth {
    wh: Arc<Warehouse>,
}

#[async_trait]
impl AuthSource for WarehouseAuth {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default().to_string();
        let database = login.database().unwrap_or_default();
        let db = self.wh.database();
        if !database.is_empty() && database != db {
            return Err(SqlError::new("3D000", format!("database \"{database}\" does not exist")).into());
        }
        let salt: [u8; 4] = rand::random();
        // The client answers md5(md5(password || user) || salt).
        let Some(hash) = self.wh.login_hash(&user) else {
            return Err(SqlError::new("28000", format!("password authentication failed for user \"{user}\"")).into());
        };
        use md5::Digest;
        let mut bytes = hash.as_bytes().to_vec();
        bytes.extend_from_slice(&salt);
        let expected = format!("md5{}", hex::encode(md5::Md5::digest(&bytes)));
        Ok(Password::new(Some(salt.to_vec()), expected.into_bytes()))
    }
}

/// The parameters a Redshift endpoint reports at startup.
struct RedshiftParameters;

impl ServerParameterProvider for RedshiftParameters {
    fn server_parameters<C: ClientInfo>(&self, client: &C) -> Option<HashMap<String, String>> {
        let user = client.metadata().get("user").cloned().unwrap_or_default();
        Some(HashMap::from([
            ("server_version".into(), "8.0.2".into()),
            ("server_encoding".into(), "UNICODE".into()),
            ("client_encoding".into(), "UTF8".into()),
            ("DateStyle".into(), "ISO, MDY".into()),
            ("TimeZone".into(), "UTC".into()),
            ("integer_datetimes".into(), "on".into()),
            ("standard_conforming_strings".into(), "on".into()),
            ("is_superuser".into(), "off".into()),
            ("padb_revision".into(), "77467".into()),
            ("padb_version".into(), "1.0.77467".into()),
            ("session_authorization".into(), user),
            ("application_name".into(), client.metadata().get("application_name").cloned().unwrap_or_default()),
        ]))
    }
}

/// One connection: its handlers share the session.
pub struct Connection {
    wh: Arc<Warehouse>,
    session: Mutex<Option<Session>>,
    pg_parser: Arc<PostgresCompatibilityParser>,
    startup: Arc<Md5PasswordAuthStartupHandler<WarehouseAuth, RedshiftParameters>>,
    cancel: Arc<DefaultCancelHandler>,
}

struct Handlers(Arc<Connection>);

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(Handlers(self.0.clone()))
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(Handlers(self.0.clone()))
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.0.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.0.cancel.clone()
    }

    fn error_handler(&self) -> Arc<impl pgwire::api::ErrorHandler> {
        Arc::new(RedshiftErrors)
    }
}

/// Errors the protocol layer raises, worded as Redshift words them.
struct RedshiftErrors;

impl pgwire::api::ErrorHandler for RedshiftErrors {
    fn on_error<C: ClientInfo>(&self, _client: &C, error: &mut PgWireError) {
        if let PgWireError::InvalidPassword(user) = error {
            let info = pgwire::error::ErrorInfo::new(
                "FATAL".into(),
                "28000".into(),
                format!("password authentication failed for user \"{user}\""),
            );
            *error = PgWireError::UserError(Box::new(info));
        }
    }
}

/// Accepts connections until `shutdown` fires; each runs until its client leaves.
pub async fn serve(wh: Arc<Warehouse>, listener: TcpListener, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let pg_parser = Arc::new(PostgresCompatibilityParser::new());
    let connections = Arc::new(ConnectionManager::new());
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, peer)) = accepted else { continue };
                let conn = Arc::new(Connection {
                    wh: wh.clone(),
                    session: Mutex::new(None),
                    pg_parser: pg_parser.clone(),
                    startup: Arc::new(
                        Md5PasswordAuthStartupHandler::new(Arc::new(WarehouseAuth { wh: wh.clone() }), Arc::new(RedshiftParameters))
                            .with_connection_manager(connections.clone()),
                    ),
                    cancel: Arc::new(DefaultCancelHandler::new(connections.clone())),
                });
                let admission = wh.admission();
                tasks.spawn(async move {
                    // A connection the cluster's network rules do not let in is dropped at once.
                    if let Some(a) = admission {
                        if !a.admits(peer).await {
                            tracing::info!(%peer, "SQL connection refused by the cluster's security groups");
                            return;
                        }
                    }
                    if let Err(e) = pgwire::tokio::process_socket(socket, None, Handlers(conn)).await {
                        tracing::debug!(error = %e, "SQL connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
        while tasks.try_join_next().is_some() {}
    }
    // A paused or deleted cluster drops its connections.
    tasks.abort_all();
}

fn sql_error(e: SqlError) -> PgWireError {
    e.into()
}

fn user_of<C: ClientInfo>(wh: &Warehouse, client: &C) -> String {
    wh.login_user(client.metadata().get("user").map(|s| s.as_str()).unwrap_or_default())
}

impl Connection {
    async fn with_session<C: ClientInfo, T>(
        &self,
        client: &C,
        f: impl AsyncFnOnce(&mut Session) -> T,
    ) -> PgWireResult<T> {
        let mut guard = self.session.lock().await;
        if guard.is_none() {
            *guard = Some(
                Session::new(self.wh.clone(), &user_of(&self.wh, client), self.pg_parser.clone()).map_err(sql_error)?,
            );
        }
        Ok(f(guard.as_mut().expect("just set")).await)
    }
}

/// The response a statement's output becomes.
async fn respond<C: ClientInfo>(client: &C, out: Output, format: &Format) -> PgWireResult<Response> {
    Ok(match out {
        Output::Rows(df) => {
            let opts = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            // Redshift's default is 0 (15 significant digits), not PostgreSQL 12's 1.
            let extra_float_digits =
                client.metadata().get("extra_float_digits").and_then(|v| v.parse().ok()).unwrap_or(0);
            Response::Query(encode_rows(df, format, opts, extra_float_digits).await?)
        }
        Output::Command(tag, rows) => {
            let t = match (tag.as_str(), rows) {
                ("INSERT 0", Some(n)) => Tag::new("INSERT").with_oid(0).with_rows(n),
                (_, Some(n)) => Tag::new(&tag).with_rows(n),
                _ => Tag::new(&tag),
            };
            Response::Execution(t)
        }
        Output::Begin => Response::TransactionStart(Tag::new("BEGIN")),
        Output::Commit => Response::TransactionEnd(Tag::new("COMMIT")),
        Output::Rollback => Response::TransactionEnd(Tag::new("ROLLBACK")),
    })
}

/// RowDescription for a result: PostgreSQL's type OIDs, and the names the client asked for
/// (without the suffixes that keep DataFusion's names unique).
fn pg_fields(schema: &Schema, format: &Format, opts: Arc<FormatOptions>) -> PgWireResult<Vec<FieldInfo>> {
    Ok(arrow_schema_to_pg_fields(schema, format, None)?
        .into_iter()
        .map(|f| {
            // VARBYTE is Redshift's own type, not PostgreSQL's bytea.
            let ty = if *f.datatype() == pgwire::api::Type::BYTEA {
                pgwire::api::Type::new(
                    "varbyte".into(),
                    crate::pg_catalog::VARBYTE_OID as u32,
                    postgres_types::Kind::Simple,
                    "pg_catalog".into(),
                )
            } else {
                f.datatype().clone()
            };
            FieldInfo::new(crate::dialect::output_name(f.name()).to_string(), None, None, ty, f.format())
                .with_format_options(opts.clone())
        })
        .collect())
}

/// A query's rows as DataRows; text columns carry Redshift's spelling of floats and times.
async fn encode_rows(
    df: DataFrame,
    format: &Format,
    opts: Arc<FormatOptions>,
    extra_float_digits: i8,
) -> PgWireResult<QueryResponse> {
    use futures::StreamExt;
    let fields = Arc::new(pg_fields(df.schema().as_arrow(), format, opts)?);
    let stream = df.execute_stream().await.map_err(|e| PgWireError::from(SqlError::from(e)))?;
    let for_rows = fields.clone();
    let rows = stream
        .map(move |batch| {
            let rows: Box<dyn Iterator<Item = PgWireResult<pgwire::messages::data::DataRow>> + Send + Sync> =
                match batch
                    .map_err(|e| PgWireError::from(SqlError::from(e)))
                    .and_then(|b| as_redshift_text(b, &for_rows, extra_float_digits))
                {
                    Ok(b) => encode_recordbatch(for_rows.clone(), b),
                    Err(e) => Box::new(std::iter::once(Err(e))),
                };
            futures::stream::iter(rows)
        })
        .flatten();
    Ok(QueryResponse::new(fields, rows))
}

/// The batch with its text-format float and time columns as Redshift's text; the fields keep
/// their types, so clients still parse them as numbers and timestamps.
fn as_redshift_text(batch: RecordBatch, fields: &[FieldInfo], extra_float_digits: i8) -> PgWireResult<RecordBatch> {
    let mut changed = false;
    let columns: Vec<_> = batch
        .columns()
        .iter()
        .zip(fields)
        .map(|(c, f)| match f.format() {
            FieldFormat::Text => match crate::text::redshift_text(c, extra_float_digits) {
                Some(t) => {
                    changed = true;
                    t
                }
                None => c.clone(),
            },
            FieldFormat::Binary => c.clone(),
        })
        .collect();
    if !changed {
        return Ok(batch);
    }
    let schema = Schema::new(
        batch
            .schema()
            .fields()
            .iter()
            .zip(&columns)
            .map(|(f, c)| f.as_ref().clone().with_data_type(c.data_type().clone()))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), columns).map_err(|e| PgWireError::ApiError(Box::new(e)))
}

fn error_response(e: SqlError) -> Response {
    wire_error_response(PgWireError::from(e))
}

/// An error while answering: its own SQLSTATE when it has one (an error met while rows were
/// encoded already carries it), else XX000.
fn wire_error_response(e: PgWireError) -> Response {
    match e {
        PgWireError::UserError(info) => Response::Error(info),
        other => {
            Response::Error(Box::new(pgwire::error::ErrorInfo::new("ERROR".into(), "XX000".into(), other.to_string())))
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Handlers {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let client_ref: &C = client;
        self.0
            .with_session(client_ref, async |s: &mut Session| {
                let pieces = match crate::dialect::split_statements(query) {
                    Ok(p) => p,
                    Err(e) => return vec![error_response(e)],
                };
                if pieces.is_empty() {
                    return vec![Response::EmptyQuery];
                }
                // Each statement runs in turn; the first failure ends the query string.
                let mut out = Vec::new();
                for piece in pieces {
                    let results: Vec<SqlResult<Output>> = match Special::parse(&piece) {
                        Some(Ok(c)) => vec![s.special(c).await],
                        Some(Err(e)) => vec![Err(e)],
                        None => match s.parse(&piece) {
                            Ok(statements) => {
                                let mut r = Vec::new();
                                for p in statements {
                                    let o = s.execute(p).await;
                                    let failed = o.is_err();
                                    r.push(o);
                                    if failed {
                                        break;
                                    }
                                }
                                r
                            }
                            Err(e) => vec![Err(e)],
                        },
                    };
                    for result in results {
                        match result {
                            Ok(o) => match respond(client_ref, o, &Format::UnifiedText).await {
                                Ok(r) => out.push(r),
                                Err(e) => {
                                    out.push(wire_error_response(e));
                                    return out;
                                }
                            },
                            Err(e) => {
                                out.push(error_response(e));
                                return out;
                            }
                        }
                    }
                }
                out
            })
            .await
    }
}

#[async_trait]
impl QueryParser for Connection {
    type Statement = Prepared;

    async fn parse_sql<C>(&self, client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        if let Some(cmd) = Special::parse(sql) {
            let cmd = cmd.map_err(sql_error)?;
            let inner = PreparedInner {
                statement: None,
                attributes: TableAttributes::default(),
                special: Some(cmd),
                schema: None,
                params: vec![],
            };
            return Ok(Some(Prepared { sql: sql.to_string(), inner: Arc::new(inner) }));
        }
        let prepared = self
            .with_session(client, async |s: &mut Session| -> Result<Option<Prepared>, SqlError> {
                let mut parsed = s.parse(sql)?;
                if parsed.len() > 1 {
                    return Err(SqlError::new("42601", "cannot insert multiple commands into a prepared statement"));
                }
                let Some(Parsed { statement, attributes, .. }) = parsed.pop() else { return Ok(None) };
                let (schema, params) = match s.describe(&statement).await? {
                    Some((schema, params)) => (Some(schema), params),
                    None => (None, count_placeholders(&statement)),
                };
                let inner = PreparedInner { statement: Some(statement), attributes, special: None, schema, params };
                Ok(Some(Prepared { sql: sql.to_string(), inner: Arc::new(inner) }))
            })
            .await?;
        prepared.map_err(sql_error)
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt
            .inner
            .params
            .iter()
            .map(|t| t.as_ref().and_then(|t| into_pg_type(t).ok()).unwrap_or(Type::UNKNOWN))
            .collect())
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        match &stmt.inner.schema {
            Some(schema) => {
                pg_fields(schema, format.unwrap_or(&Format::UnifiedText), Arc::new(FormatOptions::default()))
            }
            None => Ok(vec![]),
        }
    }
}

/// Placeholders `$n` of a statement DataFusion does not plan (DML, DDL): their count.
fn count_placeholders(statement: &Statement) -> Vec<Option<DataType>> {
    struct Count(usize);
    impl datafusion::sql::sqlparser::ast::Visitor for Count {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let Value::Placeholder(p) = &v.value {
                    if let Ok(n) = p.trim_start_matches('$').parse::<usize>() {
                        self.0 = self.0.max(n);
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut c = Count(0);
    let _ = datafusion::sql::sqlparser::ast::Visit::visit(statement, &mut c);
    vec![None; c.0]
}

/// A bound parameter as a SQL literal of its type.
fn literal(portal: &Portal<Prepared>, idx: usize, ty: &Type) -> PgWireResult<Expr> {
    let null = || Expr::Value(Value::Null.with_empty_span());
    let number = |s: String| Expr::Value(Value::Number(s, false).with_empty_span());
    let string = |s: String| Expr::Value(Value::SingleQuotedString(s).with_empty_span());
    let cast = |e: Expr, to: ast::DataType| Expr::Cast {
        kind: ast::CastKind::Cast,
        expr: Box::new(e),
        data_type: to,
        array: false,
        format: None,
    };
    let Some(Some(raw)) = portal.parameters.get(idx) else {
        return Ok(null());
    };
    if !portal.parameter_format.is_binary(idx) {
        let text = String::from_utf8_lossy(raw).to_string();
        return Ok(match *ty {
            Type::INT2 | Type::INT4 | Type::INT8 | Type::FLOAT4 | Type::FLOAT8 | Type::NUMERIC | Type::OID => {
                if text.parse::<f64>().is_err() {
                    return Err(SqlError::new(
                        "22P02",
                        format!("invalid input syntax for type {}: \"{text}\"", ty.name()),
                    )
                    .into());
                }
                number(text)
            }
            Type::BOOL => Expr::Value(
                Value::Boolean(matches!(text.to_ascii_lowercase().as_str(), "t" | "true" | "1" | "y" | "yes" | "on"))
                    .with_empty_span(),
            ),
            Type::DATE => cast(string(text), ast::DataType::Date),
            Type::TIMESTAMP => cast(string(text), ast::DataType::Timestamp(None, ast::TimezoneInfo::None)),
            Type::TIMESTAMPTZ => cast(string(text), ast::DataType::Timestamp(None, ast::TimezoneInfo::WithTimeZone)),
            _ => string(text),
        });
    }
    Ok(match *ty {
        Type::BOOL => portal
            .parameter::<bool>(idx, ty)?
            .map(|b| Expr::Value(Value::Boolean(b).with_empty_span()))
            .unwrap_or_else(null),
        Type::INT2 => portal.parameter::<i16>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null),
        Type::INT4 => portal.parameter::<i32>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null),
        Type::INT8 => portal.parameter::<i64>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null),
        Type::FLOAT4 => portal.parameter::<f32>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null),
        Type::FLOAT8 => portal.parameter::<f64>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null),
        Type::NUMERIC => {
            portal.parameter::<rust_decimal::Decimal>(idx, ty)?.map(|v| number(v.to_string())).unwrap_or_else(null)
        }
        Type::DATE => portal
            .parameter::<chrono::NaiveDate>(idx, ty)?
            .map(|v| cast(string(v.to_string()), ast::DataType::Date))
            .unwrap_or_else(null),
        Type::TIMESTAMP => portal
            .parameter::<chrono::NaiveDateTime>(idx, ty)?
            .map(|v| cast(string(v.to_string()), ast::DataType::Timestamp(None, ast::TimezoneInfo::None)))
            .unwrap_or_else(null),
        Type::TIMESTAMPTZ => portal
            .parameter::<chrono::DateTime<chrono::FixedOffset>>(idx, ty)?
            .map(|v| cast(string(v.to_rfc3339()), ast::DataType::Timestamp(None, ast::TimezoneInfo::WithTimeZone)))
            .unwrap_or_else(null),
        _ => string(String::from_utf8_lossy(raw).to_string()),
    })
}

/// A parameter's type: as the client declared it at Parse, else as the server inferred it.
fn param_type(declared: &[Option<Type>], inferred: &[Type], i: usize) -> Type {
    declared.get(i).cloned().flatten().or_else(|| inferred.get(i).cloned()).unwrap_or(Type::UNKNOWN)
}

/// Replaces `$n` placeholders with the bound values.
fn bind(statement: &mut Statement, values: &[Expr]) {
    struct Bind<'a>(&'a [Expr]);
    impl VisitorMut for Bind<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
            if let Expr::Value(v) = e {
                if let Value::Placeholder(p) = &v.value {
                    if let Some(value) =
                        p.trim_start_matches('$').parse::<usize>().ok().and_then(|n| self.0.get(n.wrapping_sub(1)))
                    {
                        *e = value.clone();
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = statement.visit(&mut Bind(values));
}

#[async_trait]
impl ExtendedQueryHandler for Handlers {
    type Statement = Prepared;
    type QueryParser = Connection;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.0.clone()
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let server = self.0.get_parameter_types(&target.statement)?;
        let n = server.len().max(target.parameter_types.len());
        let params = (0..n)
            .map(|i| param_type(&target.parameter_types, &server, i))
            .map(|t| if t == Type::UNKNOWN { Type::VARCHAR } else { t })
            .collect();
        Ok(DescribeStatementResponse::new(params, self.0.get_result_schema(&target.statement, None)?))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        target: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(DescribePortalResponse::new(
            self.0.get_result_schema(&target.statement.statement, Some(&target.result_column_format))?,
        ))
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = &portal.statement.statement;
        let inner = prepared.inner.clone();
        let prepared_sql = prepared.sql.clone();
        let declared = &portal.statement.parameter_types;
        let server = self.0.get_parameter_types(prepared)?;
        let mut values = Vec::with_capacity(portal.parameter_len());
        for i in 0..portal.parameter_len() {
            let ty = param_type(declared, &server, i);
            match literal(portal, i, &ty) {
                Ok(v) => values.push(v),
                Err(PgWireError::UserError(info)) => return Ok(Response::Error(info)),
                Err(e) => return Err(e),
            }
        }
        let client_ref: &C = client;
        let format = portal.result_column_format.clone();
        self.0
            .with_session(client_ref, async |s: &mut Session| {
                if let Some(cmd) = &inner.special {
                    return match s.special(cmd.clone()).await {
                        Ok(o) => respond(client_ref, o, &format).await.unwrap_or_else(wire_error_response),
                        Err(e) => error_response(e),
                    };
                }
                let Some(statement) = &inner.statement else { return Response::EmptyQuery };
                let mut statement = statement.clone();
                bind(&mut statement, &values);
                match s
                    .execute(Parsed { statement, attributes: inner.attributes.clone(), text: prepared_sql.clone() })
                    .await
                {
                    Ok(o) => respond(client_ref, o, &format).await.unwrap_or_else(wire_error_response),
                    Err(e) => error_response(e),
                }
            })
            .await
    }
}

impl Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Connection")
    }
}
