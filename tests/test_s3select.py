"""S3 Select (SelectObjectContent) with boto3 and the aws CLI: CSV, JSON and Parquet input,
GZIP and BZIP2, the SQL subset with its functions, CSV and JSON output, scan ranges, progress
and statistics events, S3 Select's errors, IAM. Expected answers are computed here from the
data each test writes."""
import bz2
import csv
import gzip
import io
import json
import random
import time

import duckdb
import pytest
from botocore.exceptions import ClientError, EventStreamError

CSV_IN = {"CSV": {"FileHeaderInfo": "USE"}}
CSV_OUT = {"CSV": {}}
JSON_OUT = {"JSON": {}}


def select(s3, bucket, key, sql, inp=CSV_IN, out=CSV_OUT, **kw):
    """The records' text, the list of event kinds, and the Stats details."""
    r = s3.select_object_content(
        Bucket=bucket, Key=key, Expression=sql, ExpressionType="SQL", InputSerialization=inp, OutputSerialization=out, **kw
    )
    records, kinds, stats = b"", [], None
    for event in r["Payload"]:
        kind = next(iter(event))
        kinds.append(kind)
        if kind == "Records":
            records += event["Records"]["Payload"]
        elif kind == "Stats":
            stats = event["Stats"]["Details"]
    return records.decode(), kinds, stats


def rows(text):
    return [r for r in csv.reader(io.StringIO(text))]


def code(e):
    return e.value.response["Error"]["Code"]


@pytest.fixture
def people(s3, bucket):
    rng = random.Random(7)
    cities = ["Paris", "Lyon", "Nantes", "Lille"]
    data = [(f"user{i}", rng.randint(18, 90), rng.choice(cities), round(rng.uniform(0, 1000), 2)) for i in range(500)]
    body = "name,age,city,spent\n" + "".join(f"{n},{a},{c},{s}\n" for n, a, c, s in data)
    s3.put_object(Bucket=bucket, Key="people.csv", Body=body.encode())
    return data


def test_csv_filter_projection_and_limit(s3, bucket, people):
    text, kinds, stats = select(s3, bucket, "people.csv", "SELECT s.name, s.age FROM S3Object s WHERE CAST(s.age AS INT) > 60 AND s.city = 'Paris'")
    want = [[n, str(a)] for n, a, c, _ in people if a > 60 and c == "Paris"]
    assert rows(text) == want
    assert kinds[-2:] == ["Stats", "End"]
    size = s3.head_object(Bucket=bucket, Key="people.csv")["ContentLength"]
    assert stats["BytesScanned"] == size and stats["BytesProcessed"] == size
    assert stats["BytesReturned"] == len(text.encode())
    text, _, _ = select(s3, bucket, "people.csv", "SELECT * FROM S3Object LIMIT 3")
    assert rows(text) == [[n, str(a), c, str(s)] for n, a, c, s in people[:3]]
    # Positional columns work whatever the header setting; IGNORE skips the header line.
    text, _, _ = select(s3, bucket, "people.csv", "SELECT _1, _3 FROM S3Object WHERE _2 = '33'", inp={"CSV": {"FileHeaderInfo": "IGNORE"}})
    assert rows(text) == [[n, c] for n, a, c, _ in people if a == 33]
    text, _, _ = select(s3, bucket, "people.csv", "SELECT _1 FROM S3Object LIMIT 1", inp={"CSV": {"FileHeaderInfo": "NONE"}})
    assert text == "name\n"


def test_aggregates_match_python(s3, bucket, people):
    text, _, _ = select(
        s3, bucket, "people.csv",
        "SELECT COUNT(*), SUM(CAST(age AS INT)), MIN(CAST(age AS INT)), MAX(CAST(age AS INT)), AVG(CAST(spent AS FLOAT)) "
        "FROM S3Object WHERE city = 'Lyon'",
    )
    lyon = [p for p in people if p[2] == "Lyon"]
    count, total, low, high, avg = rows(text)[0]
    assert int(count) == len(lyon)
    assert int(total) == sum(p[1] for p in lyon)
    assert (int(low), int(high)) == (min(p[1] for p in lyon), max(p[1] for p in lyon))
    assert abs(float(avg) - sum(p[3] for p in lyon) / len(lyon)) < 1e-6
    text, _, _ = select(s3, bucket, "people.csv", "SELECT COUNT(*) FROM S3Object WHERE city = 'Nowhere'")
    assert text == "0\n"
    with pytest.raises(ClientError) as e:
        select(s3, bucket, "people.csv", "SELECT name, COUNT(*) FROM S3Object")
    assert code(e) == "UnsupportedSqlStructure"


