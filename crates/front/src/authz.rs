//! The one place requests are authorised: the facts a service declares for an operation, the
//! policies IAM keeps for the caller, the global condition keys, and the evaluator's decision.
use nuage_core::{AwsError, Principal, PrincipalKind, RequestContext};
use nuage_policy::{evaluate, Caller, CallerKind, Context, Evaluation, Policy, PolicySet, Request, Source};
use std::sync::Arc;

/// What an operation needs authorised: its IAM action, the resource ARN it acts on, and what
/// the service knows of that resource: its owner, its policy, its grants.
#[derive(Debug, Clone, Default)]
pub struct Authorization {
    pub operation: &'static str,
    pub action: &'static str,
    pub resource: String,
    /// The account owning the resource, when it exists.
    pub owner_account: Option<String>,
    /// Whether the resource's own grants (an S3 ACL) admit the principal.
    pub granted_by_resource: bool,
    /// The resource's policy (a bucket policy).
    pub resource_policy: Option<Arc<Policy>>,
    /// The service's condition keys for this request (s3:prefix, s3:x-amz-acl, ...).
    pub context: Context,
    /// The resource policy must allow even within its account (a role's trust policy).
    pub resource_policy_required: bool,
    /// Operations that need no permission at all (sts:GetCallerIdentity).
    pub always_allowed: bool,
    /// Further permissions the same request needs (reading the source of a copy); all must allow.
    pub also: Vec<Authorization>,
    /// Condition keys costly to know (an object's current tags), read only when a policy
    /// that applies reads a key of their family.
    pub lazy_context: Option<LazyContext>,
}

/// Condition keys a service reads only on demand: every key starts with `prefix`.
#[derive(Clone)]
pub struct LazyContext {
    /// The keys' common beginning (`s3:ExistingObjectTag/`; compared without case).
    pub prefix: &'static str,
    pub load: Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>,
}

impl std::fmt::Debug for LazyContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LazyContext({})", self.prefix)
    }
}

/// The policies IAM keeps for a principal.
#[derive(Debug, Clone, Default)]
pub struct PrincipalPolicies {
    /// Managed and inline policies of the user (and its groups) or role: (name, policy).
    pub identity: Vec<(String, Arc<Policy>)>,
    pub boundary: Option<(String, Arc<Policy>)>,
    /// The session policies of temporary credentials.
    pub session: Vec<(String, Arc<Policy>)>,
    /// The principal's tags (aws:PrincipalTag/...).
    pub tags: Vec<(String, String)>,
    /// The role's unique id (AROA...) for aws:userid of a session.
    pub role_id: Option<String>,
    /// For temporary credentials: when they were issued, Unix seconds (aws:TokenIssueTime).
    pub token_issued: Option<i64>,
    /// The source identity of a role session (aws:SourceIdentity), kept through role chains.
    pub source_identity: Option<String>,
    /// When temporary credentials were obtained with an MFA code, Unix seconds.
    pub mfa_authenticated: Option<i64>,
}

/// Where the front door finds the policies of a principal: the IAM service.
pub trait PolicyStore: Send + Sync {
    fn principal_policies(&self, principal: &Principal) -> PrincipalPolicies;
    /// Whether an IAM principal ARN (account root, user, role) exists, for resource policies
    /// that name it.
    fn principal_exists(&self, _arn: &str) -> bool {
        true
    }
    /// An access key signed a request for `service` in `region` (GetAccessKeyLastUsed).
    fn key_used(&self, _access_key: &str, _service: &str, _region: &str) {}
}

/// A policy store with no policies: every principal is judged by its account alone.
pub struct NoPolicies;

impl PolicyStore for NoPolicies {
    fn principal_policies(&self, _principal: &Principal) -> PrincipalPolicies {
        PrincipalPolicies::default()
    }
}

/// The outcome, for the request log.
pub struct Decided {
    /// The deciding statement (`policy#index (Sid)`), if one matched.
    pub statement: Option<String>,
}

fn caller_kind(p: &Principal) -> CallerKind {
    match p.kind {
        PrincipalKind::Root => CallerKind::Root,
        PrincipalKind::User | PrincipalKind::UserSession | PrincipalKind::FederatedUser => CallerKind::User,
        PrincipalKind::AssumedRole => CallerKind::AssumedRole,
        PrincipalKind::Service => CallerKind::Service,
    }
}

