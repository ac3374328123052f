"""Redshift: clusters through the API (boto3, the aws CLI and its waiters), and SQL on each
cluster's port with psql, redshift_connector, psycopg 2 and 3 and SQLAlchemy."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Nuage, free_port

PASSWORD = "Secret123"


def create_cluster(server, name="lab", **extra):
    rs = server.client("redshift")
    args = dict(
        ClusterIdentifier=name,
        NodeType="dc2.large",
        MasterUsername="awsuser",
        MasterUserPassword=PASSWORD,
        Port=free_port(),
    )
    args.update(extra)
    out = rs.create_cluster(**args)["Cluster"]
    assert out["ClusterStatus"] == "creating"
    rs.get_waiter("cluster_available").wait(ClusterIdentifier=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    return rs.describe_clusters(ClusterIdentifier=name)["Clusters"][0]


def psql(cluster, sql, user="awsuser", password=PASSWORD, check=True, db="dev"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    ep = cluster["Endpoint"]
    p = subprocess.run(
        ["psql", "-h", ep["Address"], "-p", str(ep["Port"]), "-U", user, "-d", db, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and p.returncode != 0:
        raise AssertionError(p.stderr)
    return p


def connect(cluster, user="awsuser", password=PASSWORD):
    import redshift_connector

    ep = cluster["Endpoint"]
    return redshift_connector.connect(host=ep["Address"], port=ep["Port"], database="dev", user=user, password=password, ssl=False)


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


psql_missing = shutil.which("psql") is None


def test_cluster_lifecycle_and_errors(server):
    rs = server.client("redshift")
    c = create_cluster(server, "lab", NumberOfNodes=2, IamRoles=["arn:aws:iam::000000000000:role/MyRedshiftRole"], Tags=[{"Key": "team", "Value": "data"}])
    assert c["ClusterStatus"] == "available"
    assert c["NumberOfNodes"] == 2 and c["DBName"] == "dev" and c["MasterUsername"] == "awsuser"
    assert c["IamRoles"] == [{"IamRoleArn": "arn:aws:iam::000000000000:role/MyRedshiftRole", "ApplyStatus": "in-sync"}]
    assert c["Tags"] == [{"Key": "team", "Value": "data"}]
    assert port_open(c["Endpoint"]["Port"])

    with pytest.raises(ClientError) as e:
        rs.create_cluster(ClusterIdentifier="lab", NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword=PASSWORD)
    assert e.value.response["Error"]["Code"] == "ClusterAlreadyExists"
    with pytest.raises(ClientError) as e:
        rs.describe_clusters(ClusterIdentifier="nope")
    assert e.value.response["Error"]["Code"] == "ClusterNotFound"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as e:
        rs.create_cluster(ClusterIdentifier="weak", NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword="password")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "upper-case" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        rs.create_cluster(ClusterIdentifier="Bad--Name", NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword=PASSWORD)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as e:
        rs.create_cluster(ClusterIdentifier="multi", ClusterType="multi-node", NumberOfNodes=1, NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword=PASSWORD)
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert [x["ClusterIdentifier"] for x in rs.describe_clusters()["Clusters"]] == ["lab"]

    # Pause stops the SQL port; resume brings it back.
    assert rs.pause_cluster(ClusterIdentifier="lab")["Cluster"]["ClusterStatus"] == "pausing"
    assert rs.describe_clusters(ClusterIdentifier="lab")["Clusters"][0]["ClusterStatus"] == "paused"
    assert not port_open(c["Endpoint"]["Port"])
    with pytest.raises(ClientError) as e:
        rs.pause_cluster(ClusterIdentifier="lab")
    assert e.value.response["Error"]["Code"] == "InvalidClusterState"
    rs.resume_cluster(ClusterIdentifier="lab")
    rs.get_waiter("cluster_available").wait(ClusterIdentifier="lab", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert port_open(c["Endpoint"]["Port"])

    roles = rs.modify_cluster_iam_roles(ClusterIdentifier="lab", AddIamRoles=["arn:aws:iam::000000000000:role/Other"], DefaultIamRoleArn="arn:aws:iam::000000000000:role/Other")["Cluster"]
    assert len(roles["IamRoles"]) == 2 and roles["DefaultIamRoleArn"].endswith("role/Other")

    rs.create_tags(ResourceName="arn:aws:redshift:us-east-1:000000000000:cluster:lab", Tags=[{"Key": "env", "Value": "test"}])
    tags = rs.describe_tags(ResourceName="arn:aws:redshift:us-east-1:000000000000:cluster:lab")["TaggedResources"]
    assert sorted(t["Tag"]["Key"] for t in tags) == ["env", "team"]

    with pytest.raises(ClientError) as e:
        rs.delete_cluster(ClusterIdentifier="lab")
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert rs.delete_cluster(ClusterIdentifier="lab", SkipFinalClusterSnapshot=True)["Cluster"]["ClusterStatus"] == "deleting"
    rs.get_waiter("cluster_deleted").wait(ClusterIdentifier="lab", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert not port_open(c["Endpoint"]["Port"])


@pytest.mark.skipif(psql_missing, reason="psql is installed by .ci/run")
def test_cli_waiter_and_psql_session(server):
    port = free_port()
    out = server.cli(
        "redshift", "create-cluster", "--cluster-identifier", "examplecluster", "--node-type", "dc2.large",
        "--master-username", "awsuser", "--master-user-password", PASSWORD, "--cluster-type", "single-node", "--port", str(port),
    )
    assert '"ClusterStatus": "creating"' in out.stdout
    server.cli("redshift", "wait", "cluster-available", "--cluster-identifier", "examplecluster")
    c = server.client("redshift").describe_clusters(ClusterIdentifier="examplecluster")["Clusters"][0]
    assert c["Endpoint"]["Port"] == port

    assert psql(c, "select version()").stdout.strip().startswith("PostgreSQL 8.0.2 on i686-pc-linux-gnu")
    assert "Redshift 1.0." in psql(c, "select version()").stdout
    assert psql(c, "select current_user, current_database()").stdout.strip() == "awsuser|dev"
    psql(c, """create table users(
        userid integer not null distkey sortkey,
        username char(8),
        firstname varchar(30),
        city varchar(30),
        likesports boolean);""")
    psql(c, "insert into users values (1, 'JSG99FHE', 'Rafael', 'Kent', true), (2, 'PGL08LJI', 'Vladimir', 'Augusta', false), (3, 'IFT66TXU', 'Lars', 'Kent', null)")
    assert psql(c, "select count(*) from users where city = 'Kent'").stdout.strip() == "2"
    assert psql(c, "select top 1 firstname from users order by userid desc").stdout.strip() == "Lars"
    # CHAR's trailing blanks are insignificant; VARCHAR lengths are bytes, enforced.
    assert psql(c, "insert into users (userid, username) values (4, 'ab   ')").stdout.strip() == "INSERT 0 1"
    assert psql(c, "select userid from users where username = 'ab'").stdout.strip() == "4"
    p = psql(c, "insert into users (userid, city) values (5, repeat('x', 31))", check=False)
    assert p.returncode != 0 and "value too long for type character varying(30)" in p.stderr
    p = psql(c, "select * from nosuchtable", check=False)
    assert 'relation "nosuchtable" does not exist' in p.stderr
    p = psql(c, "insert into users (username) values ('x')", check=False)
    assert "Cannot insert a NULL value into column userid" in p.stderr
    assert psql(c, "select count(*) from users").stdout.strip() == "4"
    assert psql(c, "update users set city = 'Boston' where userid in (1, 2)").stdout.strip() == "UPDATE 2"
    assert psql(c, "delete from users where likesports is null").stdout.strip() == "DELETE 2"
    assert psql(c, "select userid, city from users order by userid").stdout.split() == ["1|Boston", "2|Boston"]
    info = psql(c, "select \"table\", diststyle, sortkey1, tbl_rows from svv_table_info").stdout.strip()
    assert info == "users|KEY(userid)|userid|2"
    tdef = psql(c, "select \"column\", type, distkey, sortkey, notnull from pg_table_def where tablename = 'users' order by 1").stdout.split()
    assert "userid|integer|t|1|t" in tdef and "username|character(8)|f|0|f" in tdef
    assert "users" in psql(c, r"\dt").stdout
    described = psql(c, r"\d users").stdout
    assert "userid" in described and "firstname" in described
    assert "select count(*) from users" in psql(c, "select querytxt from stl_query order by query").stdout


def test_drivers_parameters_transactions_and_durability(tmp_path):
    pytest.importorskip("redshift_connector")
    import psycopg
    import psycopg2

    server = Nuage(str(tmp_path)).start()
    try:
        c = create_cluster(server, "drivers")
        conn = connect(c)
        cur = conn.cursor()
        cur.execute("create table sales(salesid integer not null, qty smallint, price decimal(8,2), saletime timestamp, note varchar(20)) distkey(salesid) compound sortkey(saletime)")
        cur.execute("insert into sales values (%s, %s, %s, %s, %s)", (1, 4, "100.50", "2008-02-18 02:36:48", "first"))
        cur.executemany("insert into sales (salesid, qty, price) values (%s, %s, %s)", [(2, 1, 9.99), (3, 2, 20)])
        conn.commit()
        cur.execute("select salesid, qty, price, note from sales where salesid >= %s order by salesid", (2,))
        rows = cur.fetchall()
        assert [list(r[:2]) for r in rows] == [[2, 1], [3, 2]]
        assert str(rows[0][2]) == "9.99"
        cur.execute("select salesid, saletime from sales where salesid = 1")
        df = cur.fetch_dataframe()
        assert list(df.columns) == ["salesid", "saletime"] and df.iloc[0]["salesid"] == 1
        cur.execute("select datediff(day, '2008-01-01', saletime), dateadd(month, 1, saletime)::date from sales where salesid = 1")
        diff, next_month = cur.fetchone()
        assert diff == 48 and str(next_month) == "2008-03-18"
        # The driver's metadata calls run its catalog queries.
        assert [t[2] for t in cur.get_tables(None, None, "%", None)] == ["sales"]
        cols = cur.get_columns(None, None, "sales", None)
        assert [(c[3], c[5]) for c in cols] == [("salesid", "int4"), ("qty", "int2"), ("price", "numeric"), ("saletime", "timestamp"), ("note", "varchar")]
        # With schema and column patterns the driver reads pg_attribute and pg_class directly.
        assert [t[2] for t in cur.get_tables(None, "pub%", "sa%", None)] == ["sales"]
        cols = cur.get_columns(None, "public", "sales", "sale%")
        assert [(c[3], c[5]) for c in cols] == [("salesid", "int4"), ("saletime", "timestamp")]
        cur.execute("explain select count(*) from sales")
        assert any("TableScan: sales" in str(r) for r in cur.fetchall())
        conn.close()

        # psycopg2: client-side parameters; a failed statement aborts the transaction.
        ep = c["Endpoint"]
        pg2 = psycopg2.connect(host=ep["Address"], port=ep["Port"], dbname="dev", user="awsuser", password=PASSWORD)
        cur = pg2.cursor()
        cur.execute("insert into sales (salesid, qty) values (%s, %s)", (10, 1))
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("select nosuchcolumn from sales")
        assert e.value.pgcode == "42703"
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("select 1")
        assert e.value.pgcode == "25P02"
        pg2.rollback()
        cur.execute("select count(*) from sales where salesid = 10")
        assert cur.fetchone()[0] == 0
        # Result columns are named as PostgreSQL and Redshift name them, duplicates allowed.
        cur.execute("select count(*), salesid::varchar, salesid, 1, 'x'::char(1), dateadd(day, 1, saletime), getdate() > saletime, case when qty > 1 then 1 end from sales group by salesid, saletime, qty")
        assert [d[0] for d in cur.description] == ["count", "salesid", "salesid", "?column?", "bpchar", "date_add", "?column?", "case"]
        pg2.rollback()
        cur.execute("insert into sales (salesid, qty) values (%s, %s)", (11, 1))
        pg2.commit()
        pg2.close()

        # psycopg 3: server-side binding of typed parameters.
        with psycopg.connect(host=ep["Address"], port=ep["Port"], dbname="dev", user="awsuser", password=PASSWORD, autocommit=True) as p3:
            got = p3.execute("select salesid, qty from sales where salesid = %s and qty > %s", (11, 0)).fetchall()
            assert got == [(11, 1)]
            with pytest.raises(psycopg.errors.StringDataRightTruncation):
                p3.execute("insert into sales (salesid, note) values (%s, %s)", (12, "x" * 21))

        server.kill()  # kill -9: only committed data must come back.
        server.start()
        c = server.client("redshift").describe_clusters(ClusterIdentifier="drivers")["Clusters"][0]
        assert c["ClusterStatus"] == "available"
        conn = connect(c)
        cur = conn.cursor()
        cur.execute("select salesid from sales order by salesid")
        assert [r[0] for r in cur.fetchall()] == [1, 2, 3, 11]
        conn.close()
    finally:
        server.kill()


def test_snapshots_restore_a_copy(server):
    pytest.importorskip("redshift_connector")
    rs = server.client("redshift")
    c = create_cluster(server, "source")
    conn = connect(c)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("create table t(a int)")
    cur.execute("insert into t values (1), (2)")
    snap = rs.create_cluster_snapshot(SnapshotIdentifier="snap1", ClusterIdentifier="source")["Snapshot"]
    assert snap["Status"] == "available" and snap["SnapshotType"] == "manual"
    cur.execute("insert into t values (3)")
    conn.close()
    rs.restore_from_cluster_snapshot(ClusterIdentifier="restored", SnapshotIdentifier="snap1", Port=free_port())
    rs.get_waiter("cluster_available").wait(ClusterIdentifier="restored", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    r = rs.describe_clusters(ClusterIdentifier="restored")["Clusters"][0]
    conn = connect(r)
    cur = conn.cursor()
    cur.execute("select count(*) from t")
    assert cur.fetchone()[0] == 2
    conn.close()
    assert [s["SnapshotIdentifier"] for s in rs.describe_cluster_snapshots(ClusterIdentifier="source")["Snapshots"]] == ["snap1"]
    rs.delete_cluster(ClusterIdentifier="source", FinalClusterSnapshotIdentifier="final")
    assert sorted(s["SnapshotIdentifier"] for s in rs.describe_cluster_snapshots()["Snapshots"]) == ["final", "snap1"]
    rs.delete_cluster_snapshot(SnapshotIdentifier="snap1")
    with pytest.raises(ClientError) as e:
        rs.describe_cluster_snapshots(SnapshotIdentifier="snap1")
    assert e.value.response["Error"]["Code"] == "ClusterSnapshotNotFound"


def test_temporary_credentials_users_and_grants(server):
    pytest.importorskip("redshift_connector")
    import redshift_connector

    rs = server.client("redshift")
    c = create_cluster(server, "secure")
    admin = connect(c)
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute("create table secret(x int)")
    cur.execute("insert into secret values (42)")
    cur.execute("create user analyst password 'Analyst123'")

    creds = rs.get_cluster_credentials(ClusterIdentifier="secure", DbUser="analyst", DurationSeconds=900)
    assert creds["DbUser"] == "IAM:analyst"
    conn = connect(c, user=creds["DbUser"], password=creds["DbPassword"])
    acur = conn.cursor()
    acur.execute("select current_user")
    assert acur.fetchone()[0] == "analyst"
    with pytest.raises(redshift_connector.error.ProgrammingError) as e:
        acur.execute("select * from secret")
    assert "permission denied for relation secret" in str(e.value)
    conn.rollback()
    cur.execute("grant select on secret to analyst")
    acur.execute("select x from secret")
    assert acur.fetchone()[0] == 42
    conn.close()

    with pytest.raises(redshift_connector.error.InterfaceError) as e:
        connect(c, user="IAM:analyst", password="wrong-Password1")
    assert 'password authentication failed for user "IAM:analyst"' in str(e.value)
    with pytest.raises(ClientError) as e:
        rs.get_cluster_credentials(ClusterIdentifier="secure", DbUser="ghost")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    auto = rs.get_cluster_credentials(ClusterIdentifier="secure", DbUser="newbie", AutoCreate=True)
    assert auto["DbUser"] == "IAMA:newbie"
    conn = connect(c, user=auto["DbUser"], password=auto["DbPassword"])
    conn.close()
    admin.close()


def test_sqlalchemy_redshift_dialect(server):
    sa = pytest.importorskip("sqlalchemy")
    pytest.importorskip("sqlalchemy_redshift")
    c = create_cluster(server, "alchemy")
    ep = c["Endpoint"]
    # sqlalchemy-redshift asks for verify-full TLS by default; the SQL port refuses TLS.
    engine = sa.create_engine(
        f"redshift+psycopg2://awsuser:{PASSWORD}@{ep['Address']}:{ep['Port']}/dev", connect_args={"sslmode": "prefer"}
    )
    with engine.begin() as conn:
        conn.execute(sa.text("create table events(eventid int, eventname varchar(200))"))
        conn.execute(sa.text("insert into events values (:a, :b)"), [{"a": 1, "b": "Hamlet"}, {"a": 2, "b": "Macbeth"}])
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.text("select eventname from events order by eventid"))]
    assert names == ["Hamlet", "Macbeth"]

    # The inspector reads Redshift's catalog: pg_class.reldiststyle, pg_attribute.attisdistkey
    # and attsortkeyord, pg_get_late_binding_view_cols(), aliases named in WHERE.
    with engine.begin() as conn:
        conn.execute(sa.text("create table sales(salesid int primary key, sellerid int not null, saletime timestamp, price decimal(8,2)) distkey(sellerid) compound sortkey(saletime, salesid)"))
        conn.execute(sa.text("create view recent as select salesid from sales"))
    insp = sa.inspect(engine)
    assert insp.get_schema_names() == ["information_schema", "public"]
    assert sorted(insp.get_table_names()) == ["events", "sales"]
    assert insp.get_view_names() == ["recent"]
    assert insp.has_table("sales") and not insp.has_table("nosuch")
    cols = {c["name"]: c for c in insp.get_columns("sales")}
    assert list(cols) == ["salesid", "sellerid", "saletime", "price"]
    assert str(cols["price"]["type"]) == "NUMERIC(8, 2)" and cols["sellerid"]["nullable"] is False
    assert insp.get_pk_constraint("sales")["constrained_columns"] == ["salesid"]
    options = insp.get_table_options("sales")
    assert options["redshift_diststyle"] == "KEY" and options["redshift_distkey"] == "sellerid"
    assert options["redshift_sortkey"] == ("saletime", "salesid")
    assert "select salesid from sales" in insp.get_view_definition("recent").lower()
    assert sa.Table("sales", sa.MetaData(), autoload_with=engine).c.keys() == ["salesid", "sellerid", "saletime", "price"]

    # pandas writes through the dialect (has_table, CREATE TABLE, multi-row INSERT) and reads back.
    import pandas as pd

    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"], "score": [1.5, 2.0]})
    frame.to_sql("scores", engine, index=False, if_exists="replace", method="multi")
    frame.to_sql("scores", engine, index=False, if_exists="append", method="multi")
    back = pd.read_sql("select name, sum(score) as total from scores group by name order by name", engine)
    assert back.to_dict("list") == {"name": ["a", "b"], "total": [3.0, 4.0]}


@pytest.mark.skipif(psql_missing, reason="psql is installed by .ci/run")
def test_redshift_sql_surface(server):
    c = create_cluster(server, "surface")

    def one(sql):
        return psql(c, sql).stdout.strip()

    psql(c, "create schema sales_data")
    assert "sales_data" in psql(c, r"\dn").stdout
    psql(c, """create table sales_data.sales(
        id bigint identity(1, 1), seller varchar(10) not null, region char(2) default 'EU',
        amount decimal(10,2), sold timestamp default getdate()) diststyle even compound sortkey(sold)""")
    psql(c, "insert into sales_data.sales (seller, amount, sold) values ('ann', 10, '2008-01-05 10:00:00'), ('bob', 30, '2008-01-06 11:00:00'), ('ann', 60, '2008-02-01 09:30:00'), ('cy', 0, '2008-02-02 08:00:00')")
    psql(c, "insert into sales_data.sales (seller, region) values ('dee', default)")
    assert one("select id, region from sales_data.sales where seller = 'dee'") == "5|EU"
    assert one("select count(*) from sales_data.sales where sold is not null") == "5"
    assert one("select listagg(seller, ',') within group (order by seller) from sales_data.sales where amount > 0") == "ann,ann,bob"
    assert one("select median(amount) from sales_data.sales") == "20.00"
    assert one("select seller, ntile(2) over (order by amount desc) from sales_data.sales where amount > 0 order by amount desc limit 1") == "ann|1"
    ratios = psql(c, "select round(ratio_to_report(amount) over (partition by seller), 2) from sales_data.sales where seller = 'ann' order by amount").stdout.split()
    assert ratios == ["0.14", "0.86"]
    assert one("select rank() over (order by amount desc) from sales_data.sales where seller = 'bob'") == "1"
    assert one("select datediff(month, '2008-01-31', '2008-02-01'), dateadd(day, 30, '2008-01-05')::date") == "1|2008-02-04"
    assert one("select to_char(sold, 'YYYY-MM-DD HH24:MI') from sales_data.sales where seller = 'bob'") == "2008-01-06 11:00"
    # (Timestamps are written with six fractional digits, where PostgreSQL drops zeros.)
    assert one("select convert_timezone('UTC', 'America/New_York', '2008-07-01 12:00:00'::timestamp)").startswith("2008-07-01 08:00:00")
    assert one("select decode(region, 'EU', 'Europe', 'other'), nvl(amount, -1) = -1, len(seller), charindex('e', seller) from sales_data.sales where seller = 'dee'") == "Europe|t|3|2"
    assert one("select approximate count(distinct seller) from sales_data.sales") == "4"
    # Redshift's SHOW commands read the catalog.
    assert one("show tables from schema dev.sales_data") == "dev|sales_data|sales|TABLE||"
    columns = psql(c, "show columns from table dev.sales_data.sales like 's%'").stdout.strip().splitlines()
    assert [line.split("|")[3] for line in columns] == ["seller", "sold"]
    ddl = one("show table sales_data.sales")
    assert ddl.startswith("CREATE TABLE sales_data.sales (") and "seller character varying(10) NOT NULL" in ddl
    assert ddl.endswith("DISTSTYLE EVEN\nCOMPOUND SORTKEY ( sold );")
    # A scalar subquery without an aggregate, correlated or not: one row is its value, none is
    # NULL, more than one is PostgreSQL's error 21000.
    assert one("select s.seller, (select t.region from sales_data.sales t where t.id = s.id) from sales_data.sales s where s.seller = 'dee'") == "dee|EU"
    assert one("select count(*) from sales_data.sales s where (select t.seller from sales_data.sales t where t.id = s.id + 100) is null") == "5"
    bad = psql(c, "select 'abc'::int", check=False)
    assert bad.returncode != 0 and 'invalid input syntax for integer: "abc"' in bad.stderr
    many = psql(c, "select (select seller from sales_data.sales)", check=False)
    assert many.returncode != 0 and "more than one row returned by a subquery used as an expression" in many.stderr
    # A timestamp written to the minute, as Redshift reads it, in a literal and in an INSERT.
    psql(c, "create table moments(t timestamp)")
    psql(c, "insert into moments values ('2008-01-05 9:30'), ('2008-01-05T10:00')")
    assert one("select count(*) from moments where t >= '2008-01-05 09:45'") == "1"
    assert psql(c, "select t from moments order by t").stdout.split("\n")[:2] == ["2008-01-05 09:30:00", "2008-01-05 10:00:00"]
    assert one("select ceiling(2.1), replicate('ab', 2)") == "3|abab"
    assert one("select to_char('2008-02-05 14:07:09'::timestamp, 'MON-YYYY'), to_char('2008-02-05'::date, 'FMDay, DDth Month'), to_char(125.8, '999.99'), to_char(1234567, 'FM9,999,999')") == (
        "FEB-2008|Tuesday, 05th February | 125.80|1,234,567")
    assert one("select last_day('2008-02-10'), add_months('2008-03-31', 1), add_months('2008-04-30', 1), add_months('2008-01-15 10:00:00', -1), date_cmp('2008-01-01', '2008-01-02')") == (
        "2008-02-29|2008-04-30 00:00:00|2008-05-31 00:00:00|2007-12-15 10:00:00|-1")
    assert one("select months_between('1969-03-18', '1969-01-18'), months_between('1969-03-18', '1969-01-29'), convert(int, '12'), to_number('12,454.8-', '99G999D9S')") == (
        "2|1.64516129032258|12|-12454.8")
    # Floats and times in text as Redshift writes them (15 significant digits, no trailing zeros).
    assert one("select 3.0::float8, 1e20::float8, 1::float8 / 3, 0.1::real, '2008-01-01 08:00:00.120'::timestamp, '10:00:00.5'::time, '2008-01-01 08:00:00+00'::timestamptz") == (
        "3|1e+20|0.333333333333333|0.1|2008-01-01 08:00:00.12|10:00:00.5|2008-01-01 08:00:00+00"
    )
    assert one("select regexp_substr('abc123def', '[0-9]+'), trunc('2008-01-05 10:00:00'::timestamp), 'abc' similar to 'a%', 'abc' similar to 'b%'") == "123|2008-01-05|t|f"
    assert one("select percentile_cont(0.5) within group (order by amount) from sales_data.sales") == "20"
    assert one("select date_trunc('month', sold)::date, count(*) from sales_data.sales where amount is not null group by 1 order by 1 limit 1") == "2008-01-01|2"

    # CTAS, SELECT INTO, LIKE, views, ALTER, TRUNCATE, temp tables.
    assert one("create table big_sellers distkey(seller) as select seller, sum(amount) as total from sales_data.sales group by seller") == "SELECT 4"
    assert one("select \"column\", type from pg_table_def where tablename = 'big_sellers' order by 1").split() == ["seller|character", "varying(10)", "total|numeric(20,2)"]
    assert one("select diststyle from svv_table_info where \"table\" = 'big_sellers'") == "KEY(seller)"
    psql(c, "select * into cheap from sales_data.sales where amount < 20")
    assert one("select count(*) from cheap") == "2"
    psql(c, "create table sales_copy (like sales_data.sales)")
    assert one("select sortkey1 from svv_table_info where \"table\" = 'sales_copy'") == "sold"
    psql(c, "create view ann_sales as select id, amount from sales_data.sales where seller = 'ann'")
    assert one("select sum(amount) from ann_sales") == "70.00"
    psql(c, "alter table cheap add column note varchar(5) default 'n/a'")
    psql(c, "alter table cheap rename column note to remark")
    assert one("select distinct remark from cheap") == "n/a"
    psql(c, "alter table cheap drop column remark")
    psql(c, "alter table cheap rename to bargains")
    assert one("select count(*) from bargains") == "2"
    psql(c, "truncate bargains")
    assert one("select count(*) from bargains") == "0"
    p = psql(c, "drop schema sales_data", check=False)
    assert p.returncode != 0 and "cannot drop schema sales_data because other objects depend on it" in p.stderr
    assert one("create temp table scratch as select 1 as x; select count(*) from scratch").splitlines()[-1] == "1"

    # A transaction: rolled back, nothing stays; a failure inside aborts the rest.
    out = psql(c, "begin; insert into bargains (seller) values ('tx'); rollback; select count(*) from bargains", check=False)
    assert out.stdout.strip().splitlines()[-1] == "0"
    p = psql(c, "begin; insert into bargains (seller) values ('tx'); select * from nope; commit;", check=False)
    assert 'relation "nope" does not exist' in p.stderr
    assert one("select count(*) from bargains") == "0"
    p = psql(c, "selec 1", check=False)
    assert 'syntax error at or near "selec"' in p.stderr
    p = psql(c, "select nosuch from bargains", check=False)
    assert 'column "nosuch" does not exist' in p.stderr
    # MERGE: matched rows updated, the others inserted, from the state before the statement.
    psql(c, "create table stock(item varchar(10), qty int)")
    psql(c, "insert into stock values ('apple', 1), ('pear', 2)")
    psql(c, "create table delivery(item varchar(10), qty int)")
    psql(c, "insert into delivery values ('apple', 10), ('plum', 5)")
    assert one("merge into stock using delivery d on stock.item = d.item when matched then update set qty = stock.qty + d.qty when not matched then insert values (d.item, d.qty)") == "MERGE 2"
    assert psql(c, "select item, qty from stock order by item").stdout.split() == ["apple|11", "pear|2", "plum|5"]
    assert one("merge into stock s using delivery d on s.item = d.item when matched then delete") == "MERGE 2"
    assert one("select item from stock") == "pear"
    psql(c, "insert into delivery values ('pear', 1), ('pear', 2)")
    p = psql(c, "merge into stock using delivery d on stock.item = d.item when matched then update set qty = d.qty", check=False)
    assert "Found multiple matches to update the same tuple" in p.stderr
    assert one("select qty from stock") == "2"
    # UPDATE ... FROM: joined rows take the source's values; several matches are refused only
    # when error_on_nondeterministic_update is on, as on Redshift.
    psql(c, "create table price(item varchar(10), cents int, note varchar(3))")
    psql(c, "insert into price values ('apple', 10, null), ('pear', 20, null), ('fig', 30, null)")
    psql(c, "create table new_price(item varchar(10), cents int)")
    psql(c, "insert into new_price values ('apple', 11), ('pear', 22), ('kiwi', 99)")
    assert one("update price set cents = n.cents, note = 'new' from new_price n where price.item = n.item and n.cents < 20") == "UPDATE 1"
    assert one("update price p set cents = p.cents + n.cents from new_price as n where p.item = n.item and p.note is null") == "UPDATE 1"
    assert psql(c, "select item, cents, coalesce(note, '-') from price order by item").stdout.split() == ["apple|11|new", "fig|30|-", "pear|42|-"]
    psql(c, "insert into new_price values ('fig', 1), ('fig', 2)")
    p = psql(c, "set error_on_nondeterministic_update to true; update price set cents = n.cents from new_price n where price.item = n.item", check=False)
    assert "Found multiple matches to update the same tuple" in p.stderr
    assert one("update price set cents = n.cents from new_price n where price.item = n.item and n.item = 'fig'") == "UPDATE 1"
    assert one("select cents in (1, 2) from price where item = 'fig'") == "t"
    p = psql(c, "update price set note = n.item from new_price n where price.item = n.item", check=False)
    assert "value too long for type character varying(3)" in p.stderr
    assert one("select count(*) from price where note = 'new'") == "1"
    assert "DROP SCHEMA" in psql(c, "drop schema sales_data cascade").stdout
    assert one("select count(*) from svv_tables where table_schema = 'sales_data'") == "0"


def test_wire_refuses_tls_and_survives_garbage(server):
    pytest.importorskip("redshift_connector")
    c = create_cluster(server, "wire")
    port = c["Endpoint"]["Port"]
    # SSLRequest: answered 'N' (no TLS), after which a client may go on in clear text.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(bytes([0, 0, 0, 8, 4, 210, 22, 47]))
        assert s.recv(1) == b"N"
    # A malformed message ends that connection only.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x00\x00\x00\x03garbage-that-is-no-startup-message")
        try:
            while s.recv(1024):
                pass
        except OSError:
            pass
    conn = connect(c)
    cur = conn.cursor()
    cur.execute("select 1")
    assert cur.fetchone()[0] == 1
    conn.close()


@pytest.mark.skipif(psql_missing, reason="psql is installed by .ci/run")
def test_super_navigation(server):
    c = create_cluster(server, "semi")

    def one(sql):
        return psql(c, sql).stdout.strip()

    psql(c, "create table customer_orders(c_custkey int, c_name varchar(20), c_orders super)")
    psql(c, """insert into customer_orders values
        (1, 'ann', json_parse('[{"o_orderstatus": "F", "o_totalprice": 10.5, "lines": [{"sku": "a1"}]}, {"o_orderstatus": "O", "o_totalprice": 3}]')),
        (2, 'bob', json_parse('{"note": "not an array", "Count": 7}')),
        (3, 'cy', null), (4, 'dee', 'plain text')""")
    assert one("select c_orders from customer_orders where c_custkey = 4") == '"plain text"'
    # Navigation is lax: a missing member, a wrong type or an index out of range is NULL.
    assert psql(c, "select c_custkey, c_orders[0].o_orderstatus, c_orders[1].o_totalprice, c_orders[0].lines[0].sku from customer_orders order by 1").stdout.split() == [
        '1|"F"|3|"a1"', "2|||", "3|||", "4|||"]
    assert one("select c.c_orders.note from customer_orders c where c_custkey = 2") == '"not an array"'
    assert one("select c_orders.count from customer_orders where c_custkey = 2") == "7"
    # Compared and cast by dynamic type: a SUPER string equals a VARCHAR, numbers compare as numbers.
    assert one("select c_name from customer_orders c where c.c_orders[0].o_orderstatus = 'F'") == "ann"
    assert one("select c_name from customer_orders where c_orders[0].o_totalprice > 10") == "ann"
    assert one("select c_name from customer_orders where c_orders[0].o_totalprice = 'F'") == ""
    assert one("select c_orders[0].o_orderstatus::varchar || '!', c_orders[0].o_totalprice::decimal(8,2) from customer_orders where c_custkey = 1") == "F!|10.50"
    assert one("select is_array(c_orders), get_array_length(c_orders), json_typeof(c_orders[0]) from customer_orders where c_custkey = 1") == "t|2|object"
    assert one("select json_serialize(c_orders) from customer_orders where c_custkey = 2") == '{"note":"not an array","Count":7}'
    # PartiQL unnesting: each element of an array is a row; a value that is not an array gives none.
    rows = psql(c, "select c.c_name, o.o_orderstatus, o.o_totalprice from customer_orders c, c.c_orders o order by o.o_totalprice::float").stdout.split()
    assert rows == ['ann|"O"|3', 'ann|"F"|10.5']
    assert one("select count(*) from customer_orders c, c.c_orders o, o.lines l where l.sku = 'a1'") == "1"
    assert psql(c, "select i, o.o_orderstatus from customer_orders as c, c.c_orders as o at i order by i").stdout.split() == ['0|"F"', '1|"O"']
    bad = psql(c, "select json_parse('{oops')", check=False)
    assert bad.returncode != 0 and "JSON parsing error" in bad.stderr


def test_cluster_tags_decide_tag_conditions(server):
    """aws:ResourceTag/... of a cluster reaches the evaluator, so tag-based (ABAC) policies
    decide actions on clusters."""
    iam = server.client("iam")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="dev-clusters", PolicyDocument=__import__("json").dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "redshift:DescribeClusters", "Resource": "*"},
            {"Effect": "Allow", "Action": "redshift:PauseCluster", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/env": "dev"}}},
        ],
    }))
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    create_cluster(server, "devbox", Tags=[{"Key": "env", "Value": "dev"}])
    create_cluster(server, "prodbox", Tags=[{"Key": "env", "Value": "prod"}])
    rs = server.client("redshift", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        rs.pause_cluster(ClusterIdentifier="prodbox")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert rs.pause_cluster(ClusterIdentifier="devbox")["Cluster"]["ClusterIdentifier"] == "devbox"


def test_cluster_credentials_with_iam_log_in_as_the_iam_identity(server):
    """GetClusterCredentialsWithIAM maps the caller 1:1 to a database user `IAM:<name>`,
    created on first use; the temporary password logs in as that user."""
    c = create_cluster(server, "iamlogin")
    iam = server.client("iam")
    iam.create_user(UserName="dora")
    key = iam.create_access_key(UserName="dora")["AccessKey"]
    iam.put_user_policy(UserName="dora", PolicyName="creds", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "redshift:GetClusterCredentialsWithIAM", "Resource": "*"}],
    }))
    rs = server.client("redshift", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    creds = rs.get_cluster_credentials_with_iam(ClusterIdentifier="iamlogin", DbName="dev")
    assert creds["DbUser"] == "IAM:dora"
    out = psql(c, "select current_user", user=creds["DbUser"], password=creds["DbPassword"]).stdout.strip()
    assert out == "iam:dora"
    assert psql(c, "select 1", user=creds["DbUser"], password="Wrong-Pass1", check=False).returncode != 0


def test_parameter_groups_take_effect_at_reboot(server):
    """A cluster parameter group's session parameters become the cluster's session defaults:
    at creation, and after a reboot once the group changed (`pending-reboot` until then);
    values nuage cannot honour are refused, not kept."""
    rs = server.client("redshift")
    g = rs.create_cluster_parameter_group(ParameterGroupName="reports", ParameterGroupFamily="redshift-1.0", Description="reporting", Tags=[{"Key": "team", "Value": "bi"}])
    assert g["ClusterParameterGroup"]["ParameterGroupName"] == "reports"
    with pytest.raises(ClientError) as e:
        rs.create_cluster_parameter_group(ParameterGroupName="reports", ParameterGroupFamily="redshift-1.0", Description="again")
    assert e.value.response["Error"]["Code"] == "ClusterParameterGroupAlreadyExists"
    with pytest.raises(ClientError) as e:
        rs.create_cluster_parameter_group(ParameterGroupName="odd", ParameterGroupFamily="postgres15", Description="x")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    names = [p["ParameterGroupName"] for p in rs.describe_cluster_parameter_groups()["ParameterGroups"]]
    assert "default.redshift-1.0" in names and "reports" in names

    rs.modify_cluster_parameter_group(ParameterGroupName="reports", Parameters=[{"ParameterName": "search_path", "ParameterValue": "sales, public"}])
    params = {p["ParameterName"]: p for p in rs.describe_cluster_parameters(ParameterGroupName="reports")["Parameters"]}
    assert params["search_path"]["ParameterValue"] == "sales, public" and params["search_path"]["Source"] == "user"
    assert params["statement_timeout"]["Source"] == "engine-default" and params["search_path"]["ApplyType"] == "static"
    assert [p["ParameterName"] for p in rs.describe_cluster_parameters(ParameterGroupName="reports", Source="user")["Parameters"]] == ["search_path"]
    defaults = rs.describe_default_cluster_parameters(ParameterGroupFamily="redshift-1.0")["DefaultClusterParameters"]["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in defaults}["query_group"] == "default"
    for name, value in [("require_ssl", "true"), ("statement_timeout", "60000"), ("no_such_parameter", "1"), ("extra_float_digits", "9"), ("wlm_json_configuration", '[{"query_concurrency": 5}]')]:
        with pytest.raises(ClientError) as e:
            rs.modify_cluster_parameter_group(ParameterGroupName="reports", Parameters=[{"ParameterName": name, "ParameterValue": value}])
        assert e.value.response["Error"]["Code"] == "InvalidParameterValue", name
    with pytest.raises(ClientError) as e:
        rs.modify_cluster_parameter_group(ParameterGroupName="default.redshift-1.0", Parameters=[{"ParameterName": "search_path", "ParameterValue": "x"}])
    assert e.value.response["Error"]["Code"] == "InvalidClusterParameterGroupState"

    c = create_cluster(server, "paramlab", ClusterParameterGroupName="reports")
    assert c["ClusterParameterGroups"][0] == {"ParameterGroupName": "reports", "ParameterApplyStatus": "in-sync"}
    psql(c, "create schema sales; create table sales.orders(id int); insert into sales.orders values (7)")
    assert psql(c, "show search_path").stdout.strip() == "sales, public"
    assert psql(c, "select * from orders").stdout.strip() == "7"

    rs.modify_cluster_parameter_group(ParameterGroupName="reports", Parameters=[{"ParameterName": "query_group", "ParameterValue": "nightly"}])
    c = rs.describe_clusters(ClusterIdentifier="paramlab")["Clusters"][0]
    assert c["ClusterParameterGroups"][0]["ParameterApplyStatus"] == "pending-reboot"
    assert psql(c, "show query_group").stdout.strip() == "default"
    rs.reboot_cluster(ClusterIdentifier="paramlab")
    rs.get_waiter("cluster_available").wait(ClusterIdentifier="paramlab", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    c = rs.describe_clusters(ClusterIdentifier="paramlab")["Clusters"][0]
    assert c["ClusterParameterGroups"][0]["ParameterApplyStatus"] == "in-sync"
    assert psql(c, "show query_group").stdout.strip() == "nightly"

    with pytest.raises(ClientError) as e:
        rs.delete_cluster_parameter_group(ParameterGroupName="reports")
    assert e.value.response["Error"]["Code"] == "InvalidClusterParameterGroupState"
    rs.reset_cluster_parameter_group(ParameterGroupName="reports", ResetAllParameters=True)
    assert rs.describe_cluster_parameters(ParameterGroupName="reports", Source="user")["Parameters"] == []
    with pytest.raises(ClientError) as e:
        create_cluster(server, "nogroup", ClusterParameterGroupName="missing")
    assert e.value.response["Error"]["Code"] == "ClusterParameterGroupNotFound"
    assert rs.describe_logging_status(ClusterIdentifier="paramlab")["LoggingEnabled"] is False
    tags = rs.describe_tags(ResourceName="arn:aws:redshift:us-east-1:000000000000:parametergroup:reports")["TaggedResources"]
    assert [(t["Tag"]["Key"], t["ResourceType"]) for t in tags] == [("team", "parametergroup")]


def test_cluster_settings_are_checked_kept_and_reported(server):
    """Zone, maintenance window and track, snapshot retention, VPC routing, KMS key, subnet
    group: checked as Redshift checks them, reported by DescribeClusters, changed by
    ModifyCluster; what nuage cannot provide is refused."""
    rs = server.client("redshift")
    ec2 = server.client("ec2")
    subnets = ec2.describe_subnets()["Subnets"]
    vpc = subnets[0]["VpcId"]
    g = rs.create_cluster_subnet_group(ClusterSubnetGroupName="analytics", Description="two zones", SubnetIds=[s["SubnetId"] for s in subnets[:2]])["ClusterSubnetGroup"]
    assert g["VpcId"] == vpc and len(g["Subnets"]) == 2 and g["SubnetGroupStatus"] == "Complete"
    assert {s["SubnetAvailabilityZone"]["Name"] for s in g["Subnets"]} == {s["AvailabilityZone"] for s in subnets[:2]}
    with pytest.raises(ClientError) as e:
        rs.create_cluster_subnet_group(ClusterSubnetGroupName="bad", Description="x", SubnetIds=["subnet-00000000000000000"])
    assert e.value.response["Error"]["Code"] == "InvalidSubnet"
    names = [x["ClusterSubnetGroupName"] for x in rs.describe_cluster_subnet_groups()["ClusterSubnetGroups"]]
    assert names == ["default", "analytics"]

    c = create_cluster(
        server, "settings", ClusterSubnetGroupName="analytics", AvailabilityZone="us-east-1b",
        PreferredMaintenanceWindow="Mon:03:00-Mon:04:00", AutomatedSnapshotRetentionPeriod=7,
        ManualSnapshotRetentionPeriod=30, AllowVersionUpgrade=False, EnhancedVpcRouting=True,
        Encrypted=True, KmsKeyId="arn:aws:kms:us-east-1:000000000000:key/1234", ClusterVersion="1.0",
    )
    assert c["ClusterSubnetGroupName"] == "analytics" and c["VpcId"] == vpc
    assert c["AvailabilityZone"] == "us-east-1b" and c["PreferredMaintenanceWindow"] == "mon:03:00-mon:04:00"
    assert c["AutomatedSnapshotRetentionPeriod"] == 7 and c["ManualSnapshotRetentionPeriod"] == 30
    assert c["AllowVersionUpgrade"] is False and c["EnhancedVpcRouting"] is True
    assert c["KmsKeyId"] == "arn:aws:kms:us-east-1:000000000000:key/1234" and c["Encrypted"] is True
    c = rs.modify_cluster(ClusterIdentifier="settings", PreferredMaintenanceWindow="sun:23:30-mon:00:30", MaintenanceTrackName="trailing")["Cluster"]
    assert c["PreferredMaintenanceWindow"] == "sun:23:30-mon:00:30" and c["MaintenanceTrackName"] == "trailing"
    assert create_cluster(server, "plain")["VpcId"] == vpc

    def refused(code, **args):
        with pytest.raises(ClientError) as e:
            rs.create_cluster(ClusterIdentifier="refused", NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword=PASSWORD, **args)
        assert e.value.response["Error"]["Code"] == code, args

    refused("InvalidParameterValue", PreferredMaintenanceWindow="mon:03:00-mon:03:10")
    refused("InvalidParameterValue", PreferredMaintenanceWindow="someday")
    refused("InvalidRetentionPeriodFault", AutomatedSnapshotRetentionPeriod=40)
    refused("InvalidRetentionPeriodFault", ManualSnapshotRetentionPeriod=0)
    refused("InvalidVPCNetworkStateFault", AvailabilityZone="eu-west-1a")
    refused("InvalidClusterTrack", MaintenanceTrackName="preview")
    refused("ClusterSubnetGroupNotFoundFault", ClusterSubnetGroupName="nowhere")
    refused("InvalidElasticIpFault", ElasticIp="1.2.3.4")
    refused("UnsupportedOperation", HsmClientCertificateIdentifier="hsm")
    refused("InvalidParameterValue", ClusterVersion="2.0")
    refused("InvalidParameterValue", MultiAZ=True)
    with pytest.raises(ClientError) as e:
        rs.delete_cluster_subnet_group(ClusterSubnetGroupName="analytics")
    assert e.value.response["Error"]["Code"] == "InvalidClusterSubnetGroupStateFault"
    rs.delete_cluster(ClusterIdentifier="settings", SkipFinalClusterSnapshot=True)
    rs.delete_cluster_subnet_group(ClusterSubnetGroupName="analytics")
    assert [x["ClusterSubnetGroupName"] for x in rs.describe_cluster_subnet_groups()["ClusterSubnetGroups"]] == ["default"]


def test_snapshot_retention_copy_batches_and_sharing(partner_server):
    """Manual snapshots keep their retention period, are copied, changed and deleted in
    batches, and shared with another account, which restores its own cluster from one."""
    server = partner_server
    rs = server.client("redshift")
    c = create_cluster(server, "snaps", ManualSnapshotRetentionPeriod=10)
    psql(c, "create table t(x int); insert into t values (1), (2)")
    s = rs.create_cluster_snapshot(ClusterIdentifier="snaps", SnapshotIdentifier="keep-ten")["Snapshot"]
    assert s["ManualSnapshotRetentionPeriod"] == 10 and s["ManualSnapshotRemainingDays"] == 10
    s = rs.create_cluster_snapshot(ClusterIdentifier="snaps", SnapshotIdentifier="forever", ManualSnapshotRetentionPeriod=-1)["Snapshot"]
    assert s["ManualSnapshotRetentionPeriod"] == -1 and "ManualSnapshotRemainingDays" not in s
    with pytest.raises(ClientError) as e:
        rs.create_cluster_snapshot(ClusterIdentifier="snaps", SnapshotIdentifier="bad", ManualSnapshotRetentionPeriod=0)
    assert e.value.response["Error"]["Code"] == "InvalidRetentionPeriodFault"
    assert rs.modify_cluster_snapshot(SnapshotIdentifier="keep-ten", ManualSnapshotRetentionPeriod=3)["Snapshot"]["ManualSnapshotRetentionPeriod"] == 3

    copy = rs.copy_cluster_snapshot(SourceSnapshotIdentifier="forever", TargetSnapshotIdentifier="forever-copy", ManualSnapshotRetentionPeriod=5)["Snapshot"]
    assert copy["ClusterIdentifier"] == "snaps" and copy["ManualSnapshotRetentionPeriod"] == 5
    ids = sorted(x["SnapshotIdentifier"] for x in rs.describe_cluster_snapshots(ClusterIdentifier="snaps")["Snapshots"])
    assert ids == ["forever", "forever-copy", "keep-ten"]
    newest = rs.describe_cluster_snapshots(SortingEntities=[{"Attribute": "CREATE_TIME", "SortOrder": "DESC"}])["Snapshots"][0]
    assert newest["SnapshotIdentifier"] == "forever-copy"

    out = rs.batch_modify_cluster_snapshots(SnapshotIdentifierList=["keep-ten", "missing"], ManualSnapshotRetentionPeriod=7)
    assert out["Resources"] == ["keep-ten"] and out["Errors"][0]["SnapshotIdentifier"] == "missing"
    out = rs.batch_delete_cluster_snapshots(Identifiers=[{"SnapshotIdentifier": "forever-copy"}, {"SnapshotIdentifier": "nope"}])
    assert out["Resources"] == ["forever-copy"] and out["Errors"][0]["FailureCode"] == "ClusterSnapshotNotFound"

    # Shared with the partner account, which sees it and restores a cluster of its own.
    partner = server.client("redshift", access_key="PARTNERROOT", secret_key="partnersecret")
    assert partner.describe_cluster_snapshots()["Snapshots"] == []
    shared = rs.authorize_snapshot_access(SnapshotIdentifier="forever", AccountWithRestoreAccess="222233334444")["Snapshot"]
    assert shared["AccountsWithRestoreAccess"] == [{"AccountId": "222233334444"}]
    with pytest.raises(ClientError) as e:
        rs.authorize_snapshot_access(SnapshotIdentifier="forever", AccountWithRestoreAccess="222233334444")
    assert e.value.response["Error"]["Code"] == "AuthorizationAlreadyExists"
    seen = partner.describe_cluster_snapshots(OwnerAccount="000000000000")["Snapshots"]
    assert [x["SnapshotIdentifier"] for x in seen] == ["forever"] and seen[0]["OwnerAccount"] == "000000000000"
    partner.restore_from_cluster_snapshot(ClusterIdentifier="theirs", SnapshotIdentifier="forever", OwnerAccount="000000000000", Port=free_port())
    partner.get_waiter("cluster_available").wait(ClusterIdentifier="theirs", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    theirs = partner.describe_clusters(ClusterIdentifier="theirs")["Clusters"][0]
    assert psql(theirs, "select count(*) from t").stdout.strip() == "2"
    assert rs.describe_clusters()["Clusters"][0]["ClusterIdentifier"] == "snaps"
    rs.revoke_snapshot_access(SnapshotIdentifier="forever", AccountWithRestoreAccess="222233334444")
    assert partner.describe_cluster_snapshots(OwnerAccount="000000000000")["Snapshots"] == []
    with pytest.raises(ClientError) as e:
        partner.delete_cluster_snapshot(SnapshotIdentifier="forever")
    assert e.value.response["Error"]["Code"] == "ClusterSnapshotNotFound"


def test_master_password_managed_in_secrets_manager(server):
    """ManageMasterPassword: Redshift creates a secret `redshift!<cluster>-<user>` holding the
    generated password, as the caller (who needs secretsmanager:CreateSecret); the secret logs
    in, serves the Data API, and goes with the cluster."""
    rs = server.client("redshift")
    sm = server.client("secretsmanager")
    with pytest.raises(ClientError) as e:
        rs.create_cluster(ClusterIdentifier="both", NodeType="dc2.large", MasterUsername="awsuser", MasterUserPassword=PASSWORD, ManageMasterPassword=True)
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    args = dict(ClusterIdentifier="managed", NodeType="dc2.large", MasterUsername="awsuser", ManageMasterPassword=True, Port=free_port())
    out = rs.create_cluster(**args)["Cluster"]
    arn = out["MasterPasswordSecretArn"]
    assert ":secret:redshift!managed-awsuser" in arn
    # Only a service names a secret `<service>!...`; a caller of its own cannot.
    with pytest.raises(ClientError) as e:
        sm.create_secret(Name="redshift!mine-awsuser", SecretString="x")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    rs.get_waiter("cluster_available").wait(ClusterIdentifier="managed", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    c = rs.describe_clusters(ClusterIdentifier="managed")["Clusters"][0]
    assert c["MasterPasswordSecretArn"] == arn
    secret = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert secret["username"] == "awsuser"
    assert psql(c, "select 1", password=secret["password"]).stdout.strip() == "1"
    data = server.client("redshift-data")
    s = data.execute_statement(ClusterIdentifier="managed", Database="dev", SecretArn=arn, Sql="select current_user")
    for _ in range(100):
        d = data.describe_statement(Id=s["Id"])
        if d["Status"] in ("FINISHED", "FAILED"):
            break
        time.sleep(0.1)
    assert d["Status"] == "FINISHED", d
    with pytest.raises(ClientError) as e:
        rs.modify_cluster(ClusterIdentifier="managed", MasterUserPassword="Another-Pass1")
    assert e.value.response["Error"]["Code"] == "InvalidParameterCombination"
    # Back to a password of one's own: the secret goes.
    rs.modify_cluster(ClusterIdentifier="managed", ManageMasterPassword=False, MasterUserPassword="Another-Pass1")
    assert psql(c, "select 1", password="Another-Pass1").stdout.strip() == "1"
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # And managed again, then deleted with the cluster.
    arn = rs.modify_cluster(ClusterIdentifier="managed", ManageMasterPassword=True)["Cluster"]["MasterPasswordSecretArn"]
    password = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"]
    assert psql(c, "select 1", password=password).stdout.strip() == "1"
    rs.delete_cluster(ClusterIdentifier="managed", SkipFinalClusterSnapshot=True)
    with pytest.raises(ClientError) as e:
        sm.describe_secret(SecretId=arn)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    # The caller makes the secret: without secretsmanager:CreateSecret, no managed password.
    iam = server.client("iam")
    iam.create_user(UserName="ops")
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    iam.put_user_policy(UserName="ops", PolicyName="rs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "redshift:*", "Resource": "*"}]}))
    ops = server.client("redshift", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        ops.create_cluster(**dict(args, ClusterIdentifier="opsmanaged"))
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [x["ClusterIdentifier"] for x in rs.describe_clusters()["Clusters"]] == []


def test_automated_snapshots_follow_the_retention_period(tmp_path):
    """A cluster with AutomatedSnapshotRetentionPeriod > 0 gets an automated snapshot every
    --automated-snapshot-interval (Redshift: about every eight hours), named rs:<cluster>-<time>;
    it cannot be deleted by hand, can be copied to a manual one, and goes with a period of 0
    and with its cluster."""
    server = Nuage(str(tmp_path), ["--automated-snapshot-interval", "1"]).start()
    try:
        rs = server.client("redshift")
        create_cluster(server, "auto", AutomatedSnapshotRetentionPeriod=2)
        create_cluster(server, "noauto", AutomatedSnapshotRetentionPeriod=0)

        def automated(cluster):
            return [s for s in rs.describe_cluster_snapshots(ClusterIdentifier=cluster, SnapshotType="automated")["Snapshots"]]

        deadline = time.time() + 15
        while not automated("auto") and time.time() < deadline:
            time.sleep(0.2)
        snaps = automated("auto")
        assert snaps and snaps[0]["SnapshotIdentifier"].startswith("rs:auto-") and snaps[0]["SnapshotType"] == "automated"
        assert automated("noauto") == []
        first = snaps[0]["SnapshotIdentifier"]
        with pytest.raises(ClientError) as e:
            rs.delete_cluster_snapshot(SnapshotIdentifier=first)
        assert e.value.response["Error"]["Code"] == "InvalidClusterSnapshotState"
        rs.copy_cluster_snapshot(SourceSnapshotIdentifier=first, TargetSnapshotIdentifier="kept-copy")

        rs.modify_cluster(ClusterIdentifier="auto", AutomatedSnapshotRetentionPeriod=0)
        deadline = time.time() + 15
        while automated("auto") and time.time() < deadline:
            time.sleep(0.2)
        assert automated("auto") == []
        rs.modify_cluster(ClusterIdentifier="auto", AutomatedSnapshotRetentionPeriod=1)
        deadline = time.time() + 15
        while not automated("auto") and time.time() < deadline:
            time.sleep(0.2)
        assert automated("auto")
        rs.delete_cluster(ClusterIdentifier="auto", SkipFinalClusterSnapshot=True)
        left = [s["SnapshotIdentifier"] for s in rs.describe_cluster_snapshots()["Snapshots"]]
        assert left == ["kept-copy"]
    finally:
        server.kill()


def test_events_resize_and_the_catalogue(server):
    """DescribeEvents lists what happened (creation, snapshot, reboot, resize, modified
    parameter group); ResizeCluster changes the node type and count at once and DescribeResize
    reports it; the catalogue describes versions, tracks and orderable node types."""
    rs = server.client("redshift")
    c = create_cluster(server, "busy")
    psql(c, "create table t(x int); insert into t values (1)")
    with pytest.raises(ClientError) as e:
        rs.describe_resize(ClusterIdentifier="busy")
    assert e.value.response["Error"]["Code"] == "ResizeNotFound"
    out = rs.resize_cluster(ClusterIdentifier="busy", ClusterType="multi-node", NumberOfNodes=4)["Cluster"]
    assert out["ClusterStatus"] == "resizing" and out["NumberOfNodes"] == 4
    r = rs.describe_resize(ClusterIdentifier="busy")
    assert r["Status"] == "SUCCEEDED" and r["TargetNumberOfNodes"] == 4 and r["ResizeType"] == "ElasticResize"
    assert "public.t" in r["ImportTablesCompleted"]
    with pytest.raises(ClientError) as e:
        rs.resize_cluster(ClusterIdentifier="busy", NumberOfNodes=4)
    assert e.value.response["Error"]["Code"] == "UnsupportedOptionFault"
    with pytest.raises(ClientError) as e:
        rs.cancel_resize(ClusterIdentifier="busy")
    assert e.value.response["Error"]["Code"] == "InvalidClusterState"
    rs.resize_cluster(ClusterIdentifier="busy", NodeType="ra3.xlplus", NumberOfNodes=2)
    assert rs.describe_resize(ClusterIdentifier="busy")["ResizeType"] == "ClassicResize"
    assert psql(rs.describe_clusters(ClusterIdentifier="busy")["Clusters"][0], "select count(*) from t").stdout.strip() == "1"
    rs.create_cluster_snapshot(ClusterIdentifier="busy", SnapshotIdentifier="before")
    rs.reboot_cluster(ClusterIdentifier="busy")

    events = rs.describe_events(SourceType="cluster", SourceIdentifier="busy")["Events"]
    ids = [e["EventId"] for e in events]
    assert ids[0] == "REDSHIFT-EVENT-2000" and "REDSHIFT-EVENT-1001" in ids and ids[-1] == "REDSHIFT-EVENT-2002"
    assert all(e["SourceType"] == "cluster" and e["Severity"] == "INFO" for e in events)
    snaps = rs.describe_events(SourceType="cluster-snapshot")["Events"]
    assert [e["SourceIdentifier"] for e in snaps] == ["before"]
    assert rs.describe_events(StartTime="2001-01-01T00:00:00Z", EndTime="2001-01-02T00:00:00Z")["Events"] == []
    cats = rs.describe_event_categories(SourceType="cluster")["EventCategoriesMapList"]
    assert cats[0]["SourceType"] == "cluster" and any(e["EventId"] == "REDSHIFT-EVENT-2000" for e in cats[0]["Events"])

    assert rs.describe_cluster_versions()["ClusterVersions"][0]["ClusterVersion"] == "1.0"
    assert [t["MaintenanceTrackName"] for t in rs.describe_cluster_tracks()["MaintenanceTracks"]] == ["current", "trailing"]
    options = rs.describe_orderable_cluster_options(NodeType="ra3.xlplus")["OrderableClusterOptions"]
    assert {o["ClusterType"] for o in options} == {"single-node", "multi-node"}
    assert [z["Name"] for z in options[0]["AvailabilityZones"]] == ["us-east-1a", "us-east-1b", "us-east-1c"]


def test_usage_limits_are_checked_and_kept(server):
    """Usage limits on concurrency scaling and Spectrum: the limit type must fit the feature,
    one per period and action; they change, list, and go with their cluster."""
    rs = server.client("redshift")
    create_cluster(server, "limited")
    u = rs.create_usage_limit(ClusterIdentifier="limited", FeatureType="concurrency-scaling", LimitType="time", Amount=60, Period="daily", BreachAction="emit-metric")
    assert u["UsageLimitId"].startswith("usage-limit-") and u["Amount"] == 60 and u["BreachAction"] == "emit-metric"
    s = rs.create_usage_limit(ClusterIdentifier="limited", FeatureType="spectrum", LimitType="data-scanned", Amount=2)
    assert s["Period"] == "monthly" and s["BreachAction"] == "log"
    for bad, code in [
        (dict(FeatureType="spectrum", LimitType="time", Amount=1), "InvalidUsageLimit"),
        (dict(FeatureType="concurrency-scaling", LimitType="time", Amount=0), "InvalidUsageLimit"),
        (dict(FeatureType="concurrency-scaling", LimitType="time", Amount=5, Period="daily", BreachAction="emit-metric"), "UsageLimitAlreadyExists"),
    ]:
        with pytest.raises(ClientError) as e:
            rs.create_usage_limit(ClusterIdentifier="limited", **bad)
        assert e.value.response["Error"]["Code"] == code, bad
    assert rs.modify_usage_limit(UsageLimitId=u["UsageLimitId"], Amount=120, BreachAction="disable")["Amount"] == 120
    listed = rs.describe_usage_limits(ClusterIdentifier="limited", FeatureType="concurrency-scaling")["UsageLimits"]
    assert [(x["Amount"], x["BreachAction"]) for x in listed] == [(120, "disable")]
    rs.delete_usage_limit(UsageLimitId=s["UsageLimitId"])
    with pytest.raises(ClientError) as e:
        rs.delete_usage_limit(UsageLimitId=s["UsageLimitId"])
    assert e.value.response["Error"]["Code"] == "UsageLimitNotFound"
    rs.delete_cluster(ClusterIdentifier="limited", SkipFinalClusterSnapshot=True)
    assert rs.describe_usage_limits()["UsageLimits"] == []
