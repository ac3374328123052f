//! Redshift's column types: what a declaration means, how it is stored in Arrow, how it is
//! named in the catalog, and the checks a value must pass to be stored.
use crate::error::SqlError;
use datafusion::arrow::array::{Array, ArrayRef, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, TimeUnit};
use datafusion::sql::sqlparser::ast::{self, CharacterLength, ExactNumberInfo};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Key of the Arrow field metadata that keeps a column's declared Redshift type.
pub const TYPE_KEY: &str = "redshift.type";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "p")]
pub enum RsType {
    SmallInt,
    Integer,
    BigInt,
    Decimal(u8, i8),
    Real,
    Double,
    Boolean,
    /// Blank-padded, length in bytes.
    Char(u32),
    /// Length in bytes.
    Varchar(u32),
    Date,
    Timestamp,
    Timestamptz,
    Time,
    Super,
    /// VARBYTE(n): binary, at most n bytes.
    Varbyte(u32),
    /// HLLSKETCH: a HyperLogLog sketch in Redshift's text forms (sparse JSON or dense base64).
    HllSketch,
}

/// VARBYTE's default and largest lengths, in bytes.
pub const VARBYTE_DEFAULT: u32 = 64_000;
pub const VARBYTE_MAX: u32 = 1_024_000;

pub const VARCHAR_MAX: u32 = 65535;

fn length_of(l: &Option<CharacterLength>, default: u32) -> u32 {
    match l {
        Some(CharacterLength::IntegerLength { length, .. }) => (*length).min(VARCHAR_MAX as u64) as u32,
        Some(CharacterLength::Max) => VARCHAR_MAX,
        None => default,
    }
}

impl RsType {
    /// The type a column declaration names, as Redshift reads it (TEXT is VARCHAR(256),
    /// FLOAT is DOUBLE PRECISION, NUMERIC without precision is NUMERIC(18,0)).
    pub fn from_sql(t: &ast::DataType) -> Result<RsType, SqlError> {
        use ast::DataType as D;
        Ok(match t {
            D::SmallInt(_) | D::Int2(_) => RsType::SmallInt,
            D::Int(_) | D::Integer(_) | D::Int4(_) => RsType::Integer,
            D::BigInt(_) | D::Int8(_) => RsType::BigInt,
            D::Real | D::Float4 => RsType::Real,
            D::Float(info) => match info {
                ExactNumberInfo::Precision(p) | ExactNumberInfo::PrecisionAndScale(p, _) if *p <= 24 => RsType::Real,
                _ => RsType::Double,
            },
            D::Double(_) | D::DoublePrecision | D::Float8 | D::Float64 => RsType::Double,
            D::Numeric(info) | D::Decimal(info) | D::Dec(info) => match info {
                ExactNumberInfo::None => RsType::Decimal(18, 0),
                ExactNumberInfo::Precision(p) => RsType::Decimal(check_precision(*p)?, 0),
                ExactNumberInfo::PrecisionAndScale(p, s) => {
                    let p = check_precision(*p)?;
                    if *s < 0 || *s > p as i64 {
                        return Err(SqlError::invalid_parameter(format!(
                            "NUMERIC scale {s} must be between 0 and precision {p}"
                        )));
                    }
                    RsType::Decimal(p, *s as i8)
                }
            },
            D::Boolean | D::Bool => RsType::Boolean,
            D::Char(l) | D::Character(l) => RsType::Char(length_of(l, 1).min(4096)),
            D::Varchar(l) | D::CharacterVarying(l) | D::CharVarying(l) | D::Nvarchar(l) => {
                RsType::Varchar(length_of(l, 256))
            }
            D::Text | D::String(_) => RsType::Varchar(256),
            D::Date => RsType::Date,
            D::Timestamp(_, tz) => match tz {
                ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => RsType::Timestamptz,
                _ => RsType::Timestamp,
            },
            D::Datetime(_) => RsType::Timestamp,
            D::Varbinary(l) => varbyte(
                match l {
                    Some(ast::BinaryLength::IntegerLength { length }) => Some(length.to_string()),
                    Some(ast::BinaryLength::Max) => Some("max".to_string()),
                    None => None,
                }
                .as_deref(),
            )?,
            D::Time(_, _) => RsType::Time,
            D::Custom(name, args) => {
                let n = name.to_string().to_ascii_lowercase();
                match n.as_str() {
                    "bpchar" | "nchar" => RsType::Char(args.first().and_then(|a| a.parse().ok()).unwrap_or(1)),
                    "timestamptz" => RsType::Timestamptz,
                    "super" => RsType::Super,
                    "hllsketch" => RsType::HllSketch,
                    "float" => RsType::Double,
                    "varbyte" | "binary varying" => varbyte(args.first().map(String::as_str))?,
                    _ => return Err(SqlError::new("42704", format!("type \"{n}\" does not exist"))),
                }
            }
            other => {
                return Err(SqlError::new(
                    "42704",
                    format!("type \"{}\" does not exist", other.to_string().to_lowercase()),
                ))
            }
        })
    }

