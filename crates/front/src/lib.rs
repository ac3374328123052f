//! The front door: one HTTP endpoint for every service. It authenticates (SigV4), routes each
//! request to its service, has the operation authorised before any handler runs, and renders
//! errors and the common response headers.

mod auth_errors;
pub mod authz;
pub mod metrics;
pub mod sigv2;
pub mod sigv4;
pub mod spool;
pub mod typed;

pub use authz::{authorize, Authorization, NoPolicies, PolicyStore, PrincipalPolicies};
pub use typed::{NoOutput, Row, Typed, TypedService};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use nuage_core::identity::Identities;
use nuage_core::{AwsError, AwsResult, Principal, RequestContext};
use nuage_protocol::{render_error, HttpResponse, Protocol};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the front door answers with: a body in memory, or one streamed from files.
pub type ResponseBody = BoxBody<Bytes, std::io::Error>;

fn full(bytes: Bytes) -> ResponseBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A body read from its pieces as the client takes it: a buffer at a time, so memory does not
/// grow with the object.
fn streamed(body: nuage_protocol::Streamed) -> ResponseBody {
    use nuage_protocol::Piece;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    const BUFFER: u64 = 256 * 1024;
    let pieces: std::collections::VecDeque<Piece> = body.0.into();
    let state: (std::collections::VecDeque<Piece>, Option<(tokio::fs::File, u64)>) = (pieces, None);
    let stream = futures_util::stream::try_unfold(state, |(mut pieces, mut open)| async move {
        loop {
            if let Some((mut file, left)) = open.take() {
                if left == 0 {
                    continue;
                }
                let mut buf = vec![0u8; BUFFER.min(left) as usize];
                file.read_exact(&mut buf).await?;
                let left = left - buf.len() as u64;
                return Ok(Some((hyper::body::Frame::data(Bytes::from(buf)), (pieces, Some((file, left))))));
            }
            match pieces.pop_front() {
                None => return Ok(None),
                Some(Piece::Bytes(b)) if b.is_empty() => continue,
                Some(Piece::Bytes(b)) => return Ok(Some((hyper::body::Frame::data(b), (pieces, None)))),
                Some(Piece::Produced(mut rx)) => match rx.recv().await {
                    Some(b) => {
                        let b = b?;
                        pieces.push_front(Piece::Produced(rx));
                        return Ok(Some((hyper::body::Frame::data(b), (pieces, None))));
                    }
                    None => continue,
                },
                Some(Piece::File { file, offset, len }) => {
                    let mut file = tokio::fs::File::from_std(file);
                    file.seek(std::io::SeekFrom::Start(offset)).await?;
                    open = Some((file, len));
                }
            }
        }
    });
    StreamBody::new(stream).boxed()
}

/// A request as services see it: authenticated, body decoded, query split.
pub struct ServiceRequest {
    pub method: String,
    /// The path as the client sent it (still percent-encoded).
    pub raw_path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// The Host header without the port.
    pub host: String,
    pub body: Bytes,
    /// A large object body, written to a file as it arrived (then `body` is empty): a service
    /// that stores it adopts the file; otherwise it goes with the request.
    pub spooled: Option<spool::Spooled>,
}

/// A query-protocol request's parameters: the form body, then the query string.
pub fn query_params(req: &ServiceRequest) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = form_urlencoded::parse(&req.body).into_owned().collect();
    p.extend(req.query.iter().cloned());
    p
}

/// The first value of a parameter.
pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

impl ServiceRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A signature found in a request body: what was signed, by which key, how.
pub enum EmbeddedCredentials {
    /// HMAC-SHA1 (base64) of `string_to_sign` with the secret key.
    V2 { access_key: String, signature: String, string_to_sign: String },
    /// SigV4 over `string_to_sign` with the signing key of `credential` (`AK/date/region/service/aws4_request`).
    V4 { credential: String, signature: String, string_to_sign: String },
}

/// A routed operation: its authorisation facts and the handler to run once authorised.
pub struct Routed<'a> {
    pub authorization: Authorization,
    pub run: BoxFuture<'a, Result<HttpResponse, AwsError>>,
}

