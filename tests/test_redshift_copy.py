"""COPY from S3 into a cluster's tables: through an IAM role the cluster is associated with
(assumed by redshift.amazonaws.com, its S3 reads judged by the same evaluator as any request),
or with access keys; delimited text, CSV, fixed width, JSON, Parquet, compressed files; bad
rows in STL_LOAD_ERRORS; Redshift's errors for the usual mistakes."""
import bz2
import gzip
import json
import os

import pytest

from test_redshift import create_cluster, psql, psql_missing

pytestmark = pytest.mark.skipif(psql_missing, reason="psql is not installed")

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def s3_read_policy(bucket):
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}
        ],
    })


def role(iam, name, trust=TRUST, policy=None):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=policy)
    return arn


def fails(c, sql):
    p = psql(c, sql, check=False)
    assert p.returncode != 0, p.stdout
    return p.stderr


def test_copy_from_s3_through_a_role(server):
    s3 = server.client("s3")
    iam = server.client("iam")
    s3.create_bucket(Bucket="loads")
    good = role(iam, "LoadRole", policy=s3_read_policy("loads"))
    no_s3 = role(iam, "NoS3Role")
    untrusted = role(iam, "UntrustedRole", trust={
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }, policy=s3_read_policy("loads"))
    stray = role(iam, "StrayRole", policy=s3_read_policy("loads"))
    c = create_cluster(server, "loader", IamRoles=[good, no_s3, untrusted], DefaultIamRoleArn=good)

    def one(sql):
        return psql(c, sql).stdout.strip()

    # Pipe-delimited text in two files under one prefix, one gzipped, with a header line each.
    s3.put_object(Bucket="loads", Key="users/part1.txt", Body=b"id|name|joined|score\n1|ann|2008-01-05|1.5\n2|bob|2008-02-06|\\N\n")
    s3.put_object(Bucket="loads", Key="users/part2.txt.gz", Body=gzip.compress(b"id|name|joined|score\n3|cy||2.25\n"))
    psql(c, "create table users(id int not null, name varchar(8), joined date, score decimal(6,2)) sortkey(id)")
    # GZIP applies to every file of a COPY: the plain one is loaded by its own COPY.
    out = one(f"copy users from 's3://loads/users/part1' iam_role '{good}' ignoreheader 1; select pg_last_copy_count()")
    assert out.splitlines() == ["COPY 2", "2"]
    assert one("copy users from 's3://loads/users/part2' iam_role default ignoreheader 1 gzip") == "COPY 1"
    assert psql(c, "select id, name, coalesce(joined::varchar, '-'), coalesce(score::varchar, '-') from users order by id").stdout.split() == [
        "1|ann|2008-01-05|1.50", "2|bob|2008-02-06|-", "3|cy|-|2.25",
    ]
    files = psql(c, "select filename, lines_scanned, status from stl_load_commits order by query, filename").stdout.split()
    assert files == ["s3://loads/users/part1.txt|3|1", "s3://loads/users/part2.txt.gz|2|1"]

    # CSV with quotes, a tab-delimited file with a time format, bzip2, fixed width.
    s3.put_object(Bucket="loads", Key="csv/events.csv", Body=b'1,"Concert, live","2008-06-01 20:00:00"\n2,"Say ""hi""",2008-06-02 19:30:00\n')
    psql(c, "create table events(id int, title varchar(20), starts timestamp)")
    assert one(f"copy events from 's3://loads/csv/' credentials 'aws_iam_role={good}' csv") == "COPY 2"
    assert psql(c, "select title from events order by id").stdout.splitlines() == ["Concert, live", 'Say "hi"']
    assert one("select lines_scanned from stl_load_commits where filename = 's3://loads/csv/events.csv'") == "2"
    s3.put_object(Bucket="loads", Key="tab/sales.txt.bz2", Body=bz2.compress(b"10\t2/18/2008 02:36:48\n11\t12/31/2008 23:59:59\n"))
    psql(c, "create table sales(id int, sold timestamp)")
    assert one(f"copy sales from 's3://loads/tab/sales' iam_role '{good}' delimiter '\\t' timeformat 'MM/DD/YYYY HH:MI:SS' bzip2") == "COPY 2"
    assert one("select to_char(max(sold), 'YYYY-MM-DD HH24:MI:SS') from sales") == "2008-12-31 23:59:59"
    s3.put_object(Bucket="loads", Key="fixed/venues.txt", Body=b"  7Lincoln HallNY  \n 12Fenway      MA  \n")
    psql(c, "create table venues(id int, name varchar(12), state char(2))")
    assert one(f"copy venues from 's3://loads/fixed/venues.txt' iam_role '{good}' fixedwidth 'id:3,name:12,state:4'") == "COPY 2"
    assert psql(c, "select id, name, state from venues order by id").stdout.split("\n")[0] == "7|Lincoln Hall|NY"

    # JSON: by column name, and through a JSONPaths file.
    s3.put_object(Bucket="loads", Key="json/a.json", Body=b'{"id": 20, "title": "Opera", "extra": 1}\n{"id": 21, "title": null}\n')
    assert one(f"copy events(id, title) from 's3://loads/json/a.json' iam_role '{good}' json 'auto'") == "COPY 2"
    s3.put_object(Bucket="loads", Key="json/paths.json", Body=b'{"jsonpaths": ["$.event.id", "$[\'name\']"]}')
    s3.put_object(Bucket="loads", Key="json/b.json", Body=b'{"event": {"id": 30}, "name": "Ballet"}')
    assert one(f"copy events(id, title) from 's3://loads/json/b.json' iam_role '{good}' json 's3://loads/json/paths.json'") == "COPY 1"
    assert one("select title from events where id = 30") == "Ballet"

    # A manifest names the files; a missing mandatory one fails the COPY.
    s3.put_object(Bucket="loads", Key="manifests/m.json", Body=json.dumps({"entries": [
        {"url": "s3://loads/users/part1.txt", "mandatory": True},
        {"url": "s3://loads/users/nothere.txt", "mandatory": False},
    ]}).encode())
    psql(c, "create table users2 (like users)")
    assert one(f"copy users2 from 's3://loads/manifests/m.json' iam_role '{good}' manifest ignoreheader 1") == "COPY 2"
    s3.put_object(Bucket="loads", Key="manifests/bad.json", Body=json.dumps({"entries": [{"url": "s3://loads/users/nothere.txt", "mandatory": True}]}).encode())
    assert "is mandatory but was not found" in fails(c, f"copy users2 from 's3://loads/manifests/bad.json' iam_role '{good}' manifest")

    # Bad rows: the COPY fails, loads nothing, and STL_LOAD_ERRORS says where and why.
    s3.put_object(Bucket="loads", Key="bad/rows.txt", Body=b"4|dee|2008-03-01|1\nfive|eve|2008-03-02|2\n6|a-very-long-name|2008-03-03|3\n7|gil\n")
    err = fails(c, f"copy users from 's3://loads/bad/rows.txt' iam_role '{good}'")
    assert "Load into table 'users' failed.  Check 'stl_load_errors' system table for details." in err
    assert one("select count(*) from users") == "3"
    # Like Redshift, the load stops at the first error past MAXERROR (0): one row is reported.
    columns = "line_number, trim(colname), err_code, trim(err_reason), trim(raw_field_value)"
    errors = psql(c, f"select {columns} from stl_load_errors order by line_number").stdout.splitlines()
    assert errors == ["2|id|1207|Invalid digit, Value 'f', Pos 0, Type: Integer|five"]
    # MAXERROR lets the good rows in, and every bad one is reported.
    out = one(f"copy users from 's3://loads/bad/rows.txt' iam_role '{good}' maxerror 3; select {columns} from stl_load_errors where query = pg_last_copy_id() order by line_number")
    assert out.splitlines() == [
        "COPY 1",
        "2|id|1207|Invalid digit, Value 'f', Pos 0, Type: Integer|five",
        "3|name|1204|String length exceeds DDL length|a-very-long-name",
        "4||1214|Delimiter not found|",
    ]
    # A number too wide for its DECIMAL is refused, not loaded as NULL.
    s3.put_object(Bucket="loads", Key="bad/wide.txt", Body=b"8|hal|2008-03-04|12345.6\n")
    out = one(f"copy users from 's3://loads/bad/wide.txt' iam_role '{good}' maxerror 1; select err_code from stl_load_errors where query = pg_last_copy_id()")
    assert out.splitlines() == ["COPY 0", "1216"]
    # TRUNCATECOLUMNS and FILLRECORD mend two of the bad rows.
    assert one(f"copy users2 from 's3://loads/bad/rows.txt' iam_role '{good}' truncatecolumns fillrecord maxerror 1") == "COPY 3"
    assert one("select name from users2 where id = 6") == "a-very-l"

    # Credentials and places that do not work, in Redshift's words; nothing is loaded.
    err = fails(c, f"copy users from 's3://loads/users/' iam_role '{stray}'")
    assert f"dbuser:loader/awsuser is not authorized to assume IAM Role {stray}" in err
    err = fails(c, f"copy users from 's3://loads/users/' iam_role '{untrusted}'")
    assert f"is not authorized to assume IAM Role {untrusted}" in err
    err = fails(c, f"copy users from 's3://loads/users/' iam_role '{no_s3}'")
    assert "S3ServiceException:" in err and "Status 403,Error AccessDenied" in err
    err = fails(c, f"copy users from 's3://loads/nothing/here' iam_role '{good}'")
    assert "The specified S3 prefix 'nothing/here' does not exist" in err
    err = fails(c, f"copy users from 's3://loads/users/part1' iam_role '{good}' region 'us-west-2'")
    assert "Status 301,Error PermanentRedirect" in err
    err = fails(c, f"copy users from 's3://loads/users/part1' iam_role '{good}' delimiter ','")
    assert "Load into table 'users' failed" in err
    assert one("select count(*) from users") == "4"

    # Access keys instead of a role: the account's root here.
    psql(c, "truncate users2")
    assert one("copy users2 from 's3://loads/users/part1' access_key_id 'test' secret_access_key 'test' ignoreheader 1") == "COPY 2"
    err = fails(c, "copy users2 from 's3://loads/users/part1' credentials 'aws_access_key_id=test;aws_secret_access_key=wrong'")
    assert "SignatureDoesNotMatch" in err

    # Inside a transaction, COPY's rows go with the transaction.
    out = psql(c, f"begin; copy users2 from 's3://loads/users/part1' iam_role '{good}' ignoreheader 1; rollback; select count(*) from users2").stdout
    assert out.strip().splitlines()[-1] == "2"


