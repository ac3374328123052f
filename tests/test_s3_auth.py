"""SigV4 as clients use it: presigned URLs, wrong keys, skewed clocks, unsigned requests."""
import base64
import hashlib
import json
import datetime
import urllib.parse
from unittest import mock

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def test_presigned_get_and_put(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=60)
    r = requests.get(url)
    assert r.status_code == 200 and r.content == b"shared"

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"uploaded").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"

    # Tampering with the signed parameters breaks the signature.
    tampered = url.replace("doc.txt", "up.txt")
    r = requests.get(tampered)
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_presigned_url_expires(server, bucket, version):
    s3 = server.client(signature_version=version)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=5)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert ("X-Amz-Expires" in query) == (version == "s3v4")
    assert requests.get(url).status_code == 200
    # The same URL, signed two hours ago with a one-hour lifetime, has expired.
    past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(hours=2)
    past_epoch = past.replace(tzinfo=datetime.timezone.utc).timestamp()
    with mock.patch("botocore.auth.get_current_datetime", return_value=past), mock.patch(
        "botocore.auth.time.time", return_value=past_epoch
    ):
        old = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600)
    r = requests.get(old)
    assert r.status_code == 403
    assert b"Request has expired" in r.content


def test_wrong_secret_unknown_key_and_anonymous(server, bucket, s3):
    s3.put_object(Bucket=bucket, Key="private", Body=b"x")
    bad = server.client(secret_key="not-the-secret")
    with pytest.raises(ClientError) as e:
        bad.get_object(Bucket=bucket, Key="private")
    err = e.value.response["Error"]
    assert err["Code"] == "SignatureDoesNotMatch"
    assert "AWS4-HMAC-SHA256" in err["StringToSign"] and err["CanonicalRequest"].startswith("GET\n")

    unknown = server.client(access_key="AKIDONTEXIST")
    with pytest.raises(ClientError) as e:
        unknown.list_buckets()
    assert e.value.response["Error"]["Code"] == "InvalidAccessKeyId"

    r = requests.get(f"{server.endpoint}/{bucket}/private")
    assert r.status_code == 403 and b"AccessDenied" in r.content


def test_clock_skew_rejected(server, bucket):
    url = f"{server.endpoint}/{bucket}"
    req = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    skewed = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    r = requests.get(url, headers=dict(req.headers))
    assert r.status_code == 403 and b"RequestTimeTooSkewed" in r.content


def test_payload_hash_mismatch_rejected_and_nothing_written(server, s3, bucket):
    url = f"{server.endpoint}/{bucket}/k"
    req = AWSRequest(method="PUT", url=url, data=b"signed body")
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    headers = dict(req.headers)
    headers["x-amz-content-sha256"] = "0" * 64
    r = requests.put(url, data=b"signed body", headers=headers)
    assert r.status_code in (400, 403)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_public_read_acl_allows_anonymous_get_only(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="pub", Body=b"open", ACL="public-read")
    assert requests.get(f"{server.endpoint}/{bucket}/pub").content == b"open"
    r = requests.put(f"{server.endpoint}/{bucket}/pub", data=b"overwrite")
    assert r.status_code == 403
    assert s3.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"open"


def test_presigned_post_upload_and_policy(server, bucket):
    s3 = server.client(signature_version="s3v4")
    post = s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"Content-Type": "text/plain"},
        Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"}, ["content-length-range", 1, 100]],
        ExpiresIn=60,
    )
    r = requests.post(post["url"], data=post["fields"], files={"file": ("note.txt", b"posted!")})
    assert r.status_code == 204, r.text
    got = s3.get_object(Bucket=bucket, Key="uploads/note.txt")
    assert got["Body"].read() == b"posted!" and got["ContentType"] == "text/plain"

    r = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 500)})
    assert r.status_code == 400 and b"EntityTooLarge" in r.content
    fields = dict(post["fields"], **{"x-amz-meta-sneaky": "1"})
    r = requests.post(post["url"], data=fields, files={"file": ("n.txt", b"x")})
    assert r.status_code == 403 and b"Extra input fields" in r.content
    fields = dict(post["fields"], policy=post["fields"]["policy"][:-4] + "AAAA")
    r = requests.post(post["url"], data=fields, files={"file": ("n.txt", b"x")})
    assert r.status_code == 403
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["uploads/note.txt"]

    # A checksum field the policy covers is verified and kept.
    good = base64.b64encode(hashlib.sha256(b"summed").digest()).decode()
    post = s3.generate_presigned_post(bucket, "sums/${filename}", Fields={"x-amz-checksum-sha256": good},
                                      Conditions=[["starts-with", "$key", "sums/"], ["starts-with", "$x-amz-checksum-sha256", ""]])
    r = requests.post(post["url"], data=post["fields"], files={"file": ("a.txt", b"summed")})
    assert r.status_code == 204, r.text
    head = s3.head_object(Bucket=bucket, Key="sums/a.txt", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == good and head["ChecksumType"] == "FULL_OBJECT"
    r = requests.post(post["url"], data=post["fields"], files={"file": ("b.txt", b"other bytes")})
    assert r.status_code == 400 and b"BadDigest" in r.content
    assert "sums/b.txt" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]


