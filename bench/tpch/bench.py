"""Runs TPC-H's 22 queries on nuage (through a cluster's PostgreSQL wire), DuckDB and
PostgreSQL on the same generated data; prints load times, per-query times (best of N) and
the ratios. A query's answer on nuage must equal DuckDB's, or the run says so."""
import argparse
import glob
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import boto3
import duckdb
import psycopg2

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import schema  # noqa: E402

PASSWORD = "Secret123"
TIMEOUT_S = 300


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def statements(sql):
    return [s for s in sql.split(";") if s.strip()]


def run_query(cur, sql):
    """Runs a query's statements; returns (seconds, rows of its SELECT)."""
    rows = None
    t = time.perf_counter()
    for s in statements(sql):
        cur.execute(s)
        if s.strip().lower().startswith(("select", "with")):
            rows = cur.fetchall()
    return time.perf_counter() - t, rows


def best(times):
    return min(times) if times else None


def start_postgres(tmp):
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        return None, None
    bindir = pathlib.Path(initdb[-1]).parent
    data = pathlib.Path(tmp) / "pg"
    user = []
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: its files and process belong to `postgres`.
        shutil.chown(tmp, "postgres")
        user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(user + [str(bindir / "initdb"), "-D", str(data), "-U", "bench", "--auth=trust"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        user + [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", tmp, "-c", "listen_addresses=127.0.0.1",
                "-c", "shared_buffers=1GB", "-c", "work_mem=256MB", "-c", "max_parallel_workers_per_gather=2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    time.sleep(0.5)
    return proc, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--tpch", required=True)
    ap.add_argument("--sf", default="1")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true", help="compare with DuckDB only (a quicker run)")
    ap.add_argument("--queries", help="comma-separated query numbers (default: all 22)")
    a = ap.parse_args()

    data = HERE / f"data-sf{a.sf}"
    if not (data / "lineitem.tbl").exists():
        subprocess.run([a.tpch, "data", a.sf, str(data)], check=True)
    tmp = tempfile.mkdtemp()
    queries_dir = pathlib.Path(tmp) / "queries"
    subprocess.run([a.tpch, "queries", str(queries_dir)], check=True)
    wanted = [int(q) for q in a.queries.split(",")] if a.queries else range(1, 23)
    queries = {n: (queries_dir / f"q{n}.sql").read_text() for n in wanted}

    # nuage: a cluster created through the API, loaded through the wire protocol.
    api = free_port()
    nuage = subprocess.Popen([a.nuage, "--port", str(api), "--ephemeral", "--log", "warn"])
    wait_port(api, nuage)
    rs = boto3.client("redshift", endpoint_url=f"http://127.0.0.1:{api}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    sql_port = free_port()
    rs.create_cluster(ClusterIdentifier="tpch", NodeType="ra3.xlplus", MasterUsername="awsuser",
                      MasterUserPassword=PASSWORD, Port=sql_port, ClusterType="single-node")
    conn = psycopg2.connect(host="127.0.0.1", port=sql_port, dbname="dev", user="awsuser", password=PASSWORD)
    conn.autocommit = True
    ncur = conn.cursor()
    # Loaded as on Redshift: the files put in S3 (not timed), then one COPY per table.
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{api}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket="tpch")
    for tname in schema.TABLES:
        s3.upload_file(str(schema.clean_csv(data, tname, tmp)), "tpch", f"{tname}/{tname}.csv")
    t = time.perf_counter()
    for tname, cols in schema.TABLES.items():
        ncur.execute(f"create table {tname} ({cols}) {schema.REDSHIFT_KEYS[tname]}")
        ncur.execute(f"copy {tname} from 's3://tpch/{tname}/' access_key_id 'test' secret_access_key 'test' csv delimiter '|'")
    load = {"nuage (COPY)": time.perf_counter() - t}

    duck = duckdb.connect()
    t = time.perf_counter()
    # The same cleaned files nuage loaded (written above, not timed for either).
    for tname, cols in schema.TABLES.items():
        duck.execute(f"create table {tname} ({cols})")
        duck.execute(f"copy {tname} from '{pathlib.Path(tmp) / (tname + '.csv')}' (delimiter '|', header false, quote '\"')")
    load["duckdb (COPY)"] = time.perf_counter() - t

    pg_proc, pg_port = (None, None) if a.no_postgres else start_postgres(tmp)
    pcur = None
    if pg_port:
        pconn = psycopg2.connect(host="127.0.0.1", port=pg_port, dbname="postgres", user="bench")
        pconn.autocommit = True
        pcur = pconn.cursor()
        t = time.perf_counter()
        for tname, cols in schema.TABLES.items():
            pcur.execute(f"create table {tname} ({cols})")
            with open(schema.clean_csv(data, tname, tmp)) as f:
                pcur.copy_expert(f"copy {tname} from stdin with (format csv, delimiter '|')", f)
        pcur.execute("analyze")
        load["postgres"] = time.perf_counter() - t
        pcur.execute(f"set statement_timeout = '{TIMEOUT_S}s'")

    print(f"TPC-H SF{a.sf}, best of {a.runs} runs per query (seconds)")
    print("load: " + ", ".join(f"{k} {v:.1f}s" for k, v in load.items()))
    print(f"{'query':>5} {'nuage':>9} {'duckdb':>9} {'postgres':>9} {'nuage/duckdb':>13} {'postgres/nuage':>15}  answer")
    totals = {"nuage": 0.0, "duckdb": 0.0, "postgres": 0.0}
    pg_complete = pcur is not None
    for n, sql in queries.items():
        nt, dt, pt = [], [], []
        got = want = None
        for _ in range(a.runs):
            s, got = run_query(ncur, sql)
            nt.append(s)
            t = time.perf_counter()
            for st in statements(sql):
                r = duck.execute(st)
                if st.strip().lower().startswith(("select", "with")):
                    want = r.fetchall()
            dt.append(time.perf_counter() - t)
        if pcur is not None:
            for _ in range(a.runs):
                try:
                    s, _ = run_query(pcur, sql)
                    pt.append(s)
                except psycopg2.errors.QueryCanceled:
                    pt = []
                    break
        same = sorted(schema.normalise(got)) == sorted(schema.normalise(want))
        b_n, b_d, b_p = best(nt), best(dt), best(pt)
        totals["nuage"] += b_n
        totals["duckdb"] += b_d
        if b_p is None:
            pg_complete = False
        else:
            totals["postgres"] += b_p
        p_txt = f"{b_p:9.3f}" if b_p is not None else (f"{'>' + str(TIMEOUT_S):>9}" if pcur else f"{'-':>9}")
        ratio_p = f"{b_p / b_n:15.1f}" if b_p is not None else f"{'-':>15}"
        print(f"{'Q' + str(n):>5} {b_n:9.3f} {b_d:9.3f} {p_txt} {b_n / b_d:13.2f} {ratio_p}  {'same' if same else 'DIFFERENT'}")
    print(f"{'total':>5} {totals['nuage']:9.3f} {totals['duckdb']:9.3f} "
          f"{totals['postgres']:9.3f}{'' if pg_complete else '+'} {totals['nuage'] / totals['duckdb']:13.2f} "
          f"{totals['postgres'] / totals['nuage']:15.1f}{'' if pg_complete else ' (PostgreSQL timed out on some queries: at least this)'}")
    nuage.kill()
    if pg_proc:
        pg_proc.terminate()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
