//! The IAM API on the query protocol: the operation table (each operation's IAM action and
//! resource) and the typed handlers.
use crate::state::{
    new_id, new_secret, now_ms, AccessKey, AccountState, Group, Inline, InstanceProfile, LoginProfile, ManagedPolicy,
    PolicyVersion, Role, Tag, User,
};
use crate::{
    already_exists, ci, delete_conflict, invalid_input, limit_exceeded, malformed_policy, managed, no_such_entity,
    validation, Iam,
};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::Authorization;
use nuage_policy::{policy_size, Context, Policy, PolicyKind};
use nuage_protocol::iam as m;
use nuage_protocol::{Protocol, Timestamp};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What an operation acts on, for its resource ARN.
#[derive(Clone, Copy)]
enum On {
    /// `UserName`, or the caller's own user when absent.
    User,
    Group,
    Role,
    /// `PolicyArn`.
    Policy,
    /// `PolicyName` and `Path` of a policy being created.
    NewPolicy,
    InstanceProfile,
    /// `PolicySourceArn`.
    PolicySource,
    /// `OpenIDConnectProviderArn`, or the `Url` of a provider being created.
    Oidc,
    Any,
}

pub struct IamService {
    iam: Arc<Iam>,
}

impl IamService {
    pub fn new(iam: Arc<Iam>) -> IamService {
        IamService { iam }
    }
}

fn caller_account(ctx: &RequestContext) -> AwsResult<&str> {
    ctx.account_id()
        .ok_or_else(|| AwsError::new("MissingAuthenticationToken", 403, "Request is missing Authentication Token"))
}

/// The caller's own user name (operations on "yourself" omit UserName).
fn caller_user(ctx: &RequestContext) -> Option<&str> {
    ctx.principal.as_ref().filter(|p| p.kind != nuage_core::PrincipalKind::Root).map(|p| p.name.as_str())
}

/// `aws:ResourceTag/<key>` (and IAM's own `iam:ResourceTag/<key>`) for a tagged resource.
pub(crate) fn resource_tags(tags: &[Tag], c: &mut Context) {
    for t in tags {
        c.set(&format!("aws:ResourceTag/{}", t.key), t.value.clone());
        c.set(&format!("iam:ResourceTag/{}", t.key), t.value.clone());
    }
}

// ---- validation and conversions ----

fn required<'a>(v: &'a Option<String>, name: &str) -> AwsResult<&'a str> {
    v.as_deref().ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(name)
        ))
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_lowercase().chain(c).collect()).unwrap_or_default()
}

/// Names of users, groups, roles, policies: `[\w+=,.@-]+`, 1 to `max` characters.
fn check_name(name: &str, field: &str, max: usize) -> AwsResult<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at '{}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
            lower_first(field)
        )))
    }
}

fn check_path(path: &str) -> AwsResult<()> {
    let ok = path == "/"
        || (path.starts_with('/')
            && path.ends_with('/')
            && path.len() <= 512
            && path.chars().all(|c| ('!'..='~').contains(&c)));
    if ok {
        Ok(())
    } else {
        Err(validation("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."))
    }
}

/// Parses a document for `kind` within IAM's size quota.
fn parse_document(
    doc: &str,
    kind: PolicyKind,
    quota: usize,
    quota_error: impl FnOnce() -> AwsError,
) -> AwsResult<Policy> {
    if policy_size(doc) > quota {
        return Err(quota_error());
    }
    Policy::parse(doc, kind).map_err(malformed_policy)
}

/// IAM returns policy documents URL-encoded (RFC 3986), as AWS does.
fn encode_doc(doc: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(doc, SET).to_string()
}

fn tags_out(tags: &[Tag]) -> Option<Vec<m::Tag>> {
    (!tags.is_empty())
        .then(|| tags.iter().map(|t| m::Tag { key: Some(t.key.clone()), value: Some(t.value.clone()) }).collect())
}

fn tags_in(tags: Option<Vec<m::Tag>>) -> AwsResult<Vec<Tag>> {
    let tags: Vec<Tag> = tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| Tag { key: t.key.unwrap_or_default(), value: t.value.unwrap_or_default() })
        .collect();
    if tags.len() > 50 {
        return Err(limit_exceeded("The number of tags has reached the maximum limit."));
    }
    Ok(tags)
}

fn merge_tags(into: &mut Vec<Tag>, new: Vec<Tag>) -> AwsResult<()> {
    for t in new {
        into.retain(|x| x.key != t.key);
        into.push(t);
    }
    if into.len() > 50 {
        return Err(limit_exceeded("The number of tags has reached the maximum limit."));
    }
    Ok(())
}

fn boundary_out(b: &Option<String>) -> Option<m::AttachedPermissionsBoundary> {
    b.as_ref().map(|arn| m::AttachedPermissionsBoundary {
        permissions_boundary_type: Some("PermissionsBoundaryPolicy".into()),
        permissions_boundary_arn: Some(arn.clone()),
    })
}

fn user_out(u: &User) -> m::User {
    m::User {
        path: Some(u.path.clone()),
        user_name: Some(u.name.clone()),
        user_id: Some(u.id.clone()),
        arn: Some(u.arn.clone()),
        create_date: Some(Timestamp(u.created)),
        permissions_boundary: boundary_out(&u.boundary),
        tags: tags_out(&u.tags),
        ..Default::default()
    }
}

fn group_out(g: &Group) -> m::Group {
    m::Group {
        path: Some(g.path.clone()),
        group_name: Some(g.name.clone()),
        group_id: Some(g.id.clone()),
        arn: Some(g.arn.clone()),
        create_date: Some(Timestamp(g.created)),
    }
}

fn role_out(r: &Role) -> m::Role {
    m::Role {
        path: Some(r.path.clone()),
        role_name: Some(r.name.clone()),
        role_id: Some(r.id.clone()),
        arn: Some(r.arn.clone()),
        create_date: Some(Timestamp(r.created)),
        assume_role_policy_document: Some(encode_doc(&r.trust.document)),
        description: r.description.clone(),
        max_session_duration: Some(r.max_session_duration),
        permissions_boundary: boundary_out(&r.boundary),
        tags: tags_out(&r.tags),
        ..Default::default()
    }
}

fn policy_out(st: &AccountState, p: &ManagedPolicy) -> m::Policy {
    m::Policy {
        policy_name: Some(p.name.clone()),
        policy_id: Some(p.id.clone()),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.default_version.clone()),
        attachment_count: Some(st.attachment_count(&p.arn)),
        permissions_boundary_usage_count: Some(st.boundary_count(&p.arn)),
        is_attachable: Some(true),
        description: p.description.clone(),
        create_date: Some(Timestamp(p.created)),
        update_date: Some(Timestamp(p.updated)),
        tags: tags_out(&p.tags),
    }
}

fn aws_policy_out(st: &AccountState, p: &managed::AwsPolicy) -> m::Policy {
    m::Policy {
        policy_name: Some(p.name.clone()),
        policy_id: Some(format!("ANPA{}", &p.name.to_ascii_uppercase().replace('_', "")[..p.name.len().min(17)])),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.version.clone()),
        attachment_count: Some(st.attachment_count(&p.arn)),
        permissions_boundary_usage_count: Some(st.boundary_count(&p.arn)),
        is_attachable: Some(true),
        description: None,
        create_date: Some(Timestamp(p.created)),
        update_date: Some(Timestamp(p.updated)),
        tags: None,
    }
}

fn instance_profile_out(st: &AccountState, p: &InstanceProfile) -> m::InstanceProfile {
    m::InstanceProfile {
        path: Some(p.path.clone()),
        instance_profile_name: Some(p.name.clone()),
        instance_profile_id: Some(p.id.clone()),
        arn: Some(p.arn.clone()),
        create_date: Some(Timestamp(p.created)),
        roles: Some(p.roles.iter().filter_map(|r| st.roles.get(&ci(r))).map(role_out).collect()),
        tags: tags_out(&p.tags),
    }
}

/// A page of a listing: IAM's Marker / MaxItems / IsTruncated.
fn page<T>(items: Vec<T>, marker: Option<&str>, max_items: Option<i32>) -> AwsResult<(Vec<T>, bool, Option<String>)> {
    let start = match marker {
        Some(m) => m.parse::<usize>().map_err(|_| invalid_input("Invalid Marker."))?,
        None => 0,
    };
    let max = max_items.unwrap_or(100).clamp(1, 1000) as usize;
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start + items.len();
    let truncated = end < total;
    Ok((items, truncated, truncated.then(|| end.to_string())))
}

fn path_prefix_ok(path: &str, prefix: &Option<String>) -> bool {
    prefix.as_deref().is_none_or(|p| path.starts_with(p))
}

fn no_user(name: &str) -> AwsError {
    no_such_entity(format!("The user with name {name} cannot be found."))
}

