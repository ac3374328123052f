"""Buckets and objects through boto3: the operations a data pipeline uses, with S3's errors."""
import datetime
import hashlib
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError


def error_of(excinfo):
    r = excinfo.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]


def test_bucket_lifecycle_and_errors(server, s3):
    s3.create_bucket(Bucket="alpha")
    s3.create_bucket(Bucket="beta", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["alpha", "beta"]
    assert s3.get_bucket_location(Bucket="beta")["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket="alpha")["LocationConstraint"] is None
    s3.head_bucket(Bucket="alpha")

    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert error_of(e) == (400, "InvalidBucketName")

    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="beta", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_of(e) == (409, "BucketAlreadyOwnedByYou")

    s3.put_object(Bucket="alpha", Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="alpha")
    assert error_of(e) == (409, "BucketNotEmpty")
    s3.delete_object(Bucket="alpha", Key="k")
    s3.delete_bucket(Bucket="alpha")
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="alpha")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_put_get_head_with_metadata_and_headers(s3, bucket):
    body = b"hello, warehouse\n" * 100
    put = s3.put_object(
        Bucket=bucket,
        Key="data/file.csv",
        Body=body,
        ContentType="text/csv",
        CacheControl="max-age=60",
        ContentDisposition="attachment",
        Metadata={"owner": "mary", "stage": "raw"},
    )
    assert put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="data/file.csv")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/csv"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "attachment"
    assert got["Metadata"] == {"owner": "mary", "stage": "raw"}
    assert got["ContentLength"] == len(body)
    head = s3.head_object(Bucket=bucket, Key="data/file.csv")
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == put["ETag"]

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert error_of(e) == (404, "NoSuchKey")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="no-such-bucket-here", Key="x")
    assert error_of(e) == (404, "NoSuchBucket")


def test_range_and_conditional_reads(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    r = s3.get_object(Bucket=bucket, Key="k", Range="bytes=2-5")
    assert r["Body"].read() == b"2345"
    assert r["ContentRange"] == "bytes 2-5/10"
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=-3")["Body"].read() == b"789"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", Range="bytes=20-30")
    assert error_of(e) == (416, "InvalidRange")

    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"nope"')
    assert error_of(e) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=future)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_conditional_write_if_none_match(s3, bucket):
    s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert error_of(e) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_listing_v1_and_v2(s3, bucket):
    keys = ["a/1", "a/2", "b/1", "c", "d/e/f"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    v2 = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [c["Key"] for c in v2["Contents"]] == ["c"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["a/", "b/", "d/"]
    assert v2["KeyCount"] == 4

    page1 = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert page1["IsTruncated"] and [c["Key"] for c in page1["Contents"]] == ["a/1", "a/2"]
    page2 = s3.list_objects_v2(Bucket=bucket, MaxKeys=2, ContinuationToken=page1["NextContinuationToken"])
    assert [c["Key"] for c in page2["Contents"]] == ["b/1", "c"]
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=bucket, StartAfter="c")["Contents"]] == ["d/e/f"]
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=bucket, Prefix="a/")["Contents"]] == ["a/1", "a/2"]

    v1 = s3.list_objects(Bucket=bucket, Marker="b/1")
    assert [c["Key"] for c in v1["Contents"]] == ["c", "d/e/f"]
    assert v1["Contents"][0]["Owner"]["ID"]
    paginator = s3.get_paginator("list_objects_v2")
    seen = [c["Key"] for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 1}) for c in page["Contents"]]
    assert seen == sorted(keys)

    s3.put_object(Bucket=bucket, Key="sp ace+plus", Body=b"")
    url = s3.list_objects_v2(Bucket=bucket, Prefix="sp", EncodingType="url")
    # botocore leaves an explicitly requested encoding to the caller.
    assert urllib.parse.unquote_plus(url["Contents"][0]["Key"]) == "sp ace+plus"
    assert "+" not in url["Contents"][0]["Key"]


def test_copy_object_and_metadata_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"}, ContentType="text/plain")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    dst = s3.get_object(Bucket=bucket, Key="dst")
    assert dst["Body"].read() == b"payload" and dst["Metadata"] == {"a": "1"} and dst["ContentType"] == "text/plain"
    s3.copy_object(
        Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE", Metadata={"b": "2"}
    )
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"b": "2"}
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error_of(e) == (400, "InvalidRequest")
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"bad"')
    assert error_of(e) == (412, "PreconditionFailed")


def test_delete_objects_and_tagging(s3, bucket):
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "zz"]
    assert [c["Key"] for c in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]

    s3.put_object_tagging(Bucket=bucket, Key="c", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="c")["TagSet"] == [{"Key": "team", "Value": "data"}]
    s3.put_object(Bucket=bucket, Key="t", Body=b"", Tagging="k1=v1&k2=v2")
    assert len(s3.get_object_tagging(Bucket=bucket, Key="t")["TagSet"]) == 2
    with pytest.raises(ClientError) as e:
        s3.put_object_tagging(
            Bucket=bucket, Key="c", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
        )
    assert error_of(e)[0] == 400

    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "lab"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "lab"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_of(e) == (404, "NoSuchTagSet")


