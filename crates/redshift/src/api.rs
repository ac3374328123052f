//! Redshift's API on the query protocol: each operation with its IAM action and resource,
//! its validation and AWS's errors.
use crate::cluster_options::{requested, ClusterOptions};
use crate::snapshots::snapshot_arn;
use crate::{key, now_ms, ClusterRecord, ManagedPassword, Redshift, SnapshotRecord, CLUSTERS, SNAPSHOTS};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::common::Common;
use nuage_protocol::redshift::errors::Error as E;
use nuage_protocol::{redshift as m, Timestamp};

pub(crate) const NODE_TYPES: &[&str] = &[
    "dc2.large",
    "dc2.8xlarge",
    "ra3.large",
    "ra3.xlplus",
    "ra3.4xlarge",
    "ra3.16xlarge",
    "ds2.xlarge",
    "ds2.8xlarge",
];

pub(crate) fn invalid(msg: impl Into<String>) -> AwsError {
    Common::InvalidParameterValue.msg(msg)
}

pub(crate) fn combination(msg: impl Into<String>) -> AwsError {
    Common::InvalidParameterCombination.msg(msg)
}

pub(crate) fn missing(name: &str) -> AwsError {
    Common::MissingParameter.msg(format!("The request must contain the parameter {name}"))
}

pub(crate) fn not_found(id: &str) -> AwsError {
    E::ClusterNotFoundFault.msg(format!("Cluster {id} not found."))
}

pub(crate) fn bad_state(c: &ClusterRecord) -> AwsError {
    E::InvalidClusterStateFault
        .msg(format!(
            "There is an operation running on the Cluster {}. Please try to {} later.",
            c.identifier, "run this operation"
        ))
        .with("Status", c.status.clone())
}

pub(crate) fn account(ctx: &RequestContext) -> AwsResult<&str> {
    ctx.account_id().ok_or_else(Common::missing_token)
}

/// Cluster and snapshot identifiers: 1–63 lower-case letters, digits and hyphens, starting
/// with a letter, without two hyphens in a row or a trailing one. Stored in lower case.
/// Redshift's rule for the names of groups, schedules and actions: 1 to `max` lowercase
/// letters, digits or single hyphens, starting with a letter, not ending with a hyphen.
pub(crate) fn is_lowercase_name(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--")
}

pub(crate) fn check_identifier(id: &str, what: &str) -> AwsResult<String> {
    let id = id.to_ascii_lowercase();
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if !ok {
        return Err(invalid(format!(
            "{what} identifier must be 1 to 63 characters, start with a letter, contain only lowercase letters, digits and hyphens, and not end with a hyphen or contain two consecutive hyphens."
        )));
    }
    Ok(id)
}

/// What is wrong with a master or admin password by Redshift's rules, if anything.
pub(crate) fn password_problem(p: &str) -> Option<&'static str> {
    if p.chars().count() < 8 {
        Some("it is shorter than 8 characters")
    } else if p.chars().count() > 64 {
        Some("it is longer than 64 characters")
    } else if !p.chars().any(|c| c.is_ascii_uppercase()) {
        Some("it does not contain at least one upper-case letter")
    } else if !p.chars().any(|c| c.is_ascii_lowercase()) {
        Some("it does not contain at least one lower-case letter")
    } else if !p.chars().any(|c| c.is_ascii_digit()) {
        Some("it does not contain at least one number")
    } else if p.chars().any(|c| matches!(c, '\'' | '"' | '\\' | '/' | '@' | ' ') || !c.is_ascii_graphic()) {
        Some("it contains a character that is not allowed (', \", \\, /, @ or space)")
    } else {
        None
    }
}

/// Redshift's master password rules.
pub(crate) fn check_password(p: &str) -> AwsResult<()> {
    match password_problem(p) {
        Some(w) => Err(invalid(format!("The parameter MasterUserPassword is not a valid password because {w}."))),
        None => Ok(()),
    }
}

pub(crate) fn check_username(u: &str) -> AwsResult<()> {
    let ok = !u.is_empty()
        && u.len() <= 128
        && u.starts_with(|c: char| c.is_ascii_alphabetic())
        && u.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(invalid(
            "MasterUsername must be 1 to 128 alphanumeric characters or underscores, and start with a letter.",
        ));
    }
    if matches!(
        u.to_ascii_lowercase().as_str(),
        "select" | "table" | "user" | "public" | "rdsdb" | "create" | "from" | "where"
    ) {
        return Err(invalid(format!("MasterUsername {u} is a reserved word.")));
    }
    Ok(())
}

