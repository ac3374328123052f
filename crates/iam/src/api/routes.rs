//! IAM's table of operations: one row per operation of the model. An operation's action is
//! `iam:<Operation>`; its resource and condition keys come from the typed input (read as the
//! model names its members), for the user, group, role, policy or provider it names.
use super::*;
use nuage_front::{NoOutput, Row, TypedService};
use nuage_protocol::iam::ops::Operation as O;
use serde_json::Value;

/// The typed input's members by their model names.
struct Members(serde_json::Map<String, Value>);

impl Members {
    fn of<T: serde::Serialize>(input: &T) -> Members {
        match serde_json::to_value(input) {
            Ok(Value::Object(m)) => Members(m),
            _ => Members(serde_json::Map::new()),
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.as_str())
    }
}

/// `aws:RequestTag/<key>` and `aws:TagKeys` from a request's `Tags` (or the keys of `TagKeys`
/// when untagging).
fn request_tags(i: &Members, c: &mut Context) {
    let text = |v: &Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    let list = |name: &str| i.0.get(name).and_then(|v| v.as_array()).cloned().unwrap_or_default();
    let tags = list("Tags").iter().map(|t| (text(t, "Key"), text(t, "Value"))).collect();
    let untagged = list("TagKeys").iter().filter_map(|k| k.as_str().map(String::from)).collect();
    c.set_request_tags(tags, untagged);
}

/// IAM's condition keys of a request: tags asked for, tags of the user or role acted on, the
/// policy attached, the boundary set.
fn condition_keys(st: &AccountState, ctx: &RequestContext, on: On, i: &Members) -> Context {
    let mut c = Context::default();
    request_tags(i, &mut c);
    match on {
        On::User => {
            if let Some(u) = i.get("UserName").or_else(|| caller_user(ctx)).and_then(|n| st.users.get(&ci(n))) {
                resource_tags(&u.tags, &mut c);
            }
        }
        On::Role => {
            if let Some(r) = i.get("RoleName").and_then(|n| st.roles.get(&ci(n))) {
                resource_tags(&r.tags, &mut c);
            }
        }
        _ => {}
    }
    if let Some(arn) = i.get("PolicyArn") {
        c.set("iam:PolicyARN", arn);
    }
    if let Some(arn) = i.get("PermissionsBoundary") {
        c.set("iam:PermissionsBoundary", arn);
    }
    if let Some(service) = i.get("AWSServiceName") {
        c.set("iam:AWSServiceName", service);
    }
    c
}

/// The operations a service-linked role refuses (IAM protects it; its description may change).
const PROTECTING: &[&str] = &[
    "UpdateAssumeRolePolicy",
    "DeleteRole",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "UpdateRole",
    "AddRoleToInstanceProfile",
];

