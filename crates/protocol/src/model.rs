//! The runtime view of a botocore service model (documentation stripped at build time).
use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
pub struct Model {
    pub metadata: Metadata,
    pub operations: IndexMap<String, Operation>,
    pub shapes: HashMap<String, ShapeDef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    pub protocol: String,
    /// Every protocol the service answers, in the SDKs' order of preference.
    #[serde(default)]
    pub protocols: Vec<String>,
    pub api_version: String,
    #[serde(default)]
    pub xml_namespace: Option<String>,
    #[serde(default)]
    pub target_prefix: Option<String>,
    #[serde(default)]
    pub json_version: Option<String>,
    #[serde(default)]
    pub signing_name: Option<String>,
    pub endpoint_prefix: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    #[serde(default)]
    pub http: Option<HttpTrait>,
    #[serde(default)]
    pub input: Option<ShapeRef>,
    #[serde(default)]
    pub output: Option<ShapeRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpTrait {
    pub method: String,
    pub request_uri: String,
    #[serde(default)]
    pub response_code: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct XmlNamespace {
    #[serde(default)]
    pub prefix: Option<String>,
    pub uri: String,
}

/// A reference to a shape with the serialisation traits attached where it is used.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub location_name: Option<String>,
    /// EC2's name for the member in a request's parameters.
    #[serde(default)]
    pub query_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub xml_attribute: bool,
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default)]
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub result_wrapper: Option<String>,
    /// A header holding base64-encoded JSON.
    #[serde(default, rename = "jsonvalue")]
    pub json_value: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeDef {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub members: IndexMap<String, ShapeRef>,
    #[serde(default)]
    pub member: Option<ShapeRef>,
    #[serde(default)]
    pub key: Option<ShapeRef>,
    #[serde(default)]
    pub value: Option<ShapeRef>,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub payload: Option<String>,
    #[serde(default)]
    pub timestamp_format: Option<String>,
    #[serde(default)]
    pub xml_namespace: Option<XmlNamespace>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub streaming: bool,
    #[serde(default, rename = "jsonvalue")]
    pub json_value: bool,
    #[serde(default)]
    pub eventstream: bool,
    /// Length (strings, blobs, lists, maps) or value (numbers) bounds.
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default, rename = "enum")]
    pub enum_values: Vec<String>,
}

impl Model {
    pub fn parse(json: &str) -> Model {
        serde_json::from_str(json).expect("vendored botocore model parses")
    }

    pub fn shape(&self, name: &str) -> &ShapeDef {
        self.shapes.get(name).unwrap_or_else(|| panic!("shape {name} missing from model"))
    }
}