/// One AWS service behind the front door.
pub trait Service: Send + Sync + 'static {
    /// The SigV4 signing name (`s3`, `iam`, ...).
    fn signing_name(&self) -> &'static str;
    fn protocol(&self) -> Protocol;
    /// The protocol a request speaks: the service's own unless it answers several.
    fn protocol_for(&self, _headers: &[(String, String)]) -> Protocol {
        self.protocol()
    }
    /// Maps a request to its operation. Nothing runs until the front door has authorised it.
    fn route<'a>(&'a self, ctx: &'a RequestContext, req: &'a ServiceRequest) -> AwsResult<Routed<'a>>;
    /// The `X-Amz-Target` prefix of a json-protocol service: told apart by it from another
    /// service signing with the same name (DynamoDB Streams signs as `dynamodb`).
    fn target_prefix(&self) -> Option<&'static str> {
        None
    }
    /// Forgets in-memory state after the store was emptied.
    fn reset(&self) {}
    /// What the service holds, for `nuage status`: (what, how many).
    fn status(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
    /// A routed request was answered (S3 records it in a logged bucket's access log).
    fn completed(
        &self,
        _ctx: &RequestContext,
        _req: &ServiceRequest,
        _operation: &'static str,
        _resp: &HttpResponse,
        _elapsed: std::time::Duration,
    ) {
    }
    /// Last touch on every routed response, success or error (S3 adds CORS headers here).
    fn finish_response(&self, _req: &ServiceRequest, _resp: &mut HttpResponse) {}
    /// Credentials carried inside the request body rather than its headers (S3's browser-form
    /// POST). The front door verifies them like any signature.
    fn embedded_credentials(&self, _req: &ServiceRequest) -> AwsResult<Option<EmbeddedCredentials>> {
        Ok(None)
    }
    /// Whether a request is exempt from authentication (S3's CORS preflight is never signed).
    fn is_unauthenticated(&self, _method: &str) -> bool {
        false
    }
    /// The error a denied request gets (the code differs by protocol: `AccessDenied`,
    /// `AccessDeniedException`).
    fn access_denied(&self, ctx: &RequestContext, a: &Authorization, e: &nuage_policy::Evaluation) -> AwsError {
        authz::default_access_denied("AccessDenied", ctx, a, e)
    }
}

pub struct Config {
    /// Where large request bodies are written as they arrive (the store's blob directory);
    /// `None` holds every body in memory.
    pub spool_dir: Option<std::path::PathBuf>,
    pub verify_signatures: bool,
    /// Evaluate IAM policies on every request (on by default).
    pub enforce_policies: bool,
}

pub struct Frontend {
    pub identities: Arc<Identities>,
    pub policies: Arc<dyn PolicyStore>,
    pub services: Vec<Arc<dyn Service>>,
    pub config: Config,
    /// Empties all state; wired by the binary.
    pub reset: Box<dyn Fn() -> BoxFuture<'static, AwsResult<()>> + Send + Sync>,
    /// Where state is kept (its size is part of `/_nuage/status`).
    pub data_dir: std::path::PathBuf,
    pub started: Instant,
}

/// The bytes the files under `dir` hold.
fn size_on_disk(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => size_on_disk(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .sum()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_uppercase()
}

/// The service a request is for: from the SigV4 scope when signed. Unsigned requests are
/// S3's, but for STS's federation operations (AssumeRoleWithWebIdentity, AssumeRoleWithSAML),
/// which are form posts to `/` that S3 never takes.
fn service_of(method: &str, path: &str, headers: &[(String, String)], raw_query: &str) -> String {
    if let Some(name) = signing_name_of(headers, raw_query) {
        return name;
    }
    let form = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("content-type")
            && v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded")
    });
    if method == "POST" && path == "/" && form {
        "sts".into()
    } else {
        "s3".into()
    }
}

fn signing_name_of(headers: &[(String, String)], raw_query: &str) -> Option<String> {
    let scope = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.split("Credential=").nth(1).map(|s| s.split([',', ' ']).next().unwrap_or("").to_string()))
        .or_else(|| sigv4::parse_query(raw_query).into_iter().find(|(k, _)| k == "X-Amz-Credential").map(|(_, v)| v))?;
    scope.split('/').nth(3).map(|s| s.to_string())
}

