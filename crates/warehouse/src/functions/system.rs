//! Redshift's system information functions that read the session or the cluster:
//! CURRENT_USER_ID, CURRENT_AWS_ACCOUNT, CURRENT_NAMESPACE, DEFAULT_IAM_ROLE, PG_BACKEND_PID,
//! PG_LAST_QUERY_ID, PG_LAST_UNLOAD_ID/COUNT, CURRENT_SETTING, SET_CONFIG, SLICE_NUM, and HAS_TABLE_PRIVILEGE,
//! HAS_SCHEMA_PRIVILEGE, HAS_DATABASE_PRIVILEGE answered from the catalog's grants.
use super::row::{boolean, int, sql_error, text, Arg, RowFunction, BOOL, TEXT};
use crate::engine::{View, Warehouse};
use crate::state::{DbState, Privilege};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Volatility;
use datafusion::prelude::SessionContext;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// What a session shares with the functions that report on it.
pub struct SessionFacts {
    pub user: String,
    pub pid: i32,
    pub last_query: AtomicI64,
    /// The last UNLOAD's query id and row count (-1 and 0 before one).
    pub last_unload: (AtomicI64, AtomicI64),
    /// Settings changed by SET or SET_CONFIG (the rest have their defaults).
    pub settings: Mutex<BTreeMap<String, String>>,
    /// The warehouse's own defaults (a workgroup's config parameters), before Redshift's.
    defaults: BTreeMap<String, String>,
}

impl SessionFacts {
    pub fn new(user: &str, pid: i32, defaults: BTreeMap<String, String>) -> SessionFacts {
        SessionFacts {
            defaults,
            user: user.to_string(),
            pid,
            last_query: AtomicI64::new(-1),
            last_unload: (AtomicI64::new(-1), AtomicI64::new(0)),
            settings: Mutex::new(BTreeMap::new()),
        }
    }

    /// A setting's value as the session sees it; None for a parameter Redshift does not have.
    pub fn setting(&self, name: &str) -> Option<String> {
        if let Some(v) = self.settings.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.defaults.get(name) {
            return Some(v.clone());
        }
        default_setting(name).map(str::to_string)
    }

    pub fn reset(&self, name: &str) {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
    }

    pub fn reset_all(&self) {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub fn set(&self, name: &str, value: &str) {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), value.to_string());
    }
}

/// The value a parameter has until the session sets it; None for a parameter Redshift does
/// not have.
fn default_setting(name: &str) -> Option<&'static str> {
    Some(match name {
        "search_path" => "$user, public",
        "datestyle" => "ISO, MDY",
        "timezone" => "UTC",
        "standard_conforming_strings" => "on",
        "server_version" => "8.0.2",
        "server_encoding" | "client_encoding" => "UTF8",
        "transaction_isolation" | "transaction isolation level" => "serializable",
        "statement_timeout" => "0",
        "query_group" => "default",
        "max_identifier_length" => "127",
        "integer_datetimes" => "on",
        "enable_result_cache_for_session" => "on",
        "extra_float_digits" => "0",
        "max_cursor_result_set_size" => "default",
        "analyze_threshold_percent" => "10",
        "describe_field_name_in_uppercase" => "off",
        "enable_case_sensitive_identifier" => "off",
        "wlm_query_slot_count" => "1",
        "error_on_nondeterministic_update" => "false",
        "application_name" => "",
        // nuage never rewrites a query to read a materialized view, whatever this says.
        "mv_enable_aqmv_for_session" => "true",
        _ => return None,
    })
}

/// The schemas of a search_path setting that exist, in order (`$user` is the schema named
/// as the user).
pub fn search_path(setting: &str, user: &str, st: &DbState) -> Vec<String> {
    setting
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
        .map(|s| if s == "$user" { user.to_string() } else { s.to_ascii_lowercase() })
        .filter(|s| st.catalog.schemas.contains_key(s))
        .collect()
}

/// Whether SET may give `name` this value: the parameter must exist, and a value nuage cannot
/// honour is refused rather than kept and ignored (sessions are in UTC with ISO dates,
/// identifiers fold to lower case, statements are not timed out).
pub fn check_setting(name: &str, value: &str) -> Result<()> {
    let v = value.trim().to_ascii_lowercase();
    let supported = match name {
        "timezone" | "time zone" => matches!(v.as_str(), "utc" | "gmt" | "z" | "etc/utc" | "00:00" | "0"),
        "datestyle" => v.contains("iso") && !v.contains("dmy") && !v.contains("ymd"),
        "enable_case_sensitive_identifier" | "describe_field_name_in_uppercase" => {
            matches!(v.as_str(), "off" | "false" | "0")
        }
        "statement_timeout" => v == "0",
        "server_version" | "server_encoding" | "integer_datetimes" | "max_identifier_length" | "is_superuser" => {
            return Err(sql_error("55P02", format!("parameter \"{name}\" cannot be changed")));
        }
        "client_encoding" => matches!(v.as_str(), "utf8" | "unicode" | "utf-8"),
        _ if default_setting(name).is_none() => return Err(unrecognized(name)),
        _ => true,
    };
    if supported {
        Ok(())
    } else {
        Err(sql_error("0A000", format!("nuage does not support {name} = '{value}'")))
    }
}

