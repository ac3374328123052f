//! The Redshift Data API (json protocol, botocore's `redshift-data` model): SQL sent over
//! HTTPS instead of the wire. A statement runs in the background on its cluster's warehouse
//! as the database user the caller may get credentials for; its status and typed result are
//! kept in the store for 24 hours (they survive a restart) and only its caller sees them.
use crate::Redshift;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::redshift_data as m;
use nuage_protocol::redshift_data::errors::Error as E;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use nuage_warehouse::session::{Outcome, Session};
use nuage_warehouse::types::RsType;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

const STATEMENTS: JsonTable = TableDefinition::new("redshift_data_statements");
/// How long results are kept, as on AWS.
const RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Rows per page of GetStatementResult.
const PAGE_ROWS: usize = 10_000;

/// One part of a statement (the `n`th, from 0) as DescribeStatement's sub-statement fields.
macro_rules! part_fields {
    ($shape:ident, $s:expr, $p:expr, $n:expr, $duration:expr) => {
        m::$shape {
            id: Some(format!("{}:{}", $s.id, $n + 1)),
            status: Some($p.status.clone()),
            query_string: Some($p.sql.clone()),
            error: $p.error.clone(),
            duration: Some($duration($p)),
            has_result_set: Some($p.has_result_set),
            result_rows: Some(if $p.has_result_set { $p.records.len() as i64 } else { $p.rows }),
            result_size: Some($p.result_size),
            redshift_query_id: Some($p.query_id),
            created_at: Some(ts($s.created_ms)),
            updated_at: Some(ts($s.updated_ms)),
            ..Default::default()
        }
    };
}

/// The fields of ExecuteStatement and BatchExecuteStatement that say where and as whom.
macro_rules! submitted {
    ($i:expr, $parameters:expr, $batch:expr, $auto_commit:expr) => {
        Submitted {
            session_id: $i.session_id,
            keep_alive: $i.session_keep_alive_seconds,
            with_event: $i.with_event,
            client_token: $i.client_token,
            wait_seconds: $i.wait_time_seconds,
            auto_commit: $auto_commit,
            cluster: $i.cluster_identifier,
            database: $i.database,
            db_user: $i.db_user,
            secret: $i.secret_arn,
            workgroup: $i.workgroup_name,
            name: $i.statement_name,
            parameters: $parameters,
            batch: $batch,
            csv: match $i.result_format.as_deref() {
                None | Some("JSON") => false,
                Some("CSV") => true,
                Some(other) => return Err(validation(format!("Invalid ResultFormat {other}: JSON or CSV"))),
            },
        }
    };
}

/// What ExecuteStatement and BatchExecuteStatement answer.
macro_rules! submitted_output {
    ($shape:ident, $s:expr) => {{
        // Known once the statement ended (WaitTimeSeconds), as AWS reports it.
        let ended = matches!($s.status.as_str(), "FINISHED" | "FAILED" | "ABORTED");
        m::$shape {
            id: Some($s.id.clone()),
            created_at: Some(ts($s.created_ms)),
            cluster_identifier: (!$s.cluster.is_empty()).then(|| $s.cluster.clone()),
            workgroup_name: $s.workgroup.clone(),
            database: Some($s.database.clone()),
            db_user: Some($s.db_user.clone()),
            session_id: $s.session_id.clone(),
            status: ended.then(|| $s.status.clone()),
            has_result_set: ended.then(|| !$s.batch && $s.parts.first().is_some_and(|p| p.has_result_set)),
            redshift_pid: ended.then_some($s.pid),
            ..Default::default()
        }
    }};
}

/// The cluster, warehouse, database and user a catalog request names.
macro_rules! target_of {
    ($me:expr, $ctx:expr, $i:expr) => {
        $me.target(
            $ctx,
            $i.cluster_identifier.as_deref(),
            $i.database.as_deref(),
            $i.db_user.as_deref(),
            $i.secret_arn.as_deref(),
            $i.workgroup_name.as_deref(),
        )
        .await?
    };
}

/// What a statement runs on.
enum Place {
    Cluster(String),
    Workgroup(String),
}

/// One result column, as ColumnMetadata describes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Column {
    name: String,
    type_name: String,
    length: i32,
    precision: i32,
    scale: i32,
    signed: bool,
}