def test_json_output_and_names(s3, bucket, people):
    text, _, _ = select(s3, bucket, "people.csv", "SELECT name, UPPER(city) AS town, CAST(age AS INT) + 1 FROM S3Object LIMIT 2", out=JSON_OUT)
    got = [json.loads(line) for line in text.splitlines()]
    assert got == [{"name": n, "town": c.upper(), "_3": a + 1} for n, a, c, _ in people[:2]]
    text, _, _ = select(s3, bucket, "people.csv", "SELECT * FROM S3Object LIMIT 1", out={"JSON": {"RecordDelimiter": ";"}})
    n, a, c, s = people[0]
    assert text == json.dumps({"name": n, "age": str(a), "city": c, "spent": str(s)}, separators=(",", ":")) + ";"


def test_csv_dialects(s3, bucket):
    body = '# a comment line\n"Smith, Jo"|"said ""hi"""|3\tplain|x|4\t'
    s3.put_object(Bucket=bucket, Key="d.csv", Body=body.encode())
    inp = {"CSV": {"FieldDelimiter": "|", "RecordDelimiter": "\t", "Comments": "#", "FileHeaderInfo": "NONE"}}
    # The comment line holds no tab: with a tab record delimiter it and the first record are one
    # record, which starts with '#' and is skipped.
    text, _, _ = select(s3, bucket, "d.csv", "SELECT _1, _2, _3 FROM S3Object", inp=inp)
    assert text == "plain,x,4\n"
    body = 'name,quote\n"Smith, Jo","said ""hi"""\nplain,"x"\n'
    s3.put_object(Bucket=bucket, Key="q.csv", Body=body.encode())
    text, _, _ = select(s3, bucket, "q.csv", "SELECT * FROM S3Object")
    assert rows(text) == [["Smith, Jo", 'said "hi"'], ["plain", "x"]]
    out = {"CSV": {"QuoteFields": "ALWAYS", "FieldDelimiter": ";", "RecordDelimiter": "\r\n", "QuoteEscapeCharacter": "\\"}}
    text, _, _ = select(s3, bucket, "q.csv", "SELECT * FROM S3Object", out=out)
    assert text == '"Smith, Jo";"said \\"hi\\""\r\n"plain";"x"\r\n'
    # Escaped quotes with a backslash in the input.
    s3.put_object(Bucket=bucket, Key="e.csv", Body=b'"a \\"b\\" c",2\n')
    text, _, _ = select(s3, bucket, "e.csv", "SELECT _1 FROM S3Object", inp={"CSV": {"QuoteEscapeCharacter": "\\"}})
    assert rows(text) == [['a "b" c']]
    # A quoted record delimiter is refused unless allowed.
    s3.put_object(Bucket=bucket, Key="nl.csv", Body=b'"two\nlines",1\n')
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "nl.csv", "SELECT _2 FROM S3Object", inp={"CSV": {}})
    assert "CSVEscapingRecordDelimiter" in str(e.value)
    text, _, _ = select(s3, bucket, "nl.csv", "SELECT _2 FROM S3Object", inp={"CSV": {"AllowQuotedRecordDelimiter": True}})
    assert text == "1\n"


