//! The IAM policy language and AWS's evaluation logic: documents, conditions, decisions. No I/O.
//!
//! The front door gathers the facts (who calls, which action on which resource, the condition
//! keys, the policies that apply) and asks [`evaluate`]; everything here is pure computation.

pub mod condition;
pub mod document;
pub mod keys;
pub mod matching;
pub mod position;

pub use document::{policy_size, Effect, Policy, PolicyError, PolicyKind, PrincipalId, Statement, Version};

use matching::{arn_like, glob, substitute};

/// The condition keys of a request and their values (multi-valued keys such as aws:TagKeys
/// hold several). Keys are case-insensitive.
#[derive(Debug, Clone, Default)]
pub struct Context {
    entries: Vec<(String, Vec<String>)>,
}

impl Context {
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set_all(key, vec![value.into()]);
    }

    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        let key = key.to_ascii_lowercase();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(e) => e.1 = values,
            None => self.entries.push((key, values)),
        }
    }

    /// All values of `key`, `None` when the request does not carry it.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_slice())
    }

    /// The value of a single-valued key.
    pub fn single(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }

    /// The tag keys of a request that tags (`aws:RequestTag/<key>` for each, `aws:TagKeys`
    /// for all) plus the keys it untags (also in `aws:TagKeys`).
    pub fn set_request_tags(&mut self, tags: Vec<(String, String)>, untagged: Vec<String>) {
        let mut keys: Vec<String> = tags.iter().map(|(k, _)| k.clone()).collect();
        for (k, v) in tags {
            self.set(&format!("aws:RequestTag/{k}"), v);
        }
        keys.extend(untagged);
        if !keys.is_empty() {
            self.set_all("aws:TagKeys", keys);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    Root,
    User,
    AssumedRole,
    /// An AWS service acting for the account (`redshift.amazonaws.com` assuming a role).
    Service,
    Anonymous,
}

/// Who makes the request.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub kind: CallerKind,
    /// The principal's ARN; for a service, its name (`redshift.amazonaws.com`).
    pub arn: &'a str,
    /// The principal's account; empty for anonymous callers and services.
    pub account: &'a str,
    /// For an assumed-role session, the role's ARN: policies naming the role match its sessions.
    pub role_arn: Option<&'a str>,
    /// The S3 canonical id of the caller's account.
    pub canonical_id: Option<&'a str>,
}

impl Caller<'_> {
    pub fn anonymous() -> Caller<'static> {
        Caller { kind: CallerKind::Anonymous, arn: "*", account: "", role_arn: None, canonical_id: None }
    }
}

/// One authorisation question.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub caller: Caller<'a>,
    /// `service:Action`, in any case.
    pub action: &'a str,
    /// The resource ARN (or `*` for actions without a resource).
    pub resource: &'a str,
    /// The account owning the resource; `None` when it is the caller's (or has none).
    pub resource_account: Option<&'a str>,
    pub context: &'a Context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyType {
    Identity,
    Resource,
    Boundary,
    Session,
}

/// A policy and the name it is reported under (its ARN, or an inline policy's name).
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub name: &'a str,
    pub policy: &'a Policy,
}

/// Every policy that applies to one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    /// Policies attached to the caller (directly, through groups, inline).
    pub identity: Vec<Source<'a>>,
    /// The resource's policy (bucket policy, trust policy).
    pub resource: Option<Source<'a>>,
    /// The resource grants the caller access by other means (an S3 ACL grant).
    pub resource_grant: bool,
    pub boundary: Option<Source<'a>>,
    /// Session policies of an assumed-role session; when present, they must allow too.
    pub session: Vec<Source<'a>>,
    /// The resource policy must allow even within its own account (a role's trust policy,
    /// a KMS key policy).
    pub resource_required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Why a request was denied, which chooses AWS's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    Explicit(PolicyType),
    NoIdentityAllow,
    NoResourceAllow,
    NoBoundaryAllow,
    NoSessionAllow,
}

/// A statement that matched the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub policy: String,
    pub policy_type: PolicyType,
    /// Zero-based position in the policy's Statement list.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub reason: Option<DenyReason>,
    pub matched: Vec<Matched>,
}

impl Evaluation {
    pub fn allowed(&self) -> bool {
        self.decision == Decision::Allow
    }

