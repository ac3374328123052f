//! INSERT, UPDATE, DELETE and MERGE, applied to a copy of the state; rows conformed to their table's types.
use super::*;

impl Session {
    /// Applies a write statement: on the transaction's state inside BEGIN ... COMMIT, else on
    /// a copy of the committed state that is committed at once.
    pub(super) async fn write(&mut self, statement: Statement, attrs: TableAttributes) -> SqlResult<Output> {
        self.write_op(WriteOp::Statement(Box::new(statement), attrs)).await
    }

    /// Applies a write (a statement, or a REFRESH MATERIALIZED VIEW) in the open transaction
    /// or in its own commit.
    pub(super) async fn write_op(&mut self, op: WriteOp) -> SqlResult<Output> {
        if let Some(tx) = &self.tx {
            let mut work = tx.state.clone();
            self.view.set(Arc::new(work.clone()));
            let mut fx = Effects::default();
            let result = self.apply_op(&mut work, op, &mut fx).await;
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
            let out = self.apply_op(&mut work, op, &mut fx).await?;
            if !fx.dirty.is_empty() || fx.ddl {
                wh.commit(work, &fx.dirty).await?;
            }
            self.view.set(wh.committed());
            Ok(out)
        }
    }

    async fn apply_op(&mut self, st: &mut DbState, op: WriteOp, fx: &mut Effects) -> SqlResult<Output> {
        match op {
            WriteOp::Statement(statement, attrs) => self.apply(st, *statement, attrs, fx).await,
            WriteOp::Refresh(schema, name) => self.refresh_materialized_view(st, &schema, &name, fx).await,
        }
    }

