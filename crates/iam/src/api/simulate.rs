//! SimulatePrincipalPolicy and SimulateCustomPolicy: the front door's evaluator, asked directly.
use crate::api::{caller_account, required};
use crate::{ci, invalid_input, malformed_policy, no_such_entity, Iam};
use nuage_core::{AwsResult, RequestContext};
use nuage_front::PolicyStore;
use nuage_policy::{
    evaluate, Caller, CallerKind, Context, Decision, Policy, PolicyKind, PolicySet, PolicyType, Request, Source,
};
use nuage_protocol::iam as m;
use std::sync::Arc;

/// A named policy and how the simulator reports its type.
struct Named {
    id: String,
    kind: &'static str,
    policy: Arc<Policy>,
}

fn inputs(docs: &Option<Vec<String>>) -> AwsResult<Vec<Named>> {
    docs.iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| {
            Ok(Named {
                id: format!("PolicyInputList.{}", i + 1),
                kind: "IAM Policy",
                policy: Arc::new(Policy::parse(d, PolicyKind::Identity).map_err(malformed_policy)?),
            })
        })
        .collect()
}

/// `PermissionsBoundaryPolicyInputList`: IAM takes one boundary.
fn boundary_input(docs: &Option<Vec<String>>) -> AwsResult<Option<Arc<Policy>>> {
    match docs.as_deref().and_then(|d| d.first()) {
        Some(d) => Ok(Some(Arc::new(Policy::parse(d, PolicyKind::Identity).map_err(malformed_policy)?))),
        None => Ok(None),
    }
}

fn context(entries: &Option<Vec<m::ContextEntry>>) -> Context {
    let mut c = Context::default();
    for e in entries.iter().flatten() {
        if let Some(k) = &e.context_key_name {
            c.set_all(k, e.context_key_values.clone().unwrap_or_default());
        }
    }
    c
}

/// Who the simulation asks about: from `CallerArn` (or the simulated principal), its kind and
/// account, so that a caller of another account is simulated across accounts.
fn caller_of<'a>(arn: &'a str, account: &'a str, role_arn: &'a Option<String>) -> Caller<'a> {
    let acct = arn.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(account);
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    let kind = if resource == "root" {
        CallerKind::Root
    } else if resource.starts_with("assumed-role/") {
        CallerKind::AssumedRole
    } else {
        CallerKind::User
    };
    Caller { kind, arn, account: acct, role_arn: role_arn.as_deref(), canonical_id: None }
}

/// The role of an assumed-role session ARN.
fn role_of(arn: &str) -> Option<String> {
    let (head, rest) = arn.split_once(":assumed-role/")?;
    let account = head.rsplit(':').next()?;
    let role = rest.split('/').next()?;
    Some(format!("arn:aws:iam::{account}:role/{role}"))
}

/// The account named by `ResourceOwner` (an account ARN or id).
fn owner_account(owner: &Option<String>) -> Option<String> {
    let o = owner.as_deref()?;
    Some(o.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(o).to_string())
}

#[allow(clippy::too_many_arguments)]
fn run(
    identity: &[Named],
    boundary: Option<&Policy>,
    resource_policy: Option<&Policy>,
    caller_arn: &str,
    account: &str,
    resource_owner: Option<&str>,
    actions: &[String],
    resources: &[String],
    ctx: &Context,
) -> Vec<m::EvaluationResult> {
    let mut out = Vec::new();
    let set = PolicySet {
        identity: identity.iter().map(|n| Source { name: &n.id, policy: &n.policy }).collect(),
        resource: resource_policy.map(|p| Source { name: "ResourcePolicy", policy: p }),
        boundary: boundary.map(|p| Source { name: "PermissionsBoundaryPolicyInputList.1", policy: p }),
        ..Default::default()
    };
    let role_arn = role_of(caller_arn);
    for action in actions {
        for resource in resources {
            let caller = caller_of(caller_arn, account, &role_arn);
            let req = Request { caller, action, resource, resource_account: resource_owner, context: ctx };
            let e = evaluate(&req, &set);
            // Whether the boundary alone allows the action, as AWS reports it beside the decision.
            let boundary_detail = boundary.map(|b| {
                let alone = PolicySet { identity: vec![Source { name: "boundary", policy: b }], ..Default::default() };
                let caller = caller_of(caller_arn, account, &role_arn);
                let req = Request { caller, action, resource, resource_account: None, context: ctx };
                m::PermissionsBoundaryDecisionDetail {
                    allowed_by_permissions_boundary: Some(evaluate(&req, &alone).allowed()),
                }
            });
            let decision = match e.decision {
                Decision::Allow => "allowed",
                Decision::ExplicitDeny => "explicitDeny",
                Decision::ImplicitDeny => "implicitDeny",
            };
            let wanted = if e.decision == Decision::ExplicitDeny {
                nuage_policy::Effect::Deny
            } else {
                nuage_policy::Effect::Allow
            };
            let matched = e
                .matched
                .iter()
                .filter(|s| s.effect == wanted && s.policy_type != PolicyType::Boundary)
                .map(|s| m::Statement {
                    source_policy_id: Some(s.policy.clone()),
                    source_policy_type: Some(match s.policy_type {
                        PolicyType::Resource => "resource".to_string(),
                        _ => identity
                            .iter()
                            .find(|n| n.id == s.policy)
                            .map(|n| n.kind)
                            .unwrap_or("IAM Policy")
                            .to_string(),
                    }),
                    start_position: None,
                    end_position: None,
                })
                .collect();
            out.push(m::EvaluationResult {
                eval_action_name: Some(action.clone()),
                eval_resource_name: Some(resource.clone()),
                eval_decision: Some(decision.into()),
                matched_statements: Some(matched),
                missing_context_values: Some(Vec::new()),
                permissions_boundary_decision_detail: boundary_detail,
                ..Default::default()
            });
        }
    }
    out
}