fn no_group(name: &str) -> AwsError {
    no_such_entity(format!("The group with name {name} cannot be found."))
}

fn no_role(name: &str) -> AwsError {
    no_such_entity(format!("The role with name {name} cannot be found."))
}

fn no_policy(arn: &str) -> AwsError {
    no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

fn user_mut<'a>(st: &'a mut AccountState, name: &str) -> AwsResult<&'a mut User> {
    st.users.get_mut(&ci(name)).ok_or_else(|| no_user(name))
}

fn group_mut<'a>(st: &'a mut AccountState, name: &str) -> AwsResult<&'a mut Group> {
    st.groups.get_mut(&ci(name)).ok_or_else(|| no_group(name))
}

fn role_mut<'a>(st: &'a mut AccountState, name: &str) -> AwsResult<&'a mut Role> {
    st.roles.get_mut(&ci(name)).ok_or_else(|| no_role(name))
}

/// The user an operation names, or the caller itself.
/// The user an access-key operation names, or the caller; `""` stands for the account root,
/// whose own keys these operations manage when it omits UserName.
fn target_user(ctx: &RequestContext, name: &Option<String>) -> AwsResult<String> {
    match name.as_deref().or_else(|| caller_user(ctx)) {
        Some(n) => Ok(n.to_string()),
        None if ctx.principal.as_ref().is_some_and(|p| p.is_root()) => Ok(String::new()),
        None => Err(validation("Must specify userName when calling with non-User credentials")),
    }
}

// ---- users ----

async fn create_user(iam: &Iam, ctx: &RequestContext, input: m::CreateUserRequest) -> AwsResult<m::CreateUserResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.user_name, "UserName")?.to_string();
    check_name(&name, "UserName", 64)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let boundary = input.permissions_boundary;
    let tags = tags_in(input.tags)?;
    let acct = account.clone();
    let user = iam
        .update(&account, move |st| {
            if st.users.keys().any(|u| u.eq_ignore_ascii_case(&name)) {
                return Err(already_exists(format!("User with name {name} already exists.")));
            }
            if let Some(b) = &boundary {
                check_attachable(st, b)?;
            }
            let user = User {
                arn: format!("arn:aws:iam::{acct}:user{path}{name}"),
                name: name.clone(),
                path,
                id: new_id("AIDA"),
                created: now_ms(),
                tags,
                attached: Vec::new(),
                inline: BTreeMap::new(),
                boundary,
                login_profile: None,
            };
            st.users.insert(ci(&name), user.clone());
            Ok(user)
        })
        .await?;
    Ok(m::CreateUserResponse { user: Some(user_out(&user)) })
}

async fn get_user(iam: &Iam, ctx: &RequestContext, input: m::GetUserRequest) -> AwsResult<m::GetUserResponse> {
    let account = caller_account(ctx)?;
    let Some(name) = input.user_name.as_deref().or_else(|| caller_user(ctx)) else {
        // The root asking about itself.
        let p = ctx.principal.as_ref().expect("signed");
        return Ok(m::GetUserResponse {
            user: Some(m::User {
                user_id: Some(p.account_id.clone()),
                arn: Some(p.arn.clone()),
                create_date: Some(Timestamp(0)),
                ..Default::default()
            }),
        });
    };
    let st = iam.account(account);
    let user = st.users.get(&ci(name)).ok_or_else(|| no_user(name))?;
    Ok(m::GetUserResponse { user: Some(user_out(user)) })
}

async fn list_users(iam: &Iam, ctx: &RequestContext, input: m::ListUsersRequest) -> AwsResult<m::ListUsersResponse> {
    let st = iam.account(caller_account(ctx)?);
    let users: Vec<m::User> = st
        .users
        .values()
        .filter(|u| path_prefix_ok(&u.path, &input.path_prefix))
        .map(|u| m::User { tags: None, ..user_out(u) })
        .collect();
    let (users, truncated, marker) = page(users, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListUsersResponse { users: Some(users), is_truncated: Some(truncated), marker })
}

async fn update_user(iam: &Iam, ctx: &RequestContext, input: m::UpdateUserRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.user_name, "UserName")?.to_string();
    if let Some(n) = &input.new_user_name {
        check_name(n, "NewUserName", 64)?;
    }
    if let Some(p) = &input.new_path {
        check_path(p)?;
    }
    let acct = account.clone();
    iam.update(&account, move |st| {
        let mut user = st.users.remove(&ci(&name)).ok_or_else(|| no_user(&name))?;
        if let Some(new) = &input.new_user_name {
            if new != &name && st.users.contains_key(&ci(new)) {
                return Err(already_exists(format!("User with name {new} already exists.")));
            }
            user.name = new.clone();
            for g in st.groups.values_mut() {
                for m in g.members.iter_mut().filter(|m| m.eq_ignore_ascii_case(&name)) {
                    *m = ci(new);
                }
            }
            for k in st.access_keys.values_mut().filter(|k| k.user.eq_ignore_ascii_case(&name)) {
                k.user = new.clone();
            }
        }
        if let Some(p) = input.new_path {
            user.path = p;
        }
        user.arn = format!("arn:aws:iam::{acct}:user{}{}", user.path, user.name);
        st.users.insert(ci(&user.name), user);
        Ok(())
    })
    .await
}

async fn delete_user(iam: &Iam, ctx: &RequestContext, input: m::DeleteUserRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.user_name, "UserName")?.to_string();
    iam.update(&account, move |st| {
        let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?;
        if !user.attached.is_empty() || !user.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        if st.access_keys.values().any(|k| k.user.eq_ignore_ascii_case(&name)) {
            return Err(delete_conflict("Cannot delete entity, must delete access keys first."));
        }
        if user.login_profile.is_some() {
            return Err(delete_conflict("Cannot delete entity, must delete login profile first."));
        }
        if st.groups.values().any(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&name))) {
            return Err(delete_conflict("Cannot delete entity, must remove user from all groups first."));
        }
        st.users.remove(&ci(&name));
        Ok(())
    })
    .await
}

// ---- access keys and login profiles ----

async fn create_access_key(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateAccessKeyRequest,
) -> AwsResult<m::CreateAccessKeyResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let key = iam
        .update(&account, move |st| {
            if !name.is_empty() && !st.users.contains_key(&ci(&name)) {
                return Err(no_user(&name));
            }
            if st.access_keys.values().filter(|k| k.user.eq_ignore_ascii_case(&name)).count() >= 2 {
                return Err(limit_exceeded("Cannot exceed quota for AccessKeysPerUser: 2"));
            }
            let key =
                AccessKey { id: new_id("AKIA"), secret: new_secret(), user: name, active: true, created: now_ms() };
            st.access_keys.insert(key.id.clone(), key.clone());
            Ok(key)
        })
        .await?;
    Ok(m::CreateAccessKeyResponse {
        access_key: Some(m::AccessKey {
            user_name: (!key.user.is_empty()).then_some(key.user),
            access_key_id: Some(key.id),
            status: Some("Active".into()),
            secret_access_key: Some(key.secret),
            create_date: Some(Timestamp(key.created)),
        }),
    })
}

fn key_status(active: bool) -> String {
    if active { "Active" } else { "Inactive" }.to_string()
}

async fn list_access_keys(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListAccessKeysRequest,
) -> AwsResult<m::ListAccessKeysResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = target_user(ctx, &input.user_name)?;
    if !name.is_empty() && !st.users.contains_key(&ci(&name)) {
        return Err(no_user(&name));
    }
    let keys: Vec<m::AccessKeyMetadata> = st
        .access_keys
        .values()
        .filter(|k| k.user.eq_ignore_ascii_case(&name))
        .map(|k| m::AccessKeyMetadata {
            user_name: Some(k.user.clone()),
            access_key_id: Some(k.id.clone()),
            status: Some(key_status(k.active)),
            create_date: Some(Timestamp(k.created)),
        })
        .collect();
    let (keys, truncated, marker) = page(keys, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListAccessKeysResponse { access_key_metadata: Some(keys), is_truncated: Some(truncated), marker })
}

fn find_key<'a>(st: &'a mut AccountState, id: &str, user: &str) -> AwsResult<&'a mut AccessKey> {
    st.access_keys
        .get_mut(id)
        .filter(|k| k.user.eq_ignore_ascii_case(user))
        .ok_or_else(|| no_such_entity(format!("The Access Key with id {id} cannot be found")))
}

async fn update_access_key(iam: &Iam, ctx: &RequestContext, input: m::UpdateAccessKeyRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let id = required(&input.access_key_id, "AccessKeyId")?.to_string();
    let active = match required(&input.status, "Status")? {
        "Active" => true,
        "Inactive" => false,
        other => return Err(validation(format!("Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"))),
    };
    iam.update(&account, move |st| {
        find_key(st, &id, &name)?.active = active;
        Ok(())
    })
    .await
}