/// A result value, as a Field carries it.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Value {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Text(String),
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Part {
    sql: String,
    status: String,
    error: Option<String>,
    started_ms: i64,
    ended_ms: i64,
    has_result_set: bool,
    rows: i64,
    query_id: i64,
    columns: Vec<Column>,
    records: Vec<Vec<Value>>,
    result_size: i64,
}

/// A statement as the store keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Statement {
    id: String,
    account: String,
    region: String,
    /// The caller (a role's ARN for its sessions): only it sees the statement.
    owner: String,
    /// The cluster it ran on; empty for a serverless workgroup's.
    cluster: String,
    #[serde(default)]
    workgroup: Option<String>,
    database: String,
    db_user: String,
    name: Option<String>,
    parameters: Vec<(String, String)>,
    batch: bool,
    status: String,
    created_ms: i64,
    updated_ms: i64,
    pid: i64,
    parts: Vec<Part>,
    error: Option<String>,
    /// JSON (GetStatementResult) or CSV (GetStatementResultV2).
    #[serde(default)]
    csv: bool,
    /// The Data API session it ran in.
    #[serde(default)]
    session_id: Option<String>,
    /// The idempotency token it was submitted with.
    #[serde(default)]
    client_token: Option<String>,
    /// ExecutionMode AUTO_COMMIT (a batch's statements commit one by one).
    #[serde(default)]
    auto_commit: bool,
    /// The caller's own ARN (a role session's, where `owner` is the role's).
    #[serde(default)]
    caller: String,
}

impl Statement {
    fn key(&self) -> String {
        key(&self.account, &self.region, &self.id)
    }
}

fn key(account: &str, region: &str, id: &str) -> String {
    format!("{account}/{region}/{id}")
}

fn validation(msg: impl Into<String>) -> AwsError {
    E::ValidationException.msg(msg)
}