impl Frontend {
    fn service(&self, name: &str) -> Option<&Arc<dyn Service>> {
        self.services.iter().find(|s| s.signing_name() == name)
    }

    /// The service a request is for: by signing name, then, among services sharing one, by
    /// the request's `X-Amz-Target` prefix.
    fn service_for(&self, name: &str, headers: &[(String, String)]) -> Option<&Arc<dyn Service>> {
        let target = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            .and_then(|(_, v)| v.split_once('.').map(|(prefix, _)| prefix));
        let named = || self.services.iter().filter(|s| s.signing_name() == name);
        named().find(|s| target.is_some() && s.target_prefix() == target).or_else(|| named().next())
    }

    pub async fn handle(&self, req: hyper::Request<Incoming>, remote: SocketAddr) -> hyper::Response<ResponseBody> {
        let started = Instant::now();
        let rid = request_id();
        let method = req.method().as_str().to_string();
        let path = req.uri().path().to_string();
        let raw_query = req.uri().query().unwrap_or("").to_string();
        if path.starts_with("/_nuage/") {
            return self.internal(&method, &path).await;
        }
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let host = headers
            .iter()
            .find(|(k, _)| k == "host")
            .map(|(_, v)| v.rsplit_once(':').map(|(h, _)| h).unwrap_or(v).to_string())
            .unwrap_or_default();
        let service_name = service_of(&method, &path, &headers, &raw_query);
        let head = method == "HEAD";
        let Some(service) = self.service_for(&service_name, &headers).cloned() else {
            let err = AwsError::new("UnknownService", 400, format!("nuage does not serve '{service_name}' yet"));
            return finish(render_error(client_protocol(&headers), &err, &rid, head), &rid, true);
        };
        let protocol = service.protocol_for(&headers);
        let limit = body_limit(&service_name);
        if let Err(err) = check_announced_size(&headers, limit) {
            return finish(render_error(protocol, &err, &rid, head), &rid, service_name == "s3");
        }
        // An object's body past a few MiB goes to a file as it arrives; others are held.
        let announced = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok());
        let spool_dir = self.config.spool_dir.as_deref().filter(|_| {
            service_name == "s3" && method == "PUT" && announced.is_some_and(|n| n > spool::SPOOL_THRESHOLD)
        });
        let received = match spool_dir {
            Some(dir) => {
                spool::receive(req.into_body(), dir, limit.wire_bytes() as u64).await.map(|r| (Bytes::new(), Some(r)))
            }
            None => spool::collect(req.into_body(), limit.wire_bytes()).await.map(|b| (b, None)),
        };
        let (body, spooled) = match received {
            Ok(x) => x,
            Err(spool::Failure::TooLarge) => {
                return finish(render_error(protocol, &limit.error(None), &rid, head), &rid, service_name == "s3");
            }
            Err(spool::Failure::Read(e)) => {
                let err = AwsError::new("IncompleteBody", 400, format!("The request body could not be read: {e}"));
                return finish(render_error(protocol, &err, &rid, head), &rid, true);
            }
        };
        let (principal_log, op, statement, resp) = self
            .dispatch(
                &*service,
                &rid,
                method.clone(),
                path.clone(),
                raw_query,
                headers,
                host,
                (body, spooled),
                remote,
                started,
            )
            .await;
        tracing::info!(
            service = %service_name,
            operation = op,
            principal = %principal_log,
            statement = statement.as_deref().unwrap_or("-"),
            status = resp.status,
            latency_us = started.elapsed().as_micros() as u64,
            request_id = %rid,
            "{method} {path}"
        );
        finish(resp, &rid, service_name == "s3")
    }

    #[allow(clippy::too_many_arguments)]
    async fn dispatch(
        &self,
        service: &dyn Service,
        rid: &str,
        method: String,
        raw_path: String,
        raw_query: String,
        mut headers: Vec<(String, String)>,
        host: String,
        (body, spooled): (Bytes, Option<spool::Received>),
        remote: SocketAddr,
        started: Instant,
    ) -> (String, &'static str, Option<String>, HttpResponse) {
        let protocol = service.protocol_for(&headers);
        let head = method == "HEAD";
        let error = |e: AwsError| render_error(protocol, &e, rid, head);
        let verified = if service.is_unauthenticated(&method) {
            Ok(None)
        } else if self.config.verify_signatures {
            sigv4::verify(
                &self.identities,
                sigv4::SignedRequest {
                    method: &method,
                    raw_path: &raw_path,
                    raw_query: &raw_query,
                    headers: &headers,
                    body: body.clone(),
                    spooled: spooled.is_some(),
                    s3_path_rules: service.signing_name() == "s3",
                    now: now_secs(),
                },
                &host,
            )
        } else {
            Ok(unverified_identity(&self.identities, &headers, &raw_query, body.clone(), spooled.is_some()))
        };
        let verified = match verified {
            Ok(v) => v,
            Err(e) => return ("-".into(), "-", None, error(auth_errors::for_protocol(protocol, e))),
        };
        let presigned = verified.as_ref().is_some_and(|v| v.presigned);
        let (principal, region, body, check) = match verified {
            Some(v) => {
                headers.extend(v.trailers);
                self.policies.key_used(&v.access_key, service.signing_name(), &v.region);
                (Some(v.credential.principal), v.region, v.body, v.check)
            }
            None => (None, nuage_core::DEFAULT_REGION.to_string(), body, sigv4::PayloadCheck::None),
        };
        let spooled = match finish_payload(spooled, check, &headers).await {
            Ok((spooled, trailers)) => {
                headers.extend(trailers);
                spooled
            }
            Err(e) => return ("-".into(), "-", None, error(e)),
        };
        let query = sigv4::parse_query(&raw_query);
        let sreq = ServiceRequest { method, raw_path, query, headers, host, body, spooled };
        let principal = match (principal, service.embedded_credentials(&sreq)) {
            (None, Ok(Some(embedded))) => match sigv4::verify_embedded(&self.identities, embedded, now_secs()) {
                Ok(p) => Some(p),
                Err(e) => return ("-".into(), "-", None, error(auth_errors::for_protocol(protocol, e))),
            },
            (_, Err(e)) => return ("-".into(), "-", None, error(e)),
            (p, _) => p,
        };
        let principal_log = principal.as_ref().map(|p: &Principal| p.arn.clone()).unwrap_or_else(|| "anonymous".into());
        let ctx = RequestContext {
            request_id: rid.to_string(),
            principal,
            region,
            source_ip: remote.ip(),
            secure_transport: false,
            auth_type: if presigned { "REST-QUERY-STRING" } else { "REST-HEADER" },
            called_via: Vec::new(),
            user_agent: sreq.header("user-agent").map(str::to_string),
            referer: sreq.header("referer").map(str::to_string),
        };
        let (op, statement, result) = self.route_and_run(service, &ctx, &sreq).await;
        let mut resp = result.unwrap_or_else(error);
        service.finish_response(&sreq, &mut resp);
        if op != "-" {
            service.completed(&ctx, &sreq, op, &resp, started.elapsed());
        }
        (principal_log, op, statement, resp)
    }

    /// Routes an authenticated request, has it authorised, and runs its handler: the
    /// operation's name, the deciding policy statement, and the outcome.
    async fn route_and_run(
        &self,
        service: &dyn Service,
        ctx: &RequestContext,
        sreq: &ServiceRequest,
    ) -> (&'static str, Option<String>, Result<HttpResponse, AwsError>) {
        match service.route(ctx, sreq) {
            Ok(routed) => {
                let a = &routed.authorization;
                let op = a.operation;
                let decided = authorize(ctx, a, &*self.policies, self.config.enforce_policies, |ctx, a, e| {
                    service.access_denied(ctx, a, e)
                });
                match decided {
                    Ok(d) => (op, d.statement, routed.run.await),
                    Err(e) => (op, None, Err(e)),
                }
            }
            Err(e) => ("-", None, Err(e)),
        }
    }

    /// Whether the caller of a request also has the permission `a` (an operation that acts on
    /// many resources and answers for each: BatchGetSecretValue), decided as the front door
    /// decides requests; the denial is the json protocol's AccessDeniedException.
    pub fn permits(&self, ctx: &RequestContext, a: &Authorization) -> AwsResult<()> {
        authorize(ctx, a, &*self.policies, self.config.enforce_policies, |ctx, a, e| {
            authz::default_access_denied("AccessDeniedException", ctx, a, e)
        })
        .map(|_| ())
    }

    /// A request one service makes of another on behalf of `principal` (Redshift's COPY
    /// reading S3 as the cluster's role): routed and authorised like any request, without a
    /// signature, since the caller established the principal itself. The response is what a
    /// client would receive, errors rendered in the service's protocol.
    /// `via` names the calling service when it acts with the principal's own identity (a
    /// forward access session: aws:ViaAWSService, aws:CalledVia); `None` when the principal is
    /// the service's own (a role it assumed).
    pub async fn call_as(
        &self,
        principal: Principal,
        service_name: &str,
        region: &str,
        via: Option<&str>,
        mut req: ServiceRequest,
    ) -> AwsResult<HttpResponse> {
        let started = Instant::now();
        let Some(service) = self.service(service_name).cloned() else {
            return Err(AwsError::new("UnknownService", 400, format!("nuage does not serve '{service_name}'")));
        };
        if req.host.is_empty() {
            req.host = "127.0.0.1".into();
        }
        let rid = request_id();
        let principal_log = principal.arn.clone();
        // A service's requests carry its name as their user agent, as AWS's do.
        let user_agent = via
            .map(str::to_string)
            .or_else(|| (principal.kind == nuage_core::PrincipalKind::Service).then(|| principal.name.clone()));
        let ctx = RequestContext {
            request_id: rid.clone(),
            principal: Some(principal),
            region: region.to_string(),
            source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            secure_transport: true,
            auth_type: "REST-HEADER",
            called_via: via.map(|v| v.to_string()).into_iter().collect(),
            user_agent,
            referer: None,
        };
        let (op, statement, result) = self.route_and_run(&*service, &ctx, &req).await;
        let mut resp =
            result.unwrap_or_else(|e| render_error(service.protocol_for(&req.headers), &e, &rid, req.method == "HEAD"));
        service.finish_response(&req, &mut resp);
        tracing::info!(
            service = %service_name,
            operation = op,
            principal = %principal_log,
            statement = statement.as_deref().unwrap_or("-"),
            status = resp.status,
            latency_us = started.elapsed().as_micros() as u64,
            request_id = %rid,
            "internal {} {}",
            req.method,
            req.raw_path
        );
        Ok(resp)
    }

    /// A typed call one service makes of another on behalf of `principal`: the input is
    /// encoded as a client would send it, routed and authorised like any request
    /// (`call_as`), and the answer decoded into the operation's output, or its error.
    pub async fn call<R: nuage_protocol::client::Request>(
        &self,
        principal: Principal,
        region: &str,
        input: R,
    ) -> AwsResult<R::Output> {
        self.call_via(principal, region, None, input).await
    }

    /// `call` made by the service `via` (`redshift-data.amazonaws.com`) with the caller's own
    /// identity: a forward access session, as the request's condition keys show.
    pub async fn call_via<R: nuage_protocol::client::Request>(
        &self,
        principal: Principal,
        region: &str,
        via: Option<&str>,
        input: R,
    ) -> AwsResult<R::Output> {
        let (mut out, stream) = self.call_request(principal, region, via, input).await?;
        // The caller wants the body whole: read it into the output's payload.
        if let Some(s) = stream {
            nuage_protocol::Shape::set_body(&mut out, s.read_all().await.map_err(AwsError::internal)?);
        }
        Ok(out)
    }

    /// `call`, with a body that streams from files (an object's) left unread: the caller
    /// reads it as it processes it, so its memory does not grow with the body.
    pub async fn call_streaming<R: nuage_protocol::client::Request>(
        &self,
        principal: Principal,
        region: &str,
        input: R,
    ) -> AwsResult<(R::Output, Option<nuage_protocol::Streamed>)> {
        self.call_request(principal, region, None, input).await
    }

    async fn call_request<R: nuage_protocol::client::Request>(
        &self,
        principal: Principal,
        region: &str,
        via: Option<&str>,
        input: R,
    ) -> AwsResult<(R::Output, Option<nuage_protocol::Streamed>)> {
        let c = nuage_protocol::client::encode(input);
        let req = ServiceRequest {
            method: c.method,
            raw_path: c.path,
            query: c.query,
            headers: c.headers,
            host: String::new(),
            body: c.body,
            spooled: None,
        };
        let mut resp = self.call_as(principal, R::SERVICE, region, via, req).await?;
        let stream = if resp.status < 300 { resp.stream.take() } else { None };
        if let Some(s) = resp.stream.take() {
            // An error's body is small; the decoder reads it.
            resp.body = s.read_all().await.map_err(AwsError::internal)?;
        }
        Ok((nuage_protocol::client::decode::<R>(resp)?, stream))
    }

    /// The principal behind a pair of keys (and session token, for temporary ones), checked
    /// as a signature check would: unknown, inactive, expired or mismatched keys are refused.
    pub fn principal_for_keys(&self, access_key: &str, secret: &str, token: Option<&str>) -> AwsResult<Principal> {
        let unknown = || {
            AwsError::new(
                "InvalidAccessKeyId",
                403,
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        };
        let c = self.identities.credential(access_key).ok_or_else(unknown)?;
        if !c.active || c.expires_at.is_some_and(|t| t <= now_secs()) {
            return Err(unknown());
        }
        if c.secret != secret {
            return Err(AwsError::new(
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature you provided.",
            ));
        }
        if c.session_token.is_some() && c.session_token.as_deref() != token {
            return Err(AwsError::new("InvalidToken", 400, "The provided token is malformed or otherwise invalid."));
        }
        Ok(c.principal)
    }

    async fn internal(&self, method: &str, path: &str) -> hyper::Response<ResponseBody> {
        let json = |status: u16, v: serde_json::Value| {
            hyper::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(full(Bytes::from(v.to_string())))
                .expect("valid response")
        };
        match (method, path) {
            ("GET", "/_nuage/health") => {
                let services: serde_json::Map<String, serde_json::Value> =
                    self.services.iter().map(|s| (s.signing_name().to_string(), "running".into())).collect();
                json(200, serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "services": services}))
            }
            ("GET", "/_nuage/status") => {
                let dir = self.data_dir.clone();
                let bytes = tokio::task::spawn_blocking(move || size_on_disk(&dir)).await.unwrap_or(0);
                let mut services = serde_json::Map::new();
                for s in &self.services {
                    let counts: serde_json::Map<String, serde_json::Value> =
                        s.status().into_iter().map(|(what, n)| (what.to_string(), n.into())).collect();
                    let entry = services.entry(s.signing_name()).or_insert_with(|| serde_json::json!({}));
                    if let Some(m) = entry.as_object_mut() {
                        m.extend(counts);
                    }
                }
                json(
                    200,
                    serde_json::json!({
                        "version": env!("CARGO_PKG_VERSION"),
                        "uptime_seconds": self.started.elapsed().as_secs(),
                        "data_dir": self.data_dir.display().to_string(),
                        "data_bytes": bytes,
                        "services": services,
                    }),
                )
            }
            ("POST", "/_nuage/reset") => match (self.reset)().await {
                Ok(()) => {
                    self.services.iter().for_each(|s| s.reset());
                    json(200, serde_json::json!({"reset": true}))
                }
                Err(e) => json(500, serde_json::json!({"error": e.to_string()})),
            },
            _ => json(404, serde_json::json!({"error": "unknown nuage endpoint"})),
        }
    }
}

