//! Redshift Serverless (json protocol, botocore's `redshift-serverless` model): a namespace
//! holds a database (its admin user, IAM roles, snapshots), a workgroup serves one namespace
//! on its SQL port with its config parameters as the sessions' defaults. The database is the
//! same warehouse a provisioned cluster runs; COPY and UNLOAD assume the namespace's roles.
mod recovery;
mod routes;
mod snapshots;

use crate::api::{password_problem, role_arn_ok};
use crate::{key, now_ms, Compute, ComputeFacts, Database, Redshift};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::redshift_serverless as m;
use nuage_protocol::redshift_serverless::errors::Error as E;
use nuage_protocol::Timestamp;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use routes::RedshiftServerlessService;

const NAMESPACES: JsonTable = TableDefinition::new("redshift_serverless_namespaces");
const WORKGROUPS: JsonTable = TableDefinition::new("redshift_serverless_workgroups");
const SNAPSHOTS: JsonTable = TableDefinition::new("redshift_serverless_snapshots");

/// A namespace: the database and who may use it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NamespaceRecord {
    account: String,
    region: String,
    name: String,
    id: String,
    /// None when created without admin credentials: only IAM logins reach it.
    admin_username: Option<String>,
    /// The secret holding the admin password, when Redshift manages it.
    #[serde(default)]
    admin_password_secret: Option<crate::ManagedPassword>,
    db_name: String,
    kms_key_id: Option<String>,
    iam_roles: Vec<String>,
    default_iam_role: Option<String>,
    tags: Vec<(String, String)>,
    create_time_ms: i64,
}

impl NamespaceRecord {
    fn arn(&self) -> String {
        resource_arn(&self.region, &self.account, "namespace", &self.id)
    }
}

/// A workgroup: the compute serving one namespace on its port.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WorkgroupRecord {
    account: String,
    region: String,
    name: String,
    id: String,
    namespace: String,
    base_capacity: i32,
    max_capacity: Option<i32>,
    enhanced_vpc_routing: bool,
    /// Every config parameter with its value (defaults included), as GetWorkgroup lists them.
    config: BTreeMap<String, String>,
    security_group_ids: Vec<String>,
    subnet_ids: Vec<String>,
    publicly_accessible: bool,
    port: i32,
    bound_port: Option<u16>,
    tags: Vec<(String, String)>,
    create_time_ms: i64,
}

impl WorkgroupRecord {
    fn arn(&self) -> String {
        resource_arn(&self.region, &self.account, "workgroup", &self.id)
    }

    fn running_key(&self) -> String {
        key(&self.account, &self.region, &format!("workgroup/{}", self.name))
    }
}

/// The config parameters a workgroup has, with Redshift Serverless's defaults.
const CONFIG_DEFAULTS: &[(&str, &str)] = &[
    ("auto_mv", "true"),
    ("datestyle", "ISO, MDY"),
    ("enable_case_sensitive_identifier", "false"),
    ("enable_user_activity_logging", "true"),
    ("max_query_execution_time", "14400"),
    ("query_group", "default"),
    ("require_ssl", "false"),
    ("search_path", "$user, public"),
    ("use_fips_ssl", "false"),
];

/// The session settings a workgroup's parameters become.
const SESSION_PARAMETERS: &[&str] = &["datestyle", "enable_case_sensitive_identifier", "query_group", "search_path"];

/// The ARN of a Redshift Serverless resource: `kind` is namespace, workgroup, snapshot or
/// recoverypoint; `id` its id (or `*`).
fn resource_arn(region: &str, account: &str, kind: &str, id: &str) -> String {
    format!("arn:aws:redshift-serverless:{region}:{account}:{kind}/{id}")
}

fn validation(msg: impl Into<String>) -> AwsError {
    E::ValidationException.msg(msg)
}

fn not_found(what: &str, name: &str) -> AwsError {
    E::ResourceNotFoundException.msg(format!("{what} {name} is not found.")).with("resourceName", name.to_string())
}

fn conflict(msg: impl Into<String>) -> AwsError {
    E::ConflictException.msg(msg)
}

fn account(ctx: &RequestContext) -> AwsResult<&str> {
    ctx.account_id().ok_or_else(nuage_protocol::common::Common::missing_token)
}

/// Namespace, workgroup and snapshot names: 3–64 lower-case letters, digits and hyphens.
fn check_name(name: &str, what: &str) -> AwsResult<()> {
    let ok = (3..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(validation(format!(
            "{what} name must be 3 to 64 characters long and contain only lowercase letters, numbers, and hyphens."
        )));
    }
    Ok(())
}

fn tags_in(tags: Option<Vec<m::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default().into_iter().map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())).collect()
}

