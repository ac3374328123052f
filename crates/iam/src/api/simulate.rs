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

fn context(entries: &Option<Vec<m::ContextEntry>>) -> Context {
    let mut c = Context::default();
    for e in entries.iter().flatten() {
        if let Some(k) = &e.context_key_name {
            c.set_all(k, e.context_key_values.clone().unwrap_or_default());
        }
    }
    c
}

fn run(
    identity: &[Named],
    resource_policy: Option<&Policy>,
    caller_arn: &str,
    account: &str,
    actions: &[String],
    resources: &[String],
    ctx: &Context,
) -> Vec<m::EvaluationResult> {
    let mut out = Vec::new();
    let set = PolicySet {
        identity: identity.iter().map(|n| Source { name: &n.id, policy: &n.policy }).collect(),
        resource: resource_policy.map(|p| Source { name: "ResourcePolicy", policy: p }),
        ..Default::default()
    };
    for action in actions {
        for resource in resources {
            let caller =
                Caller { kind: CallerKind::User, arn: caller_arn, account, role_arn: None, canonical_id: None };
            let req = Request { caller, action, resource, resource_account: None, context: ctx };
            let e = evaluate(&req, &set);
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
                .filter(|s| s.effect == wanted)
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
                ..Default::default()
            });
        }
    }
    out
}

/// What both simulations are asked, beyond the policies.
struct Question<'a> {
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
    let actions = q.actions.clone().unwrap_or_default();
    let results = run(
        identity,
        resource_policy.as_ref(),
        caller,
        account,
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
            let (attached, inline) = match kind {
                "role" => st.roles.get(&ci(name)).map(|r| (r.attached.clone(), r.inline.clone())),
                _ => st.groups.get(&ci(name)).map(|g| (g.attached.clone(), g.inline.clone())),
            }
            .ok_or_else(|| no_such_entity(format!("The {kind} with name {name} cannot be found.")))?;
            let mut pp = nuage_front::PrincipalPolicies::default();
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
    let question = Question {
        resource_policy: &input.resource_policy,
        actions: &input.action_names,
        resources: &input.resource_arns,
        context: &input.context_entries,
    };
    respond(&identity, question, &caller, account)
}