async fn delete_access_key(iam: &Iam, ctx: &RequestContext, input: m::DeleteAccessKeyRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let id = required(&input.access_key_id, "AccessKeyId")?.to_string();
    iam.update(&account, move |st| {
        find_key(st, &id, &name)?;
        st.access_keys.remove(&id);
        Ok(())
    })
    .await
}

async fn get_access_key_last_used(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetAccessKeyLastUsedRequest,
) -> AwsResult<m::GetAccessKeyLastUsedResponse> {
    let st = iam.account(caller_account(ctx)?);
    let id = required(&input.access_key_id, "AccessKeyId")?;
    let key = st.access_keys.get(id).ok_or_else(|| AwsError::new("AccessDenied", 403, "Access Denied"))?;
    let used = iam.key_last_used(id);
    Ok(m::GetAccessKeyLastUsedResponse {
        user_name: Some(key.user.clone()),
        access_key_last_used: Some(match used {
            Some(u) => m::AccessKeyLastUsed {
                last_used_date: Some(Timestamp(u.date_ms)),
                service_name: Some(u.service),
                region: Some(u.region),
            },
            // Never used: AWS answers N/A for both.
            None => m::AccessKeyLastUsed {
                service_name: Some("N/A".into()),
                region: Some("N/A".into()),
                ..Default::default()
            },
        }),
    })
}

async fn create_login_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateLoginProfileRequest,
) -> AwsResult<m::CreateLoginProfileResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let reset = input.password_reset_required.unwrap_or(false);
    let profile = iam
        .update(&account, move |st| {
            let user = user_mut(st, &name)?;
            if user.login_profile.is_some() {
                return Err(already_exists(format!("Login Profile for user {name} already exists.")));
            }
            let p = LoginProfile { created: now_ms(), password_reset_required: reset };
            user.login_profile = Some(p.clone());
            Ok((name, p))
        })
        .await?;
    Ok(m::CreateLoginProfileResponse { login_profile: Some(login_profile_out(&profile.0, &profile.1)) })
}

fn login_profile_out(user: &str, p: &LoginProfile) -> m::LoginProfile {
    m::LoginProfile {
        user_name: Some(user.to_string()),
        create_date: Some(Timestamp(p.created)),
        password_reset_required: Some(p.password_reset_required),
    }
}

async fn get_login_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetLoginProfileRequest,
) -> AwsResult<m::GetLoginProfileResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = target_user(ctx, &input.user_name)?;
    let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?;
    let p = user
        .login_profile
        .as_ref()
        .ok_or_else(|| no_such_entity(format!("Login Profile for User {name} cannot be found.")))?;
    Ok(m::GetLoginProfileResponse { login_profile: Some(login_profile_out(&name, p)) })
}

async fn update_login_profile(iam: &Iam, ctx: &RequestContext, input: m::UpdateLoginProfileRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    iam.update(&account, move |st| {
        let user = user_mut(st, &name)?;
        let p = user
            .login_profile
            .as_mut()
            .ok_or_else(|| no_such_entity(format!("Login Profile for User {name} cannot be found.")))?;
        if let Some(r) = input.password_reset_required {
            p.password_reset_required = r;
        }
        Ok(())
    })
    .await
}

async fn delete_login_profile(iam: &Iam, ctx: &RequestContext, input: m::DeleteLoginProfileRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    iam.update(&account, move |st| {
        let user = user_mut(st, &name)?;
        if user.login_profile.take().is_none() {
            return Err(no_such_entity(format!("Login Profile for User {name} cannot be found.")));
        }
        Ok(())
    })
    .await
}

// ---- groups ----

async fn create_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateGroupRequest,
) -> AwsResult<m::CreateGroupResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    check_name(&name, "GroupName", 128)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let acct = account.clone();
    let group = iam
        .update(&account, move |st| {
            if st.groups.keys().any(|g| g.eq_ignore_ascii_case(&name)) {
                return Err(already_exists(format!("Group with name {name} already exists.")));
            }
            let g = Group {
                arn: format!("arn:aws:iam::{acct}:group{path}{name}"),
                name: name.clone(),
                path,
                id: new_id("AGPA"),
                created: now_ms(),
                members: Vec::new(),
                attached: Vec::new(),
                inline: BTreeMap::new(),
            };
            st.groups.insert(ci(&name), g.clone());
            Ok(g)
        })
        .await?;
    Ok(m::CreateGroupResponse { group: Some(group_out(&group)) })
}

async fn get_group(iam: &Iam, ctx: &RequestContext, input: m::GetGroupRequest) -> AwsResult<m::GetGroupResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.group_name, "GroupName")?;
    let g = st.groups.get(&ci(name)).ok_or_else(|| no_group(name))?;
    let users: Vec<m::User> =
        g.members.iter().filter_map(|u| st.users.get(&ci(u))).map(|u| m::User { tags: None, ..user_out(u) }).collect();
    let (users, truncated, marker) = page(users, input.marker.as_deref(), input.max_items)?;
    Ok(m::GetGroupResponse { group: Some(group_out(g)), users: Some(users), is_truncated: Some(truncated), marker })
}

async fn list_groups(iam: &Iam, ctx: &RequestContext, input: m::ListGroupsRequest) -> AwsResult<m::ListGroupsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let groups: Vec<m::Group> =
        st.groups.values().filter(|g| path_prefix_ok(&g.path, &input.path_prefix)).map(group_out).collect();
    let (groups, truncated, marker) = page(groups, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListGroupsResponse { groups: Some(groups), is_truncated: Some(truncated), marker })
}

async fn list_groups_for_user(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListGroupsForUserRequest,
) -> AwsResult<m::ListGroupsForUserResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.user_name, "UserName")?;
    if !st.users.contains_key(&ci(name)) {
        return Err(no_user(name));
    }
    let groups: Vec<m::Group> =
        st.groups.values().filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(name))).map(group_out).collect();
    let (groups, truncated, marker) = page(groups, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListGroupsForUserResponse { groups: Some(groups), is_truncated: Some(truncated), marker })
}

async fn delete_group(iam: &Iam, ctx: &RequestContext, input: m::DeleteGroupRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    iam.update(&account, move |st| {
        let g = st.groups.get(&ci(&name)).ok_or_else(|| no_group(&name))?;
        if !g.members.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must remove users from group first."));
        }
        if !g.attached.is_empty() || !g.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must delete policies first."));
        }
        st.groups.remove(&ci(&name));
        Ok(())
    })
    .await
}

async fn update_group(iam: &Iam, ctx: &RequestContext, input: m::UpdateGroupRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.group_name, "GroupName")?.to_string();
    if let Some(n) = &input.new_group_name {
        check_name(n, "NewGroupName", 128)?;
    }
    if let Some(p) = &input.new_path {
        check_path(p)?;
    }
    let acct = account.clone();
    iam.update(&account, move |st| {
        let mut g = st.groups.remove(&ci(&name)).ok_or_else(|| no_group(&name))?;
        if let Some(new) = input.new_group_name {
            if !new.eq_ignore_ascii_case(&name) && st.groups.contains_key(&ci(&new)) {
                return Err(already_exists(format!("Group with name {new} already exists.")));
            }
            g.name = new;
        }
        if let Some(p) = input.new_path {
            g.path = p;
        }
        g.arn = format!("arn:aws:iam::{acct}:group{}{}", g.path, g.name);
        st.groups.insert(ci(&g.name), g);
        Ok(())
    })
    .await
}

async fn add_user_to_group(iam: &Iam, ctx: &RequestContext, input: m::AddUserToGroupRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let group = required(&input.group_name, "GroupName")?.to_string();
    let user = required(&input.user_name, "UserName")?.to_string();
    iam.update(&account, move |st| {
        if !st.users.contains_key(&ci(&user)) {
            return Err(no_user(&user));
        }
        let g = group_mut(st, &group)?;
        if !g.members.iter().any(|m| m.eq_ignore_ascii_case(&user)) {
            g.members.push(ci(&user));
        }
        Ok(())
    })
    .await
}

async fn remove_user_from_group(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::RemoveUserFromGroupRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let group = required(&input.group_name, "GroupName")?.to_string();
    let user = required(&input.user_name, "UserName")?.to_string();
    iam.update(&account, move |st| {
        if !st.users.contains_key(&ci(&user)) {
            return Err(no_user(&user));
        }
        let g = group_mut(st, &group)?;
        let before = g.members.len();
        g.members.retain(|m| !m.eq_ignore_ascii_case(&user));
        if g.members.len() == before {
            return Err(no_such_entity(format!("User {user} is not in group {group}.")));
        }
        Ok(())
    })
    .await
}

