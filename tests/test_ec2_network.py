"""EC2's network beyond the default VPC, with boto3 and the aws CLI: VPCs, subnets, internet
gateways, route tables, network ACLs, tags and the account's attributes, each checked as EC2
checks it, authorised by the evaluator and kept across a restart."""
import json

import pytest
from botocore.exceptions import ClientError

from test_redshift import create_cluster, psql, psql_missing


def code(e):
    return e.value.response["Error"]["Code"]


def fails(expected, fn, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        fn(*args, **kwargs)
    assert code(e) == expected, e.value.response["Error"]
    return e.value.response["Error"]["Message"]


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def test_vpc_comes_with_its_main_route_table_default_acl_and_group(server):
    ec2 = server.client("ec2", region="eu-west-1")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "lab"}]}])["Vpc"]
    vid = vpc["VpcId"]
    assert vid.startswith("vpc-") and vpc["State"] == "available" and not vpc["IsDefault"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" and tags(vpc) == {"Name": "lab"} and vpc["InstanceTenancy"] == "default"
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"] == "associated"

    found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["l*"]}])["Vpcs"]
    assert [v["VpcId"] for v in found] == [vid]
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2  # and the default VPC
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["false"]}])["Vpcs"][0]["VpcId"] == vid

    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"]
    assert len(tables) == 1 and tables[0]["Associations"][0]["Main"] is True
    assert tables[0]["Routes"] == [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local",
                                    "Origin": "CreateRouteTable", "State": "active"}]
    acls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vid]}])["NetworkAcls"]
    assert len(acls) == 1 and acls[0]["IsDefault"]
    rules = sorted((e["Egress"], e["RuleNumber"], e["RuleAction"]) for e in acls[0]["Entries"])
    assert rules == [(False, 100, "allow"), (False, 32767, "deny"), (True, 100, "allow"), (True, 32767, "deny")]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    # DNS attributes, one at a time.
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport")["EnableDnsSupport"]["Value"] is True
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] is False
    ec2.modify_vpc_attribute(VpcId=vid, EnableDnsHostnames={"Value": True})
    assert ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"] is True
    fails("InvalidParameterCombination", ec2.modify_vpc_attribute, VpcId=vid,
          EnableDnsHostnames={"Value": True}, EnableDnsSupport={"Value": True})

    # The address plan: /16 to /28 network blocks only.
    assert "10.0.0.0/8" in fails("InvalidVpc.Range", ec2.create_vpc, CidrBlock="10.0.0.0/8")
    fails("InvalidVpc.Range", ec2.create_vpc, CidrBlock="10.0.0.0/29")
    fails("InvalidParameterValue", ec2.create_vpc, CidrBlock="10.0.0.1/16")
    fails("InvalidParameterValue", ec2.create_vpc, CidrBlock="10.0.0.0/16",
          TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "a", "Value": "b"}]}])
    fails("UnsupportedOperation", ec2.create_vpc, CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)
    fails("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=["vpc-0123456789abcdef0"])
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2  # the refused requests made nothing

    # Dry runs answer without doing.
    fails("DryRunOperation", ec2.create_vpc, CidrBlock="10.9.0.0/16", DryRun=True)
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2


def test_subnets_lie_within_their_vpc_and_do_not_overlap(server):
    ec2 = server.client("ec2", region="us-east-2")
    vid = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    s = ec2.create_subnet(VpcId=vid, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-2b")["Subnet"]
    assert s["VpcId"] == vid and s["AvailabilityZone"] == "us-east-2b" and s["AvailabilityZoneId"] == "use2-az2"
    assert s["AvailableIpAddressCount"] == 256 - 5 and s["MapPublicIpOnLaunch"] is False and not s["DefaultForAz"]
    assert s["SubnetArn"].endswith(":subnet/" + s["SubnetId"])
    other = ec2.create_subnet(VpcId=vid, CidrBlock="10.1.2.0/28")["Subnet"]
    assert other["AvailableIpAddressCount"] == 11

    assert "10.2.0.0/24" in fails("InvalidSubnet.Range", ec2.create_subnet, VpcId=vid, CidrBlock="10.2.0.0/24")
    fails("InvalidSubnet.Conflict", ec2.create_subnet, VpcId=vid, CidrBlock="10.1.1.128/25")
    fails("InvalidSubnet.Conflict", ec2.create_subnet, VpcId=vid, CidrBlock="10.1.0.0/20")
    fails("InvalidParameterValue", ec2.create_subnet, VpcId=vid, CidrBlock="10.1.3.0/24", AvailabilityZone="us-east-2z")
    fails("InvalidVpcID.NotFound", ec2.create_subnet, VpcId="vpc-0123456789abcdef0", CidrBlock="10.1.3.0/24")

    ec2.modify_subnet_attribute(SubnetId=s["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    mine = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}])["Subnets"]
    assert {x["SubnetId"]: x["MapPublicIpOnLaunch"] for x in mine} == {s["SubnetId"]: True, other["SubnetId"]: False}
    assert ec2.describe_subnets(Filters=[{"Name": "cidr-block", "Values": ["10.1.2.*"]}])["Subnets"][0]["SubnetId"] == other["SubnetId"]
    # A new subnet joins the VPC's default network ACL.
    acl = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [s["SubnetId"]]}])["NetworkAcls"]
    assert len(acl) == 1 and acl[0]["IsDefault"] and acl[0]["VpcId"] == vid

    # Pages of a Describe.
    for n in range(3, 8):
        ec2.create_subnet(VpcId=vid, CidrBlock=f"10.1.{n}.0/24")
    seen, token = [], None
    while True:
        page = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vid]}], MaxResults=5,
                                    **({"NextToken": token} if token else {}))
        seen += [x["SubnetId"] for x in page["Subnets"]]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == 7

    ec2.delete_subnet(SubnetId=other["SubnetId"])
    fails("InvalidSubnetID.NotFound", ec2.describe_subnets, SubnetIds=[other["SubnetId"]])
    fails("InvalidSubnetID.NotFound", ec2.delete_subnet, SubnetId=other["SubnetId"])


