//! AWS Secrets Manager on the json protocol: secrets with versions and staging labels
//! (AWSCURRENT, AWSPREVIOUS), scheduled deletion and restore, tags and a resource policy,
//! kept in the store.

mod manage;
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_front::{Authorization, Row, TypedService};
use nuage_protocol::common::Common;
use nuage_protocol::secretsmanager as m;
use nuage_protocol::secretsmanager::errors::Error as E;
use nuage_protocol::{Blob, Protocol, Timestamp};
use nuage_storage::redb::TableDefinition;
use nuage_storage::{JsonTable, Store};
use rand::Rng;
use serde::{Deserialize, Serialize};

const SECRETS: JsonTable = TableDefinition::new("secretsmanager_secrets");
const CURRENT: &str = "AWSCURRENT";
const PREVIOUS: &str = "AWSPREVIOUS";
const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Version {
    id: String,
    string: Option<String>,
    binary: Option<Vec<u8>>,
    stages: Vec<String>,
    created_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Secret {
    account: String,
    region: String,
    name: String,
    arn: String,
    description: Option<String>,
    kms_key_id: Option<String>,
    tags: Vec<(String, String)>,
    created_ms: i64,
    changed_ms: i64,
    accessed_ms: Option<i64>,
    /// When DeleteSecret was called, and when the secret goes for good.
    deleted_ms: Option<i64>,
    purge_ms: Option<i64>,
    versions: Vec<Version>,
    /// The resource policy ("default", the only one Secrets Manager allows).
    #[serde(default)]
    policy: Option<String>,
    /// A primary's replicas: their regions and KMS keys, rewritten with every change.
    #[serde(default)]
    replicas: Vec<(String, Option<String>)>,
    /// A replica's primary region: a replica is read, never written, but through its primary.
    #[serde(default)]
    primary_region: Option<String>,
}

impl Secret {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.name)
    }

    fn versions_to_stages(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        self.versions.iter().filter(|v| !v.stages.is_empty()).map(|v| (v.id.clone(), v.stages.clone())).collect()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn not_found() -> AwsError {
    E::ResourceNotFoundException.msg("Secrets Manager can't find the specified secret.")
}

fn invalid_parameter(msg: impl Into<String>) -> AwsError {
    E::InvalidParameterException.msg(msg)
}

fn marked_for_deletion() -> AwsError {
    E::InvalidRequestException.msg("You can't perform this operation on the secret because it was marked for deletion.")
}

/// A secret's name from a SecretId: its name, or its full ARN.
fn name_of(secret_id: &str) -> String {
    match secret_id.strip_prefix("arn:") {
        Some(_) => {
            let last = secret_id.rsplit(":secret:").next().unwrap_or(secret_id);
            // The ARN ends with `-` and six random characters.
            match last.rsplit_once('-') {
                Some((name, suffix)) if suffix.len() == 6 => name.to_string(),
                _ => last.to_string(),
            }
        }
        None => secret_id.to_string(),
    }
}

fn suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut r = rand::thread_rng();
    (0..6).map(|_| CHARS[r.gen_range(0..CHARS.len())] as char).collect()
}

/// Secrets Manager's name rules: 1 to 512 characters of letters, digits and `/_+=.@-`. A
/// service managing a secret for its caller names it `<service>!<name>` (Redshift's
/// `redshift!cluster-user`): the `!` is admitted only in a request made through a service.
fn check_name(name: &str, via_service: bool) -> AwsResult<()> {
    let managed = via_service
        && name.split_once('!').is_some_and(|(svc, rest)| {
            !svc.is_empty() && svc.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !rest.contains('!')
        });
    let ok = !name.is_empty()
        && name.len() <= 512
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c) || (managed && c == '!'));
    if !ok {
        return Err(Common::ValidationException.msg(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ));
    }
    Ok(())
}

fn value_of(string: Option<String>, binary: Option<Blob>) -> AwsResult<(Option<String>, Option<Vec<u8>>)> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (s, b) => Ok((s, b.map(|b| b.0))),
    }
}

pub struct SecretsManagerService {
    store: Store,
    /// The front door, which decides BatchGetSecretValue's permission on each secret.
    internal: std::sync::Arc<nuage_front::Internal>,
}

impl SecretsManagerService {
    pub fn new(store: Store, internal: std::sync::Arc<nuage_front::Internal>) -> SecretsManagerService {
        SecretsManagerService { store, internal }
    }