fn resource_arn(st: &AccountState, ctx: &RequestContext, on: On, i: &Members) -> String {
    let account = ctx.account_id().unwrap_or_default();
    let path_of = |path: Option<String>| path.unwrap_or_else(|| "/".into());
    let given_path = || i.get("Path").map(String::from);
    match on {
        On::User => match i.get("UserName").or_else(|| caller_user(ctx)) {
            Some(name) => {
                let path = st.users.get(&ci(name)).map(|u| u.path.clone()).or_else(given_path);
                format!("arn:aws:iam::{account}:user{}{name}", path_of(path))
            }
            None => format!("arn:aws:iam::{account}:root"),
        },
        On::Group => {
            let name = i.get("GroupName").unwrap_or_default();
            let path = st.groups.get(&ci(name)).map(|g| g.path.clone()).or_else(given_path);
            format!("arn:aws:iam::{account}:group{}{name}", path_of(path))
        }
        On::Role => {
            let name = i.get("RoleName").unwrap_or_default();
            let path = st.roles.get(&ci(name)).map(|r| r.path.clone()).or_else(given_path);
            format!("arn:aws:iam::{account}:role{}{name}", path_of(path))
        }
        On::InstanceProfile => {
            let name = i.get("InstanceProfileName").unwrap_or_default();
            let path = st.instance_profiles.get(name).map(|p| p.path.clone()).or_else(given_path);
            format!("arn:aws:iam::{account}:instance-profile{}{name}", path_of(path))
        }
        On::Policy => i.get("PolicyArn").unwrap_or("*").to_string(),
        On::NewPolicy => format!(
            "arn:aws:iam::{account}:policy{}{}",
            i.get("Path").unwrap_or("/"),
            i.get("PolicyName").unwrap_or_default()
        ),
        On::PolicySource => i.get("PolicySourceArn").unwrap_or("*").to_string(),
        On::Saml => match i.get("SAMLProviderArn") {
            Some(arn) => arn.to_string(),
            None => format!("arn:aws:iam::{account}:saml-provider/{}", i.get("Name").unwrap_or_default()),
        },
        On::Mfa => match i.get("SerialNumber") {
            Some(serial) => serial.to_string(),
            None => format!(
                "arn:aws:iam::{account}:mfa{}{}",
                i.get("Path").unwrap_or("/"),
                i.get("VirtualMFADeviceName").unwrap_or_default()
            ),
        },
        On::Oidc => match i.get("OpenIDConnectProviderArn") {
            Some(arn) => arn.to_string(),
            None => oidc_arn(account, i.get("Url").unwrap_or_default()),
        },
        On::NewServiceLinkedRole => {
            let service = i.get("AWSServiceName").unwrap_or_default();
            match super::service_linked::role_for(service, i.get("CustomSuffix")) {
                Ok((name, path)) => format!("arn:aws:iam::{account}:role{path}{name}"),
                Err(_) => format!("arn:aws:iam::{account}:role/aws-service-role/*"),
            }
        }
        On::Any => "*".to_string(),
    }
}

impl IamService {
    /// Why IAM refuses a principal's credentials, if it does.
    fn refused_credentials(&self, p: &nuage_core::Principal) -> Option<&'static str> {
        use nuage_core::PrincipalKind as K;
        match p.kind {
            K::FederatedUser => Some("IAM operations cannot be called with federated user credentials."),
            K::UserSession => {
                let mfa = p.session_key.as_deref().and_then(|k| self.iam.session(k)).and_then(|s| s.mfa_authenticated);
                mfa.is_none()
                    .then_some("IAM operations cannot be called with GetSessionToken credentials obtained without MFA.")
            }
            K::Root | K::User | K::AssumedRole | K::Service => None,
        }
    }

    /// IAM's refusal when `op` would change a service-linked role.
    fn protected<T: serde::Serialize>(&self, op: &str, ctx: &RequestContext, input: &T) -> Option<AwsError> {
        if !PROTECTING.contains(&op) {
            return None;
        }
        let name = Members::of(input).get("RoleName")?.to_string();
        let st = self.iam.account(ctx.account_id().unwrap_or_default());
        let role = st.roles.get(&ci(&name))?;
        super::service_linked::is_service_linked(role).then(|| super::service_linked::protected(&role.name))
    }

    fn authorization<T: serde::Serialize>(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        on: On,
        input: &T,
    ) -> Authorization {
        let st = self.iam.account(ctx.account_id().unwrap_or_default());
        let i = Members::of(input);
        Authorization {
            action,
            resource: resource_arn(&st, ctx, on, &i),
            context: condition_keys(&st, ctx, on, &i),
            ..Default::default()
        }
    }
}