def test_json_documents_and_lines(s3, bucket):
    doc = {"Rules": [{"id": "1"}, {"expr": "y > x"}, {"id": "2", "expr": "z = DEBUG"}]}
    s3.put_object(Bucket=bucket, Key="rules.json", Body=json.dumps(doc).encode())
    inp = {"JSON": {"Type": "DOCUMENT"}}
    # The examples of the S3 Select documentation.
    text, _, _ = select(s3, bucket, "rules.json", "SELECT id FROM S3Object[*].Rules[*].id", inp=inp, out=JSON_OUT)
    assert text == '{"id":"1"}\n{}\n{"id":"2"}\n'
    text, _, _ = select(s3, bucket, "rules.json", "SELECT s.id FROM S3Object[*].Rules[*] s WHERE s.expr IS NOT MISSING", inp=inp, out=JSON_OUT)
    assert text == '{}\n{"id":"2"}\n'
    text, _, _ = select(s3, bucket, "rules.json", "SELECT d.Rules[1].expr FROM S3Object[*] d", inp=inp, out=JSON_OUT)
    assert text == '{"expr":"y > x"}\n'
    lines = [{"user": {"name": f"u{i}", "tags": ["a", "b"][: i % 3]}, "n": i, "score": None if i % 4 == 0 else i * 1.5} for i in range(40)]
    s3.put_object(Bucket=bucket, Key="l.json", Body="\n".join(json.dumps(x) for x in lines).encode())
    inp = {"JSON": {"Type": "LINES"}}
    text, _, _ = select(s3, bucket, "l.json", "SELECT s.user.name, s.score FROM S3Object s WHERE s.n BETWEEN 3 AND 6", inp=inp, out=JSON_OUT)
    want = [{"name": x["user"]["name"], "score": x["score"]} for x in lines if 3 <= x["n"] <= 6]
    assert [json.loads(t) for t in text.splitlines()] == want
    text, _, _ = select(s3, bucket, "l.json", "SELECT COUNT(*), COUNT(s.score), SUM(s.n) FROM S3Object s WHERE s.user.tags[1] = 'b'", inp=inp)
    has_b = [x for x in lines if len(x["user"]["tags"]) > 1]
    assert rows(text) == [[str(len(has_b)), str(sum(1 for x in has_b if x["score"] is not None)), str(sum(x["n"] for x in has_b))]]
    text, _, _ = select(s3, bucket, "l.json", "SELECT s.n, s.user FROM S3Object s LIMIT 1", inp=inp)
    assert rows(text) == [["0", '{"name":"u0","tags":[]}']]
    s3.put_object(Bucket=bucket, Key="bad.json", Body=b'{"a": 1}\n{"a": \n')
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "bad.json", "SELECT * FROM S3Object", inp=inp)
    assert "JSONParsingError" in str(e.value)


def test_compressed_objects(s3, bucket, people):
    body = s3.get_object(Bucket=bucket, Key="people.csv")["Body"].read()
    s3.put_object(Bucket=bucket, Key="p.csv.gz", Body=gzip.compress(body))
    s3.put_object(Bucket=bucket, Key="p.csv.bz2", Body=bz2.compress(body))
    want = str(sum(1 for p in people if p[2] == "Lille"))
    for key, comp in [("p.csv.gz", "GZIP"), ("p.csv.bz2", "BZIP2")]:
        inp = {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": comp}
        text, _, stats = select(s3, bucket, key, "SELECT COUNT(*) FROM S3Object WHERE city = 'Lille'", inp=inp)
        assert text == want + "\n"
        assert stats["BytesProcessed"] == len(body)
        assert stats["BytesScanned"] == s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "people.csv", "SELECT COUNT(*) FROM S3Object", inp={"CSV": {}, "CompressionType": "GZIP"})
    assert "TruncatedInput" in str(e.value)


def test_parquet(s3, bucket, tmp_path):
    path = tmp_path / "t.parquet"
    duckdb.sql(
        f"COPY (SELECT i AS id, 'item' || i AS label, i * 0.5 AS price, DATE '2024-01-01' + CAST(i AS INTEGER) AS day, i % 2 = 0 AS even "
        f"FROM range(1000) t(i)) TO '{path}' (FORMAT PARQUET, ROW_GROUP_SIZE 100)"
    )
    s3.put_object(Bucket=bucket, Key="t.parquet", Body=path.read_bytes())
    inp = {"Parquet": {}}
    text, _, _ = select(s3, bucket, "t.parquet", "SELECT id, label, price FROM S3Object WHERE id BETWEEN 10 AND 12", inp=inp, out=JSON_OUT)
    assert [json.loads(t) for t in text.splitlines()] == [{"id": i, "label": f"item{i}", "price": i * 0.5} for i in range(10, 13)]
    text, _, _ = select(s3, bucket, "t.parquet", "SELECT COUNT(*), SUM(id), MAX(price) FROM S3Object WHERE even", inp=inp)
    assert rows(text) == [["500", str(sum(range(0, 1000, 2))), "499.0"]]
    text, _, _ = select(s3, bucket, "t.parquet", "SELECT EXTRACT(MONTH FROM day) FROM S3Object WHERE id = 40", inp=inp)
    assert text == "2\n"
    with pytest.raises(ClientError) as e:
        select(s3, bucket, "t.parquet", "SELECT * FROM S3Object", inp={"Parquet": {}, "CompressionType": "GZIP"})
    assert code(e) == "InvalidRequestParameter"
    s3.put_object(Bucket=bucket, Key="not.parquet", Body=b"a,b\n1,2\n")
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "not.parquet", "SELECT * FROM S3Object", inp=inp)
    assert "ParquetParsingError" in str(e.value)


