//! Redshift's system views, computed from the session's view of the catalog and the
//! warehouse's query log: PG_TABLE_DEF, SVV_TABLE_INFO, SVV_TABLES, SVV_COLUMNS, STL_QUERY,
//! SVL_QLOG, STL_LOAD_ERRORS, STL_LOAD_COMMITS, STV_LOAD_STATE, PG_USER, STV_MV_INFO,
//! STV_SESSIONS; each user sees its own rows of them unless SYSLOG ACCESS is UNRESTRICTED.
use crate::engine::Warehouse;
use crate::error::{SqlError, SqlResult};
use crate::state::DbState;
use crate::types::RsType;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use std::sync::{Arc, Weak};

const NAMES: &[&str] = &[
    "pg_table_def",
    "svv_table_info",
    "svv_tables",
    "svv_columns",
    "stl_query",
    "svl_qlog",
    "stl_load_errors",
    "stl_load_commits",
    "stv_load_state",
    "pg_user",
    "stv_mv_info",
    "stv_sessions",
];

/// Whether a name is one of Redshift's system tables or views (STL, STV, SVL, SVV, SYS),
/// which run on the compute nodes and which every user may read.
pub fn is_system_table(name: &str) -> bool {
    ["stl_", "stv_", "svl_", "svv_", "sys_"].iter().any(|p| name.starts_with(p))
}

#[derive(Debug)]
pub struct SystemTables {
    pub warehouse: Weak<Warehouse>,
    /// Whose session reads them: a user sees only its own rows of the logs unless it is a
    /// superuser or has SYSLOG ACCESS UNRESTRICTED.
    pub user: String,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Warehouse({})", self.dir().display())
    }
}

pub(crate) fn s(v: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.into()))
}

fn i(v: i64) -> ScalarValue {
    ScalarValue::Int64(Some(v))
}

pub(crate) fn i32v(v: i32) -> ScalarValue {
    ScalarValue::Int32(Some(v))
}

pub(crate) fn b(v: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(v))
}

fn ts(us: i64) -> ScalarValue {
    ScalarValue::TimestampMicrosecond(Some(us), None)
}

fn batch(columns: &[(&str, DataType)], rows: Vec<Vec<ScalarValue>>) -> SqlResult<RecordBatch> {
    fields_batch(columns.iter().map(|(n, t)| Field::new(*n, t.clone(), true)).collect(), rows)
}

/// A batch of the given fields from rows of scalars, one per field.
pub(crate) fn fields_batch(fields: Vec<Field>, rows: Vec<Vec<ScalarValue>>) -> SqlResult<RecordBatch> {
    let schema = Arc::new(Schema::new(fields));
    let mut arrays = Vec::with_capacity(schema.fields().len());
    for (c, f) in schema.fields().iter().enumerate() {
        let array = if rows.is_empty() {
            datafusion::arrow::array::new_empty_array(f.data_type())
        } else {
            ScalarValue::iter_to_array(rows.iter().map(|r| r[c].clone())).map_err(SqlError::from)?
        };
        arrays.push(array);
    }
    RecordBatch::try_new(schema, arrays).map_err(SqlError::internal)
}

fn char_length(t: &RsType) -> ScalarValue {
    match t {
        RsType::Char(n) | RsType::Varchar(n) => i32v(*n as i32),
        _ => ScalarValue::Int32(None),
    }
}

fn precision(t: &RsType) -> (ScalarValue, ScalarValue) {
    match t {
        RsType::SmallInt => (i32v(16), i32v(0)),
        RsType::Integer => (i32v(32), i32v(0)),
        RsType::BigInt => (i32v(64), i32v(0)),
        RsType::Decimal(p, s) => (i32v(*p as i32), i32v(*s as i32)),
        RsType::Real => (i32v(24), ScalarValue::Int32(None)),
        RsType::Double => (i32v(53), ScalarValue::Int32(None)),
        _ => (ScalarValue::Int32(None), ScalarValue::Int32(None)),
    }
}

impl SystemTables {
    pub fn has(&self, name: &str) -> bool {
        NAMES.contains(&name) || crate::pg_catalog::NAMES.contains(&name)
    }