def test_internet_gateway_routes_and_associations(server):
    ec2 = server.client("ec2")
    vid = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vid, CidrBlock="10.2.0.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]
    gid = igw["InternetGatewayId"]
    assert gid.startswith("igw-") and igw["Attachments"] == []
    rtb = ec2.create_route_table(VpcId=vid)["RouteTable"]["RouteTableId"]
    # A route goes through a gateway attached to the table's VPC.
    assert "different networks" in fails("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,
                                         DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    fails("Resource.AlreadyAssociated", ec2.attach_internet_gateway, InternetGatewayId=gid, VpcId=vid)
    second = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    fails("Resource.AlreadyAssociated", ec2.attach_internet_gateway, InternetGatewayId=second, VpcId=vid)
    assert ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)["Return"] is True
    fails("RouteAlreadyExists", ec2.create_route, RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=gid)
    fails("NatGatewayNotFound", ec2.create_route, RouteTableId=rtb, DestinationCidrBlock="1.0.0.0/8",
          NatGatewayId="nat-0123456789abcdef0")
    fails("InvalidParameterValue", ec2.delete_route, RouteTableId=rtb, DestinationCidrBlock="10.2.0.0/16")
    fails("InvalidRoute.NotFound", ec2.delete_route, RouteTableId=rtb, DestinationCidrBlock="8.8.8.0/24")

    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=sub)
    assert assoc["AssociationState"]["State"] == "associated"
    fails("Resource.AlreadyAssociated", ec2.associate_route_table, RouteTableId=rtb, SubnetId=sub)
    public = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [sub]}])["RouteTables"]
    assert [t["RouteTableId"] for t in public] == [rtb]
    routes = {r["DestinationCidrBlock"]: (r["GatewayId"], r["State"]) for r in public[0]["Routes"]}
    assert routes == {"10.2.0.0/16": ("local", "active"), "0.0.0.0/0": (gid, "active")}

    # A table in use, or an attached gateway, cannot be deleted.
    fails("DependencyViolation", ec2.delete_route_table, RouteTableId=rtb)
    fails("DependencyViolation", ec2.delete_internet_gateway, InternetGatewayId=gid)
    # Detached, the gateway's route is a blackhole.
    ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    fails("Gateway.NotAttached", ec2.detach_internet_gateway, InternetGatewayId=gid, VpcId=vid)
    t = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]
    assert {r["DestinationCidrBlock"]: r["State"] for r in t["Routes"]}["0.0.0.0/0"] == "blackhole"
    assert ec2.describe_route_tables(Filters=[{"Name": "route.state", "Values": ["blackhole"]}])["RouteTables"][0]["RouteTableId"] == rtb

    # The main table moves with its association.
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]},
                                              {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]
    main_assoc = main["Associations"][0]["RouteTableAssociationId"]
    fails("InvalidParameterValue", ec2.disassociate_route_table, AssociationId=main_assoc)
    moved = ec2.replace_route_table_association(AssociationId=main_assoc, RouteTableId=rtb)["NewAssociationId"]
    now_main = ec2.describe_route_tables(Filters=[{"Name": "association.main", "Values": ["true"]},
                                                  {"Name": "vpc-id", "Values": [vid]}])["RouteTables"]
    assert [x["RouteTableId"] for x in now_main] == [rtb]
    ec2.delete_route_table(RouteTableId=main["RouteTableId"])  # no longer main: it may go
    ec2.replace_route_table_association(AssociationId=moved, RouteTableId=rtb)
    ec2.disassociate_route_table(AssociationId=assoc["AssociationId"])
    fails("InvalidAssociationID.NotFound", ec2.disassociate_route_table, AssociationId=assoc["AssociationId"])
    ec2.delete_internet_gateway(InternetGatewayId=gid)
    fails("InvalidInternetGatewayID.NotFound", ec2.describe_internet_gateways, InternetGatewayIds=[gid])


