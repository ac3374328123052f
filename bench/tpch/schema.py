"""TPC-H's eight tables, as Redshift DDL (with distribution and sort keys) and as loaded
from dbgen's `|`-separated files; shared by the SF0.01 acceptance test and the benchmark."""
import csv
import pathlib

TABLES = {
    "region": "r_regionkey integer not null, r_name char(25) not null, r_comment varchar(152) not null",
    "nation": "n_nationkey integer not null, n_name char(25) not null, n_regionkey integer not null, n_comment varchar(152) not null",
    "part": "p_partkey integer not null, p_name varchar(55) not null, p_mfgr char(25) not null, p_brand char(10) not null, "
    "p_type varchar(25) not null, p_size integer not null, p_container char(10) not null, p_retailprice decimal(15,2) not null, "
    "p_comment varchar(23) not null",
    "supplier": "s_suppkey integer not null, s_name char(25) not null, s_address varchar(40) not null, s_nationkey integer not null, "
    "s_phone char(15) not null, s_acctbal decimal(15,2) not null, s_comment varchar(101) not null",
    "partsupp": "ps_partkey integer not null, ps_suppkey integer not null, ps_availqty integer not null, "
    "ps_supplycost decimal(15,2) not null, ps_comment varchar(199) not null",
    "customer": "c_custkey integer not null, c_name varchar(25) not null, c_address varchar(40) not null, c_nationkey integer not null, "
    "c_phone char(15) not null, c_acctbal decimal(15,2) not null, c_mktsegment char(10) not null, c_comment varchar(117) not null",
    "orders": "o_orderkey bigint not null, o_custkey integer not null, o_orderstatus char(1) not null, o_totalprice decimal(15,2) not null, "
    "o_orderdate date not null, o_orderpriority char(15) not null, o_clerk char(15) not null, o_shippriority integer not null, "
    "o_comment varchar(79) not null",
    "lineitem": "l_orderkey bigint not null, l_partkey integer not null, l_suppkey integer not null, l_linenumber integer not null, "
    "l_quantity decimal(15,2) not null, l_extendedprice decimal(15,2) not null, l_discount decimal(15,2) not null, "
    "l_tax decimal(15,2) not null, l_returnflag char(1) not null, l_linestatus char(1) not null, l_shipdate date not null, "
    "l_commitdate date not null, l_receiptdate date not null, l_shipinstruct char(25) not null, l_shipmode char(10) not null, "
    "l_comment varchar(44) not null",
}

REDSHIFT_KEYS = {
    "region": "diststyle all",
    "nation": "diststyle all",
    "part": "distkey(p_partkey)",
    "supplier": "diststyle all",
    "partsupp": "distkey(ps_partkey) sortkey(ps_partkey)",
    "customer": "distkey(c_custkey)",
    "orders": "distkey(o_orderkey) sortkey(o_orderdate)",
    "lineitem": "distkey(l_orderkey) sortkey(l_shipdate)",
}


def rows(data_dir, table):
    """A table's rows as lists of strings (dbgen ends each line with a separator)."""
    with open(pathlib.Path(data_dir) / f"{table}.tbl", newline="") as f:
        for line in f:
            yield line.rstrip("\n").rstrip("|").split("|")


def clean_csv(data_dir, table, out_dir):
    """The table as a `|`-separated file without dbgen's trailing separator (for COPY)."""
    out = pathlib.Path(out_dir) / f"{table}.csv"
    with open(out, "w", newline="") as f:
        w = csv.writer(f, delimiter="|", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        for r in rows(data_dir, table):
            w.writerow(r)
    return out


def load_nuage(conn, data_dir, page=2000):
    """Creates and fills the tables through the wire protocol, in one transaction."""
    from psycopg2.extras import execute_values

    cur = conn.cursor()
    for t, cols in TABLES.items():
        cur.execute(f"create table {t} ({cols}) {REDSHIFT_KEYS[t]}")
        execute_values(cur, f"insert into {t} values %s", rows(data_dir, t), page_size=page)
    conn.commit()


def load_duckdb(con, data_dir, tmp_dir):
    for t, cols in TABLES.items():
        con.execute(f"create table {t} ({cols})")
        path = clean_csv(data_dir, t, tmp_dir)
        con.execute(f"copy {t} from '{path}' (delimiter '|', header false, quote '\"')")


def normalise(rows):
    """Rows comparable across engines: numbers to 2 decimals, text without trailing blanks."""
    import datetime
    import decimal

    out = []
    for r in rows:
        n = []
        for v in r:
            if isinstance(v, (float, decimal.Decimal)):
                n.append(round(float(v), 2))
            elif isinstance(v, str):
                n.append(v.rstrip())
            elif isinstance(v, (datetime.date, datetime.datetime)):
                n.append(v.isoformat())
            else:
                n.append(v)
        out.append(tuple(n))
    return out