    pub(super) async fn apply(
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
                refuse_materialized(st, &schema, &table)?;
                let meta = st.table(&schema, &table).cloned().expect("resolved");
                let targets = target_columns(&meta, &table, &ins.columns)?;
                let mut source = ins.source.ok_or_else(|| SqlError::unsupported("INSERT without VALUES or a query"))?;
                if let SetExpr::Values(values) = source.body.as_mut() {
                    let several = values.rows.len() > 1;
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
                            // A quoted literal takes its column's type, as in PostgreSQL, so that
                            // rows may mix '2024-01-01 10:00' and GETDATE() in one column.
                            if several {
                                typed_literal(e, &meta.columns[targets[i]].ty);
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
                refuse_materialized(st, &schema, &table)?;
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
                refuse_materialized(st, &schema, &table)?;
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
                    refuse_materialized(st, &schema, &table)?;
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
            Statement::CreateView(cv) if cv.materialized => self.create_materialized_view(st, cv, attrs, fx).await,
            Statement::CreateView(cv) => {
                let (schema, name) = object_name(&cv.name);
                let schema = match schema {
                    Some(s) => s,
                    None => self.creation_schema(st)?,
                };
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
                // A view must plan now, against the state it is created in; a late-binding
                // view is checked when it is queried, and names its relations with their schema.
                let late_binding = cv.with_no_schema_binding;
                if late_binding {
                    if relations(&cv.query).iter().any(|r| r.0.is_none()) {
                        return Err(SqlError::new(
                            "0A000",
                            "All the relations in no schema binding view should be qualified with a schema name.",
                        ));
                    }
                } else {
                    self.query((*cv.query).clone()).await?;
                }
                // A bound view keeps the relations its names meant when it was created.
                let sql = self.view_sql(&cv, !late_binding);
                let schema_meta = st.catalog.schemas.get_mut(&schema).expect("checked");
                schema_meta
                    .views
                    .insert(name, ViewMeta { sql, owner: self.user.clone(), grants: Default::default(), late_binding });
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
            Statement::Analyze(a) => self.analyze(st, &a),
            Statement::Vacuum(v) => self.vacuum(st, v, fx).await,
            other => {
                let first = other.to_string().split_whitespace().next().unwrap_or("").to_string();
                Err(SqlError::unsupported(format!("{first} is not supported")))
            }
        }
    }

    /// MERGE INTO target USING source ON ... WHEN MATCHED THEN UPDATE SET ... | DELETE
    /// WHEN NOT MATCHED THEN INSERT ...: both branches read the target as it was before.
    pub(super) async fn merge(&mut self, st: &mut DbState, m: ast::Merge, fx: &mut Effects) -> SqlResult<Output> {
        let TableFactor::Table { name, alias, .. } = &m.table else {
            return Err(SqlError::unsupported("MERGE into this relation is not supported"));
        };
        let (schema, table) = self.table_ref(st, name)?;
        refuse_materialized(st, &schema, &table)?;
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
    pub(super) async fn update_from(
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
        let target = concat_batches(&meta.arrow_schema(), &st.batches(&meta)?).map_err(SqlError::internal)?;
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
            trailing_blanks: false,
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
    pub(super) async fn append(
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

    pub(super) async fn conform(
        &self,
        st: &mut DbState,
        schema: &str,
        table: &str,
        targets: &[usize],
        batches: Vec<RecordBatch>,
    ) -> SqlResult<Vec<RecordBatch>> {
        let meta = st.table(schema, table).cloned().expect("resolved");
        let mut c = self.conformer(meta, targets).await?;
        let mut out = Vec::with_capacity(batches.len());
        for b in batches {
            out.extend(c.conform(b)?);
        }
        if let Some(m) = st.table_mut(schema, table) {
            c.record(m);
        }
        Ok(out)
    }

    /// What rows bound for `meta`'s `targets` need to become its rows: the defaults of the
    /// other columns, evaluated once.
    pub(super) async fn conformer(&self, meta: TableMeta, targets: &[usize]) -> SqlResult<Conformer> {
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
        let identity_next = meta.identity_next.clone();
        let schema = meta.arrow_schema();
        Ok(Conformer { meta, schema, targets: targets.to_vec(), defaults, identity_next })
    }
}

/// Turns batches of a statement's target columns into rows of its table: casts to the
/// columns' types, defaults and IDENTITY values for the columns not given, and the checks
/// (lengths, NOT NULL) the table declares.
pub(crate) struct Conformer {
    meta: TableMeta,
    /// The table's Arrow schema, derived once.
    schema: datafusion::arrow::datatypes::SchemaRef,
    targets: Vec<usize>,
    defaults: BTreeMap<usize, ScalarValue>,
    /// IDENTITY counters after the rows conformed so far.
    pub(crate) identity_next: BTreeMap<String, i64>,
}

impl Conformer {
    pub(crate) fn conform(&mut self, b: RecordBatch) -> SqlResult<Option<RecordBatch>> {
        let meta = &self.meta;
        let targets = &self.targets;
        let opts = CastOptions { safe: false, ..Default::default() };
        let n = b.num_rows();
        if n == 0 {
            return Ok(None);
        }
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(meta.columns.len());
        let mut given_blanks = Vec::new();
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
                None => match self.defaults.get(&i) {
                    Some(v) if !v.is_null() => {
                        let a = v.to_array_of_size(n)?;
                        cast_with_options(&a, &ty, &opts).map_err(|e| cast_error(&c.name, &c.ty, e))?
                    }
                    _ => new_null_array(&ty, n),
                },
            };
            if let Some((seed, step)) = c.identity {
                if array.null_count() > 0 {
                    let next = self.identity_next.entry(c.name.clone()).or_insert(seed);
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
            if matches!(c.ty, RsType::Varchar(_)) && !c.trailing_blanks && ends_in_blank(&array) {
                given_blanks.push(i);
            }
            if !c.nullable && array.null_count() > 0 {
                return Err(SqlError::new("23502", format!("Cannot insert a NULL value into column {}", c.name)));
            }
            arrays.push(array);
        }
        for i in given_blanks {
            self.meta.columns[i].trailing_blanks = true;
        }
        Ok(Some(RecordBatch::try_new(self.schema.clone(), arrays).map_err(SqlError::internal)?))
    }

    /// Records in the table's catalog entry what the rows conformed so far changed there:
    /// IDENTITY counters, and which columns were given values ending in a blank.
    pub(crate) fn record(self, table: &mut TableMeta) {
        table.identity_next = self.identity_next;
        for (c, seen) in table.columns.iter_mut().zip(&self.meta.columns) {
            c.trailing_blanks |= seen.trailing_blanks && c.name == seen.name;
        }
    }
}

/// Whether some value of a string column ends in a blank.
fn ends_in_blank(array: &ArrayRef) -> bool {
    array
        .as_any()
        .downcast_ref::<datafusion::arrow::array::StringArray>()
        .is_some_and(|s| s.iter().flatten().any(|v| v.ends_with(' ')))
}

/// The positions of an INSERT's target columns (all, in order, when none are named).
pub(super) fn target_columns(meta: &TableMeta, table: &str, columns: &[ObjectName]) -> SqlResult<Vec<usize>> {
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
pub(super) fn column_name(c: &ObjectName) -> String {
    c.0.last().and_then(|p| p.as_ident()).map(normalize).unwrap_or_default()
}

/// Splits off the trailing `__nuage_hit` column (1 where a row was touched): how many rows
/// it marks, and the batches without it.
pub(super) fn split_hits(batches: Vec<RecordBatch>) -> SqlResult<(usize, Vec<RecordBatch>)> {
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
pub(super) fn assignments(
    meta: &TableMeta,
    table: &str,
    list: &[ast::Assignment],
) -> SqlResult<BTreeMap<String, String>> {
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

/// A quoted literal or NULL in a multi-row VALUES list, cast to its target column's type
/// where that is not text (text columns take the literal as it is).
fn typed_literal(e: &mut Expr, ty: &crate::types::RsType) {
    use crate::types::RsType;
    let literal =
        matches!(e, Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_) | ast::Value::Null));
    let target = match ty {
        RsType::SmallInt => ast::DataType::SmallInt(None),
        RsType::Integer => ast::DataType::Integer(None),
        RsType::BigInt => ast::DataType::BigInt(None),
        RsType::Decimal(p, s) => ast::DataType::Decimal(ast::ExactNumberInfo::PrecisionAndScale(*p as u64, *s as i64)),
        RsType::Real => ast::DataType::Real,
        RsType::Double => ast::DataType::DoublePrecision,
        RsType::Boolean => ast::DataType::Boolean,
        RsType::Date => ast::DataType::Date,
        RsType::Timestamp => ast::DataType::Timestamp(None, ast::TimezoneInfo::None),
        RsType::Timestamptz => ast::DataType::Timestamp(None, ast::TimezoneInfo::WithTimeZone),
        RsType::Time => ast::DataType::Time(None, ast::TimezoneInfo::None),
        RsType::Char(_) | RsType::Varchar(_) | RsType::Super | RsType::Varbyte(_) | RsType::HllSketch => return,
    };
    if literal {
        *e = Expr::Cast {
            kind: ast::CastKind::Cast,
            expr: Box::new(e.clone()),
            data_type: target,
            array: false,
            format: None,
        };
    }
}
