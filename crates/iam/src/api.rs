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
    /// `SerialNumber`, or the `VirtualMFADeviceName` and `Path` of a device being created.
    Mfa,
    /// `SAMLProviderArn`, or the `Name` of a provider being created.
    Saml,
    /// The service-linked role `AWSServiceName` (and `CustomSuffix`) would create.
    NewServiceLinkedRole,
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
    ctx.account_id().ok_or_else(nuage_protocol::common::Common::missing_token)
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

mod account;
mod advisor;
mod credentials;
mod groups;
mod mfa;
mod oidc;
mod policies;
mod roles;
mod routes;
mod saml;
mod service_linked;
mod simulate;
mod ssh_keys;
mod tags;
mod users;

pub(crate) use self::advisor::AdvisorJob;
use self::{
    account::*, advisor::*, credentials::*, groups::*, mfa::*, oidc::*, policies::*, roles::*, saml::*,
    service_linked::*, ssh_keys::*, tags::*, users::*,
};