    pub fn table(&self, name: &str, st: &DbState) -> SqlResult<Option<RecordBatch>> {
        if let Some(t) = crate::pg_catalog::table(name, st)? {
            return Ok(Some(t));
        }
        let db = st.catalog.database.clone();
        let sees_all = st.catalog.users.get(&self.user).is_some_and(|u| u.superuser || u.syslog_unrestricted);
        let visible = |user: &str| sees_all || user == self.user;
        let tables = || {
            st.catalog
                .schemas
                .iter()
                .flat_map(|(sn, schema)| schema.tables.iter().map(move |(tn, t)| (sn.clone(), tn.clone(), t)))
        };
        let out = match name {
            "pg_table_def" => {
                let mut rows = Vec::new();
                for (sn, tn, t) in tables() {
                    for c in &t.columns {
                        let sortpos = t.sortkey.iter().position(|k| *k == c.name).map(|p| p as i32 + 1).unwrap_or(0);
                        rows.push(vec![
                            s(&sn),
                            s(&tn),
                            s(&c.name),
                            s(c.ty.pg_name()),
                            s(c.encode.clone().unwrap_or_else(|| "none".into()).to_lowercase()),
                            b(t.distkey.as_deref() == Some(c.name.as_str())),
                            i32v(sortpos),
                            b(!c.nullable),
                        ]);
                    }
                }
                batch(
                    &[
                        ("schemaname", DataType::Utf8),
                        ("tablename", DataType::Utf8),
                        ("column", DataType::Utf8),
                        ("type", DataType::Utf8),
                        ("encoding", DataType::Utf8),
                        ("distkey", DataType::Boolean),
                        ("sortkey", DataType::Int32),
                        ("notnull", DataType::Boolean),
                    ],
                    rows,
                )?
            }
            "svv_table_info" => {
                let mut rows = Vec::new();
                for (sn, tn, t) in tables() {
                    let diststyle = match (t.diststyle.as_str(), &t.distkey) {
                        ("KEY", Some(k)) => format!("KEY({k})"),
                        ("AUTO", _) => "AUTO(EVEN)".to_string(),
                        (d, _) => d.to_string(),
                    };
                    let encoded =
                        t.columns.iter().any(|c| c.encode.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case("raw")));
                    let max_varchar = t
                        .columns
                        .iter()
                        .filter_map(|c| if let RsType::Varchar(n) = c.ty { Some(n as i64) } else { None })
                        .max()
                        .unwrap_or(0);
                    let bytes = st.table_bytes(t.id);
                    let sortkey1 = match (&t.sortkey_kind, t.sortkey.first()) {
                        (Some(k), Some(_)) if k == "INTERLEAVED" => format!("INTERLEAVED({})", t.sortkey[0]),
                        (_, Some(c)) => c.clone(),
                        _ => String::new(),
                    };
                    rows.push(vec![
                        s(&db),
                        s(&sn),
                        i(t.id as i64),
                        s(&tn),
                        s(if encoded { "Y" } else { "N" }),
                        s(diststyle),
                        if sortkey1.is_empty() { ScalarValue::Utf8(None) } else { s(sortkey1) },
                        i(max_varchar),
                        i(t.sortkey.len() as i64),
                        i((bytes as i64 + (1 << 20) - 1) >> 20),
                        i(st.rows(t.id) as i64),
                        ScalarValue::Float64(Some(0.0)),
                        ScalarValue::Float64(Some(0.0)),
                    ]);
                }
                batch(
                    &[
                        ("database", DataType::Utf8),
                        ("schema", DataType::Utf8),
                        ("table_id", DataType::Int64),
                        ("table", DataType::Utf8),
                        ("encoded", DataType::Utf8),
                        ("diststyle", DataType::Utf8),
                        ("sortkey1", DataType::Utf8),
                        ("max_varchar", DataType::Int64),
                        ("sortkey_num", DataType::Int64),
                        ("size", DataType::Int64),
                        ("tbl_rows", DataType::Int64),
                        ("unsorted", DataType::Float64),
                        ("stats_off", DataType::Float64),
                    ],
                    rows,
                )?
            }
            "svv_tables" => {
                let mut rows = Vec::new();
                for (sn, schema) in &st.catalog.schemas {
                    for tn in schema.tables.keys() {
                        rows.push(vec![s(&db), s(sn), s(tn), s("BASE TABLE"), ScalarValue::Utf8(None)]);
                    }
                    for vn in schema.views.keys() {
                        rows.push(vec![s(&db), s(sn), s(vn), s("VIEW"), ScalarValue::Utf8(None)]);
                    }
                }
                batch(
                    &[
                        ("table_catalog", DataType::Utf8),
                        ("table_schema", DataType::Utf8),
                        ("table_name", DataType::Utf8),
                        ("table_type", DataType::Utf8),
                        ("remarks", DataType::Utf8),
                    ],
                    rows,
                )?
            }
            "svv_columns" => {
                let mut rows = Vec::new();
                for (sn, tn, t) in tables() {
                    for (pos, c) in t.columns.iter().enumerate() {
                        let (p, sc) = precision(&c.ty);
                        rows.push(vec![
                            s(&db),
                            s(&sn),
                            s(&tn),
                            s(&c.name),
                            i32v(pos as i32 + 1),
                            c.default.clone().map(s).unwrap_or(ScalarValue::Utf8(None)),
                            s(if c.nullable { "YES" } else { "NO" }),
                            s(c.ty.pg_name().split('(').next().unwrap_or_default()),
                            char_length(&c.ty),
                            p,
                            sc,
                            ScalarValue::Utf8(None),
                            ScalarValue::Utf8(None),
                        ]);
                    }
                }
                batch(
                    &[
                        ("table_catalog", DataType::Utf8),
                        ("table_schema", DataType::Utf8),
                        ("table_name", DataType::Utf8),
                        ("column_name", DataType::Utf8),
                        ("ordinal_position", DataType::Int32),
                        ("column_default", DataType::Utf8),
                        ("is_nullable", DataType::Utf8),
                        ("data_type", DataType::Utf8),
                        ("character_maximum_length", DataType::Int32),
                        ("numeric_precision", DataType::Int32),
                        ("numeric_scale", DataType::Int32),
                        ("domain_name", DataType::Utf8),
                        ("remarks", DataType::Utf8),
                    ],
                    rows,
                )?
            }
            "stl_query" | "svl_qlog" => {
                let log = self.warehouse.upgrade().map(|w| w.query_log()).unwrap_or_default();
                let users = &st.catalog.users;
                let tsu = DataType::Timestamp(TimeUnit::Microsecond, None);
                let rows = log
                    .iter()
                    .filter(|q| visible(&q.user))
                    .map(|q| {
                        let uid = users.get(&q.user).map(|u| u.id).unwrap_or(0);
                        let text: String = q.text.chars().take(4000).collect();
                        if name == "stl_query" {
                            vec![
                                i(uid),
                                i(q.query),
                                s(&q.label),
                                i(q.query),
                                i(q.pid as i64),
                                s(&db),
                                s(text),
                                ts(q.start_us),
                                ts(q.end_us),
                                i(q.aborted as i64),
                            ]
                        } else {
                            vec![
                                i(uid),
                                i(q.query),
                                i(q.query),
                                i(q.pid as i64),
                                ts(q.start_us),
                                ts(q.end_us),
                                i(q.end_us - q.start_us),
                                i(q.aborted as i64),
                                s(&q.label),
                                s(text.chars().take(60).collect::<String>()),
                            ]
                        }
                    })
                    .collect();
                if name == "stl_query" {
                    batch(
                        &[
                            ("userid", DataType::Int64),
                            ("query", DataType::Int64),
                            ("label", DataType::Utf8),
                            ("xid", DataType::Int64),
                            ("pid", DataType::Int64),
                            ("database", DataType::Utf8),
                            ("querytxt", DataType::Utf8),
                            ("starttime", tsu.clone()),
                            ("endtime", tsu),
                            ("aborted", DataType::Int64),
                        ],
                        rows,
                    )?
                } else {
                    batch(
                        &[
                            ("userid", DataType::Int64),
                            ("query", DataType::Int64),
                            ("xid", DataType::Int64),
                            ("pid", DataType::Int64),
                            ("starttime", tsu.clone()),
                            ("endtime", tsu),
                            ("elapsed", DataType::Int64),
                            ("aborted", DataType::Int64),
                            ("label", DataType::Utf8),
                            ("substring", DataType::Utf8),
                        ],
                        rows,
                    )?
                }
            }
            "stl_load_errors" => {
                let wh = self.warehouse.upgrade();
                let log = wh.as_ref().map(|w| w.load_errors()).unwrap_or_default();
                let tsu = DataType::Timestamp(TimeUnit::Microsecond, None);
                let rows = log
                    .iter()
                    .filter(|e| visible(&e.user))
                    .map(|e| {
                        vec![
                            i(st.catalog.users.get(&e.user).map(|u| u.id).unwrap_or(0)),
                            i32v(0),
                            i(e.table_id as i64),
                            ts(e.time_us),
                            i(e.pid as i64),
                            i(e.query),
                            s(&e.filename),
                            i(e.line_number),
                            s(&e.colname),
                            s(&e.coltype),
                            s(&e.col_length),
                            i32v(e.position),
                            s(&e.raw_line),
                            s(&e.raw_field_value),
                            i32v(e.err_code),
                            s(&e.err_reason),
                        ]
                    })
                    .collect();
                batch(
                    &[
                        ("userid", DataType::Int64),
                        ("slice", DataType::Int32),
                        ("tbl", DataType::Int64),
                        ("starttime", tsu),
                        ("session", DataType::Int64),
                        ("query", DataType::Int64),
                        ("filename", DataType::Utf8),
                        ("line_number", DataType::Int64),
                        ("colname", DataType::Utf8),
                        ("type", DataType::Utf8),
                        ("col_length", DataType::Utf8),
                        ("position", DataType::Int32),
                        ("raw_line", DataType::Utf8),
                        ("raw_field_value", DataType::Utf8),
                        ("err_code", DataType::Int32),
                        ("err_reason", DataType::Utf8),
                    ],
                    rows,
                )?
            }
            "stl_load_commits" => {
                let wh = self.warehouse.upgrade();
                let log = wh.as_ref().map(|w| w.load_commits()).unwrap_or_default();
                let tsu = DataType::Timestamp(TimeUnit::Microsecond, None);
                let rows = log
                    .iter()
                    .filter(|c| visible(&c.user))
                    .map(|c| {
                        vec![
                            i(st.catalog.users.get(&c.user).map(|u| u.id).unwrap_or(0)),
                            i(c.query),
                            i32v(0),
                            s(&c.filename),
                            s(&c.filename),
                            i(0),
                            i(c.lines_scanned),
                            i(c.errors),
                            ts(c.time_us),
                            i32v(c.committed as i32),
                        ]
                    })
                    .collect();
                batch(
                    &[
                        ("userid", DataType::Int64),
                        ("query", DataType::Int64),
                        ("slice", DataType::Int32),
                        ("name", DataType::Utf8),
                        ("filename", DataType::Utf8),
                        ("byte_offset", DataType::Int64),
                        ("lines_scanned", DataType::Int64),
                        ("errors", DataType::Int64),
                        ("curtime", tsu),
                        ("status", DataType::Int32),
                    ],
                    rows,
                )?
            }
            "stv_load_state" => {
                use std::sync::atomic::Ordering::Relaxed;
                let wh = self.warehouse.upgrade();
                let loads = wh.as_ref().map(|w| w.loads()).unwrap_or_default();
                let tsu = DataType::Timestamp(TimeUnit::Microsecond, None);
                let now = chrono::Utc::now().timestamp_micros();
                let rows = loads
                    .iter()
                    .filter(|l| visible(&l.user))
                    .map(|l| {
                        // Compressed files count their compressed bytes, as Redshift does.
                        let loaded = l.bytes_loaded.load(Relaxed);
                        let loaded_compressed = l.bytes_loaded_compressed.load(Relaxed);
                        let done = if l.compressed { loaded_compressed } else { loaded };
                        let pct = if l.bytes_to_load > 0 { (done * 100 / l.bytes_to_load).min(100) } else { 0 };
                        vec![
                            i(st.catalog.users.get(&l.user).map(|u| u.id).unwrap_or(0)),
                            i32v(l.pid),
                            i(l.query),
                            i32v(0),
                            i32v(l.pid),
                            ts(now),
                            i(if l.compressed { 0 } else { l.bytes_to_load }),
                            i(loaded),
                            i(if l.compressed { l.bytes_to_load } else { 0 }),
                            i(loaded_compressed),
                            i(l.lines.load(Relaxed)),
                            i(l.num_files),
                            i(l.files_complete.load(Relaxed)),
                            s(l.current_file.lock().map(|f| f.clone()).unwrap_or_default()),
                            i32v(pct as i32),
                        ]
                    })
                    .collect();
                batch(
                    &[
                        ("userid", DataType::Int64),
                        ("session", DataType::Int32),
                        ("query", DataType::Int64),
                        ("slice", DataType::Int32),
                        ("pid", DataType::Int32),
                        ("recordtime", tsu),
                        ("bytes_to_load", DataType::Int64),
                        ("bytes_loaded", DataType::Int64),
                        ("bytes_to_load_compressed", DataType::Int64),
                        ("bytes_loaded_compressed", DataType::Int64),
                        ("lines", DataType::Int64),
                        ("num_files", DataType::Int64),
                        ("num_files_complete", DataType::Int64),
                        ("current_file", DataType::Utf8),
                        ("pct_complete", DataType::Int32),
                    ],
                    rows,
                )?
            }
            // State 0: nuage recomputes a materialized view whole on each refresh.
            "stv_mv_info" => {
                let flag = |b: bool| s(if b { "t" } else { "f" });
                let rows = tables()
                    .filter_map(|(sn, tn, t)| t.materialized.as_ref().map(|mv| (sn, tn, t, mv)))
                    .map(|(sn, tn, t, mv)| {
                        vec![
                            s(&db),
                            s(sn),
                            s(tn),
                            i(st.table_versions.get(&t.id).copied().unwrap_or(0) as i64),
                            flag(crate::session::is_stale(st, mv)),
                            s(&t.owner),
                            i32v(0),
                            flag(false),
                            flag(mv.auto_refresh),
                        ]
                    })
                    .collect();
                batch(
                    &[
                        ("db_name", DataType::Utf8),
                        ("schema", DataType::Utf8),
                        ("name", DataType::Utf8),
                        ("updated_upto_xid", DataType::Int64),
                        ("is_stale", DataType::Utf8),
                        ("owner_user_name", DataType::Utf8),
                        ("state", DataType::Int32),
                        ("autorewrite", DataType::Utf8),
                        ("autorefresh", DataType::Utf8),
                    ],
                    rows,
                )?
            }
            "stv_sessions" => {
                let sessions = self.warehouse.upgrade().map(|w| w.sessions()).unwrap_or_default();
                let rows = sessions
                    .into_iter()
                    .filter(|(_, session)| visible(&session.user))
                    .map(|(pid, session)| vec![ts(session.start_us), i32v(pid), s(&session.user), s(&db), i32v(0)])
                    .collect();
                batch(
                    &[
                        ("starttime", DataType::Timestamp(TimeUnit::Microsecond, None)),
                        ("process", DataType::Int32),
                        ("user_name", DataType::Utf8),
                        ("db_name", DataType::Utf8),
                        ("timeout_sec", DataType::Int32),
                    ],
                    rows,
                )?
            }
            "pg_user" => {
                let rows = st
                    .catalog
                    .users
                    .iter()
                    .map(|(n, u)| vec![s(n), i(u.id), b(u.createdb), b(u.superuser), b(u.superuser), s("********")])
                    .collect();
                batch(
                    &[
                        ("usename", DataType::Utf8),
                        ("usesysid", DataType::Int64),
                        ("usecreatedb", DataType::Boolean),
                        ("usesuper", DataType::Boolean),
                        ("usecatupd", DataType::Boolean),
                        ("passwd", DataType::Utf8),
                    ],
                    rows,
                )?
            }
            // Redshift Spectrum's catalogs: no external schemas exist here.
            "svv_external_schemas" => batch(
                &[
                    ("esoid", DataType::Int64),
                    ("eskind", DataType::Int32),
                    ("schemaname", DataType::Utf8),
                    ("esowner", DataType::Int64),
                    ("databasename", DataType::Utf8),
                    ("esoptions", DataType::Utf8),
                ],
                vec![],
            )?,
            "svv_external_tables" => batch(
                &[
                    ("schemaname", DataType::Utf8),
                    ("tablename", DataType::Utf8),
                    ("location", DataType::Utf8),
                    ("input_format", DataType::Utf8),
                    ("output_format", DataType::Utf8),
                    ("serialization_lib", DataType::Utf8),
                    ("serde_parameters", DataType::Utf8),
                    ("compressed", DataType::Int32),
                    ("parameters", DataType::Utf8),
                ],
                vec![],
            )?,
            "svv_external_columns" => batch(
                &[
                    ("schemaname", DataType::Utf8),
                    ("tablename", DataType::Utf8),
                    ("columnname", DataType::Utf8),
                    ("external_type", DataType::Utf8),
                    ("columnnum", DataType::Int32),
                    ("part_key", DataType::Int32),
                    ("is_nullable", DataType::Utf8),
                ],
                vec![],
            )?,
            _ => return Ok(None),
        };
        Ok(Some(out))
    }
}
