//! Services built on their model's generated `Operation` enum. The front door owns the prologue
//! once for all of them: naming the operation, refusing unknown ones, decoding the typed input
//! with the protocol's codec, and rendering the typed output. A service only writes its table:
//! one row per operation, an exhaustive `match`, so an operation the model adds and the table
//! forgets does not compile, and authorisation is computed from the same typed input the
//! handler runs on.
use crate::{query_params, Authorization, BoxFuture, Routed, Service, ServiceRequest};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::common::Common;
use nuage_protocol::json::JsonDecoder;
use nuage_protocol::query::{QueryDecoder, QueryParams};
use nuage_protocol::{cbor, json, query, HttpResponse, Model, Operation, Protocol, Shape};
use std::future::Future;

/// What a service's table says of one operation.
pub enum Row<'a> {
    /// Authorised with these facts, then answered by the handler.
    Served(Authorization, BoxFuture<'a, AwsResult<Box<dyn Output>>>),
    /// An operation of the model nuage does not serve: answered with the error the protocol
    /// gives for an operation the service does not have.
    NotServed,
}

impl<'a> Row<'a> {
    /// An operation needing `action` on `resource`, answered by `handler`'s typed output.
    pub fn serve<O: Output + 'static>(
        action: &'static str,
        resource: impl Into<String>,
        handler: impl Future<Output = AwsResult<O>> + Send + 'a,
    ) -> Row<'a> {
        let authorization = Authorization { action, resource: resource.into(), ..Default::default() };
        Row::authorized(authorization, handler)
    }

    /// An operation whose authorisation needs more than an action and a resource (condition
    /// keys, further permissions).
    pub fn authorized<O: Output + 'static>(
        authorization: Authorization,
        handler: impl Future<Output = AwsResult<O>> + Send + 'a,
    ) -> Row<'a> {
        Row::Served(authorization, Box::pin(async move { handler.await.map(|o| Box::new(o) as Box<dyn Output>) }))
    }
}

/// A handler's answer, rendered by the front door in the service's protocol.
pub trait Output: Send {
    fn render(self: Box<Self>, model: &Model, protocol: Protocol, operation: &str, request_id: &str) -> HttpResponse;
}

impl<T: Shape + serde::Serialize + Send> Output for T {
    fn render(self: Box<Self>, model: &Model, protocol: Protocol, operation: &str, request_id: &str) -> HttpResponse {
        match protocol {
            Protocol::Json => json::render_response(model, &*self),
            Protocol::Cbor => cbor::render(model, Some(T::NAME), json::output_wire(model, &*self)),
            _ => query::render_response(model, operation, Some(*self), request_id),
        }
    }
}

/// The answer of an operation whose model declares no output.
pub struct NoOutput;

impl Output for NoOutput {
    fn render(self: Box<Self>, model: &Model, protocol: Protocol, operation: &str, request_id: &str) -> HttpResponse {
        match protocol {
            Protocol::Json => json::render_value(model, None, &serde_json::Value::Null),
            Protocol::Cbor => cbor::render(model, None, serde_json::Value::Null),
            _ => query::render_value(model, operation, None, request_id),
        }
    }
}

/// A service whose operations are its model's `Operation` enum.
pub trait TypedService: Send + Sync + 'static {
    type Operation: Operation;
    /// The SigV4 signing name.
    fn signing_name(&self) -> &'static str;
    /// `Query`, `Ec2` or `Json`: the protocols whose operation is named in the request itself.
    fn protocol(&self) -> Protocol;
    fn model(&self) -> &'static Model;
    /// The error code with which the service refuses input that breaks the model's
    /// constraints (required members, enum values, lengths, ranges), before any handler runs;
    /// `None` for services whose own checks answer with their own codes (Redshift's
    /// MissingParameter, EC2's).
    fn validation_error(&self) -> Option<&'static str> {
        None
    }
    /// The service's table: the row of `op`.
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: Self::Operation) -> Row<'a>;
    fn reset(&self) {}
    /// What the service holds, for `nuage status`: (what, how many).
    fn status(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}

/// A `TypedService` behind the front door.
pub struct Typed<S>(pub S);

/// The protocol a request to a service speaks: the service's own, or for services that answer
/// several (CloudWatch: RPC v2 CBOR, JSON and query) the one its headers announce.
fn wire_protocol(model: &Model, default: Protocol, headers: &[(String, String)]) -> Protocol {
    let offers = |p: &str| model.metadata.protocols.iter().any(|x| x == p);
    let header = |n: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(n)).map(|(_, v)| v.as_str());
    if offers("smithy-rpc-v2-cbor") && header(cbor::PROTOCOL_HEADER) == Some(cbor::PROTOCOL) {
        Protocol::Cbor
    } else if offers("json") && header("x-amz-target").is_some() {
        Protocol::Json
    } else {
        default
    }
}