def test_checksums_and_content_md5(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="c", Body=b"hello", ChecksumAlgorithm="SHA256")
    assert r["ChecksumSHA256"] == "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == r["ChecksumSHA256"]
    attrs = s3.get_object_attributes(Bucket=bucket, Key="c", ObjectAttributes=["ETag", "Checksum", "ObjectSize"])
    assert attrs["ObjectSize"] == 5 and attrs["Checksum"]["ChecksumSHA256"] == r["ChecksumSHA256"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"hello", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert error_of(e) == (400, "BadDigest")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def test_bucket_configuration_round_trips(s3, bucket):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 30}]},
    )
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedMethods"] == ["GET"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
    )
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ServerSideEncryption"] == "aws:kms"
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert error_of(e) == (400, "AccessControlListNotSupported")


def test_lifecycle_configuration_and_expiration_header(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_of(e) == (404, "NoSuchLifecycleConfiguration")
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 7}},
        {"Filter": {"Prefix": "tmp/"}, "Status": "Disabled", "Expiration": {"Days": 1}},
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["Status"] for r in got] == ["Enabled", "Disabled"] and all(r["ID"] for r in got)
    put = s3.put_object(Bucket=bucket, Key="logs/a.log", Body=b"x")
    assert 'rule-id="logs"' in put["Expiration"]
    assert "Expiration" not in s3.put_object(Bucket=bucket, Key="tmp/a", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={"Rules": [{"ID": "x", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 0}}]},
        )
    assert error_of(e) == (400, "InvalidArgument")
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 2
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)


def test_large_bodies_go_to_disk_as_they_arrive(server, s3, bucket):
    """Bodies past the spool threshold (8 MiB) are written to a file as they arrive, in every
    signing form, checked (payload hash, chunk signatures, checksums, Content-MD5) and adopted
    without a copy; GETs stream from the blobs. Nothing is left behind."""
    import base64
    import glob
    import hashlib
    import os

    import requests
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    big = os.urandom(12 * 1024 * 1024 + 7)
    md5 = hashlib.md5(big).hexdigest()
    # boto3 (its own checksum and framing), then a ranged read.
    s3.put_object(Bucket=bucket, Key="boto", Body=big, ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=bucket, Key="boto")
    assert got["ContentLength"] == len(big) and hashlib.md5(got["Body"].read()).hexdigest() == md5
    assert s3.get_object(Bucket=bucket, Key="boto", Range="bytes=9000000-9000009")["Body"].read() == big[9000000:9000010]
    # A signed payload hash; a wrong one is refused and nothing is stored.
    url = f"{server.endpoint}/{bucket}/signed"
    req = AWSRequest(method="PUT", url=url, data=big, headers={"x-amz-content-sha256": hashlib.sha256(big).hexdigest(), "Content-MD5": base64.b64encode(hashlib.md5(big).digest()).decode()})
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    r = requests.put(url, data=big, headers=dict(req.headers))
    assert r.status_code == 200 and r.headers["ETag"] == f'"{md5}"'
    bad = AWSRequest(method="PUT", url=url + "2", data=big)
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(bad)
    tampered = big[:-1] + bytes([big[-1] ^ 1])  # the signed hash is the original's
    r = requests.put(url + "2", data=tampered, headers=dict(bad.headers))
    assert r.status_code == 400 and b"XAmzContentSHA256Mismatch" in r.content
    wrong_md5 = AWSRequest(method="PUT", url=url + "3", data=big, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "Content-MD5": base64.b64encode(b"0" * 16).decode()})
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(wrong_md5)
    r = requests.put(url + "3", data=big, headers=dict(wrong_md5.headers))
    assert r.status_code == 400 and b"BadDigest" in r.content
    # Multipart with large parts, and a presigned PUT.
    up = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="parts", UploadId=up, PartNumber=n, Body=big)["ETag"] for n in (1, 2)]
    s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
    whole = s3.get_object(Bucket=bucket, Key="parts")["Body"].read()
    assert whole == big + big
    put_url = server.client(signature_version="s3v4").generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre"}, ExpiresIn=60)
    assert requests.put(put_url, data=big).status_code == 200
    assert hashlib.md5(s3.get_object(Bucket=bucket, Key="pre")["Body"].read()).hexdigest() == md5
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["boto", "parts", "pre", "signed"]
    # A large body any other operation gets is refused as S3 refuses it.
    tag_url = f"{server.endpoint}/{bucket}?tagging"
    tag = AWSRequest(method="PUT", url=tag_url, data=big, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(tag)
    r = requests.put(tag_url, data=big, headers=dict(tag.headers))
    assert r.status_code == 400 and b"MaxMessageLengthExceeded" in r.content
    assert glob.glob(os.path.join(server.data_dir, "state", "blobs", "*.spool")) == []


def _chunk_signed_put(url, data, chunk=1024 * 1024, tamper=False):
    """A PUT in the STREAMING-AWS4-HMAC-SHA256-PAYLOAD form: the body in chunks, each signed
    after the one before (the seed being the request's own signature), as AWS documents it."""
    import hashlib
    import hmac

    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "x-amz-decoded-content-length": str(len(data)),
        "content-encoding": "aws-chunked",
    }
    req = AWSRequest(method="PUT", url=url, headers=headers)
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = h(h(h(h(b"AWS4test", amz_date[:8]), "us-east-1"), "s3"), "aws4_request")
    empty = hashlib.sha256(b"").hexdigest()
    body, prev = bytearray(), seed
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        sts = f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{prev}\n{empty}\n{hashlib.sha256(piece).hexdigest()}"
        prev = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper and n == 1:
            piece = bytes([piece[0] ^ 1]) + piece[1:]
        body += f"{len(piece):x};chunk-signature={prev}\r\n".encode() + piece + b"\r\n"
    sent = dict(req.headers)
    sent["Content-Length"] = str(len(body))
    return requests.put(url, data=bytes(body), headers=sent)


