"""Bucket settings with an effect on who may call and how: Transfer Acceleration (the
accelerate endpoint), Requester Pays (other accounts must acknowledge the charge), event
notifications (validated; undeliverable events reported in the log), and the configurations
nuage cannot create yet answering as S3 does for a bucket without them."""
import json

import pytest
import requests
from botocore.exceptions import ClientError


def code(call, **kwargs):
    with pytest.raises(ClientError) as e:
        call(**kwargs)
    return e.value.response["Error"]["Code"]


def test_transfer_acceleration_gates_the_accelerate_endpoint(server, s3):
    s3.create_bucket(Bucket="fast")
    s3.put_object(Bucket="fast", Key="k", Body=b"v")
    s3.put_bucket_policy(Bucket="fast", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::fast/*"}]}))
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket="fast")
    host = {"Host": f"fast.s3-accelerate.amazonaws.com:{server.port}"}
    r = requests.get(f"{server.endpoint}/k", headers=host)
    assert r.status_code == 400 and "InvalidRequest" in r.text and "Transfer Acceleration is not configured" in r.text
    s3.put_bucket_accelerate_configuration(Bucket="fast", AccelerateConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_accelerate_configuration(Bucket="fast")["Status"] == "Enabled"
    r = requests.get(f"{server.endpoint}/k", headers=host)
    assert r.status_code == 200 and r.content == b"v"
    s3.put_bucket_accelerate_configuration(Bucket="fast", AccelerateConfiguration={"Status": "Suspended"})
    assert requests.get(f"{server.endpoint}/k", headers=host).status_code == 400
    s3.create_bucket(Bucket="has.dots")
    assert code(s3.put_bucket_accelerate_configuration, Bucket="has.dots", AccelerateConfiguration={"Status": "Enabled"}) == "InvalidRequest"


def test_requester_pays_needs_the_requester_to_acknowledge(server, s3):
    iam = server.client("iam")
    s3.create_bucket(Bucket="paid")
    s3.put_object(Bucket="paid", Key="data.csv", Body=b"a,b\n")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::paid/*"}]}))
    # The reader is of the owner's account: the owner pays, no acknowledgement needed.
    reader = server.client(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    s3.put_bucket_request_payment(Bucket="paid", RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket="paid")["Payer"] == "Requester"
    assert reader.get_object(Bucket="paid", Key="data.csv")["Body"].read() == b"a,b\n"
    # Anonymous visitors are refused even where a policy makes the object public.
    s3.put_bucket_policy(Bucket="paid", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::paid/*"}]}))
    assert requests.get(f"{server.endpoint}/paid/data.csv").status_code == 403
    # The setting holds after a restart (nuage keeps the marked buckets in memory).
    server.restart()
    s3 = server.client()
    assert requests.get(f"{server.endpoint}/paid/data.csv").status_code == 403
    s3.put_bucket_request_payment(Bucket="paid", RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert requests.get(f"{server.endpoint}/paid/data.csv").status_code == 200


def test_requester_pays_across_accounts(partner_server):
    server = partner_server
    s3 = server.client()
    s3.create_bucket(Bucket="dataset")
    s3.put_object(Bucket="dataset", Key="part-0", Body=b"rows")
    s3.put_bucket_policy(Bucket="dataset", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222233334444:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::dataset/*"}]}))
    s3.put_bucket_request_payment(Bucket="dataset", RequestPaymentConfiguration={"Payer": "Requester"})
    partner = server.client(access_key="PARTNERROOT", secret_key="partnersecret")
    assert code(partner.get_object, Bucket="dataset", Key="part-0") == "AccessDenied"
    out = partner.get_object(Bucket="dataset", Key="part-0", RequestPayer="requester")
    assert out["Body"].read() == b"rows" and out["RequestCharged"] == "requester"


def test_notifications_are_validated_and_undeliverable_events_reported(server, s3):
    s3.create_bucket(Bucket="events")
    assert s3.get_bucket_notification_configuration(Bucket="events").get("QueueConfigurations") is None
    queue = {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:uploads", "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}
    with pytest.raises(ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket="events", NotificationConfiguration={"QueueConfigurations": [queue]})
    assert e.value.response["Error"]["Code"] == "InvalidArgument"
    assert "Unable to validate the following destination configurations" in e.value.response["Error"]["Message"]
    bad = dict(queue, Events=["s3:ObjectCreated:Nope"])
    assert code(s3.put_bucket_notification_configuration, Bucket="events", NotificationConfiguration={"QueueConfigurations": [bad]}, SkipDestinationValidation=True) == "InvalidArgument"
    overlap = [queue, dict(queue, QueueArn="arn:aws:sqs:us-east-1:000000000000:other")]
    assert code(s3.put_bucket_notification_configuration, Bucket="events", NotificationConfiguration={"QueueConfigurations": overlap}, SkipDestinationValidation=True) == "InvalidArgument"

    s3.put_bucket_notification_configuration(Bucket="events", NotificationConfiguration={"QueueConfigurations": [queue], "EventBridgeConfiguration": {}}, SkipDestinationValidation=True)
    got = s3.get_bucket_notification_configuration(Bucket="events")
    assert got["QueueConfigurations"][0]["QueueArn"] == queue["QueueArn"] and "EventBridgeConfiguration" in got
    s3.put_object(Bucket="events", Key="in/file.csv", Body=b"x")
    s3.put_object(Bucket="events", Key="elsewhere.csv", Body=b"x")
    log = open(server.log_path).read()
    assert "S3 event notification not delivered" in log and "in/file.csv" in log and "arn:aws:sqs:us-east-1:000000000000:uploads" in log
    assert log.count("S3 event notification not delivered") == 1
    assert "not delivered to Amazon EventBridge" in log
    s3.put_bucket_notification_configuration(Bucket="events", NotificationConfiguration={})
    assert s3.get_bucket_notification_configuration(Bucket="events").get("QueueConfigurations") is None


def test_configurations_nuage_cannot_create_yet_are_absent(s3, bucket):
    assert code(s3.get_bucket_replication, Bucket=bucket) == "ReplicationConfigurationNotFoundError"
    s3.delete_bucket_replication(Bucket=bucket)
    assert s3.list_bucket_analytics_configurations(Bucket=bucket).get("AnalyticsConfigurationList") is None
    assert s3.list_bucket_metrics_configurations(Bucket=bucket).get("MetricsConfigurationList") is None
    assert s3.list_bucket_inventory_configurations(Bucket=bucket).get("InventoryConfigurationList") is None
    assert s3.list_bucket_intelligent_tiering_configurations(Bucket=bucket).get("IntelligentTieringConfigurationList") is None
    assert code(s3.get_bucket_analytics_configuration, Bucket=bucket, Id="a") == "NoSuchConfiguration"
    assert code(s3.get_bucket_metrics_configuration, Bucket=bucket, Id="a") == "NoSuchConfiguration"
    assert code(s3.get_bucket_inventory_configuration, Bucket=bucket, Id="a") == "NoSuchConfiguration"
    assert code(s3.get_bucket_intelligent_tiering_configuration, Bucket=bucket, Id="a") == "NoSuchConfiguration"
    assert code(s3.get_bucket_replication, Bucket="no-such-bucket-here") == "NoSuchBucket"


def test_create_bucket_with_tags_and_refused_kinds(s3):
    """Tags given to CreateBucket are the bucket's tags; a directory bucket (S3 Express One
    Zone) or an account-regional name is refused rather than made an ordinary bucket."""
    s3.create_bucket(Bucket="tagged-at-birth", CreateBucketConfiguration={"Tags": [{"Key": "team", "Value": "data"}]})
    assert s3.get_bucket_tagging(Bucket="tagged-at-birth")["TagSet"] == [{"Key": "team", "Value": "data"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert code(s3.create_bucket, Bucket="too-many-tags", CreateBucketConfiguration={"Tags": too_many}) in ("BadRequest", "InvalidTag")
    # (A `--x-s3` name is signed for s3express, a service nuage does not serve.)
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="zonal-one", CreateBucketConfiguration={
            "Location": {"Type": "AvailabilityZone", "Name": "use1-az4"}, "Bucket": {"Type": "Directory", "DataRedundancy": "SingleAvailabilityZone"}})
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "tagged-at-birth" in names and "too-many-tags" not in names and "zonal-one" not in names


def test_object_ownership_decides_who_owns_an_upload(partner_server):
    """A partner account writes into our bucket (a bucket policy lets it): with
    BucketOwnerEnforced we own every object and ACLs other than bucket-owner-full-control are
    refused; with BucketOwnerPreferred an upload stating bucket-owner-full-control becomes
    ours; with ObjectWriter the writer keeps it."""
    server = partner_server
    s3 = server.client("s3")
    partner = server.client("s3", access_key="PARTNERROOT", secret_key="partnersecret")
    me = s3.list_buckets()["Owner"]["ID"]
    them = partner.list_buckets()["Owner"]["ID"]
    for mode in ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"):
        name = f"owned-{mode.lower()}"
        s3.create_bucket(Bucket=name, ObjectOwnership=mode)
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222233334444:root"},
            "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:GetObjectAcl"], "Resource": f"arn:aws:s3:::{name}/*"}]}))
        partner.put_object(Bucket=name, Key="plain", Body=b"x")
        partner.put_object(Bucket=name, Key="given", Body=b"x", ACL="bucket-owner-full-control")
        up = partner.create_multipart_upload(Bucket=name, Key="parts", ACL="bucket-owner-full-control")
        owners = {k: s3.get_object_acl(Bucket=name, Key=k)["Owner"]["ID"] for k in ("plain", "given")}
        listed = s3.list_multipart_uploads(Bucket=name)["Uploads"][0]
        if mode == "BucketOwnerEnforced":
            assert owners == {"plain": me, "given": me} and listed["Owner"]["ID"] == me
            for call in (lambda: partner.put_object(Bucket=name, Key="p", Body=b"x", ACL="public-read"),
                         lambda: partner.put_object(Bucket=name, Key="p", Body=b"x", ACL="private"),
                         lambda: s3.put_bucket_acl(Bucket=name, ACL="private"),
                         lambda: s3.put_object_acl(Bucket=name, Key="plain", ACL="public-read")):
                with pytest.raises(ClientError) as e:
                    call()
                assert e.value.response["Error"]["Code"] == "AccessControlListNotSupported"
            assert "p" not in [o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", [])]
        elif mode == "BucketOwnerPreferred":
            assert owners == {"plain": them, "given": me} and listed["Owner"]["ID"] == me
        else:
            assert owners == {"plain": them, "given": them} and listed["Owner"]["ID"] == them
        s3.abort_multipart_upload(Bucket=name, Key="parts", UploadId=up["UploadId"])


def test_inventory_reports_are_delivered(tmp_path):
    """An inventory configuration's report, as S3 writes it: gzipped CSV data, manifest.json
    and its checksum, the hive symlink; delivered by s3.amazonaws.com only where the destination
    bucket's policy lets it write."""
    import csv
    import gzip
    import hashlib
    import io
    import json as jsonlib
    import time as timelib

    from conftest import Nuage
    n = Nuage(str(tmp_path), ["--inventory-interval", "1"]).start()
    try:
        s3 = n.client("s3")
        for b in ("source", "reports", "closed"):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket="source", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="source", Key="logs/a.txt", Body=b"a" * 10)
        v1 = s3.put_object(Bucket="source", Key="logs/b.txt", Body=b"b" * 20)["VersionId"]
        v2 = s3.put_object(Bucket="source", Key="logs/b.txt", Body=b"b" * 25, StorageClass="STANDARD_IA")["VersionId"]
        s3.put_object(Bucket="source", Key="other/c.txt", Body=b"c")
        s3.delete_object(Bucket="source", Key="logs/a.txt")
        s3.put_bucket_policy(Bucket="reports", Policy=jsonlib.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::reports/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": "000000000000"}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::source"}}}]}))

        def config(cid, dest, versions, fields):
            return {"Id": cid, "IsEnabled": True, "IncludedObjectVersions": versions, "Filter": {"Prefix": "logs/"},
                    "Destination": {"S3BucketDestination": {"Bucket": f"arn:aws:s3:::{dest}", "Format": "CSV", "Prefix": "inv"}},
                    "Schedule": {"Frequency": "Daily"}, "OptionalFields": fields}

        s3.put_bucket_inventory_configuration(Bucket="source", Id="current", InventoryConfiguration=config("current", "reports", "Current", ["Size", "StorageClass"]))
        s3.put_bucket_inventory_configuration(Bucket="source", Id="all", InventoryConfiguration=config("all", "reports", "All", ["Size"]))
        s3.put_bucket_inventory_configuration(Bucket="source", Id="denied", InventoryConfiguration=config("denied", "closed", "Current", []))
        assert [c["Id"] for c in s3.list_bucket_inventory_configurations(Bucket="source")["InventoryConfigurationList"]] == ["all", "current", "denied"]
        assert s3.get_bucket_inventory_configuration(Bucket="source", Id="current")["InventoryConfiguration"]["OptionalFields"] == ["Size", "StorageClass"]
        with pytest.raises(ClientError) as e:
            s3.put_bucket_inventory_configuration(Bucket="source", Id="x", InventoryConfiguration=config("x", "reports", "Current", ["Color"]))
        assert e.value.response["Error"]["Code"] == "InvalidArgument"

        def manifests(cid):
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports", Prefix=f"inv/source/{cid}/").get("Contents", [])]
            return [k for k in keys if k.endswith("manifest.json")], keys

        deadline = timelib.time() + 20
        while timelib.time() < deadline and not (manifests("current")[0] and manifests("all")[0]):
            timelib.sleep(0.3)
        found, keys = manifests("current")
        assert found, keys
        manifest_bytes = s3.get_object(Bucket="reports", Key=found[0])["Body"].read()
        checksum = s3.get_object(Bucket="reports", Key=found[0].replace("manifest.json", "manifest.checksum"))["Body"].read().decode()
        assert checksum == hashlib.md5(manifest_bytes).hexdigest()
        manifest = jsonlib.loads(manifest_bytes)
        assert manifest["sourceBucket"] == "source" and manifest["destinationBucket"] == "arn:aws:s3:::reports"
        assert manifest["fileFormat"] == "CSV" and manifest["fileSchema"] == "Bucket, Key, Size, StorageClass"
        data = s3.get_object(Bucket="reports", Key=manifest["files"][0]["key"])["Body"].read()
        assert hashlib.md5(data).hexdigest() == manifest["files"][0]["MD5checksum"]
        rows = list(csv.reader(io.StringIO(gzip.decompress(data).decode())))
        assert rows == [["source", "logs/b.txt", "25", "STANDARD_IA"]]
        assert any("/hive/dt=" in k and k.endswith("symlink.txt") for k in keys)

        found, _ = manifests("all")
        manifest = jsonlib.loads(s3.get_object(Bucket="reports", Key=found[0])["Body"].read())
        data = s3.get_object(Bucket="reports", Key=manifest["files"][0]["key"])["Body"].read()
        rows = sorted(csv.reader(io.StringIO(gzip.decompress(data).decode())))
        versions = s3.list_object_versions(Bucket="source", Prefix="logs/")
        marker = versions["DeleteMarkers"][0]["VersionId"]
        a_version = [v["VersionId"] for v in versions["Versions"] if v["Key"] == "logs/a.txt"][0]
        assert rows == sorted([
            ["source", "logs/a.txt", marker, "true", "true", ""],
            ["source", "logs/a.txt", a_version, "false", "false", "10"],
            ["source", "logs/b.txt", v2, "true", "false", "25"],
            ["source", "logs/b.txt", v1, "false", "false", "20"],
        ])
        # No policy on the other destination: S3 cannot write there, so no report.
        assert "Contents" not in s3.list_objects_v2(Bucket="closed")
        s3.delete_bucket_inventory_configuration(Bucket="source", Id="denied")
        with pytest.raises(ClientError) as e:
            s3.get_bucket_inventory_configuration(Bucket="source", Id="denied")
        assert e.value.response["Error"]["Code"] == "NoSuchConfiguration"
    finally:
        n.kill()