def test_copy_parquet_and_csv_header(server, tmp_path):
    duckdb = pytest.importorskip("duckdb")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lake")
    path = tmp_path / "t.parquet"
    duckdb.sql(f"copy (select i::int as id, 'n' || i as name, (i * 1.5)::decimal(8,2) as amount from range(1000) t(i)) to '{path}' (format parquet)")
    s3.upload_file(str(path), "lake", "parquet/t.parquet")
    s3.put_object(Bucket="lake", Key="csv/h.csv", Body=b"id,name,amount\n5000,x,1.25\n")
    c = create_cluster(server, "lake")
    psql(c, "create table t(id int, name varchar(10), amount decimal(8,2))")
    assert psql(c, "copy t from 's3://lake/parquet/' access_key_id 'test' secret_access_key 'test' format as parquet").stdout.strip() == "COPY 1000"
    assert psql(c, "copy t from 's3://lake/csv/h.csv' access_key_id 'test' secret_access_key 'test' csv ignoreheader 1").stdout.strip() == "COPY 1"
    assert psql(c, "select count(*), sum(amount) from t").stdout.strip() == "1001|749251.25"


def test_unload_to_s3_and_back(server):
    s3 = server.client("s3")
    iam = server.client("iam")
    s3.create_bucket(Bucket="out")
    writer = role(iam, "UnloadRole", policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::out", "arn:aws:s3:::out/*"]}],
    }))
    reader = role(iam, "ReadRole", policy=s3_read_policy("out"))
    c = create_cluster(server, "unloader", IamRoles=[writer, reader])

    def one(sql):
        return psql(c, sql).stdout.strip()

    psql(c, "create table venue(id int, name varchar(30), state char(2), seats int, opened date, busy boolean)")
    psql(c, "insert into venue values (1, 'Hall, the', 'NV', 100, '2001-02-03', true), (2, 'Arena', 'NV', null, null, false), (3, 'Bowl \"x\"', 'CA', 300, '2003-04-05', null)")
    assert one(f"unload ('select * from venue order by id') to 's3://out/text/venue_' iam_role '{writer}'") == "UNLOAD 3"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="out", Prefix="text/")["Contents"])
    assert keys == ["text/venue_0000_part_00", "text/venue_0001_part_00"]
    first = s3.get_object(Bucket="out", Key="text/venue_0000_part_00")["Body"].read().decode()
    assert first.splitlines()[0] == "1|Hall, the|NV|100|2001-02-03|t"
    psql(c, "create table back (like venue)")
    assert one(f"copy back from 's3://out/text/venue_' iam_role '{reader}'") == "COPY 3"
    same = "select count(*) from (select * from venue except select * from back) d"
    # NULLs are written as empty fields, which COPY reads back as NULL for non-character
    # columns (the rows have no NULL in a character column).
    assert one(same) == "0"

    # An existing file is never replaced without ALLOWOVERWRITE.
    err = psql(c, f"unload ('select * from venue') to 's3://out/text/venue_' iam_role '{writer}'", check=False).stderr
    assert "Specified unload destination on S3 is not empty" in err
    assert one(f"unload ('select * from venue') to 's3://out/text/venue_' iam_role '{writer}' allowoverwrite") == "UNLOAD 3"

    # CSV with a header, serially, gzipped; a verbose manifest.
    assert one(f"unload ('select id, name from venue order by id') to 's3://out/csv/venue_' iam_role '{writer}' csv header parallel off gzip manifest verbose") == "UNLOAD 3"
    body = gzip.decompress(s3.get_object(Bucket="out", Key="csv/venue_000.gz")["Body"].read()).decode()
    assert body.splitlines() == ["id,name", '1,"Hall, the"', "2,Arena", '3,"Bowl ""x"""']
    manifest = json.loads(s3.get_object(Bucket="out", Key="csv/venue_manifest")["Body"].read())
    assert manifest["entries"] == [{"url": "s3://out/csv/venue_000.gz", "meta": {"content_length": manifest["entries"][0]["meta"]["content_length"], "record_count": 3}}]
    assert [e["name"] for e in manifest["schema"]["elements"]] == ["id", "name"]

    # Parquet and JSON come back through COPY as they were.
    assert one(f"unload ('select * from venue') to 's3://out/pq/' iam_role '{writer}' format parquet") == "UNLOAD 3"
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="out", Prefix="pq/")["Contents"]) == ["pq/0000_part_00.parquet", "pq/0001_part_00.parquet"]
    psql(c, "truncate back")
    assert one(f"copy back from 's3://out/pq/' iam_role '{reader}' format as parquet") == "COPY 3"
    assert one(same) == "0"
    assert one(f"unload ('select * from venue') to 's3://out/json/' iam_role '{writer}' format json") == "UNLOAD 3"
    psql(c, "truncate back")
    assert one(f"copy back from 's3://out/json/' iam_role '{reader}' json 'auto'") == "COPY 3"
    assert one(same) == "0"

    # PARTITION BY: a directory per value, the key left out of the files.
    assert one(f"unload ('select state, id from venue') to 's3://out/part/' iam_role '{writer}' partition by (state) parallel off") == "UNLOAD 3"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="out", Prefix="part/")["Contents"])
    assert keys == ["part/state=CA/000", "part/state=NV/000"]
    assert s3.get_object(Bucket="out", Key="part/state=CA/000")["Body"].read() == b"3\n"

    # Writing needs s3:PutObject: the read-only role is refused, and nothing is written.
    err = psql(c, f"unload ('select * from venue') to 's3://out/denied/' iam_role '{reader}'", check=False).stderr
    assert "S3ServiceException:" in err and "Status 403,Error AccessDenied" in err
    assert s3.list_objects_v2(Bucket="out", Prefix="denied/")["KeyCount"] == 0


def test_copy_avro(server):
    fastavro = pytest.importorskip("fastavro")
    import datetime
    import io

    s3 = server.client("s3")
    s3.create_bucket(Bucket="avro")
    schema = fastavro.parse_schema({
        "type": "record", "name": "Event", "fields": [
            {"name": "EventId", "type": "int"},
            {"name": "name", "type": ["null", "string"]},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "price", "type": "double"},
        ]})
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [
        {"EventId": 1, "name": "Opera", "day": datetime.date(2008, 1, 5), "at": datetime.datetime(2008, 1, 5, 19, 30, tzinfo=datetime.timezone.utc), "price": 12.5},
        {"EventId": 2, "name": None, "day": datetime.date(2008, 2, 6), "at": datetime.datetime(2008, 2, 6, 20, 0, tzinfo=datetime.timezone.utc), "price": 3.0},
    ], codec="deflate")
    s3.put_object(Bucket="avro", Key="events/part.avro", Body=buf.getvalue())
    c = create_cluster(server, "avro")
    psql(c, "create table events(eventid int, name varchar(10), day date, at timestamp, price double precision)")
    assert psql(c, "copy events from 's3://avro/events/' access_key_id 'test' secret_access_key 'test' format as avro 'auto ignorecase'").stdout.strip() == "COPY 2"
    rows = psql(c, "select eventid, coalesce(name, '-'), day, to_char(at, 'YYYY-MM-DD HH24:MI'), price::decimal(6,2) from events order by 1").stdout.split("\n")
    assert rows[:2] == ["1|Opera|2008-01-05|2008-01-05 19:30|12.50", "2|-|2008-02-06|2008-02-06 20:00|3.00"]
    # 'auto' matches names as they are: EventId is not eventid, and the column is NOT NULL.
    psql(c, "create table strict_events(eventid int not null, name varchar(10))")
    err = psql(c, "copy strict_events from 's3://avro/events/' access_key_id 'test' secret_access_key 'test' avro 'auto'", check=False).stderr
    assert "Load into table 'strict_events' failed" in err


def test_copy_options_take_effect(server):
    """NOLOAD checks without loading, ENCODING reads UTF-16, ACCEPTANYDATE loads NULL for a
    date it cannot read, ROUNDEC rounds where COPY otherwise truncates."""
    s3 = server.client("s3")
    iam = server.client("iam")
    s3.create_bucket(Bucket="opts")
    reader = role(iam, "OptsRole", policy=s3_read_policy("opts"))
    c = create_cluster(server, "options", IamRoles=[reader], DefaultIamRoleArn=reader)

    def one(sql):
        return psql(c, sql).stdout.strip()

    psql(c, "create table t(id int, name varchar(20), day date, amount decimal(6,2))")
    s3.put_object(Bucket="opts", Key="good.txt", Body=b"1|ann|2020-01-02|1.005\n2|bob|2020-03-04|2.994\n")
    assert one("copy t from 's3://opts/good.txt' iam_role default noload") == "COPY 0"
    assert one("select count(*) from t") == "0"
    s3.put_object(Bucket="opts", Key="bad.txt", Body=b"1|ann|2020-01-02|1.5\nx|bob|2020-03-04|2\n")
    err = fails(c, "copy t from 's3://opts/bad.txt' iam_role default noload")
    assert "Load into table 't' failed" in err
    assert one("select err_code from stl_load_errors where filename = 's3://opts/bad.txt'") == "1207"

    # Decimals: truncated by default, rounded half away from zero with ROUNDEC.
    assert one("copy t from 's3://opts/good.txt' iam_role default") == "COPY 2"
    assert psql(c, "select amount from t order by id").stdout.split() == ["1.00", "2.99"]
    psql(c, "truncate t")
    assert one("copy t from 's3://opts/good.txt' iam_role default roundec") == "COPY 2"
    assert psql(c, "select amount from t order by id").stdout.split() == ["1.01", "2.99"]

    # UTF-16 with a byte-order mark, little-endian.
    psql(c, "truncate t")
    text = "3|zoë|2021-05-06|3.25\n4|żółw|2021-05-07|4\n"
    s3.put_object(Bucket="opts", Key="utf16.txt", Body=text.encode("utf-16"))
    assert one("copy t from 's3://opts/utf16.txt' iam_role default encoding utf16") == "COPY 2"
    assert psql(c, "select name from t order by id").stdout.split() == ["zoë", "żółw"]
    s3.put_object(Bucket="opts", Key="utf16be.txt", Body=text.encode("utf-16-be"))
    assert one("copy t from 's3://opts/utf16be.txt' iam_role default encoding as utf16be") == "COPY 2"
    assert one("select count(*) from t where name = 'żółw'") == "2"
    assert "Invalid ENCODING" in fails(c, "copy t from 's3://opts/utf16.txt' iam_role default encoding latin9")

    # A date that does not parse: an error, or NULL with ACCEPTANYDATE.
    psql(c, "truncate t")
    s3.put_object(Bucket="opts", Key="dates.txt", Body=b"5|eve|00/00/00|1\n")
    assert "Load into table 't' failed" in fails(c, "copy t from 's3://opts/dates.txt' iam_role default")
    assert one("copy t from 's3://opts/dates.txt' iam_role default acceptanydate") == "COPY 1"
    assert one("select coalesce(day::varchar, 'null') from t") == "null"


def test_unload_cleanpath_removes_what_the_path_held(server):
    s3 = server.client("s3")
    iam = server.client("iam")
    s3.create_bucket(Bucket="clean")
    writer = role(iam, "CleanRole", policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::clean", "arn:aws:s3:::clean/*"]}],
    }))
    no_delete = role(iam, "NoDeleteRole", policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::clean", "arn:aws:s3:::clean/*"]}],
    }))
    c = create_cluster(server, "cleaner", IamRoles=[writer, no_delete])
    psql(c, "create table v(id int, state char(2))")
    psql(c, "insert into v values (1, 'NV'), (2, 'CA')")
    s3.put_object(Bucket="clean", Key="out/v_stale_file", Body=b"old")
    s3.put_object(Bucket="clean", Key="out/other/keep", Body=b"keep")
    s3.put_object(Bucket="clean", Key="keep/v_x", Body=b"keep")
    out = psql(c, f"unload ('select * from v') to 's3://clean/out/v_' iam_role '{writer}' parallel off cleanpath").stdout
    assert out.strip() == "UNLOAD 2"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="clean")["Contents"])
    assert keys == ["keep/v_x", "out/other/keep", "out/v_000"]
    # Partitions: only the folders that receive files are cleaned.
    s3.put_object(Bucket="clean", Key="part/state=NV/stale", Body=b"old")
    s3.put_object(Bucket="clean", Key="part/state=TX/stale", Body=b"old")
    psql(c, f"unload ('select * from v') to 's3://clean/part/' iam_role '{writer}' partition by (state) parallel off cleanpath")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="clean", Prefix="part/")["Contents"])
    assert keys == ["part/state=CA/000", "part/state=NV/000", "part/state=TX/stale"]
    # Cleaning needs s3:DeleteObject: refused, and nothing is removed or written.
    err = fails(c, f"unload ('select * from v') to 's3://clean/out/v_' iam_role '{no_delete}' parallel off cleanpath")
    assert "Status 403,Error AccessDenied" in err
    assert s3.get_object(Bucket="clean", Key="out/v_000")["Body"].read()


def test_copy_streams_files_larger_than_a_chunk(server):
    """Files past COPY's 8 MiB read chunk: CSV records with quoted newlines and escaped
    text lines cut nowhere but at record ends, line numbers of bad rows counted across
    chunks, and gzip decompressed as it streams."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket="big")
    rows = 180_000
    pad = "x" * 110
    csv = "id,note\n" + "".join(
        f'{i},"{pad}\nline two of {i}"\n' if i % 997 == 0 else f"{i},{pad}\n" for i in range(rows)
    )
    # One bad row near the end: its line number counts the embedded newlines before it.
    csv += "oops,bad\n"
    body = csv.encode()
    assert len(body) > 17 << 20
    s3.put_object(Bucket="big", Key="big.csv.gz", Body=gzip.compress(body, compresslevel=1))
    escaped = "".join(f"{i}|a\\\nb{i}\n" if i % 1001 == 0 else f"{i}|{pad}\n" for i in range(rows))
    s3.put_object(Bucket="big", Key="esc.txt", Body=escaped.encode())
    c = create_cluster(server, "big")
    psql(c, "create table big (id int, note varchar(200))")
    keys = "access_key_id 'test' secret_access_key 'test'"
    # While the COPY runs, STV_LOAD_STATE shows its progress; once done, nothing.
    import threading
    from test_redshift import connect
    watcher = connect(c)
    watcher.autocommit = True
    cur = watcher.cursor()
    seen = []
    copying = threading.Thread(target=lambda: seen.append(psql(c, f"copy big from 's3://big/big.csv.gz' {keys} csv gzip ignoreheader 1 maxerror 1").stdout.strip()))
    copying.start()
    progress = []
    while copying.is_alive():
        cur.execute("select num_files, num_files_complete, current_file, bytes_to_load_compressed, bytes_loaded_compressed, bytes_loaded, lines, pct_complete from stv_load_state")
        progress.extend(tuple(r) for r in cur.fetchall())
    copying.join()
    assert seen == [f"COPY {rows}"]
    compressed = len(gzip.compress(body, compresslevel=1))
    assert progress, "the COPY was never seen in STV_LOAD_STATE"
    assert all(p[0] == 1 and p[2] == "s3://big/big.csv.gz" and p[3] == compressed and 0 <= p[4] <= compressed and 0 <= p[7] <= 100 for p in progress)
    assert progress[-1][4] >= progress[0][4] and any(p[5] > 0 and p[6] > 0 for p in progress)
    cur.execute("select count(*) from stv_load_state")
    assert cur.fetchall()[0][0] == 0
    watcher.close()
    expected_line = 1 + rows + len(range(0, rows, 997)) + 1
    assert psql(c, "select line_number from stl_load_errors where filename = 's3://big/big.csv.gz'").stdout.strip() == str(expected_line)
    assert psql(c, "select count(*), count(distinct id), sum(case when note like '%line two of%' then 1 else 0 end) from big").stdout.strip() == f"{rows}|{rows}|{len(range(0, rows, 997))}"
    psql(c, "create table esc (id int, note varchar(200))")
    assert psql(c, f"copy esc from 's3://big/esc.txt' {keys} escape").stdout.strip() == f"COPY {rows}"
    assert psql(c, "select note from esc where id = 1001").stdout == "a\nb1001\n"


def test_confused_deputy_conditions_in_the_role_trust_policy(server):
    """Redshift assumes a role for one cluster: its request carries aws:SourceAccount and
    aws:SourceArn, so a trust policy can admit one cluster and refuse the others."""
    s3 = server.client("s3")
    iam = server.client("iam")
    s3.create_bucket(Bucket="deputy")
    s3.put_object(Bucket="deputy", Key="rows.txt", Body=b"1\n2\n")

    def trust(source_arn):
        return {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "redshift.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "000000000000"}, "ArnLike": {"aws:SourceArn": source_arn}},
        }]}

    mine = role(iam, "OnlyDeputyRole", trust=trust("arn:aws:redshift:*:000000000000:cluster:deputy"), policy=s3_read_policy("deputy"))
    others = role(iam, "OtherClusterRole", trust=trust("arn:aws:redshift:*:000000000000:cluster:elsewhere"), policy=s3_read_policy("deputy"))
    c = create_cluster(server, "deputy", IamRoles=[mine, others])
    psql(c, "create table t(x int)")
    assert psql(c, f"copy t from 's3://deputy/rows.txt' iam_role '{mine}'").stdout.strip() == "COPY 2"
    err = fails(c, f"copy t from 's3://deputy/rows.txt' iam_role '{others}'")
    assert f"is not authorized to assume IAM Role {others}" in err


def test_unload_parquet_sizes_and_refuses_encryption(server):
    duckdb = pytest.importorskip("duckdb")
    s3 = server.client("s3")
    s3.create_bucket(Bucket="sized")
    c = create_cluster(server, "sizes")

    def one(sql, **kw):
        return psql(c, sql, **kw).stdout.strip()

    keys = "access_key_id 'test' secret_access_key 'test'"
    one("create table big as select value as n, repeat('x', 60) as pad from generate_series(1, 200000)")
    # MAXFILESIZE cuts PARQUET output into several files; ROWGROUPSIZE bounds their row groups.
    out = one(f"unload ('select * from big') to 's3://sized/pq/' {keys} format parquet parallel off maxfilesize 5 mb rowgroupsize 32 mb")
    assert out == "UNLOAD 200000"
    files = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="sized", Prefix="pq/")["Contents"])
    assert len(files) >= 3, files
    total = 0
    for key in files:
        body = s3.get_object(Bucket="sized", Key=key)["Body"].read()
        con = duckdb.connect()
        path = f"/tmp/nuage-unload-{os.getpid()}.parquet"
        with open(path, "wb") as f:
            f.write(body)
        total += con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
        os.remove(path)
    assert total == 200000
    err = psql(c, f"unload ('select 1') to 's3://sized/enc/' {keys} encrypted", check=False).stderr
    assert "not supported" in err
    err = psql(c, f"unload ('select 1') to 's3://sized/rg/' {keys} format parquet rowgroupsize 8 mb", check=False).stderr
    assert "ROWGROUPSIZE must be between 32 MB and 128 MB" in err


def test_varbyte_copied_from_hex_and_unloaded_as_hex(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="bytes")
    s3.put_object(Bucket="bytes", Key="in/data.csv", Body=b"1,6162\n2,00ff10\n3,zz\n")
    c = create_cluster(server, "bytes")
    keys = "access_key_id 'test' secret_access_key 'test'"

    def one(sql, **kw):
        return psql(c, sql, **kw).stdout.strip()

    one("create table b (id int, v varbyte(3))")
    # A field that is not hexadecimal is a load error, as Redshift reports it.
    out = one(f"copy b from 's3://bytes/in/' {keys} csv maxerror 1")
    assert out == "COPY 2"
    assert one("select id || ':' || v from b order by id").split() == ["1:6162", "2:00ff10"]
    assert "Invalid hexadecimal value 'zz'" in one("select err_reason from stl_load_errors")
    assert one(f"unload ('select * from b order by id') to 's3://bytes/out/' {keys} parallel off") == "UNLOAD 2"
    body = s3.get_object(Bucket="bytes", Key="out/000")["Body"].read().decode()
    assert body.splitlines() == ["1|6162", "2|00ff10"]
    one("create table back (like b)")
    assert one(f"copy back from 's3://bytes/out/' {keys}") == "COPY 2"
    assert one("select count(*) from b join back using (id) where b.v = back.v") == "2"
