//! Redshift Serverless's table of operations: one row per operation of the model, with its
//! IAM action and the namespace, workgroup or snapshot ARN computed from the typed input.
use super::*;
use nuage_front::{Authorization, Row, TypedService};
use nuage_protocol::redshift_serverless::ops::Operation as O;
use nuage_protocol::Protocol;

pub struct RedshiftServerlessService {
    rs: Arc<Redshift>,
}

impl RedshiftServerlessService {
    pub fn new(rs: Arc<Redshift>) -> RedshiftServerlessService {
        RedshiftServerlessService { rs }
    }

    /// An action on the namespace or workgroup called `name`: its ARN, and its tags as
    /// `aws:ResourceTag/...` when it exists.
    fn on(&self, ctx: &RequestContext, action: &'static str, kind: &str, name: Option<&str>) -> Authorization {
        let (acct, region) = (ctx.account_id().unwrap_or_default(), ctx.region.as_str());
        let name = name.unwrap_or_default();
        let mut a =
            Authorization { action, resource: self.rs.serverless_arn(acct, region, kind, name), ..Default::default() };
        for (k, v) in self.rs.serverless_resource_tags(acct, region, kind, name) {
            a.context.set(&format!("aws:ResourceTag/{k}"), v);
        }
        a
    }

    /// A create: the kind's ARN pattern (the new resource's id is not known yet), with the
    /// request's tags as `aws:RequestTag/...` and `aws:TagKeys`.
    fn creating(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        kind: &str,
        tags: &Option<Vec<m::Tag>>,
    ) -> Authorization {
        let resource = resource_arn(&ctx.region, ctx.account_id().unwrap_or_default(), kind, "*");
        let mut a = Authorization { action, resource, ..Default::default() };
        a.context.set_request_tags(tags_in(tags.clone()), vec![]);
        a
    }
}

impl TypedService for RedshiftServerlessService {
    type Operation = O;

    fn signing_name(&self) -> &'static str {
        "redshift-serverless"
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

