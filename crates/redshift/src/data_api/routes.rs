//! The Data API's table of operations: one row per operation of the model, authorised on the
//! cluster the typed input names, and the handlers that read and page statement results.
use super::*;
use nuage_front::{Authorization, Row, TypedService};
use nuage_protocol::redshift_data::ops::Operation as O;
use nuage_protocol::Protocol;

/// The cluster a request names is its resource; a DbUser also needs
/// redshift:GetClusterCredentials for that user and database, since the Data API asks for
/// credentials on the caller's behalf. A serverless workgroup is the resource instead, and
/// connecting as the caller's IAM identity (no secret) needs redshift-serverless:GetCredentials.
fn on_cluster(rs: &crate::Redshift, ctx: &RequestContext, action: &'static str, place: Place<'_>) -> Authorization {
    let acct = ctx.account_id().unwrap_or_default();
    let arn = |kind: &str, rest: &str| format!("arn:aws:redshift:{}:{acct}:{kind}:{rest}", ctx.region);
    if let Some(w) = place.workgroup {
        let resource = rs.serverless_arn(acct, &ctx.region, "workgroup", w);
        let mut a = Authorization { action, resource: resource.clone(), ..Default::default() };
        if place.secret.is_none() {
            a.also.push(Authorization { action: "redshift-serverless:GetCredentials", resource, ..Default::default() });
        }
        return a;
    }
    let Some(c) = place.cluster.map(str::to_ascii_lowercase) else {
        return Authorization { action, resource: "*".into(), ..Default::default() };
    };
    let mut a = Authorization { action, resource: arn("cluster", &c), ..Default::default() };
    if let Some(u) = place.db_user {
        let credentials = |resource: String| Authorization {
            action: "redshift:GetClusterCredentials",
            resource,
            ..Default::default()
        };
        a.also.push(credentials(arn("dbuser", &format!("{c}/{}", u.to_ascii_lowercase()))));
        if let Some(db) = place.database {
            a.also.push(credentials(arn("dbname", &format!("{c}/{}", db.to_ascii_lowercase()))));
        }
    }
    a
}

/// Where a request says its SQL runs, and as whom.
struct Place<'a> {
    cluster: Option<&'a str>,
    workgroup: Option<&'a str>,
    db_user: Option<&'a str>,
    database: Option<&'a str>,
    secret: Option<&'a str>,
}

impl TypedService for RedshiftDataService {
    type Operation = O;