/// The front door as services reach it for calls of their own (`Frontend::call_as`): set
/// once the front door is built, since the front door owns the services that hold this.
#[derive(Default)]
pub struct Internal(std::sync::OnceLock<std::sync::Weak<Frontend>>);

impl Internal {
    pub fn attach(&self, frontend: &Arc<Frontend>) {
        let _ = self.0.set(Arc::downgrade(frontend));
    }

    pub fn frontend(&self) -> AwsResult<Arc<Frontend>> {
        self.0.get().and_then(|w| w.upgrade()).ok_or_else(|| AwsError::internal("the front door is not running"))
    }
}

/// What remains to check of a spooled body, done off the request threads: its hash against
/// the signed one, or its aws-chunked framing decoded (chunk signatures checked) into a file
/// of its own.
async fn finish_payload(
    received: Option<spool::Received>,
    check: sigv4::PayloadCheck,
    headers: &[(String, String)],
) -> AwsResult<(Option<spool::Spooled>, Vec<(String, String)>)> {
    let Some(r) = received else { return Ok((None, Vec::new())) };
    match check {
        sigv4::PayloadCheck::None => Ok((Some(r.spooled), Vec::new())),
        sigv4::PayloadCheck::Sha256(declared) => {
            sigv4::check_sha256(&declared, &r.sha256)?;
            Ok((Some(r.spooled), Vec::new()))
        }
        sigv4::PayloadCheck::Chunked(signer) => {
            let declared = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-decoded-content-length"))
                .map(|(_, v)| v.trim().parse::<u64>().ok());
            let (decoded, trailers) = spool::decode_chunked(r.spooled, signer, declared).await?;
            Ok((Some(decoded), trailers))
        }
    }
}

