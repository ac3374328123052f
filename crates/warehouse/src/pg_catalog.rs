//! The pg_catalog relations that describe user objects (pg_namespace, pg_class,
//! pg_attribute, pg_attrdef, pg_constraint), computed from the warehouse catalog with
//! Redshift's own columns (reldiststyle, relacl, attisdistkey, attsortkeyord,
//! attencodingtype), which drivers and sqlalchemy-redshift's inspector read. The rest of
//! pg_catalog (pg_type, pg_proc, ...) comes from datafusion-pg-catalog.
use crate::error::{SqlError, SqlResult};
use crate::state::{DbState, Privilege, TableMeta};
use crate::system::{b, fields_batch, i32v, s};
use crate::types::RsType;
use datafusion::arrow::array::{ArrayRef, ListBuilder, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::ScalarValue;
use datafusion_pg_catalog::pg_catalog::oid_field::{kind, oid_field};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub const NAMES: &[&str] = &["pg_namespace", "pg_class", "pg_attribute", "pg_attrdef", "pg_constraint"];

/// PostgreSQL's fixed namespace oids; other schemas get oids from their names.
const PG_CATALOG_OID: i32 = 11;
const PUBLIC_OID: i32 = 2200;
const INFORMATION_SCHEMA_OID: i32 = 14_000;

/// Redshift's type OID of VARBYTE.
pub const VARBYTE_OID: i32 = 6551;

/// A schema's oid: stable for its name, so clients may keep it between queries.
pub fn namespace_oid(name: &str) -> i32 {
    match name {
        "pg_catalog" => PG_CATALOG_OID,
        "public" => PUBLIC_OID,
        "information_schema" => INFORMATION_SCHEMA_OID,
        other => 100_000 + (fnv(other) % 900_000) as i32,
    }
}

/// A table's oid: from its catalog id, which never changes (a rename keeps it).
pub fn table_oid(t: &TableMeta) -> i32 {
    1_000_000 + t.id as i32
}

/// A view's oid: from its schema and name.
pub fn view_oid(schema: &str, name: &str) -> i32 {
    1_000_000_000 + (fnv(&format!("{schema}.{name}")) % 1_000_000_000) as i32
}

/// A primary key constraint's oid.
fn constraint_oid(t: &TableMeta) -> i32 {
    500_000_000 + t.id as i32
}

fn fnv(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Redshift's encoding numbers, as `format_encoding` names them.
const ENCODINGS: &[&str] = &[
    "none",
    "bytedict",
    "delta",
    "delta32k",
    "lzo",
    "mostly8",
    "mostly16",
    "mostly32",
    "runlength",
    "text255",
    "text32k",
    "zstd",
    "az64",
    "raw",
];

pub fn encoding_number(name: Option<&str>) -> i16 {
    let name = name.unwrap_or("none").to_ascii_lowercase();
    ENCODINGS.iter().position(|e| *e == name).unwrap_or(0) as i16
}

pub fn encoding_name(n: i64) -> Option<&'static str> {
    usize::try_from(n).ok().and_then(|n| ENCODINGS.get(n)).copied()
}

/// PostgreSQL's type oid of a column type.
pub fn type_oid(t: &RsType) -> i32 {
    match t {
        RsType::SmallInt => 21,
        RsType::Integer => 23,
        RsType::BigInt => 20,
        RsType::Decimal(..) => 1700,
        RsType::Real => 700,
        RsType::Double => 701,
        RsType::Boolean => 16,
        RsType::Char(_) => 1042,
        RsType::Varchar(_) => 1043,
        RsType::Date => 1082,
        RsType::Timestamp => 1114,
        RsType::Timestamptz => 1184,
        RsType::Time => 1083,
        RsType::Super => 4000,
        RsType::Varbyte(_) => VARBYTE_OID,
        // Redshift's HLLSKETCH type.
        RsType::HllSketch => 2935,
    }
}

/// The type modifier `format_type` reads (length + 4, or precision and scale).
fn type_mod(t: &RsType) -> i32 {
    match t {
        RsType::Char(n) | RsType::Varchar(n) => *n as i32 + 4,
        RsType::Decimal(p, s) => ((*p as i32) << 16 | (*s as i32 & 0xffff)) + 4,
        _ => -1,
    }
}

fn type_len(t: &RsType) -> i16 {
    match t {
        RsType::SmallInt => 2,
        RsType::Integer | RsType::Real | RsType::Date => 4,
        RsType::BigInt | RsType::Double | RsType::Timestamp | RsType::Timestamptz | RsType::Time => 8,
        RsType::Boolean => 1,
        _ => -1,
    }
}

/// `reldiststyle`: 0 EVEN, 1 KEY, 8 ALL, 11 AUTO(EVEN).
fn diststyle_number(t: &TableMeta) -> i32 {
    match t.diststyle.as_str() {
        "KEY" => 1,
        "ALL" => 8,
        "AUTO" => 11,
        _ => 0,
    }
}

/// An aclitem per grantee, as PostgreSQL prints them (`analyst=r/awsuser`).
fn acl(grants: &BTreeMap<String, BTreeSet<Privilege>>, owner: &str) -> Vec<String> {
    grants
        .iter()
        .map(|(grantee, privs)| {
            let who = match grantee.as_str() {
                "public" | "PUBLIC" => String::new(),
                g => match g.strip_prefix("group:") {
                    Some(group) => format!("group {group}"),
                    None => g.to_string(),
                },
            };
            let letters: String = privs
                .iter()
                .map(|p| match p {
                    Privilege::Select => 'r',
                    Privilege::Insert => 'a',
                    Privilege::Update => 'w',
                    Privilege::Delete => 'd',
                    Privilege::References => 'x',
                    Privilege::Usage => 'U',
                    Privilege::Create => 'C',
                })
                .collect();
            format!("{who}={letters}/{owner}")
        })
        .collect()
}

fn user_id(st: &DbState, name: &str) -> i32 {
    st.catalog.users.get(name).map(|u| u.id as i32).unwrap_or(1)
}

/// One relation of pg_catalog, or None when `name` is not one of them.
pub fn table(name: &str, st: &DbState) -> SqlResult<Option<RecordBatch>> {
    Ok(Some(match name {
        "pg_namespace" => namespaces(st)?,
        "pg_class" => classes(st)?,
        "pg_attribute" => attributes(st)?,
        "pg_attrdef" => defaults(st)?,
        "pg_constraint" => constraints(st)?,
        _ => return Ok(None),
    }))
}

fn i16v(v: i16) -> ScalarValue {
    ScalarValue::Int16(Some(v))
}
const NO_TEXT: ScalarValue = ScalarValue::Utf8(None);

fn namespaces(st: &DbState) -> SqlResult<RecordBatch> {
    let mut rows = vec![
        vec![i32v(PG_CATALOG_OID), s("pg_catalog"), i32v(1), NO_TEXT],
        vec![i32v(INFORMATION_SCHEMA_OID), s("information_schema"), i32v(1), NO_TEXT],
    ];
    for (name, schema) in &st.catalog.schemas {
        let acl = acl(&schema.grants, &schema.owner);
        rows.push(vec![
            i32v(namespace_oid(name)),
            s(name),
            i32v(user_id(st, &schema.owner)),
            if acl.is_empty() { NO_TEXT } else { s(format!("{{{}}}", acl.join(","))) },
        ]);
    }
    fields_batch(
        vec![
            oid_field("oid", kind::OID, false),
            Field::new("nspname", DataType::Utf8, false),
            Field::new("nspowner", DataType::Int32, false),
            Field::new("nspacl", DataType::Utf8, true),
        ],
        rows,
    )
}

fn classes(st: &DbState) -> SqlResult<RecordBatch> {
    // relacl is an array (aclitem[]), built apart from the scalar columns.
    let mut acls = ListBuilder::new(StringBuilder::new());
    let mut rows = Vec::new();
    for (sn, schema) in &st.catalog.schemas {
        let ns = namespace_oid(sn);
        let mut add =
            |oid: i32, name: &str, kind: &str, owner: &str, natts: usize, dist: ScalarValue, acl: Vec<String>| {
                rows.push(vec![
                    i32v(oid),
                    s(name),
                    i32v(ns),
                    i32v(0),
                    ScalarValue::Int32(None),
                    i32v(user_id(st, owner)),
                    i32v(0),
                    i32v(oid),
                    i32v(0),
                    i32v(1),
                    ScalarValue::Float64(Some(0.0)),
                    i32v(0),
                    i32v(0),
                    b(false),
                    b(false),
                    s("p"),
                    s(kind),
                    i16v(natts as i16),
                    i16v(0),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(true),
                    s("d"),
                    b(false),
                    ScalarValue::Int32(None),
                    i32v(0),
                    i32v(0),
                    NO_TEXT,
                    dist,
                ]);
                if acl.is_empty() {
                    acls.append_null();
                } else {
                    acls.append_value(acl.into_iter().map(Some));
                }
            };
        for (tn, t) in &schema.tables {
            let dist = i32v(diststyle_number(t));
            add(table_oid(t), tn, "r", &t.owner, t.columns.len(), dist, acl(&t.grants, &t.owner));
        }
        for (vn, v) in &schema.views {
            add(view_oid(sn, vn), vn, "v", &v.owner, 0, ScalarValue::Int32(None), acl(&v.grants, &v.owner));
        }
    }
    let fields = vec![
        oid_field("oid", kind::OID, false),
        Field::new("relname", DataType::Utf8, false),
        oid_field("relnamespace", kind::REGNAMESPACE, false),
        oid_field("reltype", kind::REGTYPE, false),
        oid_field("reloftype", kind::REGTYPE, true),
        Field::new("relowner", DataType::Int32, false),
        Field::new("relam", DataType::Int32, false),
        Field::new("relfilenode", DataType::Int32, false),
        Field::new("reltablespace", DataType::Int32, false),
        Field::new("relpages", DataType::Int32, false),
        Field::new("reltuples", DataType::Float64, false),
        Field::new("relallvisible", DataType::Int32, false),
        oid_field("reltoastrelid", kind::REGCLASS, false),
        Field::new("relhasindex", DataType::Boolean, false),
        Field::new("relisshared", DataType::Boolean, false),
        Field::new("relpersistence", DataType::Utf8, false),
        Field::new("relkind", DataType::Utf8, false),
        Field::new("relnatts", DataType::Int16, false),
        Field::new("relchecks", DataType::Int16, false),
        Field::new("relhasrules", DataType::Boolean, false),
        Field::new("relhastriggers", DataType::Boolean, false),
        Field::new("relhassubclass", DataType::Boolean, false),
        Field::new("relrowsecurity", DataType::Boolean, false),
        Field::new("relforcerowsecurity", DataType::Boolean, false),
        Field::new("relispopulated", DataType::Boolean, false),
        Field::new("relreplident", DataType::Utf8, false),
        Field::new("relispartition", DataType::Boolean, false),
        oid_field("relrewrite", kind::REGCLASS, true),
        Field::new("relfrozenxid", DataType::Int32, false),
        Field::new("relminmxid", DataType::Int32, false),
        Field::new("relpartbound", DataType::Utf8, true),
        Field::new("reldiststyle", DataType::Int32, true),
    ];
    let base = fields_batch(fields, rows)?;
    let acl_array: ArrayRef = Arc::new(acls.finish());
    let mut fields: Vec<Field> = base.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("relacl", acl_array.data_type().clone(), true));
    let mut columns = base.columns().to_vec();
    columns.push(acl_array);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(SqlError::internal)
}

