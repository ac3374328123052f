//! VACUUM and ANALYZE. VACUUM rewrites a table's segments into one run sorted on its sort key
//! (the sort is DataFusion's, spilling past the cluster's memory budget), so that zone maps
//! skip as much as they can; ANALYZE checks its table: the statistics the planner uses are
//! read from the segment files themselves and are never stale.
use super::*;
use crate::state::SegmentWriter;
use futures::StreamExt;

impl Session {
    pub(super) async fn vacuum(
        &mut self,
        st: &mut DbState,
        v: ast::VacuumStatement,
        fx: &mut Effects,
    ) -> SqlResult<Output> {
        if self.tx.is_some() {
            return Err(SqlError::new("25001", "VACUUM cannot run inside a transaction block"));
        }
        let tables: Vec<(String, String)> = match &v.table_name {
            Some(name) => {
                let (schema, table) = self.table_ref(st, name)?;
                privileges::require_owner(st, &self.user, &schema, &table)?;
                vec![(schema, table)]
            }
            // Without a table: every table the user may vacuum (its own; all for a superuser).
            None => st
                .catalog
                .schemas
                .iter()
                .flat_map(|(s, sm)| {
                    sm.tables.iter().filter(|(_, t)| !t.temporary).map(move |(t, _)| (s.clone(), t.clone()))
                })
                .filter(|(s, t)| privileges::require_owner(st, &self.user, s, t).is_ok())
                .collect(),
        };
        for (schema, table) in tables {
            let meta = st.table(&schema, &table).cloned().expect("resolved");
            let segments = st.data.get(&meta.id).map(|s| s.len()).unwrap_or(0);
            // One segment is sorted already; DELETE ONLY has no deleted rows to reclaim here
            // (a DELETE rewrites its segments).
            if segments <= 1 || v.delete_only {
                continue;
            }
            let order = if meta.sortkey.is_empty() {
                String::new()
            } else {
                format!(" ORDER BY {}", meta.sortkey.iter().map(|k| q(k)).collect::<Vec<_>>().join(", "))
            };
            let sql = format!("SELECT * FROM {}.{}{order}", q(&schema), q(&table));
            let mut parsed = dialect::parse(&sql)?;
            let Some(Statement::Query(query)) = parsed.pop().map(|p| p.statement) else {
                return Err(SqlError::internal("VACUUM's query did not parse"));
            };
            let mut rows = self.query(*query).await?.execute_stream().await?;
            let mut writer = Some(SegmentWriter::new(meta.clone(), self.wh.disk()));
            while let Some(batch) = rows.next().await {
                let batch =
                    RecordBatch::try_new(meta.arrow_schema(), batch?.columns().to_vec()).map_err(SqlError::internal)?;
                let mut w = writer.take().expect("writer");
                writer = Some(
                    tokio::task::spawn_blocking(move || w.push(batch).map(|()| w))
                        .await
                        .map_err(SqlError::internal)??,
                );
            }
            let w = writer.take().expect("writer");
            let (files, staged) =
                tokio::task::spawn_blocking(move || w.finish()).await.map_err(SqlError::internal)??;
            st.data.insert(meta.id, Arc::new(Vec::new()));
            st.append_files(meta.id, files);
            fx.dirty.insert(meta.id);
            fx.staged.push(staged);
        }
        Ok(Output::Command("VACUUM".into(), None))
    }

    pub(super) fn analyze(&self, st: &DbState, a: &ast::Analyze) -> SqlResult<Output> {
        if let Some(name) = &a.table_name {
            let (schema, table) = self.table_ref(st, name)?;
            privileges::require_table(st, &self.user, &schema, &table, Privilege::Select)?;
        }
        Ok(Output::Command("ANALYZE".into(), None))
    }
}