/// With verification off the access key still names the principal, so ownership works.
fn unverified_identity(
    ids: &Identities,
    headers: &[(String, String)],
    raw_query: &str,
    body: Bytes,
    spooled: bool,
) -> Option<sigv4::Verified> {
    let scope = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, v)| v.split("Credential=").nth(1).map(|s| s.split([',', ' ']).next().unwrap_or("").to_string()))
        .or_else(|| sigv4::parse_query(raw_query).into_iter().find(|(k, _)| k == "X-Amz-Credential").map(|(_, v)| v))?;
    let mut parts = scope.split('/');
    let ak = parts.next()?;
    let region = parts.nth(1).unwrap_or(nuage_core::DEFAULT_REGION).to_string();
    let credential = ids.credential(ak)?;
    // An aws-chunked body is still unframed, without its signatures checked.
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("x-amz-content-sha256") && v.starts_with("STREAMING-"));
    let (body, trailers, check) = match chunked {
        true if spooled => (body, Vec::new(), sigv4::PayloadCheck::Chunked(None)),
        true => {
            let mut out = Vec::with_capacity(body.len());
            let trailers = sigv4::decode_chunked(&mut &body[..], &mut out, None, None).ok()?;
            (Bytes::from(out), trailers, sigv4::PayloadCheck::None)
        }
        false => (body, Vec::new(), sigv4::PayloadCheck::None),
    };
    Some(sigv4::Verified {
        access_key: ak.to_string(),
        credential,
        region,
        service: String::new(),
        presigned: false,
        body,
        check,
        trailers,
    })
}