// ---- roles ----

const TRUST_QUOTA: usize = 2048;

fn trust_quota() -> AwsError {
    limit_exceeded(format!("Cannot exceed quota for ACLSizePerRole: {TRUST_QUOTA}"))
}

fn check_session_duration(d: i32) -> AwsResult<()> {
    if (3600..=43200).contains(&d) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
            if d < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" }
        )))
    }
}

async fn create_role(iam: &Iam, ctx: &RequestContext, input: m::CreateRoleRequest) -> AwsResult<m::CreateRoleResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    check_name(&name, "RoleName", 64)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let doc = required(&input.assume_role_policy_document, "AssumeRolePolicyDocument")?.to_string();
    let trust = parse_document(&doc, PolicyKind::Trust, TRUST_QUOTA, trust_quota)?;
    let max = input.max_session_duration.unwrap_or(3600);
    check_session_duration(max)?;
    let tags = tags_in(input.tags)?;
    let boundary = input.permissions_boundary;
    let (description, acct) = (input.description, account.clone());
    let role = iam
        .update(&account, move |st| {
            if st.roles.keys().any(|r| r.eq_ignore_ascii_case(&name)) {
                return Err(already_exists(format!("Role with name {name} already exists.")));
            }
            if let Some(b) = &boundary {
                check_attachable(st, b)?;
            }
            let role = Role {
                arn: format!("arn:aws:iam::{acct}:role{path}{name}"),
                name: name.clone(),
                path,
                id: new_id("AROA"),
                created: now_ms(),
                trust: Inline::new(doc, trust),
                description,
                max_session_duration: max,
                tags,
                attached: Vec::new(),
                inline: BTreeMap::new(),
                boundary,
            };
            st.roles.insert(ci(&name), role.clone());
            Ok(role)
        })
        .await?;
    Ok(m::CreateRoleResponse { role: Some(role_out(&role)) })
}

async fn get_role(iam: &Iam, ctx: &RequestContext, input: m::GetRoleRequest) -> AwsResult<m::GetRoleResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.role_name, "RoleName")?;
    let role = st.roles.get(&ci(name)).ok_or_else(|| no_role(name))?;
    Ok(m::GetRoleResponse { role: Some(role_out(role)) })
}

async fn list_roles(iam: &Iam, ctx: &RequestContext, input: m::ListRolesRequest) -> AwsResult<m::ListRolesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let roles: Vec<m::Role> = st
        .roles
        .values()
        .filter(|r| path_prefix_ok(&r.path, &input.path_prefix))
        .map(|r| m::Role { tags: None, permissions_boundary: None, ..role_out(r) })
        .collect();
    let (roles, truncated, marker) = page(roles, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListRolesResponse { roles: Some(roles), is_truncated: Some(truncated), marker })
}

async fn update_role(iam: &Iam, ctx: &RequestContext, input: m::UpdateRoleRequest) -> AwsResult<m::UpdateRoleResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    if let Some(d) = input.max_session_duration {
        check_session_duration(d)?;
    }
    iam.update(&account, move |st| {
        let role = role_mut(st, &name)?;
        if let Some(d) = input.description {
            role.description = Some(d);
        }
        if let Some(d) = input.max_session_duration {
            role.max_session_duration = d;
        }
        Ok(())
    })
    .await?;
    Ok(m::UpdateRoleResponse {})
}

async fn update_role_description(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateRoleDescriptionRequest,
) -> AwsResult<m::UpdateRoleDescriptionResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    let role = iam
        .update(&account, move |st| {
            let role = role_mut(st, &name)?;
            role.description = input.description;
            Ok(role.clone())
        })
        .await?;
    Ok(m::UpdateRoleDescriptionResponse { role: Some(role_out(&role)) })
}

async fn update_assume_role_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateAssumeRolePolicyRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    let doc = required(&input.policy_document, "PolicyDocument")?.to_string();
    let trust = parse_document(&doc, PolicyKind::Trust, TRUST_QUOTA, trust_quota)?;
    iam.update(&account, move |st| {
        role_mut(st, &name)?.trust = Inline::new(doc, trust);
        Ok(())
    })
    .await
}

async fn delete_role(iam: &Iam, ctx: &RequestContext, input: m::DeleteRoleRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.role_name, "RoleName")?.to_string();
    iam.update(&account, move |st| {
        let role = st.roles.get(&ci(&name)).ok_or_else(|| no_role(&name))?;
        if !role.attached.is_empty() || !role.inline.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must detach all policies first."));
        }
        if st.instance_profiles.values().any(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(&name))) {
            return Err(delete_conflict("Cannot delete entity, must remove roles from instance profile first."));
        }
        st.roles.remove(&ci(&name));
        Ok(())
    })
    .await
}

/// A managed policy that exists: customer managed in this account, or AWS managed.
fn check_attachable(st: &AccountState, arn: &str) -> AwsResult<()> {
    if st.policies.contains_key(arn) || managed::by_arn(arn).is_some() {
        Ok(())
    } else if !arn.starts_with("arn:aws:iam::") {
        Err(invalid_input(format!("ARN {arn} is not valid.")))
    } else {
        Err(no_policy(arn))
    }
}

/// Sets (`Some`) or removes (`None`) the permissions boundary of a user or role.
async fn set_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: Option<String>,
    arn: Option<Option<String>>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.ok_or_else(|| validation("The entity name must be specified."))?;
    let arn = match arn {
        Some(a) => Some(a.ok_or_else(|| validation("PermissionsBoundary is required"))?),
        None => None,
    };
    iam.update(&account, move |st| {
        if let Some(a) = &arn {
            check_attachable(st, a)?;
        }
        match holder {
            Holder::Role => role_mut(st, &name)?.boundary = arn,
            _ => user_mut(st, &name)?.boundary = arn,
        }
        Ok(())
    })
    .await
}

async fn put_role_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::PutRolePermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::Role, input.role_name, Some(input.permissions_boundary)).await
}

async fn delete_role_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteRolePermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::Role, input.role_name, None).await
}

async fn put_user_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::PutUserPermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::User, input.user_name, Some(input.permissions_boundary)).await
}

async fn delete_user_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteUserPermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::User, input.user_name, None).await
}

// ---- managed policies ----

const MANAGED_QUOTA: usize = 6144;

fn managed_quota() -> AwsError {
    limit_exceeded(format!("Cannot exceed quota for PolicySize: {MANAGED_QUOTA}"))
}

async fn create_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreatePolicyRequest,
) -> AwsResult<m::CreatePolicyResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.policy_name, "PolicyName")?.to_string();
    check_name(&name, "PolicyName", 128)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let doc = required(&input.policy_document, "PolicyDocument")?.to_string();
    let parsed = parse_document(&doc, PolicyKind::Identity, MANAGED_QUOTA, managed_quota)?;
    let tags = tags_in(input.tags)?;
    let (description, acct) = (input.description, account.clone());
    let (st_after, policy) = iam
        .update(&account, move |st| {
            let arn = format!("arn:aws:iam::{acct}:policy{path}{name}");
            if st.policies.values().any(|p| p.name == name) {
                return Err(already_exists(format!(
                    "A policy called {name} already exists. Duplicate names are not allowed."
                )));
            }
            let now = now_ms();
            let p = ManagedPolicy {
                arn: arn.clone(),
                name,
                path,
                id: new_id("ANPA"),
                created: now,
                updated: now,
                description,
                default_version: "v1".into(),
                versions: vec![PolicyVersion { id: "v1".into(), document: doc, created: now }],
                next_version: 2,
                tags,
                parsed: Some(Arc::new(parsed)),
            };
            st.policies.insert(arn, p.clone());
            Ok((st.clone(), p))
        })
        .await?;
    Ok(m::CreatePolicyResponse { policy: Some(policy_out(&st_after, &policy)) })
}

async fn get_policy(iam: &Iam, ctx: &RequestContext, input: m::GetPolicyRequest) -> AwsResult<m::GetPolicyResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let policy = match (st.policies.get(arn), managed::by_arn(arn)) {
        (Some(p), _) => policy_out(&st, p),
        (None, Some(p)) => aws_policy_out(&st, p),
        (None, None) => return Err(no_such_entity(format!("Policy {arn} was not found."))),
    };
    Ok(m::GetPolicyResponse { policy: Some(policy) })
}

async fn list_policies(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListPoliciesRequest,
) -> AwsResult<m::ListPoliciesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let scope = input.scope.as_deref().unwrap_or("All");
    let mut out: Vec<m::Policy> = Vec::new();
    if scope != "Local" {
        out.extend(managed::all().iter().map(|p| aws_policy_out(&st, p)));
    }
    if scope != "AWS" {
        out.extend(st.policies.values().map(|p| policy_out(&st, p)));
    }
    let only_attached = input.only_attached.unwrap_or(false);
    out.retain(|p| {
        path_prefix_ok(p.path.as_deref().unwrap_or("/"), &input.path_prefix)
            && (!only_attached || p.attachment_count.unwrap_or(0) > 0)
    });
    let (policies, truncated, marker) = page(out, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListPoliciesResponse { policies: Some(policies), is_truncated: Some(truncated), marker })
}

