//! Account-wide views: GetAccountAuthorizationDetails and GetAccountSummary.
use super::*;

// ---- account-wide views ----

pub(super) fn inline_details(inline: &BTreeMap<String, Inline>) -> Option<Vec<m::PolicyDetail>> {
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

pub(super) fn attached_details(attached: &[String]) -> Option<Vec<m::AttachedPolicy>> {
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

pub(super) async fn get_account_authorization_details(
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
pub(super) async fn get_account_summary(iam: &Iam, ctx: &RequestContext) -> AwsResult<m::GetAccountSummaryResponse> {
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