def test_network_acl_entries_and_associations(server):
    ec2 = server.client("ec2")
    vid = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vid, CidrBlock="10.3.0.0/24")["Subnet"]["SubnetId"]
    acl = ec2.create_network_acl(VpcId=vid)["NetworkAcl"]
    aid = acl["NetworkAclId"]
    assert not acl["IsDefault"] and sorted(e["RuleNumber"] for e in acl["Entries"]) == [32767, 32767]
    ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="10.0.0.0/8", PortRange={"From": 5439, "To": 5439})
    fails("NetworkAclEntryAlreadyExists", ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=100, Protocol="-1",
          RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0")
    # The same number the other way is another rule.
    ec2.create_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="-1", RuleAction="allow", Egress=True,
                                 CidrBlock="0.0.0.0/0")
    fails("MissingParameter", ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=110, Protocol="6",
          RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0")
    fails("InvalidParameterValue", ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=32767, Protocol="-1",
          RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0")
    fails("InvalidParameterValue", ec2.create_network_acl_entry, NetworkAclId=aid, RuleNumber=120, Protocol="-1",
          RuleAction="maybe", Egress=False, CidrBlock="0.0.0.0/0")
    ec2.replace_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Protocol="6", RuleAction="deny", Egress=False,
                                  CidrBlock="10.0.0.0/8", PortRange={"From": 5439, "To": 5440})
    entries = ec2.describe_network_acls(NetworkAclIds=[aid])["NetworkAcls"][0]["Entries"]
    inbound = [e for e in entries if not e["Egress"] and e["RuleNumber"] == 100][0]
    assert inbound["RuleAction"] == "deny" and inbound["PortRange"] == {"From": 5439, "To": 5440} and inbound["Protocol"] == "6"
    fails("InvalidNetworkAclEntry.NotFound", ec2.delete_network_acl_entry, NetworkAclId=aid, RuleNumber=200, Egress=False)

    # The subnet moves from the default ACL to this one.
    default = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [sub]}])["NetworkAcls"][0]
    old = [a for a in default["Associations"] if a["SubnetId"] == sub][0]["NetworkAclAssociationId"]
    new = ec2.replace_network_acl_association(AssociationId=old, NetworkAclId=aid)["NewAssociationId"]
    now = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [sub]}])["NetworkAcls"]
    assert [a["NetworkAclId"] for a in now] == [aid]
    fails("DependencyViolation", ec2.delete_network_acl, NetworkAclId=aid)
    fails("InvalidParameterValue", ec2.delete_network_acl, NetworkAclId=default["NetworkAclId"])
    ec2.replace_network_acl_association(AssociationId=new, NetworkAclId=default["NetworkAclId"])
    ec2.delete_network_acl_entry(NetworkAclId=aid, RuleNumber=100, Egress=False)
    ec2.delete_network_acl(NetworkAclId=aid)
    fails("InvalidNetworkAclID.NotFound", ec2.describe_network_acls, NetworkAclIds=[aid])


