//! SAML 2.0 identity providers: their metadata checked as IAM checks it (an EntityDescriptor
//! with an IdP SSO descriptor), validity, private keys for encrypted assertions, tags.
//! AssumeRoleWithSAML is not served: providers are kept for the configuration round trip.
use super::*;
use crate::state::SamlProvider;

const YEAR_MS: i64 = 365 * 86_400_000;

fn no_saml(arn: &str) -> AwsError {
    no_such_entity(format!("SAMLProvider {arn} does not exist."))
}

/// The metadata's validUntil (ms), if it names one: IAM refuses a document that is not SAML
/// metadata for an identity provider.
fn check_metadata(doc: &str) -> AwsResult<Option<i64>> {
    use quick_xml::events::Event;
    let bad = || invalid_input("Could not parse metadata");
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut root: Option<Option<i64>> = None;
    let mut idp = false;
    loop {
        match reader.read_event().map_err(|_| bad())? {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                let local = std::str::from_utf8(name.as_ref()).map_err(|_| bad())?;
                if root.is_none() {
                    if local != "EntityDescriptor" {
                        return Err(bad());
                    }
                    let until = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"validUntil")
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                        .and_then(|v| {
                            time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339).ok()
                        })
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
                    root = Some(until);
                } else if local == "IDPSSODescriptor" {
                    idp = true;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    match (root, idp) {
        (Some(until), true) => Ok(until),
        _ => Err(bad()),
    }
}

fn encryption_mode(mode: &Option<String>) -> AwsResult<Option<String>> {
    match mode.as_deref() {
        None => Ok(None),
        Some(m @ ("Required" | "Allowed")) => Ok(Some(m.to_string())),
        Some(other) => Err(invalid_input(format!("Invalid AssertionEncryptionMode: {other}"))),
    }
}

fn private_key(pem: &str) -> AwsResult<(String, i64, String)> {
    if !pem.contains("-----BEGIN") || !pem.contains("PRIVATE KEY-----") {
        return Err(invalid_input("The private key must be in PEM format."));
    }
    Ok((new_id("KEY").to_uppercase(), now_ms(), pem.to_string()))
}

pub(super) async fn create_saml_provider(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::CreateSAMLProviderRequest,
) -> AwsResult<m::CreateSAMLProviderResponse> {
    let account = caller_account(ctx)?.to_string();
    let name = required(&i.name, "Name")?.to_string();
    let doc = required(&i.saml_metadata_document, "SAMLMetadataDocument")?.to_string();
    let until = check_metadata(&doc)?;
    let mode = encryption_mode(&i.assertion_encryption_mode)?;
    let key = i.add_private_key.as_deref().map(private_key).transpose()?;
    let tags = tags_in(i.tags)?;
    let arn = format!("arn:aws:iam::{account}:saml-provider/{name}");
    let out_tags = tags.clone();
    let created_arn = arn.clone();
    iam.update(&account, move |st| {
        if st.saml_providers.contains_key(&arn) {
            return Err(already_exists(format!("SAMLProvider {name} already exists.")));
        }
        if st.saml_providers.len() >= 100 {
            return Err(limit_exceeded("Cannot exceed quota for SAMLProvidersPerAccount: 100"));
        }
        let now = now_ms();
        st.saml_providers.insert(
            arn,
            SamlProvider {
                name,
                uuid: uuid::Uuid::new_v4().to_string(),
                metadata: doc,
                created: now,
                valid_until: until.unwrap_or(now + 100 * YEAR_MS),
                tags,
                encryption_mode: mode,
                private_keys: key.into_iter().collect(),
            },
        );
        Ok(())
    })
    .await?;
    Ok(m::CreateSAMLProviderResponse { saml_provider_arn: Some(created_arn), tags: tags_out(&out_tags) })
}

pub(super) async fn get_saml_provider(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::GetSAMLProviderRequest,
) -> AwsResult<m::GetSAMLProviderResponse> {
    let st = iam.account(caller_account(ctx)?);
    let arn = required(&i.saml_provider_arn, "SAMLProviderArn")?;
    let p = st.saml_providers.get(arn).ok_or_else(|| no_saml(arn))?;
    Ok(m::GetSAMLProviderResponse {
        saml_provider_uuid: Some(p.uuid.clone()),
        saml_metadata_document: Some(p.metadata.clone()),
        create_date: Some(Timestamp(p.created)),
        valid_until: Some(Timestamp(p.valid_until)),
        tags: tags_out(&p.tags),
        assertion_encryption_mode: p.encryption_mode.clone(),
        private_key_list: Some(
            p.private_keys
                .iter()
                .map(|(id, at, _)| m::SAMLPrivateKey { key_id: Some(id.clone()), timestamp: Some(Timestamp(*at)) })
                .collect(),
        ),
    })
}

pub(super) async fn list_saml_providers(
    iam: &Iam,
    ctx: &RequestContext,
    _i: m::ListSAMLProvidersRequest,
) -> AwsResult<m::ListSAMLProvidersResponse> {
    let st = iam.account(caller_account(ctx)?);
    Ok(m::ListSAMLProvidersResponse {
        saml_provider_list: Some(
            st.saml_providers
                .iter()
                .map(|(arn, p)| m::SAMLProviderListEntry {
                    arn: Some(arn.clone()),
                    valid_until: Some(Timestamp(p.valid_until)),
                    create_date: Some(Timestamp(p.created)),
                })
                .collect(),
        ),
    })
}

pub(super) async fn update_saml_provider(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::UpdateSAMLProviderRequest,
) -> AwsResult<m::UpdateSAMLProviderResponse> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&i.saml_provider_arn, "SAMLProviderArn")?.to_string();
    let until = i.saml_metadata_document.as_deref().map(check_metadata).transpose()?;
    let mode = encryption_mode(&i.assertion_encryption_mode)?;
    let key = i.add_private_key.as_deref().map(private_key).transpose()?;
    let out = arn.clone();
    iam.update(&account, move |st| {
        let p = st.saml_providers.get_mut(&arn).ok_or_else(|| no_saml(&arn))?;
        if let (Some(doc), Some(until)) = (i.saml_metadata_document, until) {
            p.metadata = doc;
            p.valid_until = until.unwrap_or(p.created + 100 * YEAR_MS);
        }
        if mode.is_some() {
            p.encryption_mode = mode;
        }
        if let Some(id) = &i.remove_private_key {
            let before = p.private_keys.len();
            p.private_keys.retain(|(k, _, _)| k != id);
            if p.private_keys.len() == before {
                return Err(invalid_input(format!("The private key {id} does not exist.")));
            }
        }
        if let Some(k) = key {
            if p.private_keys.len() >= 2 {
                return Err(limit_exceeded("A SAML provider can have at most two private keys."));
            }
            p.private_keys.push(k);
        }
        if p.encryption_mode.as_deref() == Some("Required") && p.private_keys.is_empty() {
            return Err(invalid_input("AssertionEncryptionMode Required needs a private key."));
        }
        Ok(())
    })
    .await?;
    Ok(m::UpdateSAMLProviderResponse { saml_provider_arn: Some(out) })
}

pub(super) async fn delete_saml_provider(
    iam: &Iam,
    ctx: &RequestContext,
    i: m::DeleteSAMLProviderRequest,
) -> AwsResult<()> {
    let account = caller_account(ctx)?.to_string();
    let arn = required(&i.saml_provider_arn, "SAMLProviderArn")?.to_string();
    iam.update(&account, move |st| st.saml_providers.remove(&arn).map(|_| ()).ok_or_else(|| no_saml(&arn))).await
}
