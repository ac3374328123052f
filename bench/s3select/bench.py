"""S3 Select over a ~1 GB CSV object in nuage against DuckDB's read_csv on the same file and
the same queries. Prints each engine's time, nuage's speed as a fraction of DuckDB's (the aim
is at least 0.5), and nuage's peak RSS; all measured in this run."""
import argparse
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import boto3
import duckdb

QUERIES = [
    (
        "aggregate over a filter",
        "SELECT COUNT(*), SUM(CAST(s.bytes AS INT)) FROM S3Object s WHERE s.status = '404'",
        "SELECT count(*), sum(bytes) FROM read_csv('{f}', header=true) WHERE status = 404",
    ),
    (
        "projection of 1 row in 10",
        "SELECT s.ip, s.path, s.bytes FROM S3Object s WHERE s.method = 'POST' AND s.path LIKE '/menu%'",
        "COPY (SELECT ip, path, bytes FROM read_csv('{f}', header=true) WHERE method = 'POST' AND path LIKE '/menu%') TO '/dev/null' (FORMAT CSV, HEADER false)",
    ),
    (
        "whole rows, 1 in 4",
        "SELECT * FROM S3Object s WHERE s.status <> '200'",
        "COPY (SELECT * FROM read_csv('{f}', header=true, all_varchar=true) WHERE status <> '200') TO '/dev/null' (FORMAT CSV, HEADER false)",
    ),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--rows", type=int, default=10_000_000)
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    f = tmp / "access.csv"
    duckdb.sql(
        f"""COPY (SELECT '10.' || (i % 251) || '.' || (i * 7 % 253) || '.' || (i * 13 % 249) AS ip,
                   TIMESTAMP '2026-01-01' + INTERVAL (i % 86400) SECOND AS ts,
                   CASE WHEN i % 10 = 0 THEN 'POST' ELSE 'GET' END AS method,
                   CASE i % 5 WHEN 0 THEN '/menu' WHEN 1 THEN '/order/confirm' WHEN 2 THEN '/' WHEN 3 THEN '/menu/' || (i % 40) ELSE '/about' END AS path,
                   CASE WHEN i % 4 = 0 THEN (CASE WHEN i % 3 = 0 THEN 404 ELSE 500 END) ELSE 200 END AS status,
                   (i * 37) % 50000 AS bytes,
                   'Mozilla/5.0 (X11; Linux x86_64) cafe-bench/' || (i % 9) AS agent
            FROM range({a.rows}) t(i)) TO '{f}' (FORMAT CSV, HEADER true)"""
    )
    size = f.stat().st_size
    port = free_port()
    proc = subprocess.Popen([a.nuage, "--port", str(port), "--ephemeral", "--log", "warn", "--no-samples"])
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
        s3.create_bucket(Bucket="logs")
        s3.upload_file(str(f), "logs", "access.csv")
        before = peak_rss_mib(proc.pid)
        print(f"S3 Select against DuckDB on {size / 1e6:.0f} MB, {a.rows:,} rows (2 runs each, best kept)")
        for name, sql, duck in QUERIES:
            best_n, best_d, out_n = None, None, 0
            for _ in range(2):
                t = time.perf_counter()
                r = s3.select_object_content(Bucket="logs", Key="access.csv", Expression=sql, ExpressionType="SQL",
                                             InputSerialization={"CSV": {"FileHeaderInfo": "USE"}},
                                             OutputSerialization={"CSV": {}})
                out_n = 0
                for event in r["Payload"]:
                    if "Records" in event:
                        out_n += len(event["Records"]["Payload"])
                n = time.perf_counter() - t
                best_n = n if best_n is None else min(best_n, n)
                t = time.perf_counter()
                duckdb.sql(duck.format(f=f)).fetchall() if duck.startswith("SELECT") else duckdb.sql(duck.format(f=f))
                d = time.perf_counter() - t
                best_d = d if best_d is None else min(best_d, d)
            print(f"  {name}: nuage {best_n:.2f}s ({size / best_n / 1e6:.0f} MB/s, {out_n / 1e6:.1f} MB out), "
                  f"DuckDB {best_d:.2f}s, nuage speed / DuckDB speed {best_d / best_n:.2f}")
        print(f"  nuage's peak RSS: {before:.0f} MiB after the upload, {peak_rss_mib(proc.pid):.0f} MiB after the queries")
    finally:
        # SIGTERM: nuage removes its ephemeral state (a copy of the gigabyte) as it stops.
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
