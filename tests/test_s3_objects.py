"""Buckets and objects through boto3: the operations a data pipeline uses, with S3's errors."""
import datetime
import hashlib
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
