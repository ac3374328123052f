//! Account settings and the credentials people use besides access keys: the password policy
//! and console passwords (ChangePassword), the account alias, service-specific credentials,
//! and the credential report.
use super::*;
use crate::passwords::{violation, Hashed};
use crate::state::{PasswordPolicy, ServiceCredential};
use nuage_protocol::iam::errors::Error as E;

/// The account's name, which the default password policy forbids as a password.
pub(super) fn account_display_name(iam: &Iam, account: &str) -> String {
    iam.identities.account(account).map(|a| a.display_name.clone()).unwrap_or_default()
}

/// PasswordPolicyViolation unless `password` meets the account's policy (or IAM's default).
pub(super) fn check_password(st: &AccountState, password: &str, account_name: &str) -> AwsResult<()> {
    match violation(password, st.password_policy.as_ref(), account_name) {
        Some(why) => Err(E::PasswordPolicyViolationException.msg(why)),
        None => Ok(()),
    }
}

/// Sets a login profile's password, keeping the `keep` previous ones for reuse prevention.
pub(super) fn set_password(p: &mut LoginProfile, password: &str, keep: usize) {
    if let Some(old) = p.password.take() {
        p.previous.insert(0, old);
    }
    p.previous.truncate(keep);
    p.password = Some(Hashed::new(password));
    p.changed = now_ms();
}

// ---- the account password policy ----

fn policy_out(p: &PasswordPolicy) -> m::PasswordPolicy {
    m::PasswordPolicy {
        minimum_password_length: Some(p.minimum_length),
        require_symbols: Some(p.require_symbols),
        require_numbers: Some(p.require_numbers),
        require_uppercase_characters: Some(p.require_uppercase),
        require_lowercase_characters: Some(p.require_lowercase),
        allow_users_to_change_password: Some(p.allow_users_to_change),
        expire_passwords: Some(p.max_age > 0),
        max_password_age: (p.max_age > 0).then_some(p.max_age),
        password_reuse_prevention: (p.reuse_prevention > 0).then_some(p.reuse_prevention),
        hard_expiry: (p.max_age > 0).then_some(p.hard_expiry),
    }
}

pub(super) async fn update_account_password_policy(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::UpdateAccountPasswordPolicyRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    // Parameters left out take IAM's defaults, not the previous policy's values.
    let policy = PasswordPolicy {
        minimum_length: i.minimum_password_length.unwrap_or(8),
        require_symbols: i.require_symbols.unwrap_or(false),
        require_numbers: i.require_numbers.unwrap_or(false),
        require_uppercase: i.require_uppercase_characters.unwrap_or(false),
        require_lowercase: i.require_lowercase_characters.unwrap_or(false),
        allow_users_to_change: i.allow_users_to_change_password.unwrap_or(false),
        max_age: i.max_password_age.unwrap_or(0),
        reuse_prevention: i.password_reuse_prevention.unwrap_or(0),
        hard_expiry: i.hard_expiry.unwrap_or(false),
    };
    iam.update(&account, move |st| {
        st.password_policy = Some(policy);
        Ok(())
    })
    .await
}

fn no_policy(account: &str) -> AwsError {
    no_such_entity(format!("The Password Policy with domain name {account} cannot be found."))
}

pub(super) async fn get_account_password_policy(
    iam: &Iam,
    ctx: &RequestContext,
    _i: nuage_protocol::NoInput,
) -> AwsResult<m::GetAccountPasswordPolicyResponse> {
    let account = caller_account(ctx)?;
    let st = iam.account(account);
    let p = st.password_policy.as_ref().ok_or_else(|| no_policy(account))?;
    Ok(m::GetAccountPasswordPolicyResponse { password_policy: Some(policy_out(p)) })
}

pub(super) async fn delete_account_password_policy(
    iam: &Iam,
    ctx: &RequestContext,
    _i: nuage_protocol::NoInput,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    iam.update(&account.clone(), move |st| st.password_policy.take().map(|_| ()).ok_or_else(|| no_policy(&account)))
        .await
}

/// Whether the account's policy lets its users change their own passwords without an
/// iam:ChangePassword permission.
pub(super) fn users_may_change_passwords(iam: &Iam, ctx: &RequestContext) -> bool {
    let Some(p) = &ctx.principal else { return false };
    matches!(p.kind, nuage_core::PrincipalKind::User | nuage_core::PrincipalKind::UserSession)
        && iam.account(&p.account_id).password_policy.as_ref().is_some_and(|p| p.allow_users_to_change)
}

