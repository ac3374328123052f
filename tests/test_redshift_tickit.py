"""Redshift's getting-started lab: the TICKIT sample from the built-in public bucket
s3://awssampledbuswest2/tickit/ (us-west-2), loaded through an IAM role with the guide's own
CREATE TABLE and COPY statements, then queried with the guide's queries; and the guide's
troubleshooting cases."""
import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Nuage, free_port
from test_redshift import PASSWORD, psql, psql_missing

pytestmark = pytest.mark.skipif(psql_missing, reason="psql is not installed")

CREATE_TABLES = """
create table users(
	userid integer not null distkey sortkey,
	username char(8),
	firstname varchar(30),
	lastname varchar(30),
	city varchar(30),
	state char(2),
	email varchar(100),
	phone char(14),
	likesports boolean,
	liketheatre boolean,
	likeconcerts boolean,
	likejazz boolean,
	likeclassical boolean,
	likeopera boolean,
	likerock boolean,
	likevegas boolean,
	likebroadway boolean,
	likemusicals boolean);

create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer);

create table category(
	catid smallint not null distkey sortkey,
	catgroup varchar(10),
	catname varchar(10),
	catdesc varchar(50));

create table date(
	dateid smallint not null distkey sortkey,
	caldate date not null,
	day character(3) not null,
	week smallint not null,
	month character(5) not null,
	qtr character(5) not null,
	year smallint not null,
	holiday boolean default('N'));

create table event(
	eventid integer not null distkey,
	venueid smallint not null,
	catid smallint not null,
	dateid smallint not null sortkey,
	eventname varchar(200),
	starttime timestamp);

create table listing(
	listid integer not null distkey,
	sellerid integer not null,
	eventid integer not null,
	dateid smallint not null  sortkey,
	numtickets smallint not null,
	priceperticket decimal(8,2),
	totalprice decimal(8,2),
	listtime timestamp);

create table sales(
	salesid integer not null,
	listid integer not null distkey,
	sellerid integer not null,
	buyerid integer not null,
	eventid integer not null,
	dateid smallint not null sortkey,
	qtysold smallint not null,
	pricepaid decimal(8,2),
	commission decimal(8,2),
	saletime timestamp);
"""

COPIES = [
    ("users", "allusers_pipe.txt", "delimiter '|'"),
    ("venue", "venue_pipe.txt", "delimiter '|'"),
    ("category", "category_pipe.txt", "delimiter '|'"),
    ("date", "date2008_pipe.txt", "delimiter '|'"),
    ("event", "allevents_pipe.txt", "delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'"),
    ("listing", "listings_pipe.txt", "delimiter '|'"),
    ("sales", "sales_tab.txt", "delimiter '\\t' timeformat 'MM/DD/YYYY HH:MI:SS'"),
]

ROWS = {"users": 49990, "venue": 202, "category": 11, "date": 365, "event": 8798, "listing": 192497, "sales": 172456}


@pytest.fixture
def lab(tmp_path):
    n = Nuage(str(tmp_path), samples=True).start()
    s3 = n.client("s3", region="us-west-2")
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if s3.list_objects_v2(Bucket="awssampledbuswest2", Prefix="tickit/")["KeyCount"] == 7:
                break
        except ClientError as e:
            # While it is published the bucket may not exist yet, or not be public yet.
            if e.response["Error"]["Code"] not in ("NoSuchBucket", "AccessDenied"):
                raise
        time.sleep(0.2)
    yield n
    n.kill()


