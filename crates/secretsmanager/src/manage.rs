//! A secret's life beyond create/get/put: UpdateSecret, staging labels moved by hand, the
//! version list, tags, its resource policy (enforced on every request, across accounts too),
//! random passwords, replication to other regions, and rotation refused while nuage serves no
//! Lambda.
use super::*;
use nuage_policy::{Policy, PolicyKind};

/// The characters GetRandomPassword counts as punctuation.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

impl SecretsManagerService {
    pub(crate) async fn update(
        &self,
        ctx: &RequestContext,
        i: m::UpdateSecretRequest,
    ) -> AwsResult<m::UpdateSecretResponse> {
        if i.r#type.is_some() {
            return Err(invalid_parameter("Managed external secrets (Type) are not served by nuage."));
        }
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        if s.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        if let Some(d) = i.description {
            s.description = Some(d);
        }
        if let Some(k) = i.kms_key_id {
            s.kms_key_id = Some(k);
        }
        s.changed_ms = now_ms();
        let (string, binary) = value_of(i.secret_string, i.secret_binary)?;
        let version_id = if string.is_some() || binary.is_some() {
            let id = i.client_request_token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            if s.versions.iter().any(|v| v.id == id) {
                return Err(E::ResourceExistsException
                    .msg("You can't modify an existing version, you can only create a new version."));
            }
            add_version(&mut s, id.clone(), string, binary, vec![CURRENT.into()]);
            Some(id)
        } else {
            None
        };
        self.put(&s).await?;
        Ok(m::UpdateSecretResponse { arn: Some(s.arn), name: Some(s.name), version_id })
    }

    pub(crate) async fn update_version_stage(
        &self,
        ctx: &RequestContext,
        i: m::UpdateSecretVersionStageRequest,
    ) -> AwsResult<m::UpdateSecretVersionStageResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        let stage = i.version_stage.clone().ok_or_else(|| invalid_parameter("VersionStage is required"))?;
        let holder = s.versions.iter().find(|v| v.stages.contains(&stage)).map(|v| v.id.clone());
        let known = |id: &str| s.versions.iter().any(|v| v.id == id);
        for id in i.remove_from_version_id.iter().chain(i.move_to_version_id.iter()) {
            if !known(id) {
                return Err(invalid_parameter(format!("Secrets Manager can't find the specified version: {id}")));
            }
        }
        // The label must be taken from where it is, explicitly.
        if let Some(h) = &holder {
            if i.move_to_version_id.as_ref() != Some(h) && i.remove_from_version_id.as_ref() != Some(h) {
                return Err(invalid_parameter(format!(
                    "The staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
        }
        if let Some(from) = &i.remove_from_version_id {
            if holder.as_ref() != Some(from) {
                return Err(invalid_parameter(format!("The staging label {stage} is not attached to version {from}.")));
            }
        }
        if stage == CURRENT && i.move_to_version_id.is_none() {
            return Err(invalid_parameter(
                "You can't remove the staging label AWSCURRENT: move it to another version.",
            ));
        }
        for v in s.versions.iter_mut() {
            v.stages.retain(|st| *st != stage);
        }
        if let Some(to) = &i.move_to_version_id {
            if stage == CURRENT {
                // The version losing AWSCURRENT becomes AWSPREVIOUS, as on rotation.
                for v in s.versions.iter_mut() {
                    v.stages.retain(|st| st != PREVIOUS);
                    if holder.as_ref() == Some(&v.id) && v.id != *to {
                        v.stages.push(PREVIOUS.into());
                    }
                }
            }
            if let Some(v) = s.versions.iter_mut().find(|v| v.id == *to) {
                v.stages.push(stage.clone());
            }
        }
        s.changed_ms = now_ms();
        self.put(&s).await?;
        Ok(m::UpdateSecretVersionStageResponse { arn: Some(s.arn), name: Some(s.name) })
    }

    pub(crate) fn list_version_ids(
        &self,
        ctx: &RequestContext,
        i: m::ListSecretVersionIdsRequest,
    ) -> AwsResult<m::ListSecretVersionIdsResponse> {
        let s = self.get(ctx, i.secret_id.as_deref())?;
        // Versions without labels are deprecated: listed only when asked for.
        let all: Vec<&Version> =
            s.versions.iter().filter(|v| i.include_deprecated.unwrap_or(false) || !v.stages.is_empty()).collect();
        let max = i.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let start: usize = match i.next_token.as_deref() {
            Some(t) => t.parse().map_err(|_| E::InvalidNextTokenException.msg("The NextToken value is invalid."))?,
            None => 0,
        };
        let versions = all
            .iter()
            .skip(start)
            .take(max)
            .map(|v| m::SecretVersionsListEntry {
                version_id: Some(v.id.clone()),
                version_stages: Some(v.stages.clone()),
                last_accessed_date: None,
                created_date: Some(ts(v.created_ms)),
                kms_key_ids: Some(vec![s.kms_key_id.clone().unwrap_or_else(|| "DefaultEncryptionKey".into())]),
            })
            .collect();
        Ok(m::ListSecretVersionIdsResponse {
            versions: Some(versions),
            next_token: (start + max < all.len()).then(|| (start + max).to_string()),
            arn: Some(s.arn),
            name: Some(s.name),
        })
    }

    pub(crate) async fn tag(&self, ctx: &RequestContext, i: m::TagResourceRequest) -> AwsResult<()> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        for t in i.tags.unwrap_or_default() {
            let (k, v) = (t.key.unwrap_or_default(), t.value.unwrap_or_default());
            s.tags.retain(|(key, _)| *key != k);
            s.tags.push((k, v));
        }
        if s.tags.len() > 50 {
            return Err(invalid_parameter("A secret can't have more than 50 tags."));
        }
        self.put(&s).await
    }

    pub(crate) async fn untag(&self, ctx: &RequestContext, i: m::UntagResourceRequest) -> AwsResult<()> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        let keys = i.tag_keys.unwrap_or_default();
        s.tags.retain(|(k, _)| !keys.contains(k));
        self.put(&s).await
    }

    pub(crate) async fn put_policy(
        &self,
        ctx: &RequestContext,
        i: m::PutResourcePolicyRequest,
    ) -> AwsResult<m::PutResourcePolicyResponse> {
        check_policy_name(&i.policy_name)?;
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        let doc = i.resource_policy.ok_or_else(|| invalid_parameter("ResourcePolicy is required"))?;
        let policy = Policy::parse(&doc, PolicyKind::Resource).map_err(|e| {
            E::MalformedPolicyDocumentException.msg(format!("This resource policy contains a syntax error: {e}"))
        })?;
        // BlockPublicPolicy (on unless turned off) refuses a policy open to everyone.
        if i.block_public_policy.unwrap_or(true) && grants_everyone(&policy) {
            return Err(E::PublicPolicyException.msg("The BlockPublicPolicy parameter is set to true, and the resource policy that you tried to attach grants broad access to the secret."));
        }
        s.policy = Some(doc);
        self.put(&s).await?;
        Ok(m::PutResourcePolicyResponse { arn: Some(s.arn), name: Some(s.name), policy_name: Some("default".into()) })
    }

    pub(crate) fn get_policy(
        &self,
        ctx: &RequestContext,
        i: m::GetResourcePolicyRequest,
    ) -> AwsResult<m::GetResourcePolicyResponse> {
        check_policy_name(&i.policy_name)?;
        let s = self.get(ctx, i.secret_id.as_deref())?;
        Ok(m::GetResourcePolicyResponse {
            policy_name: s.policy.as_ref().map(|_| "default".into()),
            resource_policy: s.policy,
            arn: Some(s.arn),
            name: Some(s.name),
        })
    }

    pub(crate) fn list_policies(
        &self,
        ctx: &RequestContext,
        i: m::ListResourcePoliciesRequest,
    ) -> AwsResult<m::ListResourcePoliciesResponse> {
        let s = self.get(ctx, i.secret_id.as_deref())?;
        let names = s.policy.as_ref().map(|_| vec![m::ResourcePolicySummary { policy_name: Some("default".into()) }]);
        Ok(m::ListResourcePoliciesResponse { resource_policies: Some(names.unwrap_or_default()), next_token: None })
    }

    pub(crate) async fn delete_policy(
        &self,
        ctx: &RequestContext,
        i: m::DeleteResourcePolicyRequest,
    ) -> AwsResult<m::DeleteResourcePolicyResponse> {
        check_policy_name(&i.policy_name)?;
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        s.policy = None;
        self.put(&s).await?;
        Ok(m::DeleteResourcePolicyResponse {
            arn: Some(s.arn),
            name: Some(s.name),
            policy_name: Some("default".into()),
        })
    }
}

