//! Internet gateways (attached to one VPC at a time) and route tables: the local route of the
//! VPC's block, routes to an attached gateway (a blackhole once it is detached), the main
//! table of each VPC, explicit associations with subnets and gateways.
use super::filters::{check, page, tags_out, Facts};
use super::network::*;
use super::*;
use nuage_front::NoOutput;

fn gateway_out(n: &Network, g: &Gateway) -> m::InternetGateway {
    m::InternetGateway {
        internet_gateway_id: Some(g.id.clone()),
        owner_id: Some(n.account.clone()),
        attachments: Some(
            g.vpc
                .iter()
                .map(|v| m::InternetGatewayAttachment { vpc_id: Some(v.clone()), state: Some("available".into()) })
                .collect(),
        ),
        tags: tags_out(&g.tags),
    }
}

/// A route is active while its gateway is attached to the table's VPC.
fn route_state(n: &Network, t: &RouteTable, r: &Route) -> &'static str {
    if r.gateway == "local" || n.gateways.get(&r.gateway).is_some_and(|g| g.vpc.as_deref() == Some(t.vpc.as_str())) {
        "active"
    } else {
        "blackhole"
    }
}

fn association_out(t: &RouteTable, id: &str, target: Option<&str>, main: bool) -> m::RouteTableAssociation {
    let (subnet, gateway) = match target {
        Some(x) if x.starts_with("igw-") => (None, Some(x.to_string())),
        Some(x) => (Some(x.to_string()), None),
        None => (None, None),
    };
    m::RouteTableAssociation {
        main: Some(main),
        route_table_association_id: Some(id.to_string()),
        route_table_id: Some(t.id.clone()),
        subnet_id: subnet,
        gateway_id: gateway,
        association_state: Some(associated()),
        ..Default::default()
    }
}

fn associated() -> m::RouteTableAssociationState {
    m::RouteTableAssociationState { state: Some("associated".into()), status_message: None }
}

fn table_out(n: &Network, t: &RouteTable) -> m::RouteTable {
    let mut associations: Vec<m::RouteTableAssociation> =
        t.main.iter().map(|id| association_out(t, id, None, true)).collect();
    associations.extend(t.associations.iter().map(|a| association_out(t, &a.id, a.target.as_deref(), false)));
    m::RouteTable {
        route_table_id: Some(t.id.clone()),
        vpc_id: Some(t.vpc.clone()),
        owner_id: Some(n.account.clone()),
        associations: Some(associations),
        propagating_vgws: Some(vec![]),
        routes: Some(
            t.routes
                .iter()
                .map(|r| m::Route {
                    destination_cidr_block: Some(r.destination.clone()),
                    gateway_id: Some(r.gateway.clone()),
                    origin: Some(r.origin.clone()),
                    state: Some(route_state(n, t, r).into()),
                    ..Default::default()
                })
                .collect(),
        ),
        tags: tags_out(&t.tags),
    }
}

fn table_facts(n: &Network, t: &RouteTable) -> Facts {
    let mut f = Facts::tagged(&t.tags)
        .with("route-table-id", &t.id)
        .with("vpc-id", &t.vpc)
        .with("owner-id", &n.account)
        .with("association.main", t.main.is_some());
    if let Some(m) = &t.main {
        f.add("association.route-table-association-id", m);
    }
    for a in &t.associations {
        f.add("association.route-table-association-id", &a.id);
        f.add("association.route-table-id", &t.id);
        if let Some(x) = &a.target {
            f.add(if x.starts_with("igw-") { "association.gateway-id" } else { "association.subnet-id" }, x);
        }
    }
    for r in &t.routes {
        f.add("route.destination-cidr-block", &r.destination);
        f.add("route.gateway-id", &r.gateway);
        f.add("route.origin", &r.origin);
        f.add("route.state", route_state(n, t, r));
    }
    f
}

const TABLE_FILTERS: &[&str] = &[
    "route-table-id",
    "vpc-id",
    "owner-id",
    "association.main",
    "association.route-table-association-id",
    "association.route-table-id",
    "association.subnet-id",
    "association.gateway-id",
    "route.destination-cidr-block",
    "route.gateway-id",
    "route.origin",
    "route.state",
];