fn tags_out(tags: &[(String, String)]) -> Vec<m::Tag> {
    tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

/// A page of `items` from `token` (an offset nuage handed out), at most `max`.
fn page<T>(items: Vec<T>, token: Option<&str>, max: Option<i32>) -> AwsResult<(Vec<T>, Option<String>)> {
    let start: usize =
        token.map(|t| t.parse().map_err(|_| validation("The nextToken is not valid."))).transpose()?.unwrap_or(0);
    let max = max.unwrap_or(100).clamp(1, 100) as usize;
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (start + out.len() < total).then(|| (start + out.len()).to_string());
    Ok((out, next))
}

/// Checks the roles a namespace is given and its default among them.
fn check_roles(roles: &[String], default: Option<&String>) -> AwsResult<()> {
    for r in roles {
        if !role_arn_ok(r) {
            return Err(validation(format!("IAM role ARN {r} is not valid.")));
        }
    }
    if let Some(d) = default {
        if !roles.contains(d) {
            return Err(validation(format!("The default IAM role {d} must be one of the namespace's IAM roles.")));
        }
    }
    Ok(())
}

/// What CreateNamespace or UpdateNamespace asks of the admin user.
enum Admin {
    /// Nothing said.
    Unchanged,
    /// A user and the password it is given.
    Given(String, String),
    /// A password Redshift generates and keeps in Secrets Manager, for this user (or the
    /// namespace's, or `admin`).
    Managed(Option<String>),
    /// No longer managed: the caller must give a password.
    Unmanaged,
}

fn check_admin_name(u: &str) -> AwsResult<String> {
    let ok = !u.is_empty()
        && u.len() <= 128
        && u.starts_with(|c: char| c.is_ascii_alphabetic())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(validation(
            "adminUsername must be 1 to 128 alphanumeric characters or underscores, and start with a letter.",
        ));
    }
    Ok(u.to_ascii_lowercase())
}

/// The admin credentials given to CreateNamespace or UpdateNamespace: a user and password
/// together, or a managed password, or neither.
fn admin_credentials(user: Option<String>, password: Option<String>, manage: Option<bool>) -> AwsResult<Admin> {
    if manage == Some(true) {
        if password.is_some() {
            return Err(validation("adminUserPassword cannot be given with manageAdminPassword."));
        }
        return Ok(Admin::Managed(user.as_deref().map(check_admin_name).transpose()?));
    }
    match (user, password) {
        (None, None) if manage == Some(false) => Ok(Admin::Unmanaged),
        (None, None) => Ok(Admin::Unchanged),
        (Some(u), Some(p)) => {
            let u = check_admin_name(&u)?;
            if let Some(why) = password_problem(&p) {
                return Err(validation(format!("The adminUserPassword is not valid because {why}.")));
            }
            Ok(Admin::Given(u, p))
        }
        _ => Err(validation("adminUsername and adminUserPassword must be given together.")),
    }
}

/// Refuses what nuage cannot do rather than keep it and ignore it.
fn refuse_unsupported_namespace(log_exports: &Option<Vec<String>>, idc: bool) -> AwsResult<()> {
    if log_exports.as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(validation(
            "logExports is not supported by nuage: audit logs are not delivered to CloudWatch Logs.",
        ));
    }
    if idc {
        return Err(validation(
            "IAM Identity Center is not available offline: nuage serves no identity configuration.",
        ));
    }
    Ok(())
}

/// Refuses the workgroup settings nuage cannot honour.
fn refuse_unsupported_workgroup(
    target: &Option<m::PerformanceTarget>,
    ip_address_type: Option<&str>,
    track: Option<&str>,
    extra_compute: Option<bool>,
) -> AwsResult<()> {
    if target.as_ref().is_some_and(|t| t.status.as_deref() == Some("ENABLED")) {
        return Err(validation("AI-driven scaling (pricePerformanceTarget) is not supported by nuage."));
    }
    if ip_address_type == Some("dualstack") {
        return Err(validation("nuage's SQL ports listen on IPv4 only: ipAddressType must be ipv4."));
    }
    if let Some(t) = track.filter(|t| *t != "current") {
        return Err(validation(format!("Track {t} is not available: nuage serves the current track.")));
    }
    if extra_compute == Some(true) {
        return Err(validation("extraComputeForAutomaticOptimization is not supported by nuage."));
    }
    Ok(())
}

/// A workgroup's config parameters over `base`: known keys only, values nuage honours only.
fn merge_config(
    base: &BTreeMap<String, String>,
    given: Option<Vec<m::ConfigParameter>>,
) -> AwsResult<BTreeMap<String, String>> {
    let mut out = base.clone();
    for p in given.unwrap_or_default() {
        let k = p.parameter_key.unwrap_or_default();
        let v = p.parameter_value.unwrap_or_default();
        let default = CONFIG_DEFAULTS.iter().find(|(d, _)| *d == k).map(|(_, v)| *v);
        let Some(default) = default else {
            return Err(validation(format!(
                "The config parameter {k} is not valid (query monitoring limits are not served by nuage). Valid parameters: {}.",
                CONFIG_DEFAULTS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            )));
        };
        let lower = v.trim().to_ascii_lowercase();
        let honoured = match k.as_str() {
            "auto_mv" | "enable_user_activity_logging" => matches!(lower.as_str(), "true" | "false"),
            "datestyle" | "enable_case_sensitive_identifier" => {
                nuage_warehouse::functions::system::check_setting(&k, &v).is_ok()
            }
            "search_path" | "query_group" => !v.trim().is_empty(),
            // No TLS on nuage's SQL ports; queries are never timed out.
            _ => lower == default,
        };
        if !honoured {
            return Err(validation(format!("nuage cannot honour the config parameter {k} = '{v}'.")));
        }
        out.insert(k, v);
    }
    Ok(out)
}

