//! Queries: planned by DataFusion against the session's view, views expanded, SELECT privileges checked, result columns named as PostgreSQL names them.
use super::*;

impl Session {
    /// Plans and starts a query against the session's view.
    pub async fn query(&self, query: ast::Query) -> SqlResult<DataFrame> {
        let mut statement = Statement::Query(Box::new(query));
        self.late_binding_view_columns(&mut statement).await?;
        // Privileges are checked on what the query names: a view, not the tables behind it.
        self.qualify_names(&mut statement);
        self.check_select(&statement)?;
        self.expand_views(&mut statement)?;
        self.qualify_names(&mut statement);
        self.plan(statement).await
    }

    /// Unqualified names are qualified with where they are found: the session's temporary
    /// tables first, then the schemas of the search path, as on Redshift. Names found nowhere
    /// (system tables, common table expressions) are left as written.
    pub(super) fn qualify_names(&self, statement: &mut Statement) {
        let st = self.view.get();
        let ctes = materialized::cte_names(&*statement);
        let _ = ast::visit_relations_mut(statement, |name| {
            if name.0.len() == 1 {
                let (_, table) = object_name(name);
                if !ctes.contains(&table) {
                    if let Some(schema) = self.found_schema(&st, &table).filter(|s| s != "public") {
                        name.0.insert(0, ast::ObjectNamePart::Identifier(ast::Ident::with_quote('"', schema)));
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
    }

    pub(super) async fn plan(&self, statement: Statement) -> SqlResult<DataFrame> {
        let plan = self.logical_plan(statement).await?;
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// Plans a statement. A WHERE may name a select item's alias, as Redshift allows, when no
    /// column has that name: such a name is replaced by the aliased expression and planned again.
    pub(super) async fn logical_plan(
        &self,
        mut statement: Statement,
    ) -> SqlResult<datafusion::logical_expr::LogicalPlan> {
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

    pub(super) async fn query_sql(&self, sql: &str) -> SqlResult<Vec<RecordBatch>> {
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
        self.late_binding_view_columns(&mut statement).await?;
        self.qualify_names(&mut statement);
        self.expand_views(&mut statement)?;
        self.qualify_names(&mut statement);
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
    pub(super) fn expand_views(&self, statement: &mut Statement) -> SqlResult<()> {
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
    pub(super) fn check_select(&self, statement: &Statement) -> SqlResult<()> {
        let st = self.view.get();
        privileges::check_reads(&st, &self.user, statement)
    }
}

impl Session {
    /// The columns of a relation's query as `pg_get_cols` and `pg_get_late_binding_view_cols`
    /// list them: schema, relation, column, type (as declared where it is known), position.
    async fn relation_columns(&self, schema: &str, name: &str, query: ast::Query) -> SqlResult<Vec<[String; 5]>> {
        let df = Box::pin(self.query(query)).await?;
        Ok(df
            .schema()
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let ty = match f.metadata().get(crate::types::TYPE_KEY) {
                    Some(declared) => declared.clone(),
                    None => crate::types::RsType::from_arrow(f.data_type()).pg_name(),
                };
                [
                    schema.to_string(),
                    name.to_string(),
                    crate::dialect::output_name(f.name()).to_string(),
                    ty,
                    (i + 1).to_string(),
                ]
            })
            .collect())
    }

    /// `pg_get_late_binding_view_cols() cols(view_schema name, view_name name, col_name name,
    /// col_type varchar, col_num int)`: the columns of the late-binding views, as their
    /// queries plan now (a view whose relations are missing is left out); `pg_get_cols('v')
    /// cols(...)`: the columns of one table or view. Both in the columns the caller's
    /// definition list declares.
    async fn late_binding_view_columns(&self, statement: &mut Statement) -> SqlResult<()> {
        // Which of the two table functions the statement calls (most call neither).
        struct Calls {
            late: bool,
            named: Vec<String>,
        }
        impl ast::Visitor for Calls {
            type Break = ();
            fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
                if let TableFactor::Table { name, args: Some(args), .. } = factor {
                    match object_name(name).1.as_str() {
                        "pg_get_late_binding_view_cols" => self.late = true,
                        "pg_get_cols" => {
                            if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(v)))) =
                                args.args.first()
                            {
                                if let ast::Value::SingleQuotedString(s) = &v.value {
                                    self.named.push(s.clone());
                                }
                            }
                        }
                        _ => {}
                    }
                }
                ControlFlow::Continue(())
            }
        }
        let mut calls = Calls { late: false, named: Vec::new() };
        let _ = ast::Visit::visit(&*statement, &mut calls);
        if !calls.late && calls.named.is_empty() {
            return Ok(());
        }
        let st = self.view.get();
        let mut late: Vec<[String; 5]> = Vec::new();
        if calls.late {
            for (schema, s) in &st.catalog.schemas {
                for (name, v) in s.views.iter().filter(|(_, v)| v.late_binding) {
                    let Ok(Some(Parsed { statement: Statement::Query(q), .. })) =
                        dialect::parse(&v.sql).map(|mut p| p.pop())
                    else {
                        continue;
                    };
                    if let Ok(rows) = self.relation_columns(schema, name, *q).await {
                        late.extend(rows);
                    }
                }
            }
        }
        // pg_get_cols('[schema.]relation'): each relation named, and its columns.
        let named = calls.named;
        let mut by_name: HashMap<String, Vec<[String; 5]>> = HashMap::new();
        for relation in named {
            let (schema, name) = match relation.split_once('.') {
                Some((s, n)) => (Some(s.to_ascii_lowercase()), n.to_ascii_lowercase()),
                None => (None, relation.to_ascii_lowercase()),
            };
            let schema = self.schema_of(schema, &name);
            let query = dialect::parse(&format!("SELECT * FROM {}.{}", q(&schema), q(&name)))?
                .pop()
                .and_then(|p| match p.statement {
                    Statement::Query(q) => Some(*q),
                    _ => None,
                })
                .ok_or_else(|| SqlError::internal("pg_get_cols"))?;
            let rows = self.relation_columns(&schema, &name, query).await?;
            by_name.insert(relation, rows);
        }
        struct Columns<'a> {
            late: &'a [[String; 5]],
            by_name: &'a HashMap<String, Vec<[String; 5]>>,
        }
        impl VisitorMut for Columns<'_> {
            type Break = ();
            fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
                if let Some(derived) = column_listing(factor, self.late, self.by_name) {
                    *factor = derived;
                }
                ControlFlow::Continue(())
            }
        }
        let _ = statement.visit(&mut Columns { late: &late, by_name: &by_name });
        Ok(())
    }
}

