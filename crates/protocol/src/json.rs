//! The json protocol (DynamoDB, CloudWatch Logs, KMS, Secrets Manager, the Redshift Data API):
//! `POST /` with `X-Amz-Target: <prefix>.<Operation>` and a JSON body both ways. The JSON body
//! conversions here are shared with rest-json.
use crate::model::{Model, ShapeDef};
use crate::{time_fmt, Body, HttpResponse, Shape, Timestamp};
use nuage_core::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

fn serialization(msg: impl std::fmt::Display) -> AwsError {
    crate::common::Common::SerializationException.msg(msg.to_string())
}

fn wrong_type(path: &str, expected: &str) -> AwsError {
    serialization(format!("Unexpected value type for '{path}': expected {expected}"))
}

/// `member.name` as AWS's validation messages write paths: members lower camel case.
fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        lower_first(name)
    } else {
        format!("{path}.{}", lower_first(name))
    }
}

/// The operation an `X-Amz-Target` header names, if it is one of `model`'s.
pub fn operation_from_target<'m>(model: &'m Model, target: &str) -> Option<&'m str> {
    let (prefix, op) = target.split_once('.')?;
    if model.metadata.target_prefix.as_deref() != Some(prefix) {
        return None;
    }
    model.operations.get_key_value(op).map(|(k, _)| k.as_str())
}

/// `application/x-amz-json-1.0` or `-1.1`, as the model's `jsonVersion` says.
pub fn content_type(model: &Model) -> String {
    format!("application/x-amz-json-{}", model.metadata.json_version.as_deref().unwrap_or("1.0"))
}

/// Where a value sits in a request, rendered only when an error names it (building the path
/// of every member of every request would cost more than the conversion itself).
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    Member(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
    Key(&'a At<'a>, &'a str),
}

impl At<'_> {
    fn render(&self) -> String {
        match self {
            At::Root(p) => p.to_string(),
            At::Member(parent, name) => join(&parent.render(), name),
            At::Index(parent, i) => format!("{}.{}.member", parent.render(), i + 1),
            At::Key(parent, k) => format!("{}.{k}", parent.render()),
        }
    }
}

/// Converts a JSON value from the wire into the generic representation of `shape_name`,
/// checking types and required members; `path` names the value in error messages.
pub fn from_wire(model: &Model, shape_name: &str, wire: &Value, path: &str) -> Result<Value, AwsError> {
    from_wire_owned(model, shape_name, wire.clone(), &At::Root(path))
}

/// `from_wire`, taking the value: strings and arrays move into the result instead of being
/// copied.
fn from_wire_owned(model: &Model, shape_name: &str, wire: Value, at: &At) -> Result<Value, AwsError> {
    let shape = model.shape(shape_name);
    let wrong = |expected: &str| wrong_type(&at.render(), expected);
    match shape.kind.as_str() {
        "structure" | "union" => {
            let Value::Object(mut fields) = wire else { return Err(wrong("an object")) };
            let mut obj = Map::new();
            for (mname, mref) in &shape.members {
                if mref.location.is_some() {
                    continue;
                }
                let key = mref.location_name.as_deref().unwrap_or(mname);
                match fields.remove(key) {
                    None | Some(Value::Null) => {}
                    Some(v) => {
                        let target = model.shape(&mref.shape);
                        let here = At::Member(at, mname);
                        let v = match (target.kind.as_str(), mref.timestamp_format.as_deref()) {
                            ("timestamp", Some(_)) => timestamp_from_wire(&v, &here.render())?,
                            _ => from_wire_owned(model, &mref.shape, v, &here)?,
                        };
                        obj.insert(mname.clone(), v);
                    }
                }
            }
            check_required(shape, &obj, at)?;
            Ok(Value::Object(obj))
        }
        "list" => {
            let Value::Array(items) = wire else { return Err(wrong("a list")) };
            let item = &shape.member.as_ref().expect("list member").shape;
            let items = items
                .into_iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| from_wire_owned(model, item, v, &At::Index(at, i)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(items))
        }
        "map" => {
            let Value::Object(entries) = wire else { return Err(wrong("a map")) };
            let value_shape = &shape.value.as_ref().expect("map value").shape;
            let mut obj = Map::new();
            for (k, v) in entries.into_iter().filter(|(_, v)| !v.is_null()) {
                let v = from_wire_owned(model, value_shape, v, &At::Key(at, &k))?;
                obj.insert(k, v);
            }
            Ok(Value::Object(obj))
        }
        "string" | "blob" if wire.is_string() => {
            if shape.kind == "blob" {
                use base64::Engine;
                let s = wire.as_str().unwrap_or_default();
                base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|_| serialization(format!("Base64 encoded value for '{}' is not valid", at.render())))?;
            }
            Ok(wire)
        }
        "string" | "blob" => Err(wrong("a string")),
        "boolean" if wire.is_boolean() => Ok(wire),
        "boolean" => Err(wrong("a boolean")),
        "integer" | "long" => match wire.as_i64() {
            Some(n) => Ok(Value::Number(n.into())),
            None => Err(wrong("an integer")),
        },
        "float" | "double" => match wire {
            Value::Number(_) => Ok(wire),
            _ => Err(wrong("a number")),
        },
        "timestamp" => timestamp_from_wire(&wire, &at.render()),
        _ => Ok(wire),
    }
}

