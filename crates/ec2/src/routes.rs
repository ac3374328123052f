//! EC2's table of operations: one row per operation of the model. Describe actions take no
//! resource (EC2 does not scope them); changes to a group are authorised on its ARN.
use super::*;
use nuage_core::AwsError;
use nuage_front::{Authorization, Row, TypedService};
use nuage_protocol::ec2::ops::Operation as O;
use nuage_protocol::Protocol;

/// `DryRun`: the request is authorised as usual, then answered `DryRunOperation` instead of
/// being carried out (an unauthorised one gets `UnauthorizedOperation`).
fn dry<'a, T: nuage_front::typed::Output + 'static>(
    dry_run: Option<bool>,
    a: Authorization,
    handler: impl std::future::Future<Output = AwsResult<T>> + Send + 'a,
) -> Row<'a> {
    Row::authorized(a, async move {
        if dry_run == Some(true) {
            return Err(AwsError::new("DryRunOperation", 412, "Request would have succeeded, but DryRun flag is set."));
        }
        handler.await
    })
}

/// The tags a request asks to put on what it creates.
pub(crate) fn requested_tags(specs: &Option<Vec<m::TagSpecification>>) -> Vec<(String, String)> {
    specs
        .iter()
        .flatten()
        .flat_map(|t| t.tags.iter().flatten())
        .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
        .collect()
}

impl Ec2Service {
    /// An action on a security group named by id or name: its ARN, and its tags as
    /// `aws:ResourceTag/...` and `ec2:ResourceTag/...`.
    fn on_group(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        id: &Option<String>,
        name: &Option<String>,
    ) -> Authorization {
        let mut a = Authorization { action, resource: "*".into(), ..Default::default() };
        match self.group(ctx, id.as_deref(), name.as_deref()) {
            Ok(g) => {
                a.resource = g.arn();
                for (k, v) in &g.tags {
                    a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
                    a.context.set(&format!("ec2:ResourceTag/{k}"), v.clone());
                }
            }
            // An unknown group is the handler's error, once the caller may ask.
            Err(_) => {
                if let Some(id) = id {
                    let account = ctx.account_id().unwrap_or_default();
                    a.resource = format!("arn:aws:ec2:{}:{account}:security-group/{id}", ctx.region);
                }
            }
        }
        a
    }

    /// CreateSecurityGroup: tags asked for are condition keys, and tagging on creation needs
    /// `ec2:CreateTags` on the new group (with `ec2:CreateAction`), as EC2 requires.
    fn create_authorization(&self, ctx: &RequestContext, i: &m::CreateSecurityGroupRequest) -> Authorization {
        let mut a = Authorization { action: "ec2:CreateSecurityGroup", resource: "*".into(), ..Default::default() };
        let tags = requested_tags(&i.tag_specifications);
        if !tags.is_empty() {
            let account = ctx.account_id().unwrap_or_default();
            let mut tag = Authorization {
                action: "ec2:CreateTags",
                resource: format!("arn:aws:ec2:{}:{account}:security-group/*", ctx.region),
                ..Default::default()
            };
            tag.context.set("ec2:CreateAction", "CreateSecurityGroup");
            tag.context.set_request_tags(tags.clone(), Vec::new());
            a.also.push(tag);
        }
        a.context.set_request_tags(tags, Vec::new());
        a
    }
}

impl TypedService for Ec2Service {
    type Operation = O;

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![("security groups", r.count(GROUPS).unwrap_or(0))]
    }

    fn signing_name(&self) -> &'static str {
        "ec2"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Ec2
    }

    fn model(&self) -> &'static nuage_protocol::Model {
        m::model()
    }

    #[deny(clippy::wildcard_enum_match_arm)]
    fn row<'a>(&'a self, ctx: &'a RequestContext, op: O) -> Row<'a> {
        let any = |action| Authorization { action, resource: "*".into(), ..Default::default() };
        match op {
            O::DescribeVpcs(i) => dry(i.dry_run, any("ec2:DescribeVpcs"), self.describe_vpcs(ctx, i)),
            O::DescribeSubnets(i) => dry(i.dry_run, any("ec2:DescribeSubnets"), self.describe_subnets(ctx, i)),
            O::DescribeAvailabilityZones(i) => {
                dry(i.dry_run, any("ec2:DescribeAvailabilityZones"), self.describe_availability_zones(ctx, i))
            }
            O::CreateSecurityGroup(i) => {
                dry(i.dry_run, self.create_authorization(ctx, &i), self.create_security_group(ctx, i))
            }
            O::AuthorizeSecurityGroupIngress(i) => dry(
                i.dry_run,
                self.on_group(ctx, "ec2:AuthorizeSecurityGroupIngress", &i.group_id, &i.group_name),
                self.authorize_security_group_ingress(ctx, i),
            ),
            O::AuthorizeSecurityGroupEgress(i) => dry(
                i.dry_run,
                self.on_group(ctx, "ec2:AuthorizeSecurityGroupEgress", &i.group_id, &None),
                self.authorize_security_group_egress(ctx, i),
            ),
            O::RevokeSecurityGroupIngress(i) => dry(
                i.dry_run,
                self.on_group(ctx, "ec2:RevokeSecurityGroupIngress", &i.group_id, &i.group_name),
                self.revoke_security_group_ingress(ctx, i),
            ),
            O::RevokeSecurityGroupEgress(i) => dry(
                i.dry_run,
                self.on_group(ctx, "ec2:RevokeSecurityGroupEgress", &i.group_id, &None),
                self.revoke_security_group_egress(ctx, i),
            ),
            O::DescribeSecurityGroups(i) => {
                dry(i.dry_run, any("ec2:DescribeSecurityGroups"), self.describe_security_groups(ctx, i))
            }
            O::DeleteSecurityGroup(i) => dry(
                i.dry_run,
                self.on_group(ctx, "ec2:DeleteSecurityGroup", &i.group_id, &i.group_name),
                self.delete_security_group(ctx, i),
            ),
            O::DescribeSecurityGroupRules(i) => {
                dry(i.dry_run, any("ec2:DescribeSecurityGroupRules"), self.describe_security_group_rules(ctx, i))
            }
        }
    }
}
