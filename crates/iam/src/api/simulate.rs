//! The policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) and the context keys
//! it needs (GetContextKeysFor*Policy): the front door's evaluator, asked directly.
use crate::api::{caller_account, required};
use crate::state::{AccountState, Inline};
use crate::{ci, invalid_input, malformed_policy, no_such_entity, Iam};
use nuage_core::{AwsResult, RequestContext};
use nuage_policy::keys::{context_keys, context_keys_for};
use nuage_policy::matching::glob;
use nuage_policy::{
    evaluate, Caller, CallerKind, Context, Decision, Effect, Evaluation, Matched, Policy, PolicyKind, PolicySet,
    PolicyType, Request, Source,
};
use nuage_protocol::iam as m;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A policy in a simulation: how it is reported, and what a PolicyExclusionList entry may
/// name it by.
pub(super) struct Named {
    pub(super) id: String,
    pub(super) kind: &'static str,
    pub(super) policy: Arc<Policy>,
    /// A managed policy's ARN.
    pub(super) arn: Option<String>,
    /// An inline policy's entity: (`user` | `group` | `role`, its name).
    pub(super) inline_of: Option<(&'static str, String)>,
}

fn parse_all(docs: &Option<Vec<String>>, prefix: &str, kind: PolicyKind) -> AwsResult<Vec<Named>> {
    docs.iter()
        .flatten()
        .enumerate()
        .map(|(i, d)| {
            Ok(Named {
                id: format!("{prefix}.{}", i + 1),
                kind: "IAM Policy",
                policy: Arc::new(Policy::parse(d, kind).map_err(malformed_policy)?),
                arn: None,
                inline_of: None,
            })
        })
        .collect()
}

/// `PermissionsBoundaryPolicyInputList`: IAM takes one boundary.
fn boundary_input(docs: &Option<Vec<String>>) -> AwsResult<Option<Arc<Policy>>> {
    if docs.as_ref().is_some_and(|d| d.len() > 1) {
        return Err(invalid_input("PermissionsBoundaryPolicyInputList takes at most one policy."));
    }
    Ok(parse_all(docs, "PermissionsBoundaryPolicyInputList", PolicyKind::Identity)?.pop().map(|n| n.policy))
}

/// The context entries, each value checked against the type it is declared with.
fn context(entries: &Option<Vec<m::ContextEntry>>) -> AwsResult<Context> {
    use base64::Engine as _;
    let mut c = Context::default();
    for e in entries.iter().flatten() {
        let Some(k) = &e.context_key_name else { continue };
        let values = e.context_key_values.clone().unwrap_or_default();
        let kind = e.context_key_type.as_deref().unwrap_or("string");
        let base = kind.strip_suffix("List").unwrap_or(kind);
        if base == kind && values.len() > 1 {
            return Err(invalid_input(format!("Context key {k} is of type {kind} and takes a single value.")));
        }
        for v in &values {
            let ok = match base {
                "numeric" => v.trim().parse::<f64>().is_ok(),
                "boolean" => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
                "ip" => nuage_policy::condition::is_ip_or_cidr(v),
                "date" => nuage_policy::condition::parse_date(v).is_some(),
                "binary" => base64::engine::general_purpose::STANDARD.decode(v).is_ok(),
                _ => true,
            };
            if !ok {
                return Err(invalid_input(format!("Invalid value {v} for context key {k} of type {kind}.")));
            }
        }
        c.set_all(k, values);
    }
    Ok(c)
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

/// Everything one simulation weighs besides the identity policies.
struct Question {
    boundary: Option<Arc<Policy>>,
    /// Service control policies by level of the organization, from its root down to the
    /// account: some policy of every level must allow.
    scps: Vec<Vec<Named>>,
    resource_policy: Option<Policy>,
    resource_owner: Option<String>,
    actions: Vec<String>,
    /// `None` for all resources (`*`).
    resources: Option<Vec<String>>,
    context: Context,
    caller: String,
    account: String,
}

/// The actions a role's trust policy decides.
fn trust_action(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    a.starts_with("sts:assumerole") || a == "sts:tagsession" || a == "sts:setsourceidentity"
}

/// One action on one resource, simulated.
struct Outcome {
    resource: String,
    decision: Decision,
    matched: Vec<m::Statement>,
    missing: Vec<String>,
    boundary_allows: Option<bool>,
    organizations_allow: Option<bool>,
}

fn decision_name(d: Decision) -> String {
    match d {
        Decision::Allow => "allowed",
        Decision::ExplicitDeny => "explicitDeny",
        Decision::ImplicitDeny => "implicitDeny",
    }
    .to_string()
}

/// How restrictive a decision is: the aggregate over resources is the most restrictive one.
fn severity(d: Decision) -> u8 {
    match d {
        Decision::Allow => 0,
        Decision::ImplicitDeny => 1,
        Decision::ExplicitDeny => 2,
    }
}

impl Question {
    fn simulate(&self, identity: &[Named], action: &str, resource: &str) -> Outcome {
        let role_arn = role_of(&self.caller);
        let caller = caller_of(&self.caller, &self.account, &role_arn);
        let set = PolicySet {
            identity: identity.iter().map(|n| Source { name: &n.id, policy: &n.policy }).collect(),
            resource: self.resource_policy.as_ref().map(|p| Source { name: "ResourcePolicy", policy: p }),
            boundary: self
                .boundary
                .as_deref()
                .map(|p| Source { name: "PermissionsBoundaryPolicyInputList.1", policy: p }),
            // A role's trust policy must allow even within its account.
            resource_required: self.resource_policy.is_some() && trust_action(action),
            ..Default::default()
        };
        let req = Request {
            caller,
            action,
            resource,
            resource_account: self.resource_owner.as_deref(),
            context: &self.context,
        };
        let mut e = evaluate(&req, &set);
        // A policy alone, judged as an identity policy (a boundary's or an SCP's own verdict).
        let alone = |p: &Policy, name: &str| {
            let set = PolicySet { identity: vec![Source { name, policy: p }], ..Default::default() };
            evaluate(&Request { resource_account: None, ..req }, &set)
        };
        let boundary_allows = self.boundary.as_deref().map(|b| alone(b, "boundary").allowed());
        // Service control policies cap everyone but the services: a Deny in one denies, and
        // each must allow.
        let mut organizations_allow = None;
        if !self.scps.is_empty() {
            let verdicts: Vec<Evaluation> = self
                .scps
                .iter()
                .map(|level| {
                    let set = PolicySet {
                        identity: level.iter().map(|n| Source { name: &n.id, policy: &n.policy }).collect(),
                        ..Default::default()
                    };
                    evaluate(&Request { resource_account: None, ..req }, &set)
                })
                .collect();
            organizations_allow = Some(verdicts.iter().all(|v| v.allowed()));
            if let Some(deny) = verdicts.iter().find(|v| v.decision == Decision::ExplicitDeny) {
                let denying = deny.matched.iter().filter(|s| s.effect == Effect::Deny).cloned();
                e = Evaluation { decision: Decision::ExplicitDeny, reason: None, matched: denying.collect() };
            } else if e.decision == Decision::Allow && organizations_allow == Some(false) {
                e.decision = Decision::ImplicitDeny;
            }
        }
        let mut missing = Vec::new();
        let policies = identity
            .iter()
            .chain(self.scps.iter().flatten())
            .map(|n| &*n.policy)
            .chain(self.boundary.as_deref())
            .chain(self.resource_policy.as_ref());
        for p in policies {
            context_keys_for(p, action, resource, &mut missing);
        }
        missing.retain(|k| self.context.get(k).is_none());
        Outcome {
            resource: resource.to_string(),
            decision: e.decision,
            matched: self.reported(identity, &e),
            missing,
            boundary_allows,
            organizations_allow,
        }
    }

    /// The statements that decided, where they lie: the denying ones of an explicit deny, the
    /// allowing ones of an allow, none of an implicit deny. A boundary's are reported in
    /// PermissionsBoundaryDecisionDetail instead.
    fn reported(&self, identity: &[Named], e: &Evaluation) -> Vec<m::Statement> {
        let wanted = match e.decision {
            Decision::ExplicitDeny => Effect::Deny,
            Decision::Allow => Effect::Allow,
            Decision::ImplicitDeny => return Vec::new(),
        };
        let source = |s: &Matched| -> Option<(&'static str, &Policy)> {
            match s.policy_type {
                PolicyType::Resource => Some(("resource", self.resource_policy.as_ref()?)),
                _ => identity
                    .iter()
                    .chain(self.scps.iter().flatten())
                    .find(|n| n.id == s.policy)
                    .map(|n| (n.kind, &*n.policy)),
            }
        };
        let position = |p: nuage_policy::position::Position| m::Position {
            line: Some(p.line as i32),
            column: Some(p.column as i32),
        };
        e.matched
            .iter()
            .filter(|s| s.effect == wanted && s.policy_type != PolicyType::Boundary)
            .map(|s| {
                let found = source(s);
                let span = found.and_then(|(_, p)| p.spans.get(s.index)).copied();
                m::Statement {
                    source_policy_id: Some(s.policy.clone()),
                    source_policy_type: Some(found.map_or("none", |(kind, _)| kind).to_string()),
                    start_position: span.map(|(start, _)| position(start)),
                    end_position: span.map(|(_, end)| position(end)),
                }
            })
            .collect()
    }

    /// One result per action: each resource's outcome, and their aggregate (the most
    /// restrictive decision), as the simulator now reports them.
    fn results(&self, identity: &[Named]) -> Vec<m::EvaluationResult> {
        let boundary_detail =
            |allowed: bool| m::PermissionsBoundaryDecisionDetail { allowed_by_permissions_boundary: Some(allowed) };
        let organizations_detail =
            |allowed: bool| m::OrganizationsDecisionDetail { allowed_by_organizations: Some(allowed) };
        let mut out = Vec::new();
        for action in &self.actions {
            let resources = self.resources.clone().unwrap_or_else(|| vec!["*".to_string()]);
            let outcomes: Vec<Outcome> = resources.iter().map(|r| self.simulate(identity, action, r)).collect();
            let worst =
                outcomes.iter().map(|o| o.decision).max_by_key(|d| severity(*d)).unwrap_or(Decision::ImplicitDeny);
            let mut matched: Vec<m::Statement> = Vec::new();
            let mut missing: Vec<String> = Vec::new();
            for o in outcomes.iter().filter(|o| o.decision == worst) {
                for s in &o.matched {
                    if !matched.contains(s) {
                        matched.push(s.clone());
                    }
                }
            }
            for o in &outcomes {
                for k in &o.missing {
                    if !missing.iter().any(|x| x.eq_ignore_ascii_case(k)) {
                        missing.push(k.clone());
                    }
                }
            }
            let all = |f: fn(&Outcome) -> Option<bool>| -> Option<bool> {
                outcomes.iter().map(f).collect::<Option<Vec<bool>>>().map(|v| v.iter().all(|b| *b))
            };
            let specific = self.resources.as_ref().map(|_| {
                outcomes
                    .iter()
                    .map(|o| m::ResourceSpecificResult {
                        eval_resource_name: Some(o.resource.clone()),
                        eval_resource_decision: Some(decision_name(o.decision)),
                        matched_statements: Some(o.matched.clone()),
                        missing_context_values: Some(o.missing.clone()),
                        permissions_boundary_decision_detail: o.boundary_allows.map(boundary_detail),
                        ..Default::default()
                    })
                    .collect()
            });
            out.push(m::EvaluationResult {
                eval_action_name: Some(action.clone()),
                eval_resource_name: Some(match resources.as_slice() {
                    [one] => one.clone(),
                    _ => "*".to_string(),
                }),
                eval_decision: Some(decision_name(worst)),
                matched_statements: Some(matched),
                missing_context_values: Some(missing),
                permissions_boundary_decision_detail: all(|o| o.boundary_allows).map(boundary_detail),
                organizations_decision_detail: all(|o| o.organizations_allow).map(organizations_detail),
                resource_specific_results: specific,
                ..Default::default()
            });
        }
        out
    }
}

/// `MaxItems` results from `Marker` on.
fn page(
    results: Vec<m::EvaluationResult>,
    max_items: Option<i32>,
    marker: &Option<String>,
) -> AwsResult<m::SimulatePolicyResponse> {
    let start = match marker {
        Some(mk) => {
            mk.parse::<usize>().ok().filter(|s| *s <= results.len()).ok_or_else(|| invalid_input("Invalid Marker."))?
        }
        None => 0,
    };
    let max = max_items.unwrap_or(100).max(1) as usize;
    let end = (start + max).min(results.len());
    let truncated = end < results.len();
    Ok(m::SimulatePolicyResponse {
        evaluation_results: Some(results[start..end].to_vec()),
        is_truncated: Some(truncated),
        marker: truncated.then(|| end.to_string()),
    })
}

/// ResourceArns: `None` when absent or `*` (all resources).
fn resources(r: &Option<Vec<String>>) -> Option<Vec<String>> {
    match r {
        Some(v) if !v.is_empty() && v.as_slice() != ["*"] => Some(v.clone()),
        _ => None,
    }
}

/// ResourceHandlingOption: the EC2 scenarios and the resources each needs.
fn check_scenario(option: &Option<String>, resources: &Option<Vec<String>>) -> AwsResult<()> {
    let Some(option) = option else { return Ok(()) };
    let needs: &[&str] = match option.as_str() {
        "EC2-VPC-InstanceStore" => &["instance", "image", "security-group", "network-interface"],
        "EC2-VPC-InstanceStore-Subnet" => &["instance", "image", "security-group", "network-interface", "subnet"],
        "EC2-VPC-EBS" => &["instance", "image", "security-group", "network-interface", "volume"],
        "EC2-VPC-EBS-Subnet" => &["instance", "image", "security-group", "network-interface", "subnet", "volume"],
        "EC2-Classic-InstanceStore" => &["instance", "image", "security-group"],
        "EC2-Classic-EBS" => &["instance", "image", "security-group", "volume"],
        other => return Err(invalid_input(format!("Invalid ResourceHandlingOption: {other}"))),
    };
    let given = resources.as_deref().unwrap_or_default();
    for kind in needs {
        let found = given
            .iter()
            .any(|r| r.splitn(6, ':').nth(5).is_some_and(|res| res.starts_with(&format!("{kind}/")) || res == "*"));
        if !found {
            return Err(invalid_input(format!("The {option} scenario requires a {kind} resource in ResourceArns.")));
        }
    }
    Ok(())
}

pub(crate) async fn custom(
    _iam: &Iam,
    ctx: &RequestContext,
    input: m::SimulateCustomPolicyRequest,
) -> AwsResult<m::SimulatePolicyResponse> {
    let account = caller_account(ctx)?;
    let identity = parse_all(&input.policy_input_list, "PolicyInputList", PolicyKind::Identity)?;
    check_scenario(&input.resource_handling_option, &input.resource_arns)?;
    let question = Question {
        boundary: boundary_input(&input.permissions_boundary_policy_input_list)?,
        scps: input
            .ordered_organization_policy_input_list
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, level)| {
                let prefix = format!("OrderedOrganizationPolicyInputList.{}.ServiceControlPolicyInputList", i + 1);
                parse_all(&level.service_control_policy_input_list, &prefix, PolicyKind::Identity)
            })
            .collect::<AwsResult<_>>()?,
        resource_policy: resource_policy(&input.resource_policy)?,
        resource_owner: owner_account(&input.resource_owner),
        actions: input.action_names.clone().unwrap_or_default(),
        resources: resources(&input.resource_arns),
        context: context(&input.context_entries)?,
        caller: input.caller_arn.clone().unwrap_or_else(|| format!("arn:aws:iam::{account}:user/simulated")),
        account: account.to_string(),
    };
    page(question.results(&identity), input.max_items, &input.marker)
}

