//! Redshift's table of operations: one row per operation of the model, with its IAM action
//! and the resource computed from the typed input; the handlers are in `api`.
use crate::api::{missing, tags_in};
use crate::Redshift;
use nuage_core::{AwsResult, RequestContext};
use nuage_front::{Authorization, NoOutput, Row, TypedService};
use nuage_protocol::common::Common;
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::ops::Operation as O;
use nuage_protocol::Protocol;
use std::sync::Arc;

pub struct RedshiftService {
    rs: Arc<Redshift>,
}

/// An action that hands an IAM role to the scheduler: it needs `iam:PassRole` on the role too.
fn pass_role(action: &'static str, resource: String, role: &Option<String>) -> Authorization {
    let mut a = Authorization { action, resource, ..Default::default() };
    if let Some(role) = role {
        let mut pass = Authorization { action: "iam:PassRole", resource: role.clone(), ..Default::default() };
        pass.context.set("iam:PassedToService", "scheduler.redshift.amazonaws.com");
        a.also.push(pass);
    }
    a
}

impl RedshiftService {
    pub fn new(rs: Arc<Redshift>) -> RedshiftService {
        RedshiftService { rs }
    }
}

/// The ARNs of Redshift's resources in the caller's account and region.
struct Arns<'a>(&'a RequestContext);

impl Arns<'_> {
    fn of(&self, kind: &str, rest: &str) -> String {
        let ctx = self.0;
        format!("arn:aws:redshift:{}:{}:{kind}:{rest}", ctx.region, ctx.account_id().unwrap_or_default())
    }
    fn cluster(&self, id: &Option<String>) -> String {
        self.of("cluster", &id.as_deref().unwrap_or("*").to_ascii_lowercase())
    }
    /// An action on a cluster: its ARN, and its tags as `aws:ResourceTag/...` when it exists.
    fn on_cluster(&self, rs: &Redshift, action: &'static str, id: &Option<String>) -> Authorization {
        let mut a = Authorization { action, resource: self.cluster(id), ..Default::default() };
        let ctx = self.0;
        if let (Some(acct), Some(id)) = (ctx.account_id(), id) {
            if let Ok(Some(c)) = rs.get(acct, &ctx.region, &id.to_ascii_lowercase()) {
                for (k, v) in &c.tags {
                    a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
                }
            }
        }
        a
    }
    fn subnet_group(&self, name: &Option<String>) -> String {
        self.of("subnetgroup", &name.as_deref().unwrap_or("*").to_ascii_lowercase())
    }
    fn parameter_group(&self, name: &Option<String>) -> String {
        self.of("parametergroup", &name.as_deref().unwrap_or("*").to_ascii_lowercase())
    }
    fn snapshot(&self, cluster: &Option<String>, snapshot: &Option<String>) -> String {
        let c = cluster.as_deref().unwrap_or("*").to_ascii_lowercase();
        self.of("snapshot", &format!("{c}/{}", snapshot.as_deref().unwrap_or("*").to_ascii_lowercase()))
    }
    fn in_cluster(&self, kind: &str, cluster: &Option<String>, name: &str) -> String {
        let c = cluster.as_deref().unwrap_or("*").to_ascii_lowercase();
        self.of(kind, &format!("{c}/{}", name.to_ascii_lowercase()))
    }
}

/// GetClusterCredentials needs the user, the database when named, redshift:CreateClusterUser
/// with AutoCreate and redshift:JoinGroup for each group; its condition keys name them.
fn credentials_authorization(arn: &Arns, i: &m::GetClusterCredentialsMessage) -> Authorization {
    let user = i.db_user.as_deref().unwrap_or("*").to_ascii_lowercase();
    let action = "redshift:GetClusterCredentials";
    let mut a = Authorization {
        action,
        resource: arn.in_cluster("dbuser", &i.cluster_identifier, &user),
        ..Default::default()
    };
    a.context.set("redshift:DbUser", &user);
    if let Some(db) = &i.db_name {
        a.context.set("redshift:DbName", db);
        let resource = arn.in_cluster("dbname", &i.cluster_identifier, db);
        a.also.push(Authorization { action, resource, ..Default::default() });
    }
    if i.auto_create == Some(true) {
        let resource = arn.in_cluster("dbuser", &i.cluster_identifier, &user);
        a.also.push(Authorization { action: "redshift:CreateClusterUser", resource, ..Default::default() });
    }
    for g in i.db_groups.iter().flatten() {
        let resource = arn.in_cluster("dbgroup", &i.cluster_identifier, g);
        a.also.push(Authorization { action: "redshift:JoinGroup", resource, ..Default::default() });
    }
    a
}