def test_vpc_deleted_only_without_dependencies_and_state_survives_restart(server):
    ec2 = server.client("ec2")
    vid = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vid, CidrBlock="10.4.0.0/24")["Subnet"]["SubnetId"]
    gid = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gid, VpcId=vid)
    sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vid)["GroupId"]
    # Security group names are unique per VPC, not per region.
    ec2.create_security_group(GroupName="app", Description="app in the default VPC")
    ec2.create_tags(Resources=[vid, sub, sg], Tags=[{"Key": "env", "Value": "test"}])

    server.restart()
    ec2 = server.client("ec2")
    assert tags(ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]) == {"env": "test"}
    assert ec2.describe_subnets(SubnetIds=[sub])["Subnets"][0]["CidrBlock"] == "10.4.0.0/24"
    assert ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"][0]["Attachments"] == [
        {"State": "available", "VpcId": vid}]

    for step in (lambda: ec2.delete_subnet(SubnetId=sub),
                 lambda: ec2.detach_internet_gateway(InternetGatewayId=gid, VpcId=vid),
                 lambda: ec2.delete_security_group(GroupId=sg)):
        assert "has dependencies" in fails("DependencyViolation", ec2.delete_vpc, VpcId=vid)
        step()
    ec2.delete_vpc(VpcId=vid)
    fails("InvalidVpcID.NotFound", ec2.describe_vpcs, VpcIds=[vid])
    # Its main route table, default ACL and default group went with it.
    assert ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"] == []
    assert ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vid]}])["NetworkAcls"] == []
    assert ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"] == []
    assert ec2.describe_internet_gateways(InternetGatewayIds=[gid])["InternetGateways"][0]["Attachments"] == []


def test_default_vpc_can_be_taken_apart(server):
    ec2 = server.client("ec2", region="ap-south-1")
    default = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"][0]
    vid = default["AttributeValues"][0]["AttributeValue"]
    assert vid == ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    igw = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vid]}])["InternetGateways"]
    assert len(igw) == 1
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vid]}])["RouteTables"][0]
    assert {r["DestinationCidrBlock"]: r["GatewayId"] for r in main["Routes"]} == {
        "172.31.0.0/16": "local", "0.0.0.0/0": igw[0]["InternetGatewayId"]}
    for s in ec2.describe_subnets()["Subnets"]:
        ec2.delete_subnet(SubnetId=s["SubnetId"])
    ec2.detach_internet_gateway(InternetGatewayId=igw[0]["InternetGatewayId"], VpcId=vid)
    ec2.delete_vpc(VpcId=vid)
    assert ec2.describe_vpcs()["Vpcs"] == []
    attrs = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
             for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attrs["default-vpc"] == ["none"] and attrs["supported-platforms"] == ["VPC"]
    assert ec2.describe_security_groups()["SecurityGroups"] == []
    fails("VPCIdNotSpecified", ec2.create_security_group, GroupName="x", Description="x")
    # Other regions keep theirs.
    assert len(server.client("ec2", region="ap-south-2").describe_vpcs()["Vpcs"]) == 1