fn attributes(st: &DbState) -> SqlResult<RecordBatch> {
    let mut rows = Vec::new();
    for schema in st.catalog.schemas.values() {
        for t in schema.tables.values() {
            for (n, c) in t.columns.iter().enumerate() {
                let sortkeyord = t.sortkey.iter().position(|k| *k == c.name).map(|p| p as i32 + 1).unwrap_or(0);
                // An INTERLEAVED key's columns are numbered negatively, as on Redshift.
                let sortkeyord =
                    if t.sortkey_kind.as_deref() == Some("INTERLEAVED") { -sortkeyord } else { sortkeyord };
                rows.push(vec![
                    i32v(table_oid(t)),
                    s(&c.name),
                    i32v(type_oid(&c.ty)),
                    i32v(-1),
                    i16v(type_len(&c.ty)),
                    i16v(n as i16 + 1),
                    i32v(0),
                    i32v(-1),
                    i32v(type_mod(&c.ty)),
                    b(type_len(&c.ty) > 0),
                    s("i"),
                    s(if type_len(&c.ty) > 0 { "p" } else { "x" }),
                    NO_TEXT,
                    b(!c.nullable),
                    b(c.default.is_some() || c.identity.is_some()),
                    b(false),
                    s(""),
                    s(""),
                    b(false),
                    b(true),
                    i32v(0),
                    i32v(0),
                    NO_TEXT,
                    NO_TEXT,
                    NO_TEXT,
                    NO_TEXT,
                    b(t.distkey.as_deref() == Some(c.name.as_str())),
                    i32v(sortkeyord),
                    i16v(encoding_number(c.encode.as_deref())),
                ]);
            }
        }
    }
    fields_batch(
        vec![
            oid_field("attrelid", kind::REGCLASS, false),
            Field::new("attname", DataType::Utf8, false),
            oid_field("atttypid", kind::REGTYPE, false),
            Field::new("attstattarget", DataType::Int32, false),
            Field::new("attlen", DataType::Int16, false),
            Field::new("attnum", DataType::Int16, false),
            Field::new("attndims", DataType::Int32, false),
            Field::new("attcacheoff", DataType::Int32, false),
            Field::new("atttypmod", DataType::Int32, false),
            Field::new("attbyval", DataType::Boolean, false),
            Field::new("attalign", DataType::Utf8, false),
            Field::new("attstorage", DataType::Utf8, false),
            Field::new("attcompression", DataType::Utf8, true),
            Field::new("attnotnull", DataType::Boolean, false),
            Field::new("atthasdef", DataType::Boolean, false),
            Field::new("atthasmissing", DataType::Boolean, false),
            Field::new("attidentity", DataType::Utf8, false),
            Field::new("attgenerated", DataType::Utf8, false),
            Field::new("attisdropped", DataType::Boolean, false),
            Field::new("attislocal", DataType::Boolean, false),
            Field::new("attinhcount", DataType::Int32, false),
            Field::new("attcollation", DataType::Int32, false),
            Field::new("attacl", DataType::Utf8, true),
            Field::new("attoptions", DataType::Utf8, true),
            Field::new("attfdwoptions", DataType::Utf8, true),
            Field::new("attmissingval", DataType::Utf8, true),
            Field::new("attisdistkey", DataType::Boolean, false),
            Field::new("attsortkeyord", DataType::Int32, false),
            Field::new("attencodingtype", DataType::Int16, false),
        ],
        rows,
    )
}

