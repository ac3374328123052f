"""COPY from S3 into nuage against DuckDB's read_csv on the same files; and the Data API's
round trip. Prints rows/s, MB/s and the ratios, all measured in this run."""
import argparse
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import boto3
import duckdb
import psycopg2

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tpch"))
sys.path.insert(0, str(HERE.parent.parent / "tests"))
import schema  # noqa: E402
from test_redshift_tickit import COPIES, CREATE_TABLES  # noqa: E402

PASSWORD = "Secret123"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

# DuckDB's column types for the TICKIT tables, in file order.
DUCK_TICKIT = {
    "users": "userid INT, username VARCHAR, firstname VARCHAR, lastname VARCHAR, city VARCHAR, state VARCHAR, email VARCHAR, phone VARCHAR, "
    + ", ".join(f"l{i} BOOLEAN" for i in range(10)),
    "venue": "venueid SMALLINT, venuename VARCHAR, venuecity VARCHAR, venuestate VARCHAR, venueseats INT",
    "category": "catid SMALLINT, catgroup VARCHAR, catname VARCHAR, catdesc VARCHAR",
    "date": "dateid SMALLINT, caldate DATE, day VARCHAR, week SMALLINT, month VARCHAR, qtr VARCHAR, year SMALLINT, holiday BOOLEAN",
    "event": "eventid INT, venueid SMALLINT, catid SMALLINT, dateid SMALLINT, eventname VARCHAR, starttime TIMESTAMP",
    "listing": "listid INT, sellerid INT, eventid INT, dateid SMALLINT, numtickets SMALLINT, priceperticket DECIMAL(8,2), totalprice DECIMAL(8,2), listtime TIMESTAMP",
    "sales": "salesid INT, listid INT, sellerid INT, buyerid INT, eventid INT, dateid SMALLINT, qtysold SMALLINT, pricepaid DECIMAL(8,2), commission DECIMAL(8,2), saletime VARCHAR",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def status_kib(pid, field):
    """A field of /proc/<pid>/status, in KiB (VmRSS: resident now; VmHWM: the peak)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def duck_columns(spec):
    return "{" + ", ".join(f"'{c.split()[0]}': '{' '.join(c.split()[1:])}'" for c in spec.split(", ")) + "}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--tpch", required=True)
    ap.add_argument("--sf", default="1.4")
    a = ap.parse_args()
    tmp = pathlib.Path(tempfile.mkdtemp())
    api = free_port()
    proc = subprocess.Popen([a.nuage, "--port", str(api), "--ephemeral", "--log", "warn"])
    wait_port(api)
    client = lambda service, region="us-east-1": boto3.client(  # noqa: E731
        service, endpoint_url=f"http://127.0.0.1:{api}", aws_access_key_id="test", aws_secret_access_key="test", region_name=region)
    s3w = client("s3", "us-west-2")
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if s3w.list_objects_v2(Bucket="awssampledbuswest2", Prefix="tickit/")["KeyCount"] == 7:
                break
        except Exception:
            pass
        time.sleep(0.2)
    iam = client("iam")
    role = iam.create_role(RoleName="MyRedshiftRole", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="MyRedshiftRole", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    rs = client("redshift")
    port = free_port()
    rs.create_cluster(ClusterIdentifier="bench", NodeType="ra3.xlplus", MasterUsername="awsuser", MasterUserPassword=PASSWORD,
                      Port=port, ClusterType="single-node", IamRoles=[role])
    conn = psycopg2.connect(host="127.0.0.1", port=port, dbname="dev", user="awsuser", password=PASSWORD)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute(CREATE_TABLES)

    # 1. TICKIT: the seven COPYs of the lab, against DuckDB reading the same seven files.
    objects = {o["Key"].split("/")[-1]: o["Size"] for o in s3w.list_objects_v2(Bucket="awssampledbuswest2", Prefix="tickit/")["Contents"]}
    tickit_bytes = sum(objects.values())
    t = time.perf_counter()
    rows = 0
    for table, name, options in COPIES:
        cur.execute(f"copy {table} from 's3://awssampledbuswest2/tickit/{name}' iam_role '{role}' {options} region 'us-west-2'")
        rows += cur.rowcount
    nuage_tickit = time.perf_counter() - t
    for name in objects:
        s3w.download_file("awssampledbuswest2", f"tickit/{name}", str(tmp / name))
    duck = duckdb.connect()
    t = time.perf_counter()
    for table, name, options in COPIES:
        delim = "\\t" if "\\t" in options else "|"
        duck.execute(f"create table {table} as select * from read_csv('{tmp / name}', delim = E'{delim}', header = false, "
                     f"columns = {duck_columns(DUCK_TICKIT[table])}, nullstr = '')")
    duck_tickit = time.perf_counter() - t

    # 2. One ~1 GB pipe-delimited file: TPC-H lineitem without dbgen's trailing separator.
    data = HERE / f"lineitem-sf{a.sf}"
    big = data / "lineitem.csv"
    if not big.exists():
        subprocess.run([a.tpch, "data", a.sf, str(data)], check=True)
        subprocess.run(f"sed 's/|$//' {data / 'lineitem.tbl'} > {big}", shell=True, check=True)
        for f in data.glob("*.tbl"):
            f.unlink()
    size = big.stat().st_size
    s3 = client("s3")
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(big), "bench", "lineitem/lineitem.csv")
    cur.execute(f"create table lineitem ({schema.TABLES['lineitem']}) {schema.REDSHIFT_KEYS['lineitem']}")
    # The server's memory around the COPY: resident before it, and its peak during it
    # (the kernel's high-water mark, reset first).
    idle_rss = status_kib(proc.pid, "VmRSS")
    with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
        f.write("5")
    t = time.perf_counter()
    cur.execute("copy lineitem from 's3://bench/lineitem/' access_key_id 'test' secret_access_key 'test' delimiter '|'")
    nuage_big = time.perf_counter() - t
    peak_rss = status_kib(proc.pid, "VmHWM")
    big_rows = cur.rowcount
    cols = ", ".join(f"'{c.split()[0]}': '{c.split()[1].replace('integer', 'INT')}'" for c in schema.TABLES["lineitem"].split(", "))
    t = time.perf_counter()
    duck.execute(f"create table lineitem as select * from read_csv('{big}', delim = '|', header = false, columns = {{{cols}}})")
    duck_big = time.perf_counter() - t

    # 3. The Data API's round trip: execute, poll until finished, fetch.
    data_api = client("redshift-data")
    trips = []
    for _ in range(20):
        t = time.perf_counter()
        sid = data_api.execute_statement(ClusterIdentifier="bench", Database="dev", DbUser="awsuser", Sql="select 1")["Id"]
        while data_api.describe_statement(Id=sid)["Status"] not in ("FINISHED", "FAILED"):
            time.sleep(0.002)
        data_api.get_statement_result(Id=sid)
        trips.append(time.perf_counter() - t)

    mb = 1 << 20
    print("COPY from S3: nuage (release, through its S3 and IAM) against DuckDB read_csv on local copies of the same files")
    print(f"TICKIT, 7 files, {rows} rows, {tickit_bytes / mb:.1f} MB: nuage {nuage_tickit:.2f}s ({rows / nuage_tickit:,.0f} rows/s, "
          f"{tickit_bytes / mb / nuage_tickit:.1f} MB/s), DuckDB {duck_tickit:.2f}s, nuage/DuckDB {nuage_tickit / duck_tickit:.2f}")
    print(f"lineitem, {big_rows} rows, {size / mb:.0f} MB: nuage {nuage_big:.2f}s ({big_rows / nuage_big:,.0f} rows/s, "
          f"{size / mb / nuage_big:.1f} MB/s), DuckDB {duck_big:.2f}s, nuage/DuckDB {nuage_big / duck_big:.2f}")
    print(f"  nuage's RSS: {idle_rss / 1024:.0f} MiB before the COPY, peak {peak_rss / 1024:.0f} MiB during it "
          f"(+{(peak_rss - idle_rss) / 1024:.0f} MiB; aim: within 256 MiB)")
    print(f"Data API round trip (execute, describe until FINISHED, get result) for 'select 1', 20 runs: "
          f"median {statistics.median(trips) * 1000:.1f} ms, best {min(trips) * 1000:.1f} ms")
    proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
