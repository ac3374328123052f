//! A region's network as one value: VPCs, subnets, internet gateways, route tables and network
//! ACLs. The default VPC's pieces exist without being stored (ids derived from the account and
//! region); a piece is stored once created or changed, and a removed default piece leaves a
//! tombstone. Changes are made inside one store write (`Ec2Service::change_network`): the
//! network is read, changed and its differences written back in the same transaction, so two
//! requests never undo each other's change.
use super::*;
use std::collections::BTreeMap;

pub(crate) const NETWORK: JsonTable = TableDefinition::new("ec2_network");

pub(crate) type Tags = Vec<(String, String)>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Vpc {
    pub id: String,
    pub cidr: String,
    pub cidr_association: String,
    pub is_default: bool,
    pub tenancy: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    pub address_usage_metrics: bool,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Subnet {
    pub id: String,
    pub vpc: String,
    pub cidr: String,
    /// Index into the region's zones.
    pub zone: usize,
    pub default_for_az: bool,
    pub map_public_ip: bool,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Gateway {
    pub id: String,
    pub vpc: Option<String>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Route {
    pub destination: String,
    /// `local`, or an internet gateway's id.
    pub gateway: String,
    /// `CreateRouteTable` (the local route), `CreateRoute`.
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Association {
    pub id: String,
    /// A subnet's or a gateway's id; none for the VPC's main association.
    pub target: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RouteTable {
    pub id: String,
    pub vpc: String,
    pub main: Option<String>,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AclEntry {
    pub number: i32,
    pub egress: bool,
    /// `-1` for all, else the protocol's number.
    pub protocol: String,
    pub allow: bool,
    pub cidr: Option<String>,
    pub cidr_v6: Option<String>,
    pub ports: Option<(i32, i32)>,
    pub icmp: Option<(i32, i32)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Acl {
    pub id: String,
    pub vpc: String,
    pub is_default: bool,
    pub entries: Vec<AclEntry>,
    /// (association id, subnet id)
    pub associations: Vec<(String, String)>,
    pub tags: Tags,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub(crate) enum Piece {
    Vpc(Vpc),
    Subnet(Subnet),
    Gateway(Gateway),
    RouteTable(RouteTable),
    Acl(Acl),
    Deleted,
}

/// What can list stored pieces: a snapshot, or a write in progress.
pub(crate) trait Reads {
    fn pieces(&self, prefix: &str) -> AwsResult<Vec<(String, Piece)>>;
}

impl Reads for nuage_storage::Snapshot {
    fn pieces(&self, prefix: &str) -> AwsResult<Vec<(String, Piece)>> {
        self.scan(NETWORK, prefix)
    }
}

impl Reads for nuage_storage::WriteCtx<'_> {
    fn pieces(&self, prefix: &str) -> AwsResult<Vec<(String, Piece)>> {
        self.scan(NETWORK, prefix)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Network {
    pub account: String,
    pub region: String,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub gateways: BTreeMap<String, Gateway>,
    pub tables: BTreeMap<String, RouteTable>,
    pub acls: BTreeMap<String, Acl>,
}

/// The default VPC's address range and its subnets' (one /20 per zone).
pub(crate) const DEFAULT_CIDR: &str = "172.31.0.0/16";

pub(crate) fn acl_entries_allowing_all() -> Vec<AclEntry> {
    let mut out = Vec::new();
    for egress in [false, true] {
        out.push(AclEntry {
            number: 100,
            egress,
            protocol: "-1".into(),
            allow: true,
            cidr: Some("0.0.0.0/0".into()),
            cidr_v6: None,
            ports: None,
            icmp: None,
        });
    }
    out
}

impl Network {
    /// The default VPC and its pieces, as every region starts.
    fn defaults(account: &str, region: &str) -> Network {
        let d = |prefix: &str, what: &str| derived_id(prefix, account, region, what);
        let vpc = default_vpc(account, region);
        let mut n = Network { account: account.into(), region: region.into(), ..Default::default() };
        n.vpcs.insert(
            vpc.clone(),
            Vpc {
                id: vpc.clone(),
                cidr: DEFAULT_CIDR.into(),
                cidr_association: d("vpc-cidr-assoc", "cidr"),
                is_default: true,
                tenancy: "default".into(),
                dns_support: true,
                dns_hostnames: true,
                address_usage_metrics: false,
                tags: vec![],
            },
        );
        let igw = d("igw", "default-igw");
        n.gateways.insert(igw.clone(), Gateway { id: igw.clone(), vpc: Some(vpc.clone()), tags: vec![] });
        let mut acl = Acl {
            id: d("acl", "default-acl"),
            vpc: vpc.clone(),
            is_default: true,
            entries: acl_entries_allowing_all(),
            associations: vec![],
            tags: vec![],
        };
        for (i, z) in ZONES.iter().enumerate() {
            let id = d("subnet", z);
            n.subnets.insert(
                id.clone(),
                Subnet {
                    id: id.clone(),
                    vpc: vpc.clone(),
                    cidr: format!("172.31.{}.0/20", i * 16),
                    zone: i,
                    default_for_az: true,
                    map_public_ip: true,
                    tags: vec![],
                },
            );
            acl.associations.push((d("aclassoc", z), id));
        }
        n.acls.insert(acl.id.clone(), acl);
        let rtb = d("rtb", "main");
        n.tables.insert(
            rtb.clone(),
            RouteTable {
                id: rtb,
                vpc: vpc.clone(),
                main: Some(d("rtbassoc", "main")),
                routes: vec![
                    Route {
                        destination: DEFAULT_CIDR.into(),
                        gateway: "local".into(),
                        origin: "CreateRouteTable".into(),
                    },
                    Route { destination: "0.0.0.0/0".into(), gateway: igw, origin: "CreateRoute".into() },
                ],
                associations: vec![],
                tags: vec![],
            },
        );
        n
    }

    /// The region's network: its default pieces overlaid with what is stored.
    pub(crate) fn load(r: &impl Reads, account: &str, region: &str) -> AwsResult<Network> {
        let mut n = Network::defaults(account, region);
        let prefix = format!("{account}/{region}/");
        for (key, piece) in r.pieces(&prefix)? {
            let id = key[prefix.len()..].to_string();
            n.remove(&id);
            match piece {
                Piece::Vpc(v) => {
                    n.vpcs.insert(id, v);
                }
                Piece::Subnet(s) => {
                    n.subnets.insert(id, s);
                }
                Piece::Gateway(g) => {
                    n.gateways.insert(id, g);
                }
                Piece::RouteTable(t) => {
                    n.tables.insert(id, t);
                }
                Piece::Acl(a) => {
                    n.acls.insert(id, a);
                }
                Piece::Deleted => {}
            }
        }
        Ok(n)
    }

    fn remove(&mut self, id: &str) {
        self.vpcs.remove(id);
        self.subnets.remove(id);
        self.gateways.remove(id);
        self.tables.remove(id);
        self.acls.remove(id);
    }

    fn piece(&self, id: &str) -> Option<Piece> {
        self.vpcs
            .get(id)
            .cloned()
            .map(Piece::Vpc)
            .or_else(|| self.subnets.get(id).cloned().map(Piece::Subnet))
            .or_else(|| self.gateways.get(id).cloned().map(Piece::Gateway))
            .or_else(|| self.tables.get(id).cloned().map(Piece::RouteTable))
            .or_else(|| self.acls.get(id).cloned().map(Piece::Acl))
    }

    fn ids(&self) -> std::collections::BTreeSet<String> {
        self.vpcs
            .keys()
            .chain(self.subnets.keys())
            .chain(self.gateways.keys())
            .chain(self.tables.keys())
            .chain(self.acls.keys())
            .cloned()
            .collect()
    }

    /// Writes what differs from `before`: changed pieces, and removals (a tombstone for a
    /// default piece, which would otherwise come back).
    pub(crate) fn save(&self, before: &Network, w: &nuage_storage::WriteCtx) -> AwsResult<()> {
        let defaults = Network::defaults(&self.account, &self.region);
        let key = |id: &str| format!("{}/{}/{id}", self.account, self.region);
        for id in self.ids().union(&before.ids()) {
            let (now, was) = (self.piece(id), before.piece(id));
            if now == was {
                continue;
            }
            match now {
                Some(p) => w.put(NETWORK, &key(id), &p)?,
                None if defaults.piece(id).is_some() => w.put(NETWORK, &key(id), &Piece::Deleted)?,
                None => w.delete(NETWORK, &key(id))?,
            }
        }
        Ok(())
    }

    pub(crate) fn vpc(&self, id: &str) -> AwsResult<&Vpc> {
        self.vpcs.get(id).ok_or_else(|| vpc_not_found(id))
    }

    pub(crate) fn vpc_mut(&mut self, id: &str) -> AwsResult<&mut Vpc> {
        self.vpcs.get_mut(id).ok_or_else(|| vpc_not_found(id))
    }

    pub(crate) fn subnet(&self, id: &str) -> AwsResult<&Subnet> {
        self.subnets
            .get(id)
            .ok_or_else(|| Ec2Error::InvalidSubnetIdNotFound.msg(format!("The subnet ID '{id}' does not exist")))
    }

    pub(crate) fn subnet_mut(&mut self, id: &str) -> AwsResult<&mut Subnet> {
        self.subnets
            .get_mut(id)
            .ok_or_else(|| Ec2Error::InvalidSubnetIdNotFound.msg(format!("The subnet ID '{id}' does not exist")))
    }

    pub(crate) fn gateway_mut(&mut self, id: &str) -> AwsResult<&mut Gateway> {
        self.gateways.get_mut(id).ok_or_else(|| {
            Ec2Error::InvalidInternetGatewayIdNotFound.msg(format!("The internetGateway ID '{id}' does not exist"))
        })
    }

    pub(crate) fn table_mut(&mut self, id: &str) -> AwsResult<&mut RouteTable> {
        self.tables.get_mut(id).ok_or_else(|| {
            Ec2Error::InvalidRouteTableIdNotFound.msg(format!("The routeTable ID '{id}' does not exist"))
        })
    }

    pub(crate) fn acl_mut(&mut self, id: &str) -> AwsResult<&mut Acl> {
        self.acls.get_mut(id).ok_or_else(|| {
            Ec2Error::InvalidNetworkAclIdNotFound.msg(format!("The networkAcl ID '{id}' does not exist"))
        })
    }

    /// The VPC's default network ACL.
    pub(crate) fn default_acl(&self, vpc: &str) -> Option<&Acl> {
        self.acls.values().find(|a| a.vpc == vpc && a.is_default)
    }

    /// The default VPC, unless it was deleted.
    pub(crate) fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    /// The tags of a VPC piece, by id.
    pub(crate) fn tags_mut(&mut self, id: &str) -> Option<&mut Tags> {
        if let Some(v) = self.vpcs.get_mut(id) {
            return Some(&mut v.tags);
        }
        if let Some(s) = self.subnets.get_mut(id) {
            return Some(&mut s.tags);
        }
        if let Some(g) = self.gateways.get_mut(id) {
            return Some(&mut g.tags);
        }
        if let Some(t) = self.tables.get_mut(id) {
            return Some(&mut t.tags);
        }
        self.acls.get_mut(id).map(|a| &mut a.tags)
    }

    /// (resource type, id, tags) of every piece, for DescribeTags.
    pub(crate) fn tagged(&self) -> Vec<(&'static str, &str, &Tags)> {
        let mut out: Vec<(&'static str, &str, &Tags)> = Vec::new();
        out.extend(self.vpcs.values().map(|v| ("vpc", v.id.as_str(), &v.tags)));
        out.extend(self.subnets.values().map(|v| ("subnet", v.id.as_str(), &v.tags)));
        out.extend(self.gateways.values().map(|v| ("internet-gateway", v.id.as_str(), &v.tags)));
        out.extend(self.tables.values().map(|v| ("route-table", v.id.as_str(), &v.tags)));
        out.extend(self.acls.values().map(|v| ("network-acl", v.id.as_str(), &v.tags)));
        out
    }
}

pub(crate) fn vpc_not_found(id: &str) -> nuage_core::AwsError {
    Ec2Error::InvalidVpcIdNotFound.msg(format!("The vpc ID '{id}' does not exist"))
}

/// An IPv4 block as (network address, prefix length), which must be the block's first address.
pub(crate) fn block(c: &str, what: &str) -> AwsResult<(u32, u32)> {
    let (ip, bits) = parse_cidr(c)?;
    let base = u32::from(ip);
    if bits < 32 && base & !mask(bits) != 0 {
        return Err(Ec2Error::InvalidParameterValue
            .msg(format!("Value ({c}) for parameter {what} is invalid. This is not a valid CIDR block.")));
    }
    Ok((base, bits))
}

pub(crate) fn mask(bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    }
}

/// Whether block `inner` lies within block `outer`.
pub(crate) fn within(inner: (u32, u32), outer: (u32, u32)) -> bool {
    inner.1 >= outer.1 && inner.0 & mask(outer.1) == outer.0
}

pub(crate) fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    within(a, b) || within(b, a)
}

impl Ec2Service {
    /// The region's network as it is now.
    pub(crate) fn network(&self, ctx: &RequestContext) -> AwsResult<Network> {
        Network::load(&self.store.read()?, ctx.account_id().unwrap_or_default(), &ctx.region)
    }

    /// Runs `f` on the region's network inside one store write and saves what it changed;
    /// an error from `f` changes nothing. `f` may also touch the store (security groups).
    pub(crate) async fn change_network<T, F>(&self, ctx: &RequestContext, f: F) -> AwsResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Network, &nuage_storage::WriteCtx) -> AwsResult<T> + Send + 'static,
    {
        let (account, region) = (ctx.account_id().unwrap_or_default().to_string(), ctx.region.clone());
        self.store
            .write(move |w| {
                let before = Network::load(w, &account, &region)?;
                let mut n = before.clone();
                let out = f(&mut n, w)?;
                n.save(&before, w)?;
                Ok(out)
            })
            .await
    }
}
