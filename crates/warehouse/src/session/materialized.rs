//! Materialized views: a table holding the rows of a query as of its last refresh (CREATE
//! MATERIALIZED VIEW, REFRESH MATERIALIZED VIEW, DROP MATERIALIZED VIEW), stale once a base
//! table changes; with AUTO REFRESH YES a stale view is refreshed before a query reads it.
//! Also the relations a query names, which views depend on.
use super::*;
use crate::state::MaterializedMeta;
use datafusion::sql::sqlparser::parser::Parser;

/// `REFRESH MATERIALIZED VIEW name`, which sqlparser does not parse; None for other text.
pub(super) fn parse_refresh(sql: &str) -> Option<SqlResult<ObjectName>> {
    let words: Vec<&str> = sql.split_whitespace().take(3).collect();
    let head = words.iter().map(|w| w.to_ascii_uppercase()).collect::<Vec<_>>();
    if head != ["REFRESH", "MATERIALIZED", "VIEW"] {
        return None;
    }
    let mut rest = sql.trim_start();
    for _ in 0..3 {
        rest = rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..].trim_start();
    }
    let rest = rest.trim().trim_end_matches(';');
    Some(
        (|| {
            let mut parser = Parser::new(&crate::grammar::Redshift).try_with_sql(rest)?;
            let name = parser.parse_object_name(false)?;
            parser.expect_token(&datafusion::sql::sqlparser::tokenizer::Token::EOF)?;
            Ok::<_, datafusion::sql::sqlparser::parser::ParserError>(name)
        })()
        .map_err(SqlError::from),
    )
}

/// The relations a query reads, as written (schema if given, name), leaving out the names
/// of its own common table expressions.
pub(super) fn relations(query: &ast::Query) -> Vec<(Option<String>, String)> {
    let ctes = cte_names(query);
    let mut out = Vec::new();
    let _ = ast::visit_relations(query, |name| {
        let (schema, table) = object_name(name);
        if schema.is_some() || !ctes.contains(&table) {
            out.push((schema, table));
        }
        ControlFlow::<()>::Continue(())
    });
    out
}

/// The names of the common table expressions defined anywhere in `node` (in subqueries, in
/// other CTEs' queries).
pub(super) fn cte_names(node: &impl ast::Visit) -> HashSet<String> {
    struct Ctes(HashSet<String>);
    impl ast::Visitor for Ctes {
        type Break = ();
        fn pre_visit_query(&mut self, query: &ast::Query) -> ControlFlow<()> {
            if let Some(with) = &query.with {
                self.0.extend(with.cte_tables.iter().map(|cte| normalize(&cte.alias.name)));
            }
            ControlFlow::Continue(())
        }
    }
    let mut ctes = Ctes(HashSet::new());
    let _ = node.visit(&mut ctes);
    ctes.0
}

fn not_materialized(name: &str) -> SqlError {
    SqlError::new("42809", format!("\"{name}\" is not a materialized view"))
}

/// Refused writes: a materialized view changes only by REFRESH.
pub(super) fn refuse_materialized(st: &DbState, schema: &str, table: &str) -> SqlResult<()> {
    if st.table(schema, table).is_some_and(|t| t.materialized.is_some()) {
        return Err(SqlError::new("42809", format!("cannot change materialized view \"{table}\"")));
    }
    Ok(())
}

/// Whether a base table changed (or is gone) since the view was refreshed.
pub(crate) fn is_stale(st: &DbState, mv: &MaterializedMeta) -> bool {
    mv.base_versions.iter().any(|(id, version)| {
        let exists = st.catalog.schemas.values().any(|s| s.tables.values().any(|t| t.id == *id));
        !exists || st.table_versions.get(id).copied().unwrap_or(0) != *version
    })
}

