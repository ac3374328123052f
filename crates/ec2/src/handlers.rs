//! EC2's handlers: the default network's pieces and security groups, typed in, typed out.
use super::*;

impl Ec2Service {
    pub(crate) async fn describe_vpcs(
        &self,
        ctx: &RequestContext,
        i: m::DescribeVpcsRequest,
    ) -> AwsResult<m::DescribeVpcsResult> {
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let region = ctx.region.clone();
        let filters = i.filters.unwrap_or_default();
        known_filters(&filters, &["vpc-id", "is-default", "isDefault", "cidr", "cidr-block", "state", "owner-id"])?;
        let id = default_vpc(&acct, &region);
        for v in i.vpc_ids.iter().flatten() {
            if *v != id {
                return Err(Ec2Error::InvalidVpcIdNotFound.msg(format!("The vpc ID '{v}' does not exist")));
            }
        }
        let vpc = m::Vpc {
            vpc_id: Some(id.clone()),
            cidr_block: Some("172.31.0.0/16".into()),
            state: Some("available".into()),
            owner_id: Some(acct.clone()),
            instance_tenancy: Some("default".into()),
            is_default: Some(true),
            dhcp_options_id: Some(derived_id("dopt", &acct, &region, "dhcp")),
            cidr_block_association_set: Some(vec![m::VpcCidrBlockAssociation {
                association_id: Some(derived_id("vpc-cidr-assoc", &acct, &region, "cidr")),
                cidr_block: Some("172.31.0.0/16".into()),
                cidr_block_state: Some(m::VpcCidrBlockState { state: Some("associated".into()), status_message: None }),
            }]),
            ..Default::default()
        };
        let keep = filter_match(&filters, "vpc-id", &id)
            && filter_match(&filters, "is-default", "true")
            && filter_match(&filters, "isDefault", "true")
            && filter_match(&filters, "cidr", "172.31.0.0/16")
            && filter_match(&filters, "cidr-block", "172.31.0.0/16")
            && filter_match(&filters, "state", "available")
            && filter_match(&filters, "owner-id", &acct);
        Ok(m::DescribeVpcsResult { vpcs: Some(if keep { vec![vpc] } else { vec![] }), next_token: None })
    }

    pub(crate) async fn describe_subnets(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSubnetsRequest,
    ) -> AwsResult<m::DescribeSubnetsResult> {
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let region = ctx.region.clone();
        let filters = i.filters.unwrap_or_default();
        known_filters(
            &filters,
            &[
                "vpc-id",
                "subnet-id",
                "availability-zone",
                "availability-zone-id",
                "default-for-az",
                "defaultForAz",
                "state",
            ],
        )?;
        let vpc = default_vpc(&acct, &region);
        let all: Vec<m::Subnet> = ZONES
            .iter()
            .enumerate()
            .map(|(n, z)| {
                let id = derived_id("subnet", &acct, &region, z);
                m::Subnet {
                    subnet_id: Some(id.clone()),
                    subnet_arn: Some(format!("arn:aws:ec2:{region}:{acct}:subnet/{id}")),
                    vpc_id: Some(vpc.clone()),
                    availability_zone: Some(format!("{region}{z}")),
                    availability_zone_id: Some(zone_id(&region, n)),
                    cidr_block: Some(format!("172.31.{}.0/20", n * 16)),
                    available_ip_address_count: Some(4091),
                    default_for_az: Some(true),
                    map_public_ip_on_launch: Some(true),
                    state: Some("available".into()),
                    owner_id: Some(acct.clone()),
                    ..Default::default()
                }
            })
            .collect();
        let ids = i.subnet_ids.unwrap_or_default();
        for id in &ids {
            if !all.iter().any(|s| s.subnet_id.as_deref() == Some(id.as_str())) {
                return Err(Ec2Error::InvalidSubnetIdNotFound.msg(format!("The subnet ID '{id}' does not exist")));
            }
        }
        let subnets = all
            .into_iter()
            .filter(|s| ids.is_empty() || ids.iter().any(|id| s.subnet_id.as_deref() == Some(id.as_str())))
            .filter(|s| {
                filter_match(&filters, "vpc-id", s.vpc_id.as_deref().unwrap_or_default())
                    && filter_match(&filters, "subnet-id", s.subnet_id.as_deref().unwrap_or_default())
                    && filter_match(&filters, "availability-zone", s.availability_zone.as_deref().unwrap_or_default())
                    && filter_match(
                        &filters,
                        "availability-zone-id",
                        s.availability_zone_id.as_deref().unwrap_or_default(),
                    )
                    && filter_match(&filters, "default-for-az", "true")
                    && filter_match(&filters, "defaultForAz", "true")
                    && filter_match(&filters, "state", "available")
            })
            .collect();
        Ok(m::DescribeSubnetsResult { subnets: Some(subnets), next_token: None })
    }