/// The one target of a route: an internet gateway, or `local` when replacing the local route.
/// The other kinds of target name resources nuage's EC2 does not have, so they do not exist.
macro_rules! route_target {
    ($i:expr) => {{
        let others: [(&Option<String>, Ec2Error, &str); 9] = [
            (&$i.nat_gateway_id, Ec2Error::NatGatewayNotFound, "NAT gateway"),
            (&$i.instance_id, Ec2Error::InvalidInstanceIdNotFound, "instance"),
            (&$i.network_interface_id, Ec2Error::InvalidNetworkInterfaceIdNotFound, "network interface"),
            (&$i.vpc_peering_connection_id, Ec2Error::InvalidVpcPeeringConnectionIdNotFound, "VPC peering connection"),
            (&$i.transit_gateway_id, Ec2Error::InvalidTransitGatewayIdNotFound, "transit gateway"),
            (&$i.egress_only_internet_gateway_id, Ec2Error::InvalidGatewayIdNotFound, "egress-only internet gateway"),
            (&$i.vpc_endpoint_id, Ec2Error::InvalidVpcEndpointIdNotFound, "VPC endpoint"),
            (&$i.local_gateway_id, Ec2Error::InvalidGatewayIdNotFound, "local gateway"),
            (&$i.carrier_gateway_id, Ec2Error::InvalidGatewayIdNotFound, "carrier gateway"),
        ];
        let given = others.iter().filter(|(v, _, _)| v.is_some()).count() + usize::from($i.gateway_id.is_some());
        if given > 1 {
            Err(Ec2Error::InvalidParameterCombination.msg("Only one of the route's targets may be given."))
        } else if let Some((v, code, what)) = others.iter().find(|(v, _, _)| v.is_some()) {
            Err(code.msg(format!("The {what} ID '{}' does not exist", v.as_deref().unwrap_or_default())))
        } else if $i.core_network_arn.is_some() || $i.odb_network_arn.is_some() {
            Err(Ec2Error::InvalidParameterValue.msg("The network ARN given as the route's target does not exist."))
        } else {
            Ok($i.gateway_id.clone())
        }
    }};
}

/// The destination of a route: an IPv4 block (IPv6 blocks and prefix lists are not kept).
fn destination(cidr: Option<String>, v6: &Option<String>, prefix_list: &Option<String>) -> AwsResult<String> {
    if v6.is_some() || prefix_list.is_some() {
        return Err(Ec2Error::UnsupportedOperation.msg(
            "Routes to IPv6 blocks and prefix lists are not supported by nuage's EC2: give DestinationCidrBlock.",
        ));
    }
    let c = cidr
        .ok_or_else(|| Ec2Error::MissingParameter.msg("The request must contain the parameter destinationCidrBlock"))?;
    block(&c, "destinationCidrBlock")?;
    Ok(c)
}

/// The internet gateway a route may go through: attached to the table's VPC.
fn gateway_for(n: &Network, table: &RouteTable, id: &str) -> AwsResult<()> {
    let g = n
        .gateways
        .get(id)
        .ok_or_else(|| Ec2Error::InvalidGatewayIdNotFound.msg(format!("The gateway ID '{id}' does not exist")))?;
    if g.vpc.as_deref() != Some(table.vpc.as_str()) {
        return Err(Ec2Error::InvalidParameterValue
            .msg(format!("route table {} and network gateway {id} belong to different networks", table.id)));
    }
    Ok(())
}

impl Ec2Service {
    pub(crate) async fn create_internet_gateway(
        &self,
        ctx: &RequestContext,
        i: m::CreateInternetGatewayRequest,
    ) -> AwsResult<m::CreateInternetGatewayResult> {
        let tags = tags_for(&i.tag_specifications, "internet-gateway")?;
        let g = Gateway { id: random_id("igw"), vpc: None, tags };
        let stored = g.clone();
        self.change_network(ctx, move |n, _| {
            n.gateways.insert(stored.id.clone(), stored);
            Ok(())
        })
        .await?;
        Ok(m::CreateInternetGatewayResult { internet_gateway: Some(gateway_out(&self.network(ctx)?, &g)) })
    }