fn policy_mut<'a>(st: &'a mut AccountState, arn: &str) -> AwsResult<&'a mut ManagedPolicy> {
    st.policies.get_mut(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))
}

async fn delete_policy(iam: &Iam, ctx: &RequestContext, input: m::DeletePolicyRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        policy_mut(st, &arn)?;
        if st.attachment_count(&arn) > 0 || st.boundary_count(&arn) > 0 {
            return Err(delete_conflict("Cannot delete a policy attached to entities."));
        }
        if st.policies[&arn].versions.len() > 1 {
            return Err(delete_conflict(
                "Cannot delete a policy with non-default versions. Delete all non-default versions first.",
            ));
        }
        st.policies.remove(&arn);
        Ok(())
    })
    .await
}

fn version_out(p: &ManagedPolicy, v: &PolicyVersion, with_document: bool) -> m::PolicyVersion {
    m::PolicyVersion {
        document: with_document.then(|| encode_doc(&v.document)),
        version_id: Some(v.id.clone()),
        is_default_version: Some(v.id == p.default_version),
        create_date: Some(Timestamp(v.created)),
    }
}

async fn create_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreatePolicyVersionRequest,
) -> AwsResult<m::CreatePolicyVersionResponse> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let doc = required(&input.policy_document, "PolicyDocument")?.to_string();
    let parsed = parse_document(&doc, PolicyKind::Identity, MANAGED_QUOTA, managed_quota)?;
    let set_default = input.set_as_default.unwrap_or(false);
    let (p, v) = iam
        .update(&account, move |st| {
            let p = policy_mut(st, &arn)?;
            if p.versions.len() >= 5 {
                return Err(limit_exceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                ));
            }
            let now = now_ms();
            let v = PolicyVersion { id: format!("v{}", p.next_version), document: doc, created: now };
            p.next_version += 1;
            p.versions.push(v.clone());
            p.updated = now;
            if set_default {
                p.default_version = v.id.clone();
                p.parsed = Some(Arc::new(parsed));
            }
            Ok((p.clone(), v))
        })
        .await?;
    Ok(m::CreatePolicyVersionResponse { policy_version: Some(version_out(&p, &v, false)) })
}

async fn get_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetPolicyVersionRequest,
) -> AwsResult<m::GetPolicyVersionResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let id = required(&input.version_id, "VersionId")?;
    if let Some(aws) = managed::by_arn(arn) {
        if aws.version != id {
            return Err(no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
        }
        return Ok(m::GetPolicyVersionResponse {
            policy_version: Some(m::PolicyVersion {
                document: Some(encode_doc(&aws.document)),
                version_id: Some(aws.version.clone()),
                is_default_version: Some(true),
                create_date: Some(Timestamp(aws.updated)),
            }),
        });
    }
    let p = st.policies.get(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))?;
    let v = p
        .versions
        .iter()
        .find(|v| v.id == id)
        .ok_or_else(|| no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")))?;
    Ok(m::GetPolicyVersionResponse { policy_version: Some(version_out(p, v, true)) })
}

async fn list_policy_versions(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListPolicyVersionsRequest,
) -> AwsResult<m::ListPolicyVersionsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    let p = st.policies.get(arn).ok_or_else(|| no_such_entity(format!("Policy {arn} was not found.")))?;
    let versions: Vec<m::PolicyVersion> = p.versions.iter().rev().map(|v| version_out(p, v, false)).collect();
    let (versions, truncated, marker) = page(versions, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListPolicyVersionsResponse { versions: Some(versions), is_truncated: Some(truncated), marker })
}

async fn delete_policy_version(iam: &Iam, ctx: &RequestContext, input: m::DeletePolicyVersionRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let id = required(&input.version_id, "VersionId")?.to_string();
    iam.update(&account, move |st| {
        let p = policy_mut(st, &arn)?;
        if p.default_version == id {
            return Err(delete_conflict("Cannot delete the default version of a policy."));
        }
        let before = p.versions.len();
        p.versions.retain(|v| v.id != id);
        if p.versions.len() == before {
            return Err(no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable.")));
        }
        Ok(())
    })
    .await
}

async fn set_default_policy_version(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::SetDefaultPolicyVersionRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.policy_arn, "PolicyArn")?.to_string();
    let id = required(&input.version_id, "VersionId")?.to_string();
    iam.update(&account, move |st| {
        let p = policy_mut(st, &arn)?;
        let v =
            p.versions.iter().find(|v| v.id == id).ok_or_else(|| {
                no_such_entity(format!("Policy {arn} version {id} does not exist or is not attachable."))
            })?;
        let parsed = Policy::parse(&v.document, PolicyKind::Identity).map_err(malformed_policy)?;
        p.default_version = id;
        p.parsed = Some(Arc::new(parsed));
        p.updated = now_ms();
        Ok(())
    })
    .await
}

async fn list_entities_for_policy(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListEntitiesForPolicyRequest,
) -> AwsResult<m::ListEntitiesForPolicyResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.policy_arn, "PolicyArn")?;
    if !st.policies.contains_key(arn) && managed::by_arn(arn).is_none() {
        return Err(no_such_entity(format!("Policy {arn} was not found.")));
    }
    let has = |a: &[String]| a.iter().any(|x| x == arn);
    Ok(m::ListEntitiesForPolicyResponse {
        policy_groups: Some(
            st.groups
                .values()
                .filter(|g| has(&g.attached))
                .map(|g| m::PolicyGroup { group_name: Some(g.name.clone()), group_id: Some(g.id.clone()) })
                .collect(),
        ),
        policy_users: Some(
            st.users
                .values()
                .filter(|u| has(&u.attached))
                .map(|u| m::PolicyUser { user_name: Some(u.name.clone()), user_id: Some(u.id.clone()) })
                .collect(),
        ),
        policy_roles: Some(
            st.roles
                .values()
                .filter(|r| has(&r.attached))
                .map(|r| m::PolicyRole { role_name: Some(r.name.clone()), role_id: Some(r.id.clone()) })
                .collect(),
        ),
        is_truncated: Some(false),
        marker: None,
    })
}

// ---- attached and inline policies of users, groups and roles ----

/// A user, group or role: the holders of policies.
#[derive(Clone, Copy)]
enum Holder {
    User,
    Group,
    Role,
}

impl Holder {
    fn lists<'a>(
        self,
        st: &'a mut AccountState,
        name: &str,
    ) -> AwsResult<(&'a mut Vec<String>, &'a mut BTreeMap<String, Inline>)> {
        Ok(match self {
            Holder::User => {
                let u = user_mut(st, name)?;
                (&mut u.attached, &mut u.inline)
            }
            Holder::Group => {
                let g = group_mut(st, name)?;
                (&mut g.attached, &mut g.inline)
            }
            Holder::Role => {
                let r = role_mut(st, name)?;
                (&mut r.attached, &mut r.inline)
            }
        })
    }

    fn read<'a>(self, st: &'a AccountState, name: &str) -> AwsResult<(&'a Vec<String>, &'a BTreeMap<String, Inline>)> {
        Ok(match self {
            Holder::User => st.users.get(&ci(name)).map(|u| (&u.attached, &u.inline)).ok_or_else(|| no_user(name))?,
            Holder::Group => {
                st.groups.get(&ci(name)).map(|g| (&g.attached, &g.inline)).ok_or_else(|| no_group(name))?
            }
            Holder::Role => st.roles.get(&ci(name)).map(|r| (&r.attached, &r.inline)).ok_or_else(|| no_role(name))?,
        })
    }

    /// Inline policy quotas: users 2,048, groups 5,120, roles 10,240 characters.
    fn inline_quota(self) -> usize {
        match self {
            Holder::User => 2048,
            Holder::Group => 5120,
            Holder::Role => 10240,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Group => "group",
            Holder::Role => "role",
        }
    }
}

async fn attach(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    arn: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let arn = required(arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        check_attachable(st, &arn)?;
        let (attached, _) = holder.lists(st, &name)?;
        if !attached.contains(&arn) {
            if attached.len() >= 10 {
                return Err(limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPer{}: 10",
                    match holder {
                        Holder::User => "User",
                        Holder::Group => "Group",
                        Holder::Role => "Role",
                    }
                )));
            }
            attached.push(arn);
        }
        Ok(())
    })
    .await
}