    fn signing_name(&self) -> &'static str {
        "redshift-data"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("ValidationException")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        macro_rules! on {
            ($action:literal, $i:expr) => {
                on_cluster(
                    &self.rs,
                    ctx,
                    $action,
                    Place {
                        cluster: $i.cluster_identifier.as_deref(),
                        workgroup: $i.workgroup_name.as_deref(),
                        db_user: $i.db_user.as_deref(),
                        database: $i.database.as_deref(),
                        secret: $i.secret_arn.as_deref(),
                    },
                )
            };
        }
        match op {
            O::ExecuteStatement(i) => {
                Row::authorized(on!("redshift-data:ExecuteStatement", i), self.execute_statement(ctx, i))
            }
            O::BatchExecuteStatement(i) => {
                Row::authorized(on!("redshift-data:BatchExecuteStatement", i), self.batch_execute_statement(ctx, i))
            }
            O::DescribeStatement(i) => Row::serve("redshift-data:DescribeStatement", "*", async move {
                let (s, sub) = self.statement(ctx, i.id.as_deref())?;
                self.describe(&s, sub)
            }),
            O::GetStatementResult(i) => {
                Row::serve("redshift-data:GetStatementResult", "*", async move { self.statement_result(ctx, i) })
            }
            O::GetStatementResultV2(i) => {
                Row::serve("redshift-data:GetStatementResultV2", "*", async move { self.statement_result_csv(ctx, i) })
            }
            O::ListStatements(i) => Row::serve("redshift-data:ListStatements", "*", async move { self.list(ctx, i) }),
            O::CancelStatement(i) => Row::serve("redshift-data:CancelStatement", "*", async move {
                let status = self.cancel(ctx, i.id.as_deref()).await?;
                Ok(m::CancelStatementResponse { status: Some(status) })
            }),
            O::ListDatabases(i) => Row::authorized(on!("redshift-data:ListDatabases", i), async move {
                let (target, _) = target_of!(self, ctx, i);
                let database = target.database;
                Ok(m::ListDatabasesResponse { databases: Some(vec![database]), next_token: None })
            }),
            O::ListSchemas(i) => Row::authorized(on!("redshift-data:ListSchemas", i), self.list_schemas(ctx, i)),
            O::ListTables(i) => Row::authorized(on!("redshift-data:ListTables", i), self.list_tables(ctx, i)),
            O::DescribeTable(i) => Row::authorized(on!("redshift-data:DescribeTable", i), self.describe_table(ctx, i)),
            O::ListSessions(i) => Row::serve("redshift-data:ListSessions", "*", async move {
                let all = self.sessions.list(ctx, &i);
                let max = i.max_results.unwrap_or(100).clamp(1, 100) as usize;
                let start: usize = i.next_token.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
                let next = (start + max < all.len()).then(|| (start + max).to_string());
                let sessions = all.into_iter().skip(start).take(max).collect();
                Ok(m::ListSessionsResponse { sessions: Some(sessions), next_token: next })
            }),
        }
    }
}