fn not_found(msg: impl Into<String>) -> AwsError {
    E::ResourceNotFoundException.msg(msg)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn owner(ctx: &RequestContext) -> String {
    ctx.principal.as_ref().map(|p| p.role_arn.clone().unwrap_or_else(|| p.arn.clone())).unwrap_or_default()
}

/// The Data API's service.
pub struct RedshiftDataService {
    rs: Arc<Redshift>,
    sessions: Arc<sessions::Sessions>,
}

impl RedshiftDataService {
    pub fn new(rs: Arc<Redshift>) -> RedshiftDataService {
        RedshiftDataService { rs, sessions: Arc::default() }
    }
}

/// The database session a statement runs in.
enum Start {
    /// A session of its own, opened as the user and closed after it.
    Open(Arc<nuage_warehouse::Warehouse>, String),
    /// A kept session (`SessionId`), given back when the statement ends.
    Kept(String, Box<Session>),
}

/// The result's columns, as ColumnMetadata names Redshift's types.
fn columns(outcome: &Outcome) -> Vec<Column> {
    outcome
        .schema
        .fields()
        .iter()
        .map(|f| {
            let ty = f
                .metadata()
                .get(nuage_warehouse::types::TYPE_KEY)
                .and_then(|t| RsType::from_pg_name(t))
                .unwrap_or_else(|| RsType::from_arrow(f.data_type()));
            let (type_name, length, precision, scale, signed) = match ty {
                RsType::SmallInt => ("int2", 0, 5, 0, true),
                RsType::Integer => ("int4", 0, 10, 0, true),
                RsType::BigInt => ("int8", 0, 19, 0, true),
                RsType::Decimal(p, s) => ("numeric", 0, p as i32, s as i32, true),
                RsType::Real => ("float4", 0, 8, 8, true),
                RsType::Double => ("float8", 0, 17, 17, true),
                RsType::Boolean => ("bool", 0, 1, 0, false),
                RsType::Char(n) => ("bpchar", n as i32, n as i32, 0, false),
                RsType::Varchar(n) => ("varchar", n as i32, n as i32, 0, false),
                RsType::Date => ("date", 0, 13, 0, false),
                RsType::Timestamp => ("timestamp", 0, 29, 6, false),
                RsType::Timestamptz => ("timestamptz", 0, 35, 6, false),
                RsType::Time => ("time", 0, 15, 6, false),
                RsType::Super => ("super", 0, 0, 0, false),
                RsType::Varbyte(n) => ("varbyte", n as i32, n as i32, 0, false),
                RsType::HllSketch => ("hllsketch", 0, 0, 0, false),
            };
            Column {
                name: nuage_warehouse::dialect::output_name(f.name()).to_string(),
                type_name: type_name.into(),
                length,
                precision,
                scale,
                signed,
            }
        })
        .collect()
}

/// The rows, as typed Fields: integers as longs, floats as doubles, the rest as text.
fn records(outcome: &Outcome) -> Result<Vec<Vec<Value>>, String> {
    use nuage_warehouse::datafusion::arrow::array::{Array, AsArray};
    use nuage_warehouse::datafusion::arrow::datatypes::DataType;
    use nuage_warehouse::datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let options = FormatOptions::default();
    let mut out = Vec::new();
    for b in &outcome.batches {
        // Times as Redshift writes them; floats stay typed doubles.
        let texts: Vec<_> = b
            .columns()
            .iter()
            .map(|c| match c.data_type().is_floating() {
                true => c.clone(),
                false => nuage_warehouse::text::redshift_text(c, 0).unwrap_or_else(|| c.clone()),
            })
            .collect();
        let formatters: Vec<ArrayFormatter> = texts
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for r in 0..b.num_rows() {
            let mut row = Vec::with_capacity(b.num_columns());
            for (c, f) in formatters.iter().enumerate() {
                let col = b.column(c);
                let cast = |t: &DataType| nuage_warehouse::datafusion::arrow::compute::cast(&col.slice(r, 1), t);
                row.push(if col.is_null(r) {
                    Value::Null
                } else {
                    match col.data_type() {
                        DataType::Boolean => Value::Bool(col.as_boolean().value(r)),
                        t if t.is_integer() => match cast(&DataType::Int64) {
                            Ok(a) => Value::Long(
                                a.as_primitive::<nuage_warehouse::datafusion::arrow::datatypes::Int64Type>().value(0),
                            ),
                            Err(_) => Value::Text(f.value(r).to_string()),
                        },
                        t if t.is_floating() => match cast(&DataType::Float64) {
                            Ok(a) => Value::Double(
                                a.as_primitive::<nuage_warehouse::datafusion::arrow::datatypes::Float64Type>().value(0),
                            ),
                            Err(_) => Value::Text(f.value(r).to_string()),
                        },
                        _ => Value::Text(f.value(r).to_string()),
                    }
                });
            }
            out.push(row);
        }
    }
    Ok(out)
}

fn field(v: &Value) -> m::Field {
    let mut f = m::Field::default();
    match v {
        Value::Null => f.is_null = Some(true),
        Value::Bool(b) => f.boolean_value = Some(*b),
        Value::Long(l) => f.long_value = Some(*l),
        Value::Double(d) => f.double_value = Some(*d),
        Value::Text(s) => f.string_value = Some(s.clone()),
    }
    f
}

fn column_metadata(c: &Column) -> m::ColumnMetadata {
    m::ColumnMetadata {
        name: Some(c.name.clone()),
        label: Some(c.name.clone()),
        type_name: Some(c.type_name.clone()),
        length: Some(c.length),
        precision: Some(c.precision),
        scale: Some(c.scale),
        is_signed: Some(c.signed),
        is_case_sensitive: Some(matches!(c.type_name.as_str(), "varchar" | "bpchar")),
        is_currency: Some(false),
        nullable: Some(1),
        schema_name: Some(String::new()),
        table_name: Some(String::new()),
        column_default: None,
    }
}

impl RedshiftDataService {
    async fn put(&self, s: &Statement) -> AwsResult<()> {
        let (k, v) = (s.key(), s.clone());
        self.rs.store.write(move |w| w.put(STATEMENTS, &k, &v)).await
    }

    /// The caller's statement by id (a batch's sub-statement id `id:n` names its batch).
    fn statement(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<(Statement, Option<usize>)> {
        let id = id.ok_or_else(|| validation("Id is required"))?;
        let (base, sub) = match id.split_once(':') {
            Some((b, n)) => (b, n.parse::<usize>().ok().filter(|n| *n >= 1).map(|n| n - 1)),
            None => (id, None),
        };
        let acct = ctx.account_id().unwrap_or_default();
        let s: Option<Statement> = self.rs.store.read()?.get(STATEMENTS, &key(acct, &ctx.region, base))?;
        match s {
            Some(s) if s.owner == owner(ctx) && crate::now_ms() - s.created_ms < RETENTION_MS => Ok((s, sub)),
            _ => Err(not_found(format!("Query {id} does not exist."))),
        }
    }

    /// Checks the target of ExecuteStatement and friends: a cluster (or serverless workgroup)
    /// that is available, the database it has, a user that exists there; with a workgroup
    /// and no secret, the caller's IAM identity is the user (`IAM:<name>`), as GetCredentials
    /// makes it.
    async fn target(
        &self,
        ctx: &RequestContext,
        cluster: Option<&str>,
        database: Option<&str>,
        db_user: Option<&str>,
        secret: Option<&str>,
        workgroup: Option<&str>,
    ) -> AwsResult<(sessions::Target, Arc<nuage_warehouse::Warehouse>)> {
        let database = database.ok_or_else(|| validation("Database is required"))?;
        let acct = ctx.account_id().unwrap_or_default();
        let from_secret = match (secret, db_user) {
            (Some(_), Some(_)) => return Err(validation("Specify either DbUser or SecretArn, not both.")),
            (Some(arn), None) => Some(self.secret_login(ctx, arn).await?),
            _ => None,
        };
        let (place, wh, db_name) = match (cluster, workgroup) {
            (Some(_), Some(_)) => {
                return Err(validation("Specify either ClusterIdentifier or WorkgroupName, not both."))
            }
            (None, None) => return Err(validation("Either ClusterIdentifier or WorkgroupName is required.")),
            (Some(cluster), None) => {
                let c = self
                    .rs
                    .get(acct, &ctx.region, &cluster.to_ascii_lowercase())?
                    .ok_or_else(|| validation(format!("Cluster {cluster} not found.")))?;
                let wh = self
                    .rs
                    .warehouse(&c)
                    .filter(|_| c.status == "available")
                    .ok_or_else(|| validation(format!("Cluster {cluster} is not available.")))?;
                (Place::Cluster(c.identifier.clone()), wh, c.db_name)
            }
            (None, Some(name)) => {
                if db_user.is_some() {
                    return Err(validation(
                        "DbUser is not supported with WorkgroupName: give SecretArn, or neither to connect as your IAM identity.",
                    ));
                }
                let (_, db, wh) = self
                    .rs
                    .data_api_workgroup(acct, &ctx.region, name)?
                    .ok_or_else(|| validation(format!("Workgroup {name} not found.")))?;
                (Place::Workgroup(name.to_string()), wh, db)
            }
        };
        if database != db_name {
            return Err(E::DatabaseConnectionException
                .msg(format!("Database connection failed: database \"{database}\" does not exist")));
        }
        let user = match (&from_secret, db_user, &place) {
            (Some((login, _)), _, _) => nuage_warehouse::engine::database_user(login),
            (None, Some(u), _) => nuage_warehouse::engine::database_user(u),
            (None, None, Place::Workgroup(_)) => {
                let p = ctx.principal.as_ref().ok_or_else(nuage_protocol::common::Common::missing_token)?;
                let login = crate::api::iam_login(&wh, p, 900).await?;
                wh.login_user(&login.login)
            }
            (None, None, Place::Cluster(_)) => return Err(validation("Either DbUser or SecretArn is required.")),
        };
        if !wh.committed().catalog.users.contains_key(&user) {
            return Err(E::DatabaseConnectionException
                .msg(format!("Database connection failed: user \"{user}\" does not exist")));
        }
        // A secret's password must be the user's, as a connection would check it.
        if let Some((login, password)) = &from_secret {
            if wh.login_hash(login) != Some(nuage_warehouse::password_md5(login, password)) {
                return Err(E::DatabaseConnectionException
                    .msg(format!("Database connection failed: password authentication failed for user \"{login}\"")));
            }
        }
        let (cluster, workgroup) = match place {
            Place::Cluster(c) => (c, None),
            Place::Workgroup(w) => (String::new(), Some(w)),
        };
        let target = sessions::Target {
            account: acct.to_string(),
            region: ctx.region.clone(),
            cluster,
            workgroup,
            database: database.to_string(),
            db_user: user,
        };
        Ok((target, wh))
    }

    /// The user name and password a secret holds, read from Secrets Manager as the caller
    /// (so the caller needs secretsmanager:GetSecretValue on it).
    async fn secret_login(&self, ctx: &RequestContext, arn: &str) -> AwsResult<(String, String)> {
        let principal = ctx.principal.clone().ok_or_else(|| validation("SecretArn needs a signed request"))?;
        let f = self.rs.internal.frontend()?;
        let input = nuage_protocol::secretsmanager::GetSecretValueRequest {
            secret_id: Some(arn.to_string()),
            ..Default::default()
        };
        // The Data API reads the secret with its caller's identity: a forward access session.
        let out =
            f.call_via(principal, &ctx.region, Some("redshift-data.amazonaws.com"), input).await.map_err(|e| {
                // Secrets Manager's refusal and absence keep their codes; anything else is the
                // Data API's validation error, as AWS reports an unusable secret.
                let kind = match e.code.as_ref() {
                    "AccessDeniedException" => {
                        return nuage_protocol::common::Common::AccessDeniedException.msg(e.message)
                    }
                    "ResourceNotFoundException" => E::ResourceNotFoundException,
                    _ => E::ValidationException,
                };
                kind.msg(e.message)
            })?;
        let secret: serde_json::Value = out
            .secret_string
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .ok_or_else(|| validation("The secret's value is not a JSON document with username and password"))?;
        let field = |k: &str| secret.get(k).and_then(|v| v.as_str()).map(str::to_string);
        match (field("username"), field("password")) {
            (Some(u), Some(p)) => Ok((u, p)),
            _ => Err(validation("The secret's value has no username and password")),
        }
    }

    /// The caller's statements still kept (24 hours), in the caller's region.
    fn own_statements(&self, ctx: &RequestContext) -> AwsResult<Vec<Statement>> {
        let acct = ctx.account_id().unwrap_or_default();
        let me = owner(ctx);
        let now = crate::now_ms();
        Ok(self
            .rs
            .store
            .read()?
            .scan::<Statement>(STATEMENTS, &format!("{acct}/{}/", ctx.region))?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.owner == me && now - s.created_ms < RETENTION_MS)
            .collect())
    }

    /// The statement the caller already submitted with this idempotency token, if any.
    fn submitted_with(&self, ctx: &RequestContext, token: &str) -> AwsResult<Option<Statement>> {
        Ok(self.own_statements(ctx)?.into_iter().find(|s| s.client_token.as_deref() == Some(token)))
    }

    async fn execute(&self, ctx: &RequestContext, sqls: Vec<String>, i: Submitted) -> AwsResult<Statement> {
        if sqls.iter().any(|s| s.trim().is_empty()) {
            return Err(validation("Sql must not be empty"));
        }
        if i.with_event == Some(true) {
            return Err(validation(
                "WithEvent is not supported: nuage serves no Amazon EventBridge to send the event to.",
            ));
        }
        if let Some(token) = &i.client_token {
            if let Some(s) = self.submitted_with(ctx, token)? {
                return Ok(s);
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (target, start, session_id) = match &i.session_id {
            Some(sid) => {
                if i.cluster.is_some()
                    || i.database.is_some()
                    || i.db_user.is_some()
                    || i.secret.is_some()
                    || i.workgroup.is_some()
                {
                    return Err(validation(
                        "A statement run in a session (SessionId) names no ClusterIdentifier, WorkgroupName, Database, DbUser or SecretArn: the session has them.",
                    ));
                }
                let (target, session) = self.sessions.take(ctx, sid, i.keep_alive, &id)?;
                (target, Start::Kept(sid.clone(), Box::new(session)), Some(sid.clone()))
            }
            None => {
                let (target, wh) = self
                    .target(
                        ctx,
                        i.cluster.as_deref(),
                        i.database.as_deref(),
                        i.db_user.as_deref(),
                        i.secret.as_deref(),
                        i.workgroup.as_deref(),
                    )
                    .await?;
                let user = target.db_user.clone();
                match i.keep_alive {
                    Some(keep) => {
                        let session =
                            Session::open(wh, &user).map_err(|e| validation(format!("ERROR: {}", e.message)))?;
                        let sid = self.sessions.open(ctx, target.clone(), keep, &id);
                        (target, Start::Kept(sid.clone(), Box::new(session)), Some(sid))
                    }
                    None => (target, Start::Open(wh, user), None),
                }
            }
        };
        let now = crate::now_ms();
        let s = Statement {
            id,
            account: target.account,
            region: target.region,
            owner: owner(ctx),
            cluster: target.cluster,
            workgroup: target.workgroup,
            database: target.database,
            db_user: target.db_user,
            name: i.name,
            parameters: i.parameters,
            batch: i.batch,
            status: "SUBMITTED".into(),
            created_ms: now,
            updated_ms: now,
            pid: 0,
            parts: sqls.into_iter().map(|sql| Part { sql, status: "SUBMITTED".into(), ..Default::default() }).collect(),
            error: None,
            csv: i.csv,
            session_id,
            client_token: i.client_token,
            auto_commit: i.auto_commit,
            caller: ctx.principal.as_ref().map(|p| p.arn.clone()).unwrap_or_default(),
        };
        if let Err(e) = self.put(&s).await {
            if let Start::Kept(sid, session) = start {
                self.sessions.release(&sid, *session);
            }
            return Err(e);
        }
        let me = RedshiftDataService { rs: self.rs.clone(), sessions: self.sessions.clone() };
        let run = s.clone();
        let done = tokio::spawn(async move {
            let id = run.id.clone();
            if let Err(e) = me.run(run, start).await {
                tracing::error!(statement = %id, error = %e.message, "Data API statement could not be recorded");
            }
        });
        // WaitTimeSeconds: answer once the statement has ended, or when the time is up.
        if let Some(wait) = i.wait_seconds {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(wait.clamp(0, 30) as u64), done).await;
            if let Some(now) = self.rs.store.read()?.get::<Statement>(STATEMENTS, &s.key())? {
                return Ok(now);
            }
        }
        Ok(s)
    }

    /// Runs a statement's SQL (a batch in one transaction) and records each step.
    async fn run(&self, mut s: Statement, start: Start) -> AwsResult<()> {
        let (mut session, kept) = match start {
            Start::Kept(id, session) => (*session, Some(id)),
            Start::Open(wh, user) => match Session::open(wh, &user) {
                Ok(x) => (x, None),
                Err(e) => {
                    s.status = "FAILED".into();
                    s.error = Some(format!("ERROR: {}", e.message));
                    s.updated_ms = crate::now_ms();
                    return self.put(&s).await;
                }
            },
        };
        let outcome = self.run_in(&mut s, &mut session).await;
        if let Some(id) = kept {
            self.sessions.release(&id, session);
        }
        outcome
    }

    /// Runs a statement's steps in `session` and records each.
    async fn run_in(&self, s: &mut Statement, session: &mut Session) -> AwsResult<()> {
        s.pid = session.pid as i64;
        s.status = "STARTED".into();
        s.updated_ms = crate::now_ms();
        self.put(s).await?;
        // A batch is one transaction, unless its ExecutionMode is AUTO_COMMIT.
        let batch = s.batch && !s.auto_commit;
        if batch {
            let _ = session.run("BEGIN").await;
        }
        let mut failed = None;
        for i in 0..s.parts.len() {
            // CancelStatement may have ended it meanwhile.
            if let Ok(Some(current)) = self.rs.store.read().and_then(|r| r.get::<Statement>(STATEMENTS, &s.key())) {
                if current.status == "ABORTED" {
                    return Ok(());
                }
            }
            let part = &mut s.parts[i];
            part.started_ms = crate::now_ms();
            part.status = "STARTED".into();
            let sql = match nuage_warehouse::dialect::bind_named(&part.sql, &s.parameters) {
                Ok(sql) => sql,
                Err(e) => {
                    part.status = "FAILED".into();
                    part.error = Some(format!("ERROR: {}", e.message));
                    failed = part.error.clone();
                    break;
                }
            };
            match session.run(&sql).await {
                Ok(outcome) => {
                    part.has_result_set = outcome.has_result_set;
                    part.rows = outcome.rows;
                    part.columns = columns(&outcome);
                    match records(&outcome) {
                        Ok(r) => {
                            part.result_size = outcome.batches.iter().map(|b| b.get_array_memory_size() as i64).sum();
                            part.records = r;
                            part.status = "FINISHED".into();
                        }
                        Err(e) => {
                            part.status = "FAILED".into();
                            part.error = Some(format!("ERROR: {e}"));
                        }
                    }
                }
                Err(e) => {
                    part.status = "FAILED".into();
                    part.error = Some(format!("ERROR: {}", e.message));
                }
            }
            part.ended_ms = crate::now_ms();
            part.query_id = session.last_query_id();
            if part.status == "FAILED" {
                failed = part.error.clone();
                break;
            }
        }
        if batch {
            let _ = session.run(if failed.is_some() { "ROLLBACK" } else { "COMMIT" }).await;
        }
        if let Some(e) = failed {
            s.status = "FAILED".into();
            s.error = Some(e);
            for p in s.parts.iter_mut().filter(|p| p.status == "SUBMITTED") {
                p.status = "ABORTED".into();
            }
        } else {
            s.status = "FINISHED".into();
        }
        s.updated_ms = crate::now_ms();
        // A cancel that came while the last step ran wins.
        if let Ok(Some(current)) = self.rs.store.read().and_then(|r| r.get::<Statement>(STATEMENTS, &s.key())) {
            if current.status == "ABORTED" {
                return Ok(());
            }
        }
        self.put(s).await
    }

    fn describe(&self, s: &Statement, sub: Option<usize>) -> AwsResult<m::DescribeStatementResponse> {
        let duration = |p: &Part| if p.ended_ms > 0 { (p.ended_ms - p.started_ms) * 1_000_000 } else { -1 };
        if let Some(n) = sub {
            let p = s.parts.get(n).ok_or_else(|| not_found(format!("Query {}:{} does not exist.", s.id, n + 1)))?;
            return Ok(m::DescribeStatementResponse {
                cluster_identifier: (!s.cluster.is_empty()).then(|| s.cluster.clone()),
                workgroup_name: s.workgroup.clone(),
                database: Some(s.database.clone()),
                db_user: Some(s.db_user.clone()),
                redshift_pid: Some(s.pid),
                ..part_fields!(DescribeStatementResponse, s, p, n, duration)
            });
        }
        let first = s.parts.first().cloned().unwrap_or_default();
        let total: i64 = s.parts.iter().map(|p| duration(p).max(0)).sum();
        Ok(m::DescribeStatementResponse {
            id: Some(s.id.clone()),
            status: Some(s.status.clone()),
            query_string: (!s.batch).then(|| first.sql.clone()),
            error: s.error.clone(),
            duration: Some(if s.status == "FINISHED" || s.status == "FAILED" { total } else { -1 }),
            has_result_set: Some(!s.batch && first.has_result_set),
            result_rows: Some(if s.batch {
                -1
            } else if first.has_result_set {
                first.records.len() as i64
            } else {
                first.rows
            }),
            result_size: Some(if s.batch { 0 } else { first.result_size }),
            redshift_query_id: Some(if s.batch { 0 } else { first.query_id }),
            redshift_pid: Some(s.pid),
            created_at: Some(ts(s.created_ms)),
            updated_at: Some(ts(s.updated_ms)),
            cluster_identifier: (!s.cluster.is_empty()).then(|| s.cluster.clone()),
            workgroup_name: s.workgroup.clone(),
            database: Some(s.database.clone()),
            db_user: Some(s.db_user.clone()),
            query_parameters: (!s.parameters.is_empty()).then(|| {
                s.parameters
                    .iter()
                    .map(|(n, v)| m::SqlParameter { name: Some(n.clone()), value: Some(v.clone()) })
                    .collect()
            }),
            result_format: Some(if s.csv { "CSV" } else { "JSON" }.into()),
            session_id: s.session_id.clone(),
            execution_mode: s.batch.then(|| if s.auto_commit { "AUTO_COMMIT" } else { "TRANSACTION" }.into()),
            sub_statements: s.batch.then(|| {
                s.parts.iter().enumerate().map(|(i, p)| part_fields!(SubStatementData, s, p, i, duration)).collect()
            }),
            ..Default::default()
        })
    }

    fn result(&self, s: &Statement, sub: Option<usize>, token: Option<&str>) -> AwsResult<(Part, usize, usize)> {
        if s.batch && sub.is_none() {
            return Err(validation(format!(
                "Statement {} is a batch: ask for the result of one of its sub-statements ({}:1 ...).",
                s.id, s.id
            )));
        }
        let p = s.parts.get(sub.unwrap_or(0)).cloned().ok_or_else(|| not_found("Query does not exist."))?;
        if p.status != "FINISHED" || !p.has_result_set {
            return Err(not_found("Query does not have result. Please check query status with DescribeStatement."));
        }
        let start: usize = match token {
            Some(t) => t.parse().map_err(|_| validation("Invalid NextToken"))?,
            None => 0,
        };
        let end = (start + PAGE_ROWS).min(p.records.len());
        Ok((p, start.min(end), end))
    }

    fn list(&self, ctx: &RequestContext, i: m::ListStatementsRequest) -> AwsResult<m::ListStatementsResponse> {
        let caller = ctx.principal.as_ref().map(|p| p.arn.clone()).unwrap_or_default();
        let mut all: Vec<Statement> = self
            .own_statements(ctx)?
            .into_iter()
            // RoleLevel false: only this role session's own statements.
            .filter(|s| i.role_level != Some(false) || s.caller == caller)
            .filter(|s| i.cluster_identifier.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(&s.cluster)))
            .filter(|s| i.workgroup_name.as_deref().is_none_or(|w| s.workgroup.as_deref() == Some(w)))
            .filter(|s| i.database.as_deref().is_none_or(|d| d == s.database))
            .filter(|s| match i.status.as_deref() {
                None | Some("ALL") => true,
                Some(st) => s.status == st,
            })
            .filter(|s| i.statement_name.as_deref().is_none_or(|n| s.name.as_deref().is_some_and(|x| x.starts_with(n))))
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.created_ms));
        let max = i.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let start: usize = i.next_token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
        let page: Vec<m::StatementData> = all
            .iter()
            .skip(start)
            .take(max)
            .map(|s| m::StatementData {
                id: Some(s.id.clone()),
                status: Some(s.status.clone()),
                statement_name: s.name.clone(),
                query_string: (!s.batch).then(|| s.parts.first().map(|p| p.sql.clone()).unwrap_or_default()),
                query_strings: s.batch.then(|| s.parts.iter().map(|p| p.sql.clone()).collect()),
                is_batch_statement: Some(s.batch),
                created_at: Some(ts(s.created_ms)),
                updated_at: Some(ts(s.updated_ms)),
                session_id: s.session_id.clone(),
                result_format: Some(if s.csv { "CSV" } else { "JSON" }.into()),
                ..Default::default()
            })
            .collect();
        let next = (start + max < all.len()).then(|| (start + max).to_string());
        Ok(m::ListStatementsResponse { statements: Some(page), next_token: next })
    }

    async fn cancel(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<bool> {
        let (mut s, _) = self.statement(ctx, id)?;
        if !matches!(s.status.as_str(), "SUBMITTED" | "PICKED" | "STARTED") {
            return Err(validation(format!("Could not cancel a query that is already in {} state", s.status)));
        }
        s.status = "ABORTED".into();
        s.updated_ms = crate::now_ms();
        self.put(&s).await?;
        Ok(true)
    }

    /// Runs one catalog query synchronously, as ListTables and friends do.
    async fn catalog(&self, wh: Arc<nuage_warehouse::Warehouse>, user: &str, sql: &str) -> AwsResult<Vec<Vec<Value>>> {
        let mut session = Session::open(wh, user).map_err(|e| AwsError::internal(e.message))?;
        let outcome = session.run(sql).await.map_err(|e| validation(format!("ERROR: {}", e.message)))?;
        records(&outcome).map_err(AwsError::internal)
    }
}

