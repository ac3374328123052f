//! STS on the query protocol: who am I, and temporary credentials (AssumeRole,
//! GetSessionToken) whose session token SigV4 checks and which expire.
use crate::state::{new_id, new_secret, Session, Tag};
use crate::{ci, malformed_policy, validation, Iam};
use nuage_core::{AwsError, AwsResult, Principal, PrincipalKind, RequestContext};
use nuage_front::{Authorization, Row, TypedService};
use nuage_policy::{Context, Policy, PolicyKind};
use nuage_protocol::common::Common;
use nuage_protocol::sts::errors::Error as E;
use nuage_protocol::sts::ops::Operation as O;
use nuage_protocol::{sts as m, Protocol, Timestamp};
use rand::Rng;
use std::sync::Arc;

pub struct StsService {
    iam: Arc<Iam>,
}

impl StsService {
    pub fn new(iam: Arc<Iam>) -> StsService {
        StsService { iam }
    }
}

fn signed(ctx: &RequestContext) -> AwsResult<&Principal> {
    ctx.principal.as_ref().ok_or_else(Common::missing_token)
}

/// The largest session token STS issues, against which SessionTokenUtilization is counted.
const MAX_TOKEN_SIZE: usize = 4096;

/// A new session token, at least `minimum` bytes long (MinimumSessionTokenSize).
fn session_token(minimum: Option<i32>) -> String {
    use base64::Engine as _;
    let base = "FwoGZXIvYXdzE".len();
    let want = (minimum.unwrap_or(0).max(0) as usize).saturating_sub(base);
    // Four base64 characters carry three bytes.
    let raw = 240.max(want.div_ceil(4) * 3);
    let bytes: Vec<u8> = (0..raw).map(|_| rand::thread_rng().gen()).collect();
    format!("FwoGZXIvYXdzE{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// New temporary credentials for `principal` (its session key set to theirs), lasting
/// `duration` seconds, with nothing else yet: callers fill in what their operation gives.
fn new_session(mut principal: Principal, duration: i32, minimum_token: Option<i32>) -> Session {
    let access_key = new_id("ASIA");
    principal.session_key = Some(access_key.clone());
    Session {
        access_key,
        secret: new_secret(),
        token: session_token(minimum_token),
        expires: now_secs() + duration as i64,
        principal,
        role: None,
        policy: None,
        parsed_policy: None,
        policy_arns: Vec::new(),
        tags: Vec::new(),
        issued: now_secs(),
        source_identity: None,
        transitive_tag_keys: Vec::new(),
        mfa_authenticated: None,
        federated_by: None,
    }
}

/// A principal of the account `acct` that temporary credentials act as.
fn temporary_principal(
    acct: &nuage_core::identity::Account,
    kind: PrincipalKind,
    name: &str,
    arn: &str,
    user_id: &str,
    role_arn: Option<String>,
) -> Principal {
    Principal {
        account_id: acct.id.clone(),
        kind,
        name: name.to_string(),
        arn: arn.to_string(),
        user_id: user_id.to_string(),
        canonical_id: acct.canonical_id.clone(),
        display_name: acct.display_name.clone(),
        role_arn,
        session_key: None,
        source_arn: None,
        source_account: None,
    }
}

/// A request's session policies checked as STS checks them: the inline one within the packed
/// size and valid, the managed ones existing. Returns the managed ones' ARNs.
fn session_policies(
    iam: &Iam,
    st: &crate::state::AccountState,
    policy: &Option<String>,
    arns: Option<Vec<m::PolicyDescriptorType>>,
) -> AwsResult<Vec<String>> {
    if let Some(doc) = policy {
        if nuage_policy::policy_size(doc) > 2048 {
            return Err(E::PackedPolicyTooLargeException
                .msg("Packed policy consumes more than 100 percent of the allotted size for session policies."));
        }
        Policy::parse(doc, PolicyKind::Identity).map_err(malformed_policy)?;
    }
    let arns: Vec<String> = arns.unwrap_or_default().into_iter().filter_map(|p| p.arn).collect();
    for arn in &arns {
        if iam.managed(st, arn).is_none() {
            return Err(Common::InvalidParameterValue.msg(format!("Invalid policy ARN: {arn}")));
        }
    }
    Ok(arns)
}

/// A request's session tags as (key, value) pairs, for its condition keys.
fn tag_pairs(tags: &Option<Vec<m::Tag>>) -> Vec<(String, String)> {
    tags.iter().flatten().map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default())).collect()
}

