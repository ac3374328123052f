//! VPCs and subnets: created inside the region's address plan (blocks /16 to /28, subnets
//! within their VPC and not overlapping), deleted only once nothing depends on them, their
//! attributes changed one at a time; the account's attributes name the default VPC.
use super::filters::{check, page, tags_out, Facts};
use super::network::*;
use super::*;
use nuage_front::NoOutput;

/// What EC2 refuses in a request that asks for an address plan nuage does not keep.
fn unsupported(what: &str) -> nuage_core::AwsError {
    Ec2Error::UnsupportedOperation
        .msg(format!("{what} is not supported by nuage's EC2: only IPv4 blocks given as CIDR"))
}

fn state(s: &str) -> Option<String> {
    Some(s.to_string())
}

pub(crate) fn vpc_out(n: &Network, v: &Vpc) -> m::Vpc {
    m::Vpc {
        vpc_id: Some(v.id.clone()),
        cidr_block: Some(v.cidr.clone()),
        state: state("available"),
        owner_id: Some(n.account.clone()),
        instance_tenancy: Some(v.tenancy.clone()),
        is_default: Some(v.is_default),
        dhcp_options_id: Some(derived_id("dopt", &n.account, &n.region, "dhcp")),
        cidr_block_association_set: Some(vec![m::VpcCidrBlockAssociation {
            association_id: Some(v.cidr_association.clone()),
            cidr_block: Some(v.cidr.clone()),
            cidr_block_state: Some(m::VpcCidrBlockState { state: state("associated"), status_message: None }),
        }]),
        tags: tags_out(&v.tags),
        ..Default::default()
    }
}

fn vpc_facts(n: &Network, v: &Vpc) -> Facts {
    Facts::tagged(&v.tags)
        .with("vpc-id", &v.id)
        .with("cidr", &v.cidr)
        .with("cidr-block", &v.cidr)
        .with("cidr-block-association.cidr-block", &v.cidr)
        .with("cidr-block-association.association-id", &v.cidr_association)
        .with("cidr-block-association.state", "associated")
        .with("is-default", v.is_default)
        .with("isDefault", v.is_default)
        .with("state", "available")
        .with("owner-id", &n.account)
        .with("dhcp-options-id", derived_id("dopt", &n.account, &n.region, "dhcp"))
}

const VPC_FILTERS: &[&str] = &[
    "vpc-id",
    "cidr",
    "cidr-block",
    "cidr-block-association.cidr-block",
    "cidr-block-association.association-id",
    "cidr-block-association.state",
    "is-default",
    "isDefault",
    "state",
    "owner-id",
    "dhcp-options-id",
];

/// Available addresses of a subnet: AWS keeps five of each block.
fn available_addresses(cidr: &str) -> i32 {
    let bits = cidr.split_once('/').and_then(|(_, b)| b.parse::<u32>().ok()).unwrap_or(32);
    (1i64 << (32 - bits)).saturating_sub(5) as i32
}

pub(crate) fn subnet_out(n: &Network, s: &Subnet) -> m::Subnet {
    let (acct, region) = (&n.account, &n.region);
    m::Subnet {
        subnet_id: Some(s.id.clone()),
        subnet_arn: Some(format!("arn:aws:ec2:{region}:{acct}:subnet/{}", s.id)),
        vpc_id: Some(s.vpc.clone()),
        availability_zone: Some(format!("{region}{}", ZONES[s.zone])),
        availability_zone_id: Some(zone_id(region, s.zone)),
        cidr_block: Some(s.cidr.clone()),
        available_ip_address_count: Some(available_addresses(&s.cidr)),
        default_for_az: Some(s.default_for_az),
        map_public_ip_on_launch: Some(s.map_public_ip),
        map_customer_owned_ip_on_launch: Some(false),
        assign_ipv6_address_on_creation: Some(false),
        ipv6_cidr_block_association_set: Some(vec![]),
        ipv6_native: Some(false),
        enable_dns64: Some(false),
        state: state("available"),
        owner_id: Some(acct.clone()),
        tags: tags_out(&s.tags),
        ..Default::default()
    }
}