/// The global condition keys AWS sets on every request.
fn global_context(ctx: &RequestContext, pp: &PrincipalPolicies, now: time::OffsetDateTime) -> Context {
    let mut c = Context::default();
    let iso = time::format_description::well_known::Rfc3339;
    c.set("aws:CurrentTime", now.replace_nanosecond(0).unwrap_or(now).format(&iso).unwrap_or_default());
    c.set("aws:EpochTime", now.unix_timestamp().to_string());
    c.set("aws:SourceIp", ctx.source_ip.to_string());
    c.set("aws:SecureTransport", ctx.secure_transport.to_string());
    c.set("aws:RequestedRegion", ctx.region.clone());
    // Present when the client sent them (the global condition keys page).
    if let Some(ua) = &ctx.user_agent {
        c.set("aws:UserAgent", ua.clone());
    }
    if let Some(referer) = &ctx.referer {
        c.set("aws:Referer", referer.clone());
    }
    let Some(p) = &ctx.principal else {
        c.set("aws:PrincipalType", "Anonymous");
        return c;
    };
    // Present in every signed request, true or false (the global condition keys page).
    c.set("aws:PrincipalIsAWSService", (p.kind == PrincipalKind::Service).to_string());
    c.set("aws:ViaAWSService", (!ctx.called_via.is_empty()).to_string());
    if let (Some(first), Some(last)) = (ctx.called_via.first(), ctx.called_via.last()) {
        c.set_all("aws:CalledVia", ctx.called_via.clone());
        c.set("aws:CalledViaFirst", first.clone());
        c.set("aws:CalledViaLast", last.clone());
    }
    c.set("aws:PrincipalAccount", p.account_id.clone());
    c.set("aws:PrincipalArn", p.role_arn.clone().unwrap_or_else(|| p.arn.clone()));
    match p.kind {
        PrincipalKind::Root => {
            c.set("aws:PrincipalType", "Account");
            c.set("aws:userid", p.account_id.clone());
        }
        PrincipalKind::User | PrincipalKind::UserSession => {
            c.set("aws:PrincipalType", "User");
            c.set("aws:username", p.name.clone());
            c.set("aws:userid", p.user_id.clone());
        }
        PrincipalKind::AssumedRole => {
            c.set("aws:PrincipalType", "AssumedRole");
            c.set("aws:userid", p.user_id.clone());
        }
        // `account:name`, and no aws:username (the global condition keys page).
        PrincipalKind::FederatedUser => {
            c.set("aws:PrincipalType", "FederatedUser");
            c.set("aws:userid", p.user_id.clone());
        }
        PrincipalKind::Service => {
            c.set("aws:PrincipalType", "Service");
            c.set("aws:PrincipalServiceName", p.name.clone());
            c.set_all("aws:PrincipalServiceNamesList", vec![p.name.clone()]);
            // A service acting for a resource names it (confused-deputy conditions).
            if let Some(source) = &p.source_arn {
                c.set("aws:SourceArn", source.clone());
                let account =
                    p.source_account.as_deref().or_else(|| source.split(':').nth(4).filter(|a| !a.is_empty()));
                if let Some(account) = account {
                    c.set("aws:SourceAccount", account);
                }
            }
        }
    }
    if let Some(s) = &pp.source_identity {
        c.set("aws:SourceIdentity", s.clone());
    }
    if p.session_key.is_some() {
        // Present for temporary credentials: true, with the age of the authentication, when
        // they were obtained with an MFA code (the global condition keys page).
        match pp.mfa_authenticated {
            Some(at) => {
                c.set("aws:MultiFactorAuthPresent", "true");
                c.set("aws:MultiFactorAuthAge", (now.unix_timestamp() - at).max(0).to_string());
            }
            None => c.set("aws:MultiFactorAuthPresent", "false"),
        }
        // Present only for temporary credentials, as the global condition keys page says.
        if let Some(t) = pp.token_issued.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()) {
            c.set("aws:TokenIssueTime", t.format(&iso).unwrap_or_default());
        }
    }
    for (k, v) in &pp.tags {
        c.set(&format!("aws:PrincipalTag/{k}"), v.clone());
    }
    c
}