/// The table: operations answered with an output, operations answered empty, and those not
/// served. The expansion is one exhaustive `match` on the model's operations.
macro_rules! table {
    ($me:ident, $ctx:ident, $op:ident,
     out { $($o:ident: $on:ident => $h:path,)* }
     unit { $($u:ident: $on0:ident => $h0:path,)* }
     not_served { $($n:ident)* }) => {
        match $op {
            O::GetAccountSummary(_) => Row::serve("iam:GetAccountSummary", "*", get_account_summary(&$me.iam, $ctx)),
            // Operations without input act on the account.
            O::GetAccountPasswordPolicy(i) => {
                Row::serve("iam:GetAccountPasswordPolicy", "*", get_account_password_policy(&$me.iam, $ctx, i))
            }
            O::DeleteAccountPasswordPolicy(i) => Row::serve(
                "iam:DeleteAccountPasswordPolicy",
                "*",
                async move { delete_account_password_policy(&$me.iam, $ctx, i).await.map(|()| NoOutput) },
            ),
            O::GenerateCredentialReport(i) => {
                Row::serve("iam:GenerateCredentialReport", "*", generate_credential_report(&$me.iam, $ctx, i))
            }
            O::GetCredentialReport(i) => {
                Row::serve("iam:GetCredentialReport", "*", get_credential_report(&$me.iam, $ctx, i))
            }
            O::ChangePassword(i) => {
                let mut a = $me.authorization($ctx, "iam:ChangePassword", On::User, &i);
                // The account's policy may let every user change their own password.
                a.always_allowed = users_may_change_passwords(&$me.iam, $ctx);
                Row::authorized(a, async move { change_password(&$me.iam, $ctx, i).await.map(|()| NoOutput) })
            }
            $(O::$o(i) => {
                let a = $me.authorization($ctx, concat!("iam:", stringify!($o)), On::$on, &i);
                Row::authorized(a, $h(&$me.iam, $ctx, i))
            })*
            $(O::$u(i) => {
                let a = $me.authorization($ctx, concat!("iam:", stringify!($u)), On::$on0, &i);
                if let Some(e) = $me.protected(stringify!($u), $ctx, &i) {
                    return Row::authorized(a, async move { Err::<NoOutput, _>(e) });
                }
                Row::authorized(a, async move { $h0(&$me.iam, $ctx, i).await.map(|()| NoOutput) })
            })*
            $(O::$n(_))|* => Row::NotServed,
        }
    };
}

impl TypedService for IamService {
    type Operation = O;