def test_tags_on_many_resources_at_once(server):
    ec2 = server.client("ec2")
    vid = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    sub = ec2.create_subnet(VpcId=vid, CidrBlock="10.5.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    ec2.create_tags(Resources=[vid, sub, sg], Tags=[{"Key": "team", "Value": "data"}, {"Key": "Name", "Value": "x"}])
    found = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["team"]}])["Tags"]
    assert sorted((t["ResourceType"], t["ResourceId"]) for t in found) == sorted(
        [("vpc", vid), ("subnet", sub), ("security-group", sg)])
    assert ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["subnet"]}])["Tags"] == [
        {"Key": "Name", "ResourceId": sub, "ResourceType": "subnet", "Value": "x"},
        {"Key": "team", "ResourceId": sub, "ResourceType": "subnet", "Value": "data"}]
    assert ec2.describe_security_groups(Filters=[{"Name": "tag:team", "Values": ["data"]}])["SecurityGroups"][0]["GroupId"] == sg

    # All or nothing: one unknown resource and no resource is tagged.
    fails("InvalidSubnetID.NotFound", ec2.create_tags, Resources=[vid, "subnet-0123456789abcdef0"],
          Tags=[{"Key": "new", "Value": "1"}])
    fails("InvalidID", ec2.create_tags, Resources=["bogus-1"], Tags=[{"Key": "new", "Value": "1"}])
    assert "new" not in tags(ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0])
    fails("InvalidParameterValue", ec2.create_tags, Resources=[vid], Tags=[{"Key": "aws:x", "Value": "1"}])
    fails("TagLimitExceeded", ec2.create_tags, Resources=[vid],
          Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(49)])

    # A value given must match for the tag to go; a key alone removes it; nothing removes all.
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "team", "Value": "other"}])
    assert tags(ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]) == {"team": "data", "Name": "x"}
    ec2.delete_tags(Resources=[vid], Tags=[{"Key": "team"}])
    assert tags(ec2.describe_vpcs(VpcIds=[vid])["Vpcs"][0]) == {"Name": "x"}
    ec2.delete_tags(Resources=[sub])
    assert "Tags" not in ec2.describe_subnets(SubnetIds=[sub])["Subnets"][0]


