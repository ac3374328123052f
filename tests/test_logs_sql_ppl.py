"""StartQuery's OpenSearch SQL and PPL languages over CloudWatch Logs, through boto3: every
answer is checked against what this test computes from the events it sent."""
import collections
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError


def code(e):
    return e.value.response["Error"]["Code"]


COUNTRIES = ["FR", "US", "DE", "JP"]
PAGES = ["/cafe/index.php", "/cafe/menu.php", "/cafe/buy.php"]


def access_events(t0, n=120):
    """A café's JSON access log: event i at t0 + i seconds."""
    events = []
    for i in range(n):
        events.append({
            "ip": f"10.0.0.{i % 17}",
            "path": PAGES[(i * 7) % 3],
            "status": [200, 200, 200, 404, 500][i % 5],
            "bytes": 100 + (i * 37) % 3000,
            "country": COUNTRIES[(i * 5) % 4],
            "latency": round(0.01 * ((i * 13) % 50), 2),
            "req": {"verb": "POST" if i % 4 == 0 else "GET"},
        })
    return [(t0 + i * 1000, e) for i, e in enumerate(events)]


@pytest.fixture
def cafe(server):
    logs = server.client("logs")
    t0 = (int(time.time()) - 3600) * 1000
    access = access_events(t0)
    logs.create_log_group(logGroupName="/web/access")
    logs.create_log_stream(logGroupName="/web/access", logStreamName="a")
    logs.create_log_stream(logGroupName="/web/access", logStreamName="b")
    # Two streams, split by parity, so that a table gathers several streams in time order.
    for stream, part in (("a", access[0::2]), ("b", access[1::2])):
        logs.put_log_events(logGroupName="/web/access", logStreamName=stream,
                            logEvents=[{"timestamp": t, "message": json.dumps(e)} for t, e in part])
    users = [{"ip": f"10.0.0.{i}", "name": f"user{i % 5}"} for i in range(17)]
    logs.create_log_group(logGroupName="/web/users")
    logs.create_log_stream(logGroupName="/web/users", logStreamName="u")
    logs.put_log_events(logGroupName="/web/users", logStreamName="u",
                        logEvents=[{"timestamp": t0 - 100 + i, "message": json.dumps(u)} for i, u in enumerate(users)])
    logs.create_log_group(logGroupName="/web/errors")
    logs.create_log_stream(logGroupName="/web/errors", logStreamName="e")
    lines = [f"[error] GET /cafe/item{i}.php failed for 10.0.0.{i}" for i in range(6)]
    lines += [f"[notice] POST /cafe/buy.php slow {i}" for i in range(4)]
    logs.put_log_events(logGroupName="/web/errors", logStreamName="e",
                        logEvents=[{"timestamp": t0 + i * 10, "message": m} for i, m in enumerate(lines)])
    return logs, t0, access, users, lines


