"""The Redshift Data API with boto3 and the aws CLI: statements run in the background as a
database user the caller may get credentials for, typed results, batches, failures, other
callers' statements out of reach, IAM policies enforced, results kept across a restart."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from test_redshift import create_cluster, psql, psql_missing

pytestmark = pytest.mark.skipif(psql_missing, reason="psql is not installed")

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DataAPI",
            "Effect": "Allow",
            "Action": [
                "redshift-data:ExecuteStatement",
                "redshift-data:BatchExecuteStatement",
                "redshift-data:DescribeStatement",
                "redshift-data:GetStatementResult",
                "redshift-data:ListStatements",
                "redshift-data:CancelStatement",
                "redshift-data:ListTables",
                "redshift-data:DescribeTable",
            ],
            "Resource": "*",
        },
        {
            "Sid": "OwnDatabaseUser",
            "Effect": "Allow",
            "Action": "redshift:GetClusterCredentials",
            "Resource": [
                "arn:aws:redshift:us-east-1:000000000000:dbuser:warehouse/mary",
                "arn:aws:redshift:us-east-1:000000000000:dbname:warehouse/dev",
            ],
        },
    ],
}


def wait(client, statement_id, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = client.describe_statement(Id=statement_id)
        if d["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return d
        time.sleep(0.1)
    raise AssertionError(f"statement {statement_id} did not finish")


def test_data_api_as_a_data_scientist(server):
    c = create_cluster(server, "warehouse")
    psql(c, "create table sales(id int, region varchar(10), amount decimal(8,2), sold timestamp, paid boolean)")
    psql(c, "insert into sales values (1, 'EU', 10.50, '2008-01-05 10:00:00', true), (2, 'US', 20.00, '2008-01-06 11:30:00', false), (3, 'EU', null, null, null)")
    psql(c, "create user mary password 'Mary12345'; grant select on sales to mary")

    iam = server.client("iam")
    iam.create_user(UserName="Mary")
    arn = iam.create_policy(PolicyName="Policy-For-Data-Scientists", PolicyDocument=json.dumps(POLICY))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="Mary", PolicyArn=arn)
    key = iam.create_access_key(UserName="Mary")["AccessKey"]
    mary = server.client("redshift-data", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])

    out = mary.execute_statement(
        ClusterIdentifier="warehouse", Database="dev", DbUser="mary", StatementName="by-region",
        Sql="select id, region, amount, sold, paid from sales where region = :region order by id",
        Parameters=[{"name": "region", "value": "EU"}],
    )
    assert out["ClusterIdentifier"] == "warehouse" and out["DbUser"] == "mary"
    d = wait(mary, out["Id"])
    assert d["Status"] == "FINISHED", d
    assert d["HasResultSet"] is True and d["ResultRows"] == 2 and d["Duration"] >= 0
    assert d["QueryString"].startswith("select id, region")
    assert d["QueryParameters"] == [{"name": "region", "value": "EU"}]
    r = mary.get_statement_result(Id=out["Id"])
    assert r["TotalNumRows"] == 2
    assert [m["name"] for m in r["ColumnMetadata"]] == ["id", "region", "amount", "sold", "paid"]
    assert [m["typeName"] for m in r["ColumnMetadata"]] == ["int4", "varchar", "numeric", "timestamp", "bool"]
    assert r["Records"][0] == [
        {"longValue": 1}, {"stringValue": "EU"}, {"stringValue": "10.50"}, {"stringValue": "2008-01-05 10:00:00"}, {"booleanValue": True},
    ]
    assert r["Records"][1][2] == {"isNull": True}

    # A failing statement says why; a result that does not exist is refused as on AWS.
    bad = mary.execute_statement(ClusterIdentifier="warehouse", Database="dev", DbUser="mary", Sql="select * from nowhere")
    d = wait(mary, bad["Id"])
    assert d["Status"] == "FAILED" and 'relation "nowhere" does not exist' in d["Error"]
    with pytest.raises(ClientError) as e:
        mary.get_statement_result(Id=bad["Id"])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # Privileges inside the database still apply to Mary's database user.
    denied = mary.execute_statement(ClusterIdentifier="warehouse", Database="dev", DbUser="mary", Sql="insert into sales (id) values (9)")
    d = wait(mary, denied["Id"])
    assert d["Status"] == "FAILED" and "permission denied for relation sales" in d["Error"]

    # Her policy gives her no other database user, and nothing of the control plane.
    with pytest.raises(ClientError) as e:
        mary.execute_statement(ClusterIdentifier="warehouse", Database="dev", DbUser="awsuser", Sql="select 1")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "redshift:GetClusterCredentials" in e.value.response["Error"]["Message"]
    rs = server.client("redshift", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        rs.describe_clusters()
    assert e.value.response["Error"]["Code"] == "AccessDenied"

    # A batch runs in one transaction; each part is described; a failure undoes the batch.
    admin = server.client("redshift-data")
    b = admin.batch_execute_statement(ClusterIdentifier="warehouse", Database="dev", DbUser="awsuser", Sqls=[
        "create table notes(n int)", "insert into notes values (1), (2)", "select count(*) from notes",
    ])
    d = wait(admin, b["Id"])
    assert d["Status"] == "FINISHED" and [s["Status"] for s in d["SubStatements"]] == ["FINISHED"] * 3
    assert d["SubStatements"][1]["ResultRows"] == 2
    assert admin.get_statement_result(Id=f"{b['Id']}:3")["Records"] == [[{"longValue": 2}]]
    b = admin.batch_execute_statement(ClusterIdentifier="warehouse", Database="dev", DbUser="awsuser", Sqls=[
        "insert into notes values (3)", "select * from nowhere",
    ])
    d = wait(admin, b["Id"])
    assert d["Status"] == "FAILED" and [s["Status"] for s in d["SubStatements"]] == ["FINISHED", "FAILED"]
    assert psql(c, "select count(*) from notes").stdout.strip() == "2"

    # Each caller sees its own statements only.
    mine = mary.list_statements()["Statements"]
    assert {s["Id"] for s in mine} == {out["Id"], bad["Id"], denied["Id"]}
    assert [s["StatementName"] for s in mary.list_statements(StatementName="by-")["Statements"]] == ["by-region"]
    with pytest.raises(ClientError) as e:
        admin.describe_statement(Id=out["Id"])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    tables = mary.list_tables(ClusterIdentifier="warehouse", Database="dev", DbUser="mary", SchemaPattern="public", TablePattern="sal%")["Tables"]
    assert tables == [{"name": "sales", "schema": "public", "type": "TABLE"}]
    cols = mary.describe_table(ClusterIdentifier="warehouse", Database="dev", DbUser="mary", Table="sales")["ColumnList"]
    assert [(col["name"], col["typeName"]) for col in cols][:3] == [("id", "int4"), ("region", "varchar"), ("amount", "numeric")]

    # Results are kept across a restart.
    server.restart()
    mary = server.client("redshift-data", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    assert mary.get_statement_result(Id=out["Id"])["TotalNumRows"] == 2


def test_data_api_with_the_cli(server):
    create_cluster(server, "cli")
    out = json.loads(server.cli(
        "redshift-data", "execute-statement", "--cluster-identifier", "cli", "--database", "dev",
        "--db-user", "awsuser", "--sql", "select 41 + 1 as answer, 'x' as letter",
    ).stdout)
    deadline = time.time() + 30
    while True:
        d = json.loads(server.cli("redshift-data", "describe-statement", "--id", out["Id"]).stdout)
        if d["Status"] in ("FINISHED", "FAILED") or time.time() > deadline:
            break
        time.sleep(0.1)
    assert d["Status"] == "FINISHED", d
    r = json.loads(server.cli("redshift-data", "get-statement-result", "--id", out["Id"]).stdout)
    assert r["Records"] == [[{"longValue": 42}, {"stringValue": "x"}]]
    assert [m["label"] for m in r["ColumnMetadata"]] == ["answer", "letter"]
    listed = json.loads(server.cli("redshift-data", "list-statements").stdout)["Statements"]
    assert [s["Id"] for s in listed] == [out["Id"]]
    p = server.cli("redshift-data", "execute-statement", "--cluster-identifier", "nope", "--database", "dev",
                   "--db-user", "awsuser", "--sql", "select 1", check=False)
    assert p.returncode != 0 and "ValidationException" in p.stderr


def test_data_api_with_a_secret(server):
    c = create_cluster(server, "vault")
    psql(c, "create user bob password 'Bob123456'")
    sm = server.client("secretsmanager")
    good = sm.create_secret(Name="vault/bob", SecretString=json.dumps({"username": "bob", "password": "Bob123456"}))["ARN"]
    wrong = sm.create_secret(Name="vault/wrong", SecretString=json.dumps({"username": "bob", "password": "Nope12345"}))["ARN"]
    data = server.client("redshift-data")
    out = data.execute_statement(ClusterIdentifier="vault", Database="dev", SecretArn=good, Sql="select current_user")
    d = wait(data, out["Id"])
    assert d["Status"] == "FINISHED", d
    assert data.get_statement_result(Id=out["Id"])["Records"] == [[{"stringValue": "bob"}]]
    with pytest.raises(ClientError) as e:
        data.execute_statement(ClusterIdentifier="vault", Database="dev", SecretArn=wrong, Sql="select 1")
    assert e.value.response["Error"]["Code"] == "DatabaseConnectionException"
    assert 'password authentication failed for user "bob"' in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        data.execute_statement(ClusterIdentifier="vault", Database="dev", SecretArn=good, DbUser="bob", Sql="select 1")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_data_api_csv_results(server):
    create_cluster(server, "csv")
    data = server.client("redshift-data")
    out = data.execute_statement(ClusterIdentifier="csv", Database="dev", DbUser="awsuser", ResultFormat="CSV",
                                 Sql="select 1 as n, 'a,b' as s, null as z union all select 2, 'say \"hi\"', 'x' order by n")
    d = wait(data, out["Id"])
    assert d["Status"] == "FINISHED" and d["ResultFormat"] == "CSV"
    r = data.get_statement_result_v2(Id=out["Id"])
    assert r["ResultFormat"] == "CSV" and r["TotalNumRows"] == 2
    assert r["Records"] == [{"CSVRecords": 'n,s,z\n1,"a,b",\n2,"say ""hi""",x\n'}]
    with pytest.raises(ClientError) as e:
        data.get_statement_result(Id=out["Id"])
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        data.execute_statement(ClusterIdentifier="csv", Database="dev", DbUser="awsuser", ResultFormat="XML", Sql="select 1")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_data_api_sessions_and_submission_options(server):
    """SessionKeepAliveSeconds keeps a session (its temporary tables and open transaction)
    for statements that name its SessionId; ClientToken makes a submission idempotent;
    WaitTimeSeconds answers once the statement ended; ExecutionMode AUTO_COMMIT commits a
    batch statement by statement; WithEvent is refused, there being no EventBridge."""
    create_cluster(server, "sess")
    data = server.client("redshift-data")
    first = data.execute_statement(
        ClusterIdentifier="sess", Database="dev", DbUser="awsuser",
        Sql="create temp table scratch as select 1 as x", SessionKeepAliveSeconds=2,
    )
    sid = first["SessionId"]
    assert wait(data, first["Id"])["SessionId"] == sid
    # The temporary table lives in the session only.
    second = data.execute_statement(Sql="select x + 1 from scratch", SessionId=sid, WaitTimeSeconds=10)
    assert second["SessionId"] == sid and second["Status"] == "FINISHED" and second["HasResultSet"] is True
    assert data.get_statement_result(Id=second["Id"])["Records"] == [[{"longValue": 2}]]
    elsewhere = data.execute_statement(ClusterIdentifier="sess", Database="dev", DbUser="awsuser", Sql="select x from scratch")
    assert wait(data, elsewhere["Id"])["Status"] == "FAILED"
    listed = data.list_sessions()["Sessions"]
    assert [(s["SessionId"], s["Status"]) for s in listed] == [(sid, "AVAILABLE")]
    with pytest.raises(ClientError) as e:
        data.execute_statement(Sql="select 1", SessionId=sid, ClusterIdentifier="sess")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    # Idle past its keep-alive, the session is closed.
    time.sleep(2.5)
    with pytest.raises(ClientError) as e:
        data.execute_statement(Sql="select 1", SessionId=sid)
    assert "closed" in e.value.response["Error"]["Message"]
    assert data.list_sessions(Status="CLOSED")["Sessions"][0]["SessionId"] == sid

    # The same ClientToken names the same statement.
    a = data.execute_statement(ClusterIdentifier="sess", Database="dev", DbUser="awsuser", Sql="select 1", ClientToken="token-1")
    b = data.execute_statement(ClusterIdentifier="sess", Database="dev", DbUser="awsuser", Sql="select 1", ClientToken="token-1")
    assert a["Id"] == b["Id"]

    # AUTO_COMMIT keeps what succeeded before a failure; TRANSACTION keeps nothing.
    for mode, table in (("AUTO_COMMIT", "kept"), ("TRANSACTION", "gone")):
        out = data.batch_execute_statement(
            ClusterIdentifier="sess", Database="dev", DbUser="awsuser", ExecutionMode=mode,
            Sqls=[f"create table {table}(i int)", "select * from no_such_table"],
        )
        d = wait(data, out["Id"])
        assert d["Status"] == "FAILED" and d["ExecutionMode"] == mode
    tables = data.execute_statement(
        ClusterIdentifier="sess", Database="dev", DbUser="awsuser", WaitTimeSeconds=10,
        Sql="select tablename from pg_tables where tablename in ('kept', 'gone')",
    )
    assert data.get_statement_result(Id=tables["Id"])["Records"] == [[{"stringValue": "kept"}]]

    with pytest.raises(ClientError) as e:
        data.execute_statement(ClusterIdentifier="sess", Database="dev", DbUser="awsuser", Sql="select 1", WithEvent=True)
    assert e.value.response["Error"]["Code"] == "ValidationException" and "EventBridge" in e.value.response["Error"]["Message"]