/// What ExecuteStatement and BatchExecuteStatement share.
struct Submitted {
    session_id: Option<String>,
    keep_alive: Option<i32>,
    with_event: Option<bool>,
    client_token: Option<String>,
    wait_seconds: Option<i32>,
    /// ExecutionMode AUTO_COMMIT: each statement of a batch commits on its own.
    auto_commit: bool,
    cluster: Option<String>,
    database: Option<String>,
    db_user: Option<String>,
    secret: Option<String>,
    workgroup: Option<String>,
    name: Option<String>,
    parameters: Vec<(String, String)>,
    batch: bool,
    csv: bool,
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Long(l) => l.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
    }
}

/// A CSV field, quoted when it must be.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// A LIKE pattern as a SQL literal (`%` when none is given).
fn pattern(p: Option<&str>) -> String {
    format!("'{}'", p.unwrap_or("%").replace('\'', "''"))
}

/// Statements cut off by a restart while running: their session is gone, so they failed.
pub(crate) async fn recover(rs: &Redshift) -> AwsResult<()> {
    let all: Vec<(String, Statement)> = rs.store.read()?.scan(STATEMENTS, "")?;
    let now = crate::now_ms();
    for (k, mut s) in all {
        if now - s.created_ms >= RETENTION_MS {
            rs.store.write(move |w| w.delete(STATEMENTS, &k)).await?;
            continue;
        }
        if matches!(s.status.as_str(), "SUBMITTED" | "PICKED" | "STARTED") {
            s.status = "FAILED".into();
            s.error = Some("ERROR: the statement was interrupted by a restart of nuage".into());
            s.updated_ms = now;
            let v = s.clone();
            rs.store.write(move |w| w.put(STATEMENTS, &k, &v)).await?;
        }
    }
    Ok(())
}

mod routes;
mod sessions;
