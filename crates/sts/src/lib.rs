//! AWS STS on the query protocol. Today: GetCallerIdentity; AssumeRole and session tokens
//! arrive with IAM.

use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Authorization, Routed, Service, ServiceRequest};
use nuage_protocol::query::{self, QueryParams};
use nuage_protocol::{sts as m, HttpResponse, Protocol};

pub struct StsService;

/// The operations STS serves, each with its IAM action.
const OPERATIONS: &[(&str, &str)] = &[("GetCallerIdentity", "sts:GetCallerIdentity")];

/// Query parameters come from the form body (POST) and the URL.
fn params(req: &ServiceRequest) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = form_urlencoded::parse(&req.body).into_owned().collect();
    p.extend(req.query.iter().cloned());
    p
}

fn get_caller_identity(
    ctx: &RequestContext,
    _input: m::GetCallerIdentityRequest,
) -> AwsResult<m::GetCallerIdentityResponse> {
    let p = ctx
        .principal
        .as_ref()
        .ok_or_else(|| AwsError::new("MissingAuthenticationToken", 403, "Request is missing Authentication Token"))?;
    Ok(m::GetCallerIdentityResponse {
        user_id: Some(p.user_id.clone()),
        account: Some(p.account_id.clone()),
        arn: Some(p.arn.clone()),
    })
}

impl Service for StsService {
    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn route<'a>(&'a self, ctx: &'a RequestContext, req: &'a ServiceRequest) -> AwsResult<Routed<'a>> {
        let params = params(req);
        let action = QueryParams { params: &params }.action().unwrap_or_default().to_string();
        let (name, iam_action) = OPERATIONS.iter().find(|(n, _)| *n == action).copied().ok_or_else(|| {
            AwsError::new("InvalidAction", 400, format!("Could not find operation {action} for version 2011-06-15"))
        })?;
        let authorization = Authorization {
            operation: name,
            action: iam_action,
            resource: "*".into(),
            // GetCallerIdentity needs no permission: anyone signed may ask who they are.
            owner_account: None,
            granted_by_resource: true,
        };
        let run = Box::pin(async move {
            let q = QueryParams { params: &params };
            let model = m::model();
            let out: HttpResponse = match name {
                "GetCallerIdentity" => {
                    let out = get_caller_identity(ctx, query::parse_request(model, &q)?)?;
                    query::render_response(model, name, Some(out), &ctx.request_id)
                }
                other => return Err(AwsError::new("InvalidAction", 400, format!("Could not find operation {other}"))),
            };
            Ok(out)
        });
        Ok(Routed { authorization, run })
    }
}