    /// The type a computed column gets when a table is created from a query.
    pub fn from_arrow(t: &DataType) -> RsType {
        match t {
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => RsType::SmallInt,
            DataType::Int32 | DataType::UInt16 => RsType::Integer,
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => RsType::BigInt,
            DataType::Float16 | DataType::Float32 => RsType::Real,
            DataType::Float64 => RsType::Double,
            DataType::Decimal128(p, s) => RsType::Decimal((*p).min(38), *s),
            DataType::Boolean => RsType::Boolean,
            DataType::Date32 | DataType::Date64 => RsType::Date,
            DataType::Timestamp(_, Some(_)) => RsType::Timestamptz,
            DataType::Timestamp(_, None) => RsType::Timestamp,
            DataType::Time32(_) | DataType::Time64(_) => RsType::Time,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView => RsType::Varbyte(VARBYTE_DEFAULT),
            _ => RsType::Varchar(256),
        }
    }

    pub fn arrow(&self) -> DataType {
        match self {
            RsType::SmallInt => DataType::Int16,
            RsType::Integer => DataType::Int32,
            RsType::BigInt => DataType::Int64,
            RsType::Decimal(p, s) => DataType::Decimal128(*p, *s),
            RsType::Real => DataType::Float32,
            RsType::Double => DataType::Float64,
            RsType::Boolean => DataType::Boolean,
            RsType::Char(_) | RsType::Varchar(_) | RsType::Super | RsType::HllSketch => DataType::Utf8,
            RsType::Varbyte(_) => DataType::Binary,
            RsType::Date => DataType::Date32,
            RsType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            RsType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            RsType::Time => DataType::Time64(TimeUnit::Microsecond),
        }
    }

    /// Reads back a name `pg_name` gave (as kept in a field's metadata).
    pub fn from_pg_name(name: &str) -> Option<RsType> {
        let args = |s: &str| -> Vec<u32> {
            s.split_once('(')
                .map(|(_, a)| a.trim_end_matches(')').split(',').filter_map(|x| x.trim().parse().ok()).collect())
                .unwrap_or_default()
        };
        Some(match name {
            "smallint" => RsType::SmallInt,
            "integer" => RsType::Integer,
            "bigint" => RsType::BigInt,
            "real" => RsType::Real,
            "double precision" => RsType::Double,
            "boolean" => RsType::Boolean,
            "date" => RsType::Date,
            "timestamp without time zone" => RsType::Timestamp,
            "timestamp with time zone" => RsType::Timestamptz,
            "time without time zone" => RsType::Time,
            "super" => RsType::Super,
            "hllsketch" => RsType::HllSketch,
            n if n.starts_with("varbyte(") => RsType::Varbyte(*args(n).first()?),
            n if n.starts_with("numeric(") => {
                let a = args(n);
                RsType::Decimal(*a.first()? as u8, *a.get(1)? as i8)
            }
            n if n.starts_with("character varying(") => RsType::Varchar(*args(n).first()?),
            n if n.starts_with("character(") => RsType::Char(*args(n).first()?),
            _ => return None,
        })
    }

    /// The name `format_type` and the catalog views give it.
    pub fn pg_name(&self) -> String {
        match self {
            RsType::SmallInt => "smallint".into(),
            RsType::Integer => "integer".into(),
            RsType::BigInt => "bigint".into(),
            RsType::Decimal(p, s) => format!("numeric({p},{s})"),
            RsType::Real => "real".into(),
            RsType::Double => "double precision".into(),
            RsType::Boolean => "boolean".into(),
            RsType::Char(n) => format!("character({n})"),
            RsType::Varchar(n) => format!("character varying({n})"),
            RsType::Date => "date".into(),
            RsType::Timestamp => "timestamp without time zone".into(),
            RsType::Timestamptz => "timestamp with time zone".into(),
            RsType::Time => "time without time zone".into(),
            RsType::Super => "super".into(),
            RsType::Varbyte(n) => format!("varbyte({n})"),
            RsType::HllSketch => "hllsketch".into(),
        }
    }

