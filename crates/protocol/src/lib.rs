//! The protocol layer: typed shapes generated from the botocore models and the codecs that
//! turn HTTP requests into those shapes and shapes into HTTP responses, driven by the model.

pub mod cbor;
pub mod client;
pub mod common;
pub mod eventstream;
pub mod json;
pub mod model;
pub mod query;
mod rest;
pub mod rest_json;
pub mod rest_xml;
pub mod time_fmt;
pub mod validate;
pub mod xml;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use model::Model;

/// A streaming payload (an object body). Held whole in memory for now.
pub type Body = bytes::Bytes;

/// Implemented by every generated structure: its model name and its streaming payload, which
/// never passes through the generic (serde) representation.
pub trait Shape {
    const NAME: &'static str;
    fn take_body(&mut self) -> Option<Body>;
    fn set_body(&mut self, body: Body);
}

/// The operations of one service's model (generated as its `Operation` enum): their names,
/// and the typed input of a request decoded by the protocol's codec.
pub trait Operation: Sized + Send {
    /// Every operation name of the model, sorted.
    const NAMES: &'static [&'static str];
    fn name(&self) -> &'static str;
    /// The operation `name` with its input read by `d`; `None` when the model has no such
    /// operation.
    fn decode<D: Decode>(name: &str, d: &D) -> Option<Result<Self, nuage_core::AwsError>>;
}

/// A protocol codec reading one request's typed input.
pub trait Decode {
    fn input<T: Shape + serde::de::DeserializeOwned>(&self, operation: &'static str)
        -> Result<T, nuage_core::AwsError>;
    /// For operations whose model declares no input: checks nothing is amiss.
    fn no_input(&self, _operation: &'static str) -> Result<(), nuage_core::AwsError> {
        Ok(())
    }
}

/// The input of an operation whose model declares none.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NoInput;

/// Turns a generic value (and a streaming payload kept apart) into the typed shape `T`;
/// `invalid` maps a type mismatch to the protocol's error.
pub(crate) fn into_shape<T: Shape + serde::de::DeserializeOwned>(
    value: serde_json::Value,
    stream: Option<Body>,
    invalid: impl FnOnce(serde_json::Error) -> nuage_core::AwsError,
) -> Result<T, nuage_core::AwsError> {
    let mut typed: T = serde_json::from_value(value).map_err(invalid)?;
    if let Some(b) = stream {
        typed.set_body(b);
    }
    Ok(typed)
}

/// A point in time, in milliseconds since the Unix epoch. Each protocol renders it in the
/// format the model asks for (ISO 8601 in XML bodies, RFC 7231 in headers, epoch seconds in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(d.as_millis() as i64)
    }
    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }
}

/// Non-streaming binary data; base64 in the generic representation, as on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}
impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD.decode(s.as_bytes()).map(Blob).map_err(serde::de::Error::custom)
    }
}

/// An HTTP response as the codecs produce it, independent of the HTTP library.
#[derive(Debug, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// A body sent from files as it is read (an object's blobs), in place of `body`: memory
    /// does not grow with its size.
    pub stream: Option<Streamed>,
}

/// One piece of a streamed body.
#[derive(Debug)]
pub enum Piece {
    Bytes(Body),
    /// `len` bytes of an open file from `offset` (opened when the response was built, so a
    /// concurrent delete of the object cannot cut the answer short).
    File {
        file: std::fs::File,
        offset: u64,
        len: u64,
    },
    /// Bytes produced as the answer is computed (S3 Select's events), of no length known in
    /// advance: the response is sent chunked. The producer blocks when the client reads
    /// slowly, so memory stays bounded by the channel.
    Produced(tokio::sync::mpsc::Receiver<std::io::Result<Body>>),
}

/// A body made of pieces, sent one after the other.
#[derive(Debug, Default)]
pub struct Streamed(pub Vec<Piece>);