    fn signing_name(&self) -> &'static str {
        "iam"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn reset(&self) {
        self.iam.reset();
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("ValidationError")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        // Temporary credentials reach IAM only from a role session, or from GetSessionToken
        // with an MFA code; a federated user's never (the temporary-credentials pages).
        if let Some(why) = ctx.principal.as_ref().and_then(|p| self.refused_credentials(p)) {
            let allowed =
                Authorization { action: "iam:*", resource: "*".into(), always_allowed: true, ..Default::default() };
            // IAM answers as it does on AWS: the token is not one it takes.
            tracing::debug!(reason = why, "temporary credentials refused by IAM");
            return Row::authorized(allowed, async move {
                Err::<NoOutput, _>(AwsError::new(
                    "InvalidClientTokenId",
                    403,
                    "The security token included in the request is invalid",
                ))
            });
        }
        table!(self, ctx, op,
            out {
                CreateUser: User => create_user,
                GetUser: User => get_user,
                ListUsers: Any => list_users,
                ListUserTags: User => list_user_tags,
                ListInstanceProfileTags: InstanceProfile => list_instance_profile_tags,
                ListOpenIDConnectProviderTags: Oidc => list_oidc_provider_tags,
                CreateAccessKey: User => create_access_key,
                ListAccessKeys: User => list_access_keys,
                GetAccessKeyLastUsed: Any => get_access_key_last_used,
                CreateLoginProfile: User => create_login_profile,
                GetLoginProfile: User => get_login_profile,
                CreateGroup: Group => create_group,
                GetGroup: Group => get_group,
                ListGroups: Any => list_groups,
                ListGroupsForUser: User => list_groups_for_user,
                CreateRole: Role => create_role,
                CreateServiceLinkedRole: NewServiceLinkedRole => create_service_linked_role,
                DeleteServiceLinkedRole: Role => delete_service_linked_role,
                GetServiceLinkedRoleDeletionStatus: Any => get_service_linked_role_deletion_status,
                GetRole: Role => get_role,
                ListRoles: Any => list_roles,
                UpdateRole: Role => update_role,
                UpdateRoleDescription: Role => update_role_description,
                ListRoleTags: Role => list_role_tags,
                CreatePolicy: NewPolicy => create_policy,
                GetPolicy: Policy => get_policy,
                ListPolicies: Any => list_policies,
                ListPolicyTags: Policy => list_policy_tags,
                CreatePolicyVersion: Policy => create_policy_version,
                GetPolicyVersion: Policy => get_policy_version,
                ListPolicyVersions: Policy => list_policy_versions,
                ListEntitiesForPolicy: Policy => list_entities_for_policy,
                ListAttachedUserPolicies: User => list_attached_user_policies,
                ListAttachedGroupPolicies: Group => list_attached_group_policies,
                ListAttachedRolePolicies: Role => list_attached_role_policies,
                GetUserPolicy: User => get_user_policy,
                GetGroupPolicy: Group => get_group_policy,
                GetRolePolicy: Role => get_role_policy,
                ListUserPolicies: User => list_user_policies,
                ListGroupPolicies: Group => list_group_policies,
                ListRolePolicies: Role => list_role_policies,
                CreateInstanceProfile: InstanceProfile => create_instance_profile,
                GetInstanceProfile: InstanceProfile => get_instance_profile,
                ListInstanceProfiles: Any => list_instance_profiles,
                ListInstanceProfilesForRole: Role => list_instance_profiles_for_role,
                GetAccountAuthorizationDetails: Any => get_account_authorization_details,
                CreateOpenIDConnectProvider: Oidc => create_oidc_provider,
                GetOpenIDConnectProvider: Oidc => get_oidc_provider,
                ListOpenIDConnectProviders: Any => list_oidc_providers,
                SimulatePrincipalPolicy: PolicySource => crate::api::simulate::principal,
                SimulateCustomPolicy: Any => crate::api::simulate::custom,
                GetContextKeysForCustomPolicy: Any => crate::api::simulate::context_keys_custom,
                GetContextKeysForPrincipalPolicy: PolicySource => crate::api::simulate::context_keys_principal,
                ListAccountAliases: Any => list_account_aliases,
                CreateServiceSpecificCredential: User => create_service_specific_credential,
                ListServiceSpecificCredentials: User => list_service_specific_credentials,
                ResetServiceSpecificCredential: User => reset_service_specific_credential,
                CreateVirtualMFADevice: Mfa => create_virtual_mfa_device,
                ListMFADevices: User => list_mfa_devices,
                ListVirtualMFADevices: Any => list_virtual_mfa_devices,
                GetMFADevice: Mfa => get_mfa_device,
                ListMFADeviceTags: Mfa => list_mfa_device_tags,
                CreateSAMLProvider: Saml => create_saml_provider,
                GetSAMLProvider: Saml => get_saml_provider,
                ListSAMLProviders: Any => list_saml_providers,
                UpdateSAMLProvider: Saml => update_saml_provider,
                ListSAMLProviderTags: Saml => list_saml_provider_tags,
                GenerateServiceLastAccessedDetails: Any => generate_service_last_accessed_details,
                GetServiceLastAccessedDetails: Any => get_service_last_accessed_details,
                GetServiceLastAccessedDetailsWithEntities: Any => get_service_last_accessed_details_with_entities,
                ListPoliciesGrantingServiceAccess: Any => list_policies_granting_service_access,
                UploadSSHPublicKey: User => upload_ssh_public_key,
                GetSSHPublicKey: User => get_ssh_public_key,
                ListSSHPublicKeys: User => list_ssh_public_keys,
            }
            unit {
                UpdateAccountPasswordPolicy: Any => update_account_password_policy,
                CreateAccountAlias: Any => create_account_alias,
                DeleteAccountAlias: Any => delete_account_alias,
                UpdateServiceSpecificCredential: User => update_service_specific_credential,
                DeleteServiceSpecificCredential: User => delete_service_specific_credential,
                EnableMFADevice: User => enable_mfa_device,
                ResyncMFADevice: User => resync_mfa_device,
                DeactivateMFADevice: User => deactivate_mfa_device,
                DeleteVirtualMFADevice: Mfa => delete_virtual_mfa_device,
                TagMFADevice: Mfa => tag_mfa_device,
                UntagMFADevice: Mfa => untag_mfa_device,
                UpdateUser: User => update_user,
                DeleteUser: User => delete_user,
                TagUser: User => tag_user,
                TagInstanceProfile: InstanceProfile => tag_instance_profile,
                DeleteSAMLProvider: Saml => delete_saml_provider,
                TagSAMLProvider: Saml => tag_saml_provider,
                UntagSAMLProvider: Saml => untag_saml_provider,
                UntagInstanceProfile: InstanceProfile => untag_instance_profile,
                TagOpenIDConnectProvider: Oidc => tag_oidc_provider,
                UntagOpenIDConnectProvider: Oidc => untag_oidc_provider,
                UntagUser: User => untag_user,
                UpdateAccessKey: User => update_access_key,
                DeleteAccessKey: User => delete_access_key,
                UpdateLoginProfile: User => update_login_profile,
                DeleteLoginProfile: User => delete_login_profile,
                DeleteGroup: Group => delete_group,
                UpdateGroup: Group => update_group,
                AddUserToGroup: Group => add_user_to_group,
                RemoveUserFromGroup: Group => remove_user_from_group,
                UpdateAssumeRolePolicy: Role => update_assume_role_policy,
                DeleteRole: Role => delete_role,
                TagRole: Role => tag_role,
                UntagRole: Role => untag_role,
                PutRolePermissionsBoundary: Role => put_role_permissions_boundary,
                DeleteRolePermissionsBoundary: Role => delete_role_permissions_boundary,
                PutUserPermissionsBoundary: User => put_user_permissions_boundary,
                DeleteUserPermissionsBoundary: User => delete_user_permissions_boundary,
                DeletePolicy: Policy => delete_policy,
                TagPolicy: Policy => tag_policy,
                UntagPolicy: Policy => untag_policy,
                DeletePolicyVersion: Policy => delete_policy_version,
                SetDefaultPolicyVersion: Policy => set_default_policy_version,
                AttachUserPolicy: User => attach_user_policy,
                DetachUserPolicy: User => detach_user_policy,
                AttachGroupPolicy: Group => attach_group_policy,
                DetachGroupPolicy: Group => detach_group_policy,
                AttachRolePolicy: Role => attach_role_policy,
                DetachRolePolicy: Role => detach_role_policy,
                PutUserPolicy: User => put_user_policy,
                DeleteUserPolicy: User => delete_user_policy,
                PutGroupPolicy: Group => put_group_policy,
                DeleteGroupPolicy: Group => delete_group_policy,
                PutRolePolicy: Role => put_role_policy,
                DeleteRolePolicy: Role => delete_role_policy,
                DeleteInstanceProfile: InstanceProfile => delete_instance_profile,
                AddRoleToInstanceProfile: InstanceProfile => add_role_to_instance_profile,
                RemoveRoleFromInstanceProfile: InstanceProfile => remove_role_from_instance_profile,
                DeleteOpenIDConnectProvider: Oidc => delete_oidc_provider,
                AddClientIDToOpenIDConnectProvider: Oidc => add_client_id,
                RemoveClientIDFromOpenIDConnectProvider: Oidc => remove_client_id,
                UpdateOpenIDConnectProviderThumbprint: Oidc => update_thumbprints,
                UpdateSSHPublicKey: User => update_ssh_public_key,
                DeleteSSHPublicKey: User => delete_ssh_public_key,
            }
            not_served {
                AcceptDelegationRequest AcquireRole AssociateDelegationRequest CreateDelegationRequest DeleteServerCertificate DeleteSigningCertificate DisableOrganizationsRootCredentialsManagement DisableOrganizationsRootSessions DisableOutboundWebIdentityFederation EnableOrganizationsRootCredentialsManagement EnableOrganizationsRootSessions EnableOutboundWebIdentityFederation GenerateOrganizationsAccessReport GetAccountProperties GetDelegationRequest GetHumanReadableSummary GetOrganizationsAccessReport GetOutboundWebIdentityFederationInfo GetRoleTemplateVersion GetServerCertificate ListDelegationRequests ListOrganizationsFeatures ListServerCertificateTags ListServerCertificates ListSigningCertificates PutAccountProperties RejectDelegationRequest SendDelegationToken SetSecurityTokenServicePreferences TagServerCertificate UntagServerCertificate UpdateDelegationRequest UpdateServerCertificate UpdateSigningCertificate UploadServerCertificate UploadSigningCertificate
            }
        )
    }
}