@pytest.mark.parametrize(
    "sql,want",
    [
        # Examples from the S3 Select SQL reference.
        ("SUBSTRING('123456789', 0)", "123456789"),
        ("SUBSTRING('123456789', 2)", "23456789"),
        ("SUBSTRING('123456789', -4)", "123456789"),
        ("SUBSTRING('123456789', 1, 5)", "12345"),
        ("SUBSTRING('123456789' FROM 3 FOR 2)", "34"),
        ("TRIM('       foobar         ')", "foobar"),
        ("TRIM(LEADING FROM '       foobar         ')", "foobar         "),
        ("TRIM(BOTH '12' FROM '1112211foobar22211122')", "foobar"),
        ("CHAR_LENGTH('example')", "7"),
        ("LOWER('AbCdEfG!@#$')", "abcdefg!@#$"),
        ("UPPER('AbCdEfG!@#$')", "ABCDEFG!@#$"),
        ("COALESCE(NULL, NULL, 'x')", "x"),
        ("NULLIF(1, 1)", ""),
        ("NULLIF(1, 2)", "1"),
        ("CASE WHEN 1 > 2 THEN 'a' WHEN 2 > 1 THEN 'b' ELSE 'c' END", "b"),
        ("CASE 3 WHEN 1 THEN 'one' WHEN 3 THEN 'three' END", "three"),
        ("CAST('2007-04-05T14:30Z' AS TIMESTAMP)", "2007-04-05T14:30Z"),
        ("CAST(0.456 AS FLOAT) * 2", "0.912"),
        ("CAST('12' AS INT) + 1", "13"),
        ("7 / 2", "3"),
        ("7 % 4", "3"),
        ("'abc' || 'def'", "abcdef"),
        ("EXTRACT(YEAR FROM `2010-01-01T`)", "2010"),
        ("EXTRACT(TIMEZONE_HOUR FROM `2017-01-02T03:04:05+07:08`)", "7"),
        ("EXTRACT(TIMEZONE_MINUTE FROM `2017-01-02T03:04:05+07:08`)", "8"),
        ("DATE_ADD(year, 5, `2010-01-01T`)", "2015-01-01T"),
        ("DATE_ADD(month, 1, `2010-01-31T`)", "2010-02-28T"),
        ("DATE_ADD(hour, 1, `2017-01-02T03:04Z`)", "2017-01-02T04:04Z"),
        ("DATE_ADD(second, 1, `2017-01-02T03:04:05.006Z`)", "2017-01-02T03:04:06.006Z"),
        ("DATE_DIFF(year, `2010-01-01T`, `2011-01-01T`)", "1"),
        ("DATE_DIFF(month, `2010T`, `2010-05T`)", "4"),
        ("DATE_DIFF(day, `2010-01-01T23:00Z`, `2010-01-02T01:00Z`)", "0"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'MMMM d, y')", "July 20, 1969"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'MMM d, yyyy')", "Jul 20, 1969"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'M-d-yy')", "7-20-69"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'MM-d-y')", "07-20-1969"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'MMMM d, y h:m a')", "July 20, 1969 8:18 PM"),
        ("TO_STRING(`1969-07-20T20:18Z`, 'y-MM-dd''T''H:m:ssX')", "1969-07-20T20:18:00Z"),
        ("TO_STRING(`1969-07-20T20:18+08:00`, 'y-MM-dd''T''H:m:ssXXXX')", "1969-07-20T20:18:00+0800"),
        ("TO_TIMESTAMP('2007T')", "2007T"),
        ("TO_TIMESTAMP('2007-02-23T12:14:33.079-08:00')", "2007-02-23T12:14:33.079-08:00"),
        ("'abc' LIKE 'a%' AND 'abc' NOT LIKE '_b' AND 'a_c' LIKE 'a!_c' ESCAPE '!'", "true"),
        ("3 IN (1, 2, 3) AND 4 NOT IN (1, 2)", "true"),
        ("2 BETWEEN 1 AND 3 AND 5 NOT BETWEEN 1 AND 3", "true"),
        ("NULL IS NULL AND MISSING IS MISSING AND NULL IS NOT MISSING", "true"),
    ],
)
def test_functions(s3, bucket, sql, want):
    s3.put_object(Bucket=bucket, Key="one.csv", Body=b"x\n")
    text, _, _ = select(s3, bucket, "one.csv", f"SELECT {sql} FROM S3Object", inp={"CSV": {}})
    # An empty line is an empty (NULL) field.
    assert rows(text) == ([[want]] if want else [[]])