/// ResourcePolicy: a resource's policy, or a role's trust policy (which names no Resource).
fn resource_policy(doc: &Option<String>) -> AwsResult<Option<Policy>> {
    doc.as_deref()
        .map(|d| {
            Policy::parse(d, PolicyKind::Resource)
                .or_else(|e| Policy::parse(d, PolicyKind::Trust).map_err(|_| e))
                .map_err(malformed_policy)
        })
        .transpose()
}

/// The policies of the user, group or role a PolicySourceArn names, and its boundary.
fn source_policies(iam: &Iam, source: &str, account: &str) -> AwsResult<(Vec<Named>, Option<Boundary>)> {
    let (kind, name) = source
        .strip_prefix(&format!("arn:aws:iam::{account}:"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(k, n)| (k, n.rsplit('/').next().unwrap_or(n)))
        .ok_or_else(|| invalid_input(format!("Invalid ARN: {source}")))?;
    let kind = match kind {
        "user" => "user",
        "role" => "role",
        "group" => "group",
        _ => return Err(invalid_input(format!("Invalid ARN: {source}"))),
    };
    entity_policies(iam, &iam.account(account), kind, name)
}

/// A permissions boundary: its ARN and policy.
pub(super) type Boundary = (String, Arc<Policy>);

/// The policies of a user (with its groups'), group or role, each with where it comes from,
/// and the entity's boundary.
pub(super) fn entity_policies(
    iam: &Iam,
    st: &AccountState,
    kind: &'static str,
    name: &str,
) -> AwsResult<(Vec<Named>, Option<Boundary>)> {
    let mut out = Vec::new();
    let mut add = |kind: &'static str, entity: &str, attached: &[String], inline: &BTreeMap<String, Inline>| {
        for arn in attached {
            if let Some(policy) = iam.managed(st, arn) {
                let managed = if arn.starts_with("arn:aws:iam::aws:") { "aws-managed" } else { "user-managed" };
                let id = arn.rsplit('/').next().unwrap_or(arn).to_string();
                out.push(Named { id, kind: managed, policy, arn: Some(arn.clone()), inline_of: None });
            }
        }
        for (policy_name, i) in inline {
            if let Some(policy) = &i.parsed {
                out.push(Named {
                    id: policy_name.clone(),
                    kind,
                    policy: policy.clone(),
                    arn: None,
                    inline_of: Some((kind, entity.to_string())),
                });
            }
        }
    };
    let missing = || no_such_entity(format!("The {kind} with name {name} cannot be found."));
    // IAM names are found regardless of case (and kept as written).
    let boundary = match kind {
        "user" => {
            let user = st.users.get(&ci(name)).ok_or_else(missing)?;
            add("user", &user.name, &user.attached, &user.inline);
            for g in st.groups.values().filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&user.name))) {
                add("group", &g.name, &g.attached, &g.inline);
            }
            user.boundary.clone()
        }
        "role" => {
            let role = st.roles.get(&ci(name)).ok_or_else(missing)?;
            add("role", &role.name, &role.attached, &role.inline);
            role.boundary.clone()
        }
        _ => {
            let group = st.groups.get(&ci(name)).ok_or_else(missing)?;
            add("group", &group.name, &group.attached, &group.inline);
            None
        }
    };
    let boundary = boundary.and_then(|b| Some((b.clone(), iam.managed(st, &b)?)));
    Ok((out, boundary))
}

