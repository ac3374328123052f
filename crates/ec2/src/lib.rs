//! EC2's network pieces on its query protocol: every region has a default VPC (172.31.0.0/16)
//! with one default subnet per availability zone and a `default` security group; security
//! groups are created, described, deleted, and their ingress and egress rules authorised and
//! revoked. Redshift asks here whether a cluster's groups let a connection in.
use errors::Ec2Error;
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::ec2 as m;
use nuage_storage::redb::TableDefinition;
use nuage_storage::{JsonTable, Store};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::Ipv4Addr;

const GROUPS: JsonTable = TableDefinition::new("ec2_security_groups");
const ZONES: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Rule {
    id: String,
    egress: bool,
    /// `tcp`, `udp`, `icmp`, or `-1` for all traffic.
    protocol: String,
    from: i32,
    to: i32,
    cidr: Option<String>,
    cidr_v6: Option<String>,
    group: Option<String>,
    description: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Group {
    account: String,
    region: String,
    id: String,
    name: String,
    description: String,
    vpc: String,
    rules: Vec<Rule>,
    tags: Vec<(String, String)>,
}

impl Group {
    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.id)
    }

    fn arn(&self) -> String {
        format!("arn:aws:ec2:{}:{}:security-group/{}", self.region, self.account, self.id)
    }
}

/// A VPC's `default` security group: all traffic from its own members in, everything out.
fn default_group(account: &str, region: &str, vpc: &str, id: String) -> Group {
    Group {
        account: account.into(),
        region: region.into(),
        rules: vec![
            Rule { id: random_id("sgr"), ..rule(false, "-1", -1, -1, None, Some(&id)) },
            Rule { id: random_id("sgr"), ..rule(true, "-1", -1, -1, Some("0.0.0.0/0"), None) },
        ],
        id,
        name: "default".into(),
        description: "default VPC security group".into(),
        vpc: vpc.into(),
        tags: vec![],
    }
}

/// The default VPC's default group, with ids derived from the account and region.
fn default_vpc_group(account: &str, region: &str) -> Group {
    let mut g =
        default_group(account, region, &default_vpc(account, region), derived_id("sg", account, region, "default-sg"));
    g.rules[0].id = derived_id("sgr", account, region, "default-in");
    g.rules[1].id = derived_id("sgr", account, region, "default-out");
    g
}

/// A stable id for the default network's pieces of an account and region.
fn derived_id(prefix: &str, account: &str, region: &str, what: &str) -> String {
    let h = hex::encode(Sha256::digest(format!("{account}/{region}/{what}")));
    format!("{prefix}-{}", &h[..17])
}

fn random_id(prefix: &str) -> String {
    let mut r = rand::thread_rng();
    format!("{prefix}-{}", (0..17).map(|_| format!("{:x}", r.gen_range(0..16))).collect::<String>())
}

fn default_vpc(account: &str, region: &str) -> String {
    derived_id("vpc", account, region, "default-vpc")
}

fn zone_id(region: &str, i: usize) -> String {
    // `use1-az1`, `apne1-az2`: the region's area, the initials of its direction, its number.
    let mut parts = region.split('-');
    let mut short = parts.next().unwrap_or_default().to_string();
    for p in parts {
        short.push_str(match p {
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            p if p.chars().all(|c| c.is_ascii_digit()) => p,
            p => &p[..1],
        });
    }
    format!("{short}-az{}", i + 1)
}

fn rule(egress: bool, protocol: &str, from: i32, to: i32, cidr: Option<&str>, group: Option<&str>) -> Rule {
    Rule {
        id: random_id("sgr"),
        egress,
        protocol: protocol.to_string(),
        from,
        to,
        cidr: cidr.map(str::to_string),
        cidr_v6: None,
        group: group.map(str::to_string),
        description: None,
    }
}