def test_tickit_lab_end_to_end(lab, tmp_path):
    """The commands of docs/labs/redshift-tickit.md, in order (the cluster on a free port)."""
    s3 = lab.client("s3", region="us-west-2")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="awssampledbuswest2", Prefix="tickit/")["Contents"])
    assert keys == [f"tickit/{f}" for f in sorted(f for _, f, _ in COPIES)]
    assert s3.get_bucket_location(Bucket="awssampledbuswest2")["LocationConstraint"] == "us-west-2"
    listed = lab.cli("s3", "ls", "s3://awssampledbuswest2/tickit/", "--region", "us-west-2").stdout
    assert "sales_tab.txt" in listed

    # 1. The role.
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }))
    lab.cli("iam", "create-role", "--role-name", "MyRedshiftRole", "--assume-role-policy-document", f"file://{trust}")
    lab.cli("iam", "attach-role-policy", "--role-name", "MyRedshiftRole", "--policy-arn", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    role = "arn:aws:iam::000000000000:role/MyRedshiftRole"
    # A second role without S3 rights, for the first troubleshooting case.
    lab.cli("iam", "create-role", "--role-name", "BareRole", "--assume-role-policy-document", f"file://{trust}")
    bare = "arn:aws:iam::000000000000:role/BareRole"

    # 2. The security group, then the cluster; the port opens with the ingress rule.
    port = str(free_port())
    vpcs = json.loads(lab.cli("ec2", "describe-vpcs", "--filters", "Name=is-default,Values=true").stdout)["Vpcs"]
    assert len(vpcs) == 1
    group = json.loads(lab.cli("ec2", "create-security-group", "--group-name", "redshift-lab",
                               "--description", "Redshift from my machine").stdout)["GroupId"]
    lab.cli("redshift", "create-cluster", "--cluster-identifier", "examplecluster", "--node-type", "dc2.large",
            "--master-username", "awsuser", "--master-user-password", PASSWORD, "--port", port,
            "--iam-roles", role, bare, "--vpc-security-group-ids", group)
    lab.cli("redshift", "wait", "cluster-available", "--cluster-identifier", "examplecluster")
    c = json.loads(lab.cli("redshift", "describe-clusters", "--cluster-identifier", "examplecluster").stdout)["Clusters"][0]
    assert c["Endpoint"]["Port"] == int(port)
    assert psql(c, "select 1", check=False).returncode != 0
    lab.cli("ec2", "authorize-security-group-ingress", "--group-id", group, "--protocol", "tcp", "--port", port, "--cidr", "0.0.0.0/0")

    # 3. Tables, then the troubleshooting cases (each fails and loads nothing), then COPY.
    psql(c, CREATE_TABLES)
    src = "s3://awssampledbuswest2/tickit"
    p = psql(c, f"copy users from '{src}/allusers_pipe.txt' credentials 'aws_iam_role={bare}' delimiter '|' region 'us-west-2'", check=False)
    assert "S3ServiceException:" in p.stderr and "Status 403" in p.stderr
    p = psql(c, f"copy users from '{src}/allusers_pipe.txt' credentials 'aws_iam_role={role}' delimiter '|'", check=False)
    assert "Status 301,Error PermanentRedirect" in p.stderr
    p = psql(c, f"copy sales from '{src}/sales_tab.txt' credentials 'aws_iam_role={role}' delimiter '|' timeformat 'MM/DD/YYYY HH:MI:SS' region 'us-west-2'", check=False)
    assert "Load into table 'sales' failed.  Check 'stl_load_errors' system table for details." in p.stderr
    assert psql(c, "select count(*) from users").stdout.strip() == "0"
    assert psql(c, "select count(*) from sales").stdout.strip() == "0"
    err = psql(c, "select err_code, trim(err_reason) from stl_load_errors where filename like '%sales_tab.txt' and line_number = 1").stdout.strip()
    assert err == "1214|Delimiter not found"

    for table, name, options in COPIES:
        out = psql(c, f"copy {table} from '{src}/{name}' credentials 'aws_iam_role={role}' {options} region 'us-west-2';").stdout
        assert out.strip() == f"COPY {ROWS[table]}", (table, out)
    for table, rows in ROWS.items():
        assert psql(c, f"select count(*) from {table}").stdout.strip() == str(rows)

    # Referential integrity, as the lab's joins expect.
    orphans = psql(c, """select
        (select count(*) from sales s left join listing l on s.listid = l.listid where l.listid is null),
        (select count(*) from sales s left join users u on s.buyerid = u.userid where u.userid is null),
        (select count(*) from listing l left join event e on l.eventid = e.eventid where e.eventid is null),
        (select count(*) from event e left join venue v on e.venueid = v.venueid where v.venueid is null),
        (select count(*) from event e left join date d on e.dateid = d.dateid where d.dateid is null),
        (select count(*) from sales s join listing l on s.listid = l.listid where s.sellerid <> l.sellerid or s.eventid <> l.eventid)""").stdout.strip()
    assert orphans == "0|0|0|0|0|0"

    # 4. The guide's queries.
    assert "salesid" in psql(c, "SELECT * FROM pg_table_def WHERE tablename = 'sales';").stdout
    total = psql(c, "SELECT sum(qtysold) FROM sales, date WHERE sales.dateid = date.dateid AND caldate = '2008-01-05';").stdout.strip()
    assert int(total) > 0
    top = psql(c, """SELECT firstname, lastname, total_quantity
        FROM (SELECT buyerid, sum(qtysold) total_quantity FROM sales GROUP BY buyerid ORDER BY total_quantity desc limit 10) Q, users
        WHERE Q.buyerid = userid ORDER BY Q.total_quantity desc;""").stdout.strip().splitlines()
    assert len(top) == 10
    quantities = [int(r.split("|")[2]) for r in top]
    assert quantities == sorted(quantities, reverse=True)
    best = psql(c, """SELECT eventname, total_price
        FROM (SELECT eventid, total_price, ntile(1000) over(order by total_price desc) as percentile
              FROM (SELECT eventid, sum(pricepaid) total_price FROM sales GROUP BY eventid)) Q, event E
        WHERE Q.eventid = E.eventid AND percentile = 1 ORDER BY total_price desc;""").stdout.strip().splitlines()
    events_sold = int(psql(c, "select count(distinct eventid) from sales").stdout.strip())
    assert len(best) == -(-events_sold // 1000)

    # 5. Mary queries through the Data API with her own keys, and nothing else.
    psql(c, "create user mary password 'Mary12345'; grant select on all tables in schema public to mary;")
    policy = tmp_path / "ds-policy.json"
    policy.write_text(json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Resource": "*", "Action": [
                "redshift-data:ExecuteStatement", "redshift-data:DescribeStatement",
                "redshift-data:GetStatementResult", "redshift-data:ListStatements"]},
            {"Effect": "Allow", "Action": "redshift:GetClusterCredentials", "Resource": [
                "arn:aws:redshift:us-east-1:000000000000:dbuser:examplecluster/mary",
                "arn:aws:redshift:us-east-1:000000000000:dbname:examplecluster/dev"]},
        ],
    }))
    lab.cli("iam", "create-user", "--user-name", "Mary")
    lab.cli("iam", "create-policy", "--policy-name", "Policy-For-Data-Scientists", "--policy-document", f"file://{policy}")
    lab.cli("iam", "attach-user-policy", "--user-name", "Mary", "--policy-arn", "arn:aws:iam::000000000000:policy/Policy-For-Data-Scientists")
    key = json.loads(lab.cli("iam", "create-access-key", "--user-name", "Mary").stdout)["AccessKey"]
    as_mary = dict(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    out = json.loads(lab.cli("redshift-data", "execute-statement", "--cluster-identifier", "examplecluster", "--database", "dev",
                             "--db-user", "mary", "--sql", "select count(*) from sales", **as_mary).stdout)
    deadline = time.time() + 30
    while True:
        d = json.loads(lab.cli("redshift-data", "describe-statement", "--id", out["Id"], **as_mary).stdout)
        if d["Status"] in ("FINISHED", "FAILED", "ABORTED") or time.time() > deadline:
            break
        time.sleep(0.1)
    assert d["Status"] == "FINISHED", d
    r = json.loads(lab.cli("redshift-data", "get-statement-result", "--id", out["Id"], **as_mary).stdout)
    assert r["Records"] == [[{"longValue": ROWS["sales"]}]]
    p = lab.cli("redshift-data", "execute-statement", "--cluster-identifier", "examplecluster", "--database", "dev",
                "--db-user", "awsuser", "--sql", "select 1", check=False, **as_mary)
    assert p.returncode != 0 and "AccessDenied" in p.stderr and "redshift:GetClusterCredentials" in p.stderr
    p = lab.cli("redshift", "describe-clusters", check=False, **as_mary)
    assert p.returncode != 0 and "AccessDenied" in p.stderr
