"""Bad input gets an AWS-style error and changes nothing."""
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed(method, url, body=b"", headers=None):
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    h = dict(req.headers)
    h["x-amz-content-sha256"] = req.headers.get("X-Amz-Content-SHA256")
    return requests.request(method, url, data=body, headers=h)


def payload_signed(method, url, body=b"", headers=None):
    import hashlib

    h = dict(headers or {})
    h["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    req = AWSRequest(method=method, url=url, data=body, headers=h)
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    return requests.request(method, url, data=body, headers=dict(req.headers))


def test_malformed_xml_bodies(server, s3, bucket):
    base = f"{server.endpoint}/{bucket}"
    r = payload_signed("PUT", base + "?tagging", b"<Tagging><TagSet><Tag><Key>a</Key>")
    assert r.status_code == 400 and b"MalformedXML" in r.content
    r = payload_signed("PUT", base + "?versioning", b"<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>")
    assert r.status_code == 400 and b"MalformedXML" in r.content
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    r = payload_signed("POST", base + "?delete", b"not xml at all")
    assert r.status_code == 400 and b"MalformedXML" in r.content
    r = payload_signed("PUT", base + "?cors", b"<CORSConfiguration><CORSRule><AllowedMethod>FETCH</AllowedMethod><AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>")
    assert r.status_code == 400 and b"InvalidRequest" in r.content


def test_bad_headers_and_parameters(server, s3, bucket):
    base = f"{server.endpoint}/{bucket}"
    r = payload_signed("GET", base + "?list-type=2&max-keys=lots")
    assert r.status_code == 400 and b"InvalidArgument" in r.content
    r = payload_signed("PUT", base + "/k", b"abc", {"Content-MD5": "not-base64!"})
    assert r.status_code == 400 and b"InvalidDigest" in r.content
    r = payload_signed("PUT", base + "/k", b"abc", {"x-amz-storage-class": "HOT"})
    assert r.status_code == 400 and b"InvalidStorageClass" in r.content
    r = payload_signed("PUT", base + "/k", b"abc", {"x-amz-checksum-crc32": "AAAAAA=="})
    assert r.status_code == 400 and b"BadDigest" in r.content
    r = payload_signed("PUT", base + "/k?partNumber=1&uploadId=nope", b"abc")
    assert r.status_code == 404 and b"NoSuchUpload" in r.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_truncated_chunked_body_rejected(server, s3, bucket):
    url = f"{server.endpoint}/{bucket}/chunked"
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "10",
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    req = AWSRequest(method="PUT", url=url, headers=headers)
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    h = dict(req.headers)
    h["x-amz-content-sha256"] = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    r = requests.put(url, data=b"a\r\n01234", headers=h)  # declares 10 bytes, sends 5
    assert r.status_code == 400 and b"IncompleteBody" in r.content
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_unknown_operation_is_not_implemented(server, bucket):
    website = b"<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>"
    r = payload_signed("PUT", f"{server.endpoint}/{bucket}?website", website)
    assert r.status_code == 501 and b"NotImplemented" in r.content


def test_empty_bucket_policy_is_malformed_and_not_stored(server, bucket):
    r = payload_signed("PUT", f"{server.endpoint}/{bucket}?policy", b'{"Version":"2012-10-17","Statement":[]}')
    assert r.status_code == 400 and b"<Code>MalformedPolicy</Code>" in r.content
    assert payload_signed("GET", f"{server.endpoint}/{bucket}?policy", b"").status_code == 404