/// One PolicyExclusionList entry: which policies it takes out (and whether the boundary).
enum Exclusion {
    Type(String),
    Arn(String),
    Inline { policy: String, entity_kind: String, entity: String },
}

/// A name pattern as exclusions allow it: at most one `*`, any number of `?`.
fn check_pattern(p: &str, what: &str) -> AwsResult<()> {
    if p.matches('*').count() > 1 {
        return Err(invalid_input(format!("Invalid {what}: {p} (at most one * is allowed).")));
    }
    Ok(())
}

fn exclusions(list: &Option<Vec<m::PolicyIdentifier>>) -> AwsResult<Vec<Exclusion>> {
    let mut out = Vec::new();
    for id in list.iter().flatten() {
        let given = [id.policy_type.is_some(), id.policy_arn.is_some(), id.inline_policy_identifier.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(invalid_input(
                "Each PolicyIdentifier must give exactly one of PolicyType, PolicyArn or InlinePolicyIdentifier.",
            ));
        }
        if let Some(t) = &id.policy_type {
            out.push(Exclusion::Type(t.clone()));
        } else if let Some(arn) = &id.policy_arn {
            let (head, name) = arn.split_once(":policy/").unwrap_or(("", ""));
            let account = head.strip_prefix("arn:aws:iam::").unwrap_or("-");
            if name.is_empty()
                || !(account == "aws" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
            {
                return Err(invalid_input(format!("Invalid PolicyArn: {arn}")));
            }
            check_pattern(name, "PolicyArn")?;
            out.push(Exclusion::Arn(arn.clone()));
        } else if let Some(i) = &id.inline_policy_identifier {
            let entity = i.attachment_name.clone().unwrap_or_default();
            check_pattern(&entity, "AttachmentName")?;
            out.push(Exclusion::Inline {
                policy: i.policy_name.clone().unwrap_or_default(),
                entity_kind: i.attachment_type.clone().unwrap_or_default(),
                entity,
            });
        }
    }
    Ok(out)
}

impl Exclusion {
    fn excludes(&self, n: &Named) -> bool {
        match self {
            Exclusion::Type(t) => match t.as_str() {
                "inline" => n.inline_of.is_some(),
                "aws-managed" | "user-managed" => n.arn.is_some() && n.kind == t,
                _ => false,
            },
            Exclusion::Arn(pattern) => n.arn.as_deref().is_some_and(|arn| glob(pattern, arn, false)),
            Exclusion::Inline { policy, entity_kind, entity } => n.inline_of.as_ref().is_some_and(|(kind, name)| {
                n.id == *policy
                    && kind == entity_kind
                    && glob(&entity.to_ascii_lowercase(), &name.to_ascii_lowercase(), false)
            }),
        }
    }
}

pub(crate) async fn principal(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::SimulatePrincipalPolicyRequest,
) -> AwsResult<m::SimulatePolicyResponse> {
    let account = caller_account(ctx)?;
    let source = required(&input.policy_source_arn, "PolicySourceArn")?;
    let (own, own_boundary) = source_policies(iam, source, account)?;
    let excluded = exclusions(&input.policy_exclusion_list)?;
    let mut identity = parse_all(&input.policy_input_list, "PolicyInputList", PolicyKind::Identity)?;
    identity.extend(own.into_iter().filter(|n| !excluded.iter().any(|x| x.excludes(n))));
    let boundary_excluded = excluded.iter().any(|x| matches!(x, Exclusion::Type(t) if t == "permission-boundary"))
        || own_boundary
            .as_ref()
            .is_some_and(|(arn, _)| excluded.iter().any(|x| matches!(x, Exclusion::Arn(p) if glob(p, arn, false))));
    check_scenario(&input.resource_handling_option, &input.resource_arns)?;
    // The principal's own boundary, unless the request supplies one to try instead.
    let own_boundary = own_boundary.filter(|_| !boundary_excluded).map(|(_, p)| p);
    let question = Question {
        boundary: boundary_input(&input.permissions_boundary_policy_input_list)?.or(own_boundary),
        scps: Vec::new(),
        resource_policy: resource_policy(&input.resource_policy)?,
        resource_owner: owner_account(&input.resource_owner),
        actions: input.action_names.clone().unwrap_or_default(),
        resources: resources(&input.resource_arns),
        context: context(&input.context_entries)?,
        caller: input.caller_arn.clone().unwrap_or_else(|| source.to_string()),
        account: account.to_string(),
    };
    page(question.results(&identity), input.max_items, &input.marker)
}

fn key_names(policies: impl IntoIterator<Item = Arc<Policy>>) -> m::GetContextKeysForPolicyResponse {
    let mut keys = Vec::new();
    for p in policies {
        context_keys(&p, &mut keys);
    }
    m::GetContextKeysForPolicyResponse { context_key_names: Some(keys) }
}

pub(crate) async fn context_keys_custom(
    _iam: &Iam,
    _ctx: &RequestContext,
    input: m::GetContextKeysForCustomPolicyRequest,
) -> AwsResult<m::GetContextKeysForPolicyResponse> {
    let given = parse_all(&input.policy_input_list, "PolicyInputList", PolicyKind::Identity)?;
    Ok(key_names(given.into_iter().map(|n| n.policy)))
}

pub(crate) async fn context_keys_principal(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetContextKeysForPrincipalPolicyRequest,
) -> AwsResult<m::GetContextKeysForPolicyResponse> {
    let account = caller_account(ctx)?;
    let source = required(&input.policy_source_arn, "PolicySourceArn")?;
    let (own, _) = source_policies(iam, source, account)?;
    let given = parse_all(&input.policy_input_list, "PolicyInputList", PolicyKind::Identity)?;
    Ok(key_names(own.into_iter().chain(given).map(|n| n.policy)))
}
