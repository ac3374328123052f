//! Cluster subnet groups: named sets of EC2 subnets of one VPC, read from EC2 through the
//! front door (nuage's EC2 has each account's default VPC and its subnets). `default` is the
//! default VPC's subnets; a cluster reports its group's VPC.
use crate::api::{account, invalid, missing, tags_in, tags_out};
use crate::{key, Redshift};
use nuage_core::{AwsError, AwsResult, RequestContext};
use nuage_protocol::redshift as m;
use nuage_protocol::redshift::errors::Error as E;
use nuage_storage::redb::TableDefinition;
use nuage_storage::JsonTable;
use serde::{Deserialize, Serialize};

const SUBNET_GROUPS: JsonTable = TableDefinition::new("redshift_subnet_groups");

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SubnetGroupRecord {
    account: String,
    region: String,
    name: String,
    description: String,
    pub(crate) vpc_id: String,
    /// (subnet id, availability zone)
    subnets: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl SubnetGroupRecord {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// The subnet a cluster's endpoint is in: its group's subnet in the cluster's zone.
pub(crate) fn cluster_subnet(rs: &Redshift, c: &crate::ClusterRecord) -> crate::SubnetChoice {
    let zone = c.options.availability_zone.clone().unwrap_or_else(|| format!("{}a", c.region));
    let group = c.options.subnet_group.as_ref().and_then(|name| {
        rs.store.read().ok()?.get::<SubnetGroupRecord>(SUBNET_GROUPS, &key(&c.account, &c.region, name)).ok()?
    });
    match group {
        Some(g) => {
            let id = g.subnets.iter().find(|(_, z)| *z == zone).or(g.subnets.first()).map(|(id, _)| id.clone());
            id.map(crate::SubnetChoice::Known).unwrap_or(crate::SubnetChoice::DefaultIn(zone))
        }
        None => crate::SubnetChoice::DefaultIn(zone),
    }
}

fn not_found(name: &str) -> AwsError {
    E::ClusterSubnetGroupNotFoundFault.msg(format!("ClusterSubnetGroup {name} not found."))
}

fn group_out(g: &SubnetGroupRecord) -> m::ClusterSubnetGroup {
    m::ClusterSubnetGroup {
        cluster_subnet_group_name: Some(g.name.clone()),
        description: Some(g.description.clone()),
        vpc_id: Some(g.vpc_id.clone()),
        subnet_group_status: Some("Complete".into()),
        subnets: Some(
            g.subnets
                .iter()
                .map(|(id, az)| m::Subnet {
                    subnet_identifier: Some(id.clone()),
                    subnet_availability_zone: Some(m::AvailabilityZone {
                        name: Some(az.clone()),
                        ..Default::default()
                    }),
                    subnet_status: Some("Active".into()),
                })
                .collect(),
        ),
        tags: Some(tags_out(&g.tags)),
        supported_cluster_ip_address_types: Some(vec!["ipv4".into()]),
    }
}

fn check_name(name: &str) -> AwsResult<String> {
    let name = name.to_ascii_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_')
        && name != "default";
    if !ok {
        return Err(invalid(
            "The subnet group name must contain only lowercase letters, digits, hyphens, periods and underscores, and must not be \"default\".",
        ));
    }
    Ok(name)
}

impl Redshift {
    /// The subnets (with their VPC and zone) EC2 knows by these ids, or all the default VPC's.
    async fn ec2_subnets(
        &self,
        ctx: &RequestContext,
        ids: Option<Vec<String>>,
    ) -> AwsResult<Vec<(String, String, String)>> {
        let f = self.internal.frontend()?;
        let root = f.identities.root(account(ctx)?).ok_or_else(|| AwsError::internal("the account is unknown"))?;
        let filters = ids.is_none().then(|| {
            vec![nuage_protocol::ec2::Filter { name: Some("default-for-az".into()), values: Some(vec!["true".into()]) }]
        });
        let input = nuage_protocol::ec2::DescribeSubnetsRequest { subnet_ids: ids, filters, ..Default::default() };
        let out = f.call(root, &ctx.region, input).await.map_err(|e| E::InvalidSubnet.msg(e.message))?;
        Ok(out
            .subnets
            .unwrap_or_default()
            .into_iter()
            .map(|s| {
                (s.subnet_id.unwrap_or_default(), s.vpc_id.unwrap_or_default(), s.availability_zone.unwrap_or_default())
            })
            .collect())
    }

    /// The group called `name`; `default` is the default VPC's subnets.
    pub(crate) async fn subnet_group(&self, ctx: &RequestContext, name: &str) -> AwsResult<SubnetGroupRecord> {
        let name = name.to_ascii_lowercase();
        if name == "default" {
            let subnets = self.ec2_subnets(ctx, None).await?;
            return Ok(SubnetGroupRecord {
                account: account(ctx)?.to_string(),
                region: ctx.region.clone(),
                name,
                description: "default".into(),
                vpc_id: subnets.first().map(|s| s.1.clone()).unwrap_or_default(),
                subnets: subnets.into_iter().map(|(id, _, az)| (id, az)).collect(),
                tags: vec![],
            });
        }
        self.store.read()?.get(SUBNET_GROUPS, &key(account(ctx)?, &ctx.region, &name))?.ok_or_else(|| not_found(&name))
    }

    /// Subnets named for a group: they must exist, in one VPC.
    async fn checked_subnets(
        &self,
        ctx: &RequestContext,
        ids: Option<Vec<String>>,
    ) -> AwsResult<(String, Vec<(String, String)>)> {
        let ids = ids.filter(|i| !i.is_empty()).ok_or_else(|| missing("SubnetIds"))?;
        if ids.len() > 20 {
            return Err(E::ClusterSubnetQuotaExceededFault.msg("A subnet group can have at most 20 subnets."));
        }
        let found = self.ec2_subnets(ctx, Some(ids)).await?;
        let vpc = found.first().map(|s| s.1.clone()).unwrap_or_default();
        if found.iter().any(|s| s.1 != vpc) {
            return Err(E::InvalidSubnet.msg("The subnets of a subnet group must all be in the same VPC."));
        }
        Ok((vpc, found.into_iter().map(|(id, _, az)| (id, az)).collect()))
    }

    pub(crate) async fn create_subnet_group(
        &self,
        ctx: &RequestContext,
        i: m::CreateClusterSubnetGroupMessage,
    ) -> AwsResult<m::CreateClusterSubnetGroupResult> {
        let name = check_name(&i.cluster_subnet_group_name.ok_or_else(|| missing("ClusterSubnetGroupName"))?)?;
        let description = i.description.ok_or_else(|| missing("Description"))?;
        let (vpc_id, subnets) = self.checked_subnets(ctx, i.subnet_ids).await?;
        let _one = self.writes.lock().await;
        let k = key(account(ctx)?, &ctx.region, &name);
        if self.store.read()?.get::<SubnetGroupRecord>(SUBNET_GROUPS, &k)?.is_some() {
            return Err(
                E::ClusterSubnetGroupAlreadyExistsFault.msg(format!("ClusterSubnetGroup {name} already exists."))
            );
        }
        let g = SubnetGroupRecord {
            account: account(ctx)?.to_string(),
            region: ctx.region.clone(),
            name,
            description,
            vpc_id,
            subnets,
            tags: tags_in(i.tags),
        };
        let v = g.clone();
        self.store.write(move |w| w.put(SUBNET_GROUPS, &k, &v)).await?;
        Ok(m::CreateClusterSubnetGroupResult { cluster_subnet_group: Some(group_out(&g)) })
    }

    pub(crate) async fn modify_subnet_group(
        &self,
        ctx: &RequestContext,
        i: m::ModifyClusterSubnetGroupMessage,
    ) -> AwsResult<m::ModifyClusterSubnetGroupResult> {
        let name = i.cluster_subnet_group_name.ok_or_else(|| missing("ClusterSubnetGroupName"))?.to_ascii_lowercase();
        let (vpc_id, subnets) = self.checked_subnets(ctx, i.subnet_ids).await?;
        let _one = self.writes.lock().await;
        let mut g = self.subnet_group(ctx, &name).await?;
        if name == "default" {
            return Err(E::InvalidClusterSubnetGroupStateFault.msg("The default subnet group cannot be modified."));
        }
        if vpc_id != g.vpc_id && self.list(account(ctx)?, &ctx.region)?.iter().any(|c| c.subnet_group() == name) {
            return Err(E::InvalidSubnet.msg("The subnets must stay in the VPC of the clusters using the group."));
        }
        g.vpc_id = vpc_id;
        g.subnets = subnets;
        if let Some(d) = i.description {
            g.description = d;
        }
        let (k, v) = (key(&g.account, &g.region, &g.name), g.clone());
        self.store.write(move |w| w.put(SUBNET_GROUPS, &k, &v)).await?;
        Ok(m::ModifyClusterSubnetGroupResult { cluster_subnet_group: Some(group_out(&g)) })
    }

    pub(crate) async fn delete_subnet_group(&self, ctx: &RequestContext, name: Option<String>) -> AwsResult<()> {
        let name = name.ok_or_else(|| missing("ClusterSubnetGroupName"))?.to_ascii_lowercase();
        let _one = self.writes.lock().await;
        let g = self.subnet_group(ctx, &name).await?;
        if name == "default" {
            return Err(E::InvalidClusterSubnetGroupStateFault.msg("The default subnet group cannot be deleted."));
        }
        if let Some(c) = self.list(account(ctx)?, &ctx.region)?.into_iter().find(|c| c.subnet_group() == name) {
            return Err(E::InvalidClusterSubnetGroupStateFault
                .msg(format!("The subnet group {name} is in use by cluster {}.", c.identifier)));
        }
        let k = key(&g.account, &g.region, &g.name);
        self.store.write(move |w| w.delete(SUBNET_GROUPS, &k)).await
    }

    pub(crate) async fn describe_subnet_groups(
        &self,
        ctx: &RequestContext,
        i: m::DescribeClusterSubnetGroupsMessage,
    ) -> AwsResult<m::ClusterSubnetGroupMessage> {
        let mut all = match &i.cluster_subnet_group_name {
            Some(n) => vec![self.subnet_group(ctx, n).await?],
            None => {
                let mut all = vec![self.subnet_group(ctx, "default").await?];
                all.extend(
                    self.store
                        .read()?
                        .scan::<SubnetGroupRecord>(SUBNET_GROUPS, &format!("{}/{}/", account(ctx)?, ctx.region))?
                        .into_iter()
                        .map(|(_, g)| g),
                );
                all
            }
        };
        let keys = i.tag_keys.unwrap_or_default();
        let values = i.tag_values.unwrap_or_default();
        all.retain(|g| crate::api::tags_match(&g.tags, &keys, &values));
        let (items, marker) = crate::api::page(all, i.marker.as_deref(), i.max_records)?;
        Ok(m::ClusterSubnetGroupMessage { cluster_subnet_groups: Some(items.iter().map(group_out).collect()), marker })
    }
}
