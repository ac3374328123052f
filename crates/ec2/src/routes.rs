//! EC2's table of operations: one row per operation of the model. Describe actions take no
//! resource (EC2 does not scope them); changes to a group are authorised on its ARN.
use super::*;
use nuage_front::{Row, TypedService};
use nuage_protocol::ec2::ops::Operation as O;
use nuage_protocol::Protocol;

/// A security group's ARN when the request names it by id, else `*`.
fn group_arn(ctx: &RequestContext, id: &Option<String>) -> String {
    match id {
        Some(id) => format!("arn:aws:ec2:{}:{}:security-group/{id}", ctx.region, ctx.account_id().unwrap_or_default()),
        None => "*".to_string(),
    }
}

impl TypedService for Ec2Service {
    type Operation = O;

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
        match op {
            O::DescribeVpcs(i) => Row::serve("ec2:DescribeVpcs", "*", self.describe_vpcs(ctx, i)),
            O::DescribeSubnets(i) => Row::serve("ec2:DescribeSubnets", "*", self.describe_subnets(ctx, i)),
            O::DescribeAvailabilityZones(i) => {
                Row::serve("ec2:DescribeAvailabilityZones", "*", self.describe_availability_zones(ctx, i))
            }
            O::CreateSecurityGroup(i) => Row::serve("ec2:CreateSecurityGroup", "*", self.create_security_group(ctx, i)),
            O::AuthorizeSecurityGroupIngress(i) => Row::serve(
                "ec2:AuthorizeSecurityGroupIngress",
                group_arn(ctx, &i.group_id),
                self.authorize_security_group_ingress(ctx, i),
            ),
            O::AuthorizeSecurityGroupEgress(i) => Row::serve(
                "ec2:AuthorizeSecurityGroupEgress",
                group_arn(ctx, &i.group_id),
                self.authorize_security_group_egress(ctx, i),
            ),
            O::RevokeSecurityGroupIngress(i) => Row::serve(
                "ec2:RevokeSecurityGroupIngress",
                group_arn(ctx, &i.group_id),
                self.revoke_security_group_ingress(ctx, i),
            ),
            O::RevokeSecurityGroupEgress(i) => Row::serve(
                "ec2:RevokeSecurityGroupEgress",
                group_arn(ctx, &i.group_id),
                self.revoke_security_group_egress(ctx, i),
            ),
            O::DescribeSecurityGroups(i) => {
                Row::serve("ec2:DescribeSecurityGroups", "*", self.describe_security_groups(ctx, i))
            }
            O::DeleteSecurityGroup(i) => {
                Row::serve("ec2:DeleteSecurityGroup", group_arn(ctx, &i.group_id), self.delete_security_group(ctx, i))
            }
            O::DescribeSecurityGroupRules(i) => {
                Row::serve("ec2:DescribeSecurityGroupRules", "*", self.describe_security_group_rules(ctx, i))
            }
        }
    }
}