/// The most a request body may hold: S3's largest single PUT or part (5 GiB), and for the
/// API services a bound well above any of their documented request quotas.
#[derive(Clone, Copy)]
enum BodyLimit {
    S3Object,
    Api,
}

const S3_MAX_OBJECT: u64 = 5 * 1024 * 1024 * 1024;
const API_MAX_BODY: u64 = 16 * 1024 * 1024;

impl BodyLimit {
    fn decoded_bytes(self) -> u64 {
        match self {
            BodyLimit::S3Object => S3_MAX_OBJECT,
            BodyLimit::Api => API_MAX_BODY,
        }
    }

    /// What may arrive on the wire: aws-chunked framing adds a few per cent to an object.
    fn wire_bytes(self) -> usize {
        let n = self.decoded_bytes();
        usize::try_from(n + n / 32 + 64 * 1024).unwrap_or(usize::MAX)
    }

    fn error(self, proposed: Option<u64>) -> AwsError {
        match self {
            BodyLimit::S3Object => {
                let e = AwsError::new("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size");
                let e = match proposed {
                    Some(p) => e.with("ProposedSize", p.to_string()),
                    None => e,
                };
                e.with("MaxSizeAllowed", S3_MAX_OBJECT.to_string())
            }
            BodyLimit::Api => AwsError::new(
                "RequestEntityTooLarge",
                413,
                format!("Request must be smaller than {API_MAX_BODY} bytes."),
            ),
        }
    }
}

