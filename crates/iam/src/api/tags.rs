//! Tags of users, roles, policies, instance profiles and OpenID Connect providers.
use super::*;

// ---- tags of users, roles and policies ----

/// What carries tags.
#[derive(Clone, Copy)]
pub(super) enum Tagged {
    User,
    Role,
    Policy,
    InstanceProfile,
    Oidc,
    Saml,
}

fn no_instance_profile(name: &str) -> AwsError {
    no_such_entity(format!("Instance Profile {name} cannot be found."))
}

fn no_saml_tagged(arn: &str) -> AwsError {
    no_such_entity(format!("SAMLProvider {arn} does not exist."))
}

fn no_oidc(arn: &str) -> AwsError {
    no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

pub(super) fn tags_mut<'a>(st: &'a mut AccountState, kind: Tagged, name: &str) -> AwsResult<&'a mut Vec<Tag>> {
    Ok(match kind {
        Tagged::User => &mut user_mut(st, name)?.tags,
        Tagged::Role => &mut role_mut(st, name)?.tags,
        Tagged::Policy => &mut policy_mut(st, name)?.tags,
        Tagged::InstanceProfile => {
            &mut st.instance_profiles.get_mut(name).ok_or_else(|| no_instance_profile(name))?.tags
        }
        Tagged::Oidc => &mut st.oidc_providers.get_mut(name).ok_or_else(|| no_oidc(name))?.tags,
        Tagged::Saml => &mut st.saml_providers.get_mut(name).ok_or_else(|| no_saml_tagged(name))?.tags,
    })
}

pub(super) async fn tag(
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

pub(super) async fn untag(
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

pub(super) fn list_tags(
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
        Tagged::InstanceProfile => &st.instance_profiles.get(&name).ok_or_else(|| no_instance_profile(&name))?.tags,
        Tagged::Oidc => &st.oidc_providers.get(&name).ok_or_else(|| no_oidc(&name))?.tags,
        Tagged::Saml => &st.saml_providers.get(&name).ok_or_else(|| no_saml_tagged(&name))?.tags,
    };
    page(tags_out(tags).unwrap_or_default(), marker.as_deref(), max_items)
}

macro_rules! tag_ops {
    ($tag:ident, $untag:ident, $list:ident, $kind:expr, $field:ident, $TagReq:ident, $UntagReq:ident, $ListReq:ident, $ListResp:ident) => {
        pub(super) async fn $tag(iam: &Iam, ctx: &RequestContext, input: m::$TagReq) -> AwsResult<()> {
            tag(iam, ctx, $kind, input.$field, input.tags).await
        }
        pub(super) async fn $untag(iam: &Iam, ctx: &RequestContext, input: m::$UntagReq) -> AwsResult<()> {
            untag(iam, ctx, $kind, input.$field, input.tag_keys).await
        }
        pub(super) async fn $list(iam: &Iam, ctx: &RequestContext, input: m::$ListReq) -> AwsResult<m::$ListResp> {
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
tag_ops!(
    tag_instance_profile,
    untag_instance_profile,
    list_instance_profile_tags,
    Tagged::InstanceProfile,
    instance_profile_name,
    TagInstanceProfileRequest,
    UntagInstanceProfileRequest,
    ListInstanceProfileTagsRequest,
    ListInstanceProfileTagsResponse
);
tag_ops!(
    tag_oidc_provider,
    untag_oidc_provider,
    list_oidc_provider_tags,
    Tagged::Oidc,
    open_id_connect_provider_arn,
    TagOpenIDConnectProviderRequest,
    UntagOpenIDConnectProviderRequest,
    ListOpenIDConnectProviderTagsRequest,
    ListOpenIDConnectProviderTagsResponse
);
tag_ops!(
    tag_saml_provider,
    untag_saml_provider,
    list_saml_provider_tags,
    Tagged::Saml,
    saml_provider_arn,
    TagSAMLProviderRequest,
    UntagSAMLProviderRequest,
    ListSAMLProviderTagsRequest,
    ListSAMLProviderTagsResponse
);