async fn detach(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    arn: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let arn = required(arn, "PolicyArn")?.to_string();
    iam.update(&account, move |st| {
        let (attached, _) = holder.lists(st, &name)?;
        let before = attached.len();
        attached.retain(|a| *a != arn);
        if attached.len() == before {
            return Err(no_such_entity(format!("Policy {arn} was not found.")));
        }
        Ok(())
    })
    .await
}

fn attached_out(
    st: &AccountState,
    holder: Holder,
    name: &str,
    prefix: &Option<String>,
) -> AwsResult<Vec<m::AttachedPolicy>> {
    let (attached, _) = holder.read(st, name)?;
    Ok(attached
        .iter()
        .filter(|arn| {
            let path =
                st.policies.get(*arn).map(|p| p.path.clone()).or_else(|| managed::by_arn(arn).map(|p| p.path.clone()));
            path_prefix_ok(path.as_deref().unwrap_or("/"), prefix)
        })
        .map(|arn| m::AttachedPolicy {
            policy_name: Some(arn.rsplit('/').next().unwrap_or_default().to_string()),
            policy_arn: Some(arn.clone()),
        })
        .collect())
}

macro_rules! attach_ops {
    ($attach:ident, $detach:ident, $list:ident, $holder:expr, $field:ident, $AttachReq:ident, $DetachReq:ident, $ListReq:ident, $ListResp:ident) => {
        async fn $attach(iam: &Iam, ctx: &RequestContext, input: m::$AttachReq) -> AwsResult<()> {
            attach(iam, ctx, $holder, &input.$field, &input.policy_arn).await
        }
        async fn $detach(iam: &Iam, ctx: &RequestContext, input: m::$DetachReq) -> AwsResult<()> {
            detach(iam, ctx, $holder, &input.$field, &input.policy_arn).await
        }
        async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let all = attached_out(&st, $holder, name, &input.path_prefix)?;
            let (attached, truncated, marker) = page(all, input.marker.as_deref(), input.max_items)?;
            Ok(m::$ListResp { attached_policies: Some(attached), is_truncated: Some(truncated), marker })
        }
    };
}

attach_ops!(
    attach_user_policy,
    detach_user_policy,
    list_attached_user_policies,
    Holder::User,
    user_name,
    AttachUserPolicyRequest,
    DetachUserPolicyRequest,
    ListAttachedUserPoliciesRequest,
    ListAttachedUserPoliciesResponse
);
attach_ops!(
    attach_group_policy,
    detach_group_policy,
    list_attached_group_policies,
    Holder::Group,
    group_name,
    AttachGroupPolicyRequest,
    DetachGroupPolicyRequest,
    ListAttachedGroupPoliciesRequest,
    ListAttachedGroupPoliciesResponse
);
attach_ops!(
    attach_role_policy,
    detach_role_policy,
    list_attached_role_policies,
    Holder::Role,
    role_name,
    AttachRolePolicyRequest,
    DetachRolePolicyRequest,
    ListAttachedRolePoliciesRequest,
    ListAttachedRolePoliciesResponse
);

async fn put_inline(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    policy: &Option<String>,
    doc: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let policy = required(policy, "PolicyName")?.to_string();
    check_name(&policy, "PolicyName", 128)?;
    let doc = required(doc, "PolicyDocument")?.to_string();
    let quota = holder.inline_quota();
    let parsed = parse_document(&doc, PolicyKind::Identity, quota, || {
        limit_exceeded(format!("Maximum policy size of {quota} bytes exceeded for {} {name}", holder.noun()))
    })?;
    iam.update(&account, move |st| {
        let (_, inline) = holder.lists(st, &name)?;
        inline.insert(policy, Inline::new(doc, parsed));
        Ok(())
    })
    .await
}

async fn delete_inline(
    iam: &Iam,
    ctx: &RequestContext,
    holder: Holder,
    name: &Option<String>,
    policy: &Option<String>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.clone().ok_or_else(|| validation("The entity name must be specified."))?;
    let policy = required(policy, "PolicyName")?.to_string();
    iam.update(&account, move |st| {
        let (_, inline) = holder.lists(st, &name)?;
        if inline.remove(&policy).is_none() {
            return Err(no_such_entity(format!("The {} policy with name {policy} cannot be found.", holder.noun())));
        }
        Ok(())
    })
    .await
}

fn inline_doc(st: &AccountState, holder: Holder, name: &str, policy: &str) -> AwsResult<String> {
    let (_, inline) = holder.read(st, name)?;
    inline
        .get(policy)
        .map(|i| encode_doc(&i.document))
        .ok_or_else(|| no_such_entity(format!("The {} policy with name {policy} cannot be found.", holder.noun())))
}

macro_rules! inline_ops {
    ($put:ident, $get:ident, $delete:ident, $list:ident, $holder:expr, $field:ident, $PutReq:ident, $GetReq:ident, $GetResp:ident, $DeleteReq:ident, $ListReq:ident, $ListResp:ident) => {
        async fn $put(iam: &Iam, ctx: &RequestContext, input: m::$PutReq) -> AwsResult<()> {
            put_inline(iam, ctx, $holder, &input.$field, &input.policy_name, &input.policy_document).await
        }
        async fn $delete(iam: &Iam, ctx: &RequestContext, input: m::$DeleteReq) -> AwsResult<()> {
            delete_inline(iam, ctx, $holder, &input.$field, &input.policy_name).await
        }
        async fn $get(iam: &Iam, ctx: &RequestContext, input: m::$GetReq) -> AwsResult<m::$GetResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let policy = required(&input.policy_name, "PolicyName")?;
            let doc = inline_doc(&st, $holder, name, policy)?;
            Ok(m::$GetResp {
                $field: Some(name.to_string()),
                policy_name: Some(policy.to_string()),
                policy_document: Some(doc),
            })
        }
        async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
            let st = iam.account(caller_account(ctx)?);
            let name = required(&input.$field, stringify!($field))?;
            let (_, inline) = $holder.read(&st, name)?;
            let (names, truncated, marker) =
                page(inline.keys().cloned().collect(), input.marker.as_deref(), input.max_items)?;
            Ok(m::$ListResp { policy_names: Some(names), is_truncated: Some(truncated), marker })
        }
    };
}

inline_ops!(
    put_user_policy,
    get_user_policy,
    delete_user_policy,
    list_user_policies,
    Holder::User,
    user_name,
    PutUserPolicyRequest,
    GetUserPolicyRequest,
    GetUserPolicyResponse,
    DeleteUserPolicyRequest,
    ListUserPoliciesRequest,
    ListUserPoliciesResponse
);
inline_ops!(
    put_group_policy,
    get_group_policy,
    delete_group_policy,
    list_group_policies,
    Holder::Group,
    group_name,
    PutGroupPolicyRequest,
    GetGroupPolicyRequest,
    GetGroupPolicyResponse,
    DeleteGroupPolicyRequest,
    ListGroupPoliciesRequest,
    ListGroupPoliciesResponse
);
inline_ops!(
    put_role_policy,
    get_role_policy,
    delete_role_policy,
    list_role_policies,
    Holder::Role,
    role_name,
    PutRolePolicyRequest,
    GetRolePolicyRequest,
    GetRolePolicyResponse,
    DeleteRolePolicyRequest,
    ListRolePoliciesRequest,
    ListRolePoliciesResponse
);

// ---- instance profiles ----

fn no_profile(name: &str) -> AwsError {
    no_such_entity(format!("Instance Profile {name} cannot be found."))
}

async fn create_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateInstanceProfileRequest,
) -> AwsResult<m::CreateInstanceProfileResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.instance_profile_name, "InstanceProfileName")?.to_string();
    check_name(&name, "InstanceProfileName", 128)?;
    let path = input.path.unwrap_or_else(|| "/".into());
    check_path(&path)?;
    let tags = tags_in(input.tags)?;
    let acct = account.clone();
    let (st, p) = iam
        .update(&account, move |st| {
            if st.instance_profiles.contains_key(&ci(&name)) {
                return Err(already_exists(format!("Instance Profile {name} already exists.")));
            }
            let p = InstanceProfile {
                arn: format!("arn:aws:iam::{acct}:instance-profile{path}{name}"),
                name: name.clone(),
                path,
                id: new_id("AIPA"),
                created: now_ms(),
                roles: Vec::new(),
                tags,
            };
            st.instance_profiles.insert(ci(&name), p.clone());
            Ok((st.clone(), p))
        })
        .await?;
    Ok(m::CreateInstanceProfileResponse { instance_profile: Some(instance_profile_out(&st, &p)) })
}

async fn get_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetInstanceProfileRequest,
) -> AwsResult<m::GetInstanceProfileResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.instance_profile_name, "InstanceProfileName")?;
    let p = st.instance_profiles.get(&ci(name)).ok_or_else(|| no_profile(name))?;
    Ok(m::GetInstanceProfileResponse { instance_profile: Some(instance_profile_out(&st, p)) })
}

