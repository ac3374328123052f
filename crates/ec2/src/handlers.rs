//! EC2's handlers for availability zones and security groups, typed in, typed out.
use super::*;

impl Ec2Service {
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
                filters::Facts::default()
                    .with("zone-name", z.zone_name.as_deref().unwrap_or_default())
                    .with("zone-id", z.zone_id.as_deref().unwrap_or_default())
                    .with("region-name", &region)
                    .with("state", "available")
                    .keep(&filters)
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
        // Without a VPC, the group goes into the default VPC (which must still exist).
        let network = self.network(ctx)?;
        let vpc = match &i.vpc_id {
            Some(v) => network.vpc(v)?.id.clone(),
            None => network.default_vpc().map(|v| v.id.clone()).ok_or_else(|| {
                Ec2Error::VpcIdNotSpecified
                    .msg("No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
            })?,
        };
        if self.groups(&acct, &region)?.iter().any(|g| g.name == name && g.vpc == vpc) {
            return Err(Ec2Error::InvalidGroupDuplicate
                .msg(format!("The security group '{name}' already exists for VPC '{vpc}'")));
        }
        let tags = tags_for(&i.tag_specifications, "security-group")?;
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
        filters::check(&filters, &["group-id", "group-name", "vpc-id", "description", "owner-id"])?;
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
                filters::Facts::tagged(&g.tags)
                    .with("group-id", &g.id)
                    .with("group-name", &g.name)
                    .with("vpc-id", &g.vpc)
                    .with("description", &g.description)
                    .with("owner-id", &g.account)
                    .keep(&filters)
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
        filters::check(&filters, &["group-id", "security-group-rule-id"])?;
        let ids = i.security_group_rule_ids.unwrap_or_default();
        let rules = self
            .groups(&acct, &region)?
            .iter()
            .flat_map(|g| g.rules.iter().map(move |r| (g, r)))
            .filter(|(g, r)| {
                (ids.is_empty() || ids.contains(&r.id))
                    && filters::Facts::tagged(&[])
                        .with("group-id", &g.id)
                        .with("security-group-rule-id", &r.id)
                        .keep(&filters)
            })
            .map(|(g, r)| Self::rule_out(g, r))
            .collect();
        Ok(m::DescribeSecurityGroupRulesResult { security_group_rules: Some(rules), next_token: None })
    }
}