/// `tcp`/`6`, `udp`/`17`, `icmp`/`1`, `-1`/`all`, as EC2 stores them.
fn protocol_of(p: Option<&str>) -> AwsResult<String> {
    Ok(match p.unwrap_or("-1").to_ascii_lowercase().as_str() {
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "-1" | "all" => "-1".into(),
        other => {
            return Err(Ec2Error::InvalidParameterValue
                .msg(format!("Invalid value '{other}' for IP protocol. Unknown protocol.")))
        }
    })
}

fn parse_cidr(c: &str) -> AwsResult<(Ipv4Addr, u32)> {
    let bad = || Ec2Error::InvalidParameterValue.msg(format!("CIDR block {c} is malformed"));
    let (ip, bits) = c.split_once('/').ok_or_else(bad)?;
    let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let bits: u32 = bits.parse().map_err(|_| bad())?;
    if bits > 32 {
        return Err(bad());
    }
    Ok((ip, bits))
}

pub struct Ec2Service {
    store: Store,
}

impl Ec2Service {
    pub fn new(store: Store) -> Ec2Service {
        Ec2Service { store }
    }

    /// The region's groups: those stored, and the default VPC's default group until it is
    /// first changed (none once the default VPC is deleted).
    pub(crate) fn groups(&self, account: &str, region: &str) -> AwsResult<Vec<Group>> {
        let snap = self.store.read()?;
        let mut groups: Vec<Group> =
            snap.scan::<Group>(GROUPS, &format!("{account}/{region}/"))?.into_iter().map(|(_, g)| g).collect();
        let default = default_vpc_group(account, region);
        let network = network::Network::load(&snap, account, region)?;
        if network.default_vpc().is_some() && !groups.iter().any(|g| g.id == default.id) {
            groups.push(default);
        }
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    fn group(&self, ctx: &RequestContext, id: Option<&str>, name: Option<&str>) -> AwsResult<Group> {
        let acct = ctx.account_id().unwrap_or_default();
        let groups = self.groups(acct, &ctx.region)?;
        match (id, name) {
            (Some(id), _) => groups
                .into_iter()
                .find(|g| g.id == id)
                .ok_or_else(|| Ec2Error::InvalidGroupNotFound.msg(format!("The security group '{id}' does not exist"))),
            // By name, a group of the default VPC, as EC2 looks groups up by name.
            (None, Some(n)) => {
                groups.into_iter().find(|g| g.name == n && g.vpc == default_vpc(acct, &ctx.region)).ok_or_else(|| {
                    Ec2Error::InvalidGroupNotFound.msg(format!(
                        "The security group '{n}' does not exist in default VPC '{}'",
                        default_vpc(acct, &ctx.region)
                    ))
                })
            }
            (None, None) => {
                Err(Ec2Error::MissingParameter.msg("The request must contain the parameter groupName or groupId"))
            }
        }
    }

    async fn put(&self, g: &Group) -> AwsResult<()> {
        let (k, v) = (g.key(), g.clone());
        self.store.write(move |w| w.put(GROUPS, &k, &v)).await
    }

    /// The rules an authorise or revoke request names, in either of its two forms.
    #[allow(clippy::too_many_arguments)]
    fn requested(
        egress: bool,
        permissions: Option<Vec<m::IpPermission>>,
        protocol: Option<String>,
        from: Option<i32>,
        to: Option<i32>,
        cidr: Option<String>,
        source_group: Option<String>,
    ) -> AwsResult<Vec<Rule>> {
        let mut out = Vec::new();
        for p in permissions.unwrap_or_default() {
            let protocol = protocol_of(p.ip_protocol.as_deref())?;
            let (from, to) =
                if protocol == "-1" { (-1, -1) } else { (p.from_port.unwrap_or(-1), p.to_port.unwrap_or(-1)) };
            for r in p.ip_ranges.unwrap_or_default() {
                let c = r.cidr_ip.unwrap_or_default();
                parse_cidr(&c)?;
                out.push(Rule { description: r.description, ..rule(egress, &protocol, from, to, Some(&c), None) });
            }
            for r in p.ipv6_ranges.unwrap_or_default() {
                out.push(Rule {
                    cidr_v6: r.cidr_ipv6,
                    description: r.description,
                    ..rule(egress, &protocol, from, to, None, None)
                });
            }
            for pair in p.user_id_group_pairs.unwrap_or_default() {
                let g = pair.group_id.or(pair.group_name).unwrap_or_default();
                out.push(Rule { description: pair.description, ..rule(egress, &protocol, from, to, None, Some(&g)) });
            }
        }
        if protocol.is_some() || cidr.is_some() || source_group.is_some() {
            let protocol = protocol_of(protocol.as_deref())?;
            let (from, to) = if protocol == "-1" { (-1, -1) } else { (from.unwrap_or(-1), to.unwrap_or(-1)) };
            if let Some(c) = &cidr {
                parse_cidr(c)?;
            }
            out.push(rule(egress, &protocol, from, to, cidr.as_deref(), source_group.as_deref()));
        }
        if out.is_empty() {
            return Err(Ec2Error::MissingParameter.msg("No IP permissions were given"));
        }
        for r in &out {
            if r.protocol != "-1" && r.protocol != "icmp" && (r.from < 0 || r.to < r.from || r.to > 65535) {
                return Err(Ec2Error::InvalidParameterValue.msg(format!("Invalid port range {}-{}", r.from, r.to)));
            }
        }
        Ok(out)
    }

    fn same(a: &Rule, b: &Rule) -> bool {
        a.egress == b.egress
            && a.protocol == b.protocol
            && a.from == b.from
            && a.to == b.to
            && a.cidr == b.cidr
            && a.cidr_v6 == b.cidr_v6
            && a.group == b.group
    }

    fn rule_out(g: &Group, r: &Rule) -> m::SecurityGroupRule {
        m::SecurityGroupRule {
            security_group_rule_id: Some(r.id.clone()),
            group_id: Some(g.id.clone()),
            group_owner_id: Some(g.account.clone()),
            is_egress: Some(r.egress),
            ip_protocol: Some(r.protocol.clone()),
            from_port: Some(r.from),
            to_port: Some(r.to),
            cidr_ipv4: r.cidr.clone(),
            cidr_ipv6: r.cidr_v6.clone(),
            referenced_group_info: r.group.as_ref().map(|id| m::ReferencedSecurityGroup {
                group_id: Some(id.clone()),
                user_id: Some(g.account.clone()),
                ..Default::default()
            }),
            description: r.description.clone(),
            tags: Some(vec![]),
            security_group_rule_arn: Some(format!(
                "arn:aws:ec2:{}:{}:security-group-rule/{}",
                g.region, g.account, r.id
            )),
            ..Default::default()
        }
    }

    /// Rules as IpPermissions: one per protocol and port range.
    fn permissions(g: &Group, egress: bool) -> Vec<m::IpPermission> {
        let mut out: Vec<m::IpPermission> = Vec::new();
        for r in g.rules.iter().filter(|r| r.egress == egress) {
            let idx = match out.iter().position(|p| {
                p.ip_protocol.as_deref() == Some(r.protocol.as_str())
                    && (r.protocol == "-1" || (p.from_port == Some(r.from) && p.to_port == Some(r.to)))
            }) {
                Some(i) => i,
                None => {
                    out.push(m::IpPermission {
                        ip_protocol: Some(r.protocol.clone()),
                        from_port: (r.protocol != "-1").then_some(r.from),
                        to_port: (r.protocol != "-1").then_some(r.to),
                        user_id_group_pairs: Some(vec![]),
                        ip_ranges: Some(vec![]),
                        ipv6_ranges: Some(vec![]),
                        prefix_list_ids: Some(vec![]),
                    });
                    out.len() - 1
                }
            };
            let p = &mut out[idx];
            if let Some(c) = &r.cidr {
                p.ip_ranges
                    .get_or_insert_with(Vec::new)
                    .push(m::IpRange { cidr_ip: Some(c.clone()), description: r.description.clone() });
            }
            if let Some(c) = &r.cidr_v6 {
                p.ipv6_ranges
                    .get_or_insert_with(Vec::new)
                    .push(m::Ipv6Range { cidr_ipv6: Some(c.clone()), description: r.description.clone() });
            }
            if let Some(gid) = &r.group {
                p.user_id_group_pairs.get_or_insert_with(Vec::new).push(m::UserIdGroupPair {
                    group_id: Some(gid.clone()),
                    user_id: Some(g.account.clone()),
                    description: r.description.clone(),
                    ..Default::default()
                });
            }
        }
        out
    }

    fn group_out(g: &Group) -> m::SecurityGroup {
        m::SecurityGroup {
            group_id: Some(g.id.clone()),
            group_name: Some(g.name.clone()),
            description: Some(g.description.clone()),
            owner_id: Some(g.account.clone()),
            vpc_id: Some(g.vpc.clone()),
            ip_permissions: Some(Self::permissions(g, false)),
            ip_permissions_egress: Some(Self::permissions(g, true)),
            tags: (!g.tags.is_empty())
                .then(|| g.tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()),
            security_group_arn: Some(g.arn()),
        }
    }

    async fn authorize(
        &self,
        ctx: &RequestContext,
        g: Option<&str>,
        n: Option<&str>,
        rules: Vec<Rule>,
    ) -> AwsResult<Vec<m::SecurityGroupRule>> {
        let mut group = self.group(ctx, g, n)?;
        for r in &rules {
            if group.rules.iter().any(|x| Self::same(x, r)) {
                let peer = r.cidr.clone().or(r.cidr_v6.clone()).or(r.group.clone()).unwrap_or_default();
                let proto = if r.protocol == "-1" { "ALL".to_string() } else { r.protocol.to_uppercase() };
                return Err(Ec2Error::InvalidPermissionDuplicate.msg(format!(
                    "the specified rule \"peer: {peer}, {proto}, from port: {}, to port: {}, ALLOW\" already exists",
                    r.from, r.to
                )));
            }
        }
        group.rules.extend(rules.iter().cloned());
        self.put(&group).await?;
        Ok(rules.iter().map(|r| Self::rule_out(&group, r)).collect())
    }

    async fn revoke(
        &self,
        ctx: &RequestContext,
        g: Option<&str>,
        n: Option<&str>,
        rules: Vec<Rule>,
        ids: Vec<String>,
        egress: bool,
    ) -> AwsResult<()> {
        let mut group = self.group(ctx, g, n)?;
        let before = group.rules.len();
        for id in &ids {
            if !group.rules.iter().any(|r| &r.id == id && r.egress == egress) {
                return Err(Ec2Error::InvalidSecurityGroupRuleIdNotFound
                    .msg(format!("The security group rule ID '{id}' does not exist")));
            }
        }
        group.rules.retain(|r| !ids.contains(&r.id) && !rules.iter().any(|x| Self::same(x, r)));
        if group.rules.len() == before {
            return Err(
                Ec2Error::InvalidPermissionNotFound.msg("The specified rule does not exist in this security group.")
            );
        }
        self.put(&group).await
    }
}

/// The rules an authorise or revoke request names (its input shapes share these members).
macro_rules! requested {
    ($egress:expr, $i:expr) => {
        Ec2Service::requested(
            $egress,
            $i.ip_permissions,
            $i.ip_protocol,
            $i.from_port,
            $i.to_port,
            $i.cidr_ip,
            $i.source_security_group_name,
        )
    };
}

mod acls;
mod errors;
mod filters;
mod handlers;
mod network;
mod routes;
mod routing;
mod tags;
mod vpcs;

use tags::tags_for;
