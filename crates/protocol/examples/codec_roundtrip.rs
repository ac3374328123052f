//! A test peer for `tests/test_protocol_roundtrip.py`: botocore serialises requests that this
//! program parses with nuage's codecs, and parses the responses this program renders. One JSON
//! object per line in, one per line out.
//!
//! In: `{"service", "operation", "direction": "request", "method", "path", "query": [[k, v]],
//! "headers": [[k, v]], "body_b64"}` → out: `{"value": <generic input>, "stream_b64"}` or
//! `{"error": {"code", "message"}}`.
//! In: `{"service", "operation", "direction": "response", "output": <generic output>,
//! "stream_b64"}` → out: `{"status", "headers": [[k, v]], "body_b64"}`.
use base64::Engine;
use nuage_protocol::{json, query, rest_json, rest_xml, Body, HttpRequest, HttpResponse, Model};
use serde_json::{json, Map, Value};
use std::io::{BufRead, Write};

fn model(service: &str) -> &'static Model {
    match service {
        "s3" => nuage_protocol::s3::model(),
        "s3control" => nuage_protocol::s3control::model(),
        "sts" => nuage_protocol::sts::model(),
        "iam" => nuage_protocol::iam::model(),
        "secretsmanager" => nuage_protocol::secretsmanager::model(),
        "redshift-data" => nuage_protocol::redshift_data::model(),
        "dynamodb" => nuage_protocol::dynamodb::model(),
        "lambda" => nuage_protocol::lambda::model(),
        "redshift" => nuage_protocol::redshift::model(),
        "ec2" => nuage_protocol::ec2::model(),
        other => panic!("no model for {other}"),
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(v: &Value) -> Option<Body> {
    v.as_str().map(|s| Body::from(base64::engine::general_purpose::STANDARD.decode(s).expect("base64")))
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|p| (p[0].as_str().unwrap_or_default().to_string(), p[1].as_str().unwrap_or_default().to_string()))
        .collect()
}

fn parse(m: &'static Model, msg: &Value) -> Result<(Value, Option<Body>), nuage_core::AwsError> {
    let op = &m.operations[msg["operation"].as_str().unwrap()];
    let Some(input) = &op.input else { return Ok((json!({}), None)) };
    let body = unb64(&msg["body_b64"]).unwrap_or_default();
    let headers = pairs(&msg["headers"]);
    let mut query = pairs(&msg["query"]);
    match m.metadata.protocol.as_str() {
        "query" | "ec2" => {
            query.extend(form_urlencoded::parse(&body).into_owned());
            Ok((query::parse_value(m, &input.shape, &query::QueryParams { params: &query })?, None))
        }
        "json" => Ok((json::body_value(m, &input.shape, &body)?, None)),
        protocol => {
            let template: &'static str = &op.http.as_ref().expect("rest operations have http").request_uri;
            let labels = nuage_protocol::uri_labels(template, msg["path"].as_str().unwrap())
                .expect("botocore's path fits the operation's template");
            let req = HttpRequest { labels: &labels, query: &query, headers: &headers, body };
            if protocol == "rest-xml" {
                rest_xml::parse_value(m, &input.shape, &req)
            } else {
                rest_json::parse_value(m, &input.shape, &req)
            }
        }
    }
}

fn render(m: &'static Model, msg: &Value) -> HttpResponse {
    let operation = msg["operation"].as_str().unwrap();
    let op = &m.operations[operation];
    let empty = Map::new();
    let obj = msg["output"].as_object().unwrap_or(&empty);
    let stream = unb64(&msg["stream_b64"]);
    match m.metadata.protocol.as_str() {
        "query" | "ec2" => query::render_value(m, operation, Some(obj), "request-id"),
        "json" => json::render_value(m, op.output.as_ref().map(|o| o.shape.as_str()), &Value::Object(obj.clone())),
        "rest-xml" => {
            let shape = op.output.as_ref().map(|o| o.shape.as_str()).unwrap_or_default();
            if shape.is_empty() {
                return HttpResponse { status: 200, ..Default::default() };
            }
            // S3 names the document element per operation; botocore does not read the name.
            let has_body = m.shape(shape).members.values().any(|r| r.location.is_none());
            let root = if has_body { shape } else { "" };
            rest_xml::render_value(m, shape, obj, stream, root, "http://s3.amazonaws.com/doc/2006-03-01/")
        }
        _ => rest_json::render_value(m, operation, obj, stream),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let msg: Value = serde_json::from_str(&line.expect("stdin")).expect("one JSON object per line");
        let m = model(msg["service"].as_str().unwrap());
        let answer = if msg["direction"] == "request" {
            match parse(m, &msg) {
                Ok((value, stream)) => json!({"value": value, "stream_b64": stream.map(|s| b64(&s))}),
                Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
            }
        } else {
            let r = render(m, &msg);
            json!({"status": r.status, "headers": r.headers, "body_b64": b64(&r.body)})
        };
        writeln!(out, "{answer}").expect("stdout");
        out.flush().expect("stdout");
    }
}