    fn get(&self, ctx: &RequestContext, secret_id: Option<&str>) -> AwsResult<Secret> {
        let id = secret_id.ok_or_else(|| invalid_parameter("SecretId is required"))?;
        // An ARN names its own account and region: another account's secret is reached by it.
        let mut parts = id.split(':');
        let (region, account) = match (id.starts_with("arn:"), parts.nth(3), parts.next()) {
            (true, Some(r), Some(a)) if !r.is_empty() && !a.is_empty() => (r.to_string(), a.to_string()),
            _ => (ctx.region.clone(), ctx.account_id().unwrap_or_default().to_string()),
        };
        let key = format!("{account}/{region}/{}", name_of(id));
        let s: Secret = self.store.read()?.get(SECRETS, &key)?.ok_or_else(not_found)?;
        // A secret past its recovery window is gone; an ARN must be the secret's own.
        if s.purge_ms.is_some_and(|p| p <= now_ms()) || (id.starts_with("arn:") && id != s.arn) {
            return Err(not_found());
        }
        Ok(s)
    }

    /// Writes a secret, and its replicas with it: they are always in sync.
    async fn put(&self, s: &Secret) -> AwsResult<()> {
        let mut all = vec![s.clone()];
        all.extend(s.replicas.iter().map(|(region, kms)| manage::replica_of(s, region, kms.clone())));
        self.store
            .write(move |w| {
                for v in &all {
                    w.put(SECRETS, &v.key(), v)?;
                }
                Ok(())
            })
            .await
    }

