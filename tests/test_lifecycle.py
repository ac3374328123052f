"""Lifecycle rules are executed: a pass (here every second) expires what is due."""
import datetime
import time

import pytest

from conftest import Nuage

PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def fast_lifecycle(tmp_path):
    n = Nuage(str(tmp_path), ["--lifecycle-interval", "1"]).start()
    yield n
    n.kill()


def wait_for(check, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def keys(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_expiration_date_removes_matching_objects(fast_lifecycle):
    s3 = fast_lifecycle.client("s3")
    s3.create_bucket(Bucket="logs")
    for k in ("tmp/a", "tmp/b", "keep/c"):
        s3.put_object(Bucket="logs", Key=k, Body=b"x")
    s3.put_bucket_lifecycle_configuration(
        Bucket="logs",
        LifecycleConfiguration={"Rules": [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Date": PAST}}]},
    )
    assert wait_for(lambda: keys(s3, "logs") == ["keep/c"]), keys(s3, "logs")
    # A rule for the future, or a disabled one, expires nothing.
    s3.put_object(Bucket="logs", Key="tmp/new", Body=b"x")
    s3.put_bucket_lifecycle_configuration(
        Bucket="logs",
        LifecycleConfiguration={"Rules": [
            {"ID": "later", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 30}},
            {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Date": PAST}},
        ]},
    )
    time.sleep(2.5)
    assert keys(s3, "logs") == ["keep/c", "tmp/new"]
    assert 'rule-id="later"' in s3.head_object(Bucket="logs", Key="tmp/new")["Expiration"]


def test_versioned_bucket_gets_delete_markers_and_noncurrent_versions_go(fast_lifecycle):
    s3 = fast_lifecycle.client("s3")
    s3.create_bucket(Bucket="vers")
    s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="vers", Key="doc", Body=b"v1")
    s3.put_object(Bucket="vers", Key="doc", Body=b"v2")
    s3.put_bucket_lifecycle_configuration(
        Bucket="vers",
        LifecycleConfiguration={"Rules": [{"ID": "all", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": PAST}}]},
    )

    def marked():
        v = s3.list_object_versions(Bucket="vers")
        return any(m["IsLatest"] for m in v.get("DeleteMarkers", []))

    assert wait_for(marked)
    assert len(s3.list_object_versions(Bucket="vers")["Versions"]) == 2  # both versions kept behind the marker
    assert keys(s3, "vers") == []