fn unrecognized(name: &str) -> datafusion::common::DataFusionError {
    sql_error("42704", format!("unrecognized configuration parameter \"{name}\""))
}

/// The user a privilege function asks about: named, by id, or the session's.
fn user_named(st: &DbState, v: &ScalarValue) -> Result<String> {
    let found = match (text(v), int(v)) {
        (Some(name), _) => st.catalog.users.contains_key(name).then(|| name.to_string()),
        (None, Some(id)) => st.catalog.users.iter().find(|(_, u)| u.id == id).map(|(n, _)| n.clone()),
        _ => None,
    };
    found.ok_or_else(|| sql_error("42704", format!("user \"{v}\" does not exist")))
}

/// A privilege list as PostgreSQL reads it (`'select, insert'`): any one granted suffices.
fn privileges(list: &str, allowed: &[&str]) -> Result<Vec<String>> {
    list.split(',')
        .map(|p| {
            let p = p.trim().to_ascii_uppercase();
            let p = p.trim_end_matches(" WITH GRANT OPTION").to_string();
            if allowed.contains(&p.as_str()) {
                Ok(p)
            } else {
                Err(sql_error("22023", format!("unrecognized privilege type: \"{}\"", p.to_ascii_lowercase())))
            }
        })
        .collect()
}

enum Object {
    Table,
    Schema,
    Database,
}

fn has_privilege(st: &DbState, facts: &SessionFacts, kind: &Object, args: &[ScalarValue]) -> Result<ScalarValue> {
    let (user, object, wanted) = match args {
        [object, wanted] => (facts.user.clone(), object, wanted),
        [user, object, wanted] => (user_named(st, user)?, object, wanted),
        _ => unreachable!("forms of two or three arguments"),
    };
    let object = text(object).unwrap_or_default();
    let wanted = text(wanted).unwrap_or_default();
    let ok = match kind {
        Object::Table => {
            // An unqualified name is found as a query finds it: through the search path.
            let (schema, table) = match object.rsplit_once('.') {
                Some((s, t)) => (s.to_ascii_lowercase(), t.to_ascii_lowercase()),
                None => {
                    let table = object.to_ascii_lowercase();
                    let path = search_path(&facts.setting("search_path").unwrap_or_default(), &facts.user, st);
                    let found = path.into_iter().find(|s| {
                        st.catalog
                            .schemas
                            .get(s)
                            .is_some_and(|m| m.tables.contains_key(&table) || m.views.contains_key(&table))
                    });
                    (found.unwrap_or_else(|| "public".into()), table)
                }
            };
            // The system catalog and system tables are everyone's to read.
            let system = ["pg_catalog", "information_schema"].contains(&schema.as_str())
                || table.starts_with("pg_")
                || crate::system::is_system_table(&table);
            if system {
                let p = privileges(wanted, &["SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES"])?;
                return Ok(ScalarValue::Boolean(Some(p.iter().any(|p| p == "SELECT"))));
            }
            let exists = st.table(&schema, &table).is_some()
                || st.catalog.schemas.get(&schema).is_some_and(|s| s.views.contains_key(&table));
            if !exists {
                return Err(sql_error("42P01", format!("relation \"{object}\" does not exist")));
            }
            privileges(wanted, &["SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES"])?.iter().any(|p| {
                let p = Privilege::parse(p).expect("a table privilege");
                crate::privileges::require_table(st, &user, &schema, &table, p).is_ok()
            })
        }
        Object::Schema => {
            let schema = object.to_ascii_lowercase();
            if !st.catalog.schemas.contains_key(&schema) {
                return Err(sql_error("3F000", format!("schema \"{object}\" does not exist")));
            }
            privileges(wanted, &["CREATE", "USAGE"])?.iter().any(|p| {
                let p = Privilege::parse(p).expect("a schema privilege");
                crate::privileges::require_schema(st, &user, &schema, p).is_ok()
            })
        }
        Object::Database => {
            if !object.eq_ignore_ascii_case(&st.catalog.database) {
                return Err(sql_error("3D000", format!("database \"{object}\" does not exist")));
            }
            // Everyone may create temporary tables; CREATE (schemas) is the superuser's and
            // the database owner's, who is the superuser here.
            privileges(wanted, &["CREATE", "TEMPORARY", "TEMP"])?
                .iter()
                .any(|p| p != "CREATE" || crate::privileges::is_superuser(st, &user))
        }
    };
    Ok(ScalarValue::Boolean(Some(ok)))
}