/// The DEFAULT of a column as SQL; an IDENTITY column's as Redshift shows it.
fn default_text(c: &crate::state::ColumnMeta) -> Option<String> {
    match (&c.default, c.identity) {
        (Some(d), _) => Some(d.clone()),
        (None, Some((seed, step))) => Some(format!("\"identity\"({seed}, {step})")),
        _ => None,
    }
}

fn defaults(st: &DbState) -> SqlResult<RecordBatch> {
    let mut rows = Vec::new();
    for schema in st.catalog.schemas.values() {
        for t in schema.tables.values() {
            for (n, c) in t.columns.iter().enumerate() {
                if let Some(text) = default_text(c) {
                    let oid = table_oid(t) * 100 + n as i32; // unique among defaults
                    rows.push(vec![i32v(oid), i32v(table_oid(t)), i16v(n as i16 + 1), s(&text), s(&text)]);
                }
            }
        }
    }
    fields_batch(
        vec![
            oid_field("oid", kind::OID, false),
            oid_field("adrelid", kind::REGCLASS, false),
            Field::new("adnum", DataType::Int16, false),
            Field::new("adbin", DataType::Utf8, true),
            Field::new("adsrc", DataType::Utf8, true),
        ],
        rows,
    )
}

/// A table's primary key (Redshift keeps it as information) as `pg_get_constraintdef` prints it.
pub fn constraint_definition(st: &DbState, oid: i32) -> Option<String> {
    st.catalog
        .schemas
        .values()
        .flat_map(|s| s.tables.values())
        .find(|t| constraint_oid(t) == oid)
        .map(|t| format!("PRIMARY KEY ({})", t.primary_key.join(", ")))
}