pub(super) async fn change_password(iam: &Iam, ctx: &RequestContext, i: m::ChangePasswordRequest) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let name = caller_user(ctx)
        .ok_or_else(|| E::InvalidUserTypeException.msg("Only IAM users can change their own password."))?
        .to_string();
    let old = required(&i.old_password, "OldPassword")?.to_string();
    let new = required(&i.new_password, "NewPassword")?.to_string();
    let account_name = account_display_name(iam, &account);
    iam.update(&account, move |st| {
        check_password(st, &new, &account_name)?;
        let reuse = st.password_policy.as_ref().map_or(0, |p| p.reuse_prevention.max(0) as usize);
        let user = user_mut(st, &name)?;
        let p = user
            .login_profile
            .as_mut()
            .ok_or_else(|| no_such_entity(format!("Login Profile for User {name} cannot be found.")))?;
        if !p.password.as_ref().is_some_and(|h| h.matches(&old)) {
            return Err(E::InvalidUserTypeException.msg("The old password was incorrect."));
        }
        let recent = p.password.iter().chain(p.previous.iter()).take(reuse);
        if reuse > 0 && recent.clone().any(|h| h.matches(&new)) {
            return Err(E::PasswordPolicyViolationException
                .msg(format!("Password should not be one of your previous {reuse} passwords.")));
        }
        set_password(p, &new, reuse);
        p.password_reset_required = false;
        Ok(())
    })
    .await
}

// ---- the account alias ----