    async fn create(&self, ctx: &RequestContext, i: m::CreateSecretRequest) -> AwsResult<m::CreateSecretResponse> {
        let name = i.name.ok_or_else(|| invalid_parameter("Name is required"))?;
        check_name(&name, !ctx.called_via.is_empty())?;
        if i.r#type.is_some() || i.cross_account_primary_arn.is_some() {
            return Err(invalid_parameter(
                "Managed external secrets (Type) and cross-account replicas are not served by nuage.",
            ));
        }
        let (string, binary) = value_of(i.secret_string, i.secret_binary)?;
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let key = format!("{acct}/{}/{name}", ctx.region);
        if let Some(existing) = self.store.read()?.get::<Secret>(SECRETS, &key)? {
            if existing.purge_ms.is_none_or(|p| p > now_ms()) {
                if existing.deleted_ms.is_some() {
                    return Err(E::InvalidRequestException.msg("You can't create this secret because a secret with this name is already scheduled for deletion.",
                    ));
                }
                return Err(E::ResourceExistsException
                    .msg(format!("The operation failed because the secret {name} already exists.")));
            }
        }
        let now = now_ms();
        let mut versions = Vec::new();
        if string.is_some() || binary.is_some() {
            versions.push(Version {
                id: i.client_request_token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                string,
                binary,
                stages: vec![CURRENT.into()],
                created_ms: now,
            });
        }
        let s = Secret {
            arn: format!("arn:aws:secretsmanager:{}:{acct}:secret:{name}-{}", ctx.region, suffix()),
            account: acct,
            region: ctx.region.clone(),
            name,
            description: i.description,
            kms_key_id: i.kms_key_id,
            tags: i
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
                .collect(),
            created_ms: now,
            changed_ms: now,
            accessed_ms: None,
            deleted_ms: None,
            purge_ms: None,
            versions,
            policy: None,
            replicas: Vec::new(),
            primary_region: None,
        };
        self.put(&s).await?;
        let replication_status = match i.add_replica_regions {
            Some(regions) if !regions.is_empty() => {
                let force = i.force_overwrite_replica_secret.unwrap_or(false);
                Some(self.add_replicas(ctx, &s.name, regions, force).await?.1)
            }
            _ => None,
        };
        Ok(m::CreateSecretResponse {
            arn: Some(s.arn.clone()),
            name: Some(s.name.clone()),
            version_id: s.versions.first().map(|v| v.id.clone()),
            replication_status,
        })
    }

    async fn get_value(
        &self,
        ctx: &RequestContext,
        i: m::GetSecretValueRequest,
    ) -> AwsResult<m::GetSecretValueResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        if s.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        // The AWS managed key (aws/secretsmanager) cannot be used from another account: a
        // secret shared across accounts needs a customer managed key.
        if ctx.account_id() != Some(s.account.as_str()) && s.kms_key_id.is_none() {
            return Err(Common::AccessDeniedException.msg("Access to KMS is not allowed"));
        }
        let stage = i.version_stage.clone().unwrap_or_else(|| CURRENT.into());
        let v = match &i.version_id {
            Some(id) => s.versions.iter().find(|v| &v.id == id).ok_or_else(|| {
                E::ResourceNotFoundException
                    .msg(format!("Secrets Manager can't find the specified secret value for VersionId: {id}"))
            })?,
            None => s.versions.iter().find(|v| v.stages.contains(&stage)).ok_or_else(|| {
                E::ResourceNotFoundException
                    .msg(format!("Secrets Manager can't find the specified secret value for staging label: {stage}"))
            })?,
        }
        .clone();
        if i.version_stage.is_some() && i.version_id.is_some() && !v.stages.contains(&stage) {
            return Err(invalid_parameter(
                "You provided a VersionStage that is not associated to the provided VersionId.",
            ));
        }
        // LastAccessedDate is kept to the day, as Secrets Manager keeps it.
        let today = now_ms() / DAY_MS * DAY_MS;
        if s.accessed_ms != Some(today) {
            s.accessed_ms = Some(today);
            self.put(&s).await?;
        }
        Ok(m::GetSecretValueResponse {
            arn: Some(s.arn),
            name: Some(s.name),
            version_id: Some(v.id),
            secret_string: v.string,
            secret_binary: v.binary.map(Blob),
            version_stages: Some(v.stages),
            created_date: Some(ts(v.created_ms)),
        })
    }

    async fn put_value(
        &self,
        ctx: &RequestContext,
        i: m::PutSecretValueRequest,
    ) -> AwsResult<m::PutSecretValueResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        manage::not_replica(&s)?;
        if s.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        let (string, binary) = value_of(i.secret_string, i.secret_binary)?;
        if string.is_none() && binary.is_none() {
            return Err(invalid_parameter("You must provide either SecretString or SecretBinary."));
        }
        let id = i.client_request_token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if let Some(v) = s.versions.iter().find(|v| v.id == id) {
            // The same token again is the same request, if it carries the same value.
            if v.string == string && v.binary == binary {
                return Ok(m::PutSecretValueResponse {
                    arn: Some(s.arn.clone()),
                    name: Some(s.name.clone()),
                    version_id: Some(id),
                    version_stages: Some(v.stages.clone()),
                });
            }
            return Err(E::ResourceExistsException
                .msg("You can't modify an existing version, you can only create a new version."));
        }
        let stages = i.version_stages.unwrap_or_else(|| vec![CURRENT.into()]);
        add_version(&mut s, id.clone(), string, binary, stages.clone());
        self.put(&s).await?;
        Ok(m::PutSecretValueResponse {
            arn: Some(s.arn),
            name: Some(s.name),
            version_id: Some(id),
            version_stages: Some(stages),
        })
    }

    fn describe(&self, s: &Secret) -> m::DescribeSecretResponse {
        m::DescribeSecretResponse {
            arn: Some(s.arn.clone()),
            name: Some(s.name.clone()),
            description: s.description.clone(),
            kms_key_id: s.kms_key_id.clone(),
            rotation_enabled: Some(false),
            last_changed_date: Some(ts(s.changed_ms)),
            last_accessed_date: s.accessed_ms.map(ts),
            deleted_date: s.deleted_ms.map(ts),
            tags: (!s.tags.is_empty())
                .then(|| s.tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()),
            version_ids_to_stages: Some(s.versions_to_stages()),
            created_date: Some(ts(s.created_ms)),
            primary_region: s.primary_region.clone(),
            replication_status: (!s.replicas.is_empty()).then(|| manage::replication_status(s)),
            ..Default::default()
        }
    }

    fn list(&self, ctx: &RequestContext, i: m::ListSecretsRequest) -> AwsResult<m::ListSecretsResponse> {
        let prefix = format!("{}/{}/", ctx.account_id().unwrap_or_default(), ctx.region);
        let now = now_ms();
        let filters = i.filters.unwrap_or_default();
        let mut all: Vec<Secret> = self
            .store
            .read()?
            .scan::<Secret>(SECRETS, &prefix)?
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| s.purge_ms.is_none_or(|p| p > now))
            .filter(|s| i.include_planned_deletion.unwrap_or(false) || s.deleted_ms.is_none())
            .filter(|s| {
                filters.iter().all(|f| {
                    let values = f.values.clone().unwrap_or_default();
                    let matches = |text: &str| values.iter().any(|v| text.starts_with(v.as_str()));
                    match f.key.as_deref() {
                        Some("name") => matches(&s.name),
                        Some("description") => matches(s.description.as_deref().unwrap_or("")),
                        Some("tag-key") => s.tags.iter().any(|(k, _)| matches(k)),
                        Some("tag-value") => s.tags.iter().any(|(_, v)| matches(v)),
                        Some("all") => {
                            matches(&s.name)
                                || matches(s.description.as_deref().unwrap_or(""))
                                || s.tags.iter().any(|(k, v)| matches(k) || matches(v))
                        }
                        _ => true,
                    }
                })
            })
            .collect();
        all.sort_by_key(|s| s.created_ms);
        if i.sort_order.as_deref() == Some("desc") {
            all.reverse();
        }
        let max = i.max_results.unwrap_or(100).clamp(1, 100) as usize;
        let start: usize = match i.next_token.as_deref() {
            Some(t) => t.parse().map_err(|_| E::InvalidNextTokenException.msg("The NextToken value is invalid."))?,
            None => 0,
        };
        let page = all
            .iter()
            .skip(start)
            .take(max)
            .map(|s| {
                let d = self.describe(s);
                m::SecretListEntry {
                    arn: d.arn,
                    name: d.name,
                    description: d.description,
                    kms_key_id: d.kms_key_id,
                    rotation_enabled: d.rotation_enabled,
                    last_changed_date: d.last_changed_date,
                    last_accessed_date: d.last_accessed_date,
                    deleted_date: d.deleted_date,
                    tags: d.tags,
                    secret_versions_to_stages: d.version_ids_to_stages,
                    created_date: d.created_date,
                    ..Default::default()
                }
            })
            .collect();
        Ok(m::ListSecretsResponse {
            secret_list: Some(page),
            next_token: (start + max < all.len()).then(|| (start + max).to_string()),
        })
    }

    async fn delete(&self, ctx: &RequestContext, i: m::DeleteSecretRequest) -> AwsResult<m::DeleteSecretResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        manage::not_replica(&s)?;
        if !s.replicas.is_empty() {
            return Err(E::InvalidRequestException.msg(format!(
                "You can't delete secret {} that has replicas. You must first remove the replicas from the secret's replication configuration.",
                s.name
            )));
        }
        let force = i.force_delete_without_recovery.unwrap_or(false);
        if force && i.recovery_window_in_days.is_some() {
            return Err(invalid_parameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
            ));
        }
        let days = i.recovery_window_in_days.unwrap_or(30);
        if !force && !(7..=30).contains(&days) {
            return Err(invalid_parameter("The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."));
        }
        if s.deleted_ms.is_some() && !force {
            return Err(marked_for_deletion());
        }
        let now = now_ms();
        let purge = if force { now } else { s.deleted_ms.unwrap_or(now) + days * DAY_MS };
        s.deleted_ms = Some(s.deleted_ms.unwrap_or(now));
        s.purge_ms = Some(purge);
        if force {
            let k = s.key();
            self.store.write(move |w| w.delete(SECRETS, &k)).await?;
        } else {
            self.put(&s).await?;
        }
        Ok(m::DeleteSecretResponse { arn: Some(s.arn), name: Some(s.name), deletion_date: Some(ts(purge)) })
    }

    async fn restore(&self, ctx: &RequestContext, i: m::RestoreSecretRequest) -> AwsResult<m::RestoreSecretResponse> {
        let mut s = self.get(ctx, i.secret_id.as_deref())?;
        s.deleted_ms = None;
        s.purge_ms = None;
        self.put(&s).await?;
        Ok(m::RestoreSecretResponse { arn: Some(s.arn), name: Some(s.name) })
    }
}