pub fn register(ctx: &SessionContext, wh: Weak<Warehouse>, view: Arc<View>, facts: Arc<SessionFacts>) {
    let mut functions = Vec::new();
    for (name, kind) in [
        ("has_table_privilege", Object::Table),
        ("has_schema_privilege", Object::Schema),
        ("has_database_privilege", Object::Database),
    ] {
        let (view, facts) = (view.clone(), facts.clone());
        functions.push(
            RowFunction::new(name, vec![vec![TEXT, TEXT], vec![Arg::Any, TEXT, TEXT]], DataType::Boolean, move |a| {
                has_privilege(&view.get(), &facts, &kind, a)
            })
            .volatility(Volatility::Stable),
        );
    }
    // CURRENT_SCHEMA and CURRENT_SCHEMAS follow the session's search_path.
    let (v, f) = (view.clone(), facts.clone());
    functions.push(
        RowFunction::new("current_schema", vec![vec![]], DataType::Utf8, move |_| {
            let path = search_path(&f.setting("search_path").unwrap_or_default(), &f.user, &v.get());
            Ok(ScalarValue::Utf8(path.into_iter().next()))
        })
        .volatility(Volatility::Stable),
    );
    let (v, f) = (view.clone(), facts.clone());
    let item = Arc::new(datafusion::arrow::datatypes::Field::new_list_field(DataType::Utf8, true));
    functions.push(
        RowFunction::new("current_schemas", vec![vec![BOOL]], DataType::List(item), move |a| {
            let mut path = search_path(&f.setting("search_path").unwrap_or_default(), &f.user, &v.get());
            if boolean(&a[0]).unwrap_or(false) {
                path.insert(0, "pg_catalog".into());
            }
            let items: Vec<ScalarValue> = path.into_iter().map(|s| ScalarValue::Utf8(Some(s))).collect();
            Ok(ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8)))
        })
        .volatility(Volatility::Stable),
    );
    // Privileges on what nuage has no catalog of: built-in functions and languages are
    // PUBLIC's; no datashare or model exists; every user may use the cluster's IAM roles
    // (PUBLIC holds ASSUMEROLE until it is revoked, and nuage has no REVOKE ASSUMEROLE).
    let v = view.clone();
    let functions_known: std::collections::HashSet<String> =
        ctx.state().scalar_functions().keys().chain(ctx.state().aggregate_functions().keys()).cloned().collect();
    functions.push(
        RowFunction::new(
            "has_function_privilege",
            vec![vec![TEXT, TEXT], vec![Arg::Any, TEXT, TEXT]],
            DataType::Boolean,
            move |a| {
                let st = v.get();
                let (signature, wanted) = match a {
                    [sig, p] => (sig, p),
                    [user, sig, p] => {
                        user_named(&st, user)?;
                        (sig, p)
                    }
                    _ => unreachable!("two or three arguments"),
                };
                let signature = text(signature).unwrap_or_default();
                let name = signature.split('(').next().unwrap_or_default().trim().to_ascii_lowercase();
                if !functions_known.contains(&name) {
                    return Err(sql_error("42883", format!("function \"{signature}\" does not exist")));
                }
                privileges(text(wanted).unwrap_or_default(), &["EXECUTE"])?;
                Ok(ScalarValue::Boolean(Some(true)))
            },
        )
        .volatility(Volatility::Stable),
    );
    let (v, f) = (view.clone(), facts.clone());
    functions.push(
        RowFunction::new(
            "has_language_privilege",
            vec![vec![TEXT, TEXT], vec![Arg::Any, TEXT, TEXT]],
            DataType::Boolean,
            move |a| {
                let st = v.get();
                let (user, language, wanted) = match a {
                    [l, p] => (f.user.clone(), l, p),
                    [u, l, p] => (user_named(&st, u)?, l, p),
                    _ => unreachable!("two or three arguments"),
                };
                privileges(text(wanted).unwrap_or_default(), &["USAGE"])?;
                let language = text(language).unwrap_or_default().to_ascii_lowercase();
                let ok = match language.as_str() {
                    "sql" | "plpgsql" => true,
                    "plpythonu" => crate::privileges::is_superuser(&st, &user),
                    _ => return Err(sql_error("42704", format!("language \"{language}\" does not exist"))),
                };
                Ok(ScalarValue::Boolean(Some(ok)))
            },
        )
        .volatility(Volatility::Stable),
    );
    for (name, what) in [("has_datashare_privilege", "datashare"), ("has_model_privilege", "model")] {
        let v = view.clone();
        functions.push(
            RowFunction::new(name, vec![vec![TEXT, TEXT], vec![Arg::Any, TEXT, TEXT]], DataType::Boolean, move |a| {
                if let [user, _, _] = a {
                    user_named(&v.get(), user)?;
                }
                let object = text(&a[a.len() - 2]).unwrap_or_default();
                Err(sql_error("42704", format!("{what} \"{object}\" does not exist")))
            })
            .volatility(Volatility::Stable),
        );
    }
    let v = view.clone();
    functions.push(
        RowFunction::new(
            "has_assumerole_privilege",
            vec![vec![TEXT, TEXT], vec![Arg::Any, TEXT, TEXT]],
            DataType::Boolean,
            move |a| {
                if let [user, _, _] = a {
                    user_named(&v.get(), user)?;
                }
                let role = text(&a[a.len() - 2]).unwrap_or_default();
                if !role.starts_with("arn:aws:iam::") || !role.contains(":role/") {
                    return Err(sql_error("22023", format!("invalid IAM role ARN \"{role}\"")));
                }
                let cmd = text(&a[a.len() - 1]).unwrap_or_default().trim().to_ascii_uppercase();
                if !["COPY", "UNLOAD", "EXTERNAL FUNCTION", "CREATE MODEL", "ALL"].contains(&cmd.as_str()) {
                    return Err(sql_error("22023", format!("invalid command type \"{cmd}\"")));
                }
                Ok(ScalarValue::Boolean(Some(true)))
            },
        )
        .volatility(Volatility::Stable),
    );
    let (v, f) = (view.clone(), facts.clone());
    functions.push(
        RowFunction::new("current_user_id", vec![vec![]], DataType::Int32, move |_| {
            Ok(ScalarValue::Int32(v.get().catalog.users.get(&f.user).map(|u| u.id as i32)))
        })
        .volatility(Volatility::Stable),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("pg_backend_pid", vec![vec![]], DataType::Int32, move |_| Ok(ScalarValue::Int32(Some(f.pid))))
            .volatility(Volatility::Stable),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("pg_last_query_id", vec![vec![]], DataType::Int32, move |_| {
            Ok(ScalarValue::Int32(Some(f.last_query.load(Ordering::Relaxed) as i32)))
        })
        .volatility(Volatility::Volatile),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("pg_last_unload_id", vec![vec![]], DataType::Int32, move |_| {
            Ok(ScalarValue::Int32(Some(f.last_unload.0.load(Ordering::Relaxed) as i32)))
        })
        .volatility(Volatility::Volatile),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("pg_last_unload_count", vec![vec![]], DataType::Int64, move |_| {
            Ok(ScalarValue::Int64(Some(f.last_unload.1.load(Ordering::Relaxed))))
        })
        .volatility(Volatility::Volatile),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("current_setting", vec![vec![TEXT]], DataType::Utf8, move |a| {
            let name = text(&a[0]).unwrap_or_default().to_ascii_lowercase();
            f.setting(&name).map(|v| ScalarValue::Utf8(Some(v))).ok_or_else(|| unrecognized(&name))
        })
        .volatility(Volatility::Volatile),
    );
    let f = facts.clone();
    functions.push(
        RowFunction::new("set_config", vec![vec![TEXT, TEXT, BOOL]], DataType::Utf8, move |a| {
            let name = text(&a[0]).unwrap_or_default().to_ascii_lowercase();
            let value = text(&a[1]).unwrap_or_default();
            if f.setting(&name).is_none() {
                return Err(unrecognized(&name));
            }
            f.set(&name, value);
            Ok(ScalarValue::Utf8(Some(value.to_string())))
        })
        .volatility(Volatility::Volatile),
    );
    // nuage keeps a cluster's rows on one slice, slice 0.
    functions.push(RowFunction::new("slice_num", vec![vec![]], DataType::Int32, |_| Ok(ScalarValue::Int32(Some(0)))));
    let cluster = move |pick: fn(crate::external::ClusterFacts) -> Option<String>| {
        let wh = wh.clone();
        move |_: &[ScalarValue]| {
            let facts = wh.upgrade().and_then(|w| w.external()).and_then(|e| e.cluster());
            Ok(ScalarValue::Utf8(facts.and_then(pick)))
        }
    };
    functions.push(
        RowFunction::new("current_aws_account", vec![vec![]], DataType::Utf8, cluster(|c| Some(c.account)))
            .volatility(Volatility::Stable),
    );
    functions.push(
        RowFunction::new("current_namespace", vec![vec![]], DataType::Utf8, cluster(|c| Some(c.namespace)))
            .volatility(Volatility::Stable),
    );
    functions.push(
        RowFunction::new("default_iam_role", vec![vec![]], DataType::Utf8, cluster(|c| c.default_iam_role))
            .volatility(Volatility::Volatile),
    );
    for f in functions {
        ctx.register_udf(f.udf());
    }
}
