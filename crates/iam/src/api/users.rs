//! IAM users, their access keys (with their last use) and login profiles.
use super::*;

// ---- users ----

pub(super) async fn create_user(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateUserRequest,
) -> AwsResult<m::CreateUserResponse> {
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

pub(super) async fn get_user(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetUserRequest,
) -> AwsResult<m::GetUserResponse> {
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

pub(super) async fn list_users(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::ListUsersRequest,
) -> AwsResult<m::ListUsersResponse> {
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

pub(super) async fn update_user(iam: &Iam, ctx: &RequestContext, input: m::UpdateUserRequest) -> AwsResult<()> {
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

pub(super) async fn delete_user(iam: &Iam, ctx: &RequestContext, input: m::DeleteUserRequest) -> AwsResult<()> {
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
        if st.mfa_devices.values().any(|d| d.user.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&name))) {
            return Err(delete_conflict("Cannot delete entity, must delete MFA device first."));
        }
        if st.service_credentials.values().any(|c| c.user.eq_ignore_ascii_case(&name)) {
            return Err(delete_conflict("Cannot delete entity, must delete service specific credentials first."));
        }
        if st.ssh_keys.values().any(|k| k.user.eq_ignore_ascii_case(&name)) {
            return Err(delete_conflict("Cannot delete entity, must delete SSH public keys first."));
        }
        st.users.remove(&ci(&name));
        Ok(())
    })
    .await
}

// ---- access keys and login profiles ----

pub(super) async fn create_access_key(
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

pub(super) fn key_status(active: bool) -> String {
    if active { "Active" } else { "Inactive" }.to_string()
}

pub(super) async fn list_access_keys(
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

pub(super) fn find_key<'a>(st: &'a mut AccountState, id: &str, user: &str) -> AwsResult<&'a mut AccessKey> {
    st.access_keys
        .get_mut(id)
        .filter(|k| k.user.eq_ignore_ascii_case(user))
        .ok_or_else(|| no_such_entity(format!("The Access Key with id {id} cannot be found")))
}

pub(super) async fn update_access_key(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateAccessKeyRequest,
) -> AwsResult<()> {
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

pub(super) async fn delete_access_key(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteAccessKeyRequest,
) -> AwsResult<()> {
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

pub(super) async fn get_access_key_last_used(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::GetAccessKeyLastUsedRequest,
) -> AwsResult<m::GetAccessKeyLastUsedResponse> {
    let st = iam.account(caller_account(ctx)?);
    let id = required(&input.access_key_id, "AccessKeyId")?;
    let key =
        st.access_keys.get(id).ok_or_else(|| nuage_protocol::common::Common::AccessDenied.msg("Access Denied"))?;
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

pub(super) async fn create_login_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::CreateLoginProfileRequest,
) -> AwsResult<m::CreateLoginProfileResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let reset = input.password_reset_required.unwrap_or(false);
    let password = input.password.clone().ok_or_else(|| invalid_input("A password is required."))?;
    let account_name = account_display_name(iam, &account);
    let profile = iam
        .update(&account, move |st| {
            credentials::check_password(st, &password, &account_name)?;
            let user = user_mut(st, &name)?;
            if user.login_profile.is_some() {
                return Err(already_exists(format!("Login Profile for user {name} already exists.")));
            }
            let now = now_ms();
            let p = LoginProfile {
                created: now,
                password_reset_required: reset,
                password: Some(crate::passwords::Hashed::new(&password)),
                previous: Vec::new(),
                changed: now,
            };
            user.login_profile = Some(p.clone());
            Ok((name, p))
        })
        .await?;
    Ok(m::CreateLoginProfileResponse { login_profile: Some(login_profile_out(&profile.0, &profile.1)) })
}

pub(super) fn login_profile_out(user: &str, p: &LoginProfile) -> m::LoginProfile {
    m::LoginProfile {
        user_name: Some(user.to_string()),
        create_date: Some(Timestamp(p.created)),
        password_reset_required: Some(p.password_reset_required),
    }
}

pub(super) async fn get_login_profile(
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

pub(super) async fn update_login_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateLoginProfileRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = target_user(ctx, &input.user_name)?;
    let account_name = account_display_name(iam, &account);
    iam.update(&account, move |st| {
        if let Some(password) = &input.password {
            credentials::check_password(st, password, &account_name)?;
        }
        let user = user_mut(st, &name)?;
        let p = user
            .login_profile
            .as_mut()
            .ok_or_else(|| no_such_entity(format!("Login Profile for User {name} cannot be found.")))?;
        if let Some(password) = &input.password {
            // An administrator's reset is not held to PasswordReusePrevention, as on AWS.
            credentials::set_password(p, password, 0);
        }
        if let Some(r) = input.password_reset_required {
            p.password_reset_required = r;
        }
        Ok(())
    })
    .await
}

pub(super) async fn delete_login_profile(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteLoginProfileRequest,
) -> AwsResult<()> {
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