async fn delete_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteInstanceProfileRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.instance_profile_name, "InstanceProfileName")?.to_string();
    iam.update(&account, move |st| {
        let p = st.instance_profiles.get(&ci(&name)).ok_or_else(|| no_profile(&name))?;
        if !p.roles.is_empty() {
            return Err(delete_conflict("Cannot delete entity, must remove roles from instance profile first."));
        }
        st.instance_profiles.remove(&ci(&name));
        Ok(())
    })
    .await
}

async fn add_role_to_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::AddRoleToInstanceProfileRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.instance_profile_name, "InstanceProfileName")?.to_string();
    let role = required(&input.role_name, "RoleName")?.to_string();
    iam.update(&account, move |st| {
        if !st.roles.contains_key(&ci(&role)) {
            return Err(no_role(&role));
        }
        let p = st.instance_profiles.get_mut(&ci(&name)).ok_or_else(|| no_profile(&name))?;
        if !p.roles.is_empty() {
            return Err(limit_exceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"));
        }
        p.roles.push(ci(&role));
        Ok(())
    })
    .await
}

async fn remove_role_from_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::RemoveRoleFromInstanceProfileRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&input.instance_profile_name, "InstanceProfileName")?.to_string();
    let role = required(&input.role_name, "RoleName")?.to_string();
    iam.update(&account, move |st| {
        let p = st.instance_profiles.get_mut(&ci(&name)).ok_or_else(|| no_profile(&name))?;
        let before = p.roles.len();
        p.roles.retain(|r| !r.eq_ignore_ascii_case(&role));
        if p.roles.len() == before {
            return Err(no_role(&role));
        }
        Ok(())
    })
    .await
}

async fn list_instance_profiles(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListInstanceProfilesRequest,
) -> AwsResult<m::ListInstanceProfilesResponse> {
    let st = iam.account(caller_account(ctx)?);
    let all: Vec<m::InstanceProfile> = st
        .instance_profiles
        .values()
        .filter(|p| path_prefix_ok(&p.path, &input.path_prefix))
        .map(|p| instance_profile_out(&st, p))
        .collect();
    let (profiles, truncated, marker) = page(all, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListInstanceProfilesResponse { instance_profiles: Some(profiles), is_truncated: Some(truncated), marker })
}

async fn list_instance_profiles_for_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListInstanceProfilesForRoleRequest,
) -> AwsResult<m::ListInstanceProfilesForRoleResponse> {
    let st = iam.account(caller_account(ctx)?);
    let role = required(&input.role_name, "RoleName")?;
    if !st.roles.contains_key(&ci(role)) {
        return Err(no_role(role));
    }
    let all: Vec<m::InstanceProfile> = st
        .instance_profiles
        .values()
        .filter(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(role)))
        .map(|p| instance_profile_out(&st, p))
        .collect();
    let (profiles, truncated, marker) = page(all, input.marker.as_deref(), input.max_items)?;
    Ok(m::ListInstanceProfilesForRoleResponse {
        instance_profiles: Some(profiles),
        is_truncated: Some(truncated),
        marker,
    })
}

// ---- tags of users, roles and policies ----

/// What carries tags.
#[derive(Clone, Copy)]
enum Tagged {
    User,
    Role,
    Policy,
}

fn tags_mut<'a>(st: &'a mut AccountState, kind: Tagged, name: &str) -> AwsResult<&'a mut Vec<Tag>> {
    Ok(match kind {
        Tagged::User => &mut user_mut(st, name)?.tags,
        Tagged::Role => &mut role_mut(st, name)?.tags,
        Tagged::Policy => &mut policy_mut(st, name)?.tags,
    })
}

async fn tag(
    iam: &Iam,
    ctx: &RequestContext,
    kind: Tagged,
    name: Option<String>,
    tags: Option<Vec<m::Tag>>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.ok_or_else(|| validation("The entity name must be specified."))?;
    let tags = tags_in(tags)?;
    iam.update(&account, move |st| merge_tags(tags_mut(st, kind, &name)?, tags)).await
}

async fn untag(
    iam: &Iam,
    ctx: &RequestContext,
    kind: Tagged,
    name: Option<String>,
    keys: Option<Vec<String>>,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = name.ok_or_else(|| validation("The entity name must be specified."))?;
    let keys = keys.unwrap_or_default();
    iam.update(&account, move |st| {
        tags_mut(st, kind, &name)?.retain(|t| !keys.contains(&t.key));
        Ok(())
    })
    .await
}

fn list_tags(
    iam: &Iam,
    ctx: &RequestContext,
    kind: Tagged,
    name: Option<String>,
    marker: Option<String>,
    max_items: Option<i32>,
) -> AwsResult<(Vec<m::Tag>, bool, Option<String>)> {
    let st = iam.account(caller_account(ctx)?);
    let name = name.ok_or_else(|| validation("The entity name must be specified."))?;
    let tags = match kind {
        Tagged::User => &st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.tags,
        Tagged::Role => &st.roles.get(&ci(&name)).ok_or_else(|| no_role(&name))?.tags,
        Tagged::Policy => {
            &st.policies.get(&name).ok_or_else(|| no_such_entity(format!("Policy {name} was not found.")))?.tags
        }
    };
    page(tags_out(tags).unwrap_or_default(), marker.as_deref(), max_items)
}

macro_rules! tag_ops {
    ($tag:ident, $untag:ident, $list:ident, $kind:expr, $field:ident, $TagReq:ident, $UntagReq:ident, $ListReq:ident, $ListResp:ident) => {
        async fn $tag(iam: &Iam, ctx: &RequestContext, input: m::$TagReq) -> AwsResult<()> {
            tag(iam, ctx, $kind, input.$field, input.tags).await
        }
        async fn $untag(iam: &Iam, ctx: &RequestContext, input: m::$UntagReq) -> AwsResult<()> {
            untag(iam, ctx, $kind, input.$field, input.tag_keys).await
        }
        async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
            let (tags, truncated, marker) = list_tags(iam, ctx, $kind, input.$field, input.marker, input.max_items)?;
            Ok(m::$ListResp { tags: Some(tags), is_truncated: Some(truncated), marker })
        }
    };
}

tag_ops!(
    tag_user,
    untag_user,
    list_user_tags,
    Tagged::User,
    user_name,
    TagUserRequest,
    UntagUserRequest,
    ListUserTagsRequest,
    ListUserTagsResponse
);
tag_ops!(
    tag_role,
    untag_role,
    list_role_tags,
    Tagged::Role,
    role_name,
    TagRoleRequest,
    UntagRoleRequest,
    ListRoleTagsRequest,
    ListRoleTagsResponse
);
tag_ops!(
    tag_policy,
    untag_policy,
    list_policy_tags,
    Tagged::Policy,
    policy_arn,
    TagPolicyRequest,
    UntagPolicyRequest,
    ListPolicyTagsRequest,
    ListPolicyTagsResponse
);

// ---- account-wide views ----

fn inline_details(inline: &BTreeMap<String, Inline>) -> Option<Vec<m::PolicyDetail>> {
    Some(
        inline
            .iter()
            .map(|(n, i)| m::PolicyDetail {
                policy_name: Some(n.clone()),
                policy_document: Some(encode_doc(&i.document)),
            })
            .collect(),
    )
}

fn attached_details(attached: &[String]) -> Option<Vec<m::AttachedPolicy>> {
    Some(
        attached
            .iter()
            .map(|arn| m::AttachedPolicy {
                policy_name: Some(arn.rsplit('/').next().unwrap_or_default().to_string()),
                policy_arn: Some(arn.clone()),
            })
            .collect(),
    )
}