pub(crate) fn role_arn_ok(arn: &str) -> bool {
    arn.starts_with("arn:aws:iam::") && arn.split(':').nth(5).is_some_and(|r| r.starts_with("role/"))
}

pub(crate) fn check_role_arn(arn: &str) -> AwsResult<()> {
    if !role_arn_ok(arn) {
        return Err(invalid(format!("Invalid IAM role ARN: {arn}")));
    }
    Ok(())
}

/// The parameter group a Redshift ARN names, if it names one.
fn parameter_group_of(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5).and_then(|r| r.strip_prefix("parametergroup:"))
}

/// A page of `items` from the offset `marker`, `max` (20–100, default 100) at most.
pub(crate) fn page<T>(items: Vec<T>, marker: Option<&str>, max: Option<i32>) -> AwsResult<(Vec<T>, Option<String>)> {
    let max = max.unwrap_or(100);
    if !(20..=100).contains(&max) {
        return Err(invalid("MaxRecords must be between 20 and 100."));
    }
    let start: usize = marker.map(|m| m.parse().map_err(|_| invalid("Invalid marker"))).transpose()?.unwrap_or(0);
    let total = items.len();
    let out: Vec<T> = items.into_iter().skip(start).take(max as usize).collect();
    let next = (start + out.len() < total).then(|| (start + out.len()).to_string());
    Ok((out, next))
}

/// Whether a resource's tags pass DescribeX's TagKeys and TagValues filters (any key, any value).
pub(crate) fn tags_match(tags: &[(String, String)], keys: &[String], values: &[String]) -> bool {
    (keys.is_empty() || tags.iter().any(|(k, _)| keys.contains(k)))
        && (values.is_empty() || tags.iter().any(|(_, v)| values.contains(v)))
}

pub(crate) fn tags_in(tags: Option<Vec<m::Tag>>) -> Vec<(String, String)> {
    tags.unwrap_or_default().into_iter().map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default())).collect()
}