impl TypedService for RedshiftService {
    type Operation = O;

    fn signing_name(&self) -> &'static str {
        "redshift"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    fn reset(&self) {
        self.rs.reset();
    }

    fn status(&self) -> Vec<(&'static str, u64)> {
        self.rs.status()
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        let rs = &*self.rs;
        let arn = Arns(ctx);
        // Authorize/RevokeSnapshotAccess: the same input members, one handler.
        macro_rules! snapshot_access {
            ($i:expr, $action:literal, $grant:expr, $out:ident) => {{
                let i = $i;
                Row::serve($action, arn.snapshot(&i.snapshot_cluster_identifier, &i.snapshot_identifier), async move {
                    let snapshot = rs
                        .snapshot_access(
                            ctx,
                            i.snapshot_identifier.as_deref(),
                            i.snapshot_arn.as_deref(),
                            i.snapshot_cluster_identifier.as_deref(),
                            i.account_with_restore_access,
                            $grant,
                        )
                        .await?;
                    Ok(m::$out { snapshot: Some(snapshot) })
                })
            }};
        }
        match op {
            O::CreateCluster(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:CreateCluster", &i.cluster_identifier),
                rs.create_cluster(ctx, i),
            ),
            O::DescribeClusters(i) => {
                Row::serve("redshift:DescribeClusters", "*", async move { rs.describe_clusters(ctx, i) })
            }
            O::ModifyCluster(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:ModifyCluster", &i.cluster_identifier),
                rs.modify_cluster(ctx, i),
            ),
            O::ModifyClusterIamRoles(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:ModifyClusterIamRoles", &i.cluster_identifier),
                rs.modify_iam_roles(ctx, i),
            ),
            O::DeleteCluster(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:DeleteCluster", &i.cluster_identifier),
                rs.delete_cluster(ctx, i),
            ),
            O::PauseCluster(i) => {
                Row::authorized(arn.on_cluster(rs, "redshift:PauseCluster", &i.cluster_identifier), async move {
                    let cluster = rs.pause_resume_reboot(ctx, "PauseCluster", i.cluster_identifier).await?;
                    Ok(m::PauseClusterResult { cluster: Some(cluster) })
                })
            }
            O::ResumeCluster(i) => {
                Row::authorized(arn.on_cluster(rs, "redshift:ResumeCluster", &i.cluster_identifier), async move {
                    let cluster = rs.pause_resume_reboot(ctx, "ResumeCluster", i.cluster_identifier).await?;
                    Ok(m::ResumeClusterResult { cluster: Some(cluster) })
                })
            }
            O::RebootCluster(i) => {
                Row::authorized(arn.on_cluster(rs, "redshift:RebootCluster", &i.cluster_identifier), async move {
                    let cluster = rs.pause_resume_reboot(ctx, "RebootCluster", i.cluster_identifier).await?;
                    Ok(m::RebootClusterResult { cluster: Some(cluster) })
                })
            }
            O::CreateClusterSnapshot(i) => Row::serve(
                "redshift:CreateClusterSnapshot",
                arn.snapshot(&i.cluster_identifier, &i.snapshot_identifier),
                rs.create_snapshot(ctx, i),
            ),
            O::DescribeClusterSnapshots(i) => {
                Row::serve("redshift:DescribeClusterSnapshots", "*", async move { rs.describe_snapshots(ctx, i) })
            }
            O::RestoreFromClusterSnapshot(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:RestoreFromClusterSnapshot", &i.cluster_identifier),
                rs.restore(ctx, i),
            ),
            O::DeleteClusterSnapshot(i) => Row::serve(
                "redshift:DeleteClusterSnapshot",
                arn.snapshot(&i.snapshot_cluster_identifier, &i.snapshot_identifier),
                rs.delete_snapshot(ctx, i),
            ),
            O::GetClusterCredentials(i) => Row::authorized(credentials_authorization(&arn, &i), rs.credentials(ctx, i)),
            O::GetClusterCredentialsWithIAM(i) => {
                let db = i.db_name.clone().unwrap_or_else(|| "*".into());
                let resource = arn.in_cluster("dbname", &i.cluster_identifier, &db);
                Row::serve("redshift:GetClusterCredentialsWithIAM", resource, rs.credentials_with_iam(ctx, i))
            }
            O::CreateTags(i) => {
                let resource = i.resource_name.clone().unwrap_or_else(|| "*".into());
                Row::serve("redshift:CreateTags", resource, async move {
                    let target = i.resource_name.ok_or_else(|| missing("ResourceName"))?;
                    rs.tag(ctx, &target, tags_in(i.tags), vec![]).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DeleteTags(i) => {
                let resource = i.resource_name.clone().unwrap_or_else(|| "*".into());
                Row::serve("redshift:DeleteTags", resource, async move {
                    let target = i.resource_name.ok_or_else(|| missing("ResourceName"))?;
                    rs.tag(ctx, &target, vec![], i.tag_keys.unwrap_or_default()).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::CreateClusterParameterGroup(i) => {
                let resource = arn.parameter_group(&i.parameter_group_name);
                Row::serve("redshift:CreateClusterParameterGroup", resource, rs.create_parameter_group(ctx, i))
            }
            O::DescribeClusterParameterGroups(i) => {
                Row::serve("redshift:DescribeClusterParameterGroups", "*", async move {
                    rs.describe_parameter_groups(ctx, i)
                })
            }
            O::ModifyClusterParameterGroup(i) => {
                let resource = arn.parameter_group(&i.parameter_group_name);
                Row::serve("redshift:ModifyClusterParameterGroup", resource, async move {
                    rs.modify_parameter_group(ctx, i.parameter_group_name, i.parameters, false).await
                })
            }
            O::ResetClusterParameterGroup(i) => {
                let resource = arn.parameter_group(&i.parameter_group_name);
                Row::serve("redshift:ResetClusterParameterGroup", resource, async move {
                    let all = i.reset_all_parameters.unwrap_or(false);
                    if all && i.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                        return Err(Common::InvalidParameterCombination
                            .msg("ResetAllParameters and Parameters cannot be given together."));
                    }
                    let parameters = i
                        .parameters
                        .map(|ps| ps.into_iter().map(|p| m::Parameter { parameter_value: None, ..p }).collect());
                    rs.modify_parameter_group(ctx, i.parameter_group_name, parameters, all).await
                })
            }
            O::DeleteClusterParameterGroup(i) => {
                let resource = arn.parameter_group(&i.parameter_group_name);
                Row::serve("redshift:DeleteClusterParameterGroup", resource, async move {
                    rs.delete_parameter_group(ctx, i.parameter_group_name).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DescribeClusterParameters(i) => {
                let resource = arn.parameter_group(&i.parameter_group_name);
                Row::serve(
                    "redshift:DescribeClusterParameters",
                    resource,
                    async move { rs.describe_parameters(ctx, i) },
                )
            }
            O::DescribeDefaultClusterParameters(i) => {
                Row::serve("redshift:DescribeDefaultClusterParameters", "*", async move {
                    rs.describe_default_parameters(i)
                })
            }
            O::ModifyClusterSnapshot(i) => Row::serve(
                "redshift:ModifyClusterSnapshot",
                arn.snapshot(&None, &i.snapshot_identifier),
                rs.modify_snapshot(ctx, i),
            ),
            O::BatchModifyClusterSnapshots(i) => Row::serve(
                "redshift:BatchModifyClusterSnapshots",
                arn.snapshot(&None, &None),
                rs.batch_modify_snapshots(ctx, i),
            ),
            O::BatchDeleteClusterSnapshots(i) => Row::serve(
                "redshift:BatchDeleteClusterSnapshots",
                arn.snapshot(&None, &None),
                rs.batch_delete_snapshots(ctx, i),
            ),
            O::CopyClusterSnapshot(i) => {
                let mut a = Authorization {
                    action: "redshift:CopyClusterSnapshot",
                    resource: arn.snapshot(&i.source_snapshot_cluster_identifier, &i.source_snapshot_identifier),
                    ..Default::default()
                };
                // The copy is a new snapshot of the same cluster.
                a.also.push(Authorization {
                    action: "redshift:CreateClusterSnapshot",
                    resource: arn.snapshot(&i.source_snapshot_cluster_identifier, &i.target_snapshot_identifier),
                    ..Default::default()
                });
                Row::authorized(a, rs.copy_snapshot(ctx, i))
            }
            O::AuthorizeSnapshotAccess(i) => {
                snapshot_access!(i, "redshift:AuthorizeSnapshotAccess", true, AuthorizeSnapshotAccessResult)
            }
            O::RevokeSnapshotAccess(i) => {
                snapshot_access!(i, "redshift:RevokeSnapshotAccess", false, RevokeSnapshotAccessResult)
            }
            O::CreateClusterSubnetGroup(i) => {
                let resource = arn.subnet_group(&i.cluster_subnet_group_name);
                Row::serve("redshift:CreateClusterSubnetGroup", resource, rs.create_subnet_group(ctx, i))
            }
            O::ModifyClusterSubnetGroup(i) => {
                let resource = arn.subnet_group(&i.cluster_subnet_group_name);
                Row::serve("redshift:ModifyClusterSubnetGroup", resource, rs.modify_subnet_group(ctx, i))
            }
            O::DeleteClusterSubnetGroup(i) => {
                let resource = arn.subnet_group(&i.cluster_subnet_group_name);
                Row::serve("redshift:DeleteClusterSubnetGroup", resource, async move {
                    rs.delete_subnet_group(ctx, i.cluster_subnet_group_name).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DescribeClusterSubnetGroups(i) => {
                Row::serve("redshift:DescribeClusterSubnetGroups", "*", rs.describe_subnet_groups(ctx, i))
            }
            O::ResizeCluster(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:ResizeCluster", &i.cluster_identifier),
                rs.resize_cluster(ctx, i),
            ),
            O::DescribeResize(i) => {
                Row::authorized(arn.on_cluster(rs, "redshift:DescribeResize", &i.cluster_identifier), async move {
                    rs.describe_resize(ctx, i.cluster_identifier.as_deref())
                })
            }
            O::CancelResize(i) => {
                Row::authorized(arn.on_cluster(rs, "redshift:CancelResize", &i.cluster_identifier), async move {
                    rs.cancel_resize(ctx, i.cluster_identifier.as_deref())
                })
            }
            O::DescribeEvents(i) => {
                Row::serve("redshift:DescribeEvents", "*", async move { rs.describe_events(ctx, i) })
            }
            O::DescribeEventCategories(i) => {
                Row::serve("redshift:DescribeEventCategories", "*", async move { rs.describe_event_categories(i) })
            }
            O::DescribeOrderableClusterOptions(i) => {
                Row::serve("redshift:DescribeOrderableClusterOptions", "*", async move {
                    crate::events::describe_orderable_options(ctx, i)
                })
            }
            O::DescribeClusterVersions(i) => Row::serve("redshift:DescribeClusterVersions", "*", async move {
                crate::events::describe_cluster_versions(i)
            }),
            O::DescribeClusterTracks(i) => {
                Row::serve(
                    "redshift:DescribeClusterTracks",
                    "*",
                    async move { crate::events::describe_cluster_tracks(i) },
                )
            }
            O::CreateScheduledAction(i) => {
                let resource = arn.of("scheduledaction", i.scheduled_action_name.as_deref().unwrap_or("*"));
                Row::authorized(pass_role("redshift:CreateScheduledAction", resource, &i.iam_role), async move {
                    rs.create_scheduled_action(ctx, i).await
                })
            }
            O::ModifyScheduledAction(i) => {
                let resource = arn.of("scheduledaction", i.scheduled_action_name.as_deref().unwrap_or("*"));
                Row::authorized(pass_role("redshift:ModifyScheduledAction", resource, &i.iam_role), async move {
                    rs.modify_scheduled_action(ctx, i).await
                })
            }
            O::DeleteScheduledAction(i) => {
                let resource = arn.of("scheduledaction", i.scheduled_action_name.as_deref().unwrap_or("*"));
                Row::serve("redshift:DeleteScheduledAction", resource, async move {
                    rs.delete_scheduled_action(ctx, i.scheduled_action_name).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DescribeScheduledActions(i) => {
                Row::serve(
                    "redshift:DescribeScheduledActions",
                    "*",
                    async move { rs.describe_scheduled_actions(ctx, i) },
                )
            }
            O::CreateSnapshotSchedule(i) => {
                let resource = arn.of("snapshotschedule", i.schedule_identifier.as_deref().unwrap_or("*"));
                let mut a = Authorization { action: "redshift:CreateSnapshotSchedule", resource, ..Default::default() };
                a.context.set_request_tags(crate::api::tags_in(i.tags.clone()), Vec::new());
                Row::authorized(a, async move { rs.create_snapshot_schedule(ctx, i).await })
            }
            O::ModifySnapshotSchedule(i) => {
                let resource = arn.of("snapshotschedule", i.schedule_identifier.as_deref().unwrap_or("*"));
                Row::serve("redshift:ModifySnapshotSchedule", resource, async move {
                    rs.modify_snapshot_schedule(ctx, i).await
                })
            }
            O::DeleteSnapshotSchedule(i) => {
                let resource = arn.of("snapshotschedule", i.schedule_identifier.as_deref().unwrap_or("*"));
                Row::serve("redshift:DeleteSnapshotSchedule", resource, async move {
                    rs.delete_snapshot_schedule(ctx, i.schedule_identifier).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DescribeSnapshotSchedules(i) => {
                Row::serve(
                    "redshift:DescribeSnapshotSchedules",
                    "*",
                    async move { rs.describe_snapshot_schedules(ctx, i) },
                )
            }
            O::ModifyClusterSnapshotSchedule(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:ModifyClusterSnapshotSchedule", &i.cluster_identifier),
                async move {
                    rs.modify_cluster_snapshot_schedule(ctx, i).await?;
                    AwsResult::Ok(NoOutput)
                },
            ),
            O::CreateUsageLimit(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:CreateUsageLimit", &i.cluster_identifier),
                rs.create_usage_limit(ctx, i),
            ),
            O::ModifyUsageLimit(i) => {
                let resource = arn.of("usagelimit", i.usage_limit_id.as_deref().unwrap_or("*"));
                Row::serve("redshift:ModifyUsageLimit", resource, rs.modify_usage_limit(ctx, i))
            }
            O::DeleteUsageLimit(i) => {
                let resource = arn.of("usagelimit", i.usage_limit_id.as_deref().unwrap_or("*"));
                Row::serve("redshift:DeleteUsageLimit", resource, async move {
                    rs.delete_usage_limit(ctx, i.usage_limit_id.as_deref()).await?;
                    AwsResult::Ok(NoOutput)
                })
            }
            O::DescribeUsageLimits(i) => {
                Row::serve("redshift:DescribeUsageLimits", "*", async move { rs.describe_usage_limits(ctx, i) })
            }
            O::DescribeLoggingStatus(i) => Row::authorized(
                arn.on_cluster(rs, "redshift:DescribeLoggingStatus", &i.cluster_identifier),
                async move { rs.logging_status(ctx, i) },
            ),
            O::DescribeTags(i) => Row::serve("redshift:DescribeTags", "*", async move { rs.describe_tags(ctx, i) }),
            O::AcceptReservedNodeExchange(_)
            | O::AddPartner(_)
            | O::AssociateDataShareConsumer(_)
            | O::AuthorizeClusterSecurityGroupIngress(_)
            | O::AuthorizeDataShare(_)
            | O::AuthorizeEndpointAccess(_)
            | O::CreateAuthenticationProfile(_)
            | O::CreateClusterSecurityGroup(_)
            | O::CreateCustomDomainAssociation(_)
            | O::CreateEndpointAccess(_)
            | O::CreateEventSubscription(_)
            | O::CreateHsmClientCertificate(_)
            | O::CreateHsmConfiguration(_)
            | O::CreateIntegration(_)
            | O::CreateQev2IdcApplication(_)
            | O::CreateRedshiftIdcApplication(_)
            | O::CreateSnapshotCopyGrant(_)
            | O::DeauthorizeDataShare(_)
            | O::DeleteAuthenticationProfile(_)
            | O::DeleteClusterSecurityGroup(_)
            | O::DeleteCustomDomainAssociation(_)
            | O::DeleteEndpointAccess(_)
            | O::DeleteEventSubscription(_)
            | O::DeleteHsmClientCertificate(_)
            | O::DeleteHsmConfiguration(_)
            | O::DeleteIntegration(_)
            | O::DeletePartner(_)
            | O::DeleteQev2IdcApplication(_)
            | O::DeleteRedshiftIdcApplication(_)
            | O::DeleteResourcePolicy(_)
            | O::DeleteSnapshotCopyGrant(_)
            | O::DeregisterNamespace(_)
            | O::DescribeAccountAttributes(_)
            | O::DescribeAuthenticationProfiles(_)
            | O::DescribeClusterDbRevisions(_)
            | O::DescribeClusterSecurityGroups(_)
            | O::DescribeCustomDomainAssociations(_)
            | O::DescribeDataShares(_)
            | O::DescribeDataSharesForConsumer(_)
            | O::DescribeDataSharesForProducer(_)
            | O::DescribeEndpointAccess(_)
            | O::DescribeEndpointAuthorization(_)
            | O::DescribeEventSubscriptions(_)
            | O::DescribeHsmClientCertificates(_)
            | O::DescribeHsmConfigurations(_)
            | O::DescribeInboundIntegrations(_)
            | O::DescribeIntegrations(_)
            | O::DescribeNodeConfigurationOptions(_)
            | O::DescribePartners(_)
            | O::DescribeQev2IdcApplications(_)
            | O::DescribeRedshiftIdcApplications(_)
            | O::DescribeReservedNodeExchangeStatus(_)
            | O::DescribeReservedNodeOfferings(_)
            | O::DescribeReservedNodes(_)
            | O::DescribeSnapshotCopyGrants(_)
            | O::DescribeStorage(_)
            | O::DescribeTableRestoreStatus(_)
            | O::DisableLogging(_)
            | O::DisableSnapshotCopy(_)
            | O::DisassociateDataShareConsumer(_)
            | O::EnableLogging(_)
            | O::EnableSnapshotCopy(_)
            | O::FailoverPrimaryCompute(_)
            | O::GetIdentityCenterAuthToken(_)
            | O::GetReservedNodeExchangeConfigurationOptions(_)
            | O::GetReservedNodeExchangeOfferings(_)
            | O::GetResourcePolicy(_)
            | O::ListRecommendations(_)
            | O::ModifyAquaConfiguration(_)
            | O::ModifyAuthenticationProfile(_)
            | O::ModifyClusterDbRevision(_)
            | O::ModifyClusterMaintenance(_)
            | O::ModifyCustomDomainAssociation(_)
            | O::ModifyEndpointAccess(_)
            | O::ModifyEventSubscription(_)
            | O::ModifyIntegration(_)
            | O::ModifyLakehouseConfiguration(_)
            | O::ModifyQev2IdcApplication(_)
            | O::ModifyRedshiftIdcApplication(_)
            | O::ModifySnapshotCopyRetentionPeriod(_)
            | O::PurchaseReservedNodeOffering(_)
            | O::PutResourcePolicy(_)
            | O::RegisterNamespace(_)
            | O::RejectDataShare(_)
            | O::RestoreTableFromClusterSnapshot(_)
            | O::RevokeClusterSecurityGroupIngress(_)
            | O::RevokeEndpointAccess(_)
            | O::RotateEncryptionKey(_)
            | O::UpdatePartnerStatus(_) => Row::NotServed,
        }
    }
}