    fn status(&self) -> Vec<(&'static str, u64)> {
        self.rs.serverless_status()
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        let rs = &*self.rs;
        match op {
            O::CreateNamespace(i) => Row::authorized(
                self.creating(ctx, "redshift-serverless:CreateNamespace", "namespace", &i.tags),
                rs.create_namespace(ctx, i),
            ),
            O::GetNamespace(i) => {
                let a = self.on(ctx, "redshift-serverless:GetNamespace", "namespace", i.namespace_name.as_deref());
                Row::authorized(a, async move { rs.get_namespace(ctx, i.namespace_name.as_deref()) })
            }
            O::ListNamespaces(i) => {
                Row::serve("redshift-serverless:ListNamespaces", "*", async move { rs.list_namespaces(ctx, i) })
            }
            O::UpdateNamespace(i) => {
                let a = self.on(ctx, "redshift-serverless:UpdateNamespace", "namespace", i.namespace_name.as_deref());
                Row::authorized(a, rs.update_namespace(ctx, i))
            }
            O::DeleteNamespace(i) => {
                let a = self.on(ctx, "redshift-serverless:DeleteNamespace", "namespace", i.namespace_name.as_deref());
                Row::authorized(a, rs.delete_namespace(ctx, i))
            }
            O::CreateWorkgroup(i) => {
                let mut a = self.creating(ctx, "redshift-serverless:CreateWorkgroup", "workgroup", &i.tags);
                // The workgroup serves the namespace: it must exist and be the caller's to use.
                let mut ns =
                    self.on(ctx, "redshift-serverless:CreateWorkgroup", "namespace", i.namespace_name.as_deref());
                ns.context = Default::default();
                a.also.push(ns);
                Row::authorized(a, rs.create_workgroup(ctx, i))
            }
            O::GetWorkgroup(i) => {
                let a = self.on(ctx, "redshift-serverless:GetWorkgroup", "workgroup", i.workgroup_name.as_deref());
                Row::authorized(a, async move { rs.get_workgroup(ctx, i.workgroup_name.as_deref()) })
            }
            O::ListWorkgroups(i) => {
                Row::serve("redshift-serverless:ListWorkgroups", "*", async move { rs.list_workgroups(ctx, i) })
            }
            O::UpdateWorkgroup(i) => {
                let a = self.on(ctx, "redshift-serverless:UpdateWorkgroup", "workgroup", i.workgroup_name.as_deref());
                Row::authorized(a, rs.update_workgroup(ctx, i))
            }
            O::DeleteWorkgroup(i) => {
                let a = self.on(ctx, "redshift-serverless:DeleteWorkgroup", "workgroup", i.workgroup_name.as_deref());
                Row::authorized(a, async move { rs.delete_workgroup(ctx, i.workgroup_name.as_deref()).await })
            }
            O::GetCredentials(i) => {
                let a = self.on(ctx, "redshift-serverless:GetCredentials", "workgroup", i.workgroup_name.as_deref());
                Row::authorized(a, rs.serverless_credentials(ctx, i))
            }
            O::CreateSnapshot(i) => {
                let a = self.on(ctx, "redshift-serverless:CreateSnapshot", "namespace", i.namespace_name.as_deref());
                Row::authorized(a, rs.create_serverless_snapshot(ctx, i))
            }
            O::GetSnapshot(i) => {
                Row::serve("redshift-serverless:GetSnapshot", snapshot_resource(ctx, &i.snapshot_arn), async move {
                    rs.get_serverless_snapshot(ctx, i)
                })
            }
            O::ListSnapshots(i) => {
                Row::serve(
                    "redshift-serverless:ListSnapshots",
                    "*",
                    async move { rs.list_serverless_snapshots(ctx, i) },
                )
            }
            O::UpdateSnapshot(i) => Row::serve(
                "redshift-serverless:UpdateSnapshot",
                snapshot_resource(ctx, &None),
                rs.update_serverless_snapshot(ctx, i),
            ),
            O::DeleteSnapshot(i) => {
                Row::serve("redshift-serverless:DeleteSnapshot", snapshot_resource(ctx, &None), async move {
                    rs.delete_serverless_snapshot(ctx, i.snapshot_name.as_deref()).await
                })
            }
            O::RestoreFromSnapshot(i) => {
                let a =
                    self.on(ctx, "redshift-serverless:RestoreFromSnapshot", "namespace", i.namespace_name.as_deref());
                Row::authorized(a, rs.restore_serverless_snapshot(ctx, i))
            }
            O::ListRecoveryPoints(i) => {
                Row::serve(
                    "redshift-serverless:ListRecoveryPoints",
                    "*",
                    async move { rs.list_recovery_points(ctx, i) },
                )
            }
            O::GetRecoveryPoint(i) => Row::serve(
                "redshift-serverless:GetRecoveryPoint",
                recovery_resource(ctx, &i.recovery_point_id),
                async move { rs.get_recovery_point(ctx, i) },
            ),
            O::RestoreFromRecoveryPoint(i) => {
                let mut a = self.on(
                    ctx,
                    "redshift-serverless:RestoreFromRecoveryPoint",
                    "namespace",
                    i.namespace_name.as_deref(),
                );
                a.also.push(Authorization {
                    action: "redshift-serverless:RestoreFromRecoveryPoint",
                    resource: recovery_resource(ctx, &i.recovery_point_id),
                    ..Default::default()
                });
                Row::authorized(a, rs.restore_from_recovery_point(ctx, i))
            }
            O::ConvertRecoveryPointToSnapshot(i) => Row::serve(
                "redshift-serverless:ConvertRecoveryPointToSnapshot",
                recovery_resource(ctx, &i.recovery_point_id),
                rs.convert_recovery_point(ctx, i),
            ),
            O::TagResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                let mut a = self.creating(ctx, "redshift-serverless:TagResource", "*", &i.tags);
                a.resource = arn.clone();
                Row::authorized(a, async move {
                    let add = tags_in(i.tags);
                    rs.edit_serverless_tags(ctx, &arn, |tags| {
                        for (k, v) in add {
                            match tags.iter_mut().find(|(x, _)| *x == k) {
                                Some(t) => t.1 = v,
                                None => tags.push((k, v)),
                            }
                        }
                    })
                    .await?;
                    Ok(m::TagResourceResponse {})
                })
            }
            O::UntagResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                let mut a = Authorization {
                    action: "redshift-serverless:UntagResource",
                    resource: arn.clone(),
                    ..Default::default()
                };
                a.context.set_request_tags(vec![], i.tag_keys.clone().unwrap_or_default());
                Row::authorized(a, async move {
                    let remove = i.tag_keys.unwrap_or_default();
                    rs.edit_serverless_tags(ctx, &arn, |tags| tags.retain(|(k, _)| !remove.contains(k))).await?;
                    Ok(m::UntagResourceResponse {})
                })
            }
            O::ListTagsForResource(i) => {
                let arn = i.resource_arn.clone().unwrap_or_default();
                Row::serve("redshift-serverless:ListTagsForResource", arn.clone(), async move {
                    let tags = rs.edit_serverless_tags(ctx, &arn, |_| {}).await?;
                    Ok(m::ListTagsForResourceResponse { tags: Some(tags_out(&tags)) })
                })
            }
            O::CreateCustomDomainAssociation(_)
            | O::CreateEndpointAccess(_)
            | O::CreateReservation(_)
            | O::CreateRoleAssociation(_)
            | O::CreateScheduledAction(_)
            | O::CreateSnapshotCopyConfiguration(_)
            | O::CreateUsageLimit(_)
            | O::DeleteCustomDomainAssociation(_)
            | O::DeleteEndpointAccess(_)
            | O::DeleteResourcePolicy(_)
            | O::DeleteRoleAssociation(_)
            | O::DeleteScheduledAction(_)
            | O::DeleteSnapshotCopyConfiguration(_)
            | O::DeleteUsageLimit(_)
            | O::GetCustomDomainAssociation(_)
            | O::GetEndpointAccess(_)
            | O::GetExpressConfiguration(_)
            | O::GetIdentityCenterAuthToken(_)
            | O::GetReservation(_)
            | O::GetReservationOffering(_)
            | O::GetResourcePolicy(_)
            | O::GetScheduledAction(_)
            | O::GetTableRestoreStatus(_)
            | O::GetTrack(_)
            | O::GetUsageLimit(_)
            | O::ListCustomDomainAssociations(_)
            | O::ListEndpointAccess(_)
            | O::ListManagedWorkgroups(_)
            | O::ListReservationOfferings(_)
            | O::ListReservations(_)
            | O::ListRoleAssociations(_)
            | O::ListScheduledActions(_)
            | O::ListSnapshotCopyConfigurations(_)
            | O::ListTableRestoreStatus(_)
            | O::ListTracks(_)
            | O::ListUsageLimits(_)
            | O::PutResourcePolicy(_)
            | O::RestoreTableFromRecoveryPoint(_)
            | O::RestoreTableFromSnapshot(_)
            | O::UpdateCustomDomainAssociation(_)
            | O::UpdateEndpointAccess(_)
            | O::UpdateExpressConfiguration(_)
            | O::UpdateLakehouseConfiguration(_)
            | O::UpdateScheduledAction(_)
            | O::UpdateSnapshotCopyConfiguration(_)
            | O::UpdateUsageLimit(_) => Row::NotServed,
        }
    }
}

/// A recovery point's ARN.
fn recovery_resource(ctx: &RequestContext, id: &Option<String>) -> String {
    resource_arn(&ctx.region, ctx.account_id().unwrap_or_default(), "recoverypoint", id.as_deref().unwrap_or("*"))
}

/// A snapshot's ARN as given, else any snapshot of the caller's account and region.
fn snapshot_resource(ctx: &RequestContext, arn: &Option<String>) -> String {
    arn.clone().unwrap_or_else(|| resource_arn(&ctx.region, ctx.account_id().unwrap_or_default(), "snapshot", "*"))
}
