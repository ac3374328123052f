"""Redshift Serverless with boto3, the aws CLI, psql, redshift_connector and the Data API, as
the getting-started guide uses it: a namespace holds the database and its admin user, a
workgroup serves it on its port; GetCredentials maps IAM identities to database users; COPY
assumes the namespace's roles; config parameters become the sessions' defaults; snapshots
restore; the state survives a restart."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from test_redshift import PASSWORD, psql, psql_missing
from test_redshift_copy import role, s3_read_policy
from test_redshift_data import wait

pytestmark = pytest.mark.skipif(psql_missing, reason="psql is not installed")


def create(server, namespace="default-ns", workgroup="default-wg", **ns_args):
    sl = server.client("redshift-serverless")
    args = dict(namespaceName=namespace, adminUsername="admin", adminUserPassword=PASSWORD, dbName="dev")
    args.update(ns_args)
    ns = sl.create_namespace(**args)["namespace"]
    wg = sl.create_workgroup(workgroupName=workgroup, namespaceName=namespace, baseCapacity=8)["workgroup"]
    assert wg["status"] == "CREATING"
    for _ in range(50):
        wg = sl.get_workgroup(workgroupName=workgroup)["workgroup"]
        if wg["status"] == "AVAILABLE":
            break
        time.sleep(0.1)
    assert wg["status"] == "AVAILABLE"
    return ns, wg


def endpoint(wg):
    """The workgroup as psql() in test_redshift takes a cluster."""
    return {"Endpoint": {"Address": wg["endpoint"]["address"], "Port": wg["endpoint"]["port"]}}


def error(call, *args, **kwargs):
    with pytest.raises(ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"], e.value.response["Error"]["Message"]


def test_namespace_and_workgroup_serve_sql(server):
    sl = server.client("redshift-serverless")
    ns, wg = create(server, tags=[{"key": "team", "value": "data"}])
    assert ns["namespaceArn"] == f"arn:aws:redshift-serverless:us-east-1:000000000000:namespace/{ns['namespaceId']}"
    assert ns["adminUsername"] == "admin" and ns["dbName"] == "dev" and ns["status"] == "AVAILABLE"
    assert wg["namespaceName"] == "default-ns" and wg["baseCapacity"] == 8 and wg["port"] == 5439
    params = {p["parameterKey"]: p["parameterValue"] for p in wg["configParameters"]}
    assert params["search_path"] == "$user, public" and params["max_query_execution_time"] == "14400"

    w = endpoint(wg)
    psql(w, "create table visits(id int, page varchar(20)); insert into visits values (1, 'menu'), (2, 'order')", user="admin")
    assert psql(w, "select count(*) from visits", user="admin").stdout.strip() == "2"
    assert psql(w, "select 1", user="admin", password="Wrong-Password1", check=False).returncode != 0

    # Listing, tags by ARN, one workgroup per namespace, names checked, errors in the model's shapes.
    assert [n["namespaceName"] for n in sl.list_namespaces()["namespaces"]] == ["default-ns"]
    assert [w["workgroupName"] for w in sl.list_workgroups()["workgroups"]] == ["default-wg"]
    assert sl.list_tags_for_resource(resourceArn=ns["namespaceArn"])["tags"] == [{"key": "team", "value": "data"}]
    sl.tag_resource(resourceArn=wg["workgroupArn"], tags=[{"key": "env", "value": "lab"}])
    sl.untag_resource(resourceArn=ns["namespaceArn"], tagKeys=["team"])
    assert sl.list_tags_for_resource(resourceArn=wg["workgroupArn"])["tags"] == [{"key": "env", "value": "lab"}]
    assert sl.list_tags_for_resource(resourceArn=ns["namespaceArn"])["tags"] == []
    assert error(sl.create_namespace, namespaceName="default-ns")[:2] == ("ConflictException", 400)
    assert error(sl.create_workgroup, workgroupName="second", namespaceName="default-ns")[0] == "ConflictException"
    assert error(sl.create_workgroup, workgroupName="orphan", namespaceName="nowhere")[:2] == ("ResourceNotFoundException", 400)
    assert error(sl.get_workgroup, workgroupName="nowhere")[0] == "ResourceNotFoundException"
    assert error(sl.create_namespace, namespaceName="Bad_Name")[0] == "ValidationException"
    assert error(sl.create_namespace, namespaceName="weak", adminUsername="admin", adminUserPassword="password")[0] == "ValidationException"
    assert error(sl.create_namespace, namespaceName="half", adminUsername="admin")[0] == "ValidationException"
    assert error(sl.create_workgroup, workgroupName="odd", namespaceName="default-ns", baseCapacity=12)[0] == "ValidationException"
    assert error(sl.create_workgroup, workgroupName="odd", namespaceName="default-ns", port=6000)[0] == "ValidationException"
    # What nuage cannot honour is refused, not kept and ignored.
    assert error(sl.create_namespace, namespaceName="logs", logExports=["userlog"])[0] == "ValidationException"
    assert error(sl.create_namespace, namespaceName="managed", adminUserPassword=PASSWORD, manageAdminPassword=True)[0] == "ValidationException"
    code, _, msg = error(sl.update_workgroup, workgroupName="default-wg", configParameters=[{"parameterKey": "require_ssl", "parameterValue": "true"}])
    assert code == "ValidationException" and "require_ssl" in msg
    assert error(sl.update_workgroup, workgroupName="default-wg", configParameters=[{"parameterKey": "max_scan_row_count", "parameterValue": "10"}])[0] == "ValidationException"
    # Subnets must exist: the default VPC's are there, an invented one is not.
    assert error(sl.update_workgroup, workgroupName="default-wg", subnetIds=["subnet-0000invented"])[0] == "ValidationException"
    subnets = [n["SubnetId"] for n in server.client("ec2").describe_subnets()["Subnets"]]
    assert sl.update_workgroup(workgroupName="default-wg", subnetIds=subnets)["workgroup"]["subnetIds"] == subnets

    # A namespace cannot go while a workgroup serves it; the workgroup's port closes when it goes.
    assert error(sl.delete_namespace, namespaceName="default-ns")[0] == "ConflictException"
    assert sl.delete_workgroup(workgroupName="default-wg")["workgroup"]["status"] == "DELETING"
    assert psql(w, "select 1", user="admin", check=False).returncode != 0
    assert sl.delete_namespace(namespaceName="default-ns")["namespace"]["status"] == "DELETING"
    assert sl.list_namespaces()["namespaces"] == []


def test_config_parameters_are_session_defaults(server):
    sl = server.client("redshift-serverless")
    _, wg = create(server)
    w = endpoint(wg)
    psql(w, "create schema sales; create table sales.orders(id int); insert into sales.orders values (7)", user="admin")
    assert psql(w, "select * from orders", user="admin", check=False).returncode != 0
    wg = sl.update_workgroup(
        workgroupName="default-wg",
        configParameters=[
            {"parameterKey": "search_path", "parameterValue": "sales, public"},
            {"parameterKey": "query_group", "parameterValue": "reports"},
        ],
    )["workgroup"]
    params = {p["parameterKey"]: p["parameterValue"] for p in wg["configParameters"]}
    assert params["search_path"] == "sales, public" and params["query_group"] == "reports"
    assert psql(w, "show search_path", user="admin").stdout.strip() == "sales, public"
    assert psql(w, "select * from orders", user="admin").stdout.strip() == "7"
    # RESET returns to the workgroup's value, not Redshift's.
    out = psql(w, "set search_path to public; reset search_path; show search_path; show query_group", user="admin")
    assert out.stdout.splitlines()[-2:] == ["sales, public", "reports"]


def test_get_credentials_and_data_api_as_an_iam_identity(server):
    sl = server.client("redshift-serverless")
    iam = server.client("iam")
    _, wg = create(server)
    w = endpoint(wg)
    psql(w, "create table menu(item varchar(20), price decimal(5,2)); insert into menu values ('latte', 3.50), ('scone', 2.25)", user="admin")
    psql(w, "grant select on menu to public", user="admin")

    iam.create_user(UserName="analyst")
    key = iam.create_access_key(UserName="analyst")["AccessKey"]
    as_analyst = dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    analyst_sl = server.client("redshift-serverless", **as_analyst)
    analyst_data = server.client("redshift-data", **as_analyst)
    # No policy: both the credentials and the Data API are refused.
    assert error(analyst_sl.get_credentials, workgroupName="default-wg")[0] == "AccessDeniedException"
    assert error(analyst_data.execute_statement, WorkgroupName="default-wg", Database="dev", Sql="select 1")[0] == "AccessDeniedException"

    wg_arn = wg["workgroupArn"]
    iam.put_user_policy(UserName="analyst", PolicyName="sql", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "redshift-serverless:GetCredentials", "Resource": wg_arn},
            {"Effect": "Allow", "Action": ["redshift-data:ExecuteStatement", "redshift-data:DescribeStatement", "redshift-data:GetStatementResult"], "Resource": "*"},
        ],
    }))
    creds = analyst_sl.get_credentials(workgroupName="default-wg", dbName="dev", durationSeconds=900)
    assert creds["dbUser"] == "IAM:analyst"
    assert 0 < (creds["expiration"].timestamp() - time.time()) <= 901
    assert psql(w, "select current_user, count(*) from menu", user=creds["dbUser"], password=creds["dbPassword"]).stdout.strip() == "iam:analyst|2"
    assert error(analyst_sl.get_credentials, workgroupName="default-wg", durationSeconds=60)[0] == "ValidationException"
    assert error(analyst_sl.get_credentials, workgroupName="default-wg", dbName="other")[0] == "ValidationException"

    # redshift_connector with the temporary credentials (its own iam=True path needs TLS,
    # which nuage's SQL ports do not speak).
    import redshift_connector
    conn = redshift_connector.connect(
        host=wg["endpoint"]["address"], port=wg["endpoint"]["port"], database="dev",
        user=creds["dbUser"], password=creds["dbPassword"], ssl=False,
    )
    cur = conn.cursor()
    cur.execute("select item from menu order by price")
    assert [r[0] for r in cur.fetchall()] == ["scone", "latte"]
    conn.close()

    # The Data API with WorkgroupName and no secret runs as the same IAM:analyst user.
    s = analyst_data.execute_statement(WorkgroupName="default-wg", Database="dev", Sql="select current_user, sum(price) from menu")
    assert s["WorkgroupName"] == "default-wg" and "ClusterIdentifier" not in s
    d = wait(analyst_data, s["Id"])
    assert d["Status"] == "FINISHED", d
    assert d["WorkgroupName"] == "default-wg"
    rows = analyst_data.get_statement_result(Id=s["Id"])["Records"]
    assert rows == [[{"stringValue": "iam:analyst"}, {"stringValue": "5.75"}]]
    code, _, _ = error(analyst_data.execute_statement, WorkgroupName="default-wg", Database="dev", DbUser="admin", Sql="select 1")
    assert code == "ValidationException"
    assert error(server.client("redshift-data").execute_statement, WorkgroupName="default-wg", ClusterIdentifier="x", Database="dev", Sql="select 1")[0] == "ValidationException"


def test_copy_through_the_namespace_default_role(server):
    s3 = server.client("s3")
    iam = server.client("iam")
    sl = server.client("redshift-serverless")
    s3.create_bucket(Bucket="cafe")
    s3.put_object(Bucket="cafe", Key="orders/day1.csv", Body=b"1,latte,3.50\n2,scone,2.25\n")
    load = role(iam, "ServerlessLoadRole", policy=s3_read_policy("cafe"))
    other = role(iam, "NotTheNamespaceRole", policy=s3_read_policy("cafe"))
    _, wg = create(server, iamRoles=[load], defaultIamRoleArn=load)
    w = endpoint(wg)
    psql(w, "create table orders(id int, item varchar(10), price decimal(5,2))", user="admin")
    assert psql(w, "copy orders from 's3://cafe/orders/' iam_role default csv", user="admin").stdout.strip() == "COPY 2"
    assert psql(w, "select sum(price) from orders", user="admin").stdout.strip() == "5.75"
    p = psql(w, f"copy orders from 's3://cafe/orders/' iam_role '{other}' csv", user="admin", check=False)
    assert p.returncode != 0 and f"is not authorized to assume IAM Role {other}" in p.stderr
    # Roles given later by UpdateNamespace take effect at once.
    sl.update_namespace(namespaceName="default-ns", iamRoles=[load, other])
    assert psql(w, f"copy orders from 's3://cafe/orders/' iam_role '{other}' csv", user="admin").stdout.strip() == "COPY 2"
    assert error(sl.update_namespace, namespaceName="default-ns", defaultIamRoleArn="arn:aws:iam::000000000000:role/Elsewhere")[0] == "ValidationException"


def test_snapshots_restore_and_restart(server):
    sl = server.client("redshift-serverless")
    _, wg = create(server, namespace="shop", workgroup="shop-wg")
    w = endpoint(wg)
    psql(w, "create table stock(item varchar(10), n int); insert into stock values ('beans', 10)", user="admin")
    snap = sl.create_snapshot(namespaceName="shop", snapshotName="before-sale", retentionPeriod=7)["snapshot"]
    assert snap["status"] == "AVAILABLE" and snap["snapshotRetentionPeriod"] == 7 and snap["namespaceName"] == "shop"
    assert error(sl.create_snapshot, namespaceName="shop", snapshotName="before-sale")[0] == "ConflictException"
    psql(w, "update stock set n = 3", user="admin")
    assert [s["snapshotName"] for s in sl.list_snapshots(namespaceName="shop")["snapshots"]] == ["before-sale"]
    assert sl.update_snapshot(snapshotName="before-sale", retentionPeriod=30)["snapshot"]["snapshotRetentionPeriod"] == 30

    out = sl.restore_from_snapshot(namespaceName="shop", workgroupName="shop-wg", snapshotName="before-sale")
    assert out["snapshotName"] == "before-sale" and out["namespace"]["namespaceName"] == "shop"
    w = endpoint(sl.get_workgroup(workgroupName="shop-wg")["workgroup"])
    assert psql(w, "select n from stock", user="admin").stdout.strip() == "10"

    # A new admin password, then a restart: the workgroup serves again with what was committed.
    sl.update_namespace(namespaceName="shop", adminUsername="admin", adminUserPassword="Another-Pass1")
    assert psql(w, "select 1", user="admin", password="Another-Pass1").stdout.strip() == "1"
    psql(w, "insert into stock values ('milk', 4)", user="admin", password="Another-Pass1")
    server.restart()
    sl = server.client("redshift-serverless")
    w = endpoint(sl.get_workgroup(workgroupName="shop-wg")["workgroup"])
    assert psql(w, "select count(*) from stock", user="admin", password="Another-Pass1").stdout.strip() == "2"
    assert sl.get_snapshot(snapshotName="before-sale")["snapshot"]["snapshotName"] == "before-sale"
    assert sl.delete_snapshot(snapshotName="before-sale")["snapshot"]["status"] == "DELETED"
    assert error(sl.get_snapshot, snapshotName="before-sale")[0] == "ResourceNotFoundException"


def test_namespace_without_admin_is_reached_by_iam_only(server):
    sl = server.client("redshift-serverless")
    sl.create_namespace(namespaceName="iam-only")
    wg = sl.create_workgroup(workgroupName="iam-wg", namespaceName="iam-only")["workgroup"]
    assert "adminUsername" not in sl.get_namespace(namespaceName="iam-only")["namespace"]
    w = endpoint(sl.get_workgroup(workgroupName="iam-wg")["workgroup"])
    assert psql(w, "select 1", user="admin", check=False).returncode != 0
    creds = sl.get_credentials(workgroupName="iam-wg")
    assert psql(w, "select 1", user=creds["dbUser"], password=creds["dbPassword"]).stdout.strip() == "1"
    assert wg["baseCapacity"] == 128


def test_aws_cli(server):
    out = server.cli("redshift-serverless", "create-namespace", "--namespace-name", "cli-ns", "--admin-username", "admin",
                     "--admin-user-password", PASSWORD, "--db-name", "dev")
    assert json.loads(out.stdout)["namespace"]["namespaceName"] == "cli-ns"
    out = server.cli("redshift-serverless", "create-workgroup", "--workgroup-name", "cli-wg", "--namespace-name", "cli-ns",
                     "--base-capacity", "8")
    assert json.loads(out.stdout)["workgroup"]["workgroupName"] == "cli-wg"
    wg = json.loads(server.cli("redshift-serverless", "get-workgroup", "--workgroup-name", "cli-wg").stdout)["workgroup"]
    assert psql(endpoint(wg), "select 40 + 2", user="admin").stdout.strip() == "42"
    p = server.cli("redshift-serverless", "get-workgroup", "--workgroup-name", "nope", check=False)
    assert p.returncode != 0 and "ResourceNotFoundException" in p.stderr


def test_admin_password_managed_in_secrets_manager(server):
    """manageAdminPassword: the admin password is generated and kept in a Secrets Manager
    secret the caller creates; it logs in and serves the Data API; giving a password of one's
    own again, or deleting the namespace, deletes the secret."""
    sl = server.client("redshift-serverless")
    sm = server.client("secretsmanager")
    ns = sl.create_namespace(namespaceName="kept", adminUsername="admin", manageAdminPassword=True)["namespace"]
    arn = ns["adminPasswordSecretArn"]
    assert ":secret:redshift!kept-admin" in arn and ns["adminUsername"] == "admin"
    wg = sl.create_workgroup(workgroupName="kept-wg", namespaceName="kept")["workgroup"]
    secret = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert secret["username"] == "admin"
    assert psql(endpoint(wg), "select 1", user="admin", password=secret["password"]).stdout.strip() == "1"
    data = server.client("redshift-data")
    s = data.execute_statement(WorkgroupName="kept-wg", Database="dev", SecretArn=arn, Sql="select current_user")
    d = wait(data, s["Id"])
    assert d["Status"] == "FINISHED", d
    assert data.get_statement_result(Id=s["Id"])["Records"] == [[{"stringValue": "admin"}]]
    assert sl.get_namespace(namespaceName="kept")["namespace"]["adminPasswordSecretArn"] == arn

    sl.update_namespace(namespaceName="kept", adminUsername="admin", adminUserPassword="Own-Password1")
    assert "adminPasswordSecretArn" not in sl.get_namespace(namespaceName="kept")["namespace"]
    assert error(sm.describe_secret, SecretId=arn)[0] == "ResourceNotFoundException"
    assert psql(endpoint(wg), "select 1", user="admin", password="Own-Password1").stdout.strip() == "1"
    arn = sl.update_namespace(namespaceName="kept", manageAdminPassword=True)["namespace"]["adminPasswordSecretArn"]
    password = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"]
    assert psql(endpoint(wg), "select 1", user="admin", password=password).stdout.strip() == "1"
    sl.delete_workgroup(workgroupName="kept-wg")
    sl.delete_namespace(namespaceName="kept")
    assert error(sm.describe_secret, SecretId=arn)[0] == "ResourceNotFoundException"


def test_recovery_points_restore_and_become_snapshots(tmp_path):
    """Every --recovery-point-interval a served namespace gets a recovery point; one restores
    the namespace to what it held then, or becomes a snapshot."""
    from conftest import Nuage

    server = Nuage(str(tmp_path), ["--recovery-point-interval", "1"]).start()
    try:
        sl = server.client("redshift-serverless")
        _, wg = create(server, namespace="points", workgroup="points-wg")
        w = endpoint(wg)
        psql(w, "create table stock(n int); insert into stock values (10)", user="admin")
        # A point taken after the insert: wait for one newer than it.
        t0 = time.time()
        points = []
        while time.time() < t0 + 15:
            points = sl.list_recovery_points(namespaceName="points")["recoveryPoints"]
            if points and points[-1]["recoveryPointCreateTime"].timestamp() > t0:
                break
            time.sleep(0.3)
        point = points[-1]
        assert point["namespaceName"] == "points" and point["workgroupName"] == "points-wg"
        assert sl.get_recovery_point(recoveryPointId=point["recoveryPointId"])["recoveryPoint"]["recoveryPointId"] == point["recoveryPointId"]
        psql(w, "update stock set n = 3", user="admin")
        out = sl.restore_from_recovery_point(recoveryPointId=point["recoveryPointId"], namespaceName="points", workgroupName="points-wg")
        assert out["recoveryPointId"] == point["recoveryPointId"]
        w = endpoint(sl.get_workgroup(workgroupName="points-wg")["workgroup"])
        assert psql(w, "select n from stock", user="admin").stdout.strip() == "10"
        snap = sl.convert_recovery_point_to_snapshot(recoveryPointId=point["recoveryPointId"], snapshotName="from-point")["snapshot"]
        assert snap["snapshotName"] == "from-point" and snap["namespaceName"] == "points"
        assert error(sl.get_recovery_point, recoveryPointId="nope")[0] == "ResourceNotFoundException"
    finally:
        server.kill()