    pub(crate) async fn delete_internet_gateway(
        &self,
        ctx: &RequestContext,
        i: m::DeleteInternetGatewayRequest,
    ) -> AwsResult<NoOutput> {
        let id = i.internet_gateway_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            if n.gateway_mut(&id)?.vpc.is_some() {
                return Err(Ec2Error::DependencyViolation
                    .msg(format!("The internetGateway '{id}' has dependencies and cannot be deleted.")));
            }
            n.gateways.remove(&id);
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn attach_internet_gateway(
        &self,
        ctx: &RequestContext,
        i: m::AttachInternetGatewayRequest,
    ) -> AwsResult<NoOutput> {
        let (id, vpc) = (i.internet_gateway_id.unwrap_or_default(), i.vpc_id.unwrap_or_default());
        self.change_network(ctx, move |n, _| {
            n.vpc(&vpc)?;
            if let Some(other) = n.gateways.values().find(|g| g.vpc.as_deref() == Some(vpc.as_str()) && g.id != id) {
                return Err(Ec2Error::ResourceAlreadyAssociated
                    .msg(format!("resource {vpc} is already attached to network gateway {}", other.id)));
            }
            let g = n.gateway_mut(&id)?;
            if let Some(v) = &g.vpc {
                return Err(Ec2Error::ResourceAlreadyAssociated
                    .msg(format!("resource {id} is already attached to network {v}")));
            }
            g.vpc = Some(vpc);
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn detach_internet_gateway(
        &self,
        ctx: &RequestContext,
        i: m::DetachInternetGatewayRequest,
    ) -> AwsResult<NoOutput> {
        let (id, vpc) = (i.internet_gateway_id.unwrap_or_default(), i.vpc_id.unwrap_or_default());
        self.change_network(ctx, move |n, _| {
            n.vpc(&vpc)?;
            let g = n.gateway_mut(&id)?;
            if g.vpc.as_deref() != Some(vpc.as_str()) {
                return Err(Ec2Error::GatewayNotAttached.msg(format!("resource {id} is not attached to network {vpc}")));
            }
            g.vpc = None;
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn describe_internet_gateways(
        &self,
        ctx: &RequestContext,
        i: m::DescribeInternetGatewaysRequest,
    ) -> AwsResult<m::DescribeInternetGatewaysResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, &["internet-gateway-id", "attachment.vpc-id", "attachment.state", "owner-id"])?;
        let n = self.network(ctx)?;
        let ids = i.internet_gateway_ids.unwrap_or_default();
        if let Some(id) = ids.iter().find(|id| !n.gateways.contains_key(*id)) {
            return Err(
                Ec2Error::InvalidInternetGatewayIdNotFound.msg(format!("The internetGateway ID '{id}' does not exist"))
            );
        }
        let gateways: Vec<&Gateway> = n
            .gateways
            .values()
            .filter(|g| ids.is_empty() || ids.contains(&g.id))
            .filter(|g| {
                let mut f = Facts::tagged(&g.tags).with("internet-gateway-id", &g.id).with("owner-id", &n.account);
                if let Some(v) = &g.vpc {
                    f.add("attachment.vpc-id", v);
                    f.add("attachment.state", "available");
                }
                f.keep(&filters)
            })
            .collect();
        let (gateways, next) = page(gateways, |g| &g.id, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeInternetGatewaysResult {
            internet_gateways: Some(gateways.into_iter().map(|g| gateway_out(&n, g)).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn create_route_table(
        &self,
        ctx: &RequestContext,
        i: m::CreateRouteTableRequest,
    ) -> AwsResult<m::CreateRouteTableResult> {
        let tags = tags_for(&i.tag_specifications, "route-table")?;
        let vpc = i.vpc_id.unwrap_or_default();
        let t = self
            .change_network(ctx, move |n, _| {
                let cidr = n.vpc(&vpc)?.cidr.clone();
                let t = RouteTable {
                    id: random_id("rtb"),
                    vpc,
                    main: None,
                    routes: vec![Route {
                        destination: cidr,
                        gateway: "local".into(),
                        origin: "CreateRouteTable".into(),
                    }],
                    associations: vec![],
                    tags,
                };
                n.tables.insert(t.id.clone(), t.clone());
                Ok(t)
            })
            .await?;
        Ok(m::CreateRouteTableResult {
            route_table: Some(table_out(&self.network(ctx)?, &t)),
            client_token: i.client_token,
        })
    }

    pub(crate) async fn delete_route_table(
        &self,
        ctx: &RequestContext,
        i: m::DeleteRouteTableRequest,
    ) -> AwsResult<NoOutput> {
        let id = i.route_table_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let t = n.table_mut(&id)?;
            if t.main.is_some() || !t.associations.is_empty() {
                return Err(Ec2Error::DependencyViolation
                    .msg(format!("The routeTable '{id}' has dependencies and cannot be deleted.")));
            }
            n.tables.remove(&id);
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn describe_route_tables(
        &self,
        ctx: &RequestContext,
        i: m::DescribeRouteTablesRequest,
    ) -> AwsResult<m::DescribeRouteTablesResult> {
        let filters = i.filters.unwrap_or_default();
        check(&filters, TABLE_FILTERS)?;
        let n = self.network(ctx)?;
        let ids = i.route_table_ids.unwrap_or_default();
        if let Some(id) = ids.iter().find(|id| !n.tables.contains_key(*id)) {
            return Err(Ec2Error::InvalidRouteTableIdNotFound.msg(format!("The routeTable ID '{id}' does not exist")));
        }
        let tables: Vec<&RouteTable> = n
            .tables
            .values()
            .filter(|t| ids.is_empty() || ids.contains(&t.id))
            .filter(|t| table_facts(&n, t).keep(&filters))
            .collect();
        let (tables, next) = page(tables, |t| &t.id, i.max_results, i.next_token.as_deref())?;
        Ok(m::DescribeRouteTablesResult {
            route_tables: Some(tables.into_iter().map(|t| table_out(&n, t)).collect()),
            next_token: next,
        })
    }

    pub(crate) async fn create_route(
        &self,
        ctx: &RequestContext,
        i: m::CreateRouteRequest,
    ) -> AwsResult<m::CreateRouteResult> {
        let gateway = route_target!(i)?.ok_or_else(|| {
            Ec2Error::MissingParameter.msg("The request must contain exactly one of gatewayId, natGatewayId, instanceId, networkInterfaceId, vpcPeeringConnectionId or transitGatewayId")
        })?;
        let dest =
            destination(i.destination_cidr_block, &i.destination_ipv6_cidr_block, &i.destination_prefix_list_id)?;
        let id = i.route_table_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let t = n.table_mut(&id)?.clone();
            gateway_for(n, &t, &gateway)?;
            if t.routes.iter().any(|r| r.destination == dest) {
                return Err(Ec2Error::RouteAlreadyExists.msg(format!("The route identified by {dest} already exists.")));
            }
            n.table_mut(&id)?.routes.push(Route { destination: dest, gateway, origin: "CreateRoute".into() });
            Ok(m::CreateRouteResult { r#return: Some(true) })
        })
        .await
    }

    pub(crate) async fn replace_route(&self, ctx: &RequestContext, i: m::ReplaceRouteRequest) -> AwsResult<NoOutput> {
        let target = route_target!(i)?;
        let local = i.local_target == Some(true);
        let dest =
            destination(i.destination_cidr_block, &i.destination_ipv6_cidr_block, &i.destination_prefix_list_id)?;
        let id = i.route_table_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let t = n.table_mut(&id)?.clone();
            let pos = t.routes.iter().position(|r| r.destination == dest).ok_or_else(|| {
                Ec2Error::InvalidRouteNotFound
                    .msg(format!("There is no route defined for '{dest}' in the route table. Use CreateRoute instead."))
            })?;
            let gateway = match (target, local) {
                (Some(g), false) => {
                    gateway_for(n, &t, &g)?;
                    g
                }
                (None, true) => "local".to_string(),
                (Some(_), true) => {
                    return Err(
                        Ec2Error::InvalidParameterCombination.msg("LocalTarget cannot be given with another target.")
                    )
                }
                (None, false) => {
                    return Err(Ec2Error::MissingParameter.msg("The request must contain the route's new target."))
                }
            };
            if t.routes[pos].gateway == "local"
                && gateway != "local"
                && t.routes[pos].destination == n.vpc(&t.vpc)?.cidr
            {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("The local route {dest} of route table {id} cannot be replaced with a gateway.")));
            }
            n.table_mut(&id)?.routes[pos].gateway = gateway;
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn delete_route(&self, ctx: &RequestContext, i: m::DeleteRouteRequest) -> AwsResult<NoOutput> {
        let dest =
            destination(i.destination_cidr_block, &i.destination_ipv6_cidr_block, &i.destination_prefix_list_id)?;
        let id = i.route_table_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let t = n.table_mut(&id)?;
            let pos = t.routes.iter().position(|r| r.destination == dest).ok_or_else(|| {
                Ec2Error::InvalidRouteNotFound
                    .msg(format!("no route with destination-cidr-block {dest} in route table {id}"))
            })?;
            if t.routes[pos].gateway == "local" {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("cannot remove local route {dest} in route table {id}")));
            }
            t.routes.remove(pos);
            Ok(NoOutput)
        })
        .await
    }

    pub(crate) async fn associate_route_table(
        &self,
        ctx: &RequestContext,
        i: m::AssociateRouteTableRequest,
    ) -> AwsResult<m::AssociateRouteTableResult> {
        if i.public_ipv4_pool.is_some() {
            return Err(Ec2Error::UnsupportedOperation.msg("Public IPv4 pools are not supported by nuage's EC2."));
        }
        let target = match (i.subnet_id, i.gateway_id) {
            (Some(s), None) => s,
            (None, Some(g)) => g,
            _ => {
                return Err(Ec2Error::InvalidParameterCombination
                    .msg("The request must contain exactly one of subnetId and gatewayId"))
            }
        };
        let id = i.route_table_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            let vpc = n.table_mut(&id)?.vpc.clone();
            let target_vpc = if target.starts_with("igw-") {
                n.gateway_mut(&target)?.vpc.clone().unwrap_or_default()
            } else {
                n.subnet(&target)?.vpc.clone()
            };
            if target_vpc != vpc {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("Route table {id} and {target} belong to different networks")));
            }
            if n.tables.values().any(|t| t.associations.iter().any(|a| a.target.as_deref() == Some(target.as_str()))) {
                return Err(Ec2Error::ResourceAlreadyAssociated.msg(format!(
                    "the specified association for route table {id} conflicts with an existing association"
                )));
            }
            let assoc = random_id("rtbassoc");
            n.table_mut(&id)?.associations.push(Association { id: assoc.clone(), target: Some(target) });
            Ok(m::AssociateRouteTableResult { association_id: Some(assoc), association_state: Some(associated()) })
        })
        .await
    }

    pub(crate) async fn disassociate_route_table(
        &self,
        ctx: &RequestContext,
        i: m::DisassociateRouteTableRequest,
    ) -> AwsResult<NoOutput> {
        let assoc = i.association_id.unwrap_or_default();
        self.change_network(ctx, move |n, _| {
            if n.tables.values().any(|t| t.main.as_deref() == Some(assoc.as_str())) {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("cannot disassociate the main route table association {assoc}")));
            }
            let t = n
                .tables
                .values_mut()
                .find(|t| t.associations.iter().any(|a| a.id == assoc))
                .ok_or_else(|| association_not_found(&assoc))?;
            t.associations.retain(|a| a.id != assoc);
            Ok(NoOutput)
        })
        .await
    }

    /// Moves an association to another table of the same VPC; the main association moves
    /// the VPC's main table.
    pub(crate) async fn replace_route_table_association(
        &self,
        ctx: &RequestContext,
        i: m::ReplaceRouteTableAssociationRequest,
    ) -> AwsResult<m::ReplaceRouteTableAssociationResult> {
        let (assoc, to) = (i.association_id.unwrap_or_default(), i.route_table_id.unwrap_or_default());
        self.change_network(ctx, move |n, _| {
            let to_vpc = n.table_mut(&to)?.vpc.clone();
            let from = n
                .tables
                .values()
                .find(|t| t.main.as_deref() == Some(assoc.as_str()) || t.associations.iter().any(|a| a.id == assoc))
                .map(|t| t.id.clone())
                .ok_or_else(|| association_not_found(&assoc))?;
            let from_t = n.table_mut(&from)?;
            if from_t.vpc != to_vpc {
                return Err(Ec2Error::InvalidParameterValue
                    .msg(format!("Route table {to} and association {assoc} belong to different networks")));
            }
            let new_id = random_id("rtbassoc");
            if from_t.main.as_deref() == Some(assoc.as_str()) {
                from_t.main = None;
                n.table_mut(&to)?.main = Some(new_id.clone());
            } else {
                let pos = from_t.associations.iter().position(|a| a.id == assoc).unwrap_or_default();
                let target = from_t.associations.remove(pos).target;
                n.table_mut(&to)?.associations.push(Association { id: new_id.clone(), target });
            }
            Ok(m::ReplaceRouteTableAssociationResult {
                new_association_id: Some(new_id),
                association_state: Some(associated()),
            })
        })
        .await
    }
}

fn association_not_found(id: &str) -> nuage_core::AwsError {
    Ec2Error::InvalidAssociationIdNotFound.msg(format!("The association ID '{id}' does not exist"))
}
