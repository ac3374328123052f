"""Bad input gets an AWS-style error and changes nothing."""
import pytest
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
    replication = (
        b"<ReplicationConfiguration><Role>arn:aws:iam::000000000000:role/r</Role><Rule><Status>Enabled</Status>"
        b"<Destination><Bucket>arn:aws:s3:::elsewhere</Bucket></Destination></Rule></ReplicationConfiguration>"
    )
    r = payload_signed("PUT", f"{server.endpoint}/{bucket}?replication", replication)
    assert r.status_code == 501 and b"NotImplemented" in r.content


def test_empty_bucket_policy_is_malformed_and_not_stored(server, bucket):
    r = payload_signed("PUT", f"{server.endpoint}/{bucket}?policy", b'{"Version":"2012-10-17","Statement":[]}')
    assert r.status_code == 400 and b"<Code>MalformedPolicy</Code>" in r.content
    assert payload_signed("GET", f"{server.endpoint}/{bucket}?policy", b"").status_code == 404


def test_ambiguous_query_and_unknown_list_type_refused(server, s3):
    import uuid

    bucket = f"v-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    r = payload_signed("DELETE", f"{server.endpoint}/{bucket}/k?versionId={v1}&versionId={v2}")
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content
    assert sorted(v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]) == sorted([v1, v2])
    r = payload_signed("GET", f"{server.endpoint}/{bucket}?list-type=3")
    assert r.status_code == 400 and b"<Code>InvalidArgument</Code>" in r.content


def test_unserved_service_answers_in_the_clients_protocol(server):
    import json

    from botocore.auth import SigV4Auth as Signer

    body = json.dumps({"Name": "x"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityService.ListIdentityPools"}
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers=headers)
    Signer(Credentials("test", "test"), "cognito-identity", "us-east-1").add_auth(req)
    r = requests.post(server.endpoint + "/", data=body, headers=dict(req.headers))
    assert r.status_code == 400
    err = r.json()
    assert err["__type"] == "UnknownService" and "cognito-identity" in err["message"]


def test_single_put_over_5_gib_refused_before_the_body(server, s3, bucket):
    """A PUT announcing 6 GiB is answered EntityTooLarge after a few MiB, memory untouched."""
    import socket

    def rss_kib():
        for line in open(f"/proc/{server.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

    before = rss_kib()
    size = 6 * 1024**3
    req = AWSRequest(
        method="PUT",
        url=f"{server.endpoint}/{bucket}/huge",
        headers={"Content-Length": str(size), "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    head = f"PUT /{bucket}/huge HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode())
        sent = 0
        chunk = b"\0" * (256 * 1024)
        sock.settimeout(0.05)
        response = b""
        while sent < 8 * 1024 * 1024 and b"\r\n\r\n" not in response:
            try:
                sock.sendall(chunk)
                sent += len(chunk)
            except OSError:
                break
            try:
                response += sock.recv(65536)
            except socket.timeout:
                pass
        sock.settimeout(10)
        while b"</Error>" not in response:
            data = sock.recv(65536)
            if not data:
                break
            response += data
    assert response.startswith(b"HTTP/1.1 400"), response[:200]
    assert b"<Code>EntityTooLarge</Code>" in response and b"<MaxSizeAllowed>5368709120</MaxSizeAllowed>" in response
    assert rss_kib() - before < 32 * 1024
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_model_constraints_enforced_before_handlers(server):
    """Required members, lengths, ranges and enum values the model declares are refused with
    the service's validation error and AWS's wording, and change nothing."""
    import pytest
    from botocore.exceptions import ClientError

    def client(service):
        return server.client(service, parameter_validation=False)

    iam = client("iam")
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="u" * 65, Path="")
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationError"
    head, _, rest = err["Message"].partition(": ")
    assert head == "2 validation errors detected"
    assert sorted(rest.split("; ")) == [
        "Value '' at 'path' failed to satisfy constraint: Member must have length greater than or equal to 1",
        f"Value '{'u' * 65}' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64",
    ]
    assert server.client("iam").list_users()["Users"] == []
    with pytest.raises(ClientError) as e:
        iam.list_users(MaxItems=0)
    assert "Member must have value greater than or equal to 1" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        iam.update_access_key(AccessKeyId="AKIAEXAMPLEEXAMPLE12", Status="Sometimes")
    assert "Member must satisfy enum value set: [Active, Inactive" in e.value.response["Error"]["Message"]

    sm = client("secretsmanager")
    with pytest.raises(ClientError) as e:
        sm.get_secret_value()
    err = e.value.response["Error"]
    assert err["Code"] == "ValidationException"
    assert err["Message"] == "1 validation error detected: Value null at 'secretId' failed to satisfy constraint: Member must not be null"


def test_object_body_without_content_length_refused(server, s3, bucket):
    """An object PUT that announces neither a length nor chunked transfer: 411
    MissingContentLength. Sent chunked, it is taken."""
    import http.client

    url = f"{server.endpoint}/{bucket}/obj"
    req = AWSRequest(method="PUT", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(Credentials("test", "test"), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("PUT", f"/{bucket}/obj", skip_accept_encoding=True)
    for k, v in req.headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 411 and b"<Code>MissingContentLength</Code>" in r.read()
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)

    def body():
        yield b"abc"
        yield b"def"

    r = requests.put(url, data=body(), headers=dict(req.headers))  # Transfer-Encoding: chunked
    assert r.status_code == 200
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"abcdef"


def test_authentication_failures_in_each_services_words(server):
    """An unknown key or a wrong secret is refused by every service, each with the code its
    SDK users match on: S3's InvalidAccessKeyId, STS's InvalidClientTokenId, the JSON
    services' UnrecognizedClientException, EC2's AuthFailure."""
    from botocore.exceptions import ClientError

    def refusal(service, call, **keys):
        with pytest.raises(ClientError) as e:
            call(server.client(service, **keys))
        return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]

    unknown = dict(access_key="AKIAUNKNOWNKEY000000", secret_key="x")
    assert refusal("s3", lambda c: c.list_buckets(), **unknown) == ("InvalidAccessKeyId", 403)
    assert refusal("sts", lambda c: c.get_caller_identity(), **unknown) == ("InvalidClientTokenId", 403)
    assert refusal("iam", lambda c: c.list_users(), **unknown) == ("InvalidClientTokenId", 403)
    assert refusal("secretsmanager", lambda c: c.list_secrets(), **unknown) == ("UnrecognizedClientException", 400)
    assert refusal("ec2", lambda c: c.describe_security_groups(), **unknown) == ("AuthFailure", 401)
    wrong = dict(access_key="test", secret_key="not-the-secret")
    assert refusal("sts", lambda c: c.get_caller_identity(), **wrong) == ("SignatureDoesNotMatch", 403)
    assert refusal("secretsmanager", lambda c: c.list_secrets(), **wrong) == ("InvalidSignatureException", 400)
    assert refusal("redshift", lambda c: c.describe_clusters(), **wrong) == ("SignatureDoesNotMatch", 403)
