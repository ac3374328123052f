//! The client direction of every codec, for calls one nuage service makes of another: a typed
//! input becomes the HTTP request a client would send, and the HTTP response the service gave
//! becomes the typed output (or the service's error). Going through the wire form keeps an
//! internal call routed and authorised exactly as a client's would be.
use crate::model::Model;
use crate::rest::scalar_text;
use crate::rest_xml::{element_to_value, list_item_name, write_element};
use crate::xml::{self, XmlWriter};
use crate::{json, rest, rest_xml, Body, HttpRequest, HttpResponse, Shape};
use base64::Engine;
use nuage_core::AwsError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// An operation's input, tied to its operation and output (generated for every operation
/// whose input shape belongs to it alone).
pub trait Request: Shape + Serialize + Send + 'static {
    /// The signing name of the service.
    const SERVICE: &'static str;
    const OPERATION: &'static str;
    type Output: Shape + DeserializeOwned + Send + 'static;
    fn model() -> &'static Model;
}

/// The output of an operation whose model declares none.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
pub struct Empty {}

impl Shape for Empty {
    const NAME: &'static str = "";
    fn take_body(&mut self) -> Option<Body> {
        None
    }
    fn set_body(&mut self, _body: Body) {}
}

/// A request as a client would send it.
pub struct ClientRequest {
    pub method: String,
    /// Percent-encoded, as on the wire.
    pub path: String,
    /// Decoded pairs.
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// RFC 3986's unreserved characters stay; `/` too where a greedy label keeps it.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
const GREEDY_LABEL: &AsciiSet = &LABEL.remove(b'/');

/// The protocol nuage's own calls speak to a model: its first, except that a service whose
/// first is RPC v2 CBOR (CloudWatch) is called in JSON, which it also answers.
fn wire_protocol(model: &Model) -> &str {
    let p = model.metadata.protocol.as_str();
    if p == "smithy-rpc-v2-cbor" && model.metadata.protocols.iter().any(|x| x == "json") {
        "json"
    } else {
        p
    }
}

/// The request `input` makes on the wire.
pub fn encode<R: Request>(mut input: R) -> ClientRequest {
    let model = R::model();
    let stream = input.take_body();
    let value = serde_json::to_value(&input).expect("shapes serialise");
    let obj = value.as_object().cloned().unwrap_or_default();
    let shape_name = model.operations[R::OPERATION].input.as_ref().map(|r| r.shape.as_str());
    match wire_protocol(model) {
        "json" => {
            let wire = shape_name.map(|s| json::to_wire(model, s, &value, None)).unwrap_or(Value::Object(Map::new()));
            let prefix = model.metadata.target_prefix.clone().unwrap_or_default();
            ClientRequest {
                method: "POST".into(),
                path: "/".into(),
                query: Vec::new(),
                headers: vec![
                    ("x-amz-target".into(), format!("{prefix}.{}", R::OPERATION)),
                    ("content-type".into(), json::content_type(model)),
                ],
                body: Body::from(wire.to_string()),
            }
        }
        "query" | "ec2" => {
            let ec2 = model.metadata.protocol == "ec2";
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("Action", R::OPERATION).append_pair("Version", &model.metadata.api_version);
            let mut params = Vec::new();
            if let Some(s) = shape_name {
                query_params(model, s, &value, "", false, ec2, &mut params);
            }
            for (k, v) in &params {
                form.append_pair(k, v);
            }
            ClientRequest {
                method: "POST".into(),
                path: "/".into(),
                query: Vec::new(),
                headers: vec![("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
                body: Body::from(form.finish()),
            }
        }
        _ => rest_xml_request(model, R::OPERATION, shape_name, &obj, stream),
    }
}

/// The form parameters of `value` (of shape `shape_name`) under `prefix`, as the query
/// protocol (or EC2's variant) names them.
fn query_params(
    model: &Model,
    shape_name: &str,
    value: &Value,
    prefix: &str,
    flattened: bool,
    ec2: bool,
    out: &mut Vec<(String, String)>,
) {
    let shape = model.shape(shape_name);
    let join = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    match (shape.kind.as_str(), value) {
        ("structure" | "union", Value::Object(obj)) => {
            for (mname, mref) in &shape.members {
                if let Some(v) = obj.get(mname) {
                    let name = crate::query::param_name(mname, mref, ec2);
                    query_params(model, &mref.shape, v, &join(&name), mref.flattened || ec2, ec2, out);
                }
            }
        }
        ("list", Value::Array(items)) => {
            if items.is_empty() {
                out.push((prefix.to_string(), String::new()));
            }
            let base = if flattened || shape.flattened { prefix.to_string() } else { join(list_item_name(shape)) };
            let item = &shape.member.as_ref().expect("list member").shape;
            for (i, v) in items.iter().enumerate() {
                query_params(model, item, v, &format!("{base}.{}", i + 1), false, ec2, out);
            }
        }
        ("map", Value::Object(obj)) => {
            let key_name = shape.key.as_ref().and_then(|k| k.location_name.as_deref()).unwrap_or("key");
            let val_ref = shape.value.as_ref().expect("map value");
            let val_name = val_ref.location_name.as_deref().unwrap_or("value");
            let base = if flattened || shape.flattened { prefix.to_string() } else { join("entry") };
            for (i, (k, v)) in obj.iter().enumerate() {
                let entry = format!("{base}.{}", i + 1);
                out.push((format!("{entry}.{key_name}"), k.clone()));
                query_params(model, &val_ref.shape, v, &format!("{entry}.{val_name}"), false, ec2, out);
            }
        }
        (_, v) => out.push((prefix.to_string(), scalar_text(shape, v, false, None))),
    }
}

fn rest_xml_request(
    model: &Model,
    operation: &str,
    shape_name: Option<&str>,
    obj: &Map<String, Value>,
    stream: Option<Body>,
) -> ClientRequest {
    let http = model.operations[operation].http.as_ref().expect("rest operations have http traits");
    let (template, literal_query) = http.request_uri.split_once('?').unwrap_or((&http.request_uri, ""));
    let mut path = template.to_string();
    let mut query: Vec<(String, String)> = literal_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect();
    let mut head = HttpResponse::default();
    let mut body = stream.unwrap_or_default();
    let Some(shape_name) = shape_name else {
        return ClientRequest { method: http.method.clone(), path, query, headers: Vec::new(), body };
    };
    let shape = model.shape(shape_name);
    rest::bind_response(model, shape, obj, &mut head);
    for (mname, mref) in &shape.members {
        let Some(v) = obj.get(mname) else { continue };
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        match mref.location.as_deref() {
            Some("uri") => {
                let text = scalar_text(target, v, false, None);
                let greedy = format!("{{{lname}+}}");
                path = if path.contains(&greedy) {
                    path.replace(&greedy, &utf8_percent_encode(&text, GREEDY_LABEL).to_string())
                } else {
                    path.replace(&format!("{{{lname}}}"), &utf8_percent_encode(&text, LABEL).to_string())
                };
            }
            Some("querystring") => match v {
                Value::Array(items) => {
                    let item = model.shape(&target.member.as_ref().expect("list member").shape);
                    query.extend(items.iter().map(|i| (lname.to_string(), scalar_text(item, i, false, None))));
                }
                Value::Object(map) => {
                    query.extend(map.iter().map(|(k, v)| (k.clone(), scalar_text(target, v, false, None))));
                }
                v => query.push((lname.to_string(), scalar_text(target, v, false, mref.timestamp_format.as_deref()))),
            },
            None if shape.payload.as_deref() == Some(mname.as_str()) => match (target.kind.as_str(), v) {
                ("blob", Value::String(b64)) => {
                    body = Body::from(base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default())
                }
                ("string", Value::String(s)) => body = Body::from(s.clone().into_bytes()),
                _ => {
                    let mut w = XmlWriter::document();
                    let name = mref.location_name.as_deref().unwrap_or(&mref.shape);
                    let ns = model.metadata.xml_namespace.clone().unwrap_or_default();
                    write_element(model, &mut w, name, &mref.shape, v, vec![("xmlns".into(), ns)], None);
                    body = Body::from(w.finish());
                }
            },
            _ => {}
        }
    }
    let mut headers = head.headers;
    headers.push(("content-length".into(), body.len().to_string()));
    ClientRequest { method: http.method.clone(), path, query, headers, body }
}

/// The typed output of `R` from the service's response, or the service's error.
pub fn decode<R: Request>(resp: HttpResponse) -> Result<R::Output, AwsError> {
    let model = R::model();
    if resp.status >= 300 {
        return Err(error_of(model, &resp));
    }
    let Some(out_ref) = model.operations[R::OPERATION].output.as_ref() else {
        return serde_json::from_value(Value::Object(Map::new())).map_err(AwsError::internal);
    };
    let shape_name = out_ref.shape.as_str();
    let invalid = |e: serde_json::Error| AwsError::internal(format!("{} answered unreadably: {e}", R::OPERATION));
    let (value, stream) = match wire_protocol(model) {
        "json" => (json::body_value(model, shape_name, &resp.body)?, None),
        "query" | "ec2" => {
            let root = xml::parse(&resp.body).map_err(AwsError::internal)?;
            let result = if model.metadata.protocol == "ec2" {
                Some(&root)
            } else {
                let wrapper = out_ref.result_wrapper.clone().unwrap_or_else(|| format!("{}Result", R::OPERATION));
                root.child(&wrapper)
            };
            let value = match result {
                Some(el) => element_to_value(model, shape_name, el)?,
                None => Value::Object(Map::new()),
            };
            (value, None)
        }
        _ => {
            let req = HttpRequest { labels: &[], query: &[], headers: &resp.headers, body: resp.body.clone() };
            rest_xml::parse_value(model, shape_name, &req)?
        }
    };
    crate::into_shape(value, stream, invalid)
}

/// A service's error response as an `AwsError` (code, status, message, request id).
fn error_of(model: &Model, resp: &HttpResponse) -> AwsError {
    let (code, message) = if wire_protocol(model) == "json" {
        let doc: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        let code = doc.get("__type").and_then(|t| t.as_str()).unwrap_or("InternalError");
        let code = code.rsplit('#').next().unwrap_or(code).to_string();
        let message = doc.get("message").or_else(|| doc.get("Message")).and_then(|m| m.as_str()).unwrap_or_default();
        (code, message.to_string())
    } else {
        let doc = xml::parse(&resp.body).ok();
        let error = doc.as_ref().and_then(|d| find(d, "Error"));
        let text = |n: &str| error.and_then(|e| e.child(n)).map(|e| e.text.clone()).unwrap_or_default();
        match (text("Code"), resp.status) {
            // A HEAD's error has no body: S3 names it by its status.
            (c, 404) if c.is_empty() => ("NotFound".into(), "Not Found".into()),
            (c, 403) if c.is_empty() => ("Forbidden".into(), "Forbidden".into()),
            (c, _) => (c, text("Message")),
        }
    };
    let mut e = AwsError::new(Cow::Owned(code), resp.status, message);
    if let Some(rid) = resp.header("x-amz-request-id").or_else(|| resp.header("x-amzn-requestid")) {
        e = e.with("RequestId", rid.to_string());
    }
    e
}

fn find<'a>(el: &'a xml::Element, name: &str) -> Option<&'a xml::Element> {
    if el.name == name {
        return Some(el);
    }
    el.children.iter().find_map(|c| find(c, name))
}
