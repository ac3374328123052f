"""The Python wheel as a new user gets it: built from this tree (the debug profile, so CI pays
no release build), installed into a fresh virtual environment with nothing else of the
project, then a test suite written only with the pytest plugin's fixtures runs there against
S3, IAM, STS and a Redshift cluster."""
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

USER_TESTS = '''
import boto3
import pytest
import redshift_connector


def test_s3_through_the_environment(nuage):
    s3 = boto3.client("s3")  # AWS_ENDPOINT_URL and the test keys come from the fixture
    s3.create_bucket(Bucket="reports")
    s3.put_object(Bucket="reports", Key="a.csv", Body=b"x,y\\n1,2\\n")
    assert s3.get_object(Bucket="reports", Key="a.csv")["Body"].read() == b"x,y\\n1,2\\n"


@pytest.mark.nuage_reset
def test_reset_gives_an_empty_nuage(nuage_client):
    assert nuage_client("s3").list_buckets()["Buckets"] == []


def test_iam_policies_are_enforced(nuage_client):
    iam = nuage_client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument="""{"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}""")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    reader = nuage_client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    reader.list_buckets()
    with pytest.raises(reader.exceptions.ClientError) as e:
        reader.create_bucket(Bucket="not-allowed")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    who = nuage_client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]).get_caller_identity()
    assert who["Arn"] == "arn:aws:iam::000000000000:user/reader"


def test_redshift_cluster(nuage_redshift_cluster):
    conn = redshift_connector.connect(**nuage_redshift_cluster["redshift_connector"])
    cur = conn.cursor()
    cur.execute("create table t(a int, b varchar(10))")
    cur.execute("insert into t values (1, 'one'), (2, 'two')")
    cur.execute("select sum(a), max(b) from t")
    assert [list(r) for r in cur.fetchall()] == [[3, "two"]]
    conn.close()
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheels")
    p = subprocess.run([str(ROOT / "scripts" / "build-wheel"), "--debug", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "PYTHON": sys.executable})
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.strip().splitlines()[-1]


def test_the_wheel_installs_and_its_pytest_plugin_works(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    # The wheel, and what the user's own tests import; nothing of the project's environment.
    p = subprocess.run([py, "-m", "pip", "install", "-q", wheel + "[pytest]", "redshift_connector"],
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    # The binary is on the venv's PATH, and knows its version.
    v = subprocess.run([str(venv / "bin" / "nuage"), "--version"], capture_output=True, text=True, check=True)
    assert v.stdout.startswith("nuage ")
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_mine.py").write_text(textwrap.dedent(USER_TESTS))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NUAGE_", "PYTEST_"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run([py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
                         cwd=tmp_path / "suite", capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "4 passed" in run.stdout