/// A view's SQL, for `pg_get_viewdef`.
pub fn view_definition(st: &DbState, oid: i32) -> Option<String> {
    st.catalog
        .schemas
        .iter()
        .flat_map(|(sn, s)| s.views.iter().map(move |(vn, v)| (sn, vn, v)))
        .find(|(sn, vn, _)| view_oid(sn, vn) == oid)
        .map(|(_, _, v)| v.sql.clone())
}

fn constraints(st: &DbState) -> SqlResult<RecordBatch> {
    let mut keys = ListBuilder::new(datafusion::arrow::array::Int16Builder::new());
    let mut rows = Vec::new();
    for (sn, schema) in &st.catalog.schemas {
        for (tn, t) in &schema.tables {
            if t.primary_key.is_empty() {
                continue;
            }
            let positions: Vec<Option<i16>> =
                t.primary_key.iter().map(|k| t.column(k).map(|(i, _)| i as i16 + 1)).collect();
            keys.append_value(positions);
            rows.push(vec![
                i32v(constraint_oid(t)),
                s(format!("{tn}_pkey")),
                i32v(namespace_oid(sn)),
                s("p"),
                b(false),
                b(false),
                b(true),
                i32v(table_oid(t)),
                i32v(0),
                i32v(0),
            ]);
        }
    }
    let base = fields_batch(
        vec![
            oid_field("oid", kind::OID, false),
            Field::new("conname", DataType::Utf8, false),
            oid_field("connamespace", kind::REGNAMESPACE, false),
            Field::new("contype", DataType::Utf8, false),
            Field::new("condeferrable", DataType::Boolean, false),
            Field::new("condeferred", DataType::Boolean, false),
            Field::new("convalidated", DataType::Boolean, false),
            oid_field("conrelid", kind::REGCLASS, false),
            oid_field("contypid", kind::REGTYPE, false),
            oid_field("confrelid", kind::REGCLASS, false),
        ],
        rows,
    )?;
    let keys: ArrayRef = Arc::new(keys.finish());
    let mut fields: Vec<Field> = base.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("conkey", keys.data_type().clone(), true));
    fields.push(Field::new("confkey", keys.data_type().clone(), true));
    let mut columns = base.columns().to_vec();
    columns.push(keys.clone());
    columns.push(datafusion::arrow::array::new_null_array(keys.data_type(), keys.len()));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(SqlError::internal)
}