/// The derived table `pg_get_late_binding_view_cols() cols(...)` or `pg_get_cols('v')
/// cols(...)` stands for, over their rows.
fn column_listing(
    factor: &TableFactor,
    late: &[[String; 5]],
    by_name: &HashMap<String, Vec<[String; 5]>>,
) -> Option<TableFactor> {
    let TableFactor::Table { name, args: Some(args), alias: Some(alias), .. } = factor else { return None };
    if alias.columns.is_empty() {
        return None;
    }
    let rows: &[[String; 5]] = match object_name(name).1.as_str() {
        "pg_get_late_binding_view_cols" => late,
        "pg_get_cols" => match args.args.first() {
            Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(v)))) => match &v.value {
                ast::Value::SingleQuotedString(s) => by_name.get(s)?,
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    let declared: Vec<(String, String)> = alias
        .columns
        .iter()
        .map(|c| {
            let ty = match &c.data_type {
                Some(t) if !t.to_string().eq_ignore_ascii_case("name") => t.to_string(),
                _ => "varchar".to_string(),
            };
            (dialect::quote_ident(&c.name.value), ty)
        })
        .collect();
    let item = |row: Option<&[String; 5]>| {
        declared
            .iter()
            .enumerate()
            .map(|(i, (col, ty))| {
                let value = row
                    .and_then(|r| r.get(i))
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .unwrap_or_else(|| "NULL".into());
                format!("CAST({value} AS {ty}) AS {col}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = if rows.is_empty() {
        format!("SELECT {} WHERE false", item(None))
    } else {
        rows.iter().map(|r| format!("SELECT {}", item(Some(r)))).collect::<Vec<_>>().join(" UNION ALL ")
    };
    let Ok(Some(Parsed { statement: Statement::Query(q), .. })) = dialect::parse(&sql).map(|mut p| p.pop()) else {
        return None;
    };
    let alias = ast::TableAlias { columns: vec![], ..alias.clone() };
    Some(TableFactor::Derived { lateral: false, subquery: q, alias: Some(alias), sample: None })
}