/// SessionTokenSize and SessionTokenUtilization of a response.
fn token_size(s: &Session) -> (Option<i32>, Option<i32>) {
    let size = s.token.len();
    (Some(size as i32), Some((size * 100 / MAX_TOKEN_SIZE).min(100) as i32))
}

fn now_secs() -> i64 {
    crate::state::now_ms() / 1000
}

/// `[\w+=,.@-]{2,64}`: role session names and source identities.
fn check_session_name(name: &str, field: &str) -> AwsResult<()> {
    if name.len() < 2 || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

fn duration_bounds(d: i32, max: i32) -> AwsResult<()> {
    if d < 900 {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )));
    }
    if d > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(())
}

fn credentials_out(s: &Session) -> m::Credentials {
    m::Credentials {
        access_key_id: Some(s.access_key.clone()),
        secret_access_key: Some(s.secret.clone()),
        session_token: Some(s.token.clone()),
        expiration: Some(Timestamp(s.expires * 1000)),
    }
}

fn get_caller_identity(ctx: &RequestContext) -> AwsResult<m::GetCallerIdentityResponse> {
    let p = signed(ctx)?;
    Ok(m::GetCallerIdentityResponse {
        user_id: Some(p.user_id.clone()),
        account: Some(p.account_id.clone()),
        arn: Some(p.arn.clone()),
    })
}

/// The role an AssumeRole request names: (account, role name).
fn role_of(arn: &str) -> Option<(String, String)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
    Some((account.to_string(), name.to_string()))
}

