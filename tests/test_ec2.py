"""EC2's network pieces with boto3 and the aws CLI: the default VPC, its subnets and zones,
security groups and their rules; and a Redshift cluster's SQL port opened and closed by its
security group, as the getting-started lab's "open port 5439" step does."""
import json

import pytest
from botocore.exceptions import ClientError

from test_redshift import create_cluster, psql, psql_missing


def code(e):
    return e.value.response["Error"]["Code"]


def test_default_network_and_security_groups(server):
    ec2 = server.client("ec2", region="us-west-2")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["IsDefault"] and vpcs[0]["CidrBlock"] == "172.31.0.0/16"
    vpc = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert all(s["DefaultForAz"] for s in subnets)
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-west-2a", "us-west-2b", "us-west-2c"] and zones[0]["State"] == "available"
    # The same account sees the same default VPC every time; another region has its own.
    assert ec2.describe_vpcs()["Vpcs"][0]["VpcId"] == vpc
    assert server.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"] != vpc

    default = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]
    assert default["VpcId"] == vpc and default["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    g = ec2.create_security_group(GroupName="redshift-lab", Description="Redshift from my machine", VpcId=vpc)["GroupId"]
    assert g.startswith("sg-")
    out = ec2.authorize_security_group_ingress(GroupId=g, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "anywhere"}]},
    ])
    rule_id = out["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    assert out["Return"] and rule_id.startswith("sgr-")
    group = ec2.describe_security_groups(GroupIds=[g])["SecurityGroups"][0]
    assert group["IpPermissions"] == [{"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439, "UserIdGroupPairs": [],
                                       "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "anywhere"}], "Ipv6Ranges": [], "PrefixListIds": []}]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [g]}])["SecurityGroupRules"]
    assert sorted(r["IsEgress"] for r in rules) == [False, True]

    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=5439, ToPort=5439, CidrIp="0.0.0.0/0")
    assert code(e) == "InvalidPermission.Duplicate"
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="redshift-lab", Description="again")
    assert code(e) == "InvalidGroup.Duplicate"
    with pytest.raises(ClientError) as e:
        ec2.describe_security_groups(GroupIds=["sg-0123456789abcdef0"])
    assert code(e) == "InvalidGroup.NotFound"
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=1, ToPort=2, CidrIp="10.0.0.0/33")
    assert code(e) == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupId=default["GroupId"])
    assert code(e) == "CannotDelete"

    ec2.revoke_security_group_ingress(GroupId=g, SecurityGroupRuleIds=[rule_id])
    assert ec2.describe_security_groups(GroupIds=[g])["SecurityGroups"][0]["IpPermissions"] == []
    with pytest.raises(ClientError) as e:
        ec2.revoke_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=5439, ToPort=5439, CidrIp="0.0.0.0/0")
    assert code(e) == "InvalidPermission.NotFound"
    ec2.delete_security_group(GroupId=g)
    assert [x["GroupName"] for x in ec2.describe_security_groups()["SecurityGroups"]] == ["default"]

    # The CLI, as the lab types it.
    out = json.loads(server.cli("ec2", "create-security-group", "--group-name", "lab", "--description", "lab").stdout)
    server.cli("ec2", "authorize-security-group-ingress", "--group-id", out["GroupId"], "--protocol", "tcp", "--port", "5439", "--cidr", "0.0.0.0/0")
    described = json.loads(server.cli("ec2", "describe-security-groups", "--group-ids", out["GroupId"]).stdout)
    assert described["SecurityGroups"][0]["IpPermissions"][0]["FromPort"] == 5439


@pytest.mark.skipif(psql_missing, reason="psql is not installed")
def test_cluster_port_follows_its_security_group(server):
    ec2 = server.client("ec2")
    g = ec2.create_security_group(GroupName="sql", Description="SQL port")["GroupId"]
    c = create_cluster(server, "guarded", VpcSecurityGroupIds=[g])
    port = c["Endpoint"]["Port"]
    p = psql(c, "select 1", check=False)
    assert p.returncode != 0
    ec2.authorize_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="127.0.0.0/8")
    assert psql(c, "select 1").stdout.strip() == "1"
    ec2.revoke_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="127.0.0.0/8")
    assert psql(c, "select 1", check=False).returncode != 0
    # A rule for other addresses does not let loopback in; one for everyone does.
    ec2.authorize_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="10.0.0.0/8")
    assert psql(c, "select 1", check=False).returncode != 0
    ec2.authorize_security_group_ingress(GroupId=g, IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0")
    assert psql(c, "select 1").stdout.strip() == "1"
    # A cluster without groups takes loopback connections.
    plain = create_cluster(server, "plain")
    assert psql(plain, "select 1").stdout.strip() == "1"