impl SecretsManagerService {
    /// BatchGetSecretValue: up to 20 secrets, named or found by filters, each read if the
    /// caller may GetSecretValue it; the others are reported in Errors, as Secrets Manager does.
    pub(crate) async fn batch_get(
        &self,
        ctx: &RequestContext,
        i: m::BatchGetSecretValueRequest,
    ) -> AwsResult<m::BatchGetSecretValueResponse> {
        let (ids, next_token) = match (i.secret_id_list, i.filters) {
            (Some(_), Some(_)) => {
                return Err(invalid_parameter("Either 'SecretIdList' or 'Filters' must be provided, but not both."))
            }
            (None, None) => return Err(invalid_parameter("Either 'SecretIdList' or 'Filters' must be provided.")),
            (Some(list), None) => {
                if i.max_results.is_some() {
                    return Err(invalid_parameter("'MaxResults' can only be used with 'Filters'."));
                }
                (list, None)
            }
            (None, Some(filters)) => {
                let listed = self.list(
                    ctx,
                    m::ListSecretsRequest {
                        filters: Some(filters),
                        max_results: i.max_results,
                        next_token: i.next_token,
                        ..Default::default()
                    },
                )?;
                let ids = listed.secret_list.unwrap_or_default().into_iter().filter_map(|s| s.arn).collect();
                (ids, listed.next_token)
            }
        };
        if ids.len() > 20 {
            return Err(invalid_parameter("'SecretIdList' may name at most 20 secrets."));
        }
        let frontend = self.internal.frontend()?;
        let mut values = Vec::new();
        let mut errors = Vec::new();
        for id in ids {
            let a = self.on_secret(ctx, "secretsmanager:GetSecretValue", Some(&id));
            let read = match frontend.permits(ctx, &a) {
                Ok(()) => {
                    self.get_value(ctx, m::GetSecretValueRequest { secret_id: Some(id.clone()), ..Default::default() })
                        .await
                }
                Err(e) => Err(e),
            };
            match read {
                Ok(v) => values.push(m::SecretValueEntry {
                    arn: v.arn,
                    name: v.name,
                    version_id: v.version_id,
                    secret_binary: v.secret_binary,
                    secret_string: v.secret_string,
                    version_stages: v.version_stages,
                    created_date: v.created_date,
                }),
                Err(e) => errors.push(m::APIErrorType {
                    secret_id: Some(id),
                    error_code: Some(e.code.to_string()),
                    message: Some(e.message),
                }),
            }
        }
        Ok(m::BatchGetSecretValueResponse { secret_values: Some(values), next_token, errors: Some(errors) })
    }
}

