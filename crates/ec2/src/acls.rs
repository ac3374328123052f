//! Network ACLs: numbered inbound and outbound rules evaluated in order, the first match
//! deciding, and the final `*` rule denying; each subnet associated with exactly one ACL (its
//! VPC's default until moved). Redshift reads them, with security groups, when a client
//! connects to a cluster in a subnet.
use super::filters::{check, page, tags_out, Facts};
use super::network::*;
use super::*;
use nuage_front::NoOutput;

/// The last rule of every ACL, in each direction: what no numbered rule allows is denied.
const LAST_RULE: i32 = 32767;

fn entry_out(e: &AclEntry) -> m::NetworkAclEntry {
    m::NetworkAclEntry {
        rule_number: Some(e.number),
        egress: Some(e.egress),
        protocol: Some(e.protocol.clone()),
        rule_action: Some(if e.allow { "allow" } else { "deny" }.into()),
        cidr_block: e.cidr.clone(),
        ipv6_cidr_block: e.cidr_v6.clone(),
        port_range: e.ports.map(|(f, t)| m::PortRange { from: Some(f), to: Some(t) }),
        icmp_type_code: e.icmp.map(|(t, c)| m::IcmpTypeCode { r#type: Some(t), code: Some(c) }),
    }
}

fn last_rules() -> Vec<AclEntry> {
    [false, true]
        .into_iter()
        .map(|egress| AclEntry {
            number: LAST_RULE,
            egress,
            protocol: "-1".into(),
            allow: false,
            cidr: Some("0.0.0.0/0".into()),
            cidr_v6: None,
            ports: None,
            icmp: None,
        })
        .collect()
}

fn acl_out(n: &Network, a: &Acl) -> m::NetworkAcl {
    let mut entries: Vec<&AclEntry> = a.entries.iter().collect();
    let last = last_rules();
    entries.extend(last.iter());
    entries.sort_by_key(|e| (e.egress, e.number));
    m::NetworkAcl {
        network_acl_id: Some(a.id.clone()),
        vpc_id: Some(a.vpc.clone()),
        is_default: Some(a.is_default),
        owner_id: Some(n.account.clone()),
        entries: Some(entries.into_iter().map(entry_out).collect()),
        associations: Some(
            a.associations
                .iter()
                .map(|(id, subnet)| m::NetworkAclAssociation {
                    network_acl_association_id: Some(id.clone()),
                    network_acl_id: Some(a.id.clone()),
                    subnet_id: Some(subnet.clone()),
                })
                .collect(),
        ),
        tags: tags_out(&a.tags),
    }
}

fn acl_facts(n: &Network, a: &Acl) -> Facts {
    let mut f = Facts::tagged(&a.tags)
        .with("network-acl-id", &a.id)
        .with("vpc-id", &a.vpc)
        .with("default", a.is_default)
        .with("owner-id", &n.account);
    for (id, subnet) in &a.associations {
        f.add("association.association-id", id);
        f.add("association.network-acl-id", &a.id);
        f.add("association.subnet-id", subnet);
    }
    for e in a.entries.iter().chain(last_rules().iter()) {
        f.add("entry.rule-number", e.number);
        f.add("entry.egress", e.egress);
        f.add("entry.protocol", &e.protocol);
        f.add("entry.rule-action", if e.allow { "allow" } else { "deny" });
        if let Some(c) = &e.cidr {
            f.add("entry.cidr", c);
        }
        if let Some((from, to)) = e.ports {
            f.add("entry.port-range.from", from);
            f.add("entry.port-range.to", to);
        }
    }
    f
}

const ACL_FILTERS: &[&str] = &[
    "network-acl-id",
    "vpc-id",
    "default",
    "owner-id",
    "association.association-id",
    "association.network-acl-id",
    "association.subnet-id",
    "entry.rule-number",
    "entry.egress",
    "entry.protocol",
    "entry.rule-action",
    "entry.cidr",
    "entry.port-range.from",
    "entry.port-range.to",
];

/// A protocol as a network ACL keeps it: `-1` (all) or its number.
fn acl_protocol(p: &str) -> AwsResult<String> {
    let n = match p.to_ascii_lowercase().as_str() {
        "-1" | "all" => return Ok("-1".into()),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        other => other.parse::<i32>().ok().filter(|n| (0..=255).contains(n)).ok_or_else(|| {
            Ec2Error::InvalidParameterValue.msg(format!("Invalid value '{p}' for protocol. Unknown protocol."))
        })?,
    };
    Ok(n.to_string())
}

/// The rule a Create/ReplaceNetworkAclEntry request states, checked as EC2 checks it.
macro_rules! requested_entry {
    ($i:expr) => {{
        let number = $i.rule_number.unwrap_or_default();
        if !(1..=32766).contains(&number) {
            return Err(Ec2Error::InvalidParameterValue.msg(format!(
                "Value ({number}) for parameter ruleNumber is invalid. Rule numbers must be between 1 and 32766."
            )));
        }
        let protocol = acl_protocol($i.protocol.as_deref().unwrap_or_default())?;
        let allow = match $i.rule_action.as_deref().unwrap_or_default() {
            "allow" => true,
            "deny" => false,
            other => {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("Value ({other}) for parameter ruleAction is invalid.")))
            }
        };
        match (&$i.cidr_block, &$i.ipv6_cidr_block) {
            (Some(c), None) => {
                parse_cidr(c)?;
            }
            (None, Some(c)) => {
                let ok = c.split_once('/').is_some_and(|(ip, bits)| {
                    ip.parse::<std::net::Ipv6Addr>().is_ok() && bits.parse::<u32>().is_ok_and(|b| b <= 128)
                });
                if !ok {
                    return Err(Ec2Error::InvalidParameterValue.msg(format!("CIDR block {c} is malformed")));
                }
            }
            _ => {
                return Err(Ec2Error::InvalidParameterCombination
                    .msg("The request must contain exactly one of cidrBlock and ipv6CidrBlock"))
            }
        }
        let ports = match (&$i.port_range, protocol.as_str()) {
            (Some(r), "6" | "17") => {
                let (from, to) = (r.from.unwrap_or(-1), r.to.unwrap_or(-1));
                if !(0..=65535).contains(&from) || !(from..=65535).contains(&to) {
                    return Err(Ec2Error::InvalidParameterValue.msg(format!("Invalid port range {from}-{to}")));
                }
                Some((from, to))
            }
            (None, "6" | "17") => {
                return Err(Ec2Error::MissingParameter
                    .msg("The request must contain the parameter portRange for a TCP or UDP rule"))
            }
            _ => None,
        };
        let icmp = match (&$i.icmp_type_code, protocol.as_str()) {
            (Some(t), "1") => Some((t.r#type.unwrap_or(-1), t.code.unwrap_or(-1))),
            (None, "1") => {
                return Err(Ec2Error::MissingParameter
                    .msg("The request must contain the parameter icmpTypeCode for an ICMP rule"))
            }
            _ => None,
        };
        AclEntry {
            number,
            egress: $i.egress.unwrap_or(false),
            protocol,
            allow,
            cidr: $i.cidr_block.clone(),
            cidr_v6: $i.ipv6_cidr_block.clone(),
            ports,
            icmp,
        }
    }};
}

impl Ec2Service {
    pub(crate) async fn create_network_acl(
        &self,
        ctx: &RequestContext,
        i: m::CreateNetworkAclRequest,
    ) -> AwsResult<m::CreateNetworkAclResult> {
        let tags = tags_for(&i.tag_specifications, "network-acl")?;
        let vpc = i.vpc_id.unwrap_or_default();
        let a = self
            .change_network(ctx, move |n, _| {
                n.vpc(&vpc)?;
                let a =
                    Acl { id: random_id("acl"), vpc, is_default: false, entries: vec![], associations: vec![], tags };
                n.acls.insert(a.id.clone(), a.clone());
                Ok(a)
            })
            .await?;
        Ok(m::CreateNetworkAclResult {
            network_acl: Some(acl_out(&self.network(ctx)?, &a)),
            client_token: i.client_token,
        })
    }

    pub(crate) async fn delete_network_acl(
        &self,
        ctx: &RequestContext,
        i: m::DeleteNetworkAclRequest,
    ) -> AwsResult<NoOutput> {
        let id = i.network_acl_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let a = n.acl_mut(&id)?;
            if a.is_default {
                return Err(Ec2Error::InvalidParameterValue.msg(format!("cannot delete default network ACL {id}")));
            }
            if !a.associations.is_empty() {
                return Err(Ec2Error::DependencyViolation
                    .msg(format!("The networkAcl '{id}' has dependencies and cannot be deleted.")));
            }
            n.acls.remove(&id);
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn describe_network_acls(
        &self,
        ctx: &RequestContext,
        i: m::DescribeNetworkAclsRequest,
    ) -> AwsResult<m::DescribeNetworkAclsResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, ACL_FILTERS)?;
        let n = self.network(ctx)?;
        let ids = i.network_acl_ids.unwrap_or_default();
        if let Some(id) = ids.iter().find(|id| !n.acls.contains_key(*id)) {
            return Err(Ec2Error::InvalidNetworkAclIdNotFound.msg(format!("The networkAcl ID '{id}' does not exist")));
        }
        let acls: Vec<&Acl> = n
            .acls
            .values()
            .filter(|a| ids.is_empty() || ids.contains(&a.id))
            .filter(|a| acl_facts(&n, a).keep(&filters))
            .collect();
        let (acls, next) = page(acls, |a| &a.id, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeNetworkAclsResult {
            network_acls: Some(acls.into_iter().map(|a| acl_out(&n, a)).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn create_network_acl_entry(
        &self,
        ctx: &RequestContext,
        i: m::CreateNetworkAclEntryRequest,
    ) -> AwsResult<NoOutput> {
        let entry = requested_entry!(i);
        let id = i.network_acl_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let a = n.acl_mut(&id)?;
            if a.entries.iter().any(|e| e.number == entry.number && e.egress == entry.egress) {
                return Err(Ec2Error::NetworkAclEntryAlreadyExists
                    .msg(format!("The network acl entry identified by {} already exists.", entry.number)));
            }
            a.entries.push(entry);
            a.entries.sort_by_key(|e| (e.egress, e.number));
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn replace_network_acl_entry(
        &self,
        ctx: &RequestContext,
        i: m::ReplaceNetworkAclEntryRequest,
    ) -> AwsResult<NoOutput> {
        let entry = requested_entry!(i);
        let id = i.network_acl_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let a = n.acl_mut(&id)?;
            let e = a
                .entries
                .iter_mut()
                .find(|e| e.number == entry.number && e.egress == entry.egress)
                .ok_or_else(|| entry_not_found(entry.number))?;
            *e = entry;
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn delete_network_acl_entry(
        &self,
        ctx: &RequestContext,
        i: m::DeleteNetworkAclEntryRequest,
    ) -> AwsResult<NoOutput> {
        let (number, egress) = (i.rule_number.unwrap_or_default(), i.egress.unwrap_or(false));
        let id = i.network_acl_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let a = n.acl_mut(&id)?;
            let before = a.entries.len();
            a.entries.retain(|e| !(e.number == number && e.egress == egress));
            if a.entries.len() == before {
                return Err(entry_not_found(number));
            }
            Ok(NoOutput)
        })
        .await
    }

    /// Moves a subnet's association to another ACL of its VPC.
    pub(crate) async fn replace_network_acl_association(
        &self,
        ctx: &RequestContext,
        i: m::ReplaceNetworkAclAssociationRequest,
    ) -> AwsResult<m::ReplaceNetworkAclAssociationResult> {
        let (assoc, to) = (i.association_id.unwrap_or_default(), i.network_acl_id.unwrap_or_default());
        self.change_network(ctx, move |n, _| {
            let to_vpc = n.acl_mut(&to)?.vpc.clone();
            let (from, subnet) = n
                .acls
                .values()
                .find_map(|a| {
                    a.associations.iter().find(|(id, _)| *id == assoc).map(|(_, s)| (a.id.clone(), s.clone()))
                })
                .ok_or_else(|| {
                    Ec2Error::InvalidAssociationIdNotFound.msg(format!("The association ID '{assoc}' does not exist"))
                })?;
            if n.acls[&from].vpc != to_vpc {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("Network ACL {to} and association {assoc} belong to different networks")));
            }
            n.acl_mut(&from)?.associations.retain(|(id, _)| *id != assoc);
            let new_id = random_id("aclassoc");
            n.acl_mut(&to)?.associations.push((new_id.clone(), subnet));
            Ok(m::ReplaceNetworkAclAssociationResult { new_association_id: Some(new_id) })
        })
        .await
    }
}

fn entry_not_found(number: i32) -> nuage_core::AwsError {
    Ec2Error::InvalidNetworkAclEntryNotFound.msg(format!("The network acl entry identified by {number} does not exist"))
}
