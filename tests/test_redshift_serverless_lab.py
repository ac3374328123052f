"""docs/labs/redshift-serverless.md, run as written with the aws CLI and psql: a role, a
namespace with a managed admin password and a default role, a workgroup, the TICKIT sample
loaded with COPY ... IAM_ROLE default from the built-in sample bucket, queries through the
Data API as an IAM user and with the admin's secret, a snapshot, and the clean-up."""
import json
import time

import pytest

from test_redshift import psql, psql_missing
from test_redshift_tickit import COPIES, CREATE_TABLES, ROWS, lab  # noqa: F401 (the fixture)

pytestmark = pytest.mark.skipif(psql_missing, reason="psql is not installed")


def wait_statement(lab, statement_id, **keys):
    for _ in range(200):
        status = json.loads(lab.cli("redshift-data", "describe-statement", "--id", statement_id, **keys).stdout)
        if status["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"statement {statement_id} did not finish")


def test_serverless_lab_end_to_end(lab, tmp_path):
    # 1. The role.
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    lab.cli("iam", "create-role", "--role-name", "RedshiftServerlessLoader", "--assume-role-policy-document", f"file://{trust}")
    lab.cli("iam", "attach-role-policy", "--role-name", "RedshiftServerlessLoader", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    role = "arn:aws:iam::000000000000:role/RedshiftServerlessLoader"

    # 2. Namespace (managed admin password, default role) and workgroup.
    ns = json.loads(lab.cli("redshift-serverless", "create-namespace", "--namespace-name", "tickit", "--db-name", "dev",
                            "--admin-username", "admin", "--manage-admin-password", "--iam-roles", role,
                            "--default-iam-role-arn", role).stdout)["namespace"]
    assert ns["defaultIamRoleArn"] == role
    lab.cli("redshift-serverless", "create-workgroup", "--workgroup-name", "tickit-wg", "--namespace-name", "tickit", "--base-capacity", "8")
    endpoint = json.loads(lab.cli("redshift-serverless", "get-workgroup", "--workgroup-name", "tickit-wg", "--query", "workgroup.endpoint").stdout)
    secret_arn = lab.cli("redshift-serverless", "get-namespace", "--namespace-name", "tickit", "--query",
                         "namespace.adminPasswordSecretArn", "--output", "text").stdout.strip()
    secret = json.loads(lab.cli("secretsmanager", "get-secret-value", "--secret-id", secret_arn, "--query", "SecretString", "--output", "text").stdout)
    assert secret["username"] == "admin"
    w = {"Endpoint": {"Address": endpoint["address"], "Port": endpoint["port"]}}

    def admin(sql):
        return psql(w, sql, user="admin", password=secret["password"])

    # 3. Tables and COPY through the namespace's default role.
    admin(CREATE_TABLES)
    for table, name, options in COPIES:
        out = admin(f"COPY {table} FROM 's3://awssampledbuswest2/tickit/{name}' IAM_ROLE default {options} REGION 'us-west-2';").stdout
        assert out.strip() == f"COPY {ROWS[table]}", (table, out)
    for table, rows in ROWS.items():
        assert admin(f"select count(*) from {table}").stdout.strip() == str(rows)

    # 4. The Data API as an IAM user (IAM:analyst), then with the admin's secret.
    lab.cli("iam", "create-user", "--user-name", "analyst")
    key = json.loads(lab.cli("iam", "create-access-key", "--user-name", "analyst").stdout)["AccessKey"]
    wg_arn = json.loads(lab.cli("redshift-serverless", "get-workgroup", "--workgroup-name", "tickit-wg").stdout)["workgroup"]["workgroupArn"]
    policy = tmp_path / "analyst.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "redshift-serverless:GetCredentials", "Resource": wg_arn},
        {"Effect": "Allow", "Action": ["redshift-data:ExecuteStatement", "redshift-data:DescribeStatement", "redshift-data:GetStatementResult"], "Resource": "*"},
    ]}))
    lab.cli("iam", "put-user-policy", "--user-name", "analyst", "--policy-name", "sql", "--policy-document", f"file://{policy}")
    sql = "SELECT sum(qtysold) FROM sales, date WHERE sales.dateid = date.dateid AND caldate = '2008-01-05'"
    expected = admin(sql).stdout.strip()
    assert int(expected) > 0
    as_analyst = dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    # The first statement creates the user; it reads nothing until the admin grants it.
    first = lab.cli("redshift-data", "execute-statement", "--workgroup-name", "tickit-wg", "--database", "dev",
                    "--sql", "select current_user", "--query", "Id", "--output", "text", **as_analyst).stdout.strip()
    assert wait_statement(lab, first, **as_analyst)["Status"] == "FINISHED"
    admin('GRANT SELECT ON ALL TABLES IN SCHEMA public TO "iam:analyst";')
    sid = lab.cli("redshift-data", "execute-statement", "--workgroup-name", "tickit-wg", "--database", "dev",
                  "--sql", sql, "--query", "Id", "--output", "text", **as_analyst).stdout.strip()
    assert wait_statement(lab, sid, **as_analyst)["Status"] == "FINISHED"
    result = json.loads(lab.cli("redshift-data", "get-statement-result", "--id", sid, **as_analyst).stdout)
    assert str(list(result["Records"][0][0].values())[0]) == expected
    sid = lab.cli("redshift-data", "execute-statement", "--workgroup-name", "tickit-wg", "--database", "dev", "--secret-arn",
                  secret_arn, "--sql", "select count(*) from users", "--query", "Id", "--output", "text").stdout.strip()
    assert wait_statement(lab, sid)["Status"] == "FINISHED"
    result = json.loads(lab.cli("redshift-data", "get-statement-result", "--id", sid).stdout)
    assert result["Records"][0][0]["longValue"] == ROWS["users"]

    # 5. A snapshot, then clean-up: the managed secret goes with the namespace.
    lab.cli("redshift-serverless", "create-snapshot", "--namespace-name", "tickit", "--snapshot-name", "loaded")
    lab.cli("redshift-serverless", "delete-workgroup", "--workgroup-name", "tickit-wg")
    lab.cli("redshift-serverless", "delete-namespace", "--namespace-name", "tickit")
    gone = lab.cli("secretsmanager", "describe-secret", "--secret-id", secret_arn, check=False)
    assert gone.returncode != 0 and "ResourceNotFoundException" in gone.stderr
    snaps = json.loads(lab.cli("redshift-serverless", "list-snapshots").stdout)["snapshots"]
    assert [s["snapshotName"] for s in snaps] == ["loaded"]
