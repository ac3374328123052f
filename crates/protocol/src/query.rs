//! The query protocol (IAM, STS, Redshift): form-encoded parameters in, XML out, wrapped in
//! `<{Op}Response><{Op}Result>` as the model's `resultWrapper` says. EC2's variant (`ec2`)
//! names parameters by `queryName` (or the capitalised `locationName`), flattens every list,
//! and answers without a result wrapper, its request id first.
use crate::model::Model;
use crate::rest::scalar;
use crate::rest_xml::{list_item_name, write_members};
use crate::xml::XmlWriter;
use crate::{Body, HttpResponse, Shape};
use nuage_core::AwsError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// Parameters of a query request: the form body and the URL query, decoded.
pub struct QueryParams<'a> {
    pub params: &'a [(String, String)],
}

impl QueryParams<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
    fn has_prefix(&self, prefix: &str) -> bool {
        self.params.iter().any(|(k, _)| k == prefix || k.starts_with(&format!("{prefix}.")))
    }
    pub fn action(&self) -> Option<&str> {
        self.get("Action")
    }
}

/// How a request member is named among the parameters.
pub(crate) fn param_name(mname: &str, mref: &crate::model::ShapeRef, ec2: bool) -> String {
    if ec2 {
        if let Some(q) = &mref.query_name {
            return q.clone();
        }
        if let Some(l) = &mref.location_name {
            let mut c = l.chars();
            return c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default();
        }
        return mname.to_string();
    }
    mref.location_name.clone().unwrap_or_else(|| mname.to_string())
}

fn value_at(
    model: &Model,
    shape_name: &str,
    prefix: &str,
    q: &QueryParams,
    flattened: bool,
    ec2: bool,
) -> Result<Option<Value>, AwsError> {
    let shape = model.shape(shape_name);
    match shape.kind.as_str() {
        "structure" | "union" => {
            let mut obj = Map::new();
            for (mname, mref) in &shape.members {
                let name = param_name(mname, mref, ec2);
                let key = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                if let Some(v) = value_at(model, &mref.shape, &key, q, mref.flattened || ec2, ec2)? {
                    obj.insert(mname.clone(), v);
                }
            }
            Ok((!obj.is_empty() || q.has_prefix(prefix)).then_some(Value::Object(obj)))
        }
        "list" => {
            let item = &shape.member.as_ref().expect("list member").shape;
            let base = if flattened || shape.flattened {
                prefix.to_string()
            } else {
                format!("{prefix}.{}", list_item_name(shape))
            };
            let mut items = Vec::new();
            for i in 1.. {
                let key = format!("{base}.{i}");
                if !q.has_prefix(&key) {
                    break;
                }
                items.extend(value_at(model, item, &key, q, false, ec2)?);
            }
            // `Name=` (empty) is how the query protocol sends an empty list.
            Ok((!items.is_empty() || q.get(prefix).is_some()).then_some(Value::Array(items)))
        }
        "map" => {
            let key_name = shape.key.as_ref().and_then(|k| k.location_name.as_deref()).unwrap_or("key");
            let val_ref = shape.value.as_ref().expect("map value");
            let val_name = val_ref.location_name.as_deref().unwrap_or("value");
            let base = if flattened || shape.flattened { prefix.to_string() } else { format!("{prefix}.entry") };
            let mut obj = Map::new();
            for i in 1.. {
                let entry = format!("{base}.{i}");
                if !q.has_prefix(&entry) {
                    break;
                }
                let k = q.get(&format!("{entry}.{key_name}")).unwrap_or_default().to_string();
                if let Some(v) = value_at(model, &val_ref.shape, &format!("{entry}.{val_name}"), q, false, ec2)? {
                    obj.insert(k, v);
                }
            }
            Ok((!obj.is_empty()).then_some(Value::Object(obj)))
        }
        _ => q.get(prefix).map(|text| scalar(model, shape_name, prefix, text)).transpose(),
    }
}

/// Reads the generic value of the input shape `shape_name` from query parameters.
pub fn parse_value(model: &Model, shape_name: &str, q: &QueryParams) -> Result<Value, AwsError> {
    let ec2 = model.metadata.protocol == "ec2";
    Ok(value_at(model, shape_name, "", q, false, ec2)?.unwrap_or_else(|| Value::Object(Map::new())))
}

