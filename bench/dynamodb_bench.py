"""DynamoDB throughput and p99 latency: PutItem, GetItem and Query (100-item pages) with 16
concurrent connections, nuage against moto's server in the same run, plus peak RSS.

Requests are signed once with botocore's SigV4 signer and replayed by wrk (a signature
stays valid for 15 minutes), rotating over many distinct keys, so the load generator costs
next to nothing and every server sees exactly the same requests. nuage runs with IAM and
throughput enforcement on: the requests come from an IAM user whose policy is evaluated on
each one, against a provisioned table whose capacity buckets are checked and debited.
All traffic stays on 127.0.0.1."""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import boto3
import psutil
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from s3_bench import parse_wrk

CONNECTIONS = 16
THREADS = 2
KEYS = 2000
PARTITIONS = 20
PAGE = 100


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never became ready")


def rss_mib(proc):
    p = psutil.Process(proc.pid)
    return (p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))) / (1024 * 1024)


def signed(endpoint, creds, target, body):
    """A signed DynamoDB request, as (headers, body)."""
    data = json.dumps(body)
    req = AWSRequest(method="POST", url=endpoint + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{target}"})
    SigV4Auth(creds, "dynamodb", "us-east-1").add_auth(req)
    headers = dict(req.headers.items())
    # wrk's default Host header leaves the port out; the signature covers it.
    headers["Host"] = endpoint.split("//", 1)[1]
    return headers, data


def lua_string(s):
    return "[==[" + s + "]==]"


def wrk(endpoint, requests_, seconds):
    """Replays the signed requests round-robin on 16 connections."""
    fd, script = tempfile.mkstemp(suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write("local reqs = {}\n")
        for headers, body in requests_:
            hs = ", ".join(f"[ {lua_string(k)} ] = {lua_string(v)}" for k, v in headers.items() if k.lower() != "content-length")
            f.write(f'reqs[#reqs + 1] = wrk.format("POST", "/", {{{hs}}}, {lua_string(body)})\n')
        f.write("local i = 0\n")
        f.write("request = function()\n  i = i + 1\n  if i > #reqs then i = 1 end\n  return reqs[i]\nend\n")
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script, endpoint + "/"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    os.unlink(script)
    return parse_wrk(out)


def client(endpoint, service, key="test", secret="test"):
    return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret, region_name="us-east-1")


def bench_user(endpoint):
    iam = client(endpoint, "iam")
    iam.create_user(UserName="bench")
    iam.put_user_policy(UserName="bench", PolicyName="bench", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"],
                       "Resource": "arn:aws:dynamodb:us-east-1:*:table/bench*"}]}))
    k = iam.create_access_key(UserName="bench")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def item(i):
    return {"pk": {"S": f"user-{i:05}"}, "name": {"S": f"name {i}"}, "score": {"N": str(i * 7)}, "tags": {"SS": ["a", "b"]},
            "profile": {"M": {"city": {"S": "Paris"}, "visits": {"N": str(i)}}}}


def measure(name, cmd, port, seconds, iam_user):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_ready(endpoint + "/", proc)
        idle = rss_mib(proc)
        ddb = client(endpoint, "dynamodb")
        for table, keys in (("bench", [{"AttributeName": "pk", "KeyType": "HASH"}]),
                            ("benchq", [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])):
            attrs = [{"AttributeName": k["AttributeName"], "AttributeType": "N" if k["AttributeName"] == "sk" else "S"} for k in keys]
            ddb.create_table(TableName=table, KeySchema=keys, AttributeDefinitions=attrs,
                             ProvisionedThroughput={"ReadCapacityUnits": 40000, "WriteCapacityUnits": 40000})
        for start in range(0, KEYS, 25):
            ddb.batch_write_item(RequestItems={"bench": [{"PutRequest": {"Item": item(i)}} for i in range(start, start + 25)]})
        for p in range(PARTITIONS):
            for start in range(0, PAGE, 25):
                ddb.batch_write_item(RequestItems={"benchq": [{"PutRequest": {"Item": {
                    "pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "v": {"S": "x" * 100}}}} for s in range(start, start + 25)]})
        creds = Credentials(*(bench_user(endpoint) if iam_user else ("test", "test")))
        puts = [signed(endpoint, creds, "PutItem", {"TableName": "bench", "Item": item(KEYS + i)}) for i in range(KEYS)]
        gets = [signed(endpoint, creds, "GetItem", {"TableName": "bench", "Key": {"pk": item(i)["pk"]}}) for i in range(KEYS)]
        queries = [signed(endpoint, creds, "Query", {
            "TableName": "benchq", "KeyConditionExpression": "pk = :p", "Limit": PAGE,
            "ExpressionAttributeValues": {":p": {"S": f"p{p}"}}}) for p in range(PARTITIONS)]
        # Every request must be answered correctly before it is timed.
        for headers, body in (puts[0], gets[0], queries[0]):
            r = requests.post(endpoint + "/", data=body, headers=headers)
            assert r.status_code == 200, (name, r.text)
        got = requests.post(endpoint + "/", data=queries[0][1], headers=queries[0][0]).json()
        assert len(got["Items"]) == PAGE, got
        out = {"name": name, "idle_mib": idle}
        peak = idle
        for label, reqs in (("put", puts), ("get", gets), ("query", queries)):
            out[label] = wrk(endpoint, reqs, seconds)
            peak = max(peak, rss_mib(proc))
        out["peak_mib"] = peak
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    data = tempfile.mkdtemp()
    port = free_port()
    nuage = measure("nuage", [a.nuage, "--port", str(port), "--data-dir", data, "--log", "warn", "--no-samples"], port,
                    a.seconds, iam_user=True)
    shutil.rmtree(data, ignore_errors=True)
    port = free_port()
    moto_bin = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    moto = measure("moto", [moto_bin, "-p", str(port)], port, a.seconds, iam_user=False)

    print(f"\nDynamoDB, wrk {THREADS} threads / {CONNECTIONS} connections, {a.seconds}s per measurement")
    print("(nuage: IAM user with its policy evaluated, provisioned table with throughput enforced)\n")
    print(f"{'server':8} {'op':6} {'req/s':>10} {'p99':>10} {'errors':>7}")
    for r in (nuage, moto):
        for op in ("put", "get", "query"):
            m = r[op]
            print(f"{r['name']:8} {op:6} {m['rps']:>10.0f} {m['p99_ms']:>8.2f}ms {m['errors']:>7}")
        print(f"{r['name']:8} RSS    idle {r['idle_mib']:.0f} MiB, peak {r['peak_mib']:.0f} MiB")
    print("\nratios nuage / moto (aim >= 50x; GetItem aim >= 20000 req/s)")
    for op in ("put", "get", "query"):
        print(f"  {op:6} {nuage[op]['rps'] / moto[op]['rps']:.1f}x")


if __name__ == "__main__":
    main()
