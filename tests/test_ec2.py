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


def test_dry_run_and_tag_based_permissions(server):
    iam = server.client("iam")
    iam.create_user(UserName="netops")
    iam.put_user_policy(UserName="netops", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:CreateSecurityGroup", "ec2:Describe*"], "Resource": "*"},
        # Rules may change only on the team's groups, found by their tag.
        {"Effect": "Allow", "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:DeleteSecurityGroup"], "Resource": "*",
         "Condition": {"StringEquals": {"aws:ResourceTag/team": "net"}}},
        # Tagging on creation, only with the team's tag.
        {"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*",
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateSecurityGroup", "aws:RequestTag/team": "net"}}},
    ]}))
    key = iam.create_access_key(UserName="netops")["AccessKey"]
    ec2 = server.client("ec2", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    root = server.client("ec2")

    def tagged(team):
        return [{"ResourceType": "security-group", "Tags": [{"Key": "team", "Value": team}]}]

    # DryRun: authorised, so "would have succeeded", and nothing is created.
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="web", Description="web", DryRun=True)
    assert code(e) == "DryRunOperation" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert root.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web"]}])["SecurityGroups"] == []
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupName="default", DryRun=True)
    assert code(e) == "UnauthorizedOperation"
    # Tags on creation need ec2:CreateTags, here only for the team's tag.
    with pytest.raises(ClientError) as e:
        ec2.create_security_group(GroupName="web", Description="web", TagSpecifications=tagged("other"))
    assert code(e) == "UnauthorizedOperation" and "ec2:CreateTags" in e.value.response["Error"]["Message"]
    mine = ec2.create_security_group(GroupName="web", Description="web", TagSpecifications=tagged("net"))["GroupId"]
    theirs = root.create_security_group(GroupName="db", Description="db", TagSpecifications=tagged("data"))["GroupId"]
    # The group's tags decide what the user may change.
    ec2.authorize_security_group_ingress(GroupId=mine, IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="10.0.0.0/8")
    with pytest.raises(ClientError) as e:
        ec2.authorize_security_group_ingress(GroupId=theirs, IpProtocol="tcp", FromPort=5432, ToPort=5432, CidrIp="10.0.0.0/8")
    assert code(e) == "UnauthorizedOperation"
    with pytest.raises(ClientError) as e:
        ec2.delete_security_group(GroupName="db")
    assert code(e) == "UnauthorizedOperation"
    ec2.delete_security_group(GroupName="web")
    # Only security groups can be tagged by CreateSecurityGroup.
    with pytest.raises(ClientError) as e:
        root.create_security_group(GroupName="x", Description="x", TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}])
    assert code(e) == "InvalidParameterValue"