    pub fn field(&self, name: &str, nullable: bool) -> Field {
        Field::new(name, self.arrow(), nullable).with_metadata(HashMap::from([(TYPE_KEY.to_string(), self.pg_name())]))
    }

    /// Makes a column that was cast to this type storable: strings must fit their length in
    /// bytes (blanks past it are cut, as Redshift does). CHAR values are kept without their trailing blanks, which Redshift treats as
    /// insignificant (so `char_col = 'ab'` matches a value stored as `'ab      '`).
    pub fn check_column(&self, column: &str, array: ArrayRef) -> Result<ArrayRef, SqlError> {
        let (n, is_char) = match self {
            RsType::Varchar(n) => (*n, false),
            RsType::Char(n) => (*n, true),
            RsType::Super | RsType::HllSketch => {
                return Ok(if *self == RsType::Super { super_values(array) } else { array })
            }
            RsType::Varbyte(n) => {
                let bytes = datafusion::arrow::compute::cast(&array, &DataType::Binary).map_err(SqlError::internal)?;
                let b = bytes.as_any().downcast_ref::<datafusion::arrow::array::BinaryArray>();
                if b.is_some_and(|b| b.iter().flatten().any(|v| v.len() > *n as usize)) {
                    return Err(SqlError::new("22001", format!("value too long for type varbyte({n})"))
                        .with_detail(format!("column \"{column}\"")));
                }
                return Ok(bytes);
            }
            _ => return Ok(array),
        };
        let Some(strings) = array.as_any().downcast_ref::<StringArray>() else { return Ok(array) };
        let n = n as usize;
        // A value longer than the column only by blanks is cut to the column's length.
        let mut cut = false;
        for s in strings.iter().flatten() {
            if s.len() > n {
                if s.as_bytes()[n..].iter().all(|b| *b == b' ') {
                    cut = true;
                    continue;
                }
                let kind = if is_char { "character" } else { "character varying" };
                return Err(SqlError::new("22001", format!("value too long for type {kind}({n})"))
                    .with_detail(format!("column \"{column}\"")));
            }
        }
        if is_char && strings.iter().flatten().any(|s| s.ends_with(' ')) {
            let trimmed: StringArray = strings.iter().map(|v| v.map(|s| s.trim_end_matches(' '))).collect();
            return Ok(Arc::new(trimmed));
        }
        if cut {
            let fitted: StringArray =
                strings.iter().map(|v| v.map(|s| if s.len() > n { &s[..n] } else { s })).collect();
            return Ok(Arc::new(fitted));
        }
        Ok(array)
    }
}

/// SUPER keeps JSON text: a value that is not JSON (a VARCHAR put in a SUPER column) is
/// kept as a JSON string.
fn super_values(array: ArrayRef) -> ArrayRef {
    let Some(strings) = array.as_any().downcast_ref::<StringArray>() else { return array };
    let is_json = |s: &str| serde_json::from_str::<serde_json::Value>(s).is_ok();
    if strings.iter().flatten().all(is_json) {
        return array;
    }
    let encoded: StringArray = strings
        .iter()
        .map(|v| {
            v.map(|s| if is_json(s) { s.to_string() } else { serde_json::Value::String(s.to_string()).to_string() })
        })
        .collect();
    Arc::new(encoded)
}

/// VARBYTE's length: n bytes (1 to 1,024,000), MAX, or the default 64,000.
fn varbyte(length: Option<&str>) -> Result<RsType, SqlError> {
    let n = match length.map(|l| l.trim().to_ascii_lowercase()) {
        None => VARBYTE_DEFAULT,
        Some(l) if l == "max" => VARBYTE_MAX,
        Some(l) => l.parse::<u32>().map_err(|_| SqlError::syntax(&l))?,
    };
    if !(1..=VARBYTE_MAX).contains(&n) {
        return Err(SqlError::invalid_parameter(format!(
            "length for type varbyte must be between 1 and {VARBYTE_MAX}"
        )));
    }
    Ok(RsType::Varbyte(n))
}

fn check_precision(p: u64) -> Result<u8, SqlError> {
    if p == 0 || p > 38 {
        return Err(SqlError::invalid_parameter(format!("NUMERIC precision {p} must be between 1 and 38")));
    }
    Ok(p as u8)
}