/// A new version carrying `stages`: AWSCURRENT moving to it makes the old current version
/// AWSPREVIOUS; its other labels leave the versions that had them.
fn add_version(s: &mut Secret, id: String, string: Option<String>, binary: Option<Vec<u8>>, stages: Vec<String>) {
    if stages.iter().any(|st| st == CURRENT) {
        for v in s.versions.iter_mut() {
            v.stages.retain(|st| st != PREVIOUS);
            if v.stages.iter().any(|st| st == CURRENT) {
                v.stages.retain(|st| st != CURRENT);
                v.stages.push(PREVIOUS.into());
            }
        }
    }
    for v in s.versions.iter_mut() {
        v.stages.retain(|st| st == PREVIOUS || st == CURRENT || !stages.contains(st));
    }
    let now = now_ms();
    s.versions.push(Version { id, string, binary, stages, created_ms: now });
    // Versions without a label are dropped beyond 100, oldest first.
    while s.versions.len() > 100 {
        match s.versions.iter().position(|v| v.stages.is_empty()) {
            Some(p) => {
                s.versions.remove(p);
            }
            None => break,
        }
    }
    s.changed_ms = now;
}

impl SecretsManagerService {
    /// What a request about `secret_id` is authorised on: the secret's ARN (the one it would
    /// have when it does not exist) and its tags, as `aws:ResourceTag/...`.
    fn on_secret(&self, ctx: &RequestContext, action: &'static str, secret_id: Option<&str>) -> Authorization {
        let acct = ctx.account_id().unwrap_or_default();
        let mut a = Authorization { action, resource: "*".into(), ..Default::default() };
        if let Some(id) = secret_id {
            match self.get(ctx, Some(id)) {
                Ok(s) => {
                    for (k, v) in &s.tags {
                        a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
                    }
                    // The secret's resource policy decides with the caller's, across
                    // accounts too.
                    a.resource_policy = s
                        .policy
                        .as_deref()
                        .and_then(|d| nuage_policy::Policy::parse(d, nuage_policy::PolicyKind::Resource).ok())
                        .map(std::sync::Arc::new);
                    a.owner_account = Some(s.account.clone());
                    a.resource = s.arn;
                }
                Err(_) => a.resource = format!("arn:aws:secretsmanager:{}:{acct}:secret:{}", ctx.region, name_of(id)),
            }
        }
        a
    }
}

