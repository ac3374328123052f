//! IAM roles (trust policies, session durations, permissions boundaries) and instance profiles.
use super::*;

// ---- roles ----

pub(super) const TRUST_QUOTA: usize = 2048;

pub(super) fn trust_quota() -> AwsError {
    limit_exceeded(format!("Cannot exceed quota for ACLSizePerRole: {TRUST_QUOTA}"))
}

pub(super) fn check_session_duration(d: i32) -> AwsResult<()> {
    if (3600..=43200).contains(&d) {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
            if d < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" }
        )))
    }
}

/// A new role of `account` with its trust policy and nothing attached.
pub(super) fn new_role(account: &str, name: &str, path: String, trust: Inline, description: Option<String>) -> Role {
    Role {
        arn: format!("arn:aws:iam::{account}:role{path}{name}"),
        name: name.to_string(),
        path,
        id: new_id("AROA"),
        created: now_ms(),
        trust,
        description,
        max_session_duration: 3600,
        tags: Vec::new(),
        attached: Vec::new(),
        inline: BTreeMap::new(),
        boundary: None,
    }
}

pub(super) async fn create_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateRoleRequest,
) -> AwsResult<m::CreateRoleResponse> {
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
            let mut role = new_role(&acct, &name, path, Inline::new(doc, trust), description);
            role.max_session_duration = max;
            role.tags = tags;
            role.boundary = boundary;
            st.roles.insert(ci(&name), role.clone());
            Ok(role)
        })
        .await?;
    Ok(m::CreateRoleResponse { role: Some(role_out(&role)) })
}

pub(super) async fn get_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetRoleRequest,
) -> AwsResult<m::GetRoleResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.role_name, "RoleName")?;
    let role = st.roles.get(&ci(name)).ok_or_else(|| no_role(name))?;
    Ok(m::GetRoleResponse { role: Some(role_out(role)) })
}

pub(super) async fn list_roles(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListRolesRequest,
) -> AwsResult<m::ListRolesResponse> {
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

pub(super) async fn update_role(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateRoleRequest,
) -> AwsResult<m::UpdateRoleResponse> {
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

pub(super) async fn update_role_description(
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

pub(super) async fn update_assume_role_policy(
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

pub(super) async fn delete_role(iam: &Iam, ctx: &RequestContext, input: m::DeleteRoleRequest) -> AwsResult<()> {
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
pub(super) fn check_attachable(st: &AccountState, arn: &str) -> AwsResult<()> {
    if st.policies.contains_key(arn) || managed::by_arn(arn).is_some() {
        Ok(())
    } else if !arn.starts_with("arn:aws:iam::") {
        Err(invalid_input(format!("ARN {arn} is not valid.")))
    } else {
        Err(no_policy(arn))
    }
}

/// Sets (`Some`) or removes (`None`) the permissions boundary of a user or role.
pub(super) async fn set_boundary(
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

pub(super) async fn put_role_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::PutRolePermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::Role, input.role_name, Some(input.permissions_boundary)).await
}

pub(super) async fn delete_role_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteRolePermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::Role, input.role_name, None).await
}

pub(super) async fn put_user_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::PutUserPermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::User, input.user_name, Some(input.permissions_boundary)).await
}

pub(super) async fn delete_user_permissions_boundary(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteUserPermissionsBoundaryRequest,
) -> AwsResult<()> {
    set_boundary(iam, ctx, Holder::User, input.user_name, None).await
}

// ---- instance profiles ----

pub(super) fn no_profile(name: &str) -> AwsError {
    no_such_entity(format!("Instance Profile {name} cannot be found."))
}

pub(super) async fn create_instance_profile(
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

pub(super) async fn get_instance_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetInstanceProfileRequest,
) -> AwsResult<m::GetInstanceProfileResponse> {
    let st = iam.account(caller_account(ctx)?);
    let name = required(&input.instance_profile_name, "InstanceProfileName")?;
    let p = st.instance_profiles.get(&ci(name)).ok_or_else(|| no_profile(name))?;
    Ok(m::GetInstanceProfileResponse { instance_profile: Some(instance_profile_out(&st, p)) })
}

pub(super) async fn delete_instance_profile(
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

pub(super) async fn add_role_to_instance_profile(
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

pub(super) async fn remove_role_from_instance_profile(
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

pub(super) async fn list_instance_profiles(
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

pub(super) async fn list_instance_profiles_for_role(
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