fn body_limit(service: &str) -> BodyLimit {
    if service == "s3" {
        BodyLimit::S3Object
    } else {
        BodyLimit::Api
    }
}

/// Refuses, before reading a byte of it, a body whose announced size is over the limit.
fn check_announced_size(headers: &[(String, String)], limit: BodyLimit) -> AwsResult<()> {
    let size = |n: &str| {
        headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).and_then(|(_, v)| v.trim().parse::<u64>().ok())
    };
    if let Some(decoded) = size("x-amz-decoded-content-length").filter(|&d| d > limit.decoded_bytes()) {
        return Err(limit.error(Some(decoded)));
    }
    match size("content-length") {
        Some(n) if n as u128 > limit.wire_bytes() as u128 => Err(limit.error(Some(n))),
        Some(n) if n > limit.decoded_bytes() && size("x-amz-decoded-content-length").is_none() => {
            Err(limit.error(Some(n)))
        }
        _ => Ok(()),
    }
}

/// The protocol a client speaks, read from its request alone, for errors raised before any
/// service is known: JSON clients name their target or JSON content type, query clients send
/// a form, REST-XML clients neither.
fn client_protocol(headers: &[(String, String)]) -> Protocol {
    let get = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.to_ascii_lowercase());
    let content_type = get("content-type").unwrap_or_default();
    if get("x-amz-target").is_some() || content_type.starts_with("application/x-amz-json") {
        Protocol::Json
    } else if content_type.starts_with("application/json") || get("smithy-protocol").is_some() {
        Protocol::RestJson
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        Protocol::Query
    } else {
        Protocol::RestXml
    }
}