fn default_config() -> BTreeMap<String, String> {
    CONFIG_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Base capacity: 8 to 1024 RPUs in steps of 8 (or 4); the maximum at least the base.
fn check_capacity(base: i32, max: Option<i32>) -> AwsResult<()> {
    if !(base == 4 || ((8..=1024).contains(&base) && base % 8 == 0)) {
        return Err(validation("The base capacity must be 4, or between 8 and 1024 RPUs in units of 8."));
    }
    if let Some(max) = max {
        if max < base || max % 8 != 0 || max > 5632 {
            return Err(validation(
                "The maximum capacity must be at least the base capacity, at most 5632, in units of 8 RPUs.",
            ));
        }
    }
    Ok(())
}

fn check_port(port: i32) -> AwsResult<()> {
    if !((5431..=5455).contains(&port) || (8191..=8215).contains(&port)) {
        return Err(validation("The port must be between 5431 and 5455, or between 8191 and 8215."));
    }
    Ok(())
}

/// What COPY, UNLOAD and admission read of a workgroup and its namespace.
pub(crate) fn facts(rs: &Redshift, account: &str, region: &str, name: &str) -> AwsResult<Option<ComputeFacts>> {
    let r = rs.store.read()?;
    let Some(w) = r.get::<WorkgroupRecord>(WORKGROUPS, &key(account, region, name))? else { return Ok(None) };
    let Some(n) = r.get::<NamespaceRecord>(NAMESPACES, &key(account, region, &w.namespace))? else {
        return Ok(None);
    };
    Ok(Some(ComputeFacts {
        source_arn: n.arn(),
        dbuser_prefix: format!("arn:aws:redshift-serverless:{region}:{account}:dbuser:{}", w.name),
        iam_roles: n.iam_roles.clone(),
        default_iam_role: n.default_iam_role.clone(),
        namespace_uuid: n.id.clone(),
        subnet: match w.subnet_ids.first() {
            Some(id) => crate::SubnetChoice::Known(id.clone()),
            None => crate::SubnetChoice::DefaultIn(format!("{region}a")),
        },
        security_groups: w.security_group_ids,
        port: w.port,
        bound_port: w.bound_port,
    }))
}

fn namespace_out(n: &NamespaceRecord, status: &str) -> m::Namespace {
    m::Namespace {
        namespace_arn: Some(n.arn()),
        namespace_id: Some(n.id.clone()),
        namespace_name: Some(n.name.clone()),
        admin_username: n.admin_username.clone(),
        db_name: Some(n.db_name.clone()),
        kms_key_id: Some(n.kms_key_id.clone().unwrap_or_else(|| "AWS_OWNED_KMS_KEY".into())),
        default_iam_role_arn: n.default_iam_role.clone(),
        iam_roles: Some(n.iam_roles.clone()),
        log_exports: Some(vec![]),
        status: Some(status.into()),
        creation_date: Some(Timestamp(n.create_time_ms)),
        admin_password_secret_arn: n.admin_password_secret.as_ref().map(|s| s.arn.clone()),
        admin_password_secret_kms_key_id: n.admin_password_secret.as_ref().and_then(|s| s.kms_key_id.clone()),
        ..Default::default()
    }
}

impl Redshift {
    /// The subnets a workgroup names must exist in EC2 (the default VPC's, in nuage): asked
    /// through the front door as the account.
    async fn check_subnets(&self, ctx: &RequestContext, subnets: &Option<Vec<String>>) -> AwsResult<Vec<String>> {
        let Some(ids) = subnets.clone().filter(|s| !s.is_empty()) else { return Ok(vec![]) };
        let f = self.internal.frontend()?;
        let root = f.identities.root(account(ctx)?).ok_or_else(|| AwsError::internal("the account is unknown"))?;
        let input = nuage_protocol::ec2::DescribeSubnetsRequest { subnet_ids: Some(ids.clone()), ..Default::default() };
        f.call(root, &ctx.region, input)
            .await
            .map_err(|e| validation(format!("The subnets are not valid: {}", e.message)))?;
        Ok(ids)
    }

    /// A namespace's database; without an admin user, `rdsdb` owns it and nobody logs in
    /// with a password.
    fn namespace_database(&self, n: &NamespaceRecord) -> Database {
        Database {
            dir: self.namespace_dir(&n.account, &n.region, &n.id),
            name: n.db_name.clone(),
            master: n.admin_username.clone().unwrap_or_else(|| "rdsdb".into()),
        }
    }

    fn namespace_dir(&self, account: &str, region: &str, id: &str) -> std::path::PathBuf {
        self.dir.join(account).join(region).join("namespaces").join(id)
    }

    fn namespace(&self, ctx: &RequestContext, name: &str) -> AwsResult<NamespaceRecord> {
        self.store
            .read()?
            .get(NAMESPACES, &key(account(ctx)?, &ctx.region, name))?
            .ok_or_else(|| not_found("Namespace", name))
    }

    fn workgroup(&self, ctx: &RequestContext, name: &str) -> AwsResult<WorkgroupRecord> {
        self.store
            .read()?
            .get(WORKGROUPS, &key(account(ctx)?, &ctx.region, name))?
            .ok_or_else(|| not_found("Workgroup", name))
    }

    fn workgroups(&self, account: &str, region: &str) -> AwsResult<Vec<WorkgroupRecord>> {
        Ok(self.store.read()?.scan(WORKGROUPS, &format!("{account}/{region}/"))?.into_iter().map(|(_, w)| w).collect())
    }

    /// The workgroup serving a namespace, if one does.
    fn workgroup_of(&self, n: &NamespaceRecord) -> AwsResult<Option<WorkgroupRecord>> {
        Ok(self.workgroups(&n.account, &n.region)?.into_iter().find(|w| w.namespace == n.name))
    }

    async fn put_namespace(&self, n: &NamespaceRecord) -> AwsResult<()> {
        let (k, v) = (key(&n.account, &n.region, &n.name), n.clone());
        self.store.write(move |w| w.put(NAMESPACES, &k, &v)).await
    }

    async fn put_workgroup(&self, w: &WorkgroupRecord) -> AwsResult<()> {
        let (k, v) = (key(&w.account, &w.region, &w.name), w.clone());
        self.store.write(move |tx| tx.put(WORKGROUPS, &k, &v)).await
    }

    /// The warehouse a workgroup serves, while it runs.
    pub(crate) fn workgroup_warehouse(&self, w: &WorkgroupRecord) -> Option<Arc<nuage_warehouse::Warehouse>> {
        self.running_warehouse(&w.running_key())
    }

    /// Serves the workgroup's namespace on its port, its parameters as the sessions' defaults;
    /// `password` creates the admin user of a namespace opened for the first time.
    async fn start_workgroup(
        &self,
        w: &mut WorkgroupRecord,
        n: &NamespaceRecord,
        password: Option<&str>,
    ) -> AwsResult<()> {
        let db = self.namespace_database(n);
        let compute = Compute::Workgroup(w.name.clone());
        let port = self.launch(&w.running_key(), db, password, w.port, &w.account, &w.region, compute).await?;
        w.bound_port = Some(port);
        self.apply_config(w)
    }

    fn apply_config(&self, w: &WorkgroupRecord) -> AwsResult<()> {
        let Some(wh) = self.workgroup_warehouse(w) else { return Ok(()) };
        let defaults = w
            .config
            .iter()
            .filter(|(k, v)| {
                SESSION_PARAMETERS.contains(&k.as_str()) && CONFIG_DEFAULTS.iter().all(|(dk, dv)| dk != k || dv != v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        wh.set_session_defaults(defaults).map_err(|e| validation(e.message))
    }

    /// Brings back every workgroup after a restart.
    pub(crate) async fn recover_workgroups(&self) -> AwsResult<()> {
        let all: Vec<(String, WorkgroupRecord)> = self.store.read()?.scan(WORKGROUPS, "")?;
        for (_, mut w) in all {
            let n: Option<NamespaceRecord> =
                self.store.read()?.get(NAMESPACES, &key(&w.account, &w.region, &w.namespace))?;
            let Some(n) = n else { continue };
            if let Err(e) = self.start_workgroup(&mut w, &n, None).await {
                tracing::error!(workgroup = %w.name, error = %e.message, "workgroup could not be started");
                continue;
            }
            self.put_workgroup(&w).await?;
        }
        Ok(())
    }

    fn workgroup_out(&self, w: &WorkgroupRecord, status: &str) -> m::Workgroup {
        let port = w.bound_port.map(i32::from).unwrap_or(w.port);
        m::Workgroup {
            workgroup_id: Some(w.id.clone()),
            workgroup_arn: Some(w.arn()),
            workgroup_name: Some(w.name.clone()),
            namespace_name: Some(w.namespace.clone()),
            base_capacity: Some(w.base_capacity),
            max_capacity: w.max_capacity,
            enhanced_vpc_routing: Some(w.enhanced_vpc_routing),
            config_parameters: Some(
                w.config
                    .iter()
                    .map(|(k, v)| m::ConfigParameter {
                        parameter_key: Some(k.clone()),
                        parameter_value: Some(v.clone()),
                    })
                    .collect(),
            ),
            security_group_ids: Some(w.security_group_ids.clone()),
            subnet_ids: Some(w.subnet_ids.clone()),
            status: Some(status.into()),
            endpoint: Some(m::Endpoint {
                address: Some(self.sql_host().to_string()),
                port: Some(port),
                vpc_endpoints: Some(vec![]),
            }),
            publicly_accessible: Some(w.publicly_accessible),
            creation_date: Some(Timestamp(w.create_time_ms)),
            port: Some(w.port),
            workgroup_version: Some("1.0".into()),
            patch_version: Some("patch 1.0".into()),
            ip_address_type: Some("ipv4".into()),
            track_name: Some("current".into()),
            ..Default::default()
        }
    }

    pub(crate) async fn create_namespace(
        &self,
        ctx: &RequestContext,
        i: m::CreateNamespaceRequest,
    ) -> AwsResult<m::CreateNamespaceResponse> {
        let acct = account(ctx)?.to_string();
        let name = i.namespace_name.unwrap_or_default();
        check_name(&name, "Namespace")?;
        refuse_unsupported_namespace(
            &i.log_exports,
            i.redshift_idc_application_arn.is_some() || i.identity_configuration.is_some(),
        )?;
        let admin = admin_credentials(i.admin_username, i.admin_user_password, i.manage_admin_password)?;
        let roles = i.iam_roles.unwrap_or_default();
        check_roles(&roles, i.default_iam_role_arn.as_ref())?;
        let db_name = i.db_name.unwrap_or_else(|| "dev".into()).to_ascii_lowercase();
        let _one = self.writes.lock().await;
        if self.store.read()?.get::<NamespaceRecord>(NAMESPACES, &key(&acct, &ctx.region, &name))?.is_some() {
            return Err(conflict(format!("Namespace {name} already exists.")));
        }
        let (admin_username, password, admin_password_secret) = match admin {
            Admin::Unchanged | Admin::Unmanaged => (None, String::new(), None),
            Admin::Given(u, p) => (Some(u), p, None),
            Admin::Managed(u) => {
                let u = u.unwrap_or_else(|| "admin".into());
                let kms = i.admin_password_secret_kms_key_id.clone();
                let s = self.create_managed_secret(ctx, &name, &u, kms.clone()).await?;
                (Some(u), s.password, Some(crate::ManagedPassword { arn: s.arn, kms_key_id: kms }))
            }
        };
        let n = NamespaceRecord {
            account: acct,
            region: ctx.region.clone(),
            name,
            id: uuid::Uuid::new_v4().to_string(),
            admin_username,
            admin_password_secret,
            db_name,
            kms_key_id: i.kms_key_id,
            iam_roles: roles,
            default_iam_role: i.default_iam_role_arn,
            tags: tags_in(i.tags),
            create_time_ms: now_ms(),
        };
        // The database is created now, with its admin user; a workgroup serves it later.
        self.open_database(self.namespace_database(&n), &password).await?;
        self.put_namespace(&n).await?;
        Ok(m::CreateNamespaceResponse { namespace: Some(namespace_out(&n, "AVAILABLE")) })
    }

    pub(crate) async fn update_namespace(
        &self,
        ctx: &RequestContext,
        i: m::UpdateNamespaceRequest,
    ) -> AwsResult<m::UpdateNamespaceResponse> {
        refuse_unsupported_namespace(&i.log_exports, i.identity_configuration.is_some())?;
        if i.log_destination_type.is_some() || i.s3_table_action.is_some() || i.s3_table_names.is_some() {
            return Err(validation("Publishing to S3 Tables is not supported by nuage."));
        }
        let admin = admin_credentials(i.admin_username, i.admin_user_password, i.manage_admin_password)?;
        let _one = self.writes.lock().await;
        let mut n = self.namespace(ctx, i.namespace_name.as_deref().unwrap_or_default())?;
        if let Some(roles) = i.iam_roles {
            n.iam_roles = roles;
        }
        if let Some(d) = i.default_iam_role_arn {
            n.default_iam_role = Some(d);
        }
        check_roles(&n.iam_roles, n.default_iam_role.as_ref())?;
        if let Some(k) = i.kms_key_id {
            n.kms_key_id = Some(k);
        }
        match admin {
            Admin::Unchanged => {}
            Admin::Unmanaged if n.admin_password_secret.is_some() => {
                return Err(validation("Give adminUsername and adminUserPassword to stop managing the admin password."))
            }
            Admin::Unmanaged => {}
            Admin::Given(user, password) => {
                self.set_admin_password(&n, &user, &password).await?;
                if let Some(old) = n.admin_password_secret.take() {
                    self.delete_managed_secret(ctx, &old.arn).await?;
                }
                n.admin_username = Some(user);
            }
            Admin::Managed(user) => {
                let user = user.or(n.admin_username.clone()).unwrap_or_else(|| "admin".into());
                let same = n.admin_password_secret.is_some() && n.admin_username.as_deref() == Some(user.as_str());
                if !same {
                    let kms = i.admin_password_secret_kms_key_id.clone();
                    let s = self.create_managed_secret(ctx, &n.name, &user, kms.clone()).await?;
                    self.set_admin_password(&n, &user, &s.password).await?;
                    if let Some(old) =
                        n.admin_password_secret.replace(crate::ManagedPassword { arn: s.arn, kms_key_id: kms })
                    {
                        self.delete_managed_secret(ctx, &old.arn).await?;
                    }
                    n.admin_username = Some(user);
                }
            }
        }
        self.put_namespace(&n).await?;
        Ok(m::UpdateNamespaceResponse { namespace: Some(namespace_out(&n, "AVAILABLE")) })
    }

    /// Gives the namespace's admin user a password, in its running database or on disk.
    pub(super) async fn set_admin_password(&self, n: &NamespaceRecord, user: &str, password: &str) -> AwsResult<()> {
        let wh = match self.workgroup_of(n)?.and_then(|w| self.workgroup_warehouse(&w)) {
            Some(wh) => wh,
            None => self.open_database(self.namespace_database(n), "").await?,
        };
        wh.set_password(user, password, true).await.map_err(crate::sql_err)
    }

    pub(crate) async fn delete_namespace(
        &self,
        ctx: &RequestContext,
        i: m::DeleteNamespaceRequest,
    ) -> AwsResult<m::DeleteNamespaceResponse> {
        let _one = self.writes.lock().await;
        let n = self.namespace(ctx, i.namespace_name.as_deref().unwrap_or_default())?;
        if let Some(w) = self.workgroup_of(&n)? {
            return Err(conflict(format!(
                "Namespace {} cannot be deleted while workgroup {} is associated with it.",
                n.name, w.name
            )));
        }
        if let Some(snap) = &i.final_snapshot_name {
            self.take_serverless_snapshot(&n, snap, i.final_snapshot_retention_period, vec![]).await?;
        } else if i.final_snapshot_retention_period.is_some() {
            return Err(validation("finalSnapshotRetentionPeriod needs finalSnapshotName."));
        }
        if let Some(secret) = &n.admin_password_secret {
            self.delete_managed_secret(ctx, &secret.arn).await?;
        }
        let k = key(&n.account, &n.region, &n.name);
        self.store.write(move |w| w.delete(NAMESPACES, &k)).await?;
        let dir = self.namespace_dir(&n.account, &n.region, &n.id);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(dir)).await;
        Ok(m::DeleteNamespaceResponse { namespace: Some(namespace_out(&n, "DELETING")) })
    }

    pub(crate) fn get_namespace(&self, ctx: &RequestContext, name: Option<&str>) -> AwsResult<m::GetNamespaceResponse> {
        let n = self.namespace(ctx, name.unwrap_or_default())?;
        Ok(m::GetNamespaceResponse { namespace: Some(namespace_out(&n, "AVAILABLE")) })
    }

    pub(crate) fn list_namespaces(
        &self,
        ctx: &RequestContext,
        i: m::ListNamespacesRequest,
    ) -> AwsResult<m::ListNamespacesResponse> {
        let all: Vec<NamespaceRecord> = self
            .store
            .read()?
            .scan(NAMESPACES, &format!("{}/{}/", account(ctx)?, ctx.region))?
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let (items, next) = page(all, i.next_token.as_deref(), i.max_results)?;
        Ok(m::ListNamespacesResponse {
            namespaces: Some(items.iter().map(|n| namespace_out(n, "AVAILABLE")).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn create_workgroup(
        &self,
        ctx: &RequestContext,
        i: m::CreateWorkgroupRequest,
    ) -> AwsResult<m::CreateWorkgroupResponse> {
        let name = i.workgroup_name.unwrap_or_default();
        check_name(&name, "Workgroup")?;
        let base = i.base_capacity.unwrap_or(128);
        check_capacity(base, i.max_capacity)?;
        let port = i.port.unwrap_or(5439);
        check_port(port)?;
        let subnets = self.check_subnets(ctx, &i.subnet_ids).await?;
        refuse_unsupported_workgroup(
            &i.price_performance_target,
            i.ip_address_type.as_deref(),
            i.track_name.as_deref(),
            i.extra_compute_for_automatic_optimization,
        )?;
        let config = merge_config(&default_config(), i.config_parameters)?;
        let _one = self.writes.lock().await;
        let n = self.namespace(ctx, i.namespace_name.as_deref().unwrap_or_default())?;
        if self.store.read()?.get::<WorkgroupRecord>(WORKGROUPS, &key(&n.account, &n.region, &name))?.is_some() {
            return Err(conflict(format!("Workgroup {name} already exists.")));
        }
        if let Some(other) = self.workgroup_of(&n)? {
            return Err(conflict(format!("Namespace {} is already associated with workgroup {}.", n.name, other.name)));
        }
        let mut w = WorkgroupRecord {
            account: n.account.clone(),
            region: n.region.clone(),
            name,
            id: uuid::Uuid::new_v4().to_string(),
            namespace: n.name.clone(),
            base_capacity: base,
            max_capacity: i.max_capacity,
            enhanced_vpc_routing: i.enhanced_vpc_routing.unwrap_or(false),
            config,
            security_group_ids: i.security_group_ids.unwrap_or_default(),
            subnet_ids: subnets,
            publicly_accessible: i.publicly_accessible.unwrap_or(false),
            port,
            bound_port: None,
            tags: tags_in(i.tags),
            create_time_ms: now_ms(),
        };
        self.start_workgroup(&mut w, &n, None).await?;
        self.put_workgroup(&w).await?;
        Ok(m::CreateWorkgroupResponse { workgroup: Some(self.workgroup_out(&w, "CREATING")) })
    }

    pub(crate) async fn update_workgroup(
        &self,
        ctx: &RequestContext,
        i: m::UpdateWorkgroupRequest,
    ) -> AwsResult<m::UpdateWorkgroupResponse> {
        let subnets = self.check_subnets(ctx, &i.subnet_ids).await?;
        refuse_unsupported_workgroup(
            &i.price_performance_target,
            i.ip_address_type.as_deref(),
            i.track_name.as_deref(),
            i.extra_compute_for_automatic_optimization,
        )?;
        let _one = self.writes.lock().await;
        let mut w = self.workgroup(ctx, i.workgroup_name.as_deref().unwrap_or_default())?;
        let base = i.base_capacity.unwrap_or(w.base_capacity);
        let max = i.max_capacity.or(w.max_capacity);
        check_capacity(base, max)?;
        if let Some(p) = i.port {
            check_port(p)?;
        }
        w.config = merge_config(&w.config, i.config_parameters)?;
        w.base_capacity = base;
        w.max_capacity = max;
        if let Some(e) = i.enhanced_vpc_routing {
            w.enhanced_vpc_routing = e;
        }
        if let Some(p) = i.publicly_accessible {
            w.publicly_accessible = p;
        }
        if let Some(g) = i.security_group_ids {
            w.security_group_ids = g;
        }
        if !subnets.is_empty() {
            w.subnet_ids = subnets;
        }
        if let Some(p) = i.port.filter(|p| *p != w.port) {
            let n = self.namespace(ctx, &w.namespace)?;
            self.stop_key(&w.running_key());
            w.port = p;
            self.start_workgroup(&mut w, &n, None).await?;
        } else {
            self.apply_config(&w)?;
        }
        self.put_workgroup(&w).await?;
        Ok(m::UpdateWorkgroupResponse { workgroup: Some(self.workgroup_out(&w, "AVAILABLE")) })
    }

    pub(crate) async fn delete_workgroup(
        &self,
        ctx: &RequestContext,
        name: Option<&str>,
    ) -> AwsResult<m::DeleteWorkgroupResponse> {
        let _one = self.writes.lock().await;
        let w = self.workgroup(ctx, name.unwrap_or_default())?;
        self.stop_key(&w.running_key());
        let k = key(&w.account, &w.region, &w.name);
        self.store.write(move |tx| tx.delete(WORKGROUPS, &k)).await?;
        Ok(m::DeleteWorkgroupResponse { workgroup: Some(self.workgroup_out(&w, "DELETING")) })
    }

    pub(crate) fn get_workgroup(&self, ctx: &RequestContext, name: Option<&str>) -> AwsResult<m::GetWorkgroupResponse> {
        let w = self.workgroup(ctx, name.unwrap_or_default())?;
        Ok(m::GetWorkgroupResponse { workgroup: Some(self.workgroup_out(&w, "AVAILABLE")) })
    }

    pub(crate) fn list_workgroups(
        &self,
        ctx: &RequestContext,
        i: m::ListWorkgroupsRequest,
    ) -> AwsResult<m::ListWorkgroupsResponse> {
        let acct = account(ctx)?;
        if i.owner_account.as_deref().is_some_and(|o| o != acct) {
            return Ok(m::ListWorkgroupsResponse { workgroups: Some(vec![]), next_token: None });
        }
        let (items, next) = page(self.workgroups(acct, &ctx.region)?, i.next_token.as_deref(), i.max_results)?;
        Ok(m::ListWorkgroupsResponse {
            workgroups: Some(items.iter().map(|w| self.workgroup_out(w, "AVAILABLE")).collect()),
            next_token: next,
        })
    }

    /// Temporary database credentials for the caller's IAM identity on a workgroup's database.
    pub(crate) async fn serverless_credentials(
        &self,
        ctx: &RequestContext,
        i: m::GetCredentialsRequest,
    ) -> AwsResult<m::GetCredentialsResponse> {
        let p = ctx.principal.as_ref().ok_or_else(nuage_protocol::common::Common::missing_token)?;
        let name = match (&i.workgroup_name, &i.custom_domain_name) {
            (Some(w), None) => w.clone(),
            (None, Some(d)) => return Err(not_found("Custom domain", d)),
            _ => return Err(validation("Give exactly one of workgroupName and customDomainName.")),
        };
        let duration = i.duration_seconds.unwrap_or(900);
        if !(900..=3600).contains(&duration) {
            return Err(validation("durationSeconds must be between 900 and 3600."));
        }
        let w = self.workgroup(ctx, &name)?;
        let n = self.namespace(ctx, &w.namespace)?;
        if let Some(db) = &i.db_name {
            if !db.eq_ignore_ascii_case(&n.db_name) {
                return Err(validation(format!("Database {db} does not exist in workgroup {}.", w.name)));
            }
        }
        let wh =
            self.workgroup_warehouse(&w).ok_or_else(|| conflict(format!("Workgroup {} is not available.", w.name)))?;
        let c = crate::api::iam_login(&wh, p, duration).await?;
        Ok(m::GetCredentialsResponse {
            db_user: Some(c.login),
            db_password: Some(c.password),
            expiration: Some(Timestamp(c.expires * 1000)),
            next_refresh_time: Some(Timestamp(c.refresh * 1000)),
        })
    }

    /// The tags of the namespace, workgroup or snapshot an ARN names, edited by `edit`.
    async fn edit_serverless_tags(
        &self,
        ctx: &RequestContext,
        arn: &str,
        edit: impl FnOnce(&mut Vec<(String, String)>),
    ) -> AwsResult<Vec<(String, String)>> {
        let acct = account(ctx)?;
        let rest = arn.strip_prefix(&format!("arn:aws:redshift-serverless:{}:{acct}:", ctx.region)).unwrap_or("");
        let nf = || not_found("Resource", arn);
        let (kind, id) = rest.split_once('/').ok_or_else(nf)?;
        match kind {
            "namespace" => {
                let mut n = self
                    .store
                    .read()?
                    .scan::<NamespaceRecord>(NAMESPACES, &format!("{acct}/{}/", ctx.region))?
                    .into_iter()
                    .map(|(_, n)| n)
                    .find(|n| n.id == id)
                    .ok_or_else(nf)?;
                edit(&mut n.tags);
                check_tag_count(&n.tags)?;
                self.put_namespace(&n).await?;
                Ok(n.tags)
            }
            "workgroup" => {
                let mut w = self.workgroups(acct, &ctx.region)?.into_iter().find(|w| w.id == id).ok_or_else(nf)?;
                edit(&mut w.tags);
                check_tag_count(&w.tags)?;
                self.put_workgroup(&w).await?;
                Ok(w.tags)
            }
            "snapshot" => {
                let mut s = self.serverless_snapshots(ctx)?.into_iter().find(|s| s.id == id).ok_or_else(nf)?;
                edit(&mut s.tags);
                check_tag_count(&s.tags)?;
                let (k, v) = (key(&s.account, &s.region, &s.name), s.clone());
                self.store.write(move |w| w.put(SNAPSHOTS, &k, &v)).await?;
                Ok(s.tags)
            }
            _ => Err(nf()),
        }
    }

    /// The resource tags of a namespace or workgroup, for `aws:ResourceTag/...`.
    fn serverless_resource_tags(&self, account: &str, region: &str, kind: &str, name: &str) -> Vec<(String, String)> {
        let Ok(r) = self.store.read() else { return vec![] };
        let k = key(account, region, name);
        match kind {
            "namespace" => r.get::<NamespaceRecord>(NAMESPACES, &k).ok().flatten().map(|n| n.tags),
            _ => r.get::<WorkgroupRecord>(WORKGROUPS, &k).ok().flatten().map(|w| w.tags),
        }
        .unwrap_or_default()
    }

    /// The ARN of the namespace or workgroup called `name` (its id is part of the ARN),
    /// or the kind's wildcard while it does not exist.
    pub(crate) fn serverless_arn(&self, account: &str, region: &str, kind: &str, name: &str) -> String {
        let id = self.store.read().ok().and_then(|r| {
            let k = key(account, region, name);
            match kind {
                "namespace" => r.get::<NamespaceRecord>(NAMESPACES, &k).ok().flatten().map(|n| n.id),
                _ => r.get::<WorkgroupRecord>(WORKGROUPS, &k).ok().flatten().map(|w| w.id),
            }
        });
        resource_arn(region, account, kind, id.as_deref().unwrap_or("*"))
    }

    /// The workgroup the Data API names, with its database, when it is serving.
    pub(crate) fn data_api_workgroup(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> AwsResult<Option<(String, String, Arc<nuage_warehouse::Warehouse>)>> {
        let r = self.store.read()?;
        let Some(w) = r.get::<WorkgroupRecord>(WORKGROUPS, &key(account, region, name))? else { return Ok(None) };
        let Some(n) = r.get::<NamespaceRecord>(NAMESPACES, &key(account, region, &w.namespace))? else {
            return Ok(None);
        };
        Ok(self.workgroup_warehouse(&w).map(|wh| (w.arn(), n.db_name, wh)))
    }

    /// What Redshift Serverless holds, for `nuage status`.
    pub(crate) fn serverless_status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![
            ("namespaces", r.count(NAMESPACES).unwrap_or(0)),
            ("workgroups", r.count(WORKGROUPS).unwrap_or(0)),
            ("serverless snapshots", r.count(SNAPSHOTS).unwrap_or(0)),
        ]
    }
}

fn check_tag_count(tags: &[(String, String)]) -> AwsResult<()> {
    if tags.len() > 200 {
        return Err(E::TooManyTagsException.msg("A resource can have at most 200 tags."));
    }
    Ok(())
}
