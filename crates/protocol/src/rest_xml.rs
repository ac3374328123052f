//! The rest-xml protocol (S3): members bound to the URI, query string, headers and an XML
//! payload, all located by the model.
use crate::model::{Model, ShapeDef, ShapeRef};
use crate::xml::{self, Element, XmlWriter};
use crate::{time_fmt, Body, HttpRequest, HttpResponse, Shape, Timestamp};
use base64::Engine;
use nuage_core::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Number, Value};

fn malformed(msg: impl std::fmt::Display) -> AwsError {
    AwsError::new(
        "MalformedXML",
        400,
        format!("The XML you provided was not well-formed or did not validate against our published schema ({msg})"),
    )
}

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
        "blob" => Value::String(base64::engine::general_purpose::STANDARD.encode(text.as_bytes())),
        _ => Value::String(text.to_string()),
    })
}

/// Reads a request into the typed input shape `T`.
pub fn parse_request<T: Shape + DeserializeOwned>(model: &Model, req: &HttpRequest) -> Result<T, AwsError> {
    let shape = model.shape(T::NAME);
    let mut obj = Map::new();
    let mut stream = None;
    for (mname, mref) in &shape.members {
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        let value = match mref.location.as_deref() {
            Some("uri") => match req.labels.iter().find(|(k, _)| *k == lname) {
                Some((_, v)) => Some(scalar(model, &mref.shape, lname, v)?),
                None => None,
            },
            Some("querystring") => {
                if target.kind == "list" {
                    let item = &target.member.as_ref().expect("list member").shape;
                    let items: Result<Vec<Value>, AwsError> = req
                        .query
                        .iter()
                        .filter(|(k, _)| k == lname)
                        .map(|(_, v)| scalar(model, item, lname, v))
                        .collect();
                    let items = items?;
                    (!items.is_empty()).then_some(Value::Array(items))
                } else if target.kind == "map" {
                    None
                } else {
                    match req.query.iter().find(|(k, _)| k == lname) {
                        Some((_, v)) => Some(scalar(model, &mref.shape, lname, v)?),
                        None => None,
                    }
                }
            }
            Some("header") => match req.header(lname) {
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
            Some(_) => None,
            None if shape.payload.as_deref() == Some(mname.as_str()) => match target.kind.as_str() {
                "blob" if mref.streaming || target_is_streaming(target) => {
                    stream = Some(req.body.clone());
                    None
                }
                "blob" => Some(Value::String(base64::engine::general_purpose::STANDARD.encode(&req.body))),
                "string" => Some(Value::String(String::from_utf8_lossy(&req.body).into_owned())),
                _ if req.body.iter().all(|b| b.is_ascii_whitespace()) => None,
                _ => {
                    let root = xml::parse(&req.body).map_err(malformed)?;
                    let expected = mref.location_name.as_deref().unwrap_or(&mref.shape);
                    if root.name != expected {
                        return Err(malformed(format!("expected root element {expected}, got {}", root.name)));
                    }
                    Some(element_to_value(model, &mref.shape, &root)?)
                }
            },
            None => None,
        };
        if let Some(v) = value {
            obj.insert(mname.clone(), v);
        }
    }
    let mut typed: T = serde_json::from_value(Value::Object(obj)).map_err(malformed)?;
    if let Some(b) = stream {
        typed.set_body(b);
    }
    Ok(typed)
}

fn target_is_streaming(_shape: &ShapeDef) -> bool {
    false
}

pub(crate) fn list_item_name(list: &ShapeDef) -> &str {
    list.member.as_ref().and_then(|m| m.location_name.as_deref()).unwrap_or("member")
}

fn is_flattened(mref: &ShapeRef, target: &ShapeDef) -> bool {
    mref.flattened || target.flattened
}

/// Converts an XML element to the generic representation of `shape_name`.
pub fn element_to_value(model: &Model, shape_name: &str, el: &Element) -> Result<Value, AwsError> {
    let shape = model.shape(shape_name);
    match shape.kind.as_str() {
        "structure" | "union" => {
            let mut obj = Map::new();
            for (mname, mref) in &shape.members {
                let lname = mref.location_name.as_deref().unwrap_or(mname);
                let target = model.shape(&mref.shape);
                if mref.xml_attribute {
                    let attr = lname.rsplit(':').next().unwrap_or(lname);
                    if let Some((_, v)) = el.attrs.iter().find(|(k, _)| k == attr) {
                        obj.insert(mname.clone(), scalar(model, &mref.shape, lname, v)?);
                    }
                    continue;
                }
                if target.kind == "list" && is_flattened(mref, target) {
                    let item = &target.member.as_ref().expect("list member").shape;
                    let items: Result<Vec<Value>, AwsError> =
                        el.children_named(lname).map(|c| element_to_value(model, item, c)).collect();
                    let items = items?;
                    if !items.is_empty() {
                        obj.insert(mname.clone(), Value::Array(items));
                    }
                } else if let Some(child) = el.child(lname) {
                    obj.insert(mname.clone(), element_to_value(model, &mref.shape, child)?);
                }
            }
            Ok(Value::Object(obj))
        }
        "list" => {
            let item_ref = shape.member.as_ref().expect("list member");
            let name = list_item_name(shape);
            let items: Result<Vec<Value>, AwsError> =
                el.children_named(name).map(|c| element_to_value(model, &item_ref.shape, c)).collect();
            Ok(Value::Array(items?))
        }
        "map" => {
            let key_name = shape.key.as_ref().and_then(|k| k.location_name.as_deref()).unwrap_or("key");
            let val_ref = shape.value.as_ref().expect("map value");
            let val_name = val_ref.location_name.as_deref().unwrap_or("value");
            let mut obj = Map::new();
            for entry in el.children_named("entry") {
                let k = entry.child(key_name).map(|k| k.text.clone()).unwrap_or_default();
                if let Some(v) = entry.child(val_name) {
                    obj.insert(k, element_to_value(model, &val_ref.shape, v)?);
                }
            }
            Ok(Value::Object(obj))
        }
        _ => scalar(model, shape_name, &el.name, &el.text),
    }
}

fn scalar_text(shape: &ShapeDef, v: &Value, in_header: bool, format: Option<&str>) -> String {
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

fn ns_attrs(ns: Option<&crate::model::XmlNamespace>) -> Vec<(String, String)> {
    match ns {
        Some(ns) => match &ns.prefix {
            Some(p) => vec![(format!("xmlns:{p}"), ns.uri.clone())],
            None => vec![("xmlns".to_string(), ns.uri.clone())],
        },
        None => Vec::new(),
    }
}

/// Writes `v` (of shape `shape_name`) as the element `name`.
pub fn write_element(
    model: &Model,
    w: &mut XmlWriter,
    name: &str,
    shape_name: &str,
    v: &Value,
    mut attrs: Vec<(String, String)>,
    format: Option<&str>,
) {
    let shape = model.shape(shape_name);
    match shape.kind.as_str() {
        "structure" | "union" => {
            let obj = match v.as_object() {
                Some(o) => o,
                None => return,
            };
            attrs.extend(ns_attrs(shape.xml_namespace.as_ref()));
            for (mname, mref) in &shape.members {
                if !mref.xml_attribute {
                    continue;
                }
                if let Some(val) = obj.get(mname) {
                    let lname = mref.location_name.clone().unwrap_or_else(|| mname.clone());
                    attrs.push((lname, scalar_text(model.shape(&mref.shape), val, false, None)));
                }
            }
            w.open(name, &attrs);
            write_members(model, w, shape, obj);
            w.close(name);
        }
        "list" => {
            let item = shape.member.as_ref().expect("list member");
            w.open(name, &attrs);
            for it in v.as_array().into_iter().flatten() {
                write_element(model, w, list_item_name(shape), &item.shape, it, Vec::new(), None);
            }
            w.close(name);
        }
        "map" => {
            let key_name = shape.key.as_ref().and_then(|k| k.location_name.as_deref()).unwrap_or("key");
            let val_ref = shape.value.as_ref().expect("map value");
            let val_name = val_ref.location_name.as_deref().unwrap_or("value");
            w.open(name, &attrs);
            for (k, it) in v.as_object().into_iter().flatten() {
                w.open("entry", &[]);
                w.leaf(key_name, k);
                write_element(model, w, val_name, &val_ref.shape, it, Vec::new(), None);
                w.close("entry");
            }
            w.close(name);
        }
        _ => {
            w.open(name, &attrs);
            w.text(&scalar_text(shape, v, false, format));
            w.close(name);
        }
    }
}

/// Writes the body members (those not bound to headers, URI or status) of a structure.
pub fn write_members(model: &Model, w: &mut XmlWriter, shape: &ShapeDef, obj: &Map<String, Value>) {
    for (mname, mref) in &shape.members {
        if mref.location.is_some() || mref.xml_attribute {
            continue;
        }
        let Some(val) = obj.get(mname) else { continue };
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        let fmt = mref.timestamp_format.as_deref();
        if target.kind == "list" && is_flattened(mref, target) {
            let item = target.member.as_ref().expect("list member");
            for it in val.as_array().into_iter().flatten() {
                write_element(model, w, lname, &item.shape, it, Vec::new(), fmt);
            }
        } else {
            write_element(model, w, lname, &mref.shape, val, ns_attrs(mref.xml_namespace.as_ref()), fmt);
        }
    }
}

/// Renders a typed output. `root` names the document element when the output has no payload
/// member (S3 names these per operation, e.g. `ListBucketResult`); `namespace` is its xmlns.
pub fn render_response<T: Shape + Serialize>(
    model: &Model,
    mut output: T,
    root: &str,
    namespace: &str,
) -> HttpResponse {
    let shape = model.shape(T::NAME);
    let raw_body = output.take_body();
    let value = serde_json::to_value(&output).expect("shapes serialise");
    let obj = value.as_object().cloned().unwrap_or_default();
    let mut resp = HttpResponse { status: 200, ..Default::default() };
    let mut has_body_members = false;
    for (mname, mref) in &shape.members {
        let Some(val) = obj.get(mname) else { continue };
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        match mref.location.as_deref() {
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
    if let Some(payload) = &shape.payload {
        let mref = &shape.members[payload];
        let target = model.shape(&mref.shape);
        match target.kind.as_str() {
            "blob" | "string" => {
                resp.body = match (raw_body, obj.get(payload)) {
                    (Some(b), _) => b,
                    (None, Some(Value::String(s))) if target.kind == "string" => Body::from(s.clone().into_bytes()),
                    (None, Some(Value::String(s))) => {
                        Body::from(base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default())
                    }
                    _ => Body::new(),
                };
            }
            _ => {
                if let Some(val) = obj.get(payload) {
                    let mut w = XmlWriter::document();
                    let name = mref.location_name.as_deref().unwrap_or(&mref.shape);
                    let ns = mref
                        .xml_namespace
                        .as_ref()
                        .map(|n| ns_attrs(Some(n)))
                        .unwrap_or_else(|| vec![("xmlns".into(), namespace.into())]);
                    write_element(model, &mut w, name, &mref.shape, val, ns, None);
                    resp.body = Body::from(w.finish());
                    resp.headers.push(("content-type".into(), "application/xml".into()));
                }
            }
        }
    } else if has_body_members || !root.is_empty() {
        let mut w = XmlWriter::document();
        let ns: Vec<(String, String)> =
            if namespace.is_empty() { Vec::new() } else { vec![("xmlns".into(), namespace.into())] };
        w.open(root, &ns);
        write_members(model, &mut w, shape, &obj);
        w.close(root);
        resp.body = Body::from(w.finish());
        resp.headers.push(("content-type".into(), "application/xml".into()));
    }
    resp
}

/// A document whose root element holds only text, as S3's GetBucketLocation answers.
pub fn render_text_root(root: &str, namespace: &str, text: Option<&str>) -> HttpResponse {
    let mut w = XmlWriter::document();
    w.open(root, &[("xmlns".into(), namespace.into())]);
    if let Some(t) = text {
        w.text(t);
    }
    w.close(root);
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/xml".into())],
        body: Body::from(w.finish()),
    }
}