impl Session {
    /// The base tables a query reads, through the views it names, with their versions.
    fn base_versions(&self, st: &DbState, query: &ast::Query, depth: usize) -> SqlResult<BTreeMap<u64, u64>> {
        let mut out = BTreeMap::new();
        if depth > 16 {
            return Ok(out);
        }
        for (schema, name) in relations(query) {
            let schema = self.schema_of(schema, &name);
            if let Some(t) = st.table(&schema, &name) {
                out.insert(t.id, st.table_versions.get(&t.id).copied().unwrap_or(0));
            } else if let Some(v) = st.catalog.schemas.get(&schema).and_then(|s| s.views.get(&name)) {
                for parsed in dialect::parse(&v.sql)? {
                    if let Statement::Query(q) = parsed.statement {
                        out.extend(self.base_versions(st, &q, depth + 1)?);
                    }
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn create_materialized_view(
        &mut self,
        st: &mut DbState,
        cv: ast::CreateView,
        attrs: TableAttributes,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        if cv.or_replace {
            return Err(SqlError::syntax("replace"));
        }
        let (schema, name) = object_name(&cv.name);
        let schema = match schema {
            Some(s) => s,
            None => self.creation_schema(st)?,
        };
        let sql = self.view_sql(&cv, true);
        let ctas = format!("CREATE TABLE {}.{} AS {sql}", q(&schema), q(&name));
        let parsed = dialect::parse(&ctas)?.pop().ok_or_else(|| SqlError::internal("materialized view"))?;
        let Statement::CreateTable(ct) = parsed.statement else {
            return Err(SqlError::internal("materialized view"));
        };
        let auto_refresh = attrs.auto_refresh.unwrap_or(false);
        self.create_table(st, ct, attrs, fx).await?;
        let base_versions = self.base_versions(st, &cv.query, 0)?;
        let meta = st.table_mut(&schema, &name).ok_or_else(|| SqlError::internal("materialized view"))?;
        meta.materialized = Some(MaterializedMeta {
            sql,
            auto_refresh,
            base_versions,
            refreshed_at: chrono::Utc::now().timestamp_micros(),
        });
        Ok(Output::Command("CREATE MATERIALIZED VIEW".into(), None))
    }

    /// Recomputes a materialized view's rows from its query, in the statement's state.
    pub(super) async fn refresh_materialized_view(
        &mut self,
        st: &mut DbState,
        schema: &str,
        name: &str,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        let Some(meta) = st.table(schema, name).cloned() else {
            let view = st.catalog.schemas.get(schema).is_some_and(|s| s.views.contains_key(name));
            return Err(if view { not_materialized(name) } else { SqlError::relation_missing(name) });
        };
        let Some(mv) = meta.materialized.clone() else {
            return Err(not_materialized(name));
        };
        privileges::require_owner(st, &self.user, schema, name)?;
        let query = dialect::parse(&mv.sql)?
            .pop()
            .and_then(|p| match p.statement {
                Statement::Query(q) => Some(q),
                _ => None,
            })
            .ok_or_else(|| SqlError::internal("a materialized view's query"))?;
        let base_versions = self.base_versions(st, &query, 0)?;
        let batches = self.query(*query).await?.collect().await?;
        st.replace(meta.id, vec![]);
        let all: Vec<usize> = (0..meta.columns.len()).collect();
        self.append(st, schema, name, &all, batches).await?;
        if let Some(t) = st.table_mut(schema, name) {
            t.materialized =
                Some(MaterializedMeta { base_versions, refreshed_at: chrono::Utc::now().timestamp_micros(), ..mv });
        }
        fx.dirty.insert(meta.id);
        fx.ddl = true;
        Ok(Output::Command("REFRESH".into(), None))
    }

    pub(super) async fn refresh(&mut self, name: &ObjectName) -> SqlResult<Output> {
        if self.transaction_failed() {
            return Err(SqlError::aborted());
        }
        if self.tx.is_none() {
            self.view.set(self.wh.committed());
        }
        let (schema, table) = object_name(name);
        let schema = self.schema_of(schema, &table);
        self.write_op(WriteOp::Refresh(schema, table)).await
    }

    /// Before a query outside a transaction: every stale AUTO REFRESH view it reads is
    /// refreshed first. A refresh that fails leaves the view as it was (stale), as an
    /// automatic refresh on Redshift does.
    pub(super) async fn auto_refresh(&mut self, query: &ast::Query) -> SqlResult<()> {
        let st = self.view.get();
        let mut due = Vec::new();
        for (schema, name) in relations(query) {
            let schema = self.schema_of(schema, &name);
            if let Some(mv) = st.table(&schema, &name).and_then(|t| t.materialized.as_ref()) {
                if mv.auto_refresh && is_stale(&st, mv) {
                    due.push((schema, name));
                }
            }
        }
        for (schema, name) in due {
            if let Err(e) = self.write_op(WriteOp::Refresh(schema.clone(), name.clone())).await {
                tracing::warn!(view = %format!("{schema}.{name}"), error = %e.message, "automatic refresh failed");
            }
            self.view.set(self.wh.committed());
        }
        Ok(())
    }

    /// The SQL a view keeps: its query, with the relations its names mean now when it is
    /// bound to them, under the column names it declares.
    pub(super) fn view_sql(&self, cv: &ast::CreateView, bind: bool) -> String {
        let mut bound = Statement::Query(cv.query.clone());
        if bind {
            self.qualify_names(&mut bound);
        }
        let mut sql = match bound {
            Statement::Query(q) => q.to_string(),
            other => other.to_string(),
        };
        if !cv.columns.is_empty() {
            let cols: Vec<String> = cv.columns.iter().map(|c| c.name.to_string()).collect();
            sql = format!("SELECT * FROM ({sql}) AS v({})", cols.join(", "));
        }
        sql
    }

    /// The views (bound to their relations) that read `schema.name`.
    pub(super) fn dependent_views(&self, st: &DbState, schema: &str, name: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (vs, s) in &st.catalog.schemas {
            for (vn, v) in &s.views {
                if v.late_binding || (vs == schema && vn == name) {
                    continue;
                }
                let reads = dialect::parse(&v.sql).ok().into_iter().flatten().any(|p| match &p.statement {
                    Statement::Query(q) => relations(q)
                        .into_iter()
                        .any(|(rs, rn)| rn == name && rs.unwrap_or_else(|| "public".into()) == schema),
                    _ => false,
                });
                if reads {
                    out.push((vs.clone(), vn.clone()));
                }
            }
        }
        out
    }
}
