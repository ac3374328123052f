"""Run after bench/copy.sh (which generates lineitem-sf1.4/): usage `restart_rss.py <nuage binary>`.
A cluster holding TPC-H lineitem (8.4M rows, COPY of 1 GB): the server's RSS after a
restart, before and after the first query."""
import json, os, signal, socket, subprocess, sys, tempfile, time
import boto3, psycopg2
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tpch"))
import schema
nuage = sys.argv[1]
data = tempfile.mkdtemp()
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
api = free(); port = free()
def start():
    p = subprocess.Popen([nuage, "--port", str(api), "--data-dir", data, "--log", "warn", "--no-samples"])
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", api), 0.2).close(); return p
        except OSError: time.sleep(0.05)
def rss(p):
    return int([l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS")][0].split()[1]) // 1024
c = lambda s: boto3.client(s, endpoint_url=f"http://127.0.0.1:{api}", aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
p = start()
c("s3").create_bucket(Bucket="bkt")
c("s3").upload_file(os.path.join(os.path.dirname(os.path.abspath(__file__)), "lineitem-sf1.4", "lineitem.csv"), "bkt", "l/lineitem.csv")
c("redshift").create_cluster(ClusterIdentifier="r", NodeType="ra3.xlplus", MasterUsername="awsuser", MasterUserPassword="Secret123", Port=port, ClusterType="single-node")
c("redshift").get_waiter("cluster_available").wait(ClusterIdentifier="r", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
conn = lambda: psycopg2.connect(host="127.0.0.1", port=port, dbname="dev", user="awsuser", password="Secret123")
k = conn(); k.autocommit = True; cur = k.cursor()
cur.execute(f"create table lineitem ({schema.TABLES['lineitem']}) {schema.REDSHIFT_KEYS['lineitem']}")
cur.execute("copy lineitem from 's3://bkt/l/' access_key_id 'test' secret_access_key 'test' delimiter '|'")
print("loaded", cur.rowcount, "rows; RSS after load", rss(p), "MiB")
k.close(); p.send_signal(signal.SIGTERM); p.wait()
p = start(); time.sleep(3)
print("restarted: RSS before the first query", rss(p), "MiB")
for _ in range(100):
    try: k = conn(); break
    except Exception: time.sleep(0.1)
cur = k.cursor()
t = time.time(); cur.execute("select l_returnflag, l_linestatus, sum(l_quantity), count(*) from lineitem group by 1, 2 order by 1, 2"); cur.fetchall()
print(f"first query (TPC-H Q1 shape) {time.time()-t:.2f}s; RSS after it", rss(p), "MiB")
p.kill()