    pub(crate) async fn describe_availability_zones(
        &self,
        ctx: &RequestContext,
        i: m::DescribeAvailabilityZonesRequest,
    ) -> AwsResult<m::DescribeAvailabilityZonesResult> {
        let region = ctx.region.clone();
        let filters = i.filters.unwrap_or_default();
        let names = i.zone_names.unwrap_or_default();
        let zones = ZONES
            .iter()
            .enumerate()
            .map(|(n, z)| m::AvailabilityZone {
                state: Some("available".into()),
                opt_in_status: Some("opt-in-not-required".into()),
                messages: Some(vec![]),
                region_name: Some(region.clone()),
                zone_name: Some(format!("{region}{z}")),
                zone_id: Some(zone_id(&region, n)),
                group_name: Some(region.clone()),
                network_border_group: Some(region.clone()),
                zone_type: Some("availability-zone".into()),
                ..Default::default()
            })
            .filter(|z| names.is_empty() || names.iter().any(|n| z.zone_name.as_deref() == Some(n.as_str())))
            .filter(|z| {
                filter_match(&filters, "zone-name", z.zone_name.as_deref().unwrap_or_default())
                    && filter_match(&filters, "state", "available")
            })
            .collect();
        Ok(m::DescribeAvailabilityZonesResult { availability_zones: Some(zones) })
    }

