"""Measures nuage, moto and nginx side by side: 4 KiB GET and durable PUT throughput, p99
latency, errors, time to first request and idle RSS. All traffic stays on 127.0.0.1."""
import argparse
import json
import os
import re
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
from botocore.config import Config

BODY = os.urandom(4096)
CONNECTIONS = 16
THREADS = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, started, timeout=30):
    """Returns seconds from process start to the first successful request."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"{url} never became ready")


def rss_mib(proc):
    p = psutil.Process(proc.pid)
    total = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
    return total / (1024 * 1024)


def wrk(url, seconds, method="GET", body=None):
    script = None
    args = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if method != "GET":
        fd, script = tempfile.mkstemp(suffix=".lua")
        with os.fdopen(fd, "w") as f:
            f.write(f'wrk.method = "{method}"\nwrk.body = string.rep("x", {len(body)})\n')
            f.write('wrk.headers["Content-Type"] = "application/octet-stream"\n')
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    if script:
        os.unlink(script)
    return parse_wrk(out)


def parse_wrk(out):
    """Requests per second, p99 latency (ms) and errors (non-2xx/3xx answers and socket
    errors) from wrk's report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    err = int(non2xx.group(1)) if non2xx else 0
    if errors:
        err += sum(int(x) for x in errors.groups())
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale, "errors": err}


def s3_client(endpoint, key="test", secret="test", service="s3"):
    return boto3.client(
        service, endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
        region_name="us-east-1", config=Config(signature_version="s3v4"),
    )


def iam_user_keys(endpoint):
    """An IAM user whose policy allows exactly what the benchmark does: every request it
    signs goes through the full policy evaluation."""
    iam = s3_client(endpoint, service="iam")
    iam.create_user(UserName="bench")
    iam.put_user_policy(
        UserName="bench",
        PolicyName="bench",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::bench/*"},
            {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
        ]}),
    )
    k = iam.create_access_key(UserName="bench")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def measure_s3(name, cmd, port, seconds, env=None, as_iam_user=False):
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ready = wait_ready(endpoint + "/", proc, started)
        time.sleep(1.0)
        idle = rss_mib(proc)
        s3 = s3_client(endpoint)
        s3.create_bucket(Bucket="bench")
        s3.put_object(Bucket="bench", Key="obj-4k", Body=BODY)
        if as_iam_user:
            s3 = s3_client(endpoint, *iam_user_keys(endpoint))
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "bench", "Key": "obj-4k"}, ExpiresIn=3600)
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "bench", "Key": "put-4k"}, ExpiresIn=3600)
        get = wrk(get_url, seconds)
        put = wrk(put_url, seconds, method="PUT", body=BODY)
        return {"name": name, "ready_ms": ready * 1000, "idle_mib": idle, "get": get, "put": put}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def measure_nginx(seconds):
    port = free_port()
    root = tempfile.mkdtemp()
    os.chmod(root, 0o755)  # nginx workers run unprivileged and must read the file
    with open(os.path.join(root, "obj-4k"), "wb") as f:
        f.write(BODY)
    os.chmod(os.path.join(root, "obj-4k"), 0o644)
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes auto; pid {root}/nginx.pid; error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {root}; }} }}
""")
    started = time.perf_counter()
    proc = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/obj-4k", proc, started)
        assert requests.get(f"http://127.0.0.1:{port}/obj-4k").content == BODY, "nginx must serve the file"
        time.sleep(0.5)
        idle = rss_mib(proc)
        get = wrk(f"http://127.0.0.1:{port}/obj-4k", seconds)
        return {"name": "nginx", "ready_ms": ready * 1000, "idle_mib": idle, "get": get, "put": None}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    results = []
    data = tempfile.mkdtemp()
    port = free_port()
    results.append(measure_s3("nuage", [a.nuage, "--port", str(port), "--data-dir", data, "--log", "warn"], port, a.seconds))
    shutil.rmtree(data, ignore_errors=True)
    # The cost of enforcement: an IAM user's requests, evaluated against its policy, versus the
    # same requests with enforcement off.
    enforcement = []
    for label, extra in (("iam-on", []), ("iam-off", ["--no-enforce-policies"])):
        data = tempfile.mkdtemp()
        port = free_port()
        cmd = [a.nuage, "--port", str(port), "--data-dir", data, "--log", "warn", *extra]
        enforcement.append(measure_s3(label, cmd, port, a.seconds, as_iam_user=True))
        shutil.rmtree(data, ignore_errors=True)
    port = free_port()
    moto = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    results.append(measure_s3("moto", [moto, "-p", str(port)], port, a.seconds))
    results.append(measure_nginx(a.seconds))

    print(f"\n4 KiB objects, wrk {THREADS} threads / {CONNECTIONS} connections, {a.seconds}s per measurement\n")
    print(f"{'server':8} {'GET/s':>10} {'GET p99':>9} {'GET err':>8} {'PUT/s':>10} {'PUT p99':>9} {'PUT err':>8} {'ready':>9} {'idle RSS':>9}")
    for r in results + enforcement:
        put = r["put"]
        print(
            f"{r['name']:8} {r['get']['rps']:>10.0f} {r['get']['p99_ms']:>7.2f}ms {r['get']['errors']:>8} "
            + (f"{put['rps']:>10.0f} {put['p99_ms']:>7.2f}ms {put['errors']:>8} " if put else f"{'-':>10} {'-':>9} {'-':>8} ")
            + f"{r['ready_ms']:>7.1f}ms {r['idle_mib']:>7.1f}MiB"
        )
    n, m, x = results
    print("\nratios")
    print(f"  nuage GET / nginx GET : {n['get']['rps'] / x['get']['rps']:.2f}  (aim >= 0.50)")
    print(f"  nuage GET / moto GET  : {n['get']['rps'] / m['get']['rps']:.1f}x")
    print(f"  nuage PUT / moto PUT  : {n['put']['rps'] / m['put']['rps']:.1f}x  (nuage PUTs are fsync-durable; aim >= 5000/s)")
    on, off = enforcement
    print(f"  IAM user, enforcement on / off: GET {on['get']['rps'] / off['get']['rps']:.2f}, PUT {on['put']['rps'] / off['put']['rps']:.2f}  (aim >= 0.90)")


if __name__ == "__main__":
    main()
