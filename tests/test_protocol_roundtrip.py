"""The protocol layer against botocore itself, for every operation of every vendored model.

For each operation, a value is generated for every member of its input and output shapes
(walking botocore's own model). botocore serialises the input; nuage's codec (through the
`codec_roundtrip` example program) must read back exactly those parameters. nuage's codec
renders the output; botocore's parser must read back exactly that output. This covers the four
protocols: rest-xml (s3, s3control), query (iam, sts), json (dynamodb, secretsmanager, redshift-data) and
rest-json (lambda).
"""
import base64
import datetime
import gzip
import io
import json
import pathlib
import subprocess
import urllib.parse

import pytest
from botocore import parsers, serialize
from botocore.awsrequest import HeadersDict
from botocore.model import ServiceModel
from botocore.response import StreamingBody

ROOT = pathlib.Path(__file__).resolve().parent.parent
PEER = ROOT / "target" / "debug" / "examples" / "codec_roundtrip"
MODELS = ROOT / "crates" / "protocol" / "models"
SERVICES = ["s3", "s3control", "iam", "sts", "dynamodb", "secretsmanager", "redshift-data", "lambda", "redshift", "ec2"]
WHEN = datetime.datetime(2023, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def load(service):
    with gzip.open(MODELS / f"{service}.json.gz") as f:
        return ServiceModel(json.load(f), service_name=service)


def sample(shape, name, depth=0, location=None):
    """A value for `shape` that satisfies botocore's validation and survives every protocol."""
    t = shape.type_name
    if t == "structure":
        members = shape.members
        if shape.is_union if hasattr(shape, "is_union") else shape.metadata.get("union"):
            first = next(iter(members))
            return {first: sample(members[first], first, depth + 1)}
        out = {}
        for mname, mshape in members.items():
            if mshape.serialization.get("eventstream") or mshape.metadata.get("eventstream"):
                continue
            if depth > 3 and mname not in shape.required_members:
                continue
            out[mname] = sample(mshape, mname, depth + 1, mshape.serialization.get("location"))
        return out
    if t == "list":
        return [sample(shape.member, name, depth + 1)]
    if t == "map":
        key = sample(shape.key, "k", depth + 1).lower()
        return {key: sample(shape.value, name, depth + 1)}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        if shape.serialization.get("jsonvalue"):
            return '{"a": 1}'
        lo = shape.metadata.get("min", 1)
        hi = shape.metadata.get("max", 64)
        text = (name.lower() + "value") * 4
        return text[: max(lo, min(hi, 12))].ljust(lo, "x")
    if t in ("integer", "long"):
        if location == "statusCode":
            return 202
        return int(shape.metadata.get("min", 7))
    if t in ("float", "double"):
        return max(1.5, shape.metadata.get("min", 0))
    if t == "boolean":
        return True
    if t == "timestamp":
        return WHEN
    if t == "blob":
        return b"\x00\x01blob-" + name.encode()
    if t == "document":
        return {"a": [1, "b"]}
    raise AssertionError(f"unknown shape type {t}")


def generic(value, shape):
    """The generic representation nuage's codecs hold: timestamps in ms, blobs in base64."""
    t = shape.type_name
    if value is None:
        return None
    if t == "structure":
        return {k: generic(v, shape.members[k]) for k, v in value.items()}
    if t == "list":
        return [generic(v, shape.member) for v in value]
    if t == "map":
        return {k: generic(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return int(value.timestamp() * 1000)
    if t == "blob":
        raw = value if isinstance(value, bytes) else value.read()
        return base64.b64encode(raw).decode()
    if t == "string" and shape.serialization.get("jsonvalue"):
        return json.loads(value) if isinstance(value, str) else value
    return value


def ec2_visible(value):
    """What EC2's parameters can carry: an empty structure or list sends nothing at all."""
    if isinstance(value, dict):
        out = {k: ec2_visible(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [v for v in (ec2_visible(x) for x in value) if v not in ({}, [])]
    return value


def streaming_member(shape, any_blob=False):
    """The payload member carried as the raw body: a streaming blob; on output, botocore reads
    any blob payload as a stream."""
    payload = shape.serialization.get("payload") if shape is not None else None
    if payload and shape.members[payload].type_name == "blob":
        member = shape.members[payload]
        if any_blob or member.serialization.get("streaming") or member.metadata.get("streaming"):
            return payload
    return None


class Peer:
    def __init__(self):
        self.proc = subprocess.Popen([str(PEER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "codec_roundtrip exited"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def peer():
    assert PEER.exists(), f"{PEER} missing: build it with `cargo build --examples -p nuage-protocol`"
    p = Peer()
    yield p
    p.close()


# S3's deprecated notification API binds two members (Event, Events) to the same element name,
# so no reader can tell them apart; botocore's parser cannot either.
AMBIGUOUS = {("s3", "PutBucketNotification", "request"), ("s3", "GetBucketNotification", "response")}


def operations(direction):
    for service in SERVICES:
        model = load(service)
        for op in model.operation_names:
            ambiguous = (service, op, direction) in AMBIGUOUS
            marks = [pytest.mark.xfail(strict=True, reason="ambiguous model")] if ambiguous else []
            yield pytest.param(service, op, id=f"{service}.{op}", marks=marks)


MODEL_CACHE = {}


def model_for(service):
    if service not in MODEL_CACHE:
        MODEL_CACHE[service] = load(service)
    return MODEL_CACHE[service]


def has_eventstream(shape):
    return shape is not None and any(
        m.serialization.get("eventstream") or m.metadata.get("eventstream") for m in shape.members.values()
    )


@pytest.mark.parametrize("service,operation", list(operations("request")))
def test_request_roundtrip(peer, service, operation):
    model = model_for(service)
    op = model.operation_model(operation)
    if op.input_shape is None:
        pytest.skip("no input")
    params = sample(op.input_shape, "input")
    req = serialize.create_serializer(model.metadata["protocol"], include_validation=True).serialize_to_request(
        params, op
    )
    path, _, inline_query = req["url_path"].partition("?")
    query = []
    if isinstance(req["query_string"], dict):
        for k, v in req["query_string"].items():
            for item in v if isinstance(v, list) else [v]:
                query.append([k, str(item)])
    elif req["query_string"]:
        query.extend(urllib.parse.parse_qsl(req["query_string"], keep_blank_values=True))
    query.extend(urllib.parse.parse_qsl(inline_query, keep_blank_values=True))
    body = req["body"]
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    elif body is None:
        body = b""
    elif not isinstance(body, bytes):
        body = body.read()
    got = peer.ask(
        {
            "service": service,
            "operation": operation,
            "direction": "request",
            "method": req["method"],
            "path": path,
            "query": query,
            "headers": [[k, v if isinstance(v, str) else v.decode()] for k, v in req["headers"].items()],
            "body_b64": base64.b64encode(body).decode(),
        }
    )
    assert "error" not in got, got
    expected = generic(params, op.input_shape)
    if model.metadata["protocol"] == "ec2":
        expected = ec2_visible(expected)
    stream = streaming_member(op.input_shape)
    if stream:
        raw = params.pop(stream)
        expected.pop(stream)
        assert base64.b64decode(got["stream_b64"]) == raw
    assert got["value"] == expected


@pytest.mark.parametrize("service,operation", list(operations("response")))
def test_response_roundtrip(peer, service, operation):
    model = model_for(service)
    op = model.operation_model(operation)
    if op.output_shape is None:
        pytest.skip("no output")
    if has_eventstream(op.output_shape):
        pytest.skip("event streams are not part of the codecs")
    output = sample(op.output_shape, "output")
    stream = streaming_member(op.output_shape, any_blob=True)
    raw = output.pop(stream) if stream else None
    answer = peer.ask(
        {
            "service": service,
            "operation": operation,
            "direction": "response",
            "output": generic(output, op.output_shape),
            "stream_b64": base64.b64encode(raw).decode() if raw is not None else None,
        }
    )
    headers = HeadersDict()
    for k, v in answer["headers"]:
        headers[k] = v
    body = base64.b64decode(answer["body_b64"])
    if stream:
        body = StreamingBody(io.BytesIO(body), len(body))
    parsed = parsers.create_parser(model.metadata["protocol"]).parse(
        {"status_code": answer["status"], "headers": headers, "body": body},
        op.output_shape,
    )
    parsed.pop("ResponseMetadata", None)
    if stream:
        assert parsed.pop(stream).read() == raw
    assert generic(parsed, op.output_shape) == generic(output, op.output_shape)
