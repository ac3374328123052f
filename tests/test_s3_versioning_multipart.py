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


def test_multipart_checksum_types(s3, bucket):
    """Each algorithm's checksum types (CRC64NVME full object only, SHA-1/SHA-256 composite
    only, CRC32/CRC32C either), the stated checksum of checksums checked on completion, and a
    part's own checksum read back with its part number."""
    import base64

    def sha(data):
        return base64.b64encode(hashlib.sha256(data).digest()).decode()

    assert s3.create_multipart_upload(Bucket=bucket, Key="n", ChecksumAlgorithm="CRC64NVME")["ChecksumType"] == "FULL_OBJECT"
    assert s3.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm="CRC32")["ChecksumType"] == "COMPOSITE"
    for alg, kind in (("SHA256", "FULL_OBJECT"), ("SHA1", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE")):
        with pytest.raises(ClientError) as e:
            s3.create_multipart_upload(Bucket=bucket, Key="x", ChecksumAlgorithm=alg, ChecksumType=kind)
        assert e.value.response["Error"]["Code"] == "InvalidRequest"

    parts = [b"a" * (5 * 1024 * 1024), b"b" * 1000]
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", ChecksumAlgorithm="SHA256")["UploadId"]
    done = []
    for n, body in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="big", UploadId=up, PartNumber=n, Body=body, ChecksumAlgorithm="SHA256")
        assert r["ChecksumSHA256"] == sha(body)
        done.append({"ETag": r["ETag"], "PartNumber": n, "ChecksumSHA256": r["ChecksumSHA256"]})
    composite = sha(b"".join(hashlib.sha256(p).digest() for p in parts))
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up, MultipartUpload={"Parts": done},
                                     ChecksumSHA256=sha(b"something else"))
    assert e.value.response["Error"]["Code"] == "BadDigest"
    out = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=up, MultipartUpload={"Parts": done},
                                       ChecksumSHA256=composite)
    assert out["ChecksumSHA256"] == f"{composite}-2" and out["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == f"{composite}-2"
    part = s3.get_object(Bucket=bucket, Key="big", PartNumber=2, ChecksumMode="ENABLED")
    assert part["ChecksumSHA256"] == sha(parts[1]) and part["ChecksumType"] == "COMPOSITE" and part["Body"].read() == parts[1]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="big", ObjectAttributes=["ObjectParts", "Checksum"])
    assert [p["ChecksumSHA256"] for p in attrs["ObjectParts"]["Parts"]] == [sha(p) for p in parts]