fn subnet_facts(n: &Network, s: &Subnet) -> Facts {
    let o = subnet_out(n, s);
    Facts::tagged(&s.tags)
        .with("vpc-id", &s.vpc)
        .with("subnet-id", &s.id)
        .with("subnet-arn", o.subnet_arn.unwrap_or_default())
        .with("availability-zone", o.availability_zone.unwrap_or_default())
        .with("availability-zone-id", o.availability_zone_id.unwrap_or_default())
        .with("availabilityZone", format!("{}{}", n.region, ZONES[s.zone]))
        .with("available-ip-address-count", available_addresses(&s.cidr))
        .with("cidr", &s.cidr)
        .with("cidr-block", &s.cidr)
        .with("cidrBlock", &s.cidr)
        .with("default-for-az", s.default_for_az)
        .with("defaultForAz", s.default_for_az)
        .with("map-public-ip-on-launch", s.map_public_ip)
        .with("state", "available")
        .with("owner-id", &n.account)
}

const SUBNET_FILTERS: &[&str] = &[
    "vpc-id",
    "subnet-id",
    "subnet-arn",
    "availability-zone",
    "availability-zone-id",
    "availabilityZone",
    "available-ip-address-count",
    "cidr",
    "cidr-block",
    "cidrBlock",
    "default-for-az",
    "defaultForAz",
    "map-public-ip-on-launch",
    "state",
    "owner-id",
];

/// The ids asked for must all exist.
fn all_known(
    ids: &[String],
    known: impl Fn(&str) -> bool,
    missing: impl Fn(&str) -> nuage_core::AwsError,
) -> AwsResult<()> {
    match ids.iter().find(|id| !known(id)) {
        Some(id) => Err(missing(id)),
        None => Ok(()),
    }
}