    /// AWS's denial message: `User: <arn> is not authorized to perform: <action> on resource:
    /// <resource> because no identity-based policy allows the <action> action`, and the other
    /// variants.
    pub fn deny_message(&self, caller_arn: &str, action: &str, resource: &str) -> String {
        // A role's trust policy is the resource policy of the actions that assume it; AWS
        // names it as such.
        let trust = action.to_ascii_lowercase().starts_with("sts:assumerole")
            || action.eq_ignore_ascii_case("sts:TagSession")
            || action.eq_ignore_ascii_case("sts:SetSourceIdentity");
        let why = match self.reason {
            Some(DenyReason::Explicit(PolicyType::Resource)) if trust => {
                "with an explicit deny in a role trust policy".into()
            }
            Some(DenyReason::NoResourceAllow) if trust => {
                format!("because no role trust policy allows the {action} action")
            }
            Some(DenyReason::Explicit(PolicyType::Identity)) => {
                "with an explicit deny in an identity-based policy".into()
            }
            Some(DenyReason::Explicit(PolicyType::Resource)) => {
                "with an explicit deny in a resource-based policy".into()
            }
            Some(DenyReason::Explicit(PolicyType::Boundary)) => {
                "with an explicit deny in a permissions boundary".into()
            }
            Some(DenyReason::Explicit(PolicyType::Session)) => "with an explicit deny in a session policy".into(),
            Some(DenyReason::NoResourceAllow) => format!("because no resource-based policy allows the {action} action"),
            Some(DenyReason::NoBoundaryAllow) => format!("because no permissions boundary allows the {action} action"),
            Some(DenyReason::NoSessionAllow) => format!("because no session policy allows the {action} action"),
            _ => format!("because no identity-based policy allows the {action} action"),
        };
        format!("User: {caller_arn} is not authorized to perform: {action} on resource: {resource} {why}")
    }

    /// The statement that decided: the first explicit deny, else the first allow.
    pub fn deciding(&self) -> Option<&Matched> {
        self.matched
            .iter()
            .find(|m| m.effect == Effect::Deny)
            .or_else(|| self.matched.iter().find(|m| m.effect == Effect::Allow))
    }
}

/// How a Principal element names the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PrincipalMatch {
    No,
    /// Through the caller's account (`arn:aws:iam::<id>:root`, a canonical user id): the
    /// account delegates to its own IAM policies.
    Account,
    /// Through the role whose session the caller is: the grant is the role's, so the session's
    /// permissions boundary and session policies still cap it (the permissions-boundaries and
    /// session-policies pages); only the session's own ARN escapes them.
    Role,
    /// The caller itself, its role, a service, or everyone.
    Direct,
}

fn principal_match(id: &PrincipalId, caller: &Caller) -> PrincipalMatch {
    match id {
        PrincipalId::Anyone => PrincipalMatch::Direct,
        PrincipalId::Aws(arn) => {
            if caller.kind == CallerKind::Anonymous || caller.kind == CallerKind::Service {
                PrincipalMatch::No
            } else if arn == caller.arn {
                PrincipalMatch::Direct
            } else if caller.role_arn == Some(arn.as_str()) {
                PrincipalMatch::Role
            } else if arn.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root")) == Some(caller.account) {
                if caller.kind == CallerKind::Root {
                    PrincipalMatch::Direct
                } else {
                    PrincipalMatch::Account
                }
            } else {
                PrincipalMatch::No
            }
        }
        PrincipalId::Service(s) if caller.kind == CallerKind::Service && s == caller.arn => PrincipalMatch::Direct,
        PrincipalId::CanonicalUser(c) if caller.canonical_id == Some(c.as_str()) => {
            if caller.kind == CallerKind::Root {
                PrincipalMatch::Direct
            } else {
                PrincipalMatch::Account
            }
        }
        _ => PrincipalMatch::No,
    }
}

fn resource_matches(patterns: &[String], resource: &str, ctx: &Context, variables: bool) -> bool {
    patterns.iter().any(|p| {
        if variables {
            substitute(p, ctx, true).is_some_and(|p| arn_like(&p, resource))
        } else {
            arn_like(p, resource)
        }
    })
}

/// Whether the statement applies to the request; for resource policies, how the Principal
/// element names the caller.
fn statement_applies(
    s: &Statement,
    req: &Request,
    action_lc: &str,
    variables: bool,
    bounded: bool,
) -> Option<PrincipalMatch> {
    let principal = match &s.principal {
        None => PrincipalMatch::Direct,
        Some(p) => {
            let best = p.items.iter().map(|i| principal_match(i, &req.caller)).max().unwrap_or(PrincipalMatch::No);
            match (p.negated, best) {
                (false, PrincipalMatch::No) => return None,
                (false, m) => m,
                // A Deny with NotPrincipal always denies a principal that has a permissions
                // boundary, whatever it names (the NotPrincipal page).
                (true, _) if bounded && s.effect == Effect::Deny => PrincipalMatch::Direct,
                // NotPrincipal exempts only the principals it names themselves: an account
                // ARN exempts the account (its root), not every user of it (the NotPrincipal
                // page's Deny example denies all but the one user named beside the account).
                (true, PrincipalMatch::Direct | PrincipalMatch::Role) => return None,
                (true, _) => PrincipalMatch::Direct,
            }
        }
    };
    let action_hit = s.action.items.iter().any(|a| glob(a, action_lc, false));
    if action_hit == s.action.negated {
        return None;
    }
    if let Some(r) = &s.resource {
        if resource_matches(&r.items, req.resource, req.context, variables) == r.negated {
            return None;
        }
    }
    if !s.conditions.iter().all(|c| c.evaluate(req.context, variables)) {
        return None;
    }
    Some(principal)
}