impl RedshiftDataService {
    async fn execute_statement(
        &self,
        ctx: &RequestContext,
        i: m::ExecuteStatementInput,
    ) -> AwsResult<m::ExecuteStatementOutput> {
        let parameters: Vec<(String, String)> = i
            .parameters
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.name.unwrap_or_default(), p.value.unwrap_or_default()))
            .collect();
        let sql = i.sql.clone().ok_or_else(|| validation("Sql is required"))?;
        let s = self.execute(ctx, vec![sql], submitted!(i, parameters, false, false)).await?;
        Ok(submitted_output!(ExecuteStatementOutput, s))
    }

    async fn batch_execute_statement(
        &self,
        ctx: &RequestContext,
        i: m::BatchExecuteStatementInput,
    ) -> AwsResult<m::BatchExecuteStatementOutput> {
        let sqls = i.sqls.clone().filter(|s| !s.is_empty()).ok_or_else(|| validation("Sqls is required"))?;
        if sqls.len() > 40 {
            return Err(validation("A batch takes at most 40 SQL statements"));
        }
        let auto_commit = i.execution_mode.as_deref() == Some("AUTO_COMMIT");
        let s = self.execute(ctx, sqls, submitted!(i, vec![], true, auto_commit)).await?;
        Ok(submitted_output!(BatchExecuteStatementOutput, s))
    }

    fn statement_result(
        &self,
        ctx: &RequestContext,
        i: m::GetStatementResultRequest,
    ) -> AwsResult<m::GetStatementResultResponse> {
        let (s, sub) = self.statement(ctx, i.id.as_deref())?;
        if s.csv {
            return Err(validation(
                "The statement was run with ResultFormat CSV: read its result with GetStatementResultV2.",
            ));
        }
        let (p, start, end) = self.result(&s, sub, i.next_token.as_deref())?;
        Ok(m::GetStatementResultResponse {
            records: Some(p.records[start..end].iter().map(|r| r.iter().map(field).collect()).collect()),
            column_metadata: Some(p.columns.iter().map(column_metadata).collect()),
            total_num_rows: Some(p.records.len() as i64),
            next_token: (end < p.records.len()).then(|| end.to_string()),
        })
    }

    fn statement_result_csv(
        &self,
        ctx: &RequestContext,
        i: m::GetStatementResultV2Request,
    ) -> AwsResult<m::GetStatementResultV2Response> {
        let (s, sub) = self.statement(ctx, i.id.as_deref())?;
        if !s.csv {
            return Err(validation(
                "The statement was run with ResultFormat JSON: read its result with GetStatementResult.",
            ));
        }
        let (p, start, end) = self.result(&s, sub, i.next_token.as_deref())?;
        // One CSV document per page, its header first.
        let mut csv = p.columns.iter().map(|c| csv_field(&c.name)).collect::<Vec<_>>().join(",");
        csv.push('\n');
        for r in &p.records[start..end] {
            let row: Vec<String> = r
                .iter()
                .map(|v| match v {
                    Value::Null => String::new(),
                    v => csv_field(&text(v)),
                })
                .collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        Ok(m::GetStatementResultV2Response {
            records: Some(vec![m::QueryRecords { csv_records: Some(csv) }]),
            column_metadata: Some(p.columns.iter().map(column_metadata).collect()),
            total_num_rows: Some(p.records.len() as i64),
            result_format: Some("CSV".into()),
            next_token: (end < p.records.len()).then(|| end.to_string()),
        })
    }

    async fn list_schemas(&self, ctx: &RequestContext, i: m::ListSchemasRequest) -> AwsResult<m::ListSchemasResponse> {
        let (target, wh) = target_of!(self, ctx, i);
        let user = target.db_user;
        let sql = format!(
            "select nspname from pg_catalog.pg_namespace where nspname like {} order by 1",
            pattern(i.schema_pattern.as_deref())
        );
        let rows = self.catalog(wh, &user, &sql).await?;
        Ok(m::ListSchemasResponse { schemas: Some(rows.iter().map(|r| text(&r[0])).collect()), next_token: None })
    }

    async fn list_tables(&self, ctx: &RequestContext, i: m::ListTablesRequest) -> AwsResult<m::ListTablesResponse> {
        let (target, wh) = target_of!(self, ctx, i);
        let user = target.db_user;
        let sql = format!(
            "select table_schema, table_name, table_type from svv_tables where table_schema like {} and table_name like {} order by 1, 2",
            pattern(i.schema_pattern.as_deref()),
            pattern(i.table_pattern.as_deref())
        );
        let rows = self.catalog(wh, &user, &sql).await?;
        let tables = rows
            .iter()
            .map(|r| m::TableMember {
                schema: Some(text(&r[0])),
                name: Some(text(&r[1])),
                r#type: Some(if text(&r[2]).contains("VIEW") { "VIEW".into() } else { "TABLE".into() }),
            })
            .collect();
        Ok(m::ListTablesResponse { tables: Some(tables), next_token: None })
    }

    async fn describe_table(
        &self,
        ctx: &RequestContext,
        i: m::DescribeTableRequest,
    ) -> AwsResult<m::DescribeTableResponse> {
        let (target, wh) = target_of!(self, ctx, i);
        let user = target.db_user;
        let table = i.table.ok_or_else(|| validation("Table is required"))?;
        let schema = i.schema.unwrap_or_else(|| "public".into());
        let sql = format!(
            "select * from {}.{} limit 0",
            nuage_warehouse::dialect::quote_ident(&schema),
            nuage_warehouse::dialect::quote_ident(&table)
        );
        let mut session = Session::open(wh, &user).map_err(|e| AwsError::internal(e.message))?;
        let outcome = session.run(&sql).await.map_err(|e| validation(format!("ERROR: {}", e.message)))?;
        let cols: Vec<m::ColumnMetadata> = columns(&outcome)
            .iter()
            .map(|c| {
                let mut md = column_metadata(c);
                md.schema_name = Some(schema.clone());
                md.table_name = Some(table.clone());
                md
            })
            .collect();
        Ok(m::DescribeTableResponse { table_name: Some(table), column_list: Some(cols), next_token: None })
    }
}