pub(super) async fn create_account_alias(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::CreateAccountAliasRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let alias = required(&i.account_alias, "AccountAlias")?.to_string();
    // The model's pattern (^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$) has a look-ahead the
    // codec's regular expressions lack: checked here.
    let chars_ok = alias.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let shape_ok = !alias.starts_with('-') && !alias.ends_with('-') && !alias.contains("--");
    if !(chars_ok && shape_ok) {
        return Err(validation(format!(
            "1 validation error detected: Value '{alias}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    // Aliases are unique across accounts.
    let taken = iam
        .identities
        .accounts()
        .iter()
        .any(|a| a.id != account && iam.account(&a.id).alias.as_deref() == Some(alias.as_str()));
    if taken {
        return Err(already_exists(format!("The account alias {alias} already exists.")));
    }
    // An account has one alias: a new one replaces it.
    iam.update(&account, move |st| {
        st.alias = Some(alias);
        Ok(())
    })
    .await
}

pub(super) async fn delete_account_alias(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeleteAccountAliasRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let alias = required(&i.account_alias, "AccountAlias")?.to_string();
    iam.update(&account, move |st| {
        if st.alias.as_deref() != Some(alias.as_str()) {
            return Err(no_such_entity(format!("The account alias {alias} cannot be found.")));
        }
        st.alias = None;
        Ok(())
    })
    .await
}

pub(super) async fn list_account_aliases(
    iam: &Iam,
    ctx: &RequestContext,
    _i: m::ListAccountAliasesRequest,
) -> AwsResult<m::ListAccountAliasesResponse> {
    let st = iam.account(caller_account(ctx)?);
    Ok(m::ListAccountAliasesResponse {
        account_aliases: Some(st.alias.iter().cloned().collect()),
        is_truncated: Some(false),
        marker: None,
    })
}

// ---- service-specific credentials ----

/// The services that take service-specific credentials.
const CREDENTIAL_SERVICES: &[&str] = &["codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com"];

fn credential_out(c: &ServiceCredential, with_secret: bool) -> m::ServiceSpecificCredential {
    let bedrock = c.service == "bedrock.amazonaws.com";
    m::ServiceSpecificCredential {
        create_date: Some(Timestamp(c.created)),
        expiration_date: c.expires.map(Timestamp),
        service_name: Some(c.service.clone()),
        service_user_name: (!bedrock).then(|| c.service_user_name.clone()),
        service_password: (with_secret && !bedrock).then(|| c.password.clone()),
        service_credential_alias: bedrock.then(|| c.service_user_name.clone()),
        service_credential_secret: (with_secret && bedrock).then(|| c.password.clone()),
        service_specific_credential_id: Some(c.id.clone()),
        user_name: Some(c.user.clone()),
        status: Some(if c.active { "Active" } else { "Inactive" }.into()),
    }
}

fn credential_metadata(c: &ServiceCredential) -> m::ServiceSpecificCredentialMetadata {
    let bedrock = c.service == "bedrock.amazonaws.com";
    m::ServiceSpecificCredentialMetadata {
        user_name: Some(c.user.clone()),
        status: Some(if c.active { "Active" } else { "Inactive" }.into()),
        service_user_name: (!bedrock).then(|| c.service_user_name.clone()),
        service_credential_alias: bedrock.then(|| c.service_user_name.clone()),
        create_date: Some(Timestamp(c.created)),
        expiration_date: c.expires.map(Timestamp),
        service_specific_credential_id: Some(c.id.clone()),
        service_name: Some(c.service.clone()),
    }
}

fn service_password() -> String {
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..33).map(|_| rand::random::<u8>()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(super) async fn create_service_specific_credential(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::CreateServiceSpecificCredentialRequest,
) -> AwsResult<m::CreateServiceSpecificCredentialResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.user_name, "UserName")?.to_string();
    let service = required(&i.service_name, "ServiceName")?.to_string();
    if !CREDENTIAL_SERVICES.contains(&service.as_str()) {
        return Err(E::ServiceNotSupportedException.msg(format!("Service {service} is not supported.")));
    }
    let age = i.credential_age_days;
    let created = iam
        .update(&account.clone(), move |st| {
            let user = st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.name.clone();
            let held = st.service_credentials.values().filter(|c| c.user == user && c.service == service).count();
            if held >= 2 {
                return Err(limit_exceeded("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2"));
            }
            let now = now_ms();
            let c = ServiceCredential {
                id: new_id("ACCA"),
                user: user.clone(),
                service_user_name: format!("{user}-at-{account}"),
                service,
                password: service_password(),
                active: true,
                created: now,
                expires: age.map(|d| now + d as i64 * 86_400_000),
            };
            st.service_credentials.insert(c.id.clone(), c.clone());
            Ok(c)
        })
        .await?;
    Ok(m::CreateServiceSpecificCredentialResponse { service_specific_credential: Some(credential_out(&created, true)) })
}

pub(super) async fn list_service_specific_credentials(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ListServiceSpecificCredentialsRequest,
) -> AwsResult<m::ListServiceSpecificCredentialsResponse> {
    let st = iam.account(caller_account(ctx)?);
    let all_users = i.all_users.unwrap_or(false);
    let user = if all_users {
        None
    } else {
        let name = target_user(ctx, &i.user_name)?;
        Some(st.users.get(&ci(&name)).ok_or_else(|| no_user(&name))?.name.clone())
    };
    let listed: Vec<_> = st
        .service_credentials
        .values()
        .filter(|c| user.as_ref().is_none_or(|u| *u == c.user))
        .filter(|c| i.service_name.as_ref().is_none_or(|s| *s == c.service))
        .map(credential_metadata)
        .collect();
    let (items, truncated, marker) = page(listed, i.marker.as_deref(), i.max_items)?;
    Ok(m::ListServiceSpecificCredentialsResponse {
        service_specific_credentials: Some(items),
        is_truncated: Some(truncated),
        marker,
    })
}

/// The credential `id` of the user a request names (or the caller).
fn credential_mut<'a>(st: &'a mut AccountState, user: &str, id: &str) -> AwsResult<&'a mut ServiceCredential> {
    let missing = || no_such_entity(format!("No such credential {id} exists"));
    let c = st.service_credentials.get_mut(id).ok_or_else(missing)?;
    if !c.user.eq_ignore_ascii_case(user) {
        return Err(missing());
    }
    Ok(c)
}

pub(super) async fn reset_service_specific_credential(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::ResetServiceSpecificCredentialRequest,
) -> AwsResult<m::ResetServiceSpecificCredentialResponse> {
    let account = caller_account(ctx)?.to_string();
    let user = target_user(ctx, &i.user_name)?;
    let id = required(&i.service_specific_credential_id, "ServiceSpecificCredentialId")?.to_string();
    let c = iam
        .update(&account, move |st| {
            let c = credential_mut(st, &user, &id)?;
            c.password = service_password();
            Ok(c.clone())
        })
        .await?;
    Ok(m::ResetServiceSpecificCredentialResponse { service_specific_credential: Some(credential_out(&c, true)) })
}

pub(super) async fn update_service_specific_credential(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::UpdateServiceSpecificCredentialRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let user = target_user(ctx, &i.user_name)?;
    let id = required(&i.service_specific_credential_id, "ServiceSpecificCredentialId")?.to_string();
    let status = required(&i.status, "Status")?.to_string();
    iam.update(&account, move |st| {
        credential_mut(st, &user, &id)?.active = status == "Active";
        Ok(())
    })
    .await
}

pub(super) async fn delete_service_specific_credential(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeleteServiceSpecificCredentialRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let user = target_user(ctx, &i.user_name)?;
    let id = required(&i.service_specific_credential_id, "ServiceSpecificCredentialId")?.to_string();
    iam.update(&account, move |st| {
        credential_mut(st, &user, &id)?;
        st.service_credentials.remove(&id);
        Ok(())
    })
    .await
}

// ---- the credential report ----

pub(super) async fn generate_credential_report(
    iam: &Iam,
    ctx: &RequestContext,
    _i: nuage_protocol::NoInput,
) -> AwsResult<m::GenerateCredentialReportResponse> {
    let account = caller_account(ctx)?.to_string();
    // IAM makes a new report at most every four hours; until then it keeps the last one.
    let fresh =
        iam.account(&account).credential_report.as_ref().is_some_and(|r| now_ms() - r.generated < 4 * 3_600_000);
    if fresh {
        return Ok(m::GenerateCredentialReportResponse {
            state: Some("COMPLETE".into()),
            description: Some("No report generation is needed: the last one is less than four hours old.".into()),
        });
    }
    let content = report(iam, &account, &iam.account(&account));
    iam.update(&account, move |st| {
        st.credential_report = Some(crate::state::CredentialReport { generated: now_ms(), content });
        Ok(())
    })
    .await?;
    Ok(m::GenerateCredentialReportResponse {
        state: Some("STARTED".into()),
        description: Some("No report exists. Starting a new report generation task".into()),
    })
}

fn iso(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .map(|s| s.replace('Z', "+00:00"))
        .unwrap_or_else(|| "N/A".into())
}

/// The report as IAM writes it: one CSV line for the root and one per user.
fn report(iam: &Iam, account: &str, st: &AccountState) -> String {
    let mut out = String::from("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n");
    // nuage keeps no creation time for an account: the report says so as IAM does for
    // values it lacks.
    out.push_str(&format!(
        "<root_account>,arn:aws:iam::{account}:root,no_information,not_supported,no_information,not_supported,not_supported,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    ));
    let max_age = st.password_policy.as_ref().map_or(0, |p| p.max_age);
    for u in st.users.values() {
        let mut row = vec![u.name.clone(), u.arn.clone(), iso(u.created)];
        match &u.login_profile {
            Some(p) => {
                let changed = if p.changed > 0 { p.changed } else { p.created };
                row.extend([
                    "true".into(),
                    "no_information".into(),
                    iso(changed),
                    if max_age > 0 { iso(changed + max_age as i64 * 86_400_000) } else { "N/A".into() },
                ]);
            }
            None => row.extend(["false", "N/A", "N/A", "N/A"].map(String::from)),
        }
        let mfa = st.mfa_devices.values().any(|d| d.user.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(&u.name)));
        row.push(mfa.to_string());
        let mut keys: Vec<&AccessKey> =
            st.access_keys.values().filter(|k| k.user.eq_ignore_ascii_case(&u.name)).collect();
        keys.sort_by_key(|k| k.created);
        for n in 0..2 {
            match keys.get(n) {
                Some(k) => {
                    row.push(k.active.to_string());
                    row.push(iso(k.created));
                    match iam.key_last_used(&k.id) {
                        Some(used) => row.extend([iso(used.date_ms), used.region.clone(), used.service.clone()]),
                        None => row.extend(["N/A", "N/A", "N/A"].map(String::from)),
                    }
                }
                None => row.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(String::from)),
            }
        }
        row.extend(["false", "N/A", "false", "N/A"].map(String::from));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

pub(super) async fn get_credential_report(
    iam: &Iam,
    ctx: &RequestContext,
    _i: nuage_protocol::NoInput,
) -> AwsResult<m::GetCredentialReportResponse> {
    let st = iam.account(caller_account(ctx)?);
    let r = st.credential_report.as_ref().ok_or_else(|| {
        E::CredentialReportNotPresentException
            .msg("Credential report not present. Use GenerateCredentialReport to generate a report.")
    })?;
    if now_ms() - r.generated > 4 * 3_600_000 {
        return Err(E::CredentialReportExpiredException.msg(
            "The credential report is more than four hours old. Use GenerateCredentialReport to generate a new one.",
        ));
    }
    Ok(m::GetCredentialReportResponse {
        content: Some(nuage_protocol::Blob(r.content.clone().into_bytes())),
        report_format: Some("text/csv".into()),
        generated_time: Some(Timestamp(r.generated)),
    })
}