fn timestamp_from_wire(wire: &Value, path: &str) -> Result<Value, AwsError> {
    let t = match wire {
        Value::Number(n) => n.as_f64().map(|s| Timestamp((s * 1000.0).round() as i64)),
        Value::String(s) => time_fmt::parse(s),
        _ => None,
    };
    t.map(|t| Value::Number(t.0.into())).ok_or_else(|| wrong_type(path, "a timestamp"))
}

/// AWS answers a missing required member with a ValidationException naming it.
fn check_required(shape: &ShapeDef, obj: &Map<String, Value>, at: &At) -> Result<(), AwsError> {
    if shape.required.iter().all(|m| obj.contains_key(m.as_str())) {
        return Ok(());
    }
    let path = at.render();
    let path = path.as_str();
    let missing: Vec<String> = shape
        .required
        .iter()
        .filter(|m| {
            !obj.contains_key(m.as_str()) && shape.members.get(m.as_str()).is_some_and(|r| r.location.is_none())
        })
        .map(|m| format!("Value null at '{}' failed to satisfy constraint: Member must not be null", join(path, m)))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let s = if missing.len() == 1 { "" } else { "s" };
    Err(crate::common::Common::ValidationException.msg(format!(
        "{} validation error{s} detected: {}",
        missing.len(),
        missing.join("; ")
    )))
}

/// Converts the generic representation of `shape_name` to its JSON form on the wire.
/// `format` is a member's own timestamp format, which outranks the shape's.
pub fn to_wire(model: &Model, shape_name: &str, v: &Value, format: Option<&str>) -> Value {
    to_wire_owned(model, shape_name, v.clone(), format)
}

/// `to_wire`, taking the value: its strings and arrays move into the answer.
fn to_wire_owned(model: &Model, shape_name: &str, v: Value, format: Option<&str>) -> Value {
    let shape = model.shape(shape_name);
    match (shape.kind.as_str(), v) {
        ("structure" | "union", Value::Object(mut fields)) => {
            let mut out = Map::new();
            for (mname, mref) in &shape.members {
                if mref.location.is_some() {
                    continue;
                }
                if let Some(val) = fields.remove(mname).filter(|v| !v.is_null()) {
                    let key = mref.location_name.clone().unwrap_or_else(|| mname.clone());
                    out.insert(key, to_wire_owned(model, &mref.shape, val, mref.timestamp_format.as_deref()));
                }
            }
            Value::Object(out)
        }
        ("list", Value::Array(items)) => {
            let item = &shape.member.as_ref().expect("list member").shape;
            Value::Array(items.into_iter().map(|i| to_wire_owned(model, item, i, None)).collect())
        }
        ("map", Value::Object(entries)) => {
            let value_shape = &shape.value.as_ref().expect("map value").shape;
            Value::Object(entries.into_iter().map(|(k, v)| (k, to_wire_owned(model, value_shape, v, None))).collect())
        }
        ("timestamp", Value::Number(n)) => {
            let t = Timestamp(n.as_i64().unwrap_or_default());
            match format.or(shape.timestamp_format.as_deref()) {
                Some("iso8601") => Value::String(time_fmt::iso8601(t)),
                Some("rfc822") => Value::String(time_fmt::http_date(t)),
                _ if t.0 % 1000 == 0 => Value::Number(t.seconds().into()),
                _ => Number::from_f64(t.0 as f64 / 1000.0).map(Value::Number).unwrap_or(Value::Null),
            }
        }
        (_, v) => v,
    }
}

