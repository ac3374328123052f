//! The rest-json protocol (Lambda): members bound to the URI, query string and headers as in
//! rest-xml, the rest in a JSON body (or a raw payload member).
use crate::json::{from_wire, to_wire};
use crate::model::Model;
use crate::rest;
use crate::{Body, HttpRequest, HttpResponse, Shape};
use base64::Engine;
use nuage_core::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

fn serialization(msg: impl std::fmt::Display) -> AwsError {
    crate::common::Common::SerializationException.msg(msg.to_string())
}

fn json_body(body: &[u8]) -> Result<Option<Value>, AwsError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| serialization(format!("Malformed JSON body: {e}")))
}

/// Reads a request as the generic value of the input shape `shape_name`, with a streaming
/// payload apart.
pub fn parse_value(model: &Model, shape_name: &str, req: &HttpRequest) -> Result<(Value, Option<Body>), AwsError> {
    let shape = model.shape(shape_name);
    let mut stream = None;
    let mut obj = match &shape.payload {
        Some(_) => Map::new(),
        None => {
            let wire = json_body(&req.body)?.unwrap_or_else(|| Value::Object(Map::new()));
            match from_wire(model, shape_name, &wire, "")? {
                Value::Object(o) => o,
                _ => Map::new(),
            }
        }
    };
    for (mname, mref) in &shape.members {
        if mref.location.is_some() {
            if let Some(v) = rest::bound_member(model, shape, mname, mref, req)? {
                obj.insert(mname.clone(), v);
            }
            continue;
        }
        if shape.payload.as_deref() != Some(mname.as_str()) {
            continue;
        }
        let target = model.shape(&mref.shape);
        let value = match target.kind.as_str() {
            "blob" if mref.streaming || target.streaming => {
                stream = Some(req.body.clone());
                None
            }
            "blob" if req.body.is_empty() => None,
            "blob" => Some(Value::String(base64::engine::general_purpose::STANDARD.encode(&req.body))),
            "string" if req.body.is_empty() => None,
            "string" => Some(Value::String(String::from_utf8_lossy(&req.body).into_owned())),
            _ => match json_body(&req.body)? {
                Some(wire) => Some(from_wire(model, &mref.shape, &wire, mname)?),
                None => None,
            },
        };
        if let Some(v) = value {
            obj.insert(mname.clone(), v);
        }
    }
    Ok((Value::Object(obj), stream))
}

/// Reads a request into the typed input shape `T`.
pub fn parse_request<T: Shape + DeserializeOwned>(model: &Model, req: &HttpRequest) -> Result<T, AwsError> {
    let (value, stream) = parse_value(model, T::NAME, req)?;
    crate::into_shape(value, stream, serialization)
}

/// Renders the generic value `obj` of `operation`'s output shape, with its streaming payload.
pub fn render_value(model: &Model, operation: &str, obj: &Map<String, Value>, raw_body: Option<Body>) -> HttpResponse {
    let op = &model.operations[operation];
    let status = op.http.as_ref().and_then(|h| h.response_code).unwrap_or(200);
    let mut resp = HttpResponse { status, ..Default::default() };
    let Some(out_ref) = &op.output else { return resp };
    let shape = model.shape(&out_ref.shape);
    let has_body_members = rest::bind_response(model, shape, obj, &mut resp);
    let json = |v: Value| Body::from(v.to_string());
    if let Some(payload) = &shape.payload {
        let mref = &shape.members[payload];
        let target = model.shape(&mref.shape);
        match (target.kind.as_str(), raw_body, obj.get(payload)) {
            (_, Some(b), _) => resp.body = b,
            ("string", None, Some(Value::String(s))) => resp.body = Body::from(s.clone().into_bytes()),
            ("blob", None, Some(Value::String(s))) => {
                resp.body = Body::from(base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default())
            }
            ("structure" | "union" | "document" | "map" | "list", None, Some(v)) => {
                resp.body = json(to_wire(model, &mref.shape, v, None));
                resp.headers.push(("content-type".into(), "application/json".into()));
            }
            _ => {}
        }
    } else if has_body_members {
        resp.body = json(to_wire(model, &out_ref.shape, &Value::Object(obj.clone()), None));
        resp.headers.push(("content-type".into(), "application/json".into()));
    }
    resp
}

/// Renders a typed output as the answer to `operation`.
pub fn render_response<T: Shape + Serialize>(model: &Model, operation: &str, mut output: T) -> HttpResponse {
    let raw_body = output.take_body();
    let value = serde_json::to_value(&output).expect("shapes serialise");
    render_value(model, operation, value.as_object().unwrap_or(&Map::new()), raw_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda as l;

    #[test]
    fn uri_query_and_body_members_bind() {
        let m = l::model();
        let labels = [("FunctionName", "fn1".to_string())];
        let query = [("Qualifier".to_string(), "3".to_string())];
        let headers = [("X-Amz-Invocation-Type".to_string(), "Event".to_string())];
        let req =
            HttpRequest { labels: &labels, query: &query, headers: &headers, body: Body::from_static(b"{\"a\":1}") };
        let input: l::InvocationRequest = parse_request(m, &req).unwrap();
        assert_eq!(input.function_name.as_deref(), Some("fn1"));
        assert_eq!(input.qualifier.as_deref(), Some("3"));
        assert_eq!(input.invocation_type.as_deref(), Some("Event"));
        assert_eq!(input.payload.as_ref().unwrap().0, b"{\"a\":1}".to_vec());

        let labels = [("FunctionName", "fn1".to_string())];
        let req = HttpRequest {
            labels: &labels,
            query: &[],
            headers: &[],
            body: Body::from_static(br#"{"Timeout":30,"Environment":{"Variables":{"A":"b"}}}"#),
        };
        let input: l::UpdateFunctionConfigurationRequest = parse_request(m, &req).unwrap();
        assert_eq!(input.timeout, Some(30));
        assert_eq!(input.environment.unwrap().variables.unwrap()["A"], "b");
    }

    #[test]
    fn response_code_and_status_member() {
        let m = l::model();
        let out = l::FunctionConfiguration { function_name: Some("fn1".into()), ..Default::default() };
        let r = render_response(m, "CreateFunction", out);
        assert_eq!(r.status, 201);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let out = l::InvocationResponse {
            status_code: Some(202),
            function_error: Some("Unhandled".into()),
            payload: Some(crate::Blob(b"{}".to_vec())),
            ..Default::default()
        };
        let r = render_response(m, "Invoke", out);
        assert_eq!(r.status, 202);
        assert_eq!(r.header("X-Amz-Function-Error"), Some("Unhandled"));
        assert_eq!(&r.body[..], b"{}");
    }
}