def test_utcnow_and_date_arithmetic_agree(s3, bucket):
    s3.put_object(Bucket=bucket, Key="one.csv", Body=b"x\n")
    text, _, _ = select(s3, bucket, "one.csv", "SELECT DATE_DIFF(hour, UTCNOW(), DATE_ADD(day, 1, UTCNOW())) FROM S3Object", inp={"CSV": {}})
    assert text == "24\n"


def test_request_errors(s3, bucket, people):
    def refused(sql="SELECT * FROM S3Object", inp=CSV_IN, out=CSV_OUT, **kw):
        with pytest.raises(ClientError) as e:
            select(s3, bucket, "people.csv", sql, inp=inp, out=out, **kw)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        return code(e)

    assert refused("SELECT * FROM S3Object WHERE") == "ParseExpectedExpression"
    assert refused("SELECT FROM S3Object") == "ParseEmptySelect"
    assert refused("SELECT name") == "ParseSelectMissingFrom"
    assert refused("SELECT name FROM S3Object ORDER BY name") == "ParseUnsupportedSyntax"
    assert refused("SELECT SUM(*) FROM S3Object") == "ParseUnsupportedCallWithStar"
    assert refused("SELECT MAX(age, spent) FROM S3Object") == "ParseNonUnaryAgregateFunctionCall"
    assert refused("SELECT SOUNDEX(name) FROM S3Object") == "UnsupportedFunction"
    assert refused("SELECT * FROM S3Object LIMIT -1") == "EvaluatorNegativeLimit"
    assert refused("SELECT name FROM S3Object WHERE age ~ 1") == "LexerInvalidChar"
    assert refused(inp={"CSV": {"FileHeaderInfo": "MAYBE"}}) == "InvalidFileHeaderInfo"
    assert refused(inp={"JSON": {"Type": "TREE"}}) == "InvalidJsonType"
    assert refused(inp={"CSV": {}, "JSON": {"Type": "LINES"}}) == "ObjectSerializationConflict"
    assert refused(out={"CSV": {"QuoteFields": "SOMETIMES"}}) == "InvalidQuoteFields"
    assert refused(inp={"CSV": {}, "CompressionType": "ZIP"}) == "InvalidCompressionFormat"
    assert refused(inp={"CSV": {}, "CompressionType": "GZIP"}, ScanRange={"Start": 1}) == "UnsupportedScanRangeInput"
    assert refused(ScanRange={"Start": 10, "End": 5}) == "InvalidScanRange"
    with pytest.raises(ClientError) as e:
        s3.select_object_content(
            Bucket=bucket, Key="people.csv", Expression="SELECT * FROM S3Object", ExpressionType="XPATH",
            InputSerialization=CSV_IN, OutputSerialization=CSV_OUT,
        )
    assert code(e) == "InvalidExpressionType"
    with pytest.raises(ClientError) as e:
        select(s3, bucket, "absent.csv", "SELECT * FROM S3Object")
    assert code(e) == "NoSuchKey"
    # Errors found while reading the object end the event stream.
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "people.csv", "SELECT CAST(name AS INT) FROM S3Object")
    assert "CastFailed" in str(e.value)
    with pytest.raises(EventStreamError) as e:
        select(s3, bucket, "people.csv", "SELECT nobody FROM S3Object")
    assert "EvaluatorBindingDoesNotExist" in str(e.value)