async fn assume_role(iam: &Iam, ctx: &RequestContext, input: m::AssumeRoleRequest) -> AwsResult<m::AssumeRoleResponse> {
    let caller = signed(ctx)?;
    let role_arn = input.role_arn.as_deref().ok_or_else(|| validation("RoleArn is required"))?;
    let session_name = input.role_session_name.as_deref().ok_or_else(|| validation("RoleSessionName is required"))?;
    check_session_name(session_name, "roleSessionName")?;
    if let Some(s) = &input.source_identity {
        check_session_name(s, "sourceIdentity")?;
    }
    // Trusted context assertions come from providers (IAM Identity Center) nuage cannot
    // verify offline: refused rather than ignored.
    if input.provided_contexts.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err(Common::InvalidParameterValue
            .msg("ProvidedContexts (trusted identity propagation) are not served by nuage."));
    }
    let (account, role_name) = role_of(role_arn).ok_or_else(|| validation(format!("{role_arn} is invalid")))?;
    let st = iam.account(&account);
    let role = st.roles.get(&ci(&role_name)).ok_or_else(|| {
        Common::AccessDenied
            .msg(format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", caller.arn))
    })?;
    let duration = input.duration_seconds.unwrap_or(3600);
    if caller.kind == PrincipalKind::AssumedRole && duration > 3600 {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if duration > role.max_session_duration {
        return Err(validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role."));
    }
    duration_bounds(duration, 43200)?;
    let policy_arns = session_policies(iam, &st, &input.policy, input.policy_arns)?;
    let mfa_authenticated = check_mfa(iam, caller, &input.serial_number, &input.token_code).await?;
    let chained = Chained::of(iam, caller);
    let source_identity = chained.source_identity(input.source_identity.as_deref())?;
    let (tags, transitive_tag_keys) =
        chained.session_tags(input.tags.unwrap_or_default(), input.transitive_tag_keys.unwrap_or_default())?;
    let acct = iam.identities.account(&account).ok_or_else(|| AwsError::internal("role account unknown"))?;
    let arn = format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}");
    let user_id = format!("{}:{session_name}", role.id);
    let principal =
        temporary_principal(&acct, PrincipalKind::AssumedRole, session_name, &arn, &user_id, Some(role.arn.clone()));
    let session = Session {
        role: Some((account.clone(), role_name.clone())),
        policy: input.policy.clone(),
        policy_arns,
        tags,
        source_identity: source_identity.clone(),
        transitive_tag_keys,
        mfa_authenticated,
        ..new_session(principal, duration, input.minimum_session_token_size)
    };
    iam.put_session(session.clone()).await?;
    let (session_token_size, session_token_utilization) = token_size(&session);
    Ok(m::AssumeRoleResponse {
        session_token_size,
        session_token_utilization,
        credentials: Some(credentials_out(&session)),
        assumed_role_user: Some(m::AssumedRoleUser { assumed_role_id: Some(user_id), arn: Some(arn) }),
        packed_policy_size: input.policy.as_ref().map(|d| (nuage_policy::policy_size(d) * 100 / 2048) as i32),
        source_identity,
    })
}

/// GetFederationToken: a federated user with the calling user's permissions, capped by the
/// session policies passed (none passed: no permission at all).
async fn get_federation_token(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetFederationTokenRequest,
) -> AwsResult<m::GetFederationTokenResponse> {
    let caller = signed(ctx)?;
    if caller.session_key.is_some() || !matches!(caller.kind, PrincipalKind::User | PrincipalKind::Root) {
        return Err(Common::AccessDenied.msg("Cannot call GetFederationToken with session credentials"));
    }
    let name = input.name.as_deref().ok_or_else(|| validation("Name is required"))?;
    check_session_name(name, "name")?;
    let root = caller.kind == PrincipalKind::Root;
    let duration = input.duration_seconds.unwrap_or(if root { 3600 } else { 43_200 });
    duration_bounds(duration, if root { 3600 } else { 129_600 })?;
    let policy_arns = session_policies(iam, &iam.account(&caller.account_id), &input.policy, input.policy_arns)?;
    let (tags, _) = Chained::default().session_tags(input.tags.unwrap_or_default(), Vec::new())?;
    let account = caller.account_id.clone();
    let acct = iam.identities.account(&account).ok_or_else(|| AwsError::internal("the caller's account is unknown"))?;
    let arn = format!("arn:aws:sts::{account}:federated-user/{name}");
    let user_id = format!("{account}:{name}");
    let principal = temporary_principal(&acct, PrincipalKind::FederatedUser, name, &arn, &user_id, None);
    let session = Session {
        policy: input.policy.clone(),
        policy_arns,
        tags,
        federated_by: (caller.kind == PrincipalKind::User).then(|| caller.name.clone()),
        ..new_session(principal, duration, input.minimum_session_token_size)
    };
    iam.put_session(session.clone()).await?;
    let (session_token_size, session_token_utilization) = token_size(&session);
    Ok(m::GetFederationTokenResponse {
        credentials: Some(credentials_out(&session)),
        federated_user: Some(m::FederatedUser { federated_user_id: Some(user_id), arn: Some(arn) }),
        packed_policy_size: input.policy.as_ref().map(|d| (nuage_policy::policy_size(d) * 100 / 2048) as i32),
        session_token_size,
        session_token_utilization,
    })
}

/// GetAccessKeyInfo: the account an access key belongs to, whatever its state.
fn get_access_key_info(iam: &Iam, input: m::GetAccessKeyInfoRequest) -> AwsResult<m::GetAccessKeyInfoResponse> {
    let key = input.access_key_id.as_deref().ok_or_else(|| validation("AccessKeyId is required"))?;
    let account = iam
        .identities
        .credential(key)
        .map(|c| c.principal.account_id)
        .or_else(|| iam.session(key).map(|s| s.principal.account_id.clone()))
        .or_else(|| iam.key_owner(key))
        .ok_or_else(|| Common::InvalidParameterValue.msg(format!("The access key {key} is not one nuage issued.")))?;
    Ok(m::GetAccessKeyInfoResponse { account: Some(account) })
}

/// An MFA code given with SerialNumber and TokenCode: checked against the calling user's
/// device (and used up); when it is valid, the time the session authenticated with MFA.
async fn check_mfa(
    iam: &Iam,
    caller: &Principal,
    serial: &Option<String>,
    code: &Option<String>,
) -> AwsResult<Option<i64>> {
    let failed = |why: &str| Common::AccessDenied.msg(format!("MultiFactorAuthentication failed{why}"));
    let (serial, code) = match (serial, code) {
        (None, None) => return Ok(None),
        (Some(s), Some(c)) => (s.clone(), c.clone()),
        _ => return Err(failed(", must provide both MFA serial number and one time pass code.")),
    };
    let unknown =
        ", unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.";
    if !matches!(caller.kind, PrincipalKind::User | PrincipalKind::UserSession) {
        return Err(failed(unknown));
    }
    let user = caller.name.clone();
    let now = now_secs();
    let checked = iam
        .update(&caller.account_id, move |st| {
            let device = st
                .mfa_devices
                .get_mut(&serial)
                .filter(|d| d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&user)));
            let Some(device) = device else { return Ok(Err(unknown)) };
            match crate::mfa::verify(&device.seed, &code, now, device.last_step) {
                Some(step) => {
                    device.last_step = step;
                    Ok(Ok(()))
                }
                None => Ok(Err(" with invalid MFA one time pass code.")),
            }
        })
        .await?;
    checked.map(|()| Some(now)).map_err(failed)
}

