"""S3 server access logging with boto3: the configuration and its checks, and the logs
themselves, delivered as objects to the target bucket by the logging service (authorised by
the target's bucket policy, or by its log-delivery ACL grant) and read back in S3's format."""
import json
import shlex
import time

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import Nuage

ACCOUNT = "000000000000"


@pytest.fixture
def server(tmp_path):
    n = Nuage(str(tmp_path), ["--access-log-interval", "1"]).start()
    yield n
    n.kill()


def logging_policy(target, prefix, source):
    """The bucket policy of the S3 User Guide for log delivery to `target`."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{target}/{prefix}*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source}"}, "StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }]})


def records(s3, bucket, prefix, want, timeout=15):
    """The log records delivered under `prefix`, once there are at least `want`."""
    deadline = time.time() + timeout
    while True:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
        lines = [line for k in keys for line in s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode().splitlines()]
        if len(lines) >= want or time.time() > deadline:
            return keys, [shlex.split(line.replace("[", '"').replace("]", '"')) for line in lines]
        time.sleep(0.3)


def test_access_logs_are_delivered_in_s3s_format(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="site")
    s3.create_bucket(Bucket="site-logs")
    s3.put_bucket_policy(Bucket="site-logs", Policy=logging_policy("site-logs", "logs/", "site"))
    s3.put_bucket_logging(Bucket="site", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "site-logs", "TargetPrefix": "logs/"}})
    assert s3.get_bucket_logging(Bucket="site")["LoggingEnabled"] == {"TargetBucket": "site-logs", "TargetPrefix": "logs/"}
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>hi</h1>")
    assert s3.get_object(Bucket="site", Key="index.html")["Body"].read() == b"<h1>hi</h1>"
    with pytest.raises(ClientError):
        s3.get_object(Bucket="site", Key="missing.html")
    s3.list_objects_v2(Bucket="site")
    anonymous = requests.get(f"{server.endpoint}/site/index.html", headers={"User-Agent": "curious-browser"})
    assert anonymous.status_code == 403
    keys, logged = records(s3, "site-logs", "logs/", 5)
    assert all(len(r) == 26 for r in logged)
    assert all(k.startswith("logs/") and len(k.split("-")) == 7 for k in keys)
    by_op = {}
    for r in logged:
        by_op.setdefault((r[6], r[7]), []).append(r)
    put = by_op[("REST.PUT.OBJECT", "index.html")][0]
    canonical = s3.list_buckets()["Owner"]["ID"]
    assert put[0] == canonical and put[1] == "site" and put[4] == canonical and put[9] == "200"
    assert put[8] == "PUT /site/index.html HTTP/1.1" and put[19] == "SigV4" and put[21] == "AuthHeader"
    get = next(r for r in by_op[("REST.GET.OBJECT", "index.html")] if r[4] == canonical)
    assert get[9] == "200" and get[11] == "11" and get[12] == "11"
    missing = by_op[("REST.GET.OBJECT", "missing.html")][0]
    assert missing[9] == "404" and missing[10] == "NoSuchKey"
    assert ("REST.GET.BUCKET", "-") in by_op
    denied = next(r for r in by_op[("REST.GET.OBJECT", "index.html")] if r[4] == "-")
    assert denied[9] == "403" and denied[10] == "AccessDenied" and denied[16] == "curious-browser" and denied[19] == "-"
    # The deliveries are not logged themselves, and the target's own requests are not either.
    assert not any(r[1] == "site-logs" for r in logged)
    # Turned off, nothing more is logged.
    s3.put_bucket_logging(Bucket="site", BucketLoggingStatus={})
    assert "LoggingEnabled" not in s3.get_bucket_logging(Bucket="site")
    count = len(logged)
    s3.get_object(Bucket="site", Key="index.html")
    time.sleep(2.5)
    assert len(records(s3, "site-logs", "logs/", 0, timeout=0)[1]) == count


def test_partitioned_keys_acl_delivery_and_refusals(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="src")
    # Buckets without ACLs: only a bucket policy can admit the logging service.
    for b in ["logs-policy", "nobody-may-write"]:
        s3.create_bucket(Bucket=b, ObjectOwnership="BucketOwnerEnforced")
    s3.put_bucket_policy(Bucket="logs-policy", Policy=logging_policy("logs-policy", "p/", "src"))
    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {
        "TargetBucket": "logs-policy", "TargetPrefix": "p/",
        "TargetObjectKeyFormat": {"PartitionedPrefix": {"PartitionDateSource": "EventTime"}}}})
    s3.put_object(Bucket="src", Key="a", Body=b"1")
    keys, logged = records(s3, "logs-policy", "p/", 1)
    day = time.strftime("%Y/%m/%d", time.gmtime())
    assert keys[0].startswith(f"p/{ACCOUNT}/us-east-1/src/{day}/{day.replace('/', '-')}-00-00-00-")
    # The target's checks.
    def refused(**enabled):
        with pytest.raises(ClientError) as e:
            s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetPrefix": "x/", **enabled}})
        return e.value.response["Error"]
    assert refused(TargetBucket="does-not-exist")["Code"] == "InvalidTargetBucketForLogging"
    grant = [{"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]
    assert "bucket owner enforced" in refused(TargetBucket="logs-policy", TargetGrants=grant)["Message"]
    # A bucket that uses ACLs must let the log-delivery group write.
    s3.create_bucket(Bucket="acl-logs", ObjectOwnership="ObjectWriter")
    assert "log-delivery group" in refused(TargetBucket="acl-logs")["Message"]
    s3.put_bucket_acl(Bucket="acl-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "acl-logs", "TargetPrefix": "acl/", "TargetGrants": grant}})
    s3.get_object(Bucket="src", Key="a")
    keys, _ = records(s3, "acl-logs", "acl/", 1)
    # The target grants apply to the log objects: here, everyone may read them.
    assert requests.get(f"{server.endpoint}/acl-logs/{keys[0]}").status_code == 200
    # A target whose policy does not admit the logging service receives nothing.
    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "nobody-may-write", "TargetPrefix": "n/"}})
    s3.get_object(Bucket="src", Key="a")
    time.sleep(2.5)
    assert s3.list_objects_v2(Bucket="nobody-may-write").get("KeyCount") == 0