def test_scan_ranges_split_records_exactly_once(s3, bucket, people):
    body = s3.get_object(Bucket=bucket, Key="people.csv")["Body"].read()
    size = len(body)
    inp = {"CSV": {"FileHeaderInfo": "NONE"}}
    whole, _, _ = select(s3, bucket, "people.csv", "SELECT _1 FROM S3Object", inp=inp)
    got = ""
    for start in range(0, size, 997):
        end = min(start + 996, size - 1)
        part, _, stats = select(s3, bucket, "people.csv", "SELECT _1 FROM S3Object", inp=inp, ScanRange={"Start": start, "End": end})
        got += part
    assert got == whole
    # Only End: the last End bytes.
    tail, _, _ = select(s3, bucket, "people.csv", "SELECT _1 FROM S3Object", inp=inp, ScanRange={"End": 40})
    last_lines = body[size - 40:].split(b"\n")
    assert tail.splitlines() == [line.split(b",")[0].decode() for line in last_lines[1:] if line]
    lines = [json.dumps({"i": i, "pad": "x" * (i % 17)}) for i in range(300)]
    s3.put_object(Bucket=bucket, Key="l.json", Body="\n".join(lines).encode())
    size = len("\n".join(lines))
    got = []
    for start in range(0, size, 501):
        part, _, _ = select(
            s3, bucket, "l.json", "SELECT s.i FROM S3Object s", inp={"JSON": {"Type": "LINES"}}, out=JSON_OUT,
            ScanRange={"Start": start, "End": min(start + 500, size - 1)},
        )
        got += [json.loads(t)["i"] for t in part.splitlines()]
    assert got == list(range(300))


def test_large_answer_is_streamed_with_progress(s3, bucket):
    # Several of the engine's 4 MiB chunks: parsed in parallel, answered in input order.
    n = 420_000
    body = "".join(f"{i},{i * 7 % 1000},row-{i}\n" for i in range(n)).encode()
    s3.put_object(Bucket=bucket, Key="big.csv", Body=body)
    r = s3.select_object_content(
        Bucket=bucket, Key="big.csv", Expression="SELECT * FROM S3Object", ExpressionType="SQL",
        InputSerialization={"CSV": {}}, OutputSerialization={"CSV": {}}, RequestProgress={"Enabled": True},
    )
    records, record_events, progress, stats, end = b"", 0, [], None, False
    for event in r["Payload"]:
        if "Records" in event:
            records += event["Records"]["Payload"]
            record_events += 1
        elif "Progress" in event:
            progress.append(event["Progress"]["Details"])
        elif "Stats" in event:
            stats = event["Stats"]["Details"]
        elif "End" in event:
            end = True
    assert records == body and record_events > 1 and end
    assert progress and progress[-1]["BytesScanned"] == len(body) and progress[-1]["BytesReturned"] == len(body)
    assert [p["BytesReturned"] for p in progress] == sorted(p["BytesReturned"] for p in progress)
    assert stats == {"BytesScanned": len(body), "BytesProcessed": len(body), "BytesReturned": len(body)}
    text, _, _ = select(s3, bucket, "big.csv", "SELECT COUNT(*), SUM(CAST(_2 AS INT)), MIN(_3), MAX(CAST(_1 AS INT)) FROM S3Object WHERE _2 > '500'", inp={"CSV": {}})
    kept = [i for i in range(n) if str(i * 7 % 1000) > "500"]
    assert rows(text) == [[str(len(kept)), str(sum(i * 7 % 1000 for i in kept)), min(f"row-{i}" for i in kept), str(max(kept))]]