def test_network_authorised_by_tags(server):
    iam = server.client("iam")
    iam.create_user(UserName="netadmin")
    iam.put_user_policy(UserName="netadmin", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["ec2:DeleteVpc", "ec2:CreateSubnet"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}},
        {"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}},
    ]}))
    key = iam.create_access_key(UserName="netadmin")["AccessKey"]
    ec2 = server.client("ec2", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    prod = ec2.create_vpc(CidrBlock="10.6.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "env", "Value": "prod"}]}])["Vpc"]["VpcId"]
    dev = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    fails("UnauthorizedOperation", ec2.delete_vpc, VpcId=prod)
    fails("UnauthorizedOperation", ec2.create_subnet, VpcId=prod, CidrBlock="10.6.0.0/24")
    ec2.create_subnet(VpcId=dev, CidrBlock="10.7.0.0/24")
    fails("UnauthorizedOperation", ec2.create_tags, Resources=[dev], Tags=[{"Key": "owner", "Value": "me"}])
    fails("UnauthorizedOperation", ec2.create_vpc, CidrBlock="10.8.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "owner", "Value": "me"}]}])
    # The dry run of an allowed request says so; of a denied one, that it is denied.
    fails("DryRunOperation", ec2.delete_vpc, VpcId=dev, DryRun=True)
    fails("UnauthorizedOperation", ec2.delete_vpc, VpcId=prod, DryRun=True)
    server.client("ec2").delete_vpc(VpcId=prod)  # the account's root may


def test_network_with_the_aws_cli(server):
    vid = server.cli("ec2", "create-vpc", "--cidr-block", "10.10.0.0/16", "--query", "Vpc.VpcId", "--output", "text").stdout.strip()
    assert vid.startswith("vpc-")
    sub = server.cli("ec2", "create-subnet", "--vpc-id", vid, "--cidr-block", "10.10.1.0/24",
                     "--availability-zone", "us-east-1a", "--query", "Subnet.SubnetId", "--output", "text").stdout.strip()
    server.cli("ec2", "create-tags", "--resources", vid, sub, "--tags", "Key=Name,Value=cli")
    out = json.loads(server.cli("ec2", "describe-subnets", "--filters", "Name=tag:Name,Values=cli").stdout)
    assert [s["SubnetId"] for s in out["Subnets"]] == [sub]
    attrs = json.loads(server.cli("ec2", "describe-account-attributes", "--attribute-names", "supported-platforms").stdout)
    assert attrs["AccountAttributes"][0]["AttributeValues"] == [{"AttributeValue": "VPC"}]
    bad = server.cli("ec2", "create-subnet", "--vpc-id", vid, "--cidr-block", "10.11.0.0/24", check=False)
    assert bad.returncode != 0 and "InvalidSubnet.Range" in bad.stderr


@pytest.mark.skipif(psql_missing, reason="psql is not installed")
def test_cluster_in_its_own_vpc_admitted_by_acl_and_security_group(server):
    """The lab's network, built by hand: a VPC with two subnets, a cluster subnet group over
    them, a security group opening the port; then the subnet's network ACL decides too, both
    ways, as on AWS (ACLs keep no state: the reply to the client needs an outbound rule)."""
    ec2, rs = server.client("ec2"), server.client("redshift")
    vid = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vid, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
               for n, z in ((1, "a"), (2, "b"))]
    group = rs.create_cluster_subnet_group(ClusterSubnetGroupName="lab-net", Description="lab", SubnetIds=subnets)
    assert group["ClusterSubnetGroup"]["VpcId"] == vid
    sg = ec2.create_security_group(GroupName="sql", Description="SQL port", VpcId=vid)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpProtocol="tcp", FromPort=0, ToPort=65535, CidrIp="127.0.0.0/8")
    c = create_cluster(server, "private", ClusterSubnetGroupName="lab-net", VpcSecurityGroupIds=[sg],
                       AvailabilityZone="us-east-1b")
    assert c["VpcId"] == vid
    assert psql(c, "select 1").stdout.strip() == "1"

    # The cluster's subnet is the group's one in its zone: an ACL on the other does nothing.
    acl = ec2.create_network_acl(VpcId=vid)["NetworkAcl"]["NetworkAclId"]
    default = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vid]}, {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]
    assoc = {a["SubnetId"]: a["NetworkAclAssociationId"] for a in default["Associations"]}
    moved = ec2.replace_network_acl_association(AssociationId=assoc[subnets[0]], NetworkAclId=acl)["NewAssociationId"]
    assert psql(c, "select 1").stdout.strip() == "1"
    ec2.replace_network_acl_association(AssociationId=moved, NetworkAclId=default["NetworkAclId"])
    default = ec2.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])["NetworkAcls"][0]
    assoc = {a["SubnetId"]: a["NetworkAclAssociationId"] for a in default["Associations"]}

    # On the cluster's subnet, a new ACL denies everything until its rules allow.
    ec2.replace_network_acl_association(AssociationId=assoc[subnets[1]], NetworkAclId=acl)
    assert psql(c, "select 1", check=False).returncode != 0
    port = c["Endpoint"]["Port"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="127.0.0.0/8", PortRange={"From": port, "To": port})
    assert psql(c, "select 1", check=False).returncode != 0  # no way back yet
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=True,
                                 CidrBlock="127.0.0.0/8", PortRange={"From": 1024, "To": 65535})
    assert psql(c, "select 1").stdout.strip() == "1"
    # A lower-numbered deny wins.
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=50, Protocol="-1", RuleAction="deny", Egress=False,
                                 CidrBlock="127.0.0.1/32")
    assert psql(c, "select 1", check=False).returncode != 0