/// A timestamp written to the minute (`2008-01-05 10:00`), which Redshift reads and Arrow's
/// parser does not, completed with its seconds, and PostgreSQL's special value `epoch`;
/// None for any other text.
pub fn complete_timestamp_text(s: &str) -> Option<String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("epoch") {
        return Some("1970-01-01 00:00:00".into());
    }
    let (date, time) = t.split_once([' ', 'T'])?;
    let date_ok = date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-';
    let (h, m) = time.split_once(':')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    (date_ok && digits(h) && h.len() <= 2 && digits(m) && m.len() == 2).then(|| format!("{date} {h:0>2}:{m}:00"))
}

#[cfg(test)]
#[test]
fn completes_minute_timestamps() {
    assert_eq!(complete_timestamp_text("2008-01-05 9:30").as_deref(), Some("2008-01-05 09:30:00"));
    assert_eq!(complete_timestamp_text("2008-01-05T10:00").as_deref(), Some("2008-01-05 10:00:00"));
    assert_eq!(complete_timestamp_text("2008-01-05 10:00:01"), None);
    assert_eq!(complete_timestamp_text("2008-01-05"), None);
    assert_eq!(complete_timestamp_text("Epoch").as_deref(), Some("1970-01-01 00:00:00"));
}

/// Text headed for a timestamp column or cast, with minute-precision values completed.
pub fn lenient_timestamp_text(array: &ArrayRef) -> ArrayRef {
    let Some(strings) = array.as_any().downcast_ref::<StringArray>() else { return array.clone() };
    if !strings.iter().flatten().any(|s| complete_timestamp_text(s).is_some()) {
        return array.clone();
    }
    let out: StringArray =
        strings.iter().map(|v| v.map(|s| complete_timestamp_text(s).unwrap_or_else(|| s.to_string()))).collect();
    Arc::new(out)
}

/// After type coercion: a text literal cast to a timestamp is completed the same way, so
/// `WHERE t > '2008-01-05 10:00'` reads as on Redshift; a VARBYTE cast to text is its hex.
#[derive(Debug)]
pub struct LenientTimestampLiterals;

impl datafusion::optimizer::AnalyzerRule for LenientTimestampLiterals {
    fn analyze(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        _config: &datafusion::common::config::ConfigOptions,
    ) -> datafusion::common::Result<datafusion::logical_expr::LogicalPlan> {
        use datafusion::common::tree_node::{Transformed, TreeNode};
        use datafusion::common::ScalarValue;
        use datafusion::logical_expr::{Cast, Expr};
        plan.transform_up_with_subqueries(|node| {
            let schema = datafusion::logical_expr::utils::merge_schema(&node.inputs());
            node.map_expressions(|e| {
                e.transform_up(|e| match e {
                    // VARBYTE as text is its hexadecimal form, as Redshift casts it.
                    Expr::Cast(Cast { expr, field })
                        if matches!(field.data_type(), DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
                            && datafusion::logical_expr::ExprSchemable::get_type(expr.as_ref(), &schema).is_ok_and(
                                |t| matches!(t, DataType::Binary | DataType::LargeBinary | DataType::BinaryView),
                            ) =>
                    {
                        let hex = Expr::ScalarFunction(datafusion::logical_expr::expr::ScalarFunction::new_udf(
                            std::sync::Arc::new(crate::functions::varbyte::to_hex()),
                            vec![*expr],
                        ));
                        Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(Box::new(hex), field))))
                    }
                    Expr::Cast(Cast { expr, field }) if matches!(field.data_type(), DataType::Timestamp(..)) => {
                        let completed = match expr.as_ref() {
                            Expr::Literal(
                                ScalarValue::Utf8(Some(s))
                                | ScalarValue::Utf8View(Some(s))
                                | ScalarValue::LargeUtf8(Some(s)),
                                _,
                            ) => complete_timestamp_text(s),
                            _ => None,
                        };
                        match completed {
                            Some(text) => Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(
                                Box::new(Expr::Literal(ScalarValue::Utf8(Some(text)), None)),
                                field,
                            )))),
                            None => Ok(Transformed::no(Expr::Cast(Cast { expr, field }))),
                        }
                    }
                    other => Ok(Transformed::no(other)),
                })
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "redshift_lenient_timestamp_literals"
    }
}