impl Streamed {
    pub fn len(&self) -> u64 {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Bytes(b) => b.len() as u64,
                Piece::File { len, .. } => *len,
                Piece::Produced(_) => 0,
            })
            .sum()
    }

    /// Whether the length is known before sending (no produced piece).
    pub fn sized(&self) -> bool {
        !self.0.iter().any(|p| matches!(p, Piece::Produced(_)))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in memory (for callers inside nuage that want bytes), read on a
    /// blocking thread.
    pub async fn read_all(self) -> std::io::Result<Body> {
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Seek, SeekFrom};
            let mut out = Vec::with_capacity(self.len() as usize);
            for p in self.0 {
                match p {
                    Piece::Bytes(b) => out.extend_from_slice(&b),
                    Piece::File { mut file, offset, len } => {
                        file.seek(SeekFrom::Start(offset))?;
                        let start = out.len();
                        out.resize(start + len as usize, 0);
                        file.read_exact(&mut out[start..])?;
                    }
                    Piece::Produced(mut rx) => {
                        while let Some(b) = rx.blocking_recv() {
                            out.extend_from_slice(&b?);
                        }
                    }
                }
            }
            Ok(Body::from(out))
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

impl Streamed {
    /// The body as a blocking reader, piece after piece: for consumers that process it as it
    /// is read (COPY), on a blocking thread, never holding more than their own buffer.
    pub fn into_reader(self) -> StreamedReader {
        StreamedReader { pieces: self.0.into(), current: None }
    }
}

/// A [`Streamed`] body read in order with `std::io::Read`.
pub struct StreamedReader {
    pieces: std::collections::VecDeque<Piece>,
    current: Option<Box<dyn std::io::Read + Send>>,
}

impl std::io::Read for StreamedReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::{Seek, SeekFrom};
        loop {
            if let Some(r) = &mut self.current {
                let n = r.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.current = None;
            }
            match self.pieces.pop_front() {
                None => return Ok(0),
                Some(Piece::Bytes(b)) => self.current = Some(Box::new(std::io::Cursor::new(b))),
                Some(Piece::File { mut file, offset, len }) => {
                    file.seek(SeekFrom::Start(offset))?;
                    self.current = Some(Box::new(std::io::Read::take(file, len)));
                }
                Some(Piece::Produced(mut rx)) => match rx.blocking_recv() {
                    Some(b) => {
                        self.pieces.push_front(Piece::Produced(rx));
                        self.current = Some(Box::new(std::io::Cursor::new(b?)));
                    }
                    None => continue,
                },
            }
        }
    }
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Matches a path against a model's `requestUri` template (`/functions/{FunctionName}/code`,
/// `/{Bucket}/{Key+}`; the template's query part is ignored) and returns the labels,
/// percent-decoded, or `None` when the path does not fit.
pub fn uri_labels(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let template = template.split('?').next().unwrap_or_default();
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut labels = Vec::new();
    let mut rest = path.strip_prefix('/')?;
    let parts: Vec<&'static str> = template.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            // A greedy label takes everything up to the literal segments that follow it
            // (`/mrap/instances/{name+}/policy`).
            let suffix: String = parts[i + 1..].iter().map(|p| format!("/{p}")).collect();
            let value = rest.strip_suffix(suffix.as_str())?;
            labels.push((name, decode(value)));
            return Some(labels);
        }
        let (segment, tail) = match rest.split_once('/') {
            Some((s, t)) if !last => (s, t),
            None if last => (rest, ""),
            _ => return None,
        };
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => labels.push((name, decode(segment))),
            Some(_) => return None,
            None if *part == segment => {}
            None => return None,
        }
        rest = tail;
    }
    rest.is_empty().then_some(labels)
}

/// An HTTP request as the codecs read it: the path labels and query already split and decoded.
pub struct HttpRequest<'a> {
    pub labels: &'a [(&'static str, String)],
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: Body,
}

impl HttpRequest<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod uri_tests {
    #[test]
    fn labels_from_templates() {
        let l = super::uri_labels(
            "/2015-03-31/functions/{FunctionName}/invocations",
            "/2015-03-31/functions/my%20fn/invocations",
        );
        assert_eq!(l, Some(vec![("FunctionName", "my fn".to_string())]));
        let l = super::uri_labels("/{Bucket}/{Key+}?uploads", "/b/a/b/c");
        assert_eq!(l, Some(vec![("Bucket", "b".to_string()), ("Key", "a/b/c".to_string())]));
        assert_eq!(super::uri_labels("/2015-03-31/functions/{FunctionName}", "/2015-03-31/layers/x"), None);
        assert_eq!(super::uri_labels("/2015-03-31/functions/{FunctionName}", "/2015-03-31/functions/x/y"), None);
        assert_eq!(super::uri_labels("/2015-03-31/functions/", "/2015-03-31/functions/"), Some(vec![]));
        let l = super::uri_labels("/v20180820/mrap/instances/{name+}/policy", "/v20180820/mrap/instances/a/b/policy");
        assert_eq!(l, Some(vec![("name", "a/b".to_string())]));
    }
}

macro_rules! service_model {
    ($module:ident, $file:literal) => {
        pub mod $module {
            #![allow(clippy::all, non_snake_case)]
            include!(concat!(env!("OUT_DIR"), "/", $file, "_shapes.rs"));
            /// The service's botocore model, parsed on first use.
            pub fn model() -> &'static crate::Model {
                static MODEL: std::sync::OnceLock<crate::Model> = std::sync::OnceLock::new();
                MODEL.get_or_init(|| {
                    crate::Model::parse(include_str!(concat!(env!("OUT_DIR"), "/", $file, "_model.json")))
                })
            }
        }
    };
}