def _signed_then_added(method, url, body=b"", added=None, service="s3", signed=None):
    """A request signed with botocore's S3 signer, then given headers the signature does not cover."""
    from botocore.auth import S3SigV4Auth

    req = AWSRequest(method=method, url=url, data=body, headers=signed or {})
    auth = S3SigV4Auth if service == "s3" else SigV4Auth
    auth(Credentials("test", "test"), service, "us-east-1").add_auth(req)
    headers = dict(req.headers)
    headers.update(added or {})
    return requests.request(method, url, data=body, headers=headers)


def test_unsigned_amz_headers_are_refused_and_change_nothing(server, s3, bucket):
    url = f"{server.endpoint}/{bucket}/k"
    r = _signed_then_added("PUT", url, b"body", {"x-amz-meta-evil": "1", "x-amz-acl": "public-read"})
    assert r.status_code == 403, r.content
    assert b"<Code>AccessDenied</Code>" in r.content
    assert b"There were headers present in the request which were not signed" in r.content
    assert b"<HeadersNotSigned>x-amz-acl, x-amz-meta-evil</HeadersNotSigned>" in r.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)

    # The same request with the headers signed is accepted, and they take effect.
    s3.put_object(Bucket=bucket, Key="k", Body=b"body", Metadata={"evil": "1"})
    assert s3.head_object(Bucket=bucket, Key="k")["Metadata"] == {"evil": "1"}

    # Tagging a bucket, and a presigned URL, follow the same rule.
    tagging = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"
    r = _signed_then_added("PUT", f"{server.endpoint}/{bucket}?tagging", tagging, {"x-amz-meta-x": "y"})
    assert r.status_code == 403 and b"x-amz-meta-x" in r.content
    with pytest.raises(ClientError):
        s3.get_bucket_tagging(Bucket=bucket)
    v4 = server.client(signature_version="s3v4")
    put_url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"}, ExpiresIn=60)
    r = requests.put(put_url, data=b"x", headers={"x-amz-meta-added": "1"})
    assert r.status_code == 403 and b"HeadersNotSigned" in r.content
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]


def test_unsigned_amz_headers_refused_by_other_services(server):
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    r = _signed_then_added(
        "POST",
        server.endpoint + "/",
        body,
        {"x-amz-unsigned": "1"},
        service="sts",
        signed={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 403 and b"AccessDenied" in r.content and b"not signed" in r.content
    ok = _signed_then_added(
        "POST", server.endpoint + "/", body, {}, service="sts", signed={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert ok.status_code == 200 and b"GetCallerIdentityResult" in ok.content


def test_user_policy_on_existing_object_tags(server):
    """An IAM user's policy conditioned on s3:ExistingObjectTag: the object's current tags
    decide (read only when a policy that applies names them), and a retag changes the answer."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket="tagged")
    s3.put_object(Bucket="tagged", Key="open.txt", Body=b"o", Tagging="share=yes")
    s3.put_object(Bucket="tagged", Key="closed.txt", Body=b"c", Tagging="share=no")
    iam = server.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tagged/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}}]}))
    iam.create_user(UserName="plain")
    iam.put_user_policy(UserName="plain", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tagged/*"}]}))

    def client(user):
        k = iam.create_access_key(UserName=user)["AccessKey"]
        return server.client("s3", access_key=k["AccessKeyId"], secret_key=k["SecretAccessKey"])

    reader, plain = client("reader"), client("plain")
    assert reader.get_object(Bucket="tagged", Key="open.txt")["Body"].read() == b"o"
    with pytest.raises(ClientError) as e:
        reader.get_object(Bucket="tagged", Key="closed.txt")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    s3.put_object_tagging(Bucket="tagged", Key="closed.txt", Tagging={"TagSet": [{"Key": "share", "Value": "yes"}]})
    assert reader.get_object(Bucket="tagged", Key="closed.txt")["Body"].read() == b"c"
    # A policy without the condition reads no tags and allows both.
    assert plain.get_object(Bucket="tagged", Key="open.txt")["Body"].read() == b"o"
