//! Where Redshift runs a query decides which functions it may call: a query naming a user
//! table or a system table (STL/STV/SVL/SVV) runs on the compute nodes, which refuse the
//! leader-node-only functions; a query naming neither runs on the leader node, which refuses
//! the compute-node-only ones. nuage refuses both as Redshift does.
use super::*;

/// Leader-node-only functions (the SQL reference's list, with the deprecated date and string
/// ones; GETBIT is now VARBYTE's, which runs anywhere). LISTAGG is planned as string_agg.
const LEADER_ONLY: &[&str] = &[
    "current_schema",
    "current_schemas",
    "has_database_privilege",
    "has_schema_privilege",
    "has_table_privilege",
    "factorial",
    "age",
    "current_time",
    "current_timestamp",
    "localtime",
    "isfinite",
    "now",
    "get_byte",
    "set_bit",
    "set_byte",
    "to_ascii",
];

const COMPUTE_ONLY: &[&str] = &["string_agg", "median", "percentile_cont", "percentile_disc"];

fn function_names(query: &ast::Query) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let _ = ast::visit_expressions(query, |e| {
        if let Expr::Function(f) = e {
            names.insert(f.name.to_string().to_ascii_lowercase());
        }
        ControlFlow::<()>::Continue(())
    });
    names
}

impl Session {
    pub(super) fn check_node_functions(&self, query: &ast::Query) -> SqlResult<()> {
        let names = function_names(query);
        let leader: Vec<&str> = LEADER_ONLY.iter().copied().filter(|f| names.contains(*f)).collect();
        let compute = COMPUTE_ONLY.iter().any(|f| names.contains(*f));
        if leader.is_empty() && !compute {
            return Ok(());
        }
        let st = self.view.get();
        let on_compute_nodes = relations(query).into_iter().any(|(schema, name)| {
            let catalog = matches!(schema.as_deref(), Some("pg_catalog" | "information_schema"));
            let schema = self.schema_of(schema, &name);
            !catalog
                && (crate::system::is_system_table(&name)
                    || st.table(&schema, &name).is_some()
                    || st.catalog.schemas.get(&schema).is_some_and(|s| s.views.contains_key(&name)))
        });
        if on_compute_nodes && !leader.is_empty() {
            let infos: Vec<String> = leader.iter().map(|f| format!("Function \"{f}()\" not supported.")).collect();
            return Err(SqlError::new(
                "0A000",
                "Specified types or functions (one per INFO message) not supported on Redshift tables.",
            )
            .with_detail(infos.join("\n")));
        }
        if !on_compute_nodes && compute {
            return Err(SqlError::new(
                "0A000",
                "One or more of the used functions must be applied on at least one user created table. Examples of user table only functions are LISTAGG, MEDIAN, PERCENTILE_CONT, etc",
            ));
        }
        Ok(())
    }
}