    pub(crate) async fn create_security_group(
        &self,
        ctx: &RequestContext,
        i: m::CreateSecurityGroupRequest,
    ) -> AwsResult<m::CreateSecurityGroupResult> {
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let region = ctx.region.clone();
        let name = i
            .group_name
            .ok_or_else(|| Ec2Error::MissingParameter.msg("The request must contain the parameter groupName"))?;
        let description = i
            .description
            .ok_or_else(|| Ec2Error::MissingParameter.msg("The request must contain the parameter groupDescription"))?;
        if name.eq_ignore_ascii_case("default") {
            return Err(Ec2Error::InvalidParameterValue.msg("Cannot use reserved security group name: default"));
        }
        if name.is_empty() || name.len() > 255 || name.starts_with("sg-") {
            return Err(Ec2Error::InvalidParameterValue.msg(format!("Invalid value '{name}' for groupName.")));
        }
        let vpc = default_vpc(&acct, &region);
        if let Some(v) = &i.vpc_id {
            if *v != vpc {
                return Err(Ec2Error::InvalidVpcIdNotFound.msg(format!("The vpc ID '{v}' does not exist")));
            }
        }
        if self.groups(&acct, &region)?.iter().any(|g| g.name == name) {
            return Err(Ec2Error::InvalidGroupDuplicate
                .msg(format!("The security group '{name}' already exists for VPC '{vpc}'")));
        }
        for spec in i.tag_specifications.iter().flatten() {
            if let Some(kind) = spec.resource_type.as_deref().filter(|k| *k != "security-group") {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("'{kind}' is not a valid taggable resource type for this operation.")));
            }
        }
        let tags = crate::routes::requested_tags(&i.tag_specifications);
        let id = random_id("sg");
        let g = Group {
            account: acct.clone(),
            region: region.clone(),
            id: id.clone(),
            name,
            description,
            vpc,
            // A new group lets everything out, as on EC2.
            rules: vec![rule(true, "-1", -1, -1, Some("0.0.0.0/0"), None)],
            tags: tags.clone(),
        };
        self.put(&g).await?;
        Ok(m::CreateSecurityGroupResult {
            group_id: Some(id),
            security_group_arn: Some(g.arn()),
            tags: (!tags.is_empty())
                .then(|| tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()),
        })
    }

    pub(crate) async fn authorize_security_group_ingress(
        &self,
        ctx: &RequestContext,
        i: m::AuthorizeSecurityGroupIngressRequest,
    ) -> AwsResult<m::AuthorizeSecurityGroupIngressResult> {
        let rules = requested!(false, i)?;
        let out = self.authorize(ctx, i.group_id.as_deref(), i.group_name.as_deref(), rules).await?;
        Ok(m::AuthorizeSecurityGroupIngressResult { r#return: Some(true), security_group_rules: Some(out) })
    }

    pub(crate) async fn authorize_security_group_egress(
        &self,
        ctx: &RequestContext,
        i: m::AuthorizeSecurityGroupEgressRequest,
    ) -> AwsResult<m::AuthorizeSecurityGroupEgressResult> {
        let rules = requested!(true, i)?;
        let out = self.authorize(ctx, i.group_id.as_deref(), None, rules).await?;
        Ok(m::AuthorizeSecurityGroupEgressResult { r#return: Some(true), security_group_rules: Some(out) })
    }

    pub(crate) async fn revoke_security_group_ingress(
        &self,
        ctx: &RequestContext,
        i: m::RevokeSecurityGroupIngressRequest,
    ) -> AwsResult<m::RevokeSecurityGroupIngressResult> {
        let ids = i.security_group_rule_ids.unwrap_or_default();
        let rules = if ids.is_empty() { requested!(false, i)? } else { vec![] };
        self.revoke(ctx, i.group_id.as_deref(), i.group_name.as_deref(), rules, ids, false).await?;
        Ok(m::RevokeSecurityGroupIngressResult { r#return: Some(true), ..Default::default() })
    }

    pub(crate) async fn revoke_security_group_egress(
        &self,
        ctx: &RequestContext,
        i: m::RevokeSecurityGroupEgressRequest,
    ) -> AwsResult<m::RevokeSecurityGroupEgressResult> {
        let ids = i.security_group_rule_ids.unwrap_or_default();
        let rules = if ids.is_empty() { requested!(true, i)? } else { vec![] };
        self.revoke(ctx, i.group_id.as_deref(), None, rules, ids, true).await?;
        Ok(m::RevokeSecurityGroupEgressResult { r#return: Some(true), ..Default::default() })
    }

    pub(crate) async fn describe_security_groups(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSecurityGroupsRequest,
    ) -> AwsResult<m::DescribeSecurityGroupsResult> {
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let region = ctx.region.clone();
        let filters = i.filters.unwrap_or_default();
        known_filters(&filters, &["group-id", "group-name", "vpc-id", "description", "owner-id"])?;
        let all = self.groups(&acct, &region)?;
        let ids = i.group_ids.unwrap_or_default();
        let names = i.group_names.unwrap_or_default();
        for id in &ids {
            if !all.iter().any(|g| &g.id == id) {
                return Err(Ec2Error::InvalidGroupNotFound.msg(format!("The security group '{id}' does not exist")));
            }
        }
        for n in &names {
            if !all.iter().any(|g| &g.name == n) {
                return Err(Ec2Error::InvalidGroupNotFound.msg(format!(
                    "The security group '{n}' does not exist in default VPC '{}'",
                    default_vpc(&acct, &region)
                )));
            }
        }
        let groups = all
            .iter()
            .filter(|g| (ids.is_empty() || ids.contains(&g.id)) && (names.is_empty() || names.contains(&g.name)))
            .filter(|g| {
                filter_match(&filters, "group-id", &g.id)
                    && filter_match(&filters, "group-name", &g.name)
                    && filter_match(&filters, "vpc-id", &g.vpc)
                    && filter_match(&filters, "description", &g.description)
                    && filter_match(&filters, "owner-id", &g.account)
            })
            .map(Self::group_out)
            .collect();
        Ok(m::DescribeSecurityGroupsResult { security_groups: Some(groups), next_token: None })
    }

    pub(crate) async fn delete_security_group(
        &self,
        ctx: &RequestContext,
        i: m::DeleteSecurityGroupRequest,
    ) -> AwsResult<m::DeleteSecurityGroupResult> {
        let g = self.group(ctx, i.group_id.as_deref(), i.group_name.as_deref())?;
        if g.name == "default" {
            return Err(Ec2Error::CannotDelete
                .msg(format!("the specified group: \"{}\" name: \"default\" cannot be deleted by a user", g.id)));
        }
        let k = g.key();
        self.store.write(move |w| w.delete(GROUPS, &k)).await?;
        Ok(m::DeleteSecurityGroupResult { r#return: Some(true), group_id: Some(g.id) })
    }

    pub(crate) async fn describe_security_group_rules(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSecurityGroupRulesRequest,
    ) -> AwsResult<m::DescribeSecurityGroupRulesResult> {
        let acct = ctx.account_id().unwrap_or_default().to_string();
        let region = ctx.region.clone();
        let filters = i.filters.unwrap_or_default();
        known_filters(&filters, &["group-id", "security-group-rule-id"])?;
        let ids = i.security_group_rule_ids.unwrap_or_default();
        let rules = self
            .groups(&acct, &region)?
            .iter()
            .flat_map(|g| g.rules.iter().map(move |r| (g, r)))
            .filter(|(g, r)| {
                (ids.is_empty() || ids.contains(&r.id))
                    && filter_match(&filters, "group-id", &g.id)
                    && filter_match(&filters, "security-group-rule-id", &r.id)
            })
            .map(|(g, r)| Self::rule_out(g, r))
            .collect();
        Ok(m::DescribeSecurityGroupRulesResult { security_group_rules: Some(rules), next_token: None })
    }
}
