//! What the two REST protocols (rest-xml, rest-json) share: members bound to the URI, the query
//! string, headers and the status code. Only the payload differs between them.
use crate::model::{Model, ShapeDef, ShapeRef};
use crate::{time_fmt, HttpRequest, HttpResponse, Timestamp};
use base64::Engine;
use nuage_core::AwsError;
use serde_json::{Map, Number, Value};

fn invalid_argument(name: &str, value: &str) -> AwsError {
    AwsError::new("InvalidArgument", 400, format!("Invalid value for {name}: {value}"))
        .with("ArgumentName", name)
        .with("ArgumentValue", value)
}

/// Converts the text of a scalar to its generic representation per the target shape's type.
pub(crate) fn scalar(model: &Model, target: &str, name: &str, text: &str) -> Result<Value, AwsError> {
    let shape = model.shape(target);
    Ok(match shape.kind.as_str() {
        "integer" | "long" => {
            let n: i64 = text.trim().parse().map_err(|_| invalid_argument(name, text))?;
            Value::Number(n.into())
        }
        "float" | "double" => {
            let f: f64 = text.trim().parse().map_err(|_| invalid_argument(name, text))?;
            Number::from_f64(f).map(Value::Number).ok_or_else(|| invalid_argument(name, text))?
        }
        "boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(invalid_argument(name, text)),
        },
        "timestamp" => {
            let t = time_fmt::parse(text).ok_or_else(|| invalid_argument(name, text))?;
            Value::Number(t.0.into())
        }
        // Blobs outside a payload travel base64-encoded, as the generic representation holds them.
        "blob" => {
            base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| invalid_argument(name, text))?;
            Value::String(text.trim().to_string())
        }
        _ => Value::String(text.to_string()),
    })
}

/// The text of a scalar in a header, query string or XML element.
pub(crate) fn scalar_text(shape: &ShapeDef, v: &Value, in_header: bool, format: Option<&str>) -> String {
    match (shape.kind.as_str(), v) {
        ("timestamp", Value::Number(n)) => {
            let t = Timestamp(n.as_i64().unwrap_or_default());
            match format.or(shape.timestamp_format.as_deref()) {
                Some("rfc822") => time_fmt::http_date(t),
                Some("iso8601") => time_fmt::iso8601(t),
                Some("unixTimestamp") => t.seconds().to_string(),
                _ if in_header => time_fmt::http_date(t),
                _ => time_fmt::iso8601(t),
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => b.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        (_, other) => other.to_string(),
    }
}

/// A header holding JSON, base64-encoded (the model's `jsonvalue` trait).
fn json_header(name: &str, text: &str) -> Result<Value, AwsError> {
    let raw =
        base64::engine::general_purpose::STANDARD.decode(text.trim()).map_err(|_| invalid_argument(name, text))?;
    serde_json::from_slice(&raw).map_err(|_| invalid_argument(name, text))
}

/// The generic value of a member bound outside the payload, read from the request; `None` when
/// the member is a payload member or absent.
pub(crate) fn bound_member(
    model: &Model,
    shape: &ShapeDef,
    mname: &str,
    mref: &ShapeRef,
    req: &HttpRequest,
) -> Result<Option<Value>, AwsError> {
    let lname = mref.location_name.as_deref().unwrap_or(mname);
    let target = model.shape(&mref.shape);
    Ok(match mref.location.as_deref() {
        Some("uri") => match req.labels.iter().find(|(k, _)| *k == lname) {
            Some((_, v)) => Some(scalar(model, &mref.shape, lname, v)?),
            None => None,
        },
        Some("querystring") => match target.kind.as_str() {
            "list" => {
                let item = &target.member.as_ref().expect("list member").shape;
                let items = req
                    .query
                    .iter()
                    .filter(|(k, _)| k == lname)
                    .map(|(_, v)| scalar(model, item, lname, v))
                    .collect::<Result<Vec<Value>, AwsError>>()?;
                (!items.is_empty()).then_some(Value::Array(items))
            }
            "map" => {
                // A query-string map takes every parameter no other member names.
                let named: Vec<&str> = shape
                    .members
                    .iter()
                    .filter(|(_, r)| r.location.as_deref() == Some("querystring"))
                    .map(|(n, r)| r.location_name.as_deref().unwrap_or(n))
                    .collect();
                let value_shape = model.shape(&target.value.as_ref().expect("map value").shape);
                let mut map = Map::new();
                for (k, v) in req.query.iter().filter(|(k, _)| !named.contains(&k.as_str())) {
                    if value_shape.kind == "list" {
                        let e = map.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new()));
                        if let Value::Array(items) = e {
                            items.push(Value::String(v.clone()));
                        }
                    } else {
                        map.insert(k.clone(), Value::String(v.clone()));
                    }
                }
                (!map.is_empty()).then_some(Value::Object(map))
            }
            _ => match req.query.iter().find(|(k, _)| k == lname) {
                Some((_, v)) => Some(scalar(model, &mref.shape, lname, v)?),
                None => None,
            },
        },
        Some("header") => match req.header(lname) {
            Some(v) if mref.json_value || target.json_value => Some(json_header(lname, v)?),
            Some(v) if target.kind == "list" => {
                let item = &target.member.as_ref().expect("list member").shape;
                let items: Result<Vec<Value>, AwsError> =
                    v.split(',').map(|p| scalar(model, item, lname, p.trim())).collect();
                Some(Value::Array(items?))
            }
            Some(v) => Some(scalar(model, &mref.shape, lname, v)?),
            None => None,
        },
        Some("headers") => {
            let prefix = lname.to_ascii_lowercase();
            let map: Map<String, Value> = req
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    let k = k.to_ascii_lowercase();
                    k.strip_prefix(&prefix).map(|rest| (rest.to_string(), Value::String(v.clone())))
                })
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        _ => None,
    })
}

/// Puts the members bound to headers and the status code into `resp`; returns whether the
/// output has members that belong in the body.
pub(crate) fn bind_response(
    model: &Model,
    shape: &ShapeDef,
    obj: &Map<String, Value>,
    resp: &mut HttpResponse,
) -> bool {
    let mut has_body_members = false;
    for (mname, mref) in &shape.members {
        let Some(val) = obj.get(mname) else { continue };
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        match mref.location.as_deref() {
            Some("header") if mref.json_value || target.json_value => {
                let text = base64::engine::general_purpose::STANDARD.encode(val.to_string());
                resp.headers.push((lname.to_string(), text));
            }
            Some("header") => {
                let text = match val {
                    Value::Array(items) => items
                        .iter()
                        .map(|i| scalar_text(model.shape(&target.member.as_ref().unwrap().shape), i, true, None))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => scalar_text(target, val, true, mref.timestamp_format.as_deref()),
                };
                resp.headers.push((lname.to_string(), text));
            }
            Some("headers") => {
                let value_shape = model.shape(&target.value.as_ref().expect("map value").shape);
                for (k, v) in val.as_object().into_iter().flatten() {
                    resp.headers.push((format!("{lname}{k}"), scalar_text(value_shape, v, true, None)));
                }
            }
            Some("statusCode") => resp.status = val.as_u64().unwrap_or(200) as u16,
            Some(_) => {}
            None => has_body_members = true,
        }
    }
    has_body_members
}
