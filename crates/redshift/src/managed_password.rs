//! Admin passwords Redshift keeps in Secrets Manager (ManageMasterPassword for a cluster,
//! manageAdminPassword for a serverless namespace): a secret `redshift!<name>-<user>` holding
//! `{"username", "password"}` with a generated password the database is given, created
//! through the front door as the caller (a forward access session via redshift.amazonaws.com,
//! so the caller needs secretsmanager:CreateSecret as on AWS), and deleted with its cluster
//! or namespace. Redshift's 30-day rotation is not run.
use crate::Redshift;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::secretsmanager as sm;

const VIA: &str = "redshift.amazonaws.com";

/// A secret made for an admin password: its ARN, and the password it holds.
pub(crate) struct ManagedSecret {
    pub arn: String,
    pub password: String,
}

impl Redshift {
    /// Creates the secret `redshift!<resource>-<user>` with a new password.
    pub(crate) async fn create_managed_secret(
        &self,
        ctx: &RequestContext,
        resource: &str,
        user: &str,
        kms_key_id: Option<String>,
    ) -> AwsResult<ManagedSecret> {
        let principal = ctx.principal.clone().ok_or_else(nuage_protocol::common::Common::missing_token)?;
        let password = crate::api::random_password();
        let input = sm::CreateSecretRequest {
            name: Some(format!("redshift!{resource}-{user}")),
            description: Some(format!("Admin user password for {resource}, managed by Amazon Redshift")),
            kms_key_id,
            secret_string: Some(serde_json::json!({ "username": user, "password": password }).to_string()),
            tags: Some(vec![sm::Tag { key: Some("aws:redshift:resource".into()), value: Some(resource.into()) }]),
            ..Default::default()
        };
        let f = self.internal.frontend()?;
        let out = f.call_via(principal, &ctx.region, Some(VIA), input).await?;
        let arn = out.arn.ok_or_else(|| AwsError::internal("CreateSecret answered without an ARN"))?;
        Ok(ManagedSecret { arn, password })
    }

    /// Deletes a managed secret at once (its cluster or namespace is gone, or no longer
    /// manages its password).
    pub(crate) async fn delete_managed_secret(&self, ctx: &RequestContext, arn: &str) -> AwsResult<()> {
        let principal = ctx.principal.clone().ok_or_else(nuage_protocol::common::Common::missing_token)?;
        let input = sm::DeleteSecretRequest {
            secret_id: Some(arn.to_string()),
            force_delete_without_recovery: Some(true),
            ..Default::default()
        };
        let f = self.internal.frontend()?;
        match f.call_via(principal, &ctx.region, Some(VIA), input).await {
            Ok(_) => Ok(()),
            // Already deleted by hand: nothing left to do.
            Err(e) if e.code == "ResourceNotFoundException" => Ok(()),
            Err(e) => Err(e),
        }
    }
}
