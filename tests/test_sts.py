"""STS on the query protocol: botocore serialises the request and parses nuage's answer."""
import json

import pytest
from botocore.exceptions import ClientError

from conftest import with_bootstrap


@pytest.fixture
def multi(tmp_path):
    n = with_bootstrap(
        tmp_path,
        """
[[account]]
id = "123456789012"
display_name = "lab"
root_keys = [{ access_key = "LABROOT", secret_key = "labsecret" }]
[[account.user]]
name = "mary"
keys = [{ access_key = "MARYKEY", secret_key = "marysecret" }]
""",
    )
    yield n
    n.kill()


def test_get_caller_identity_for_root_and_user(multi):
    root = multi.client("sts").get_caller_identity()
    assert root["Account"] == "000000000000" and root["Arn"] == "arn:aws:iam::000000000000:root"
    lab = multi.client("sts", access_key="LABROOT", secret_key="labsecret").get_caller_identity()
    assert lab["Arn"] == "arn:aws:iam::123456789012:root" and lab["UserId"] == "123456789012"
    mary = multi.client("sts", access_key="MARYKEY", secret_key="marysecret").get_caller_identity()
    assert mary["Arn"] == "arn:aws:iam::123456789012:user/mary" and mary["UserId"].startswith("AIDA")


def test_cli_sts_and_wrong_secret(multi):
    out = json.loads(multi.cli("sts", "get-caller-identity").stdout)
    assert out["Account"] == "000000000000"
    bad = multi.cli("sts", "get-caller-identity", check=False, secret_key="wrong")
    assert bad.returncode != 0 and "SignatureDoesNotMatch" in bad.stderr


def _role_with(iam, name, trust_actions, identity=None):
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                                                    "Action": trust_actions}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if identity:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": identity}))
    return arn


def _list_buckets_when(key, value):
    """An identity policy: ListBuckets when `key` is `value`, and the role-chaining permissions."""
    return [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*", "Condition": {"StringEquals": {key: value}}},
            {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"], "Resource": "*"}]


def _as(server, creds, service):
    return server.client(service, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])


def test_source_identity_is_kept_through_role_chains(server):
    iam = server.client("iam")
    needs_mary = _list_buckets_when("aws:SourceIdentity", "mary")
    first = _role_with(iam, "First", ["sts:AssumeRole", "sts:SetSourceIdentity"], needs_mary)
    second = _role_with(iam, "Second", ["sts:AssumeRole", "sts:SetSourceIdentity"], needs_mary)
    no_set = _role_with(iam, "NoSet", ["sts:AssumeRole"], needs_mary)
    sts = server.client("sts")
    out = sts.assume_role(RoleArn=first, RoleSessionName="s1", SourceIdentity="mary")
    assert out["SourceIdentity"] == "mary"
    one = out["Credentials"]
    # Requests of the session carry aws:SourceIdentity.
    _as(server, one, "s3").list_buckets()
    without = sts.assume_role(RoleArn=first, RoleSessionName="s0")["Credentials"]
    with pytest.raises(ClientError) as e:
        _as(server, without, "s3").list_buckets()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # Chained: the source identity passes on (SourceIdentity omitted), and cannot change.
    two = _as(server, one, "sts").assume_role(RoleArn=second, RoleSessionName="s2")
    assert two["SourceIdentity"] == "mary"
    _as(server, two["Credentials"], "s3").list_buckets()
    with pytest.raises(ClientError) as e:
        _as(server, one, "sts").assume_role(RoleArn=second, RoleSessionName="s3", SourceIdentity="bob")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # Every role of the chain must allow sts:SetSourceIdentity.
    with pytest.raises(ClientError) as e:
        _as(server, one, "sts").assume_role(RoleArn=no_set, RoleSessionName="s4")
    assert "sts:SetSourceIdentity" in e.value.response["Error"]["Message"]
    # Setting one at all needs that permission.
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=no_set, RoleSessionName="s5", SourceIdentity="mary")
    assert "because no role trust policy allows the sts:SetSourceIdentity action" in e.value.response["Error"]["Message"]