def run(logs, t0, query, language, **kw):
    args = dict(startTime=t0 // 1000 - 10, endTime=t0 // 1000 + 600, queryString=query, queryLanguage=language)
    args.update(kw)
    qid = logs.start_query(**args)["queryId"]
    deadline = time.time() + 30
    while time.time() < deadline:
        out = logs.get_query_results(queryId=qid)
        if out["status"] not in ("Scheduled", "Running"):
            assert out["status"] == "Complete", out
            assert out["queryLanguage"] == language
            return [{f["field"]: f["value"] for f in row} for row in out["results"]], out["statistics"]
        time.sleep(0.1)
    raise AssertionError("query did not complete")


def test_sql_group_by_where_and_aggregates(cafe):
    logs, t0, access, _, _ = cafe
    by_status = collections.Counter(e["status"] for _, e in access)
    rows, stats = run(logs, t0, "SELECT status, COUNT(*) AS n FROM `/web/access` GROUP BY status ORDER BY status", "SQL")
    assert rows == [{"status": str(s), "n": str(n)} for s, n in sorted(by_status.items())]
    assert stats["recordsScanned"] == len(access)
    assert stats["bytesScanned"] == sum(len(json.dumps(e)) for _, e in access)

    # Numbers compare as numbers, nested keys are joined by dots, HAVING filters groups.
    big = [e for _, e in access if e["status"] >= 404 and e["bytes"] > 1000]
    rows, _ = run(logs, t0, "SELECT count(*) AS n, sum(bytes) AS total FROM `/web/access` WHERE status >= 404 AND bytes > 1000", "SQL")
    assert rows == [{"n": str(len(big)), "total": str(sum(e["bytes"] for e in big))}]
    posts = collections.Counter(e["country"] for _, e in access if e["req"]["verb"] == "POST")
    rows, _ = run(logs, t0, "SELECT country, count(*) AS n FROM `/web/access` WHERE `req.verb` = 'POST' "
                            "GROUP BY country HAVING count(*) > 1 ORDER BY n DESC, country", "SQL")
    assert rows == [{"country": c, "n": str(n)} for c, n in sorted(posts.items(), key=lambda x: (-x[1], x[0])) if n > 1]

    # Visitors who saw the menu without buying, with a subquery.
    menu = {e["ip"] for _, e in access if e["path"] == "/cafe/menu.php"}
    bought = {e["ip"] for _, e in access if e["path"] == "/cafe/buy.php"}
    rows, _ = run(logs, t0, "SELECT count(DISTINCT ip) AS n FROM `/web/access` WHERE path = '/cafe/menu.php' AND ip NOT IN "
                            "(SELECT ip FROM `/web/access` WHERE path = '/cafe/buy.php')", "SQL")
    assert rows == [{"n": str(len(menu - bought))}]


def test_sql_system_fields_time_range_and_join(cafe):
    logs, t0, access, users, lines = cafe
    rows, _ = run(logs, t0, "SELECT `@timestamp`, `@message`, `@logStream`, `@log` FROM `/web/access` ORDER BY `@timestamp` DESC LIMIT 2", "SQL")
    last_t, last = access[-1]
    shown = datetime.datetime.fromtimestamp(last_t / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.000")
    assert rows[0] == {"@timestamp": shown, "@message": json.dumps(last), "@logStream": "b" if len(access) % 2 == 0 else "a",
                       "@log": "000000000000:/web/access"}
    assert len(rows) == 2

    # Only events in StartQuery's time range are read.
    rows, stats = run(logs, t0, "SELECT count(*) AS n FROM `/web/access`", "SQL", startTime=t0 // 1000 + 10, endTime=t0 // 1000 + 19)
    assert rows == [{"n": "10"}]
    assert stats["recordsScanned"] == 10

    # A JOIN across two log groups.
    name_of = {u["ip"]: u["name"] for u in users}
    per_name = collections.Counter(name_of[e["ip"]] for _, e in access if e["status"] == 500)
    rows, _ = run(logs, t0, "SELECT u.name, count(*) AS n FROM `/web/access` AS a INNER JOIN `/web/users` AS u "
                            "ON a.ip = u.ip WHERE a.status = 500 GROUP BY u.name ORDER BY u.name", "SQL")
    assert rows == [{"name": k, "n": str(v)} for k, v in sorted(per_name.items())]

    # Several log groups as one table, named by logGroupIdentifier (names or ARNs).
    arn = "arn:aws:logs:us-east-1:000000000000:log-group:/web/errors"
    rows, _ = run(logs, t0, f"SELECT `@log`, count(*) AS n FROM logGroups(logGroupIdentifier: ['/web/users', '{arn}']) "
                            "GROUP BY `@log` ORDER BY `@log`", "SQL")
    assert rows == [{"@log": "000000000000:/web/errors", "n": str(len(lines))}, {"@log": "000000000000:/web/users", "n": str(len(users))}]

    # A column that is null in a row is left out of that row, as GetQueryResults does.
    rows, _ = run(logs, t0, "SELECT name, status FROM logGroups(logGroupIdentifier: ['/web/users', '/web/access']) "
                            "ORDER BY `@timestamp` LIMIT 1", "SQL")
    assert rows == [{"name": "user0"}]


def test_sql_refusals(cafe, server):
    logs, t0, _, _, _ = cafe
    cases = [
        (dict(queryString="SELECT * FROM `/web/access`", logGroupName="/web/access"), "InvalidParameterException"),
        (dict(queryString="SELEC * FROM `/web/access`"), "MalformedQueryException"),
        (dict(queryString="DELETE FROM `/web/access`"), "MalformedQueryException"),
        (dict(queryString="SELECT 1"), "MalformedQueryException"),
        (dict(queryString="SELECT * FROM `/no/such/group`"), "ResourceNotFoundException"),
        (dict(queryString="SELECT * FROM `/web/access`", queryLanguage="KQL"), "InvalidParameterException"),
    ]
    for args, expected in cases:
        full = dict(startTime=0, endTime=1, queryLanguage="SQL")
        full.update(args)
        with pytest.raises(ClientError) as e:
            logs.start_query(**full)
        assert code(e) == expected, args
    logs.create_log_group(logGroupName="/web/cold", logGroupClass="INFREQUENT_ACCESS")
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=0, endTime=1, queryLanguage="SQL", queryString="SELECT * FROM `/web/cold`")
    assert code(e) == "InvalidParameterException"

    # A query naming an unknown column fails (the reason is in the server's log).
    qid = logs.start_query(startTime=0, endTime=t0 // 1000 + 600, queryLanguage="SQL",
                           queryString="SELECT no_such_column FROM `/web/access`")["queryId"]
    while (out := logs.get_query_results(queryId=qid))["status"] in ("Scheduled", "Running"):
        time.sleep(0.05)
    assert out["status"] == "Failed"

    # The log groups of the FROM clause are authorised like named ones.
    iam = server.client("iam")
    iam.create_user(UserName="analyst")
    key = iam.create_access_key(UserName="analyst")["AccessKey"]
    iam.put_user_policy(UserName="analyst", PolicyName="q", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "logs:StartQuery", "Resource": "arn:aws:logs:*:*:log-group:/web/access*"},
        {"Effect": "Allow", "Action": "logs:GetQueryResults", "Resource": "*"}]}))
    analyst = server.client("logs", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    rows, _ = run(analyst, t0, "SELECT count(*) AS n FROM `/web/access`", "SQL")
    assert rows == [{"n": "120"}]
    with pytest.raises(ClientError) as e:
        analyst.start_query(startTime=0, endTime=1, queryLanguage="SQL",
                            queryString="SELECT a.ip FROM `/web/access` a JOIN `/web/users` u ON a.ip = u.ip")
    assert code(e) == "AccessDeniedException"


def test_ppl_commands(cafe):
    logs, t0, access, _, lines = cafe
    ppl = lambda q, **kw: run(logs, t0, q, "PPL", **({"logGroupName": "/web/access"} | kw))[0]

    errors = collections.Counter(e["country"] for _, e in access if e["status"] >= 400)
    assert ppl("where status >= 400 | stats count() as errors by country | sort - errors, country") == [
        {"errors": str(n), "country": c} for c, n in sorted(errors.items(), key=lambda x: (-x[1], x[0]))]

    # How many visitors saw the menu: one row per visitor, then a count.
    menu = {e["ip"] for _, e in access if e["path"] == "/cafe/menu.php"}
    assert ppl('where path = "/cafe/menu.php" | dedup ip | stats count() as visitors') == [{"visitors": str(len(menu))}]

    # eval, fields, sort, head with an offset.
    kb = sorted(((e["bytes"] / 1024, e["ip"]) for _, e in access if e["bytes"] > 2048), key=lambda x: -x[0])
    out = ppl("eval kb = bytes / 1024.0 | where kb > 2 | fields ip, kb | sort - kb | head 3 from 1")
    assert [r["ip"] for r in out] == [ip for _, ip in kb[1:4]]
    assert abs(float(out[0]["kb"]) - kb[1][0]) < 1e-9

    # stats over time bins: span(@timestamp, 1m), and the default names of aggregations.
    per_minute = collections.Counter((t // 60000) * 60000 for t, _ in access)
    out = ppl("stats count(), avg(bytes) by span(@timestamp, 1m)")
    assert [int(r["count()"]) for r in out] == [per_minute[k] for k in sorted(per_minute)]
    assert len(out) == len(per_minute) and all("avg(bytes)" in r and "span(@timestamp, 1m)" in r for r in out)

    # top and rare.
    countries = collections.Counter(e["country"] for _, e in access)
    top = sorted(countries.items(), key=lambda x: (-x[1], x[0]))[:2]
    assert ppl("top 2 country") == [{"country": c, "count": str(n)} for c, n in top]
    rare = sorted(countries.items(), key=lambda x: (x[1], x[0]))[:1]
    assert ppl("rare 1 country") == [{"country": c, "count": str(n)} for c, n in rare]

    # rename, and the distinct count.
    assert ppl("stats dc(ip) as visitors | rename visitors as unique_visitors") == [
        {"unique_visitors": str(len({e["ip"] for _, e in access}))}]

    # parse a text log with a regular expression; fillnull on a field some events lack.
    verbs = collections.Counter(m.split()[1] for m in lines)
    out = ppl(r"parse @message '\[(?<level>\w+)\] (?<verb>[A-Z]+) (?<path>\S+)' | stats count() as n by verb",
              logGroupName="/web/errors")
    assert out == [{"n": str(n), "verb": v} for v, n in sorted(verbs.items())]
    out = run(logs, t0, "source = `/web/errors`, `/web/users` | fillnull with 'none' in name | stats count() as n by name", "PPL")[0]
    assert {r["name"]: int(r["n"]) for r in out}["none"] == len(lines)


def test_ppl_refusals_and_query_bookkeeping(cafe):
    logs, t0, _, _, _ = cafe
    for query, args, expected in [
        ("lookup other ip", {"logGroupName": "/web/access"}, "MalformedQueryException"),
        ("where status = 'unclosed", {"logGroupName": "/web/access"}, "MalformedQueryException"),
        ("stats count() by span(@timestamp, 5y)", {"logGroupName": "/web/access"}, "MalformedQueryException"),
        ("source = /web/access | head", {"logGroupName": "/web/access"}, "InvalidParameterException"),
        ("head 5", {}, "InvalidParameterException"),
    ]:
        with pytest.raises(ClientError) as e:
            logs.start_query(startTime=0, endTime=1, queryLanguage="PPL", queryString=query, **args)
        assert code(e) == expected, query

    run(logs, t0, "head 1", "PPL", logGroupName="/web/access")
    run(logs, t0, "SELECT 1 AS one FROM `/web/users` LIMIT 1", "SQL")
    languages = {q["queryLanguage"] for q in logs.describe_queries()["queries"]}
    assert {"PPL", "SQL"} <= languages
    assert {q["queryLanguage"] for q in logs.describe_queries(queryLanguage="SQL")["queries"]} == {"SQL"}

    # Saved queries keep their language; the listing filters by it.
    logs.put_query_definition(name="errors-sql", queryString="SELECT count(*) FROM `/web/access` WHERE status >= 500",
                              queryLanguage="SQL")
    logs.put_query_definition(name="errors-ppl", queryString="where status >= 500 | stats count()", queryLanguage="PPL",
                              logGroupNames=["/web/access"])
    sql_defs = logs.describe_query_definitions(queryLanguage="SQL")["queryDefinitions"]
    assert [(d["name"], d["queryLanguage"]) for d in sql_defs] == [("errors-sql", "SQL")]
    with pytest.raises(ClientError) as e:
        logs.put_query_definition(name="x", queryString="x", queryLanguage="KQL")
    assert code(e) == "InvalidParameterException"