fn finish(resp: HttpResponse, rid: &str, s3: bool) -> hyper::Response<ResponseBody> {
    let mut b = hyper::Response::builder().status(resp.status);
    let mut has_len = false;
    for (k, v) in &resp.headers {
        if k.eq_ignore_ascii_case("content-length") {
            has_len = true;
        }
        if let (Ok(name), Ok(val)) = (http::HeaderName::try_from(k.as_str()), http::HeaderValue::try_from(v.as_str())) {
            b = b.header(name, val);
        }
    }
    // A produced body's length is unknown: hyper sends it chunked.
    if !has_len && resp.stream.as_ref().is_none_or(|s| s.sized()) {
        b = b.header("content-length", resp.stream.as_ref().map(|s| s.len()).unwrap_or(resp.body.len() as u64));
    }
    b = b.header("x-amz-request-id", rid).header("date", httpdate_now());
    if s3 {
        b = b.header("x-amz-id-2", rid).header("server", "AmazonS3");
    } else {
        b = b.header("x-amzn-requestid", rid);
    }
    let body = match resp.stream {
        Some(s) => streamed(s),
        None => full(resp.body),
    };
    b.body(body).unwrap_or_else(|_| hyper::Response::new(full(Bytes::new())))
}

fn httpdate_now() -> String {
    nuage_protocol::time_fmt::http_date(nuage_protocol::Timestamp::now())
}

/// Serves `frontend` on `listener` until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    frontend: Arc<Frontend>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => { tracing::warn!(error = %e, "accept failed"); continue; }
                };
                let _ = stream.set_nodelay(true);
                let fe = frontend.clone();
                let svc = service_fn(move |req| {
                    let fe = fe.clone();
                    async move {
                        // A handler that panics costs its request a 500, never the server or the
                        // connection. Caught in place: a task per request would cost a thread hop.
                        let handled = std::panic::AssertUnwindSafe(async move { fe.handle(req, remote).await });
                        let resp = match futures_util::FutureExt::catch_unwind(handled).await {
                            Ok(r) => r,
                            Err(_) => {
                                tracing::error!("request handler panicked");
                                let err = AwsError::internal("handler failure");
                                finish(render_error(Protocol::RestXml, &err, &request_id(), false), "-", false)
                            }
                        };
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(10)) => tracing::warn!("open connections cut at shutdown"),
    }
    Ok(())
}