service_model!(s3, "s3");
service_model!(s3control, "s3control");
service_model!(sts, "sts");
service_model!(iam, "iam");
service_model!(secretsmanager, "secretsmanager");
service_model!(redshift_data, "redshift-data");
service_model!(dynamodb, "dynamodb");
service_model!(dynamodbstreams, "dynamodbstreams");
service_model!(logs, "logs");
service_model!(lambda, "lambda");
service_model!(redshift, "redshift");
service_model!(redshift_serverless, "redshift-serverless");
service_model!(ec2, "ec2");
service_model!(cloudwatch, "cloudwatch");

/// One minute of a metric folded into a CloudWatch statistic set (samples, sum, minimum,
/// maximum): what services that publish metrics (DynamoDB's, Logs' metric filters) send.
pub fn folded_datum(
    name: String,
    dimensions: Vec<(String, String)>,
    minute_ms: i64,
    (samples, sum, min, max): (f64, f64, f64, f64),
    unit: Option<String>,
) -> cloudwatch::MetricDatum {
    cloudwatch::MetricDatum {
        metric_name: Some(name),
        dimensions: Some(
            dimensions.into_iter().map(|(k, v)| cloudwatch::Dimension { name: Some(k), value: Some(v) }).collect(),
        ),
        timestamp: Some(Timestamp(minute_ms)),
        statistic_values: Some(cloudwatch::StatisticSet {
            sample_count: Some(samples),
            sum: Some(sum),
            minimum: Some(min),
            maximum: Some(max),
        }),
        unit,
        ..Default::default()
    }
}

/// Which wire protocol renders an error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    RestXml,
    Query,
    /// EC2's query variant: its own error document.
    Ec2,
    Json,
    RestJson,
    /// Smithy RPC v2 CBOR.
    Cbor,
}

/// Renders an error the way `protocol` does on AWS. `host_id` is S3's `x-amz-id-2`.
pub fn render_error(protocol: Protocol, err: &nuage_core::AwsError, request_id: &str, head: bool) -> HttpResponse {
    let mut headers: Vec<(String, String)> = err.headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let body = match protocol {
        Protocol::RestXml => {
            let mut w = xml::XmlWriter::document();
            w.open("Error", &[]);
            w.leaf("Code", &err.code);
            w.leaf("Message", &err.message);
            for (k, v) in &err.fields {
                w.leaf(k, v);
            }
            w.leaf("RequestId", request_id);
            w.leaf("HostId", request_id);
            w.close("Error");
            headers.push(("content-type".into(), "application/xml".into()));
            w.finish()
        }
        Protocol::Query => {
            let mut w = xml::XmlWriter::document();
            w.open("ErrorResponse", &[]);
            w.open("Error", &[]);
            w.leaf("Type", if err.status >= 500 { "Receiver" } else { "Sender" });
            w.leaf("Code", &err.code);
            w.leaf("Message", &err.message);
            w.close("Error");
            w.leaf("RequestId", request_id);
            w.close("ErrorResponse");
            headers.push(("content-type".into(), "text/xml".into()));
            w.finish()
        }
        Protocol::Ec2 => {
            let mut w = xml::XmlWriter::document();
            w.open("Response", &[]);
            w.open("Errors", &[]);
            w.open("Error", &[]);
            w.leaf("Code", &err.code);
            w.leaf("Message", &err.message);
            w.close("Error");
            w.close("Errors");
            w.leaf("RequestID", request_id);
            w.close("Response");
            headers.push(("content-type".into(), "text/xml;charset=UTF-8".into()));
            w.finish()
        }
        Protocol::Cbor => {
            // CloudWatch, the one CBOR service, kept its query-protocol error codes
            // (awsQueryCompatible): they are also sent in `x-amzn-query-error`.
            let mut resp = cbor::render_error(err, true);
            resp.headers.extend(headers);
            if head {
                resp.body = Body::new();
            }
            return resp;
        }
        Protocol::Json | Protocol::RestJson => {
            headers.push(("x-amzn-errortype".into(), err.code.to_string()));
            let content_type =
                if protocol == Protocol::Json { "application/x-amz-json-1.1" } else { "application/json" };
            headers.push(("content-type".into(), content_type.into()));
            let mut doc = serde_json::json!({"__type": err.code, "message": err.message});
            // Members an error shape carries besides its message (DynamoDB's
            // `CancellationReasons`, `Item`): JSON documents are embedded as such.
            for (name, value) in &err.fields {
                let v = match value.as_bytes().first() {
                    Some(b'[' | b'{') => serde_json::from_str(value).unwrap_or_else(|_| value.clone().into()),
                    _ => serde_json::Value::String(value.clone()),
                };
                doc[*name] = v;
            }
            doc.to_string().into_bytes()
        }
    };
    HttpResponse { status: err.status, headers, body: if head { Body::new() } else { Body::from(body) }, stream: None }
}