/// Reads the typed input shape `T` from query parameters.
pub fn parse_request<T: Shape + DeserializeOwned>(model: &Model, q: &QueryParams) -> Result<T, AwsError> {
    let value = parse_value(model, T::NAME, q)?;
    serde_json::from_value(value)
        .map_err(|e| crate::common::Common::ValidationError.msg(format!("Invalid parameters: {e}")))
}

/// Renders `output` as the answer to `operation`.
pub fn render_response<T: Shape + Serialize>(
    model: &Model,
    operation: &str,
    output: Option<T>,
    request_id: &str,
) -> HttpResponse {
    let value = output.map(|o| serde_json::to_value(&o).expect("shapes serialise"));
    render_value(model, operation, value.as_ref().and_then(|v| v.as_object()), request_id)
}

/// Renders the generic value of `operation`'s output shape.
pub fn render_value(
    model: &Model,
    operation: &str,
    output: Option<&Map<String, Value>>,
    request_id: &str,
) -> HttpResponse {
    let ns = model.metadata.xml_namespace.clone().unwrap_or_default();
    let op = &model.operations[operation];
    let mut w = XmlWriter::document();
    let root = format!("{operation}Response");
    w.open(&root, &[("xmlns".into(), ns)]);
    if model.metadata.protocol == "ec2" {
        w.leaf("requestId", request_id);
        if let (Some(obj), Some(out_ref)) = (output, op.output.as_ref()) {
            write_members(model, &mut w, model.shape(&out_ref.shape), obj);
        }
        w.close(&root);
        return HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/xml;charset=UTF-8".into())],
            body: Body::from(w.finish()),
            stream: None,
        };
    }
    if let (Some(obj), Some(out_ref)) = (output, op.output.as_ref()) {
        let wrapper = out_ref.result_wrapper.clone().unwrap_or_else(|| format!("{operation}Result"));
        w.open(&wrapper, &[]);
        write_members(model, &mut w, model.shape(&out_ref.shape), obj);
        w.close(&wrapper);
    }
    w.open("ResponseMetadata", &[]);
    w.leaf("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&root);
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "text/xml".into())],
        body: Body::from(w.finish()),
        stream: None,
    }
}

/// Reads typed inputs from a query request's parameters.
pub struct QueryDecoder<'a> {
    pub model: &'a Model,
    pub params: QueryParams<'a>,
    /// Where the input's breaches of the model's constraints are noted, when wanted.
    pub violations: Option<std::cell::RefCell<Vec<String>>>,
}

impl crate::Decode for QueryDecoder<'_> {
    fn input<T: Shape + DeserializeOwned>(&self, _operation: &'static str) -> Result<T, AwsError> {
        let value = parse_value(self.model, T::NAME, &self.params)?;
        crate::validate::note(self.model, T::NAME, &value, self.violations.as_ref());
        serde_json::from_value(value)
            .map_err(|e| crate::common::Common::ValidationError.msg(format!("Invalid parameters: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn nested_lists_and_structures_parse() {
        let p = params(&[
            ("Action", "CreateUser"),
            ("UserName", "mary"),
            ("Path", "/data/"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "science"),
            ("Tags.member.2.Key", "level"),
            ("Tags.member.2.Value", "2"),
        ]);
        let req: crate::iam::CreateUserRequest =
            parse_request(crate::iam::model(), &QueryParams { params: &p }).unwrap();
        assert_eq!(req.user_name.as_deref(), Some("mary"));
        let tags = req.tags.unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[1].value.as_deref(), Some("2"));
    }

    #[test]
    fn response_is_wrapped() {
        let out = crate::sts::GetCallerIdentityResponse {
            user_id: Some("AIDA".into()),
            account: Some("000000000000".into()),
            arn: Some("arn:aws:iam::000000000000:root".into()),
        };
        let r = render_response(crate::sts::model(), "GetCallerIdentity", Some(out), "rid");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><UserId>AIDA</UserId>"), "{body}");
        assert!(body.contains("<RequestId>rid</RequestId>"));
    }
}