/// What both simulations are asked, beyond the identity policies.
struct Question<'a> {
    boundary: Option<Arc<Policy>>,
    resource_owner: &'a Option<String>,
    resource_policy: &'a Option<String>,
    actions: &'a Option<Vec<String>>,
    resources: &'a Option<Vec<String>>,
    context: &'a Option<Vec<m::ContextEntry>>,
}

fn respond(identity: &[Named], q: Question, caller: &str, account: &str) -> AwsResult<m::SimulatePolicyResponse> {
    let resource_policy = match q.resource_policy {
        Some(d) => Some(Policy::parse(d, PolicyKind::Resource).map_err(malformed_policy)?),
        None => None,
    };
    let boundary = q.boundary;
    let owner = owner_account(q.resource_owner);
    let actions = q.actions.clone().unwrap_or_default();
    let results = run(
        identity,
        boundary.as_deref(),
        resource_policy.as_ref(),
        caller,
        account,
        owner.as_deref(),
        &actions,
        &resources(q.resources),
        &context(q.context),
    );
    Ok(m::SimulatePolicyResponse { evaluation_results: Some(results), is_truncated: Some(false), marker: None })
}

fn resources(r: &Option<Vec<String>>) -> Vec<String> {
    match r {
        Some(v) if !v.is_empty() => v.clone(),
        _ => vec!["*".to_string()],
    }
}

pub(crate) async fn custom(
    _iam: &Iam,
    ctx: &RequestContext,
    input: m::SimulateCustomPolicyRequest,
) -> AwsResult<m::SimulatePolicyResponse> {
    let account = caller_account(ctx)?;
    let identity = inputs(&input.policy_input_list)?;
    let caller = input.caller_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account}:user/simulated"));
    let question = Question {
        boundary: boundary_input(&input.permissions_boundary_policy_input_list)?,
        resource_owner: &input.resource_owner,
        resource_policy: &input.resource_policy,
        actions: &input.action_names,
        resources: &input.resource_arns,
        context: &input.context_entries,
    };
    respond(&identity, question, &caller, account)
}

pub(crate) async fn principal(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::SimulatePrincipalPolicyRequest,
) -> AwsResult<m::SimulatePolicyResponse> {
    let account = caller_account(ctx)?;
    let source = required(&input.policy_source_arn, "PolicySourceArn")?;
    let st = iam.account(account);
    let mut identity = inputs(&input.policy_input_list)?;
    let (kind, name) = source
        .strip_prefix(&format!("arn:aws:iam::{account}:"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(k, n)| (k, n.rsplit('/').next().unwrap_or(n)))
        .ok_or_else(|| invalid_input(format!("Invalid ARN: {source}")))?;
    let acct = iam.identities.account(account).ok_or_else(|| invalid_input(format!("Invalid ARN: {source}")))?;
    let pp = match kind {
        "user" => {
            // IAM names are found regardless of case (and kept as written).
            let user = st
                .users
                .get(&ci(name))
                .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found.")))?;
            iam.principal_policies(&crate::user_principal(&acct, user))
        }
        "role" | "group" => {
            let (attached, inline, boundary) = match kind {
                "role" => st.roles.get(&ci(name)).map(|r| (r.attached.clone(), r.inline.clone(), r.boundary.clone())),
                _ => st.groups.get(&ci(name)).map(|g| (g.attached.clone(), g.inline.clone(), None)),
            }
            .ok_or_else(|| no_such_entity(format!("The {kind} with name {name} cannot be found.")))?;
            let mut pp = nuage_front::PrincipalPolicies {
                boundary: boundary.and_then(|b| Some((b.clone(), iam.managed(&st, &b)?))),
                ..Default::default()
            };
            for arn in attached {
                if let Some(p) = iam.managed(&st, &arn) {
                    pp.identity.push((arn, p));
                }
            }
            for (n, i) in inline {
                if let Some(p) = i.parsed {
                    pp.identity.push((n, p));
                }
            }
            pp
        }
        _ => return Err(invalid_input(format!("Invalid ARN: {source}"))),
    };
    let own_boundary = pp.boundary.map(|(_, p)| p);
    for (id, policy) in pp.identity {
        let kind = if id.starts_with("arn:aws:iam::aws:") {
            "aws-managed"
        } else if id.starts_with("arn:") {
            "user-managed"
        } else {
            match kind {
                "role" => "role",
                "group" => "group",
                _ => "user",
            }
        };
        identity.push(Named { id: id.rsplit('/').next().unwrap_or(&id).to_string(), kind, policy });
    }
    let caller = input.caller_arn.clone().unwrap_or_else(|| source.to_string());
    // The principal's own boundary, unless the request supplies one to try instead.
    let boundary = boundary_input(&input.permissions_boundary_policy_input_list)?.or(own_boundary);
    let question = Question {
        boundary,
        resource_owner: &input.resource_owner,
        resource_policy: &input.resource_policy,
        actions: &input.action_names,
        resources: &input.resource_arns,
        context: &input.context_entries,
    };
    respond(&identity, question, &caller, account)
}
