//! The rest-xml protocol (S3): members bound to the URI, query string, headers and an XML
//! payload, all located by the model.
use crate::model::{Model, ShapeDef, ShapeRef};
use crate::rest::{self, scalar, scalar_text};
use crate::xml::{self, Element, XmlWriter};
use crate::{Body, HttpRequest, HttpResponse, Shape};
use base64::Engine;
use nuage_core::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

fn malformed(msg: impl std::fmt::Display) -> AwsError {
    AwsError::new(
        "MalformedXML",
        400,
        format!("The XML you provided was not well-formed or did not validate against our published schema ({msg})"),
    )
}

/// Reads a request as the generic value of the input shape `shape_name`, with the streaming
/// payload (if the shape has one) apart.
pub fn parse_value(model: &Model, shape_name: &str, req: &HttpRequest) -> Result<(Value, Option<Body>), AwsError> {
    let shape = model.shape(shape_name);
    let mut obj = Map::new();
    let mut stream = None;
    for (mname, mref) in &shape.members {
        let target = model.shape(&mref.shape);
        let value = if mref.location.is_some() {
            rest::bound_member(model, shape, mname, mref, req)?
        } else if shape.payload.as_deref() == Some(mname.as_str()) {
            match target.kind.as_str() {
                "blob" if mref.streaming || target.streaming => {
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
            }
        } else {
            None
        };
        if let Some(v) = value {
            obj.insert(mname.clone(), v);
        }
    }
    // Without a payload member, the body members form one document named after the input
    // shape (S3's SelectObjectContentRequest).
    let body_members = shape.members.values().any(|r| r.location.is_none());
    if shape.payload.is_none() && body_members && !req.body.iter().all(|b| b.is_ascii_whitespace()) {
        let root = xml::parse(&req.body).map_err(malformed)?;
        if let Value::Object(members) = element_to_value(model, shape_name, &root)? {
            for (k, v) in members {
                if shape.members.get(&k).is_some_and(|r| r.location.is_none()) {
                    obj.insert(k, v);
                }
            }
        }
    }
    Ok((Value::Object(obj), stream))
}

/// Reads a request into the typed input shape `T`.
pub fn parse_request<T: Shape + DeserializeOwned>(model: &Model, req: &HttpRequest) -> Result<T, AwsError> {
    let (value, stream) = parse_value(model, T::NAME, req)?;
    crate::into_shape(value, stream, malformed)
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

/// A generic-value member, never part of a model, that interleaves a structure's flattened
/// lists: an array of member names, one per element, in document order. S3's
/// ListObjectVersions mixes `<Version>` and `<DeleteMarker>` in one newest-first order per
/// key, which two separate typed lists cannot say.
pub const DOCUMENT_ORDER: &str = "__document_order";

/// Writes the body members (those not bound to headers, URI or status) of a structure.
pub fn write_members(model: &Model, w: &mut XmlWriter, shape: &ShapeDef, obj: &Map<String, Value>) {
    let order: Vec<&str> = obj
        .get(DOCUMENT_ORDER)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let mut interleaved = false;
    for (mname, mref) in &shape.members {
        if mref.location.is_some() || mref.xml_attribute {
            continue;
        }
        let Some(val) = obj.get(mname) else { continue };
        let lname = mref.location_name.as_deref().unwrap_or(mname);
        let target = model.shape(&mref.shape);
        let fmt = mref.timestamp_format.as_deref();
        if target.kind == "list" && is_flattened(mref, target) && order.contains(&mname.as_str()) {
            if !interleaved {
                interleaved = true;
                write_interleaved(model, w, shape, obj, &order);
            }
        } else if target.kind == "list" && is_flattened(mref, target) {
            let item = target.member.as_ref().expect("list member");
            for it in val.as_array().into_iter().flatten() {
                write_element(model, w, lname, &item.shape, it, Vec::new(), fmt);
            }
        } else {
            write_element(model, w, lname, &mref.shape, val, ns_attrs(mref.xml_namespace.as_ref()), fmt);
        }
    }
}

/// The flattened lists named in `order`, their items taken one at a time in that order.
fn write_interleaved(model: &Model, w: &mut XmlWriter, shape: &ShapeDef, obj: &Map<String, Value>, order: &[&str]) {
    let mut next: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for name in order {
        let (Some(mref), Some(items)) = (shape.members.get(*name), obj.get(*name).and_then(|v| v.as_array())) else {
            continue;
        };
        let i = next.entry(name).or_insert(0);
        let Some(it) = items.get(*i) else { continue };
        *i += 1;
        let item = model.shape(&mref.shape).member.as_ref().expect("list member");
        let lname = mref.location_name.as_deref().unwrap_or(name);
        write_element(model, w, lname, &item.shape, it, Vec::new(), mref.timestamp_format.as_deref());
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
    let raw_body = output.take_body();
    let value = serde_json::to_value(&output).expect("shapes serialise");
    render_value(model, T::NAME, value.as_object().unwrap_or(&Map::new()), raw_body, root, namespace)
}

/// Renders the generic value `obj` of the output shape `shape_name`, with its streaming payload.
pub fn render_value(
    model: &Model,
    shape_name: &str,
    obj: &Map<String, Value>,
    raw_body: Option<Body>,
    root: &str,
    namespace: &str,
) -> HttpResponse {
    let shape = model.shape(shape_name);
    let mut resp = HttpResponse { status: 200, ..Default::default() };
    let has_body_members = rest::bind_response(model, shape, obj, &mut resp);
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
        write_members(model, &mut w, shape, obj);
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
        stream: None,
    }
}
