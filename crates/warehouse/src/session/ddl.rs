//! CREATE TABLE (AS, LIKE), DROP and ALTER TABLE.
use super::*;

impl Session {
    pub(super) async fn create_table(
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
            (None, false) => self.creation_schema(st)?,
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
                .map(|c| ColumnMeta {
                    default: if with_defaults { c.default.clone() } else { None },
                    trailing_blanks: false,
                    ..c.clone()
                })
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
                    other => other_column_option(other)?,
                }
            }
            columns.push(ColumnMeta {
                name: cname.clone(),
                ty,
                nullable,
                default,
                identity: attrs.identity.get(&cname).copied(),
                encode: attrs.encode.get(&cname).cloned(),
                trailing_blanks: false,
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
                    // A text column keeps its declared type (CHAR, VARCHAR, SUPER, HLLSKETCH);
                    // a computed one is VARCHAR(256).
                    let ty = match RsType::from_arrow(f.data_type()) {
                        RsType::Varchar(_) => f
                            .metadata()
                            .get(TYPE_KEY)
                            .and_then(|m| RsType::from_pg_name(m))
                            .filter(|t| t.arrow() == DataType::Utf8)
                            .unwrap_or(RsType::Varchar(256)),
                        other => other,
                    };
                    let name = crate::dialect::output_name(f.name()).to_ascii_lowercase();
                    if columns.iter().any(|c: &ColumnMeta| c.name == name) {
                        return Err(SqlError::new("42701", format!("column \"{name}\" specified more than once")));
                    }
                    columns.push(ColumnMeta {
                        name,
                        ty,
                        nullable: true,
                        default: None,
                        identity: None,
                        encode: None,
                        trailing_blanks: false,
                    });
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
            materialized: None,
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

    pub(super) fn drop(
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
            ObjectType::MaterializedView => "DROP MATERIALIZED VIEW",
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
                ObjectType::Table | ObjectType::MaterializedView => {
                    let schema = self.schema_of(schema, &name);
                    let materialized = kind == ObjectType::MaterializedView;
                    let what = if materialized { "materialized view" } else { "table" };
                    let Some(t) = st.table(&schema, &name).cloned() else {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::new("42P01", format!("{what} \"{name}\" does not exist")));
                    };
                    if t.materialized.is_some() != materialized {
                        let (is_not, hint) = if materialized {
                            ("a materialized view", "Use DROP TABLE to remove a table.")
                        } else {
                            ("a table", "Use DROP MATERIALIZED VIEW to remove a materialized view.")
                        };
                        return Err(SqlError::new("42809", format!("\"{name}\" is not {is_not}")).with_detail(hint));
                    }
                    privileges::require_owner(st, &self.user, &schema, &name)?;
                    self.drop_dependents(st, &schema, &name, what, cascade)?;
                    st.catalog.schemas.get_mut(&schema).expect("present").tables.remove(&name);
                    st.data.remove(&t.id);
                    self.temp_tables.retain(|(s, n)| !(s == &schema && n == &name));
                }
                _ => {
                    let schema = self.schema_of(schema, &name);
                    if st.table(&schema, &name).is_some_and(|t| t.materialized.is_some()) {
                        return Err(SqlError::new("42809", format!("\"{name}\" is not a view"))
                            .with_detail("Use DROP MATERIALIZED VIEW to remove a materialized view."));
                    }
                    let exists = st.catalog.schemas.get(&schema).is_some_and(|s| s.views.contains_key(&name));
                    if !exists {
                        if if_exists {
                            continue;
                        }
                        return Err(SqlError::new("42P01", format!("view \"{name}\" does not exist")));
                    }
                    self.drop_dependents(st, &schema, &name, "view", cascade)?;
                    st.catalog.schemas.get_mut(&schema).and_then(|s| s.views.remove(&name));
                }
            }
        }
        fx.ddl = true;
        Ok(Output::Command(tag.into(), None))
    }

    /// The views bound to `schema.name`: refused without CASCADE, dropped with it.
    fn drop_dependents(&self, st: &mut DbState, schema: &str, name: &str, what: &str, cascade: bool) -> SqlResult<()> {
        let mut pending = self.dependent_views(st, schema, name);
        if pending.is_empty() {
            return Ok(());
        }
        if !cascade {
            return Err(SqlError::new(
                "2BP01",
                format!("cannot drop {what} {name} because other objects depend on it"),
            )
            .with_detail("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        while let Some((vs, vn)) = pending.pop() {
            if st.catalog.schemas.get_mut(&vs).and_then(|s| s.views.remove(&vn)).is_some() {
                pending.extend(self.dependent_views(st, &vs, &vn));
            }
        }
        Ok(())
    }

    pub(super) async fn alter_table(
        &mut self,
        st: &mut DbState,
        at: ast::AlterTable,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        let (schema, table) = match self.table_ref(st, &at.name) {
            Ok(r) => r,
            Err(_) if at.if_exists => return Ok(Output::Command("ALTER TABLE".into(), None)),
            Err(e) => return Err(e),
        };
        privileges::require_owner(st, &self.user, &schema, &table)?;
        refuse_materialized(st, &schema, &table)?;
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
                            other => other_column_option(other)?,
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
                        trailing_blanks: matches!(&fill, Some(ScalarValue::Utf8(Some(s))) if s.ends_with(' ')),
                    });
                    let schema_ref = new_meta.arrow_schema();
                    let mut batches = Vec::new();
                    for b in st.batches(&meta)? {
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
                            .batches(&meta)?
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
                        .batches(&meta)?
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
}

/// Column options besides NOT NULL, DEFAULT and PRIMARY KEY: UNIQUE and REFERENCES are
/// informational on Redshift (kept by no check), NULL and a case-sensitive collation are the
/// defaults; what nuage cannot honour is refused rather than ignored.
fn other_column_option(option: &ColumnOption) -> SqlResult<()> {
    match option {
        ColumnOption::Null | ColumnOption::Unique(_) | ColumnOption::ForeignKey(_) => Ok(()),
        ColumnOption::Collation(c)
            if matches!(c.to_string().trim_matches('"').to_ascii_lowercase().as_str(), "case_sensitive" | "cs") =>
        {
            Ok(())
        }
        ColumnOption::Collation(c) => {
            Err(SqlError::unsupported(format!("column collation {c} is not supported (use COLLATE in the comparison)")))
        }
        other => Err(SqlError::unsupported(format!("column option {other} is not supported"))),
    }
}