/// What a session assuming another role passes on (role chaining): its source identity, which
/// cannot change, and its transitive session tags, which cannot be overridden.
#[derive(Default)]
struct Chained {
    source_identity: Option<String>,
    transitive: Vec<Tag>,
}

impl Chained {
    fn of(iam: &Iam, caller: &Principal) -> Chained {
        let Some(s) = caller.session_key.as_deref().and_then(|k| iam.session(k)) else { return Chained::default() };
        let transitive = s
            .tags
            .iter()
            .filter(|t| s.transitive_tag_keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)))
            .cloned()
            .collect();
        Chained { source_identity: s.source_identity.clone(), transitive }
    }

    fn source_identity(&self, asked: Option<&str>) -> AwsResult<Option<String>> {
        match (&self.source_identity, asked) {
            (Some(kept), Some(asked)) if kept != asked => Err(Common::AccessDenied.msg(format!(
                "The source identity of a role session cannot be changed: the calling session's is {kept}, not {asked}."
            ))),
            (Some(kept), _) => Ok(Some(kept.clone())),
            (None, asked) => Ok(asked.map(str::to_string)),
        }
    }

    /// The new session's tags and transitive keys: those asked for, plus the inherited ones.
    fn session_tags(&self, asked: Vec<m::Tag>, transitive_keys: Vec<String>) -> AwsResult<(Vec<Tag>, Vec<String>)> {
        let mut tags: Vec<Tag> = Vec::new();
        for t in asked {
            let tag = Tag { key: t.key.unwrap_or_default(), value: t.value.unwrap_or_default() };
            // Tag keys are case-insensitive: one key may not be given twice.
            if tags.iter().any(|x| x.key.eq_ignore_ascii_case(&tag.key)) {
                return Err(Common::InvalidParameterValue.msg(format!(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive: {}",
                    tag.key
                )));
            }
            if self.transitive.iter().any(|x| x.key.eq_ignore_ascii_case(&tag.key)) {
                return Err(Common::InvalidParameterValue.msg(format!(
                    "One or more of the specified session tags conflict with the transitive tags of the calling session: {}",
                    tag.key
                )));
            }
            tags.push(tag);
        }
        for k in &transitive_keys {
            if !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)) {
                return Err(Common::InvalidParameterValue
                    .msg(format!("The specified transitive tag key must be included in the requested tags: {k}")));
            }
        }
        let mut keys = transitive_keys;
        for t in &self.transitive {
            keys.push(t.key.clone());
            tags.push(t.clone());
        }
        Ok((tags, keys))
    }
}

async fn get_session_token(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetSessionTokenRequest,
) -> AwsResult<m::GetSessionTokenResponse> {
    let caller = signed(ctx)?;
    if caller.session_key.is_some() {
        return Err(Common::AccessDenied.msg("Cannot call GetSessionToken with session credentials"));
    }
    let mfa_authenticated = check_mfa(iam, caller, &input.serial_number, &input.token_code).await?;
    let max = if caller.kind == PrincipalKind::Root { 3600 } else { 129_600 };
    let duration = input.duration_seconds.unwrap_or(if caller.kind == PrincipalKind::Root { 3600 } else { 43_200 });
    duration_bounds(duration, max)?;
    let mut principal = caller.clone();
    if principal.kind == PrincipalKind::User {
        principal.kind = PrincipalKind::UserSession;
    }
    let session = Session { mfa_authenticated, ..new_session(principal, duration, input.minimum_session_token_size) };
    iam.put_session(session.clone()).await?;
    let (session_token_size, session_token_utilization) = token_size(&session);
    Ok(m::GetSessionTokenResponse {
        credentials: Some(credentials_out(&session)),
        session_token_size,
        session_token_utilization,
    })
}