pub(crate) fn tags_out(tags: &[(String, String)]) -> Vec<m::Tag> {
    tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

pub(crate) fn merge_tags(into: &mut Vec<(String, String)>, new: Vec<(String, String)>) {
    for (k, v) in new {
        match into.iter_mut().find(|(x, _)| *x == k) {
            Some(e) => e.1 = v,
            None => into.push((k, v)),
        }
    }
}

/// The cluster as DescribeClusters shows it; `status` overrides the stored one (the
/// transitional state an operation answers with).
pub(crate) fn cluster_out(c: &ClusterRecord, status: Option<&str>) -> m::Cluster {
    let status = status.unwrap_or(&c.status).to_string();
    let availability = match status.as_str() {
        "available" => "Available",
        "modifying" | "rebooting" | "resizing" => "Modifying",
        _ => "Unavailable",
    };
    let endpoint = match status.as_str() {
        "creating" => None,
        _ => Some(m::Endpoint {
            address: Some("127.0.0.1".into()),
            port: Some(c.bound_port.map(|p| p as i32).unwrap_or(c.port)),
            ..Default::default()
        }),
    };
    let mut nodes = vec![m::ClusterNode {
        node_role: Some(if c.number_of_nodes > 1 { "LEADER" } else { "SHARED" }.into()),
        private_ip_address: Some("127.0.0.1".into()),
        public_ip_address: Some("127.0.0.1".into()),
    }];
    if c.number_of_nodes > 1 {
        for i in 0..c.number_of_nodes {
            nodes.push(m::ClusterNode {
                node_role: Some(format!("COMPUTE-{i}")),
                private_ip_address: Some("127.0.0.1".into()),
                public_ip_address: Some("127.0.0.1".into()),
            });
        }
    }
    let mut out = m::Cluster {
        snapshot_schedule_identifier: c.snapshot_schedule.clone(),
        snapshot_schedule_state: c.snapshot_schedule.as_ref().map(|_| "ACTIVE".into()),
        cluster_identifier: Some(c.identifier.clone()),
        node_type: Some(c.node_type.clone()),
        cluster_status: Some(status.clone()),
        cluster_availability_status: Some(availability.into()),
        master_username: Some(c.master_username.clone()),
        db_name: Some(c.db_name.clone()),
        endpoint,
        cluster_create_time: Some(Timestamp(c.create_time_ms)),
        cluster_security_groups: Some(vec![]),
        vpc_security_groups: Some(
            c.vpc_security_group_ids
                .iter()
                .map(|g| m::VpcSecurityGroupMembership {
                    vpc_security_group_id: Some(g.clone()),
                    status: Some("active".into()),
                })
                .collect(),
        ),
        cluster_parameter_groups: Some(vec![m::ClusterParameterGroupStatus {
            parameter_group_name: Some(
                c.parameter_group.clone().unwrap_or_else(|| crate::parameter_groups::DEFAULT_GROUP.into()),
            ),
            parameter_apply_status: Some(if c.parameters_pending_reboot { "pending-reboot" } else { "in-sync" }.into()),
            ..Default::default()
        }]),
        vpc_id: Some(
            c.options.vpc_id.clone().unwrap_or_else(|| format!("vpc-{}", &c.namespace_uuid.replace('-', "")[..17])),
        ),
        pending_modified_values: Some(m::PendingModifiedValues::default()),
        cluster_version: Some("1.0".into()),
        number_of_nodes: Some(c.number_of_nodes),
        publicly_accessible: Some(c.publicly_accessible),
        encrypted: Some(c.encrypted),
        cluster_nodes: Some(nodes),
        cluster_revision_number: Some("77467".into()),
        tags: Some(tags_out(&c.tags)),
        iam_roles: Some(
            c.iam_roles
                .iter()
                .map(|r| m::ClusterIamRole { iam_role_arn: Some(r.clone()), apply_status: Some("in-sync".into()) })
                .collect(),
        ),
        pending_actions: Some(vec![]),
        cluster_namespace_arn: Some(format!(
            "arn:aws:redshift:{}:{}:namespace:{}",
            c.region, c.account, c.namespace_uuid
        )),
        total_storage_capacity_in_mega_bytes: Some(160_000 * c.number_of_nodes as i64),
        default_iam_role_arn: c.default_iam_role.clone(),
        master_password_secret_arn: c.master_password_secret.as_ref().map(|s| s.arn.clone()),
        master_password_secret_kms_key_id: c.master_password_secret.as_ref().and_then(|s| s.kms_key_id.clone()),
        ..Default::default()
    };
    c.options.fill(&mut out, &c.region);
    out
}

pub(crate) fn dir_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_size(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

pub(crate) fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let body: String = (0..40).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect();
    format!("Aa1{body}")
}

/// Temporary credentials for a database login mapped 1:1 to an IAM identity.
pub(crate) struct IamLogin {
    pub login: String,
    pub password: String,
    /// Seconds since the epoch.
    pub expires: i64,
    pub refresh: i64,
}

/// Grants the caller's IAM identity a temporary login on `wh` (GetClusterCredentialsWithIAM,
/// Redshift Serverless's GetCredentials): IAM users log in as `IAM:<name>`, role sessions as
/// `IAMR:<role>`; the database user is created on first use.
pub(crate) async fn iam_login(
    wh: &nuage_warehouse::Warehouse,
    p: &nuage_core::Principal,
    duration: i32,
) -> AwsResult<IamLogin> {
    let (login, user) = match &p.role_arn {
        Some(role) => {
            let name = role.rsplit('/').next().unwrap_or_default().to_string();
            (format!("IAMR:{name}"), format!("iamr:{}", name.to_ascii_lowercase()))
        }
        None => (format!("IAM:{}", p.name), format!("iam:{}", p.name.to_ascii_lowercase())),
    };
    let password = random_password();
    let now = now_ms() / 1000;
    let expires = now + duration as i64;
    wh.grant_temporary(&login, &user, &password, expires, true, &[]).await.map_err(crate::sql_err)?;
    Ok(IamLogin { login, password, expires, refresh: now + duration as i64 / 2 })
}

impl Redshift {
    pub(crate) fn cluster(&self, ctx: &RequestContext, id: Option<&str>) -> AwsResult<ClusterRecord> {
        let id = id.ok_or_else(|| missing("ClusterIdentifier"))?.to_ascii_lowercase();
        self.get(account(ctx)?, &ctx.region, &id)?.ok_or_else(|| not_found(&id))
    }

    pub(crate) async fn create_cluster(
        &self,
        ctx: &RequestContext,
        i: m::CreateClusterMessage,
    ) -> AwsResult<m::CreateClusterResult> {
        let acct = account(ctx)?.to_string();
        let id =
            check_identifier(i.cluster_identifier.as_deref().ok_or_else(|| missing("ClusterIdentifier"))?, "Cluster")?;
        let node_type = i.node_type.ok_or_else(|| missing("NodeType"))?;
        if !NODE_TYPES.contains(&node_type.as_str()) {
            return Err(invalid(format!("Invalid node type: {node_type}")));
        }
        let user = i.master_username.ok_or_else(|| missing("MasterUsername"))?;
        check_username(&user)?;
        let user = user.to_ascii_lowercase();
        let managed = i.manage_master_password == Some(true);
        let password = match (&i.master_user_password, managed) {
            (Some(_), true) => {
                return Err(combination("You can't specify both MasterUserPassword and ManageMasterPassword."))
            }
            (None, true) => None,
            (None, false) => return Err(missing("MasterUserPassword")),
            (Some(p), false) => {
                check_password(p)?;
                Some(p.clone())
            }
        };
        let cluster_type = i
            .cluster_type
            .unwrap_or_else(|| if i.number_of_nodes.unwrap_or(1) > 1 { "multi-node" } else { "single-node" }.into());
        let nodes = match cluster_type.as_str() {
            "single-node" => {
                if i.number_of_nodes.is_some_and(|n| n != 1) {
                    return Err(combination("Number of nodes for cluster type single-node must be 1."));
                }
                1
            }
            "multi-node" => {
                let n = i.number_of_nodes.ok_or_else(|| missing("NumberOfNodes"))?;
                if n < 2 {
                    return Err(combination(
                        "Number of nodes for cluster type multi-node must be greater than or equal to 2",
                    ));
                }
                if n > 128 {
                    return Err(E::NumberOfNodesPerClusterLimitExceededFault
                        .msg("The operation would exceed the number of nodes allowed for a cluster."));
                }
                n
            }
            other => {
                return Err(invalid(format!(
                    "Invalid cluster type: {other}. Valid types are single-node and multi-node."
                )))
            }
        };
        let port = i.port.unwrap_or(5439);
        if !(1150..=65535).contains(&port) {
            return Err(invalid("The port number is invalid. The port number must be between 1150 and 65535."));
        }
        let db = i.db_name.unwrap_or_else(|| "dev".into()).to_ascii_lowercase();
        let roles = i.iam_roles.unwrap_or_default();
        for r in &roles {
            check_role_arn(r)?;
        }
        if let Some(d) = &i.default_iam_role_arn {
            if !roles.contains(d) {
                return Err(combination(format!(
                    "The default IAM role {d} must be one of the IAM roles associated with the cluster."
                )));
            }
        }
        let mut options = ClusterOptions::default();
        requested!(i, {
            aqua: i.aqua_configuration_status.as_deref(),
            cluster_version: i.cluster_version.as_deref(),
            identity_center: i.redshift_idc_application_arn.is_some(),
            catalog: i.catalog_name.is_some(),
            extra_compute: i.extra_compute_for_automatic_optimization,
        })
        .apply(&mut options, &ctx.region, &node_type)?;
        if i.load_sample_data.is_some() {
            return Err(E::UnsupportedOperationFault.msg(
                "LoadSampleData is not supported by nuage: COPY the TICKIT sample from s3://awssampledbuswest2/tickit/ instead.",
            ));
        }
        let group = self.subnet_group(ctx, i.cluster_subnet_group_name.as_deref().unwrap_or("default")).await?;
        options.subnet_group = i.cluster_subnet_group_name.as_ref().map(|_| group.name().to_string());
        options.vpc_id = Some(group.vpc_id.clone());
        let _one = self.writes.lock().await;
        if self.get(&acct, &ctx.region, &id)?.is_some() {
            return Err(E::ClusterAlreadyExistsFault.msg("Cluster already exists"));
        }
        let parameter_group = i
            .cluster_parameter_group_name
            .as_deref()
            .map(|g| crate::parameter_groups::check_cluster_group(self, &acct, &ctx.region, g))
            .transpose()?;
        // A managed password is made now, in its secret, by the caller.
        let (password, master_password_secret) = match password {
            Some(p) => (p, None),
            None => {
                let kms = i.master_password_secret_kms_key_id.clone();
                let s = self.create_managed_secret(ctx, &id, &user, kms.clone()).await?;
                (s.password, Some(ManagedPassword { arn: s.arn, kms_key_id: kms }))
            }
        };
        if let Some(s) = &i.snapshot_schedule_identifier {
            self.check_snapshot_schedule(ctx, s)?;
        }
        let mut c = ClusterRecord {
            snapshot_schedule: i.snapshot_schedule_identifier.clone(),
            snapshot_schedule_since_ms: now_ms(),
            parameter_group,
            parameters_pending_reboot: false,
            options,
            master_password_secret,
            last_resize: None,
            account: acct,
            region: ctx.region.clone(),
            identifier: id,
            node_type,
            number_of_nodes: nodes,
            master_username: user,
            db_name: db,
            port,
            bound_port: None,
            iam_roles: roles,
            default_iam_role: i.default_iam_role_arn,
            vpc_security_group_ids: i.vpc_security_group_ids.unwrap_or_default(),
            publicly_accessible: i.publicly_accessible.unwrap_or(false),
            encrypted: i.encrypted.unwrap_or(false),
            tags: tags_in(i.tags),
            status: "available".into(),
            create_time_ms: now_ms(),
            namespace_uuid: uuid::Uuid::new_v4().to_string(),
        };
        self.start_with_password(&mut c, Some(&password)).await?;
        self.put(&c).await?;
        let message = format!("Amazon Redshift cluster '{}' has been created and is ready for use.", c.identifier);
        self.record_event(&c.account, &c.region, "REDSHIFT-EVENT-2000", &c.identifier, message).await;
        Ok(m::CreateClusterResult { cluster: Some(cluster_out(&c, Some("creating"))) })
    }

    pub(crate) fn describe_clusters(
        &self,
        ctx: &RequestContext,
        i: m::DescribeClustersMessage,
    ) -> AwsResult<m::ClustersMessage> {
        let acct = account(ctx)?;
        let mut clusters = match &i.cluster_identifier {
            Some(id) => vec![self.cluster(ctx, Some(id))?],
            None => self.list(acct, &ctx.region)?,
        };
        let keys = i.tag_keys.unwrap_or_default();
        let values = i.tag_values.unwrap_or_default();
        clusters.retain(|c| crate::api::tags_match(&c.tags, &keys, &values));
        let (page, marker) = page(clusters, i.marker.as_deref(), i.max_records)?;
        Ok(m::ClustersMessage { clusters: Some(page.iter().map(|c| cluster_out(c, None)).collect()), marker })
    }

    pub(crate) async fn modify_cluster(
        &self,
        ctx: &RequestContext,
        i: m::ModifyClusterMessage,
    ) -> AwsResult<m::ModifyClusterResult> {
        let _one = self.writes.lock().await;
        let mut c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        if c.status != "available" {
            return Err(bad_state(&c));
        }
        if let Some(p) = &i.master_user_password {
            check_password(p)?;
        }
        if let Some(t) = &i.node_type {
            if !NODE_TYPES.contains(&t.as_str()) {
                return Err(invalid(format!("Invalid node type: {t}")));
            }
        }
        let nodes = match (i.cluster_type.as_deref(), i.number_of_nodes) {
            (Some("single-node"), Some(n)) if n != 1 => {
                return Err(combination("Number of nodes for cluster type single-node must be 1."))
            }
            (Some("single-node"), _) => Some(1),
            (Some("multi-node"), None) => return Err(missing("NumberOfNodes")),
            (_, Some(n)) if !(1..=128).contains(&n) => {
                return Err(invalid("The number of nodes must be between 1 and 128."))
            }
            (_, n) => n,
        };
        let mut new_id = None;
        if let Some(n) = &i.new_cluster_identifier {
            let n = check_identifier(n, "Cluster")?;
            if self.get(&c.account, &c.region, &n)?.is_some() {
                return Err(E::ClusterAlreadyExistsFault.msg("Cluster already exists"));
            }
            new_id = Some(n);
        }
        let mut options = c.options.clone();
        requested!(i, {
            aqua: None,
            cluster_version: i.cluster_version.as_deref(),
            extra_compute: i.extra_compute_for_automatic_optimization,
            ..Default::default()
        })
        .apply(&mut options, &c.region, i.node_type.as_deref().unwrap_or(&c.node_type))?;
        let new_group = i
            .cluster_parameter_group_name
            .as_deref()
            .map(|g| crate::parameter_groups::check_cluster_group(self, &c.account, &c.region, g))
            .transpose()?;
        let managed_now = c.master_password_secret.is_some();
        match (i.manage_master_password, &i.master_user_password) {
            (Some(true), Some(_)) => {
                return Err(combination("You can't specify both MasterUserPassword and ManageMasterPassword."))
            }
            (None, Some(_)) if managed_now => return Err(combination(
                "The master password is managed in AWS Secrets Manager: set ManageMasterPassword to false to give one.",
            )),
            (Some(false), None) if managed_now => return Err(missing("MasterUserPassword")),
            _ => {}
        }
        if let Some(p) = &i.master_user_password {
            let wh = self.warehouse(&c).ok_or_else(|| bad_state(&c))?;
            wh.set_password(&c.master_username, p, true).await.map_err(crate::sql_err)?;
            if let Some(old) = c.master_password_secret.take() {
                self.delete_managed_secret(ctx, &old.arn).await?;
            }
        }
        if i.manage_master_password == Some(true) && !managed_now {
            let wh = self.warehouse(&c).ok_or_else(|| bad_state(&c))?;
            let kms = i.master_password_secret_kms_key_id.clone();
            let s = self.create_managed_secret(ctx, &c.identifier, &c.master_username, kms.clone()).await?;
            wh.set_password(&c.master_username, &s.password, true).await.map_err(crate::sql_err)?;
            c.master_password_secret = Some(ManagedPassword { arn: s.arn, kms_key_id: kms });
        }
        let (new_type, new_nodes) =
            (i.node_type.clone().unwrap_or(c.node_type.clone()), nodes.unwrap_or(c.number_of_nodes));
        if new_type != c.node_type || new_nodes != c.number_of_nodes {
            // ModifyCluster's node changes are a classic resize.
            self.record_resize(&mut c, new_type, new_nodes, true);
        }
        if let Some(g) = i.vpc_security_group_ids {
            c.vpc_security_group_ids = g;
        }
        if let Some(p) = i.publicly_accessible {
            c.publicly_accessible = p;
        }
        if let Some(e) = i.encrypted {
            c.encrypted = e;
        }
        c.options = options;
        // A new group applies at the next reboot, as its static parameters would.
        if let Some(g) = new_group.filter(|g| Some(g) != c.parameter_group.as_ref()) {
            c.parameter_group = (g != crate::parameter_groups::DEFAULT_GROUP).then_some(g);
            c.parameters_pending_reboot = true;
        }
        let restart = new_id.is_some() || i.port.is_some_and(|p| p != c.port);
        if restart {
            self.stop(&c);
            let old_key = c.key();
            if let Some(n) = new_id {
                let from = self.cluster_dir(&c.account, &c.region, &c.identifier);
                let to = self.cluster_dir(&c.account, &c.region, &n);
                std::fs::rename(from, to).map_err(AwsError::internal)?;
                c.identifier = n;
            }
            if let Some(p) = i.port {
                c.port = p;
            }
            self.store.write(move |w| w.delete(CLUSTERS, &old_key)).await?;
            self.start(&mut c).await?;
        }
        self.put(&c).await?;
        let message = format!("Amazon Redshift cluster '{}' has been modified.", c.identifier);
        self.record_event(&c.account, &c.region, "REDSHIFT-EVENT-1000", &c.identifier, message).await;
        Ok(m::ModifyClusterResult { cluster: Some(cluster_out(&c, None)) })
    }

    pub(crate) async fn modify_iam_roles(
        &self,
        ctx: &RequestContext,
        i: m::ModifyClusterIamRolesMessage,
    ) -> AwsResult<m::ModifyClusterIamRolesResult> {
        let _one = self.writes.lock().await;
        let mut c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        if c.status != "available" && c.status != "paused" {
            return Err(bad_state(&c));
        }
        for r in i.add_iam_roles.unwrap_or_default() {
            check_role_arn(&r)?;
            if !c.iam_roles.contains(&r) {
                c.iam_roles.push(r);
            }
        }
        for r in i.remove_iam_roles.unwrap_or_default() {
            c.iam_roles.retain(|x| *x != r);
            if c.default_iam_role.as_deref() == Some(r.as_str()) {
                c.default_iam_role = None;
            }
        }
        if let Some(d) = i.default_iam_role_arn {
            if !c.iam_roles.contains(&d) {
                return Err(combination(format!(
                    "The default IAM role {d} must be one of the IAM roles associated with the cluster."
                )));
            }
            c.default_iam_role = Some(d);
        }
        if c.iam_roles.len() > 50 {
            return Err(Common::InvalidParameterValue.msg("You can associate at most 50 IAM roles with a cluster."));
        }
        self.put(&c).await?;
        Ok(m::ModifyClusterIamRolesResult { cluster: Some(cluster_out(&c, None)) })
    }

    pub(crate) async fn delete_cluster(
        &self,
        ctx: &RequestContext,
        i: m::DeleteClusterMessage,
    ) -> AwsResult<m::DeleteClusterResult> {
        let _one = self.writes.lock().await;
        let c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        let skip = i.skip_final_cluster_snapshot.unwrap_or(false);
        match (&i.final_cluster_snapshot_identifier, skip) {
            (None, false) => {
                return Err(combination(
                    "FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified.",
                ))
            }
            (Some(_), true) => {
                return Err(combination(
                    "FinalClusterSnapshotIdentifier must not be specified since SkipFinalClusterSnapshot is true.",
                ))
            }
            _ => {}
        }
        if !matches!(c.status.as_str(), "available" | "paused") {
            return Err(bad_state(&c));
        }
        if let Some(id) = &i.final_cluster_snapshot_identifier {
            let id = check_identifier(id, "Snapshot")?;
            self.take_snapshot(&c, &id, "manual", c.tags.clone(), c.options.manual_snapshot_retention).await?;
        }
        if let Some(secret) = &c.master_password_secret {
            self.delete_managed_secret(ctx, &secret.arn).await?;
        }
        self.remove_automated_snapshots(&c).await?;
        self.remove_usage_limits(&c.account, &c.region, &c.identifier).await?;
        self.remove_cluster(&c).await?;
        let message = format!("Amazon Redshift cluster '{}' has been deleted.", c.identifier);
        self.record_event(&c.account, &c.region, "REDSHIFT-EVENT-2001", &c.identifier, message).await;
        Ok(m::DeleteClusterResult { cluster: Some(cluster_out(&c, Some("deleting"))) })
    }

    pub(crate) async fn pause_resume_reboot(
        &self,
        ctx: &RequestContext,
        op: &str,
        id: Option<String>,
    ) -> AwsResult<m::Cluster> {
        let _one = self.writes.lock().await;
        let mut c = self.cluster(ctx, id.as_deref())?;
        let (need, transient) = match op {
            "PauseCluster" => ("available", "pausing"),
            "ResumeCluster" => ("paused", "resuming"),
            _ => ("available", "rebooting"),
        };
        if c.status != need {
            return Err(bad_state(&c));
        }
        match op {
            "PauseCluster" => {
                self.stop(&c);
                c.status = "paused".into();
            }
            "ResumeCluster" => {
                self.start(&mut c).await?;
                c.status = "available".into();
            }
            _ => {
                self.stop(&c);
                self.start(&mut c).await?;
            }
        }
        self.put(&c).await?;
        let (id, verb) = match op {
            "PauseCluster" => ("REDSHIFT-EVENT-2003", "paused"),
            "ResumeCluster" => ("REDSHIFT-EVENT-2004", "resumed"),
            _ => ("REDSHIFT-EVENT-2002", "rebooted"),
        };
        let message = format!("Amazon Redshift cluster '{}' has been {verb}.", c.identifier);
        self.record_event(&c.account, &c.region, id, &c.identifier, message).await;
        Ok(cluster_out(&c, Some(transient)))
    }

    pub(crate) async fn credentials(
        &self,
        ctx: &RequestContext,
        i: m::GetClusterCredentialsMessage,
    ) -> AwsResult<m::ClusterCredentials> {
        let user = i.db_user.ok_or_else(|| missing("DbUser"))?;
        let c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        let duration = i.duration_seconds.unwrap_or(900);
        if !(900..=3600).contains(&duration) {
            return Err(invalid("DurationSeconds must be between 900 and 3600."));
        }
        if let Some(db) = &i.db_name {
            if !db.eq_ignore_ascii_case(&c.db_name) {
                return Err(invalid(format!("Database {db} does not exist on cluster {}.", c.identifier)));
            }
        }
        let wh = self.warehouse(&c).ok_or_else(|| bad_state(&c))?;
        let user = user.to_ascii_lowercase();
        let exists = wh.committed().catalog.users.contains_key(&user);
        let auto = i.auto_create.unwrap_or(false);
        if !exists && !auto {
            return Err(invalid(format!(
                "User {user} does not exist on cluster {} and AutoCreate is not set.",
                c.identifier
            )));
        }
        let login = format!("{}:{user}", if exists { "IAM" } else { "IAMA" });
        let password = random_password();
        let expires = now_ms() / 1000 + duration as i64;
        wh.grant_temporary(&login, &user, &password, expires, auto, &i.db_groups.unwrap_or_default())
            .await
            .map_err(crate::sql_err)?;
        Ok(m::ClusterCredentials {
            db_user: Some(login),
            db_password: Some(password),
            expiration: Some(Timestamp(expires * 1000)),
        })
    }

    pub(crate) async fn credentials_with_iam(
        &self,
        ctx: &RequestContext,
        i: m::GetClusterCredentialsWithIAMMessage,
    ) -> AwsResult<m::ClusterExtendedCredentials> {
        let p = ctx.principal.as_ref().ok_or_else(Common::missing_token)?;
        let c = self.cluster(ctx, i.cluster_identifier.as_deref())?;
        let duration = i.duration_seconds.unwrap_or(900);
        if !(900..=3600).contains(&duration) {
            return Err(invalid("DurationSeconds must be between 900 and 3600."));
        }
        let wh = self.warehouse(&c).ok_or_else(|| bad_state(&c))?;
        let c = iam_login(&wh, p, duration).await?;
        Ok(m::ClusterExtendedCredentials {
            db_user: Some(c.login),
            db_password: Some(c.password),
            expiration: Some(Timestamp(c.expires * 1000)),
            next_refresh_time: Some(Timestamp(c.refresh * 1000)),
        })
    }

    /// Audit logging is never enabled in nuage (EnableLogging is not served yet).
    pub(crate) fn logging_status(
        &self,
        ctx: &RequestContext,
        i: m::DescribeLoggingStatusMessage,
    ) -> AwsResult<m::LoggingStatus> {
        self.cluster(ctx, i.cluster_identifier.as_deref())?;
        Ok(m::LoggingStatus { logging_enabled: Some(false), ..Default::default() })
    }

    /// The cluster or snapshot an ARN names, for tagging.
    fn tagged(&self, ctx: &RequestContext, arn: &str) -> AwsResult<(Option<ClusterRecord>, Option<SnapshotRecord>)> {
        let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
        let nf = || E::ResourceNotFoundFault.msg(format!("The resource {arn} could not be found."));
        if let Some(id) = resource.strip_prefix("cluster:") {
            return Ok((Some(self.get(account(ctx)?, &ctx.region, id)?.ok_or_else(nf)?), None));
        }
        if let Some(rest) = resource.strip_prefix("snapshot:") {
            let sid = rest.rsplit('/').next().unwrap_or_default();
            let s: SnapshotRecord =
                self.store.read()?.get(SNAPSHOTS, &key(account(ctx)?, &ctx.region, sid))?.ok_or_else(nf)?;
            return Ok((None, Some(s)));
        }
        Err(E::InvalidTagFault.msg(format!("Tagging is not supported for {arn}")))
    }

    pub(crate) async fn tag(
        &self,
        ctx: &RequestContext,
        arn: &str,
        add: Vec<(String, String)>,
        remove: Vec<String>,
    ) -> AwsResult<()> {
        let _one = self.writes.lock().await;
        let edit = |tags: &mut Vec<(String, String)>| {
            merge_tags(tags, add.clone());
            tags.retain(|(k, _)| !remove.contains(k));
        };
        if let Some(name) = parameter_group_of(arn) {
            let tags = self.tag_parameter_group(account(ctx)?, &ctx.region, name, edit).await?;
            if tags.len() > 50 {
                return Err(E::TagLimitExceededFault.msg("You have exceeded the number of tags allowed."));
            }
            return Ok(());
        }
        let (c, s) = self.tagged(ctx, arn)?;
        if let Some(mut c) = c {
            edit(&mut c.tags);
            if c.tags.len() > 50 {
                return Err(E::TagLimitExceededFault.msg("You have exceeded the number of tags allowed."));
            }
            self.put(&c).await?;
        }
        if let Some(mut s) = s {
            edit(&mut s.tags);
            let k = key(&s.account, &s.region, &s.identifier);
            self.store.write(move |w| w.put(SNAPSHOTS, &k, &s)).await?;
        }
        Ok(())
    }

    pub(crate) fn describe_tags(
        &self,
        ctx: &RequestContext,
        i: m::DescribeTagsMessage,
    ) -> AwsResult<m::TaggedResourceListMessage> {
        let mut out = Vec::new();
        let mut push = |name: String, kind: &str, tags: &[(String, String)]| {
            for (k, v) in tags {
                out.push(m::TaggedResource {
                    tag: Some(m::Tag { key: Some(k.clone()), value: Some(v.clone()) }),
                    resource_name: Some(name.clone()),
                    resource_type: Some(kind.into()),
                });
            }
        };
        match &i.resource_name {
            Some(arn) if parameter_group_of(arn).is_some() => {
                let name = parameter_group_of(arn).unwrap_or_default();
                let g = self.parameter_group(account(ctx)?, &ctx.region, name)?;
                push(arn.clone(), "parametergroup", g.tags());
            }
            Some(arn) => {
                let (c, s) = self.tagged(ctx, arn)?;
                if let Some(c) = c {
                    push(c.arn(), "cluster", &c.tags);
                }
                if let Some(s) = s {
                    push(snapshot_arn(&s), "snapshot", &s.tags);
                }
            }
            None => {
                let kind = i.resource_type.as_deref().map(|t| t.to_ascii_lowercase());
                if kind.as_deref().is_none_or(|k| k == "cluster") {
                    for c in self.list(account(ctx)?, &ctx.region)? {
                        push(c.arn(), "cluster", &c.tags);
                    }
                }
                if kind.as_deref().is_none_or(|k| k == "snapshot") {
                    for s in self.snapshots(ctx)? {
                        push(snapshot_arn(&s), "snapshot", &s.tags);
                    }
                }
                if kind.as_deref().is_none_or(|k| k == "parametergroup") {
                    for (arn, tags) in self.parameter_groups(account(ctx)?, &ctx.region)? {
                        push(arn, "parametergroup", &tags);
                    }
                }
            }
        }
        Ok(m::TaggedResourceListMessage { tagged_resources: Some(out), marker: None })
    }
}