def test_secret_read_by_the_data_api_is_a_forward_access_session(server):
    """The Data API reads a secret with its caller's identity, as a forward access session:
    aws:CalledVia names redshift-data.amazonaws.com and aws:ViaAWSService is true, so a policy
    can allow the secret only through the Data API (the global condition keys page)."""
    c = create_cluster(server, "fas")
    psql(c, "create user bob password 'Bob123456'")
    sm = server.client("secretsmanager")
    arn = sm.create_secret(Name="fas/bob", SecretString=json.dumps({"username": "bob", "password": "Bob123456"}))["ARN"]
    iam = server.client("iam")
    iam.create_user(UserName="analyst")
    iam.put_user_policy(UserName="analyst", PolicyName="via-data-api", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["redshift-data:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn,
             "Condition": {"ForAnyValue:StringEquals": {"aws:CalledVia": "redshift-data.amazonaws.com"},
                           "Bool": {"aws:ViaAWSService": "true"}}},
        ],
    }))
    key = iam.create_access_key(UserName="analyst")["AccessKey"]
    keys = dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        server.client("secretsmanager", **keys).get_secret_value(SecretId=arn)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    data = server.client("redshift-data", **keys)
    out = data.execute_statement(ClusterIdentifier="fas", Database="dev", SecretArn=arn, Sql="select current_user")
    assert wait(data, out["Id"])["Status"] == "FINISHED"
    assert data.get_statement_result(Id=out["Id"])["Records"] == [[{"stringValue": "bob"}]]