impl Ec2Service {
    pub(crate) async fn create_vpc(
        &self,
        ctx: &RequestContext,
        i: m::CreateVpcRequest,
    ) -> AwsResult<m::CreateVpcResult> {
        if i.ipv4_ipam_pool_id.is_some() || i.ipv4_netmask_length.is_some() {
            return Err(unsupported("An IPAM pool"));
        }
        if i.amazon_provided_ipv6_cidr_block == Some(true)
            || i.ipv6_cidr_block.is_some()
            || i.ipv6_pool.is_some()
            || i.ipv6_ipam_pool_id.is_some()
        {
            return Err(unsupported("An IPv6 block"));
        }
        if i.vpc_encryption_control.is_some() {
            return Err(unsupported("VPC encryption control"));
        }
        let cidr = i.cidr_block.ok_or_else(|| {
            Ec2Error::MissingParameter.msg("Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
        })?;
        let (_, bits) = block(&cidr, "cidrBlock")?;
        if !(16..=28).contains(&bits) {
            return Err(Ec2Error::InvalidVpcRange.msg(format!("The CIDR '{cidr}' is invalid.")));
        }
        let tenancy = i.instance_tenancy.unwrap_or_else(|| "default".into());
        if tenancy == "host" {
            return Err(Ec2Error::InvalidParameterValue
                .msg("The tenancy value host is not supported. Supported values: default, dedicated"));
        }
        let tags = tags_for(&i.tag_specifications, "vpc")?;
        let (account, region) = (ctx.account_id().unwrap_or_default().to_string(), ctx.region.clone());
        let vpc = Vpc {
            id: random_id("vpc"),
            cidr: cidr.clone(),
            cidr_association: random_id("vpc-cidr-assoc"),
            is_default: false,
            tenancy,
            dns_support: true,
            dns_hostnames: false,
            address_usage_metrics: false,
            tags,
        };
        let v = vpc.clone();
        self.change_network(ctx, move |n, w| {
            n.vpcs.insert(v.id.clone(), v.clone());
            // Every VPC comes with its main route table, default network ACL and default
            // security group.
            let table = RouteTable {
                id: random_id("rtb"),
                vpc: v.id.clone(),
                main: Some(random_id("rtbassoc")),
                routes: vec![Route {
                    destination: v.cidr.clone(),
                    gateway: "local".into(),
                    origin: "CreateRouteTable".into(),
                }],
                associations: vec![],
                tags: vec![],
            };
            n.tables.insert(table.id.clone(), table);
            let acl = Acl {
                id: random_id("acl"),
                vpc: v.id.clone(),
                is_default: true,
                entries: acl_entries_allowing_all(),
                associations: vec![],
                tags: vec![],
            };
            n.acls.insert(acl.id.clone(), acl);
            let g = default_group(&account, &region, &v.id, random_id("sg"));
            w.put(GROUPS, &g.key(), &g)
        })
        .await?;
        let n = self.network(ctx)?;
        Ok(m::CreateVpcResult { vpc: Some(vpc_out(&n, &vpc)) })
    }

    pub(crate) async fn delete_vpc(&self, ctx: &RequestContext, i: m::DeleteVpcRequest) -> AwsResult<NoOutput> {
        let id = i.vpc_id.unwrap_or_default();
        let (account, region) = (ctx.account_id().unwrap_or_default().to_string(), ctx.region.clone());
        self.change_network(ctx, move |n, w| {
            n.vpc(&id)?;
            let groups: Vec<(String, Group)> = w.scan(GROUPS, &format!("{account}/{region}/"))?;
            let in_vpc: Vec<&Group> = groups.iter().map(|(_, g)| g).filter(|g| g.vpc == id).collect();
            let depends = n.subnets.values().any(|s| s.vpc == id)
                || n.gateways.values().any(|g| g.vpc.as_deref() == Some(id.as_str()))
                || n.tables.values().any(|t| t.vpc == id && t.main.is_none())
                || n.acls.values().any(|a| a.vpc == id && !a.is_default)
                || in_vpc.iter().any(|g| g.name != "default");
            if depends {
                return Err(Ec2Error::DependencyViolation
                    .msg(format!("The vpc '{id}' has dependencies and cannot be deleted.")));
            }
            for g in in_vpc {
                w.delete(GROUPS, &g.key())?;
            }
            n.vpcs.remove(&id);
            n.tables.retain(|_, t| t.vpc != id);
            n.acls.retain(|_, a| a.vpc != id);
            Ok(())
        })
        .await
        .map(|()| NoOutput)
    }

    pub(crate) async fn describe_vpcs(
        &self,
        ctx: &RequestContext,
        i: m::DescribeVpcsRequest,
    ) -> AwsResult<m::DescribeVpcsResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, VPC_FILTERS)?;
        let n = self.network(ctx)?;
        let ids = i.vpc_ids.unwrap_or_default();
        all_known(&ids, |id| n.vpcs.contains_key(id), vpc_not_found)?;
        let vpcs: Vec<&Vpc> = n
            .vpcs
            .values()
            .filter(|v| ids.is_empty() || ids.contains(&v.id))
            .filter(|v| vpc_facts(&n, v).keep(&filters))
            .collect();
        let (vpcs, next) = page(vpcs, |v| &v.id, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeVpcsResult { vpcs: Some(vpcs.into_iter().map(|v| vpc_out(&n, v)).collect()), next_token: next })
    }

    pub(crate) async fn modify_vpc_attribute(
        &self,
        ctx: &RequestContext,
        i: m::ModifyVpcAttributeRequest,
    ) -> AwsResult<NoOutput> {
        let id = i.vpc_id.unwrap_or_default();
        let given: Vec<(&str, bool)> = [
            ("enableDnsHostnames", &i.enable_dns_hostnames),
            ("enableDnsSupport", &i.enable_dns_support),
            ("enableNetworkAddressUsageMetrics", &i.enable_network_address_usage_metrics),
        ]
        .into_iter()
        .filter_map(|(n, v)| v.as_ref().map(|v| (n, v.value.unwrap_or(false))))
        .collect();
        let (name, value) = match given.as_slice() {
            [one] => *one,
            [] => {
                return Err(Ec2Error::MissingParameter.msg("The request must contain exactly one attribute to modify."))
            }
            many => {
                let names: Vec<&str> = many.iter().map(|(n, _)| *n).collect();
                return Err(Ec2Error::InvalidParameterCombination
                    .msg(format!("Fields for multiple attribute types specified: {}", names.join(", "))));
            }
        };
        self.change_network(ctx, move |n, _| {
            let v = n.vpc_mut(&id)?;
            match name {
                "enableDnsHostnames" => {
                    if value && !v.dns_support {
                        return Err(Ec2Error::InvalidParameterValue
                            .msg("DNS hostnames cannot be enabled in a VPC whose DNS resolution is disabled."));
                    }
                    v.dns_hostnames = value;
                }
                "enableDnsSupport" => v.dns_support = value,
                _ => v.address_usage_metrics = value,
            }
            Ok(())
        })
        .await
        .map(|()| NoOutput)
    }

    pub(crate) async fn describe_vpc_attribute(
        &self,
        ctx: &RequestContext,
        i: m::DescribeVpcAttributeRequest,
    ) -> AwsResult<m::DescribeVpcAttributeResult> {
        let n = self.network(ctx)?;
        let id = i.vpc_id.unwrap_or_default();
        let v = n.vpc(&id)?;
        let b = |x: bool| Some(m::AttributeBooleanValue { value: Some(x) });
        let mut out = m::DescribeVpcAttributeResult { vpc_id: Some(id.clone()), ..Default::default() };
        match i.attribute.as_deref().unwrap_or_default() {
            "enableDnsSupport" => out.enable_dns_support = b(v.dns_support),
            "enableDnsHostnames" => out.enable_dns_hostnames = b(v.dns_hostnames),
            "enableNetworkAddressUsageMetrics" => out.enable_network_address_usage_metrics = b(v.address_usage_metrics),
            other => {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("Value ({other}) for parameter attribute is invalid. Unknown attribute.")))
            }
        }
        Ok(out)
    }

    pub(crate) async fn create_subnet(
        &self,
        ctx: &RequestContext,
        i: m::CreateSubnetRequest,
    ) -> AwsResult<m::CreateSubnetResult> {
        if i.ipv4_ipam_pool_id.is_some() || i.ipv4_netmask_length.is_some() {
            return Err(unsupported("An IPAM pool"));
        }
        if i.ipv6_cidr_block.is_some() || i.ipv6_native == Some(true) || i.ipv6_ipam_pool_id.is_some() {
            return Err(unsupported("An IPv6 block"));
        }
        if i.outpost_arn.is_some() {
            return Err(unsupported("An Outpost"));
        }
        let vpc_id = i.vpc_id.unwrap_or_default();
        let cidr = i
            .cidr_block
            .ok_or_else(|| Ec2Error::MissingParameter.msg("The request must contain the parameter cidrBlock"))?;
        let b = block(&cidr, "cidrBlock")?;
        let region = ctx.region.clone();
        let zone = match (&i.availability_zone, &i.availability_zone_id) {
            (Some(_), Some(_)) => {
                return Err(Ec2Error::InvalidParameterCombination
                    .msg("Only one of availabilityZone and availabilityZoneId may be given."))
            }
            (Some(z), None) => ZONES.iter().position(|s| format!("{region}{s}") == *z),
            (None, Some(z)) => (0..ZONES.len()).find(|&k| zone_id(&region, k) == *z),
            (None, None) => None,
        };
        if zone.is_none() && (i.availability_zone.is_some() || i.availability_zone_id.is_some()) {
            let z = i.availability_zone.or(i.availability_zone_id).unwrap_or_default();
            let all: Vec<String> = ZONES.iter().map(|s| format!("{region}{s}")).collect();
            return Err(Ec2Error::InvalidParameterValue.msg(format!(
                "Value ({z}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                all.join(", ")
            )));
        }
        let tags = tags_for(&i.tag_specifications, "subnet")?;
        let subnet = self
            .change_network(ctx, move |n, _| {
                let vpc = n.vpc(&vpc_id)?;
                let vb = block(&vpc.cidr, "cidrBlock")?;
                if !within(b, vb) || !(16..=28).contains(&b.1) {
                    return Err(Ec2Error::InvalidSubnetRange.msg(format!("The CIDR '{cidr}' is invalid.")));
                }
                if n.subnets
                    .values()
                    .filter(|s| s.vpc == vpc_id)
                    .any(|s| block(&s.cidr, "cidrBlock").is_ok_and(|o| overlaps(o, b)))
                {
                    return Err(
                        Ec2Error::InvalidSubnetConflict.msg(format!("The CIDR '{cidr}' conflicts with another subnet"))
                    );
                }
                // Without a zone, EC2 picks one: the zone with the fewest of the VPC's subnets.
                let zone = zone.unwrap_or_else(|| {
                    (0..ZONES.len())
                        .min_by_key(|z| n.subnets.values().filter(|s| s.vpc == vpc_id && s.zone == *z).count())
                        .unwrap_or(0)
                });
                let s = Subnet {
                    id: random_id("subnet"),
                    vpc: vpc_id.clone(),
                    cidr,
                    zone,
                    default_for_az: false,
                    map_public_ip: false,
                    tags,
                };
                n.subnets.insert(s.id.clone(), s.clone());
                // A new subnet takes the VPC's default network ACL (and its main route table,
                // which needs no association).
                let acl_id = n.default_acl(&vpc_id).map(|a| a.id.clone());
                if let Some(acl) = acl_id.and_then(|a| n.acls.get_mut(&a)) {
                    acl.associations.push((random_id("aclassoc"), s.id.clone()));
                }
                Ok(s)
            })
            .await?;
        let n = self.network(ctx)?;
        Ok(m::CreateSubnetResult { subnet: Some(subnet_out(&n, &subnet)) })
    }

    pub(crate) async fn delete_subnet(&self, ctx: &RequestContext, i: m::DeleteSubnetRequest) -> AwsResult<NoOutput> {
        let id = i.subnet_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            n.subnet(&id)?;
            n.subnets.remove(&id);
            for t in n.tables.values_mut() {
                t.associations.retain(|a| a.target.as_deref() != Some(id.as_str()));
            }
            for a in n.acls.values_mut() {
                a.associations.retain(|(_, s)| *s != id);
            }
            Ok(())
        })
        .await
        .map(|()| NoOutput)
    }

    pub(crate) async fn describe_subnets(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSubnetsRequest,
    ) -> AwsResult<m::DescribeSubnetsResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, SUBNET_FILTERS)?;
        let n = self.network(ctx)?;
        let ids = i.subnet_ids.unwrap_or_default();
        all_known(
            &ids,
            |id| n.subnets.contains_key(id),
            |id| Ec2Error::InvalidSubnetIdNotFound.msg(format!("The subnet ID '{id}' does not exist")),
        )?;
        let subnets: Vec<&Subnet> = n
            .subnets
            .values()
            .filter(|s| ids.is_empty() || ids.contains(&s.id))
            .filter(|s| subnet_facts(&n, s).keep(&filters))
            .collect();
        let (subnets, next) = page(subnets, |s| &s.id, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeSubnetsResult {
            subnets: Some(subnets.into_iter().map(|s| subnet_out(&n, s)).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn modify_subnet_attribute(
        &self,
        ctx: &RequestContext,
        i: m::ModifySubnetAttributeRequest,
    ) -> AwsResult<NoOutput> {
        let refused = [
            ("AssignIpv6AddressOnCreation", i.assign_ipv6_address_on_creation.is_some()),
            ("MapCustomerOwnedIpOnLaunch", i.map_customer_owned_ip_on_launch.is_some()),
            ("CustomerOwnedIpv4Pool", i.customer_owned_ipv4_pool.is_some()),
            ("EnableDns64", i.enable_dns64.is_some()),
            ("PrivateDnsHostnameTypeOnLaunch", i.private_dns_hostname_type_on_launch.is_some()),
            ("EnableResourceNameDnsARecordOnLaunch", i.enable_resource_name_dns_a_record_on_launch.is_some()),
            ("EnableResourceNameDnsAAAARecordOnLaunch", i.enable_resource_name_dns_aaaa_record_on_launch.is_some()),
            ("EnableLniAtDeviceIndex", i.enable_lni_at_device_index.is_some()),
            ("DisableLniAtDeviceIndex", i.disable_lni_at_device_index.is_some()),
        ];
        if let Some((name, _)) = refused.iter().find(|(_, given)| *given) {
            return Err(unsupported(&format!("The subnet attribute {name}")));
        }
        let value = i.map_public_ip_on_launch.and_then(|v| v.value).ok_or_else(|| {
            Ec2Error::MissingParameter.msg("The request must contain exactly one attribute to modify.")
        })?;
        let id = i.subnet_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            n.subnet_mut(&id)?.map_public_ip = value;
            Ok(())
        })
        .await
        .map(|()| NoOutput)
    }

    pub(crate) async fn describe_account_attributes(
        &self,
        ctx: &RequestContext,
        i: m::DescribeAccountAttributesRequest,
    ) -> AwsResult<m::DescribeAccountAttributesResult> {
        let n = self.network(ctx)?;
        let default_vpc = n.default_vpc().map(|v| v.id.clone()).unwrap_or_else(|| "none".into());
        let all: Vec<(&str, Vec<String>)> = vec![
            ("supported-platforms", vec!["VPC".into()]),
            ("default-vpc", vec![default_vpc]),
            ("max-instances", vec!["20".into()]),
            ("vpc-max-security-groups-per-interface", vec!["5".into()]),
            ("max-elastic-ips", vec!["5".into()]),
            ("vpc-max-elastic-ips", vec!["5".into()]),
        ];
        let names = i.attribute_names.unwrap_or_default();
        let attributes = all
            .into_iter()
            .filter(|(name, _)| names.is_empty() || names.iter().any(|n| n == name))
            .map(|(name, values)| m::AccountAttribute {
                attribute_name: Some(name.into()),
                attribute_values: Some(
                    values.into_iter().map(|v| m::AccountAttributeValue { attribute_value: Some(v) }).collect(),
                ),
            })
            .collect();
        Ok(m::DescribeAccountAttributesResult { account_attributes: Some(attributes) })
    }
}