impl TypedService for StsService {
    type Operation = O;

    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("ValidationError")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        let iam = &*self.iam;
        // Anyone signed may ask who they are, or get a session of their own.
        let anyone =
            |action| Authorization { action, resource: "*".into(), always_allowed: true, ..Default::default() };
        // Federated users' credentials call no STS operation but GetCallerIdentity.
        let federated = ctx.principal.as_ref().is_some_and(|p| p.kind == PrincipalKind::FederatedUser);
        if federated && !matches!(op, O::GetCallerIdentity(_)) {
            let name = nuage_protocol::Operation::name(&op);
            return Row::authorized(anyone("sts:*"), async move {
                Err::<nuage_front::NoOutput, _>(
                    Common::AccessDenied.msg(format!("Cannot call {name} with federated user credentials")),
                )
            });
        }
        match op {
            O::GetCallerIdentity(_) => {
                Row::authorized(anyone("sts:GetCallerIdentity"), async move { get_caller_identity(ctx) })
            }
            O::GetSessionToken(i) => Row::authorized(anyone("sts:GetSessionToken"), get_session_token(iam, ctx, i)),
            O::AssumeRole(i) => Row::authorized(self.assume_role_authorization(ctx, &i), assume_role(iam, ctx, i)),
            O::GetFederationToken(i) => {
                let account = ctx.account_id().unwrap_or_default();
                let name = i.name.clone().unwrap_or_default();
                let mut a = Authorization {
                    action: "sts:GetFederationToken",
                    resource: format!("arn:aws:sts::{account}:federated-user/{name}"),
                    ..Default::default()
                };
                let tags = tag_pairs(&i.tags);
                if !tags.is_empty() {
                    a.also.push(Authorization { action: "sts:TagSession", ..a.clone() });
                }
                a.context.set_request_tags(tags, Vec::new());
                Row::authorized(a, get_federation_token(iam, ctx, i))
            }
            O::GetAccessKeyInfo(i) => {
                Row::serve("sts:GetAccessKeyInfo", "*", async move { get_access_key_info(iam, i) })
            }
            O::AssumeRoleWithSAML(_)
            | O::AssumeRoleWithWebIdentity(_)
            | O::AssumeRoot(_)
            | O::DecodeAuthorizationMessage(_)
            | O::GetDelegatedAccessToken(_)
            | O::GetWebIdentityToken(_) => Row::NotServed,
        }
    }
}

impl StsService {
    /// AssumeRole: the role's trust policy is the resource policy, and it must allow; the
    /// session's name, external id, source identity and tags are condition keys.
    fn assume_role_authorization(&self, ctx: &RequestContext, i: &m::AssumeRoleRequest) -> Authorization {
        let role_arn = i.role_arn.clone().unwrap_or_default();
        let mut a = Authorization {
            action: "sts:AssumeRole",
            resource: role_arn.clone(),
            resource_policy_required: true,
            ..Default::default()
        };
        let mut c = Context::default();
        if let Some((account, role_name)) = role_of(&role_arn) {
            if let Some(role) = self.iam.account(&account).roles.get(&ci(&role_name)) {
                a.resource_policy = role.trust.parsed.clone();
                a.resource = role.arn.clone();
                crate::api::resource_tags(&role.tags, &mut c);
            }
            a.owner_account = Some(account);
        }
        // A chained session keeps its source identity: the next role's trust policy sees it.
        let chained = ctx.principal.as_ref().map(|p| Chained::of(&self.iam, p)).unwrap_or_default();
        let source_identity = chained.source_identity.clone().or_else(|| i.source_identity.clone());
        for (key, v) in [
            ("sts:RoleSessionName", &i.role_session_name),
            ("sts:ExternalId", &i.external_id),
            ("sts:SourceIdentity", &source_identity),
        ] {
            if let Some(v) = v {
                c.set(key, v.clone());
            }
        }
        let tags = tag_pairs(&i.tags);
        let tagging = !tags.is_empty();
        // An MFA code given with the request makes it MFA-authenticated for the trust policy
        // (`aws:MultiFactorAuthPresent`); the handler refuses it if the code is not valid.
        if i.serial_number.is_some() && i.token_code.is_some() {
            c.set("aws:MultiFactorAuthPresent", "true");
            c.set("aws:MultiFactorAuthAge", "0");
        }
        c.set_request_tags(tags, Vec::new());
        if let Some(keys) = i.transitive_tag_keys.as_ref().filter(|k| !k.is_empty()) {
            c.set_all("sts:TransitiveTagKeys", keys.clone());
        }
        a.context = c;
        // Passing session tags and setting a source identity are permissions of their own,
        // which the trust policy (and, unless it names the caller, an identity policy) must
        // grant (the session-tags and source-identity pages).
        let also = |action| Authorization { action, also: Vec::new(), ..a.clone() };
        let mut further = Vec::new();
        if tagging {
            further.push(also("sts:TagSession"));
        }
        if source_identity.is_some() {
            further.push(also("sts:SetSourceIdentity"));
        }
        a.also = further;
        a
    }
}