/// Reads a JSON body as the generic value of `shape_name`. An empty body is an empty object.
pub fn body_value(model: &Model, shape_name: &str, body: &[u8]) -> Result<Value, AwsError> {
    let wire: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| serialization(format!("Malformed JSON body: {e}")))?
    };
    from_wire_owned(model, shape_name, wire, &At::Root(""))
}

/// Reads a json-protocol request body into the typed input shape `T`.
pub fn parse_request<T: Shape + DeserializeOwned>(model: &Model, body: &[u8]) -> Result<T, AwsError> {
    let value = body_value(model, T::NAME, body)?;
    serde_json::from_value(value).map_err(serialization)
}

/// Renders the generic value of the output shape `shape_name` as a json-protocol response.
pub fn render_value(model: &Model, shape_name: Option<&str>, value: &Value) -> HttpResponse {
    let wire = match shape_name {
        Some(name) => to_wire(model, name, value, None),
        None => Value::Object(Map::new()),
    };
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), content_type(model))],
        body: Body::from(wire.to_string()),
        stream: None,
    }
}

/// A typed output as the JSON protocol's wire value.
pub fn output_wire<T: Shape + Serialize>(model: &Model, output: &T) -> Value {
    to_wire_owned(model, T::NAME, serde_json::to_value(output).expect("shapes serialise"), None)
}

/// Renders a typed output as a json-protocol response.
pub fn render_response<T: Shape + Serialize>(model: &Model, output: &T) -> HttpResponse {
    let wire = output_wire(model, output);
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), content_type(model))],
        body: Body::from(serde_json::to_vec(&wire).expect("JSON values serialise")),
        stream: None,
    }
}

/// Reads typed inputs from a json-protocol request body.
pub struct JsonDecoder<'a> {
    pub model: &'a Model,
    pub body: &'a [u8],
    /// Where the input's breaches of the model's constraints are noted, when wanted.
    pub violations: Option<std::cell::RefCell<Vec<String>>>,
}

impl crate::Decode for JsonDecoder<'_> {
    fn input<T: Shape + DeserializeOwned>(&self, _operation: &'static str) -> Result<T, AwsError> {
        let value = body_value(self.model, T::NAME, self.body)?;
        crate::validate::note(self.model, T::NAME, &value, self.violations.as_ref());
        serde_json::from_value(value).map_err(serialization)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secretsmanager as sm;

    #[test]
    fn target_names_an_operation() {
        let m = sm::model();
        assert_eq!(operation_from_target(m, "secretsmanager.CreateSecret"), Some("CreateSecret"));
        assert_eq!(operation_from_target(m, "secretsmanager.Nope"), None);
        assert_eq!(operation_from_target(m, "DynamoDB_20120810.CreateSecret"), None);
        assert_eq!(content_type(m), "application/x-amz-json-1.1");
    }

    #[test]
    fn request_parses_with_types_checked() {
        let m = sm::model();
        let req: sm::CreateSecretRequest =
            parse_request(m, br#"{"Name":"db","SecretBinary":"AAEC","Tags":[{"Key":"k","Value":"v"}],"Unknown":1}"#)
                .unwrap();
        assert_eq!(req.name.as_deref(), Some("db"));
        assert_eq!(req.secret_binary.unwrap().0, vec![0, 1, 2]);
        assert_eq!(req.tags.unwrap()[0].key.as_deref(), Some("k"));

        let e = parse_request::<sm::CreateSecretRequest>(m, br#"{"Name":7}"#).unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = parse_request::<sm::CreateSecretRequest>(m, b"{").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = parse_request::<sm::CreateSecretRequest>(m, b"{}").unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.contains("Value null at 'name'"), "{}", e.message);
    }

    #[test]
    fn timestamps_are_epoch_seconds() {
        let m = sm::model();
        let out = sm::DescribeSecretResponse {
            name: Some("db".into()),
            created_date: Some(Timestamp(1_700_000_000_500)),
            last_changed_date: Some(Timestamp(1_700_000_000_000)),
            ..Default::default()
        };
        let r = render_response(m, &out);
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["CreatedDate"], serde_json::json!(1_700_000_000.5));
        assert_eq!(v["LastChangedDate"], serde_json::json!(1_700_000_000));
        let back = body_value(m, "DescribeSecretResponse", &r.body).unwrap();
        assert_eq!(back["CreatedDate"], serde_json::json!(1_700_000_000_500i64));
    }
}
