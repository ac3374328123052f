"""Secrets Manager with boto3: secrets, versions and staging labels, scheduled deletion and
restore, AWS's errors, IAM enforcement; and the Redshift Data API reading a secret."""
import json
import time

import pytest
from botocore.exceptions import ClientError


def code(e):
    return e.value.response["Error"]["Code"]


def test_secret_versions_deletion_and_errors(server):
    sm = server.client("secretsmanager")
    out = sm.create_secret(Name="prod/db", SecretString='{"username": "awsuser", "password": "p1"}', Description="the db",
                           Tags=[{"Key": "team", "Value": "data"}])
    assert out["ARN"].startswith("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db-") and len(out["ARN"].rsplit("-", 1)[1]) == 6
    first = out["VersionId"]
    v = sm.get_secret_value(SecretId="prod/db")
    assert json.loads(v["SecretString"])["password"] == "p1" and v["VersionStages"] == ["AWSCURRENT"]
    assert sm.get_secret_value(SecretId=out["ARN"])["VersionId"] == first

    second = sm.put_secret_value(SecretId="prod/db", SecretString='{"username": "awsuser", "password": "p2"}')
    assert second["VersionStages"] == ["AWSCURRENT"]
    assert json.loads(sm.get_secret_value(SecretId="prod/db")["SecretString"])["password"] == "p2"
    assert json.loads(sm.get_secret_value(SecretId="prod/db", VersionStage="AWSPREVIOUS")["SecretString"])["password"] == "p1"
    d = sm.describe_secret(SecretId="prod/db")
    assert d["VersionIdsToStages"] == {first: ["AWSPREVIOUS"], second["VersionId"]: ["AWSCURRENT"]}
    assert d["Description"] == "the db" and d["Tags"] == [{"Key": "team", "Value": "data"}]
    # The same client token with the same value is the same request; another value is refused.
    again = sm.put_secret_value(SecretId="prod/db", SecretString="x", ClientRequestToken="a" * 32)
    assert sm.put_secret_value(SecretId="prod/db", SecretString="x", ClientRequestToken="a" * 32)["VersionId"] == again["VersionId"]
    with pytest.raises(ClientError) as e:
        sm.put_secret_value(SecretId="prod/db", SecretString="y", ClientRequestToken="a" * 32)
    assert code(e) == "ResourceExistsException"

    sm.create_secret(Name="other", SecretBinary=b"\x00\x01")
    assert sm.get_secret_value(SecretId="other")["SecretBinary"] == b"\x00\x01"
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["prod/db", "other"]
    assert [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": ["prod"]}])["SecretList"]] == ["prod/db"]

    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="prod/db", SecretString="x")
    assert code(e) == "ResourceExistsException"
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="nope")
    assert code(e) == "ResourceNotFoundException" and "can't find the specified secret" in str(e.value)
    with pytest.raises(ClientError) as e:
        sm.delete_secret(SecretId="other", RecoveryWindowInDays=3)
    assert code(e) == "InvalidParameterException"

    gone = sm.delete_secret(SecretId="prod/db", RecoveryWindowInDays=7)
    assert gone["DeletionDate"].timestamp() > time.time() + 6 * 86400
    with pytest.raises(ClientError) as e:
        sm.get_secret_value(SecretId="prod/db")
    assert code(e) == "InvalidRequestException" and "marked for deletion" in str(e.value)
    assert [s["Name"] for s in sm.list_secrets()["SecretList"]] == ["other"]
    assert len(sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]) == 2
    sm.restore_secret(SecretId="prod/db")
    assert sm.get_secret_value(SecretId="prod/db")["SecretString"] == "x"
    sm.delete_secret(SecretId="other", ForceDeleteWithoutRecovery=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId="other")
    assert code(e) == "ResourceNotFoundException"

    # Kept across a restart; IAM decides who reads what.
    server.restart()
    sm = server.client("secretsmanager")
    assert sm.describe_secret(SecretId="prod/db")["Name"] == "prod/db"
    iam = server.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="one", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:DescribeSecret", "Resource": "arn:aws:secretsmanager:*:*:secret:prod/*"}],
    }))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = server.client("secretsmanager", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert reader.describe_secret(SecretId="prod/db")["Name"] == "prod/db"
    with pytest.raises(ClientError) as e:
        reader.get_secret_value(SecretId="prod/db")
    assert code(e) == "AccessDeniedException" and "secretsmanager:GetSecretValue" in str(e.value)


def test_update_stages_versions_tags_and_random_passwords(server):
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="app/db", SecretString='{"password": "one"}')["ARN"]
    v2 = sm.update_secret(SecretId="app/db", SecretString='{"password": "two"}', Description="the app's database")["VersionId"]
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == '{"password": "two"}'
    assert sm.describe_secret(SecretId="app/db")["Description"] == "the app's database"
    # Only a description: no new version.
    assert "VersionId" not in sm.update_secret(SecretId="app/db", Description="changed")
    versions = {v["VersionId"]: v["VersionStages"] for v in sm.list_secret_version_ids(SecretId="app/db")["Versions"]}
    assert versions[v2] == ["AWSCURRENT"] and sorted(versions.values()) == [["AWSCURRENT"], ["AWSPREVIOUS"]]
    v1 = next(k for k, s in versions.items() if s == ["AWSPREVIOUS"])
    # Moving AWSCURRENT back is a rollback: the current version becomes AWSPREVIOUS.
    with pytest.raises(ClientError) as e:
        sm.update_secret_version_stage(SecretId="app/db", VersionStage="AWSCURRENT", MoveToVersionId=v1)
    assert code(e) == "InvalidParameterException" and "RemoveFromVersionId" in e.value.response["Error"]["Message"]
    sm.update_secret_version_stage(SecretId="app/db", VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2)
    assert sm.get_secret_value(SecretId="app/db")["SecretString"] == '{"password": "one"}'
    assert sm.get_secret_value(SecretId="app/db", VersionStage="AWSPREVIOUS")["VersionId"] == v2
    # A label of one's own.
    sm.update_secret_version_stage(SecretId="app/db", VersionStage="TESTING", MoveToVersionId=v2)
    assert sm.get_secret_value(SecretId="app/db", VersionStage="TESTING")["VersionId"] == v2
    # Tags, as the evaluator sees them.
    sm.tag_resource(SecretId="app/db", Tags=[{"Key": "team", "Value": "data"}, {"Key": "env", "Value": "dev"}])
    sm.untag_resource(SecretId="app/db", TagKeys=["env"])
    assert sm.describe_secret(SecretId="app/db")["Tags"] == [{"Key": "team", "Value": "data"}]
    # Random passwords with the asked character classes.
    p = sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
    assert len(p) == 40 and p.isalnum() and any(c.isupper() for c in p) and any(c.isdigit() for c in p)
    p = sm.get_random_password(PasswordLength=8, ExcludeCharacters="abcdefghijklmnopqrstuvwxyz", ExcludeNumbers=True, ExcludePunctuation=True)["RandomPassword"]
    assert p.isupper() and len(p) == 8
    with pytest.raises(ClientError) as e:
        sm.get_random_password(PasswordLength=2)
    assert code(e) == "InvalidParameterException"
    # Rotation runs a Lambda function: refused, not recorded and never run.
    with pytest.raises(ClientError) as e:
        sm.rotate_secret(SecretId="app/db", RotationLambdaARN="arn:aws:lambda:us-east-1:000000000000:function:rotate",
                         RotationRules={"AutomaticallyAfterDays": 30})
    assert code(e) == "InvalidRequestException" and "Lambda" in e.value.response["Error"]["Message"]
    assert sm.describe_secret(SecretId="app/db")["RotationEnabled"] is False


def test_resource_policy_shares_a_secret_across_accounts(partner_server):
    server = partner_server
    sm = server.client("secretsmanager")
    partner = server.client("secretsmanager", access_key="PARTNERROOT", secret_key="partnersecret")
    shared = sm.create_secret(Name="shared", SecretString="s3cret", KmsKeyId="alias/shared-key")["ARN"]
    default_key = sm.create_secret(Name="default-key", SecretString="x")["ARN"]
    with pytest.raises(ClientError) as e:
        partner.get_secret_value(SecretId=shared)
    assert code(e) == "AccessDeniedException"
    everyone = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    with pytest.raises(ClientError) as e:
        sm.put_resource_policy(SecretId="shared", ResourcePolicy=everyone)
    assert code(e) == "PublicPolicyException"
    assert sm.validate_resource_policy(ResourcePolicy=everyone)["PolicyValidationPassed"] is False
    grant = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222233334444:root"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    assert sm.validate_resource_policy(ResourcePolicy=grant)["PolicyValidationPassed"] is True
    sm.put_resource_policy(SecretId="shared", ResourcePolicy=grant)
    assert json.loads(sm.get_resource_policy(SecretId="shared")["ResourcePolicy"]) == json.loads(grant)
    assert sm.list_resource_policies(SecretId="shared")["ResourcePolicies"] == [{"PolicyName": "default"}]
    with pytest.raises(ClientError) as e:
        sm.put_resource_policy(SecretId="shared", ResourcePolicy=grant, PolicyName="other")
    assert code(e) == "InvalidParameterException"
    # The partner's root reads it by ARN; by name it would look in its own account.
    assert partner.get_secret_value(SecretId=shared)["SecretString"] == "s3cret"
    with pytest.raises(ClientError) as e:
        partner.get_secret_value(SecretId="shared")
    assert code(e) == "ResourceNotFoundException"
    # A secret under the AWS managed key cannot be read from another account.
    sm.put_resource_policy(SecretId="default-key", ResourcePolicy=grant)
    with pytest.raises(ClientError) as e:
        partner.get_secret_value(SecretId=default_key)
    assert code(e) == "AccessDeniedException"
    # A Deny in the policy binds the owner's own users too.
    iam = server.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = server.client("secretsmanager", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert reader.get_secret_value(SecretId="shared")["SecretString"] == "s3cret"
    sm.put_resource_policy(SecretId="shared", ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::000000000000:user/reader"}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    with pytest.raises(ClientError) as e:
        reader.get_secret_value(SecretId="shared")
    assert code(e) == "AccessDeniedException" and "explicit deny in a resource-based policy" in e.value.response["Error"]["Message"]
    sm.delete_resource_policy(SecretId="shared")
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId="shared")


def test_batch_get_secret_value_answers_each_secret(server):
    sm = server.client("secretsmanager")
    for n in ["app/a", "app/b", "other/c"]:
        sm.create_secret(Name=n, SecretString=f"value-{n}", Tags=[{"Key": "team", "Value": "app" if n.startswith("app") else "other"}])
    out = sm.batch_get_secret_value(SecretIdList=["app/a", "app/b", "missing"])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == ["value-app/a", "value-app/b"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [("missing", "ResourceNotFoundException")]
    out = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["app/"]}], MaxResults=1)
    assert len(out["SecretValues"]) == 1 and out["NextToken"]
    with pytest.raises(ClientError) as e:
        sm.batch_get_secret_value(SecretIdList=["app/a"], Filters=[{"Key": "name", "Values": ["app/"]}])
    assert code(e) == "InvalidParameterException"
    # Each secret is read only if the caller may read it: the others are errors, not failures.
    iam = server.client("iam")
    iam.create_user(UserName="app")
    iam.put_user_policy(UserName="app", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:BatchGetSecretValue", "Resource": "*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/team": "app"}}}]}))
    key = iam.create_access_key(UserName="app")["AccessKey"]
    app = server.client("secretsmanager", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    out = app.batch_get_secret_value(SecretIdList=["app/a", "other/c"])
    assert [v["Name"] for v in out["SecretValues"]] == ["app/a"]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [("other/c", "AccessDeniedException")]
    # Filters need ListSecrets too.
    with pytest.raises(ClientError) as e:
        app.batch_get_secret_value(Filters=[{"Key": "name", "Values": ["app/"]}])
    assert code(e) == "AccessDeniedException"


def test_replication_to_other_regions(server):
    east = server.client("secretsmanager", region="us-east-1")
    west = server.client("secretsmanager", region="us-west-2")
    paris = server.client("secretsmanager", region="eu-west-3")
    created = east.create_secret(Name="db/main", SecretString="v1", AddReplicaRegions=[{"Region": "us-west-2"}])
    assert created["ReplicationStatus"][0]["Region"] == "us-west-2" and created["ReplicationStatus"][0]["Status"] == "InSync"
    replica = west.describe_secret(SecretId="db/main")
    assert replica["PrimaryRegion"] == "us-east-1" and replica["ARN"] == created["ARN"].replace("us-east-1", "us-west-2")
    assert west.get_secret_value(SecretId="db/main")["SecretString"] == "v1"
    # Changes to the primary reach the replica; the replica is not written directly.
    east.put_secret_value(SecretId="db/main", SecretString="v2")
    assert west.get_secret_value(SecretId="db/main")["SecretString"] == "v2"
    with pytest.raises(ClientError) as e:
        west.put_secret_value(SecretId="db/main", SecretString="x")
    assert code(e) == "InvalidRequestException"
    # A region where the name is taken fails, unless overwriting is asked.
    paris.create_secret(Name="db/main", SecretString="local")
    out = east.replicate_secret_to_regions(SecretId="db/main", AddReplicaRegions=[{"Region": "eu-west-3"}])
    assert out["ReplicationStatus"][0]["Status"] == "Failed"
    assert paris.get_secret_value(SecretId="db/main")["SecretString"] == "local"
    east.replicate_secret_to_regions(SecretId="db/main", AddReplicaRegions=[{"Region": "eu-west-3"}], ForceOverwriteReplicaSecret=True)
    assert paris.get_secret_value(SecretId="db/main")["SecretString"] == "v2"
    assert sorted(r["Region"] for r in east.describe_secret(SecretId="db/main")["ReplicationStatus"]) == ["eu-west-3", "us-west-2"]
    # The primary cannot be deleted while it has replicas.
    with pytest.raises(ClientError) as e:
        east.delete_secret(SecretId="db/main", ForceDeleteWithoutRecovery=True)
    assert code(e) == "InvalidRequestException"
    east.remove_regions_from_replication(SecretId="db/main", RemoveReplicaRegions=["eu-west-3"])
    with pytest.raises(ClientError) as e:
        paris.get_secret_value(SecretId="db/main")
    assert code(e) == "ResourceNotFoundException"
    # A replica promoted: a secret of its own, written in its region, no longer following.
    west.stop_replication_to_replica(SecretId="db/main")
    assert "PrimaryRegion" not in west.describe_secret(SecretId="db/main")
    west.put_secret_value(SecretId="db/main", SecretString="west-only")
    east.put_secret_value(SecretId="db/main", SecretString="v3")
    assert west.get_secret_value(SecretId="db/main")["SecretString"] == "west-only"
    assert "ReplicationStatus" not in east.describe_secret(SecretId="db/main")
    east.delete_secret(SecretId="db/main", ForceDeleteWithoutRecovery=True)
