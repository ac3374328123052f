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

    /// A Create action: on the new resource's type (`vpc/*`), with the tags asked for as
    /// condition keys; tagging on creation needs `ec2:CreateTags` on the new resource (with
    /// `ec2:CreateAction`), as EC2 requires.
    fn created(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        kind: &str,
        specs: &Option<Vec<m::TagSpecification>>,
    ) -> Authorization {
        let account = ctx.account_id().unwrap_or_default();
        let resource = format!("arn:aws:ec2:{}:{account}:{kind}/*", ctx.region);
        let mut a = Authorization { action, resource: resource.clone(), ..Default::default() };
        let tags = requested_tags(specs);
        if !tags.is_empty() {
            let mut tag = Authorization { action: "ec2:CreateTags", resource, ..Default::default() };
            tag.context.set("ec2:CreateAction", action.trim_start_matches("ec2:"));
            tag.context.set_request_tags(tags.clone(), Vec::new());
            a.also.push(tag);
        }
        a.context.set_request_tags(tags, Vec::new());
        a
    }

    /// A Create action inside a VPC: on the new resource and on the VPC.
    fn created_in(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        kind: &str,
        specs: &Option<Vec<m::TagSpecification>>,
        vpc: &Option<String>,
    ) -> Authorization {
        let mut a = self.created(ctx, action, kind, specs);
        a.also.push(self.on(ctx, action, vpc));
        a
    }

    /// An action on a network resource named by id: its ARN, and its tags as
    /// `aws:ResourceTag/...` and `ec2:ResourceTag/...`.
    fn on(&self, ctx: &RequestContext, action: &'static str, id: &Option<String>) -> Authorization {
        let account = ctx.account_id().unwrap_or_default();
        let Some(id) = id else { return Authorization { action, resource: "*".into(), ..Default::default() } };
        let mut a =
            Authorization { action, resource: tags::resource_arn(account, &ctx.region, id), ..Default::default() };
        if let Ok(mut n) = self.network(ctx) {
            for (k, v) in n.tags_mut(id).map(|t| t.clone()).unwrap_or_default() {
                a.context.set(&format!("aws:ResourceTag/{k}"), v.clone());
                a.context.set(&format!("ec2:ResourceTag/{k}"), v);
            }
        }
        a
    }

    /// CreateTags/DeleteTags: on every resource named, with the tags as request tags.
    fn tagging(
        &self,
        ctx: &RequestContext,
        action: &'static str,
        ids: &Option<Vec<String>>,
        tags: &Option<Vec<m::Tag>>,
    ) -> Authorization {
        let pairs: Vec<(String, String)> = tags
            .iter()
            .flatten()
            .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
            .collect();
        let mut all = ids.iter().flatten().map(|id| {
            let mut a = if id.starts_with("sg-") {
                self.on_group(ctx, action, &Some(id.clone()), &None)
            } else {
                self.on(ctx, action, &Some(id.clone()))
            };
            a.context.set_request_tags(pairs.clone(), Vec::new());
            a
        });
        let mut first = all.next().unwrap_or(Authorization { action, resource: "*".into(), ..Default::default() });
        first.also.extend(all);
        first
    }
}

impl TypedService for Ec2Service {
    type Operation = O;