/// A replica is written only through its primary.
pub(crate) fn not_replica(s: &Secret) -> AwsResult<()> {
    match &s.primary_region {
        Some(primary) => Err(E::InvalidRequestException.msg(format!(
            "Operation not permitted on a replica secret. Call must be made in primary secret's region ({primary})."
        ))),
        None => Ok(()),
    }
}

/// A primary's copy in `region`: same name, versions, labels, tags and policy; its own ARN.
pub(crate) fn replica_of(s: &Secret, region: &str, kms_key_id: Option<String>) -> Secret {
    let mut r = s.clone();
    r.arn = s.arn.replacen(&format!(":{}:", s.region), &format!(":{region}:"), 1);
    r.region = region.to_string();
    r.kms_key_id = kms_key_id;
    r.replicas = Vec::new();
    r.primary_region = Some(s.region.clone());
    r
}

/// A primary's replicas as DescribeSecret reports them: always in sync, since they are
/// written with it.
pub(crate) fn replication_status(s: &Secret) -> Vec<m::ReplicationStatusType> {
    s.replicas
        .iter()
        .map(|(region, kms)| m::ReplicationStatusType {
            region: Some(region.clone()),
            kms_key_id: Some(kms.clone().unwrap_or_else(|| "alias/aws/secretsmanager".into())),
            status: Some("InSync".into()),
            status_message: Some("Replication succeeded".into()),
            last_accessed_date: None,
        })
        .collect()
}

/// A region name as AWS spells them (`us-east-1`, `eu-west-3`, `ap-southeast-2`).
fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

