"""STS on the query protocol: botocore serialises the request and parses nuage's answer."""
import json

import pytest

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
