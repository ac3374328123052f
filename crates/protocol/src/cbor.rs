//! Smithy RPC v2 CBOR (what current SDKs speak to CloudWatch): `POST
//! /service/{targetPrefix}/operation/{Operation}` with a CBOR body. Requests are read as the
//! JSON protocol's documents (byte strings become base64 text, tag-1 timestamps epoch seconds)
//! and answers written from the JSON protocol's wire values, guided by the model where CBOR
//! differs (blobs as byte strings, timestamps as tag 1).
use crate::model::Model;
use crate::{Body, HttpResponse};
use base64::Engine;
use ciborium::value::Value as Cbor;
use nuage_core::AwsError;
use serde_json::{Map, Number, Value};

pub const CONTENT_TYPE: &str = "application/cbor";
/// The header that marks the protocol on requests and answers.
pub const PROTOCOL_HEADER: &str = "smithy-protocol";
pub const PROTOCOL: &str = "rpc-v2-cbor";

/// The operation a request path names, when it is this model's service.
pub fn operation_from_path<'m>(model: &'m Model, path: &str) -> Option<&'m str> {
    let (service, op) = path.strip_prefix("/service/")?.split_once("/operation/")?;
    if model.metadata.target_prefix.as_deref() != Some(service) {
        return None;
    }
    model.operations.get_key_value(op).map(|(k, _)| k.as_str())
}

fn serialization(msg: impl std::fmt::Display) -> AwsError {
    AwsError::new("SerializationException", 400, msg.to_string())
}

/// A CBOR request body as the equivalent JSON-protocol body.
pub fn body_as_json(body: &[u8]) -> Result<Vec<u8>, AwsError> {
    if body.is_empty() {
        return Ok(b"{}".to_vec());
    }
    let v: Cbor = ciborium::de::from_reader(body).map_err(|e| serialization(format!("Malformed CBOR body: {e}")))?;
    serde_json::to_vec(&to_json(v)?).map_err(serialization)
}

fn to_json(v: Cbor) -> Result<Value, AwsError> {
    Ok(match v {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let i: i128 = i.into();
            match i64::try_from(i) {
                Ok(i) => Value::Number(i.into()),
                Err(_) => Number::from_f64(i as f64).map(Value::Number).unwrap_or(Value::Null),
            }
        }
        Cbor::Float(f) => Number::from_f64(f).map(Value::Number).unwrap_or_else(|| Value::String(f.to_string())),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bytes(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        // Tag 1: epoch seconds, as the JSON protocol writes timestamps.
        Cbor::Tag(1, inner) => to_json(*inner)?,
        Cbor::Tag(_, inner) => to_json(*inner)?,
        Cbor::Array(a) => Value::Array(a.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Cbor::Map(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let Cbor::Text(k) = k else { return Err(serialization("CBOR map keys must be text")) };
                out.insert(k, to_json(v)?);
            }
            Value::Object(out)
        }
        _ => return Err(serialization("Unsupported CBOR value")),
    })
}

/// The JSON-protocol wire value of `shape` as CBOR.
pub fn from_json(model: &Model, shape: &str, v: Value) -> Cbor {
    let def = model.shape(shape);
    match (def.kind.as_str(), v) {
        (_, Value::Null) => Cbor::Null,
        ("structure" | "union", Value::Object(fields)) => Cbor::Map(
            fields
                .into_iter()
                .map(|(k, v)| {
                    let member = def.members.iter().find(|(n, r)| r.location_name.as_deref().unwrap_or(n) == k);
                    let v = match member {
                        Some((_, r)) => from_json(model, &r.shape, v),
                        None => plain(v),
                    };
                    (Cbor::Text(k), v)
                })
                .collect(),
        ),
        ("list", Value::Array(items)) => {
            let item = &def.member.as_ref().expect("list member").shape;
            Cbor::Array(items.into_iter().map(|i| from_json(model, item, i)).collect())
        }
        ("map", Value::Object(entries)) => {
            let value_shape = &def.value.as_ref().expect("map value").shape;
            Cbor::Map(entries.into_iter().map(|(k, v)| (Cbor::Text(k), from_json(model, value_shape, v))).collect())
        }
        ("blob", Value::String(s)) => {
            Cbor::Bytes(base64::engine::general_purpose::STANDARD.decode(&s).unwrap_or_else(|_| s.into_bytes()))
        }
        ("timestamp", Value::Number(n)) => Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or_default()))),
        (_, v) => plain(v),
    }
}

fn plain(v: Value) -> Cbor {
    match v {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s),
        Value::Array(a) => Cbor::Array(a.into_iter().map(plain).collect()),
        Value::Object(o) => Cbor::Map(o.into_iter().map(|(k, v)| (Cbor::Text(k), plain(v))).collect()),
    }
}

fn encode(v: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(v, &mut out).expect("CBOR values encode into memory");
    out
}

fn headers() -> Vec<(String, String)> {
    vec![("content-type".into(), CONTENT_TYPE.into()), (PROTOCOL_HEADER.into(), PROTOCOL.into())]
}

/// An answer: the JSON-protocol wire value of the output shape (`None`: no output).
pub fn render(model: &Model, shape: Option<&str>, wire: Value) -> HttpResponse {
    let body = match shape {
        Some(s) => encode(&from_json(model, s, wire)),
        None => encode(&Cbor::Map(Vec::new())),
    };
    HttpResponse { status: 200, headers: headers(), body: Body::from(body), stream: None }
}

/// An error: `__type` and `message`, and for services that kept their query-protocol codes
/// (`awsQueryCompatible`) the `x-amzn-query-error` header with that code.
pub fn render_error(err: &AwsError, query_compatible: bool) -> HttpResponse {
    let mut h = headers();
    if query_compatible {
        let fault = if err.status >= 500 { "Receiver" } else { "Sender" };
        h.push(("x-amzn-query-error".into(), format!("{};{fault}", err.code)));
    }
    let mut doc = vec![
        (Cbor::Text("__type".into()), Cbor::Text(err.code.to_string())),
        (Cbor::Text("message".into()), Cbor::Text(err.message.clone())),
    ];
    for (name, value) in &err.fields {
        doc.push((Cbor::Text(name.to_string()), Cbor::Text(value.clone())));
    }
    HttpResponse { status: err.status, headers: h, body: Body::from(encode(&Cbor::Map(doc))), stream: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_bodies_read_as_json() {
        let v = Cbor::Map(vec![
            (Cbor::Text("Namespace".into()), Cbor::Text("Cafe".into())),
            (Cbor::Text("Value".into()), Cbor::Float(1.5)),
            (Cbor::Text("Count".into()), Cbor::Integer(3.into())),
            (Cbor::Text("At".into()), Cbor::Tag(1, Box::new(Cbor::Float(1700000000.5)))),
            (Cbor::Text("Blob".into()), Cbor::Bytes(b"hi".to_vec())),
        ]);
        let json: Value = serde_json::from_slice(&body_as_json(&encode(&v)).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Namespace": "Cafe", "Value": 1.5, "Count": 3, "At": 1700000000.5, "Blob": "aGk="})
        );
        assert!(body_as_json(b"\xff\x00").is_err());
        assert_eq!(body_as_json(b"").unwrap(), b"{}");
    }
}
