//! Redshift's functions of SUPER values beyond navigation: the type tests (IS_BIGINT,
//! IS_DECIMAL, IS_FLOAT, IS_VARCHAR, ..., DECIMAL_PRECISION, DECIMAL_SCALE), the array
//! functions (ARRAY, ARRAY_CONCAT, ARRAY_FLATTEN, SPLIT_TO_ARRAY, SUBARRAY, ARRAY_CONTAINS,
//! ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECTION, ARRAY_UNION, ARRAY_POSITION(S),
//! ARRAY_SORT, ARRAYS_OVERLAP) and OBJECT. SUPER values are JSON text; an argument that is a
//! plain SQL value (not SUPER) reaches these functions already turned into JSON by
//! `to_super`, which the dynamic-typing rule inserts (see `super_type`).
use crate::functions::row::{boolean, int, text, Arg, RowFunction, BOOL, INT, TEXT};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::prelude::SessionContext;
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;

/// Functions whose value is SUPER.
pub const SUPER_VALUED: &[&str] = &[
    "array",
    "array_concat",
    "array_flatten",
    "split_to_array",
    "subarray",
    "array_distinct",
    "array_except",
    "array_intersection",
    "array_union",
    "array_positions",
    "array_sort",
    "object",
    "to_super",
];

/// For the functions taking plain SQL values among SUPER ones: which arguments are values
/// (turned into JSON by `to_super` unless they are SUPER already).
pub fn value_arguments(name: &str, count: usize) -> Vec<usize> {
    match name {
        "array" => (0..count).collect(),
        "object" => (1..count).step_by(2).collect(),
        "array_contains" | "array_position" | "array_positions" => vec![1],
        _ => vec![],
    }
}

/// SUPER text as JSON; text that is not JSON is a string (a VARCHAR stored in SUPER).
fn json(v: &ScalarValue) -> Option<Json> {
    let t = text(v)?;
    Some(serde_json::from_str(t).unwrap_or_else(|_| Json::String(t.to_string())))
}

fn to_super_value(j: Json) -> ScalarValue {
    ScalarValue::Utf8(Some(j.to_string()))
}

/// A plain SQL value as JSON: numbers as numbers, text as strings, dates and times as their
/// text, NULL as null.
fn value_json(v: &ScalarValue) -> Json {
    match v {
        v if v.is_null() => Json::Null,
        ScalarValue::Boolean(Some(b)) => Json::Bool(*b),
        ScalarValue::Int8(Some(n)) => Json::from(*n),
        ScalarValue::Int16(Some(n)) => Json::from(*n),
        ScalarValue::Int32(Some(n)) => Json::from(*n),
        ScalarValue::Int64(Some(n)) => Json::from(*n),
        ScalarValue::UInt64(Some(n)) => Json::from(*n),
        ScalarValue::Float32(Some(f)) => {
            serde_json::Number::from_f64(f64::from(*f)).map(Json::Number).unwrap_or(Json::Null)
        }
        ScalarValue::Float64(Some(f)) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        ScalarValue::Decimal128(Some(_), ..) => {
            serde_json::from_str(&v.to_string()).unwrap_or_else(|_| Json::String(v.to_string()))
        }
        other => match text(other) {
            Some(s) => Json::String(s.to_string()),
            None => Json::String(other.to_string()),
        },
    }
}

/// Equality of SUPER elements: numbers by value (1 equals 1.0), the rest structurally.
fn same(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        _ => a == b,
    }
}

