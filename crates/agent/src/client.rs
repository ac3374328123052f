//! A small CloudWatch Logs client: JSON-protocol requests signed with SigV4.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use sha2::{Digest, Sha256};

pub struct Logs {
    http: Client<HttpConnector, Full<Bytes>>,
    endpoint: http::Uri,
    host: String,
    region: String,
    access_key: String,
    secret_key: String,
    session_token: Option<String>,
}

/// An error answered by the service: its code and message.
#[derive(Debug)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl Logs {
    pub fn new(
        endpoint: &str,
        region: &str,
        access_key: &str,
        secret_key: &str,
        session_token: Option<String>,
    ) -> Result<Logs, String> {
        let endpoint: http::Uri = endpoint.parse().map_err(|e| format!("invalid endpoint {endpoint}: {e}"))?;
        let host = endpoint.authority().map(|a| a.to_string()).ok_or("the endpoint needs a host")?;
        Ok(Logs {
            http: Client::builder(hyper_util::rt::TokioExecutor::new()).build_http(),
            endpoint,
            host,
            region: region.to_string(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
            session_token,
        })
    }

    /// Calls `operation` with `body`; the answer's JSON, or the service's error.
    pub async fn call(&self, operation: &str, body: &serde_json::Value) -> Result<serde_json::Value, Failure> {
        let payload = serde_json::to_vec(body).expect("JSON values serialise");
        let now = chrono::Utc::now();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let date = &amz_date[..8];
        let target = format!("Logs_20140328.{operation}");
        let mut headers = vec![
            ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
            ("host".to_string(), self.host.clone()),
            ("x-amz-date".to_string(), amz_date.clone()),
            ("x-amz-target".to_string(), target),
        ];
        if let Some(t) = &self.session_token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let canonical = format!(
            "POST\n/\n\n{}\n{}\n{}",
            headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect::<String>(),
            signed.join(";"),
            hex::encode(Sha256::digest(&payload))
        );
        let scope = format!("{date}/{}/logs/aws4_request", self.region);
        let to_sign =
            format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let key = nuage_front::sigv4::signing_key(&self.secret_key, date, &self.region, "logs");
        let signature = hex::encode(nuage_front::sigv4::hmac(&key, to_sign.as_bytes()));
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.access_key,
            signed.join(";")
        );
        let mut req = http::Request::post(self.endpoint.clone());
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k, v);
        }
        let req = req
            .header("authorization", auth)
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| Failure { code: "ClientError".into(), message: e.to_string() })?;
        let unreachable = |e: String| Failure { code: "Unreachable".into(), message: e };
        let resp = self.http.request(req).await.map_err(|e| unreachable(e.to_string()))?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.map_err(|e| unreachable(e.to_string()))?.to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        if status.is_success() {
            return Ok(doc);
        }
        let code = doc["__type"].as_str().unwrap_or("UnknownError");
        Err(Failure {
            code: code.rsplit('#').next().unwrap_or(code).to_string(),
            message: doc["message"].as_str().unwrap_or_default().to_string(),
        })
    }
}
