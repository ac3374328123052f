//! Redshift's JSON functions over JSON text (VARCHAR): IS_VALID_JSON, IS_VALID_JSON_ARRAY,
//! CAN_JSON_PARSE, JSON_ARRAY_LENGTH, JSON_EXTRACT_ARRAY_ELEMENT_TEXT and
//! JSON_EXTRACT_PATH_TEXT, with their `null_if_invalid` flag. (JSON_PARSE, JSON_SERIALIZE and
//! the SUPER functions are in `super_type`.)
use super::row::{boolean, int, text, Arg, RowFunction, BOOL, INT, TEXT};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::prelude::SessionContext;
use serde_json::Value as Json;

/// Redshift's error for text that is not the JSON a function expects.
fn parsing_error(what: &str, input: &str) -> DataFusionError {
    DataFusionError::External(Box::new(
        crate::error::SqlError::new("XX000", "JSON parsing error").with_detail(format!("Invalid json {what}: {input}")),
    ))
}

/// The text a JSON value extracts to: strings unquoted, null as SQL NULL, the rest as JSON.
fn as_text(v: &Json) -> ScalarValue {
    ScalarValue::Utf8(match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

/// Parses `input` as the JSON kind a function wants (an object for paths, an array for array
/// functions); invalid text is an error, or NULL (`None`) when `null_if_invalid` is set.
fn parse_as(input: &str, array: bool, null_if_invalid: bool) -> Result<Option<Json>> {
    match serde_json::from_str::<Json>(input) {
        Ok(v) if (array && v.is_array()) || (!array && v.is_object()) => Ok(Some(v)),
        _ if null_if_invalid => Ok(None),
        _ => Err(parsing_error(if array { "array" } else { "object" }, input)),
    }
}

fn json_array_length(args: &[ScalarValue]) -> Result<ScalarValue> {
    if args[0].is_null() {
        return Ok(ScalarValue::Int32(None));
    }
    let lenient = args.get(1).and_then(boolean).unwrap_or(false);
    let Some(Json::Array(items)) = parse_as(text(&args[0]).unwrap_or_default(), true, lenient)? else {
        return Ok(ScalarValue::Int32(None));
    };
    Ok(ScalarValue::Int32(Some(items.len() as i32)))
}

fn json_extract_array_element_text(args: &[ScalarValue]) -> Result<ScalarValue> {
    if args[0].is_null() {
        return Ok(ScalarValue::Utf8(None));
    }
    let lenient = args.get(2).and_then(boolean).unwrap_or(false);
    let Some(Json::Array(items)) = parse_as(text(&args[0]).unwrap_or_default(), true, lenient)? else {
        return Ok(ScalarValue::Utf8(None));
    };
    let pos = int(&args[1]).unwrap_or(-1);
    Ok(usize::try_from(pos).ok().and_then(|p| items.get(p)).map(as_text).unwrap_or(ScalarValue::Utf8(None)))
}

/// JSON_EXTRACT_PATH_TEXT(json, path_elem [, ...] [, null_if_invalid]): the last argument is
/// the flag when it is a boolean.
fn json_extract_path_text(args: &[ScalarValue]) -> Result<ScalarValue> {
    let (path, lenient) = match args.last() {
        Some(ScalarValue::Boolean(b)) => (&args[1..args.len() - 1], b.unwrap_or(false)),
        _ => (&args[1..], false),
    };
    if path.is_empty() {
        return Err(super::row::no_such_function("json_extract_path_text", &[DataType::Utf8, DataType::Boolean]));
    }
    let Some(input) = text(&args[0]) else {
        return Ok(ScalarValue::Utf8(None));
    };
    let Some(mut v) = parse_as(input, false, lenient)? else {
        return Ok(ScalarValue::Utf8(None));
    };
    for step in path {
        let Some(key) = text(step) else {
            return Ok(ScalarValue::Utf8(None));
        };
        v = match v {
            Json::Object(mut m) => match m.remove(key) {
                Some(next) => next,
                None => return Ok(ScalarValue::Utf8(None)),
            },
            _ => return Ok(ScalarValue::Utf8(None)),
        };
    }
    Ok(as_text(&v))
}

fn validity(array: Option<bool>) -> impl Fn(&[ScalarValue]) -> Result<ScalarValue> {
    move |args| {
        let v = serde_json::from_str::<Json>(text(&args[0]).unwrap_or_default()).ok();
        Ok(ScalarValue::Boolean(Some(match (array, v) {
            (_, None) => false,
            (Some(true), Some(v)) => v.is_array(),
            (Some(false), Some(v)) => v.is_object(),
            (None, Some(_)) => true,
        })))
    }
}

pub fn register(ctx: &SessionContext) {
    let path_forms: Vec<Vec<Arg>> = (2..=8).map(|n| vec![Arg::Any; n]).collect();
    let functions = vec![
        RowFunction::new("is_valid_json", vec![vec![TEXT]], DataType::Boolean, validity(Some(false))),
        RowFunction::new("is_valid_json_array", vec![vec![TEXT]], DataType::Boolean, validity(Some(true))),
        RowFunction::new("can_json_parse", vec![vec![TEXT]], DataType::Boolean, validity(None)),
        RowFunction::new("json_array_length", vec![vec![TEXT], vec![TEXT, BOOL]], DataType::Int32, json_array_length)
            .lenient(),
        RowFunction::new(
            "json_extract_array_element_text",
            vec![vec![TEXT, INT], vec![TEXT, INT, BOOL]],
            DataType::Utf8,
            json_extract_array_element_text,
        )
        .lenient(),
        RowFunction::new("json_extract_path_text", path_forms, DataType::Utf8, json_extract_path_text).lenient(),
    ];
    for f in functions {
        ctx.register_udf(f.udf());
    }
}
