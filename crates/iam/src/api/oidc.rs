//! OpenID Connect identity providers: their URLs, client ids and thumbprints.
use super::*;

// ---- OpenID Connect providers ----

/// `arn:aws:iam::<account>:oidc-provider/<url without scheme>`.
pub(super) fn oidc_arn(account: &str, url: &str) -> String {
    let host = url.split_once("://").map(|(_, h)| h).unwrap_or(url);
    format!("arn:aws:iam::{account}:oidc-provider/{host}")
}

pub(super) fn no_oidc(arn: &str) -> AwsError {
    no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

pub(super) async fn create_oidc_provider(
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

pub(super) async fn get_oidc_provider(
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

pub(super) async fn list_oidc_providers(
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
pub(super) async fn update_oidc(
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

pub(super) async fn delete_oidc_provider(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::DeleteOpenIDConnectProviderRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&input.open_id_connect_provider_arn, "OpenIDConnectProviderArn")?.to_string();
    iam.update(&account, move |st| st.oidc_providers.remove(&arn).map(|_| ()).ok_or_else(|| no_oidc(&arn))).await
}

pub(super) async fn add_client_id(
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

pub(super) async fn remove_client_id(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::RemoveClientIDFromOpenIDConnectProviderRequest,
) -> AwsResult<()> {
    let id = required(&input.client_id, "ClientID")?.to_string();
    update_oidc(iam, ctx, &input.open_id_connect_provider_arn, move |p| p.client_ids.retain(|c| *c != id)).await
}

pub(super) async fn update_thumbprints(
    iam: &Iam,
    ctx: &RequestContext,
    input: m::UpdateOpenIDConnectProviderThumbprintRequest,
) -> AwsResult<()> {
    let thumbprints = input.thumbprint_list.unwrap_or_default();
    update_oidc(iam, ctx, &input.open_id_connect_provider_arn, move |p| p.thumbprints = thumbprints).await
}