impl<S: TypedService> Typed<S> {
    fn protocol_of(&self, req: &ServiceRequest) -> Protocol {
        wire_protocol(self.0.model(), self.0.protocol(), &req.headers)
    }

    fn unknown(&self, name: &str, served_elsewhere: bool, protocol: Protocol) -> AwsError {
        let model = self.0.model();
        let why = if served_elsewhere { "nuage does not serve it yet" } else { "no such operation" };
        match protocol {
            Protocol::Json | Protocol::Cbor => {
                Common::UnknownOperationException.msg(format!("Unknown operation {name} ({why})"))
            }
            Protocol::Ec2 => {
                Common::InvalidAction.msg(format!("The action {name} is not valid for this web service ({why})."))
            }
            _ => Common::InvalidAction
                .msg(format!("Could not find operation {name} for version {} ({why})", model.metadata.api_version)),
        }
    }

    /// The operation a request names, with its typed input and the model constraints it
    /// breaks (noted only for services that enforce them here).
    fn decode(&self, req: &ServiceRequest) -> AwsResult<(S::Operation, Vec<String>)> {
        let model = self.0.model();
        let noted = || self.0.validation_error().map(|_| std::cell::RefCell::new(Vec::new()));
        let protocol = self.protocol_of(req);
        let (decoded, violations) = match protocol {
            Protocol::Cbor => {
                let name = cbor::operation_from_path(model, &req.raw_path).unwrap_or(&req.raw_path);
                let body = cbor::body_as_json(&req.body)?;
                let d = JsonDecoder { model, body: &body, violations: noted() };
                let decoded = S::Operation::decode(name, &d).ok_or_else(|| name.to_string());
                (decoded, d.violations)
            }
            Protocol::Json => {
                let target = req.header("x-amz-target").unwrap_or_default();
                let name = json::operation_from_target(model, target).unwrap_or(target);
                let d = JsonDecoder { model, body: &req.body, violations: noted() };
                (S::Operation::decode(name, &d).ok_or_else(|| name.to_string()), d.violations)
            }
            _ => {
                let params = query_params(req);
                let name = crate::param(&params, "Action").unwrap_or_default().to_string();
                let d = QueryDecoder { model, params: QueryParams { params: &params }, violations: noted() };
                (S::Operation::decode(&name, &d).ok_or(name), d.violations)
            }
        };
        let op = decoded.map_err(|name| self.unknown(&name, false, protocol))??;
        Ok((op, violations.map(|v| v.into_inner()).unwrap_or_default()))
    }
}

impl<S: TypedService> Service for Typed<S> {
    fn signing_name(&self) -> &'static str {
        self.0.signing_name()
    }

    fn protocol(&self) -> Protocol {
        self.0.protocol()
    }

    fn protocol_for(&self, headers: &[(String, String)]) -> Protocol {
        wire_protocol(self.0.model(), self.0.protocol(), headers)
    }

    fn reset(&self) {
        self.0.reset()
    }

    fn status(&self) -> Vec<(&'static str, u64)> {
        self.0.status()
    }

    fn target_prefix(&self) -> Option<&'static str> {
        match self.0.protocol() {
            Protocol::Json => self.0.model().metadata.target_prefix.as_deref(),
            _ => None,
        }
    }

    fn route<'a>(&'a self, ctx: &'a RequestContext, req: &'a ServiceRequest) -> AwsResult<Routed<'a>> {
        let (op, violations) = self.decode(req)?;
        let name = op.name();
        match self.0.row(ctx, op) {
            Row::NotServed => Err(self.unknown(name, true, self.protocol_of(req))),
            // An operation served, with input its model forbids: refused before anything runs.
            Row::Served(..) if !violations.is_empty() => Err(AwsError::new(
                self.0.validation_error().unwrap_or("ValidationException"),
                400,
                nuage_protocol::validate::message(&violations),
            )),
            Row::Served(mut authorization, handler) => {
                authorization.operation = name;
                for also in &mut authorization.also {
                    also.operation = name;
                }
                let (protocol, model) = (self.protocol_of(req), self.0.model());
                let run = Box::pin(async move {
                    let out = handler.await?;
                    Ok(out.render(model, protocol, name, &ctx.request_id))
                });
                Ok(Routed { authorization, run })
            }
        }
    }

    fn access_denied(&self, ctx: &RequestContext, a: &Authorization, e: &nuage_policy::Evaluation) -> AwsError {
        let code = match self.0.protocol() {
            Protocol::Json => "AccessDeniedException",
            Protocol::Ec2 => "UnauthorizedOperation",
            _ => "AccessDenied",
        };
        crate::authz::default_access_denied(code, ctx, a, e)
    }
}