impl SecretsManagerService {
    /// Adds replicas of the secret `name` (of the caller's region): each region's copy, or
    /// its failure when another secret has the name there (unless overwriting is asked).
    pub(crate) async fn add_replicas(
        &self,
        ctx: &RequestContext,
        name: &str,
        regions: Vec<m::ReplicaRegionType>,
        force: bool,
    ) -> AwsResult<(String, Vec<m::ReplicationStatusType>)> {
        let mut s = self.get(ctx, Some(name))?;
        not_replica(&s)?;
        let mut statuses = Vec::new();
        for r in regions {
            let region = r.region.clone().ok_or_else(|| invalid_parameter("Region is required"))?;
            if !valid_region(&region) || region == s.region {
                return Err(invalid_parameter(format!("Invalid replica region: {region}")));
            }
            let key = format!("{}/{region}/{}", s.account, s.name);
            let existing: Option<Secret> = self.store.read()?.get(SECRETS, &key)?;
            let ours = existing.as_ref().is_some_and(|e| e.primary_region.as_deref() == Some(s.region.as_str()));
            let status = if existing.is_some() && !ours && !force {
                ("Failed", "Replication failed: Secret name already exists in region".to_string())
            } else {
                s.replicas.retain(|(r0, _)| *r0 != region);
                s.replicas.push((region.clone(), r.kms_key_id.clone()));
                ("InSync", "Replication succeeded".to_string())
            };
            statuses.push(m::ReplicationStatusType {
                region: Some(region),
                kms_key_id: Some(r.kms_key_id.unwrap_or_else(|| "alias/aws/secretsmanager".into())),
                status: Some(status.0.into()),
                status_message: Some(status.1),
                last_accessed_date: None,
            });
        }
        self.put(&s).await?;
        Ok((s.arn, statuses))
    }

    pub(crate) async fn replicate(
        &self,
        ctx: &RequestContext,
        i: m::ReplicateSecretToRegionsRequest,
    ) -> AwsResult<m::ReplicateSecretToRegionsResponse> {
        let s = self.get(ctx, i.secret_id.as_deref())?;
        let regions = i.add_replica_regions.unwrap_or_default();
        if regions.is_empty() {
            return Err(invalid_parameter("AddReplicaRegions must name at least one region."));
        }
        let force = i.force_overwrite_replica_secret.unwrap_or(false);
        let (arn, statuses) = self.add_replicas(ctx, &s.name, regions, force).await?;
        Ok(m::ReplicateSecretToRegionsResponse { arn: Some(arn), replication_status: Some(statuses) })
    }

    pub(crate) async fn remove_replicas(
        &self,
        ctx: &RequestContext,
        i: m::RemoveRegionsFromReplicationRequest,
    ) -> AwsResult<m::RemoveRegionsFromReplicationResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        not_replica(&s)?;
        let gone = i.remove_replica_regions.unwrap_or_default();
        for region in &gone {
            if !s.replicas.iter().any(|(r, _)| r == region) {
                return Err(invalid_parameter(format!("The secret is not replicated to {region}.")));
            }
        }
        s.replicas.retain(|(r, _)| !gone.contains(r));
        let keys: Vec<String> = gone.iter().map(|r| format!("{}/{r}/{}", s.account, s.name)).collect();
        self.store
            .write(move |w| {
                for k in &keys {
                    w.delete(SECRETS, k)?;
                }
                Ok(())
            })
            .await?;
        self.put(&s).await?;
        Ok(m::RemoveRegionsFromReplicationResponse {
            arn: Some(s.arn.clone()),
            replication_status: Some(replication_status(&s)),
        })
    }

    /// StopReplicationToReplica, called on the replica: it becomes a secret of its own.
    pub(crate) async fn stop_replication(
        &self,
        ctx: &RequestContext,
        i: m::StopReplicationToReplicaRequest,
    ) -> AwsResult<m::StopReplicationToReplicaResponse> {
        let mut replica = self.get(ctx, i.secret_id.as_deref())?;
        let primary_region = replica
            .primary_region
            .clone()
            .ok_or_else(|| E::InvalidRequestException.msg("The secret is not a replica."))?;
        let primary_key = format!("{}/{primary_region}/{}", replica.account, replica.name);
        if let Some(mut primary) = self.store.read()?.get::<Secret>(SECRETS, &primary_key)? {
            primary.replicas.retain(|(r, _)| *r != replica.region);
            self.put(&primary).await?;
        }
        replica.primary_region = None;
        self.put(&replica).await?;
        Ok(m::StopReplicationToReplicaResponse { arn: Some(replica.arn) })
    }
}