impl TypedService for SecretsManagerService {
    type Operation = m::ops::Operation;

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![("secrets", r.count(SECRETS).unwrap_or(0))]
    }

    fn signing_name(&self) -> &'static str {
        "secretsmanager"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Json
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn validation_error(&self) -> Option<&'static str> {
        Some("ValidationException")
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: m::ops::Operation) -> Row<'a> {
        use m::ops::Operation as O;
        match op {
            O::CreateSecret(i) => {
                let acct = ctx.account_id().unwrap_or_default();
                let name = i.name.as_deref().unwrap_or("*");
                let mut a = Authorization {
                    action: "secretsmanager:CreateSecret",
                    resource: format!("arn:aws:secretsmanager:{}:{acct}:secret:{name}", ctx.region),
                    ..Default::default()
                };
                let tags: Vec<(String, String)> = i
                    .tags
                    .iter()
                    .flatten()
                    .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                    .collect();
                a.context.set_request_tags(tags, Vec::new());
                Row::authorized(a, self.create(ctx, i))
            }
            O::GetSecretValue(i) => {
                let a = self.on_secret(ctx, "secretsmanager:GetSecretValue", i.secret_id.as_deref());
                Row::authorized(a, self.get_value(ctx, i))
            }
            O::PutSecretValue(i) => {
                let a = self.on_secret(ctx, "secretsmanager:PutSecretValue", i.secret_id.as_deref());
                Row::authorized(a, self.put_value(ctx, i))
            }
            O::DescribeSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:DescribeSecret", i.secret_id.as_deref());
                Row::authorized(a, async move { Ok(self.describe(&self.get(ctx, i.secret_id.as_deref())?)) })
            }
            O::ListSecrets(i) => Row::serve("secretsmanager:ListSecrets", "*", async move { self.list(ctx, i) }),
            O::DeleteSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:DeleteSecret", i.secret_id.as_deref());
                Row::authorized(a, self.delete(ctx, i))
            }
            O::RestoreSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:RestoreSecret", i.secret_id.as_deref());
                Row::authorized(a, self.restore(ctx, i))
            }
            O::UpdateSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:UpdateSecret", i.secret_id.as_deref());
                Row::authorized(a, self.update(ctx, i))
            }
            O::UpdateSecretVersionStage(i) => {
                let a = self.on_secret(ctx, "secretsmanager:UpdateSecretVersionStage", i.secret_id.as_deref());
                Row::authorized(a, self.update_version_stage(ctx, i))
            }
            O::ListSecretVersionIds(i) => {
                let a = self.on_secret(ctx, "secretsmanager:ListSecretVersionIds", i.secret_id.as_deref());
                Row::authorized(a, async move { self.list_version_ids(ctx, i) })
            }
            O::TagResource(i) => {
                let mut a = self.on_secret(ctx, "secretsmanager:TagResource", i.secret_id.as_deref());
                let tags = i.tags.iter().flatten();
                let tags = tags.map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()));
                a.context.set_request_tags(tags.collect(), Vec::new());
                Row::authorized(a, async move { self.tag(ctx, i).await.map(|()| nuage_front::NoOutput) })
            }
            O::UntagResource(i) => {
                let mut a = self.on_secret(ctx, "secretsmanager:UntagResource", i.secret_id.as_deref());
                a.context.set_request_tags(Vec::new(), i.tag_keys.clone().unwrap_or_default());
                Row::authorized(a, async move { self.untag(ctx, i).await.map(|()| nuage_front::NoOutput) })
            }
            O::PutResourcePolicy(i) => {
                let a = self.on_secret(ctx, "secretsmanager:PutResourcePolicy", i.secret_id.as_deref());
                Row::authorized(a, self.put_policy(ctx, i))
            }
            O::GetResourcePolicy(i) => {
                let a = self.on_secret(ctx, "secretsmanager:GetResourcePolicy", i.secret_id.as_deref());
                Row::authorized(a, async move { self.get_policy(ctx, i) })
            }
            O::ListResourcePolicies(i) => {
                let a = self.on_secret(ctx, "secretsmanager:ListResourcePolicies", i.secret_id.as_deref());
                Row::authorized(a, async move { self.list_policies(ctx, i) })
            }
            O::DeleteResourcePolicy(i) => {
                let a = self.on_secret(ctx, "secretsmanager:DeleteResourcePolicy", i.secret_id.as_deref());
                Row::authorized(a, self.delete_policy(ctx, i))
            }
            O::ValidateResourcePolicy(i) => {
                let a = self.on_secret(ctx, "secretsmanager:ValidateResourcePolicy", i.secret_id.as_deref());
                Row::authorized(a, async move { manage::validate_policy(i) })
            }
            O::GetRandomPassword(i) => {
                Row::serve("secretsmanager:GetRandomPassword", "*", async move { manage::random_password(i) })
            }
            O::RotateSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:RotateSecret", i.secret_id.as_deref());
                let has_function = i.rotation_lambda_arn.is_some();
                Row::authorized(a, async move {
                    self.get(ctx, i.secret_id.as_deref())?;
                    Err::<m::RotateSecretResponse, _>(manage::rotation_refused(has_function))
                })
            }
            O::CancelRotateSecret(i) => {
                let a = self.on_secret(ctx, "secretsmanager:CancelRotateSecret", i.secret_id.as_deref());
                Row::authorized(a, async move {
                    self.get(ctx, i.secret_id.as_deref())?;
                    Err::<m::CancelRotateSecretResponse, _>(manage::rotation_refused(false))
                })
            }
            O::BatchGetSecretValue(i) => {
                let mut a = Authorization {
                    action: "secretsmanager:BatchGetSecretValue",
                    resource: "*".into(),
                    ..Default::default()
                };
                // Filters list the secrets first: that is ListSecrets' permission too.
                if i.filters.is_some() {
                    a.also.push(Authorization {
                        action: "secretsmanager:ListSecrets",
                        resource: "*".into(),
                        ..Default::default()
                    });
                }
                Row::authorized(a, self.batch_get(ctx, i))
            }
            O::ReplicateSecretToRegions(i) => {
                let a = self.on_secret(ctx, "secretsmanager:ReplicateSecretToRegions", i.secret_id.as_deref());
                Row::authorized(a, self.replicate(ctx, i))
            }
            O::RemoveRegionsFromReplication(i) => {
                let a = self.on_secret(ctx, "secretsmanager:RemoveRegionsFromReplication", i.secret_id.as_deref());
                Row::authorized(a, self.remove_replicas(ctx, i))
            }
            O::StopReplicationToReplica(i) => {
                let a = self.on_secret(ctx, "secretsmanager:StopReplicationToReplica", i.secret_id.as_deref());
                Row::authorized(a, self.stop_replication(ctx, i))
            }
            O::AssociateCrossAccountReplica(_) | O::DisassociateCrossAccountReplica(_) => Row::NotServed,
        }
    }
}