async fn get_account_authorization_details(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetAccountAuthorizationDetailsRequest,
) -> AwsResult<m::GetAccountAuthorizationDetailsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let filter = input.filter.unwrap_or_default();
    let wants = |k: &str| filter.is_empty() || filter.iter().any(|f| f == k);
    let users = wants("User").then(|| {
        st.users
            .values()
            .map(|u| m::UserDetail {
                path: Some(u.path.clone()),
                user_name: Some(u.name.clone()),
                user_id: Some(u.id.clone()),
                arn: Some(u.arn.clone()),
                create_date: Some(Timestamp(u.created)),
                user_policy_list: inline_details(&u.inline),
                group_list: Some(
                    st.groups
                        .values()
                        .filter(|g| g.members.iter().any(|m| m.eq_ignore_ascii_case(&u.name)))
                        .map(|g| g.name.clone())
                        .collect(),
                ),
                attached_managed_policies: attached_details(&u.attached),
                permissions_boundary: boundary_out(&u.boundary),
                tags: tags_out(&u.tags),
            })
            .collect()
    });
    let groups = wants("Group").then(|| {
        st.groups
            .values()
            .map(|g| m::GroupDetail {
                path: Some(g.path.clone()),
                group_name: Some(g.name.clone()),
                group_id: Some(g.id.clone()),
                arn: Some(g.arn.clone()),
                create_date: Some(Timestamp(g.created)),
                group_policy_list: inline_details(&g.inline),
                attached_managed_policies: attached_details(&g.attached),
            })
            .collect()
    });
    let roles = wants("Role").then(|| {
        st.roles
            .values()
            .map(|r| m::RoleDetail {
                path: Some(r.path.clone()),
                role_name: Some(r.name.clone()),
                role_id: Some(r.id.clone()),
                arn: Some(r.arn.clone()),
                create_date: Some(Timestamp(r.created)),
                assume_role_policy_document: Some(encode_doc(&r.trust.document)),
                instance_profile_list: Some(
                    st.instance_profiles
                        .values()
                        .filter(|p| p.roles.iter().any(|x| x.eq_ignore_ascii_case(&r.name)))
                        .map(|p| instance_profile_out(&st, p))
                        .collect(),
                ),
                role_policy_list: inline_details(&r.inline),
                attached_managed_policies: attached_details(&r.attached),
                permissions_boundary: boundary_out(&r.boundary),
                tags: tags_out(&r.tags),
                role_last_used: None,
            })
            .collect()
    });
    let policies = wants("LocalManagedPolicy").then(|| {
        st.policies
            .values()
            .map(|p| {
                let summary = policy_out(&st, p);
                m::ManagedPolicyDetail {
                    policy_name: summary.policy_name,
                    policy_id: summary.policy_id,
                    arn: summary.arn,
                    path: summary.path,
                    default_version_id: summary.default_version_id,
                    attachment_count: summary.attachment_count,
                    permissions_boundary_usage_count: summary.permissions_boundary_usage_count,
                    is_attachable: summary.is_attachable,
                    description: summary.description,
                    create_date: summary.create_date,
                    update_date: summary.update_date,
                    policy_version_list: Some(p.versions.iter().map(|v| version_out(p, v, true)).collect()),
                }
            })
            .collect()
    });
    Ok(m::GetAccountAuthorizationDetailsResponse {
        user_detail_list: users,
        group_detail_list: groups,
        role_detail_list: roles,
        policies,
        is_truncated: Some(false),
        marker: None,
    })
}

/// GetAccountSummary takes no input at all.
async fn get_account_summary(iam: &Iam, ctx: &RequestContext) -> AwsResult<m::GetAccountSummaryResponse> {
    let st = iam.account(caller_account(ctx)?);
    let n = |x: usize| x as i32;
    let versions: usize = st.policies.values().map(|p| p.versions.len()).sum();
    let root_keys = st.access_keys.values().any(|k| k.user.is_empty());
    let summary: BTreeMap<String, i32> = [
        ("Users", n(st.users.len())),
        ("UsersQuota", 5000),
        ("Groups", n(st.groups.len())),
        ("GroupsQuota", 300),
        ("Roles", n(st.roles.len())),
        ("RolesQuota", 1000),
        ("Policies", n(st.policies.len())),
        ("PoliciesQuota", 1500),
        ("PolicyVersionsInUse", n(versions)),
        ("PolicyVersionsInUseQuota", 10000),
        ("VersionsPerPolicyQuota", 5),
        ("PolicySizeQuota", 6144),
        ("UserPolicySizeQuota", 2048),
        ("GroupPolicySizeQuota", 5120),
        ("AccessKeysPerUserQuota", 2),
        ("GroupsPerUserQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("InstanceProfiles", n(st.instance_profiles.len())),
        ("InstanceProfilesQuota", 1000),
        ("Providers", n(st.oidc_providers.len())),
        ("MFADevices", 0),
        ("MFADevicesInUse", 0),
        ("AccountMFAEnabled", 0),
        ("AccountAccessKeysPresent", i32::from(root_keys)),
        ("AccountSigningCertificatesPresent", 0),
        ("SigningCertificatesPerUserQuota", 2),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("GlobalEndpointTokenVersion", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(m::GetAccountSummaryResponse { summary_map: Some(summary) })
}

// ---- OpenID Connect providers ----

/// `arn:aws:iam::<account>:oidc-provider/<url without scheme>`.
fn oidc_arn(account: &str, url: &str) -> String {
    let host = url.split_once("://").map(|(_, h)| h).unwrap_or(url);
    format!("arn:aws:iam::{account}:oidc-provider/{host}")
}

fn no_oidc(arn: &str) -> AwsError {
    no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

async fn create_oidc_provider(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateOpenIDConnectProviderRequest,
) -> AwsResult<m::CreateOpenIDConnectProviderResponse> {
    let account = caller_account(ctx)?.to_string();
    let url = required(&input.url, "Url")?.to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 255 {
        return Err(validation("Invalid Open ID Connect Provider URL"));
    }
    let arn = oidc_arn(&account, &url);
    let tags = tags_in(input.tags)?;
    let provider = crate::state::OidcProvider {
        url: url.clone(),
        client_ids: input.client_id_list.unwrap_or_default(),
        thumbprints: input.thumbprint_list.unwrap_or_default(),
        created: now_ms(),
        tags,
    };
    let key = arn.clone();
    let out_tags = tags_out(&provider.tags);
    iam.update(&account, move |st| {
        if st.oidc_providers.contains_key(&key) {
            return Err(already_exists(format!("Provider with url {url} already exists.")));
        }
        st.oidc_providers.insert(key, provider);
        Ok(())
    })
    .await?;
    Ok(m::CreateOpenIDConnectProviderResponse { open_id_connect_provider_arn: Some(arn), tags: out_tags })
}

async fn get_oidc_provider(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetOpenIDConnectProviderRequest,
) -> AwsResult<m::GetOpenIDConnectProviderResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&input.open_id_connect_provider_arn, "OpenIDConnectProviderArn")?;
    let p = st.oidc_providers.get(arn).ok_or_else(|| no_oidc(arn))?;
    Ok(m::GetOpenIDConnectProviderResponse {
        url: Some(p.url.clone()),
        client_id_list: Some(p.client_ids.clone()),
        thumbprint_list: Some(p.thumbprints.clone()),
        create_date: Some(Timestamp(p.created)),
        tags: tags_out(&p.tags),
    })
}

async fn list_oidc_providers(
    iam: &Iam,
    ctx: &RequestContext,
    _input: m::ListOpenIDConnectProvidersRequest,
) -> AwsResult<m::ListOpenIDConnectProvidersResponse> {
    let st = iam.account(caller_account(ctx)?);
    Ok(m::ListOpenIDConnectProvidersResponse {
        open_id_connect_provider_list: Some(
            st.oidc_providers.keys().map(|arn| m::OpenIDConnectProviderListEntry { arn: Some(arn.clone()) }).collect(),
        ),
    })
}

/// Changes one provider; the ARN must name an existing one.
async fn update_oidc(
    iam: &Iam,
    ctx: &RequestContext,
    arn: &Option<String>,
    change: impl FnOnce(&mut crate::state::OidcProvider) + Send + 'static,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(arn, "OpenIDConnectProviderArn")?.to_string();
    iam.update(&account, move |st| {
        change(st.oidc_providers.get_mut(&arn).ok_or_else(|| no_oidc(&arn))?);
        Ok(())
    })
    .await
}

async fn delete_oidc_provider(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteOpenIDConnectProviderRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.open_id_connect_provider_arn, "OpenIDConnectProviderArn")?.to_string();
    iam.update(&account, move |st| st.oidc_providers.remove(&arn).map(|_| ()).ok_or_else(|| no_oidc(&arn))).await
}

async fn add_client_id(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::AddClientIDToOpenIDConnectProviderRequest,
) -> AwsResult<()> {
    let id = required(&input.client_id, "ClientID")?.to_string();
    update_oidc(iam, ctx, &input.open_id_connect_provider_arn, move |p| {
        if !p.client_ids.contains(&id) {
            p.client_ids.push(id);
        }
    })
    .await
}

async fn remove_client_id(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::RemoveClientIDFromOpenIDConnectProviderRequest,
) -> AwsResult<()> {
    let id = required(&input.client_id, "ClientID")?.to_string();
    update_oidc(iam, ctx, &input.open_id_connect_provider_arn, move |p| p.client_ids.retain(|c| *c != id)).await
}

async fn update_thumbprints(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateOpenIDConnectProviderThumbprintRequest,
) -> AwsResult<()> {
    let thumbprints = input.thumbprint_list.unwrap_or_default();
    update_oidc(iam, ctx, &input.open_id_connect_provider_arn, move |p| p.thumbprints = thumbprints).await
}

mod routes;
mod simulate;
