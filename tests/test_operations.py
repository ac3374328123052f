"""Every operation of every vendored botocore model, sent by botocore itself with placeholder
inputs: nuage either serves it (the request log names that very operation) or answers it as
not served with the error its protocol uses for an unknown operation. Never another
operation's response."""
import datetime
import gzip
import json
import pathlib
import re
import urllib.parse

import boto3
import pytest
from botocore.config import Config
from botocore.model import ServiceModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "crates" / "protocol" / "models"
SERVICES = sorted(p.name[: -len(".json.gz")] for p in MODELS.glob("*.json.gz"))
# What each protocol answers for an operation the service does not have.
NOT_SERVED = {
    "query": {"InvalidAction"},
    "ec2": {"InvalidAction"},
    "json": {"UnknownOperationException"},
    "rest-xml": {"NotImplemented"},
    "rest-json": {"UnknownOperationException"},
    "smithy-rpc-v2-cbor": {"UnknownOperationException"},
}


def placeholder(shape, depth=0):
    """A value for `shape` with only its required members, shaped as botocore expects."""
    t = shape.type_name
    if t == "structure":
        return {
            name: placeholder(shape.members[name], depth + 1)
            for name in shape.required_members
            if depth < 6 and name in shape.members
        }
    if t == "list":
        return [placeholder(shape.member, depth + 1)] if depth < 6 else []
    if t == "map":
        return {"k": placeholder(shape.value, depth + 1)}
    if t in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if t in ("float", "double"):
        return 1.0
    if t == "boolean":
        return False
    if t == "timestamp":
        return datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    if t == "blob":
        return b"x"
    if shape.enum:
        return shape.enum[0]
    size = max(1, shape.metadata.get("min", 1))
    return ("nuage-placeholder" * (size // 17 + 1))[: max(size, min(17, shape.metadata.get("max", 17)))]


def log_operations(log_path):
    """request id -> operation, from nuage's request log."""
    ops = {}
    for line in open(log_path, errors="replace"):
        rid = re.search(r"request_id=([0-9A-F]+)", line)
        op = re.search(r"operation=\"?([A-Za-z0-9-]+)", line)
        if rid and op:
            ops[rid.group(1)] = op.group(1)
    return ops


def wire(model, name):
    """What tells a REST operation apart on the wire: method, URI and required query keys."""
    if name not in model.operation_names:
        return None
    http = model.operation_model(name).http
    if not http.get("requestUri"):
        return name
    return (http["method"], http["requestUri"])


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_served_or_refused_as_unknown(server, service, tmp_path):
    with gzip.open(MODELS / f"{service}.json.gz") as f:
        raw = json.load(f)
    model = ServiceModel(raw, service_name=service)
    protocol = raw["metadata"]["protocol"]
    # botocore reads the model nuage vendors, whatever its installed copy says.
    version = raw["metadata"]["apiVersion"]
    data = tmp_path / "models" / service / version
    data.mkdir(parents=True)
    (data / "service-2.json").write_text(json.dumps(raw))
    session = boto3.session.Session()
    session._session.set_config_variable("data_path", str(tmp_path / "models"))
    client = session.client(
        service,
        api_version=version,
        endpoint_url=server.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        config=Config(
            retries={"max_attempts": 1},
            parameter_validation=False,
            inject_host_prefix=False,
            s3={"addressing_style": "path"},
            read_timeout=30,
        ),
    )
    python_name = {api: py for py, api in client.meta.method_to_api_mapping.items()}
    seen = {}
    failures = {}

    def capture(operation_model, response_dict, **_):
        seen[operation_model.name] = response_dict

    def reroute(request, **_):
        # S3 Control puts the account id in the host name: sent to nuage all the same.
        parts = urllib.parse.urlsplit(request.url)
        if parts.hostname != "127.0.0.1":
            request.headers["Host"] = parts.netloc
            request.url = urllib.parse.urlunsplit(parts._replace(netloc=f"127.0.0.1:{server.port}"))

    client.meta.events.register("before-parse", capture)
    client.meta.events.register("before-send", reroute)
    for name in model.operation_names:
        op = model.operation_model(name)
        params = placeholder(op.input_shape) if op.input_shape is not None else {}
        if service == "s3control" and op.input_shape is not None and "OutpostId" in op.input_shape.members:
            # S3 Control shares S3's endpoint here: an Outposts request names its Outpost, or
            # it is indistinguishable from an S3 PutObject to a bucket named v20180820.
            params.setdefault("OutpostId", "op-0123456789abcdef0")
        try:
            getattr(client, python_name[name])(**params)
        except Exception as e:  # noqa: BLE001 - any answer is judged below, from the raw response
            failures[name] = repr(e)
    logged = log_operations(server.log_path)
    wrong = []
    for name in model.operation_names:
        resp = seen.get(name)
        assert resp is not None, f"{service}.{name}: no response ({failures.get(name)})"
        headers = {k.lower(): v for k, v in resp["headers"].items()}
        rid = headers.get("x-amz-request-id") or headers.get("x-amzn-requestid")
        body = resp["body"] if isinstance(resp["body"], bytes) else b""
        # A CBOR error's code is in its (binary) body and, for services that kept their query
        # codes, in `x-amzn-query-error`.
        code = headers.get("x-amzn-errortype", "").split(":")[0] or headers.get("x-amzn-query-error", "").split(";")[0]
        if not code:
            m = re.search(rb"<Code>([^<]+)</Code>", body) or re.search(rb'"__type":\s*"([^"]+)"', body)
            code = m.group(1).decode() if m else ""
        code = code.rsplit("#", 1)[-1]
        if code == "UnknownService":
            continue  # a service nuage does not serve at all, answered in the client's protocol
        if code in NOT_SERVED[protocol] and logged.get(rid) in (None, "-"):
            continue
        # Deprecated operations that are the same request on the wire as their successors
        # (S3's GetBucketLifecycle and GetBucketLifecycleConfiguration) get the same answer.
        if logged.get(rid) != name and wire(model, logged.get(rid)) != wire(model, name):
            wrong.append(f"{name}: status {resp['status_code']} code {code!r} logged as {logged.get(rid)!r}")
    assert not wrong, f"{service}: " + "; ".join(wrong[:20])