/// SUPER's order for ARRAY_SORT: by type (null, boolean, number, string, array, object),
/// then by value.
fn order(a: &Json, b: &Json) -> Ordering {
    let rank = |j: &Json| match j {
        Json::Null => 0,
        Json::Bool(_) => 1,
        Json::Number(_) => 2,
        Json::String(_) => 3,
        Json::Array(_) => 4,
        Json::Object(_) => 5,
    };
    match (a, b) {
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::Number(x), Json::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Json::String(x), Json::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn array_of(v: &ScalarValue) -> Option<Vec<Json>> {
    match json(v)? {
        Json::Array(a) => Some(a),
        _ => None,
    }
}

fn array_value(items: Vec<Json>) -> ScalarValue {
    to_super_value(Json::Array(items))
}

fn distinct(items: Vec<Json>) -> Vec<Json> {
    let mut out: Vec<Json> = Vec::with_capacity(items.len());
    for i in items {
        if !out.iter().any(|o| same(o, &i)) {
            out.push(i);
        }
    }
    out
}

/// Removes one element equal to `x` from `pool`; whether there was one.
fn take_one(pool: &mut Vec<Json>, x: &Json) -> bool {
    match pool.iter().position(|p| same(p, x)) {
        Some(i) => {
            pool.swap_remove(i);
            true
        }
        None => false,
    }
}

enum SetOp {
    Except,
    Intersection,
    Union,
}

/// ARRAY_EXCEPT, ARRAY_INTERSECTION and ARRAY_UNION: multiset semantics by default (each
/// occurrence matched against the other array's), set semantics with `distinct`.
fn set_op(op: &SetOp, args: &[ScalarValue]) -> Result<ScalarValue> {
    let (Some(a), Some(b)) = (array_of(&args[0]), array_of(&args[1])) else {
        return Ok(ScalarValue::Utf8(None));
    };
    let as_set = args.get(2).and_then(boolean).unwrap_or(false);
    let (a, b) = if as_set { (distinct(a), distinct(b)) } else { (a, b) };
    let mut pool = b.clone();
    let out = match op {
        SetOp::Except => a.into_iter().filter(|x| !take_one(&mut pool, x)).collect(),
        SetOp::Intersection => a.into_iter().filter(|x| take_one(&mut pool, x)).collect(),
        SetOp::Union => {
            for x in &a {
                take_one(&mut pool, x);
            }
            a.into_iter().chain(b.into_iter().filter(|x| take_one(&mut pool, x))).collect()
        }
    };
    Ok(array_value(out))
}

/// Where `value` is in the array, under ARRAY_POSITION's NULL rules: with `null_match`
/// (the default) NULL is an element like any other; without it, searching NULL, or missing
/// in an array holding NULLs, is NULL.
fn positions(args: &[ScalarValue]) -> Option<Vec<usize>> {
    let items = array_of(&args[0])?;
    let wanted = json(&args[1]).unwrap_or(Json::Null);
    let null_match = args.get(2).and_then(boolean).unwrap_or(true);
    if !null_match && wanted.is_null() {
        return None;
    }
    let found: Vec<usize> = items.iter().enumerate().filter(|(_, x)| same(x, &wanted)).map(|(i, _)| i).collect();
    if found.is_empty() && !null_match && items.iter().any(Json::is_null) {
        return None;
    }
    Some(found)
}

fn flatten(items: Vec<Json>, out: &mut Vec<Json>) {
    for i in items {
        match i {
            Json::Array(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}

/// The kind of a SUPER number from its text: an integer, a decimal, or a float (written
/// with an exponent, or not finite).
enum Numeric {
    Integer(i128),
    Decimal { precision: u32, scale: u32 },
    Float,
}

fn numeric(v: &ScalarValue) -> Option<Numeric> {
    let t = text(v)?.trim();
    if !matches!(serde_json::from_str::<Json>(t), Ok(Json::Number(_))) {
        return None;
    }
    if t.contains(['e', 'E']) {
        return Some(Numeric::Float);
    }
    if let Ok(n) = t.parse::<i128>() {
        return Some(Numeric::Integer(n));
    }
    let digits = t.trim_start_matches('-');
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let whole = whole.trim_start_matches('0');
    Some(Numeric::Decimal { precision: (whole.len() + fraction.len()).max(1) as u32, scale: fraction.len() as u32 })
}

fn integer_within(v: &ScalarValue, lo: i128, hi: i128) -> ScalarValue {
    ScalarValue::Boolean(Some(matches!(numeric(v), Some(Numeric::Integer(n)) if (lo..=hi).contains(&n))))
}

fn is_kind(test: impl Fn(&Json) -> bool + Send + Sync + 'static) -> impl Fn(&[ScalarValue]) -> Result<ScalarValue> {
    move |a| Ok(ScalarValue::Boolean(Some(json(&a[0]).is_some_and(|j| test(&j)))))
}

/// TO_SUPER(value): a plain SQL value as SUPER (JSON text).
pub fn to_super() -> datafusion::logical_expr::ScalarUDF {
    RowFunction::new("to_super", vec![vec![Arg::Any]], DataType::Utf8, |a| Ok(to_super_value(value_json(&a[0]))))
        .lenient()
        .udf()
}

pub fn register(ctx: &SessionContext) {
    ctx.register_udf(to_super());
    let superv = || Arg::Is(DataType::Utf8);
    let variadic = |max: usize| (0..=max).map(|n| vec![superv(); n]).collect::<Vec<_>>();
    let mut functions = vec![
        // Type tests: false for NULL, as Redshift answers.
        RowFunction::new("is_bigint", vec![vec![superv()]], DataType::Boolean, |a| {
            Ok(integer_within(&a[0], i64::MIN.into(), i64::MAX.into()))
        })
        .lenient(),
        RowFunction::new("is_integer", vec![vec![superv()]], DataType::Boolean, |a| {
            Ok(integer_within(&a[0], i32::MIN.into(), i32::MAX.into()))
        })
        .lenient(),
        RowFunction::new("is_smallint", vec![vec![superv()]], DataType::Boolean, |a| {
            Ok(integer_within(&a[0], i16::MIN.into(), i16::MAX.into()))
        })
        .lenient(),
        RowFunction::new("is_decimal", vec![vec![superv()]], DataType::Boolean, |a| {
            Ok(ScalarValue::Boolean(Some(matches!(
                numeric(&a[0]),
                Some(Numeric::Integer(_) | Numeric::Decimal { .. })
            ))))
        })
        .lenient(),
        RowFunction::new("is_float", vec![vec![superv()]], DataType::Boolean, |a| {
            Ok(ScalarValue::Boolean(Some(matches!(numeric(&a[0]), Some(Numeric::Float)))))
        })
        .lenient(),
        RowFunction::new("is_boolean", vec![vec![superv()]], DataType::Boolean, is_kind(Json::is_boolean)).lenient(),
        RowFunction::new("is_varchar", vec![vec![superv()]], DataType::Boolean, is_kind(Json::is_string)).lenient(),
        // CHAR holds ASCII only.
        RowFunction::new(
            "is_char",
            vec![vec![superv()]],
            DataType::Boolean,
            is_kind(|j| j.as_str().is_some_and(|s| s.is_ascii())),
        )
        .lenient(),
        RowFunction::new("decimal_precision", vec![vec![superv()]], DataType::Int32, |a| {
            Ok(ScalarValue::Int32(match numeric(&a[0]) {
                Some(Numeric::Decimal { precision, .. }) => Some(precision as i32),
                Some(Numeric::Integer(n)) => Some(n.unsigned_abs().to_string().len() as i32),
                _ => None,
            }))
        }),
        RowFunction::new("decimal_scale", vec![vec![superv()]], DataType::Int32, |a| {
            Ok(ScalarValue::Int32(match numeric(&a[0]) {
                Some(Numeric::Decimal { scale, .. }) => Some(scale as i32),
                Some(Numeric::Integer(_)) => Some(0),
                _ => None,
            }))
        }),
        // Arrays.
        RowFunction::new("array", variadic(100), DataType::Utf8, |a| {
            Ok(array_value(a.iter().map(|v| json(v).unwrap_or(Json::Null)).collect()))
        })
        .lenient(),
        RowFunction::new("array_concat", vec![vec![superv(), superv()]], DataType::Utf8, |a| {
            Ok(match (array_of(&a[0]), array_of(&a[1])) {
                (Some(x), Some(y)) => array_value(x.into_iter().chain(y).collect()),
                _ => ScalarValue::Utf8(None),
            })
        }),
        RowFunction::new("array_flatten", variadic(100).split_off(1), DataType::Utf8, |a| {
            let mut out = Vec::new();
            for v in a {
                match json(v) {
                    Some(Json::Array(items)) => flatten(items, &mut out),
                    _ => return Ok(ScalarValue::Utf8(None)),
                }
            }
            Ok(array_value(out))
        }),
        RowFunction::new("split_to_array", vec![vec![TEXT], vec![TEXT, TEXT]], DataType::Utf8, |a| {
            let s = text(&a[0]).unwrap_or_default();
            let delimiter = a.get(1).and_then(text).unwrap_or(",");
            let parts: Vec<Json> = if delimiter.is_empty() {
                vec![Json::String(s.to_string())]
            } else {
                s.split(delimiter).map(|p| Json::String(p.to_string())).collect()
            };
            Ok(array_value(parts))
        }),
        RowFunction::new("subarray", vec![vec![superv(), INT, INT]], DataType::Utf8, |a| {
            let (Some(items), Some(start), Some(length)) = (array_of(&a[0]), int(&a[1]), int(&a[2])) else {
                return Ok(ScalarValue::Utf8(None));
            };
            let start = start.clamp(0, items.len() as i64) as usize;
            let end = (start as i64 + length.max(0)).min(items.len() as i64) as usize;
            Ok(array_value(items[start..end].to_vec()))
        }),
        RowFunction::new(
            "array_contains",
            vec![vec![superv(), superv()], vec![superv(), superv(), BOOL]],
            DataType::Boolean,
            |a| Ok(ScalarValue::Boolean(positions(a).map(|p| !p.is_empty()))),
        )
        .lenient(),
        RowFunction::new(
            "array_position",
            vec![vec![superv(), superv()], vec![superv(), superv(), BOOL]],
            DataType::Int32,
            |a| Ok(ScalarValue::Int32(positions(a).map(|p| p.first().map(|i| *i as i32).unwrap_or(-1)))),
        )
        .lenient(),
        RowFunction::new(
            "array_positions",
            vec![vec![superv(), superv()], vec![superv(), superv(), BOOL]],
            DataType::Utf8,
            |a| {
                Ok(match positions(a) {
                    Some(p) => array_value(p.into_iter().map(Json::from).collect()),
                    None => ScalarValue::Utf8(None),
                })
            },
        )
        .lenient(),
        RowFunction::new("array_distinct", vec![vec![superv()]], DataType::Utf8, |a| {
            Ok(array_of(&a[0]).map(|items| array_value(distinct(items))).unwrap_or(ScalarValue::Utf8(None)))
        }),
        RowFunction::new(
            "array_sort",
            vec![vec![superv()], vec![superv(), BOOL], vec![superv(), BOOL, BOOL]],
            DataType::Utf8,
            |a| {
                let Some(mut items) = array_of(&a[0]) else { return Ok(ScalarValue::Utf8(None)) };
                let ascending = a.get(1).and_then(boolean).unwrap_or(true);
                // NULLs last ascending and first descending unless told, as ORDER BY places them.
                let nulls_first = a.get(2).and_then(boolean).unwrap_or(!ascending);
                items.sort_by(|x, y| match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ if ascending => order(x, y),
                    _ => order(y, x),
                });
                Ok(array_value(items))
            },
        ),
        RowFunction::new("arrays_overlap", vec![vec![superv(), superv()]], DataType::Boolean, |a| {
            Ok(match (array_of(&a[0]), array_of(&a[1])) {
                (Some(x), Some(y)) => ScalarValue::Boolean(Some(x.iter().any(|i| y.iter().any(|j| same(i, j))))),
                _ => ScalarValue::Boolean(None),
            })
        }),
        // OBJECT(key, value, ...): keys are text; a NULL key is refused, as on Redshift.
        RowFunction::new(
            "object",
            variadic(100).into_iter().filter(|f| f.len() % 2 == 0).collect(),
            DataType::Utf8,
            |a| {
                let mut m = Map::new();
                for pair in a.chunks(2) {
                    let Some(key) = text(&pair[0]) else {
                        return Err(crate::functions::row::sql_error("22023", "OBJECT keys must not be NULL"));
                    };
                    m.insert(key.to_string(), json(&pair[1]).unwrap_or(Json::Null));
                }
                Ok(to_super_value(Json::Object(m)))
            },
        )
        .lenient(),
    ];
    for (name, op) in
        [("array_except", SetOp::Except), ("array_intersection", SetOp::Intersection), ("array_union", SetOp::Union)]
    {
        functions.push(RowFunction::new(
            name,
            vec![vec![superv(), superv()], vec![superv(), superv(), BOOL]],
            DataType::Utf8,
            move |a| set_op(&op, a),
        ));
    }
    for f in functions {
        ctx.register_udf(f.udf());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(s: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(s.into()))
    }

    #[test]
    fn multiset_and_set_operations() {
        let except = set_op(&SetOp::Except, &[arr("[1,1,2,3]"), arr("[1,3]")]).unwrap();
        assert_eq!(except, arr("[1,2]"));
        let except_set =
            set_op(&SetOp::Except, &[arr("[1,1,2,3]"), arr("[1,3]"), ScalarValue::Boolean(Some(true))]).unwrap();
        assert_eq!(except_set, arr("[2]"));
        assert_eq!(set_op(&SetOp::Intersection, &[arr("[1,1,2]"), arr("[1,1,1]")]).unwrap(), arr("[1,1]"));
        assert_eq!(set_op(&SetOp::Union, &[arr("[1,2]"), arr("[2,2,3]")]).unwrap(), arr("[1,2,2,3]"));
    }

    #[test]
    fn positions_follow_null_match() {
        assert_eq!(positions(&[arr(r#"["red","green","red"]"#), arr(r#""red""#)]), Some(vec![0, 2]));
        assert_eq!(positions(&[arr("[1,null]"), arr("null")]), Some(vec![1]));
        assert_eq!(positions(&[arr("[1,null]"), arr("2"), ScalarValue::Boolean(Some(false))]), None);
    }

    #[test]
    fn number_kinds() {
        assert!(matches!(numeric(&arr("1.22")), Some(Numeric::Decimal { precision: 3, scale: 2 })));
        assert!(matches!(numeric(&arr("12")), Some(Numeric::Integer(12))));
        assert!(matches!(numeric(&arr("1.5e3")), Some(Numeric::Float)));
        assert!(numeric(&arr("\"1\"")).is_none());
    }
}
