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