def test_session_tags_and_transitive_tags(server):
    iam = server.client("iam")
    by_team = _list_buckets_when("aws:PrincipalTag/team", "blue")
    first = _role_with(iam, "Tagged", ["sts:AssumeRole", "sts:TagSession"], by_team)
    second = _role_with(iam, "Next", ["sts:AssumeRole", "sts:TagSession"], by_team)
    untaggable = _role_with(iam, "Untaggable", ["sts:AssumeRole"], by_team)
    sts = server.client("sts")
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=untaggable, RoleSessionName="xx", Tags=[{"Key": "team", "Value": "blue"}])
    assert "because no role trust policy allows the sts:TagSession action" in e.value.response["Error"]["Message"]
    # A transitive key must be one of the tags passed.
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=first, RoleSessionName="xx", Tags=[{"Key": "team", "Value": "blue"}], TransitiveTagKeys=["cost"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    # Tag keys are case-insensitive: one key twice is refused.
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=first, RoleSessionName="xx", Tags=[{"Key": "team", "Value": "a"}, {"Key": "Team", "Value": "b"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    plain = sts.assume_role(RoleArn=first, RoleSessionName="pp", Tags=[{"Key": "team", "Value": "blue"}])["Credentials"]
    transitive = sts.assume_role(RoleArn=first, RoleSessionName="tt", Tags=[{"Key": "team", "Value": "blue"}],
                                 TransitiveTagKeys=["team"])["Credentials"]
    _as(server, plain, "s3").list_buckets()
    # Chained: only the transitive tag reaches the next session.
    chained_plain = _as(server, plain, "sts").assume_role(RoleArn=second, RoleSessionName="c1")["Credentials"]
    with pytest.raises(ClientError):
        _as(server, chained_plain, "s3").list_buckets()
    chained = _as(server, transitive, "sts").assume_role(RoleArn=second, RoleSessionName="c2")["Credentials"]
    _as(server, chained, "s3").list_buckets()
    # An inherited transitive tag cannot be overridden.
    with pytest.raises(ClientError) as e:
        _as(server, transitive, "sts").assume_role(RoleArn=second, RoleSessionName="c3", Tags=[{"Key": "TEAM", "Value": "red"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_federation_tokens(server):
    iam = server.client("iam")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="q1.csv", Body=b"x")
    iam.create_user(UserName="broker")
    iam.put_user_policy(UserName="broker", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetFederationToken", "s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="broker")["AccessKey"]
    broker = server.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    read_only = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}]})
    out = broker.get_federation_token(Name="ana", Policy=read_only, DurationSeconds=900, MinimumSessionTokenSize=2048)
    assert out["FederatedUser"] == {"FederatedUserId": "000000000000:ana", "Arn": "arn:aws:sts::000000000000:federated-user/ana"}
    assert out["SessionTokenSize"] >= 2048 and len(out["Credentials"]["SessionToken"]) == out["SessionTokenSize"]
    assert out["SessionTokenUtilization"] == out["SessionTokenSize"] * 100 // 4096
    c = out["Credentials"]
    fed = dict(access_key=c["AccessKeyId"], secret_key=c["SecretAccessKey"], session_token=c["SessionToken"])
    assert server.client("sts", **fed).get_caller_identity()["Arn"] == "arn:aws:sts::000000000000:federated-user/ana"
    # The broker's permissions, capped by the session policy.
    assert server.client("s3", **fed).get_object(Bucket="reports", Key="q1.csv")["Body"].read() == b"x"
    with pytest.raises(ClientError) as e:
        server.client("s3", **fed).list_objects_v2(Bucket="reports")
    assert "because no session policy allows the s3:ListBucket action" in e.value.response["Error"]["Message"]
    # Without a session policy, a federated user may do nothing.
    bare = broker.get_federation_token(Name="bob")["Credentials"]
    with pytest.raises(ClientError):
        server.client("s3", access_key=bare["AccessKeyId"], secret_key=bare["SecretAccessKey"], session_token=bare["SessionToken"]).get_object(Bucket="reports", Key="q1.csv")
    # Federated credentials call no IAM operation, and no STS one but GetCallerIdentity.
    with pytest.raises(ClientError) as e:
        server.client("iam", **fed).list_users()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(ClientError) as e:
        server.client("sts", **fed).get_federation_token(Name="again")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # The action is a permission of its own.
    iam.create_user(UserName="nobody")
    nk = iam.create_access_key(UserName="nobody")["AccessKey"]
    with pytest.raises(ClientError) as e:
        server.client("sts", access_key=nk["AccessKeyId"], secret_key=nk["SecretAccessKey"]).get_federation_token(Name="x1")
    assert "sts:GetFederationToken" in e.value.response["Error"]["Message"]
    # GetAccessKeyInfo: the account of any key nuage issued, whatever its state.
    sts = server.client("sts")
    assert sts.get_access_key_info(AccessKeyId=key["AccessKeyId"])["Account"] == "000000000000"
    assert sts.get_access_key_info(AccessKeyId=c["AccessKeyId"])["Account"] == "000000000000"
    iam.update_access_key(UserName="nobody", AccessKeyId=nk["AccessKeyId"], Status="Inactive")
    assert sts.get_access_key_info(AccessKeyId=nk["AccessKeyId"])["Account"] == "000000000000"


def test_get_session_token_credentials_reach_iam_only_with_mfa(server):
    iam = server.client("iam")
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:ListUsers", "s3:ListAllMyBuckets"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    creds = server.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).get_session_token()["Credentials"]
    s = dict(access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"], session_token=creds["SessionToken"])
    server.client("s3", **s).list_buckets()
    with pytest.raises(ClientError) as e:
        server.client("iam", **s).list_users()
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    server.client("iam", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).list_users()
