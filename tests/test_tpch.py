"""TPC-H at scale factor 0.01 through the wire protocol: the 22 queries on a nuage cluster
give the answers DuckDB gives on the same data."""
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import ROOT
from test_redshift import PASSWORD, create_cluster

sys.path.insert(0, str(ROOT / "bench" / "tpch"))
import schema  # noqa: E402

TPCH = os.environ.get("NUAGE_TPCH_BIN", str(ROOT / "target" / "debug" / "examples" / "tpch"))


@pytest.mark.timeout(900)
def test_tpch_sf001_matches_duckdb(server, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    import psycopg2

    data, queries = tmp_path / "data", tmp_path / "queries"
    subprocess.run([TPCH, "data", "0.01", str(data)], check=True)
    subprocess.run([TPCH, "queries", str(queries)], check=True)

    c = create_cluster(server, "tpch")
    ep = c["Endpoint"]
    conn = psycopg2.connect(host=ep["Address"], port=ep["Port"], dbname="dev", user="awsuser", password=PASSWORD)
    schema.load_nuage(conn, data)
    conn.autocommit = True
    duck = duckdb.connect()
    schema.load_duckdb(duck, data, tmp_path)

    cur = conn.cursor()
    cur.execute("select count(*) from lineitem")
    assert cur.fetchone()[0] == duck.execute("select count(*) from lineitem").fetchone()[0] > 50000

    mismatches = []
    for n in range(1, 23):
        sql = (queries / f"q{n}.sql").read_text()
        statements = [s for s in sql.split(";") if s.strip()]
        got = want = None
        for s in statements:
            cur.execute(s)
            r = duck.execute(s)
            if s.strip().lower().startswith(("select", "with")):
                got = schema.normalise(cur.fetchall())
                want = schema.normalise(r.fetchall())
        if sorted(got) != sorted(want):
            mismatches.append((n, got[:3], want[:3]))
    assert not mismatches, mismatches

    def depth(n, text):
        # How deep in the logical plan of query n the first line holding `text` is.
        cur.execute("explain " + (queries / f"q{n}.sql").read_text().strip().rstrip(";"))
        plan = next(r[1] for r in cur.fetchall() if r[0] == "logical_plan").splitlines()
        line = next(line for line in plan if text in line)
        return len(line) - len(line.lstrip())

    # Q5 joins its tables in the order written (customer, orders, lineitem, supplier, nation,
    # region): ordered by estimated size, the one region of ASIA meets its nations and
    # suppliers before lineitem's rows are joined.
    assert depth(5, "TableScan: region") > depth(5, "TableScan: lineitem")
    # Q18's IN subquery keeps 0.01 % of the orders: applied to orders before they meet lineitem.
    assert depth(18, "LeftSemi Join") > depth(18, "Inner Join: orders.o_orderkey = lineitem.l_orderkey")
    # Q17's correlated subquery averages each part's lineitem rows: only the parts the outer
    # query keeps are averaged, their rows picked by a semi join below the aggregate.
    assert depth(17, "LeftSemi Join: lineitem.l_partkey = part.p_partkey") > depth(17, "Aggregate: groupBy=[[lineitem.l_partkey]]")