def test_large_chunk_signed_upload(server, s3, bucket):
    import hashlib
    import os

    big = os.urandom(10 * 1024 * 1024 + 3)
    r = _chunk_signed_put(f"{server.endpoint}/{bucket}/chunked", big)
    assert r.status_code == 200, r.content
    assert hashlib.md5(s3.get_object(Bucket=bucket, Key="chunked")["Body"].read()).digest() == hashlib.md5(big).digest()
    # A chunk changed in flight breaks its signature: refused, nothing stored.
    r = _chunk_signed_put(f"{server.endpoint}/{bucket}/tampered", big, tamper=True)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["chunked"]
    # The same in memory (a small body).
    r = _chunk_signed_put(f"{server.endpoint}/{bucket}/small", b"hello world" * 100, chunk=256)
    assert r.status_code == 200 and s3.get_object(Bucket=bucket, Key="small")["Body"].read() == b"hello world" * 100


def test_archived_objects_are_read_after_a_restore(tmp_path):
    from conftest import Nuage

    # S3's hours become seconds: Standard (4 h) takes one.
    n = Nuage(str(tmp_path), ["--restore-speedup", "14400"]).start()
    try:
        s3 = n.client("s3")
        s3.create_bucket(Bucket="archive")
        s3.put_object(Bucket="archive", Key="2019.csv", Body=b"old,data\n", StorageClass="GLACIER")
        s3.put_object(Bucket="archive", Key="deep.csv", Body=b"deep", StorageClass="DEEP_ARCHIVE")
        s3.put_object(Bucket="archive", Key="hot.csv", Body=b"hot")
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="archive", Key="2019.csv")
        assert e.value.response["Error"]["Code"] == "InvalidObjectState"
        assert s3.head_object(Bucket="archive", Key="2019.csv")["StorageClass"] == "GLACIER"
        with pytest.raises(ClientError) as e:
            s3.copy_object(Bucket="archive", Key="copy.csv", CopySource="archive/2019.csv")
        assert e.value.response["Error"]["Code"] == "InvalidObjectState"
        with pytest.raises(ClientError) as e:
            s3.restore_object(Bucket="archive", Key="hot.csv", RestoreRequest={"Days": 1})
        assert e.value.response["Error"]["Code"] == "InvalidObjectState"
        with pytest.raises(ClientError) as e:
            s3.restore_object(Bucket="archive", Key="deep.csv", RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}})
        assert e.value.response["Error"]["Code"] == "InvalidArgument"
        r = s3.restore_object(Bucket="archive", Key="2019.csv", RestoreRequest={"Days": 2, "GlacierJobParameters": {"Tier": "Standard"}})
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 202
        assert s3.head_object(Bucket="archive", Key="2019.csv")["Restore"] == 'ongoing-request="true"'
        with pytest.raises(ClientError) as e:
            s3.restore_object(Bucket="archive", Key="2019.csv", RestoreRequest={"Days": 2})
        assert e.value.response["Error"]["Code"] == "RestoreAlreadyInProgress"
        with pytest.raises(ClientError):
            s3.get_object(Bucket="archive", Key="2019.csv")
        time.sleep(1.5)
        head = s3.head_object(Bucket="archive", Key="2019.csv")
        assert head["Restore"].startswith('ongoing-request="false", expiry-date="') and head["StorageClass"] == "GLACIER"
        got = s3.get_object(Bucket="archive", Key="2019.csv")
        assert got["Body"].read() == b"old,data\n" and got["Restore"] == head["Restore"]
        s3.copy_object(Bucket="archive", Key="copy.csv", CopySource="archive/2019.csv")
        # Asked again, the restored copy's expiry moves: 200, not 202.
        again = s3.restore_object(Bucket="archive", Key="2019.csv", RestoreRequest={"Days": 10})
        assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert s3.head_object(Bucket="archive", Key="2019.csv")["Restore"] != head["Restore"]
    finally:
        n.kill()
