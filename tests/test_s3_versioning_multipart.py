"""Versioning (delete markers, null versions, permanent deletes) and multipart uploads."""
import hashlib
import os

import pytest
from botocore.exceptions import ClientError


def status_code(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_versioning_delete_markers_and_version_reads(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"

    d = s3.delete_object(Bucket=bucket, Key="k")
    assert d["DeleteMarker"] is True
    marker = d["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert status_code(e) == 404
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker)
    assert status_code(e) == 405

    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1]
    assert listing["DeleteMarkers"][0]["VersionId"] == marker and listing["DeleteMarkers"][0]["IsLatest"]
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
    assert page["IsTruncated"]
    rest = s3.list_object_versions(
        Bucket=bucket, KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"]
    )
    assert len(rest.get("Versions", [])) + len(rest.get("DeleteMarkers", [])) == 2

    # Removing the marker permanently brings the previous version back.
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"one"


def test_suspended_versioning_uses_null_version(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"null-1")
    s3.put_object(Bucket=bucket, Key="k", Body=b"null-2")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", kept]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null-2"


def test_multipart_upload_complete_list_abort(s3, bucket):
    part = os.urandom(5 * 1024 * 1024)
    tail = b"tail"
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="application/octet-stream")
    uid = up["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=part)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=tail)["ETag"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]] == [1, 2]

    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]},
        )
    assert e.value.response["Error"]["Code"] == "InvalidPartOrder"
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0"'}]}
        )
    assert e.value.response["Error"]["Code"] == "InvalidPart"

    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    md5s = hashlib.md5(part).digest() + hashlib.md5(tail).digest()
    assert done["ETag"] == '"%s-2"' % hashlib.md5(md5s).hexdigest()
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == part + tail
    got = s3.get_object(Bucket=bucket, Key="big", PartNumber=2)
    assert got["Body"].read() == tail and got["PartsCount"] == 2
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)

    small = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    a = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=1, Body=b"a")["ETag"]
    b = s3.upload_part(Bucket=bucket, Key="small", UploadId=small, PartNumber=2, Body=b"b")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="small", UploadId=small,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": a}, {"PartNumber": 2, "ETag": b}]},
        )
    assert e.value.response["Error"]["Code"] == "EntityTooSmall"
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=small)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="small", UploadId=small)
    assert e.value.response["Error"]["Code"] == "NoSuchUpload"


def test_upload_part_copy(s3, bucket):
    src = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    p1 = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src",
        CopySourceRange="bytes=0-5242879",
    )["CopyPartResult"]["ETag"]
    p2 = s3.upload_part_copy(
        Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2, CopySource=f"{bucket}/src",
        CopySourceRange=f"bytes=5242880-{len(src) - 1}",
    )["CopyPartResult"]["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="dst", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]},
    )
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == src


def test_object_lock_retention_and_legal_hold(s3):
    import datetime

    s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="locked")["Status"] == "Enabled"
    s3.put_object_lock_configuration(
        Bucket="locked",
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}},
    )
    vid = s3.put_object(Bucket="locked", Key="k", Body=b"worm")["VersionId"]
    head = s3.head_object(Bucket="locked", Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="locked", Key="k", VersionId=vid)
    assert status_code(e) == 403
    s3.delete_object(Bucket="locked", Key="k", VersionId=vid, BypassGovernanceRetention=True)

    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
    vid = s3.put_object(
        Bucket="locked", Key="c", Body=b"x", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
    )["VersionId"]
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket="locked", Key="c", VersionId=vid, BypassGovernanceRetention=True)
    assert status_code(e) == 403
    assert s3.get_object_retention(Bucket="locked", Key="c")["Retention"]["Mode"] == "COMPLIANCE"

    s3.put_object(Bucket="locked", Key="h", Body=b"x")
    s3.put_object_legal_hold(Bucket="locked", Key="h", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="locked", Key="h")["LegalHold"]["Status"] == "ON"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket="locked", VersioningConfiguration={"Status": "Suspended"})
    assert e.value.response["Error"]["Code"] == "InvalidBucketState"


def test_list_object_versions_interleaves_markers_newest_first(server, s3, bucket):
    """Versions and delete markers share one newest-first order per key in the XML itself."""
    import re

    import requests
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.put_object(Bucket=bucket, Key="a", Body=b"2")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"3")
    url = f"{server.endpoint}/{bucket}?versions"
    req = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    xml = requests.get(url, headers=dict(req.headers)).text
    entries = [
        (kind, re.search(r"<Key>([^<]*)</Key>", inner).group(1), re.search(r"<IsLatest>(\w+)</IsLatest>", inner).group(1))
        for kind, inner in re.findall(r"<(Version|DeleteMarker)>(.*?)</\1>", xml, re.S)
    ]
    assert entries == [
        ("DeleteMarker", "a", "true"),
        ("Version", "a", "false"),
        ("DeleteMarker", "a", "false"),
        ("Version", "a", "false"),
        ("Version", "b", "true"),
    ], xml
    # boto3 still reads both lists.
    out = s3.list_object_versions(Bucket=bucket)
    assert len(out["Versions"]) == 3 and len(out["DeleteMarkers"]) == 2