    fn status(&self) -> Vec<(&'static str, u64)> {
        let Ok(r) = self.store.read() else { return Vec::new() };
        vec![
            ("security groups", r.count(GROUPS).unwrap_or(0)),
            ("network pieces", r.count(network::NETWORK).unwrap_or(0)),
        ]
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
            O::CreateSecurityGroup(i) => dry(
                i.dry_run,
                self.created(ctx, "ec2:CreateSecurityGroup", "security-group", &i.tag_specifications),
                self.create_security_group(ctx, i),
            ),
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
            O::CreateVpc(i) => dry(
                i.dry_run,
                self.created(ctx, "ec2:CreateVpc", "vpc", &i.tag_specifications),
                self.create_vpc(ctx, i),
            ),
            O::DeleteVpc(i) => dry(i.dry_run, self.on(ctx, "ec2:DeleteVpc", &i.vpc_id), self.delete_vpc(ctx, i)),
            O::ModifyVpcAttribute(i) => {
                Row::authorized(self.on(ctx, "ec2:ModifyVpcAttribute", &i.vpc_id), self.modify_vpc_attribute(ctx, i))
            }
            O::DescribeVpcAttribute(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:DescribeVpcAttribute", &i.vpc_id), self.describe_vpc_attribute(ctx, i))
            }
            O::CreateSubnet(i) => dry(
                i.dry_run,
                self.created_in(ctx, "ec2:CreateSubnet", "subnet", &i.tag_specifications, &i.vpc_id),
                self.create_subnet(ctx, i),
            ),
            O::DeleteSubnet(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:DeleteSubnet", &i.subnet_id), self.delete_subnet(ctx, i))
            }
            O::ModifySubnetAttribute(i) => Row::authorized(
                self.on(ctx, "ec2:ModifySubnetAttribute", &i.subnet_id),
                self.modify_subnet_attribute(ctx, i),
            ),
            O::CreateInternetGateway(i) => dry(
                i.dry_run,
                self.created(ctx, "ec2:CreateInternetGateway", "internet-gateway", &i.tag_specifications),
                self.create_internet_gateway(ctx, i),
            ),
            O::DeleteInternetGateway(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:DeleteInternetGateway", &i.internet_gateway_id),
                self.delete_internet_gateway(ctx, i),
            ),
            O::AttachInternetGateway(i) => {
                let mut a = self.on(ctx, "ec2:AttachInternetGateway", &i.internet_gateway_id);
                a.also.push(self.on(ctx, "ec2:AttachInternetGateway", &i.vpc_id));
                dry(i.dry_run, a, self.attach_internet_gateway(ctx, i))
            }
            O::DetachInternetGateway(i) => {
                let mut a = self.on(ctx, "ec2:DetachInternetGateway", &i.internet_gateway_id);
                a.also.push(self.on(ctx, "ec2:DetachInternetGateway", &i.vpc_id));
                dry(i.dry_run, a, self.detach_internet_gateway(ctx, i))
            }
            O::DescribeInternetGateways(i) => {
                dry(i.dry_run, any("ec2:DescribeInternetGateways"), self.describe_internet_gateways(ctx, i))
            }
            O::CreateRouteTable(i) => dry(
                i.dry_run,
                self.created_in(ctx, "ec2:CreateRouteTable", "route-table", &i.tag_specifications, &i.vpc_id),
                self.create_route_table(ctx, i),
            ),
            O::DeleteRouteTable(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:DeleteRouteTable", &i.route_table_id), self.delete_route_table(ctx, i))
            }
            O::DescribeRouteTables(i) => {
                dry(i.dry_run, any("ec2:DescribeRouteTables"), self.describe_route_tables(ctx, i))
            }
            O::CreateRoute(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:CreateRoute", &i.route_table_id), self.create_route(ctx, i))
            }
            O::DeleteRoute(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:DeleteRoute", &i.route_table_id), self.delete_route(ctx, i))
            }
            O::ReplaceRoute(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:ReplaceRoute", &i.route_table_id), self.replace_route(ctx, i))
            }
            O::AssociateRouteTable(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:AssociateRouteTable", &i.route_table_id),
                self.associate_route_table(ctx, i),
            ),
            O::DisassociateRouteTable(i) => {
                dry(i.dry_run, any("ec2:DisassociateRouteTable"), self.disassociate_route_table(ctx, i))
            }
            O::ReplaceRouteTableAssociation(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:ReplaceRouteTableAssociation", &i.route_table_id),
                self.replace_route_table_association(ctx, i),
            ),
            O::CreateNetworkAcl(i) => dry(
                i.dry_run,
                self.created_in(ctx, "ec2:CreateNetworkAcl", "network-acl", &i.tag_specifications, &i.vpc_id),
                self.create_network_acl(ctx, i),
            ),
            O::DeleteNetworkAcl(i) => {
                dry(i.dry_run, self.on(ctx, "ec2:DeleteNetworkAcl", &i.network_acl_id), self.delete_network_acl(ctx, i))
            }
            O::DescribeNetworkAcls(i) => {
                dry(i.dry_run, any("ec2:DescribeNetworkAcls"), self.describe_network_acls(ctx, i))
            }
            O::CreateNetworkAclEntry(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:CreateNetworkAclEntry", &i.network_acl_id),
                self.create_network_acl_entry(ctx, i),
            ),
            O::ReplaceNetworkAclEntry(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:ReplaceNetworkAclEntry", &i.network_acl_id),
                self.replace_network_acl_entry(ctx, i),
            ),
            O::DeleteNetworkAclEntry(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:DeleteNetworkAclEntry", &i.network_acl_id),
                self.delete_network_acl_entry(ctx, i),
            ),
            O::ReplaceNetworkAclAssociation(i) => dry(
                i.dry_run,
                self.on(ctx, "ec2:ReplaceNetworkAclAssociation", &i.network_acl_id),
                self.replace_network_acl_association(ctx, i),
            ),
            O::CreateTags(i) => {
                dry(i.dry_run, self.tagging(ctx, "ec2:CreateTags", &i.resources, &i.tags), self.create_tags(ctx, i))
            }
            O::DeleteTags(i) => {
                dry(i.dry_run, self.tagging(ctx, "ec2:DeleteTags", &i.resources, &i.tags), self.delete_tags(ctx, i))
            }
            O::DescribeTags(i) => dry(i.dry_run, any("ec2:DescribeTags"), self.describe_tags(ctx, i)),
            O::DescribeAccountAttributes(i) => {
                dry(i.dry_run, any("ec2:DescribeAccountAttributes"), self.describe_account_attributes(ctx, i))
            }
        }
    }
}