fn check_policy_name(name: &Option<String>) -> AwsResult<()> {
    match name.as_deref() {
        None | Some("default") => Ok(()),
        Some(other) => Err(invalid_parameter(format!("You can only attach the default policy, not {other}."))),
    }
}

/// An Allow naming everyone, unconfined by a condition.
fn grants_everyone(p: &Policy) -> bool {
    p.statements.iter().any(|s| {
        s.effect == nuage_policy::Effect::Allow
            && s.principal
                .as_ref()
                .is_some_and(|pr| !pr.negated && pr.items.contains(&nuage_policy::PrincipalId::Anyone))
            && s.conditions.is_empty()
    })
}

/// ValidateResourcePolicy: IAM's checks of the document, and the public-access check.
pub(crate) fn validate_policy(i: m::ValidateResourcePolicyRequest) -> AwsResult<m::ValidateResourcePolicyResponse> {
    let doc = i.resource_policy.ok_or_else(|| invalid_parameter("ResourcePolicy is required"))?;
    let mut errors = Vec::new();
    match Policy::parse(&doc, PolicyKind::Resource) {
        Err(e) => errors.push(m::ValidationErrorsEntry {
            check_name: Some("SYNTAX_CHECKING".into()),
            error_message: Some(e.to_string()),
        }),
        Ok(p) if grants_everyone(&p) => errors.push(m::ValidationErrorsEntry {
            check_name: Some("BROAD_ACCESS_CHECKING".into()),
            error_message: Some("The resource policy grants broad access to the secret.".into()),
        }),
        Ok(_) => {}
    }
    Ok(m::ValidateResourcePolicyResponse {
        policy_validation_passed: Some(errors.is_empty()),
        validation_errors: Some(errors),
    })
}

/// GetRandomPassword: a password of the asked length from the included character classes,
/// with one of each class when RequireEachIncludedType (the default).
pub(crate) fn random_password(i: m::GetRandomPasswordRequest) -> AwsResult<m::GetRandomPasswordResponse> {
    let length = i.password_length.unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(invalid_parameter("PasswordLength must be between 1 and 4096."));
    }
    let excluded = i.exclude_characters.unwrap_or_default();
    let keep = |set: &str| -> Vec<char> { set.chars().filter(|c| !excluded.contains(*c)).collect() };
    let mut classes: Vec<Vec<char>> = Vec::new();
    if !i.exclude_lowercase.unwrap_or(false) {
        classes.push(keep("abcdefghijklmnopqrstuvwxyz"));
    }
    if !i.exclude_uppercase.unwrap_or(false) {
        classes.push(keep("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    }
    if !i.exclude_numbers.unwrap_or(false) {
        classes.push(keep("0123456789"));
    }
    if !i.exclude_punctuation.unwrap_or(false) {
        classes.push(keep(PUNCTUATION));
    }
    if i.include_space.unwrap_or(false) {
        classes.push(keep(" "));
    }
    classes.retain(|c| !c.is_empty());
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(invalid_parameter("The password must include at least one character type."));
    }
    let each = i.require_each_included_type.unwrap_or(true);
    if each && (length as usize) < classes.len() {
        return Err(invalid_parameter("The password length is too short to include every required character type."));
    }
    let mut r = rand::thread_rng();
    let mut chars: Vec<char> =
        if each { classes.iter().map(|c| c[r.gen_range(0..c.len())]).collect() } else { Vec::new() };
    while chars.len() < length as usize {
        chars.push(all[r.gen_range(0..all.len())]);
    }
    // The required characters go to random places.
    for k in (1..chars.len()).rev() {
        chars.swap(k, r.gen_range(0..=k));
    }
    Ok(m::GetRandomPasswordResponse { random_password: Some(chars.into_iter().collect()) })
}

/// RotateSecret and CancelRotateSecret: rotation runs a Lambda function, which nuage does not
/// serve yet; refused rather than recorded and never run.
pub(crate) fn rotation_refused(has_function: bool) -> AwsError {
    if has_function {
        E::InvalidRequestException.msg(
            "Rotation runs an AWS Lambda function, and nuage does not serve Lambda yet: the secret was not rotated.",
        )
    } else {
        E::InvalidRequestException.msg("No Lambda rotation function ARN is associated with this secret.")
    }
}