/// Decides one request. With `enforce` off, every principal is judged as the root of its
/// account (free in its own account, across accounts only what the resource grants).
pub fn authorize(
    ctx: &RequestContext,
    a: &Authorization,
    store: &dyn PolicyStore,
    enforce: bool,
    access_denied: impl Fn(&RequestContext, &Authorization, &Evaluation) -> AwsError,
) -> Result<Decided, AwsError> {
    let pp = match &ctx.principal {
        Some(p) if enforce && !matches!(p.kind, PrincipalKind::Root | PrincipalKind::Service) => {
            store.principal_policies(p)
        }
        _ => PrincipalPolicies::default(),
    };
    let decided = decide_one(ctx, a, &pp, enforce).map_err(|e| access_denied(ctx, a, &e))?;
    for further in &a.also {
        decide_one(ctx, further, &pp, enforce).map_err(|e| access_denied(ctx, further, &e))?;
    }
    Ok(decided)
}

/// One permission: the deciding statement when allowed, the evaluation when denied.
fn decide_one(
    ctx: &RequestContext,
    a: &Authorization,
    pp: &PrincipalPolicies,
    enforce: bool,
) -> Result<Decided, Evaluation> {
    if a.always_allowed {
        return Ok(Decided { statement: None });
    }
    // Condition keys only matter to policies; most requests of an account's root have none.
    let any_policy =
        !pp.identity.is_empty() || pp.boundary.is_some() || !pp.session.is_empty() || a.resource_policy.is_some();
    let mut context =
        if any_policy { global_context(ctx, pp, time::OffsetDateTime::now_utc()) } else { Context::default() };
    if any_policy {
        // The account owning the resource: the service knows it, or the ARN names it.
        let resource_account = a.owner_account.as_deref().or_else(|| {
            a.resource.split(':').nth(4).filter(|acct| acct.len() == 12 && acct.bytes().all(|b| b.is_ascii_digit()))
        });
        if let Some(acct) = resource_account {
            context.set("aws:ResourceAccount", acct);
        }
        for (k, v) in a.context.iter() {
            context.set_all(k, v.to_vec());
        }
        if let Some(lazy) = &a.lazy_context {
            let policies = pp.identity.iter().chain(pp.boundary.iter()).chain(pp.session.iter()).map(|(_, p)| &**p);
            if policies
                .chain(a.resource_policy.as_deref())
                .any(|p| nuage_policy::keys::reads_key_prefix(p, lazy.prefix))
            {
                for (k, v) in (lazy.load)() {
                    context.set(&k, v);
                }
            }
        }
    }
    let caller = match &ctx.principal {
        None => Caller::anonymous(),
        Some(p) => Caller {
            // A service is never the root of an account, enforcing or not.
            kind: if enforce || p.kind == PrincipalKind::Service { caller_kind(p) } else { CallerKind::Root },
            arn: &p.arn,
            account: &p.account_id,
            role_arn: p.role_arn.as_deref(),
            canonical_id: Some(&p.canonical_id),
        },
    };
    let set = PolicySet {
        identity: pp.identity.iter().map(|(name, policy)| Source { name, policy }).collect(),
        resource: a.resource_policy.as_deref().map(|policy| Source { name: "resource policy", policy }),
        resource_grant: a.granted_by_resource,
        boundary: pp.boundary.as_ref().map(|(name, policy)| Source { name, policy }),
        session: pp.session.iter().map(|(name, policy)| Source { name, policy }).collect(),
        resource_required: a.resource_policy_required,
    };
    let request = Request {
        caller,
        action: a.action,
        resource: &a.resource,
        resource_account: a.owner_account.as_deref(),
        context: &context,
    };
    let evaluation = evaluate(&request, &set);
    let statement = evaluation.deciding().map(|m| match &m.sid {
        Some(sid) => format!("{}#{} ({sid})", m.policy, m.index),
        None => format!("{}#{}", m.policy, m.index),
    });
    if evaluation.allowed() {
        Ok(Decided { statement })
    } else {
        tracing::debug!(statement = statement.as_deref().unwrap_or("-"), "denied");
        Err(evaluation)
    }
}

/// AWS's AccessDenied: the full message for signed callers, S3's terse one for anonymous ones.
pub fn default_access_denied(code: &'static str, ctx: &RequestContext, a: &Authorization, e: &Evaluation) -> AwsError {
    match &ctx.principal {
        Some(p) => AwsError::new(code, 403, e.deny_message(&p.arn, a.action, &a.resource)),
        None => AwsError::new(code, 403, "Access Denied"),
    }
}
