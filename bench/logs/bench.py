"""CloudWatch Logs: PutLogEvents ingest (batches of 10,000 events, signed ahead, sent by 4 client
processes, one log stream each) and a Logs Insights query over what was ingested, in nuage and in moto's
server in the same run. The query's answer is checked against counts computed here."""
import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import boto3

QUERY = "stats count(*), count_distinct(ip) by bin(5m), status"
THREADS = 4
BATCH = 10_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(port):
    for _ in range(400):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("server did not start")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def events(n, base_ms):
    """n web-log events over two hours before `base_ms`, in time order: (timestamp, message)."""
    statuses = [200, 200, 200, 200, 304, 404, 500]
    out = []
    for i in range(n):
        ts = base_ms - 7_200_000 + i * 7_200_000 // n
        msg = json.dumps({"ip": f"10.0.{i % 37}.{i % 211}", "status": statuses[i % 7], "path": "/menu" if i % 3 else "/order", "bytes": i % 5000},
                         separators=(",", ":"))
        out.append((ts, msg))
    return out


def client(port):
    return boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="test",
                        aws_secret_access_key="test", region_name="us-east-1")


def signed_batches(port, stream, shard):
    """The PutLogEvents requests of one stream, built and signed ahead (SigV4 over the body),
    so that the timed part is the server's work, not boto3's."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    creds = Credentials("test", "test")
    out = []
    for i in range(0, len(shard), BATCH):
        body = json.dumps({"logGroupName": "/cafe/access", "logStreamName": stream,
                           "logEvents": [{"timestamp": t, "message": m} for t, m in shard[i:i + BATCH]]})
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body.encode(),
                         headers={"X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Type": "application/x-amz-json-1.1"})
        SigV4Auth(creds, "logs", "us-east-1").add_auth(req)
        out.append((dict(req.headers.items()), req.body))
    return out


def send(args):
    """One client process: its signed batches over one keep-alive connection."""
    import http.client
    port, batches = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for headers, body in batches:
        conn.request("POST", "/", body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        assert r.status == 200 and b"rejectedLogEventsInfo" not in data, (r.status, data[:300])


def ingest(port, evs):
    logs = client(port)
    logs.create_log_group(logGroupName="/cafe/access")
    shards = [evs[i::THREADS] for i in range(THREADS)]
    work = []
    for k in range(THREADS):
        logs.create_log_stream(logGroupName="/cafe/access", logStreamName=f"web-{k}")
        work.append((port, signed_batches(port, f"web-{k}", shards[k])))
    with concurrent.futures.ProcessPoolExecutor(THREADS) as ex:
        list(ex.map(len, [[]] * THREADS))  # the processes started before the clock
        t = time.perf_counter()
        list(ex.map(send, work))
        return time.perf_counter() - t


def query(port, start_s, end_s):
    logs = client(port)
    t = time.perf_counter()
    qid = logs.start_query(logGroupName="/cafe/access", startTime=start_s, endTime=end_s, queryString=QUERY)["queryId"]
    while True:
        r = logs.get_query_results(queryId=qid)
        if r["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            break
        time.sleep(0.01)
    return time.perf_counter() - t, r


def expected(evs):
    groups = collections.defaultdict(lambda: [0, set()])
    for ts, msg in evs:
        d = json.loads(msg)
        key = (ts // 300_000 * 300_000, str(d["status"]))
        groups[key][0] += 1
        groups[key][1].add(d["ip"])
    return {k: (v[0], len(v[1])) for k, v in groups.items()}


def answer(r):
    got = {}
    for row in r["results"]:
        f = {c["field"]: c["value"] for c in row}
        if "bin(5m)" not in f:
            return None
        b = f["bin(5m)"]
        ms = int(time.mktime(time.strptime(b[:19], "%Y-%m-%d %H:%M:%S")) - time.timezone) * 1000
        got[(ms, f["status"])] = (int(float(f["count(*)"])), int(float(f["count_distinct(ip)"])))
    return got


def run(name, cmd, port, evs, start_s, end_s):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(port)
        secs = ingest(port, evs)
        q, r = query(port, start_s, end_s)
        return {"ingest": len(evs) / secs, "query": q, "result": r, "rss": peak_rss_mib(proc.pid)}
    finally:
        # SIGTERM: nuage removes its ephemeral state as it stops.
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--moto-events", type=int, default=100_000)
    a = ap.parse_args()
    now = int(time.time() * 1000)
    evs = events(a.events, now)
    start_s, end_s = (now - 7_300_000) // 1000, now // 1000 + 1
    port = free_port()
    n = run("nuage", [a.nuage, "--port", str(port), "--ephemeral", "--log", "warn", "--no-samples"], port, evs, start_s, end_s)
    ok = answer(n["result"]) == expected(evs) and n["result"]["status"] == "Complete"
    print(f"CloudWatch Logs, {a.events:,} events of ~{sum(len(m) for _, m in evs) // len(evs)} bytes, {THREADS} client processes, batches of {BATCH:,}")
    print(f"  nuage: PutLogEvents {n['ingest']:,.0f} events/s (aim >= 200,000); Insights '{QUERY}' {n['query']:.2f}s "
          f"(aim <= 1 s), answer {'matches' if ok else 'DIFFERS from'} the counts computed here; peak RSS {n['rss']:.0f} MiB")
    moto_bin = shutil.which("moto_server", path=os.path.dirname(sys.executable))
    m_evs = events(a.moto_events, now)
    port = free_port()
    m = run("moto", [moto_bin, "-p", str(port)], port, m_evs, start_s, end_s)
    m_ok = answer(m["result"]) == expected(m_evs) if m["result"].get("results") else False
    print(f"  moto ({a.moto_events:,} events): PutLogEvents {m['ingest']:,.0f} events/s; Insights {m['query']:.2f}s, "
          f"answer {'matches' if m_ok else 'does not match'}")
    print(f"  ingest ratio nuage / moto: {n['ingest'] / m['ingest']:.1f}x")


if __name__ == "__main__":
    main()