def test_iam_and_the_cli(server, tmp_path):
    root = server.client()
    root.create_bucket(Bucket="logs")
    for key in ["public/a.csv", "private/a.csv"]:
        root.put_object(Bucket="logs", Key=key, Body=b"status,bytes\n200,10\n404,3\n200,7\n")
    iam = server.client("iam")
    iam.create_user(UserName="analyst")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/public/*"}]}
    iam.put_user_policy(UserName="analyst", PolicyName="read", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="analyst")["AccessKey"]
    analyst = server.client(access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    sql = "SELECT SUM(CAST(bytes AS INT)) FROM S3Object WHERE status = '200'"
    text, _, _ = select(analyst, "logs", "public/a.csv", sql)
    assert text == "17\n"
    with pytest.raises(ClientError) as e:
        select(analyst, "logs", "private/a.csv", sql)
    assert code(e) == "AccessDenied"
    out = tmp_path / "out.csv"
    r = server.cli(
        "s3api", "select-object-content", "--bucket", "logs", "--key", "public/a.csv", "--expression", sql,
        "--expression-type", "SQL", "--input-serialization", '{"CSV": {"FileHeaderInfo": "USE"}}',
        "--output-serialization", '{"CSV": {}}', str(out),
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "17\n"


def test_glacier_select_queries_an_archived_object(tmp_path):
    """RestoreObject of type SELECT: the query runs over the archived object after the tier's
    time (S3's hours as seconds here) and its answer lands in the output location."""
    import csv
    import io
    import json as jsonlib

    from conftest import Nuage
    n = Nuage(str(tmp_path), ["--restore-speedup", "14400"]).start()
    try:
        s3 = n.client("s3")
        s3.create_bucket(Bucket="archive")
        s3.create_bucket(Bucket="results")
        rows = [("id", "city", "amount")] + [(str(i), ["Paris", "Lyon", "Nice"][i % 3], str(i * 7 % 50)) for i in range(300)]
        body = "".join(",".join(r) + "\n" for r in rows).encode()
        s3.put_object(Bucket="archive", Key="sales.csv", Body=body, StorageClass="GLACIER")
        s3.put_object(Bucket="archive", Key="deep.csv", Body=body, StorageClass="DEEP_ARCHIVE")
        s3.put_object(Bucket="archive", Key="hot.csv", Body=body)
        params = {
            "InputSerialization": {"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "NONE"},
            "ExpressionType": "SQL",
            "Expression": "SELECT s.id, s.amount FROM S3Object s WHERE s.city = 'Lyon' AND CAST(s.amount AS INT) > 20",
            "OutputSerialization": {"CSV": {}},
        }
        request = {"Type": "SELECT", "Tier": "Expedited", "SelectParameters": params,
                   "OutputLocation": {"S3": {"BucketName": "results", "Prefix": "lyon", "UserMetadata": [{"Name": "team", "Value": "sales"}]}}}
        out = s3.restore_object(Bucket="archive", Key="sales.csv", RestoreRequest=request)
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 202
        path = out["RestoreOutputPath"]
        assert path.startswith("lyon/")
        job = jsonlib.loads(s3.get_object(Bucket="results", Key=f"{path}/job.txt")["Body"].read())
        assert job["Key"] == "sales.csv" and job["Expression"] == params["Expression"]
        # Expedited takes minutes on S3: under a second here.
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                manifest = s3.get_object(Bucket="results", Key=f"{path}/result_manifest.txt")["Body"].read().decode()
                break
            except ClientError:
                time.sleep(0.2)
        else:
            raise AssertionError("the Glacier Select job did not finish")
        files = manifest.split()
        assert files and all(f.startswith(f"results/{path}/results/") for f in files)
        got = []
        for f in files:
            obj = s3.get_object(Bucket="results", Key=f.split("/", 1)[1])
            assert obj["Metadata"] == {"team": "sales"}
            got += list(csv.reader(io.StringIO(obj["Body"].read().decode())))
        expected = [[r[0], r[2]] for r in rows[1:] if r[1] == "Lyon" and int(r[2]) > 20]
        assert got == expected and expected
        # The object itself stays archived: Glacier Select does not restore it.
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="archive", Key="sales.csv")
        assert e.value.response["Error"]["Code"] == "InvalidObjectState"

        def refused(key, req):
            with pytest.raises(ClientError) as e:
                s3.restore_object(Bucket="archive", Key=key, RestoreRequest=req)
            return e.value.response["Error"]["Code"]

        assert refused("deep.csv", request) == "InvalidObjectState"
        assert refused("hot.csv", request) == "InvalidObjectState"
        gz = dict(request, SelectParameters=dict(params, InputSerialization={"CSV": {}, "CompressionType": "GZIP"}))
        assert refused("sales.csv", gz) == "InvalidArgument"
        bad_sql = dict(request, SelectParameters=dict(params, Expression="SELECT FROM nowhere"))
        assert refused("sales.csv", bad_sql).startswith(("ParseUnexpected", "ParseSelect", "InvalidQuery", "Parse"))
        assert refused("sales.csv", dict(request, Days=1)) == "InvalidArgument"
        no_out = {k: v for k, v in request.items() if k != "OutputLocation"}
        assert refused("sales.csv", no_out) == "MalformedXML"
        missing = dict(request, OutputLocation={"S3": {"BucketName": "nope", "Prefix": "x"}})
        assert refused("sales.csv", missing) == "NoSuchBucket"
    finally:
        n.kill()