/// What one policy says about the request.
#[derive(Default)]
struct Verdict {
    deny: bool,
    allow: bool,
    /// For resource policies: the strongest way an Allow named the caller.
    allow_principal: Option<PrincipalMatch>,
}

fn judge(
    source: &Source,
    kind: PolicyType,
    req: &Request,
    action_lc: &str,
    bounded: bool,
    matched: &mut Vec<Matched>,
) -> Verdict {
    let variables = source.policy.version == Version::V2012;
    let mut v = Verdict::default();
    for (index, s) in source.policy.statements.iter().enumerate() {
        let Some(pm) = statement_applies(s, req, action_lc, variables, bounded) else { continue };
        matched.push(Matched {
            policy: source.name.to_string(),
            policy_type: kind,
            index,
            sid: s.sid.clone(),
            effect: s.effect,
        });
        match s.effect {
            Effect::Deny => v.deny = true,
            Effect::Allow => {
                v.allow = true;
                v.allow_principal = v.allow_principal.max(Some(pm));
            }
        }
    }
    v
}

/// AWS's policy evaluation logic for one request:
/// 1. an explicit Deny in any applicable policy denies;
/// 2. the account root acts freely in its own account;
/// 3. in the same account, a resource policy (or grant) naming the caller itself allows, and
///    so does an identity-based Allow that every permissions boundary and session policy
///    present also allows;
/// 4. across accounts, both the caller's identity-based policies and the resource's policy
///    must allow;
/// 5. otherwise the request is implicitly denied.
pub fn evaluate(req: &Request, set: &PolicySet) -> Evaluation {
    let mut matched = Vec::new();
    let (decision, reason) = decide(req, set, &mut matched);
    Evaluation { decision, reason, matched }
}

fn decide(req: &Request, set: &PolicySet, matched: &mut Vec<Matched>) -> (Decision, Option<DenyReason>) {
    let action_lc = req.action.to_ascii_lowercase();
    let mut explicit = None;
    let bounded = set.boundary.is_some();
    let mut verdict = |source: &Source, kind: PolicyType, matched: &mut Vec<Matched>| {
        let v = judge(source, kind, req, &action_lc, bounded, matched);
        if v.deny && explicit.is_none() {
            explicit = Some(kind);
        }
        v
    };
    let identity: Vec<Verdict> = set.identity.iter().map(|s| verdict(s, PolicyType::Identity, matched)).collect();
    let resource = set.resource.as_ref().map(|s| verdict(s, PolicyType::Resource, matched));
    let boundary = set.boundary.as_ref().map(|s| verdict(s, PolicyType::Boundary, matched));
    let session: Vec<Verdict> = set.session.iter().map(|s| verdict(s, PolicyType::Session, matched)).collect();

    if let Some(kind) = explicit {
        return (Decision::ExplicitDeny, Some(DenyReason::Explicit(kind)));
    }
    let implicit = |reason| (Decision::ImplicitDeny, Some(reason));
    let resource_principal = if set.resource_grant {
        Some(PrincipalMatch::Direct)
    } else {
        resource.as_ref().and_then(|v| v.allow_principal)
    };
    let same_account = match req.resource_account {
        None => true,
        Some(owner) => owner == req.caller.account,
    };
    let caller = req.caller.kind;
    if caller == CallerKind::Anonymous || caller == CallerKind::Service {
        return match resource_principal {
            Some(PrincipalMatch::Direct) => (Decision::Allow, None),
            _ => implicit(DenyReason::NoResourceAllow),
        };
    }
    if same_account && resource_principal == Some(PrincipalMatch::Direct) {
        return (Decision::Allow, None);
    }
    // A same-account resource policy naming the session's role grants as the role's own
    // policies would: the boundary and the session policies cap it; no identity policy is needed.
    if same_account && resource_principal == Some(PrincipalMatch::Role) {
        if boundary.as_ref().is_some_and(|v| !v.allow) {
            return implicit(DenyReason::NoBoundaryAllow);
        }
        if !session.is_empty() && !session.iter().any(|v| v.allow) {
            return implicit(DenyReason::NoSessionAllow);
        }
        return (Decision::Allow, None);
    }
    if same_account && caller == CallerKind::Root && !set.resource_required {
        return (Decision::Allow, None);
    }
    // The root of another account needs no identity policy of its own.
    let identity_allows = caller == CallerKind::Root || identity.iter().any(|v| v.allow);
    if !identity_allows {
        return implicit(DenyReason::NoIdentityAllow);
    }
    if boundary.as_ref().is_some_and(|v| !v.allow) {
        return implicit(DenyReason::NoBoundaryAllow);
    }
    if !session.is_empty() && !session.iter().any(|v| v.allow) {
        return implicit(DenyReason::NoSessionAllow);
    }
    if (!same_account || set.resource_required) && resource_principal.is_none() {
        return implicit(DenyReason::NoResourceAllow);
    }
    (Decision::Allow, None)
}

#[cfg(test)]
mod tests;
