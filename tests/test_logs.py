"""CloudWatch Logs with boto3 and the aws CLI: log groups and streams, PutLogEvents and its
rules, GetLogEvents tokens, FilterLogEvents with the filter-pattern language, retention, tags,
IAM."""
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from conftest import Nuage


def code(e):
    return e.value.response["Error"]["Code"]


def now_ms():
    return int(time.time() * 1000)


@pytest.fixture
def logs(server):
    return server.client("logs")


def test_groups_and_streams(logs):
    logs.create_log_group(logGroupName="/cafe/web", tags={"team": "cafe"}, logGroupClass="STANDARD")
    logs.create_log_group(logGroupName="/cafe/errors")
    logs.create_log_group(logGroupName="other")
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="/cafe/web")
    assert code(e) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName="bad name!")
    assert code(e) == "InvalidParameterException"
    groups = logs.describe_log_groups(logGroupNamePrefix="/cafe")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/cafe/errors", "/cafe/web"]
    web = groups[1]
    assert web["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/cafe/web:*"
    assert web["logGroupArn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/cafe/web"
    assert web["logGroupClass"] == "STANDARD" and "retentionInDays" not in web
    page = logs.describe_log_groups(limit=2)
    assert len(page["logGroups"]) == 2 and "nextToken" in page
    assert [g["logGroupName"] for g in logs.describe_log_groups(nextToken=page["nextToken"])["logGroups"]] == ["other"]
    assert logs.list_tags_for_resource(resourceArn=web["logGroupArn"])["tags"] == {"team": "cafe"}
    logs.tag_resource(resourceArn=web["logGroupArn"], tags={"env": "dev"})
    logs.untag_resource(resourceArn=web["logGroupArn"], tagKeys=["team"])
    assert logs.list_tags_log_group(logGroupName="/cafe/web")["tags"] == {"env": "dev"}

    logs.put_retention_policy(logGroupName="/cafe/web", retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix="/cafe/web")["logGroups"][0]["retentionInDays"] == 7
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName="/cafe/web", retentionInDays=8)
    assert code(e) == "InvalidParameterException"
    logs.delete_retention_policy(logGroupName="/cafe/web")

    for s in ("i-002", "i-001"):
        logs.create_log_stream(logGroupName="/cafe/web", logStreamName=s)
    with pytest.raises(ClientError) as e:
        logs.create_log_stream(logGroupName="/cafe/nope", logStreamName="x")
    assert code(e) == "ResourceNotFoundException"
    streams = logs.describe_log_streams(logGroupName="/cafe/web")["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["i-001", "i-002"]
    assert streams[0]["arn"] == "arn:aws:logs:us-east-1:000000000000:log-group:/cafe/web:log-stream:i-001"
    logs.delete_log_stream(logGroupName="/cafe/web", logStreamName="i-002")
    logs.delete_log_group(logGroupName="/cafe/errors")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/cafe/web", "other"]


def test_put_log_events_rules(logs):
    logs.create_log_group(logGroupName="app")
    logs.create_log_stream(logGroupName="app", logStreamName="s")
    t = now_ms()
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="app", logStreamName="s",
                            logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])
    assert code(e) == "InvalidParameterException" and "chronological" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="app", logStreamName="s",
                            logEvents=[{"timestamp": t - 25 * 3600_000, "message": "a"}, {"timestamp": t, "message": "b"}])
    assert "24 hours" in e.value.response["Error"]["Message"]
    # 1,048,576 bytes with 26 bytes per event: 40 events of 26188 bytes fit exactly, one more byte does not.
    big = "x" * (1_048_576 // 40 - 26)
    logs.put_log_events(logGroupName="app", logStreamName="s", logEvents=[{"timestamp": t, "message": big}] * 40)
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="app", logStreamName="s",
                            logEvents=[{"timestamp": t, "message": big}] * 39 + [{"timestamp": t, "message": big + "x" * 17}])
    assert code(e) == "InvalidParameterException"
    out = logs.put_log_events(logGroupName="app", logStreamName="s", logEvents=[
        {"timestamp": t - 14 * 86400_000 - 3600_000, "message": "ancient"},
        {"timestamp": t - 13 * 86400_000 - 23 * 3600_000, "message": "old but kept"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    out = logs.put_log_events(logGroupName="app", logStreamName="s", logEvents=[
        {"timestamp": t, "message": "now"},
        {"timestamp": t + 3 * 3600_000, "message": "future"},
    ])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    messages = [e["message"] for e in logs.get_log_events(logGroupName="app", logStreamName="s", startFromHead=True)["events"]]
    assert "now" in messages and "old but kept" in messages and "ancient" not in messages and "future" not in messages
    with pytest.raises(ClientError) as e:
        logs.put_log_events(logGroupName="app", logStreamName="nope", logEvents=[{"timestamp": t, "message": "x"}])
    assert code(e) == "ResourceNotFoundException"
    # Retention: events older than it are reported as expired.
    logs.put_retention_policy(logGroupName="app", retentionInDays=1)
    out = logs.put_log_events(logGroupName="app", logStreamName="s", logEvents=[
        {"timestamp": t - 86400_000 - 3600_000, "message": "old"}, {"timestamp": t - 86400_000 + 3600_000, "message": "fresh"}])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}


def test_get_log_events_tokens(logs):
    logs.create_log_group(logGroupName="g")
    logs.create_log_stream(logGroupName="g", logStreamName="s")
    t = now_ms() - 100_000
    logs.put_log_events(logGroupName="g", logStreamName="s",
                        logEvents=[{"timestamp": t + i, "message": f"m{i}"} for i in range(25)])
    first = logs.get_log_events(logGroupName="g", logStreamName="s", startFromHead=True, limit=10)
    assert [e["message"] for e in first["events"]] == [f"m{i}" for i in range(10)]
    second = logs.get_log_events(logGroupName="g", logStreamName="s", nextToken=first["nextForwardToken"], limit=10)
    assert [e["message"] for e in second["events"]] == [f"m{i}" for i in range(10, 20)]
    back = logs.get_log_events(logGroupName="g", logStreamName="s", nextToken=second["nextBackwardToken"], limit=5)
    assert [e["message"] for e in back["events"]] == [f"m{i}" for i in range(5, 10)]
    # Without a token and startFromHead, the newest events; at the end the token repeats.
    latest = logs.get_log_events(logGroupName="g", logStreamName="s", limit=3)
    assert [e["message"] for e in latest["events"]] == ["m22", "m23", "m24"]
    end = logs.get_log_events(logGroupName="g", logStreamName="s", nextToken=latest["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == latest["nextForwardToken"]
    window = logs.get_log_events(logGroupName="g", logStreamName="s", startTime=t + 5, endTime=t + 8, startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["m5", "m6", "m7"]
    # Reading forward page by page until the token repeats, as the CLI and SDK helpers do.
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName="g", logStreamName="s", limit=10, **kw)
        seen += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [f"m{i}" for i in range(25)]


def test_filter_log_events_patterns(logs):
    logs.create_log_group(logGroupName="cafe")
    for s in ("web-1", "web-2", "errors"):
        logs.create_log_stream(logGroupName="cafe", logStreamName=s)
    t = now_ms() - 60_000
    access = [
        {"ip": "10.0.0.1", "path": "/menu", "status": 200, "bytes": 512},
        {"ip": "10.0.0.2", "path": "/menu/coffee", "status": 200, "bytes": 2048},
        {"ip": "10.0.0.1", "path": "/buy", "status": 302, "bytes": 10},
        {"ip": "10.0.0.3", "path": "/missing", "status": 404, "bytes": 0},
    ]
    logs.put_log_events(logGroupName="cafe", logStreamName="web-1",
                        logEvents=[{"timestamp": t + i * 2, "message": json.dumps(a)} for i, a in enumerate(access[:2])])
    logs.put_log_events(logGroupName="cafe", logStreamName="web-2",
                        logEvents=[{"timestamp": t + i * 2 + 1, "message": json.dumps(a)} for i, a in enumerate(access[2:])])
    logs.put_log_events(logGroupName="cafe", logStreamName="errors", logEvents=[
        {"timestamp": t + 10, "message": "[error] AH00128: File does not exist: /var/www/missing"},
        {"timestamp": t + 11, "message": "[warn] slow request"},
        {"timestamp": t + 12, "message": '127.0.0.1 - frank [10/Oct/2026:13:55:36 +0000] "GET /menu HTTP/1.1" 500 2326'},
    ])

    def messages(pattern, **kw):
        return [e["message"] for e in logs.filter_log_events(logGroupName="cafe", filterPattern=pattern, **kw)["events"]]

    everything = logs.filter_log_events(logGroupName="cafe")["events"]
    assert len(everything) == 7 and [e["timestamp"] for e in everything] == sorted(e["timestamp"] for e in everything)
    assert {e["logStreamName"] for e in everything} == {"web-1", "web-2", "errors"}
    assert len(messages('{ $.path = "/menu*" }')) == 2
    assert len(messages("{ $.status >= 300 && $.bytes < 100 }")) == 2
    assert messages("{ $.status = 404 || $.ip = 10.0.0.2 }") == [json.dumps(access[1]), json.dumps(access[3])]
    assert messages("error") == ["[error] AH00128: File does not exist: /var/www/missing"]
    assert len(messages("?error ?warn")) == 2
    assert messages("\"File does not exist\" -warn") == ["[error] AH00128: File does not exist: /var/www/missing"]
    assert messages("[ip, id, user, timestamp, request, status = 5*, bytes > 1000]") == [
        '127.0.0.1 - frank [10/Oct/2026:13:55:36 +0000] "GET /menu HTTP/1.1" 500 2326']
    assert len(messages("", logStreamNamePrefix="web")) == 4
    assert len(messages("", logStreamNames=["web-2"], startTime=t + 2, endTime=t + 4)) == 1
    # Pages of `limit` events chain through nextToken.
    first = logs.filter_log_events(logGroupName="cafe", limit=4)
    rest = logs.filter_log_events(logGroupName="cafe", limit=4, nextToken=first["nextToken"])
    assert len(first["events"]) == 4 and len(rest["events"]) == 3 and "nextToken" not in rest
    with pytest.raises(ClientError) as e:
        logs.filter_log_events(logGroupName="cafe", filterPattern="{ $.status = }")
    assert code(e) == "InvalidParameterException"


def test_retention_pass_durability_cli_and_iam(tmp_path):
    n = Nuage(str(tmp_path), ["--ttl-interval", "1"]).start()
    try:
        logs = n.client("logs")
        logs.create_log_group(logGroupName="short")
        logs.create_log_stream(logGroupName="short", logStreamName="s")
        t = now_ms()
        logs.put_log_events(logGroupName="short", logStreamName="s", logEvents=[
            {"timestamp": t - 86400_000 - 3600_000, "message": "two days old"}, {"timestamp": t - 86400_000 + 3600_000, "message": "new"}])
        logs.put_retention_policy(logGroupName="short", retentionInDays=1)
        deadline = time.time() + 10
        while time.time() < deadline:
            msgs = [e["message"] for e in logs.get_log_events(logGroupName="short", logStreamName="s", startFromHead=True)["events"]]
            if msgs == ["new"]:
                break
            time.sleep(0.2)
        assert msgs == ["new"]
        n.kill()
        n.start()
        logs = n.client("logs")
        assert [e["message"] for e in logs.filter_log_events(logGroupName="short")["events"]] == ["new"]

        r = n.cli("logs", "create-log-group", "--log-group-name", "cli-group")
        assert r.returncode == 0, r.stderr
        r = n.cli("logs", "describe-log-groups", "--log-group-name-prefix", "cli", "--output", "json")
        assert json.loads(r.stdout)["logGroups"][0]["logGroupName"] == "cli-group"

        iam = n.client("iam")
        iam.create_user(UserName="shipper")
        key = iam.create_access_key(UserName="shipper")["AccessKey"]
        iam.put_user_policy(UserName="shipper", PolicyName="ship", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                           "Resource": "arn:aws:logs:*:*:log-group:short:*"}]}))
        shipper = n.client("logs", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        shipper.create_log_stream(logGroupName="short", logStreamName="agent")
        shipper.put_log_events(logGroupName="short", logStreamName="agent", logEvents=[{"timestamp": now_ms(), "message": "hi"}])
        with pytest.raises(ClientError) as e:
            shipper.get_log_events(logGroupName="short", logStreamName="agent")
        assert code(e) == "AccessDeniedException"
        with pytest.raises(ClientError) as e:
            shipper.create_log_group(logGroupName="mine")
        assert code(e) == "AccessDeniedException"
    finally:
        n.kill()


def run_query(logs, group, query, start, end):
    qid = logs.start_query(logGroupName=group, startTime=start // 1000 - 1, endTime=end // 1000 + 1, queryString=query)["queryId"]
    deadline = time.time() + 10
    while time.time() < deadline:
        out = logs.get_query_results(queryId=qid)
        if out["status"] in ("Complete", "Failed", "Cancelled"):
            return out
        time.sleep(0.1)
    raise AssertionError("query did not complete")


def rows(out, ptr=False):
    """Result rows as dicts; every row of a query without stats also carries @ptr, as on AWS."""
    return [{f["field"]: f["value"] for f in row if ptr or f["field"] != "@ptr"} for row in out["results"]]


def test_logs_insights_cafe_questions(logs):
    """The café project's questions, answered from its JSON access log."""
    logs.create_log_group(logGroupName="/cafe/access")
    logs.create_log_stream(logGroupName="/cafe/access", logStreamName="web")
    t = now_ms() - 600_000
    visits = [  # (visitor ip, page, country)
        ("1.1.1.1", "/cafe/menu.php", "FR"), ("1.1.1.1", "/cafe/buy.php", "FR"),
        ("2.2.2.2", "/cafe/menu.php", "US"), ("3.3.3.3", "/cafe/index.php", "US"),
        ("4.4.4.4", "/cafe/menu.php", "DE"), ("4.4.4.4", "/cafe/buy.php", "DE"), ("5.5.5.5", "/cafe/menu.php", "US"),
    ]
    events = [{"timestamp": t + i * 1000, "message": json.dumps({"ip": ip, "request": f"GET {page} HTTP/1.1", "country": c,
                                                                   "status": 200, "bytes": 100 * (i + 1)})}
              for i, (ip, page, c) in enumerate(visits)]
    logs.put_log_events(logGroupName="/cafe/access", logStreamName="web", logEvents=events)
    end = t + len(visits) * 1000

    menu = run_query(logs, "/cafe/access", 'filter request like "menu" | stats count_distinct(ip) as visitors', t, end)
    assert rows(menu) == [{"visitors": "4"}] and menu["statistics"]["recordsScanned"] == 7
    bought = run_query(logs, "/cafe/access", "filter request like /buy/ | stats count(*) as purchases", t, end)
    assert rows(bought) == [{"purchases": "2"}]
    by_country = run_query(logs, "/cafe/access",
                           "stats count_distinct(ip) as visitors by country | sort visitors desc, country asc", t, end)
    assert rows(by_country) == [{"country": "US", "visitors": "3"}, {"country": "DE", "visitors": "1"},
                                {"country": "FR", "visitors": "1"}]
    parsed = run_query(logs, "/cafe/access",
                       "parse request '* * HTTP/1.1' as verb, page | filter page = '/cafe/index.php' | display ip, page", t, end)
    assert rows(parsed) == [{"ip": "3.3.3.3", "page": "/cafe/index.php"}]
    latest = run_query(logs, "/cafe/access", "fields @timestamp, ip | sort @timestamp desc | limit 2", t, end)
    got = rows(latest, ptr=True)
    assert [r["ip"] for r in got] == ["5.5.5.5", "4.4.4.4"] and "@ptr" in got[0]
    record = logs.get_log_record(logRecordPointer=got[0]["@ptr"])["logRecord"]
    assert record["ip"] == "5.5.5.5" and record["@logStream"] == "web"
    agg = run_query(logs, "/cafe/access", "stats sum(bytes) as total, avg(bytes) as mean, max(bytes) as biggest, "
                                          "pct(bytes, 50) as median", t, end)
    assert rows(agg) == [{"total": "2800", "mean": "400", "biggest": "700", "median": "400"}]
    assert len(rows(run_query(logs, "/cafe/access", "stats count(*) by bin(1h)", t, end))) >= 1
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName="/cafe/access", startTime=0, endTime=1, queryString="stats nonsense(")
    assert code(e) == "MalformedQueryException"
    assert any(q["queryString"].startswith("filter request") for q in logs.describe_queries(logGroupName="/cafe/access")["queries"])


def test_query_definitions_and_test_metric_filter(logs):
    qid = logs.put_query_definition(name="cafe/visitors", queryString="stats count_distinct(ip)",
                                    logGroupNames=["/cafe/access"])["queryDefinitionId"]
    logs.put_query_definition(name="cafe/visitors", queryDefinitionId=qid, queryString="stats count_distinct(ip) as v")
    logs.put_query_definition(name="other", queryString="fields @message")
    defs = logs.describe_query_definitions(queryDefinitionNamePrefix="cafe/")["queryDefinitions"]
    assert [(d["name"], d["queryString"]) for d in defs] == [("cafe/visitors", "stats count_distinct(ip) as v")]
    assert logs.delete_query_definition(queryDefinitionId=qid)["success"] is True
    with pytest.raises(ClientError) as e:
        logs.delete_query_definition(queryDefinitionId=qid)
    assert code(e) == "ResourceNotFoundException"

    out = logs.test_metric_filter(filterPattern="[ip, id, user, ts, request, status = 404, bytes]", logEventMessages=[
        '1.1.1.1 - - [x] "GET /a HTTP/1.1" 200 10', '2.2.2.2 - - [x] "GET /b HTTP/1.1" 404 20'])
    assert [m["eventNumber"] for m in out["matches"]] == [2]
    assert out["matches"][0]["extractedValues"]["$ip"] == "2.2.2.2" and out["matches"][0]["extractedValues"]["$status"] == "404"


def test_insights_over_many_streams_matches_python(logs):
    """Enough events over several streams that the query is scanned in parallel time slices:
    grouped aggregates, percentiles and deviations, earliest/latest and the newest-first order
    of plain results agree with what Python computes from the same events."""
    import statistics

    logs.create_log_group(logGroupName="/cafe/many")
    base = now_ms() - 3_600_000
    sent = []
    for s in range(3):
        logs.create_log_stream(logGroupName="/cafe/many", logStreamName=f"web-{s}")
        batch = []
        for i in range(4000):
            ts = base + (i * 3 + s) * 250
            doc = {"ip": f"10.0.{i % 13}.{s}", "status": [200, 404, 500][i % 3], "bytes": (i * 37 + s) % 1000, "user": {"tier": "gold" if i % 5 == 0 else "std"}}
            batch.append({"timestamp": ts, "message": json.dumps(doc)})
            sent.append((ts, doc, f"web-{s}"))
        logs.put_log_events(logGroupName="/cafe/many", logStreamName=f"web-{s}", logEvents=batch)
    end = base + 4000 * 3 * 250
    out = run_query(logs, "/cafe/many", "filter user.tier = 'gold' | stats count(*) as n, count_distinct(ip) as ips, "
                    "sum(bytes) as total, stddev(bytes) as sd, earliest(ip) as first, latest(ip) as last by status", base, end)
    assert out["status"] == "Complete" and out["statistics"]["recordsScanned"] == len(sent)
    got = {r["status"]: r for r in rows(out)}
    for status in (200, 404, 500):
        docs = sorted([(ts, d) for ts, d, _ in sent if d["user"]["tier"] == "gold" and d["status"] == status], key=lambda x: x[0])
        r = got[str(status)]
        assert int(r["n"]) == len(docs)
        assert int(r["ips"]) == len({d["ip"] for _, d in docs})
        assert int(float(r["total"])) == sum(d["bytes"] for _, d in docs)
        assert abs(float(r["sd"]) - statistics.stdev([d["bytes"] for _, d in docs])) < 1e-6
        assert r["first"] == docs[0][1]["ip"] and r["last"] == docs[-1][1]["ip"]
    newest = run_query(logs, "/cafe/many", "fields ip, @logStream | filter bytes < 5 | limit 7", base, end)
    want = sorted([(ts, d["ip"], s) for ts, d, s in sent if d["bytes"] < 5], reverse=True)[:7]
    assert [(r["ip"], r["@logStream"]) for r in rows(newest)] == [(ip, s) for _, ip, s in want]


def test_insights_functions(logs):
    logs.create_log_group(logGroupName="/cafe/fn")
    logs.create_log_stream(logGroupName="/cafe/fn", logStreamName="s")
    t = (now_ms() - 600_000) // 60_000 * 60_000 + 12_345
    docs = [{"ip": "10.1.2.3", "name": "  latte..", "ms": t}, {"ip": "192.168.0.9", "name": "mocha", "ms": t + 1},
            {"ip": "2001:db8::1", "name": "   ", "ms": t + 2}]
    logs.put_log_events(logGroupName="/cafe/fn", logStreamName="s",
                        logEvents=[{"timestamp": t + i, "message": json.dumps(d)} for i, d in enumerate(docs)])
    out = run_query(logs, "/cafe/fn", "fields isIpv4InSubnet(ip, '10.0.0.0/8') as private, isIpInSubnet(ip, '2001:db8::/32') as doc, "
                    "isValidIpV6(ip) as v6, rtrim(ltrim(name), '.') as drink, isBlank(name) as blank, "
                    "fromMillis(ms) as at, dateceil(@timestamp, 1m) as up, toMillis(@timestamp) as millis | sort millis asc", t, t + 10)
    got = rows(out)
    assert [(r["private"], r["doc"], r["v6"], r["blank"]) for r in got] == [("1", "0", "0", "0"), ("0", "0", "0", "0"), ("0", "1", "1", "1")]
    assert [r.get("drink") for r in got] == ["latte", "mocha", ""] or [r.get("drink") for r in got] == ["latte", "mocha", None]
    first = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
    assert got[0]["at"] == first.strftime("%Y-%m-%d %H:%M:%S.") + f"{t % 1000:03d}"
    assert got[0]["up"] == (first.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.000")
    assert got[0]["millis"] == str(t)
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName="/cafe/fn", startTime=0, endTime=1, queryString="fields frobnicate(ip)")
    assert code(e) == "MalformedQueryException"


def test_insights_source_command_selects_log_groups(logs):
    t = now_ms()
    for g, n in [("/app/web", 3), ("/app/worker", 2), ("/audit/trail", 5)]:
        logs.create_log_group(logGroupName=g)
        logs.create_log_stream(logGroupName=g, logStreamName="s")
        logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=[{"timestamp": t + i, "message": f"{g} {i}"} for i in range(n)])
    logs.create_log_group(logGroupName="/app/archive", logGroupClass="INFREQUENT_ACCESS")
    logs.create_log_stream(logGroupName="/app/archive", logStreamName="s")
    logs.put_log_events(logGroupName="/app/archive", logStreamName="s", logEvents=[{"timestamp": t, "message": "old"}])

    def counted(query):
        qid = logs.start_query(startTime=t // 1000 - 60, endTime=t // 1000 + 60, queryString=query)["queryId"]
        while (out := logs.get_query_results(queryId=qid))["status"] in ("Scheduled", "Running"):
            time.sleep(0.05)
        return {r["field"]: r["value"] for r in out["results"][0]}["n"]

    assert counted('SOURCE logGroups(namePrefix: ["/app/"]) | stats count(*) as n') == "6"
    assert counted('SOURCE logGroups(namePrefix: ["/app/"], class: "STANDARD") | stats count(*) as n') == "5"
    assert counted('SOURCE logGroups(namePrefix: ["/app/web", "/audit"]) | stats count(*) as n') == "8"
    with pytest.raises(ClientError) as e:
        logs.start_query(logGroupName="/app/web", startTime=0, endTime=1, queryString='SOURCE logGroups(namePrefix: ["/app/"]) | stats count(*)')
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=0, endTime=1, queryString='SOURCE logGroups(namePrefix: ["/nothing/"]) | stats count(*)')
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.start_query(startTime=0, endTime=1, queryString='SOURCE logGroups(prefix: ["/app/"]) | stats count(*)')
    assert code(e) == "MalformedQueryException"


def test_insights_pattern_and_unmask(logs):
    """`pattern` clusters events by their shared text: words that vary (times, numbers, IP
    addresses, identifiers) become numbered tokens; `unmask` shows a field as stored (nuage
    serves no data protection policy, so nothing is masked)."""
    logs.create_log_group(logGroupName="/app/patterns")
    logs.create_log_stream(logGroupName="/app/patterns", logStreamName="s")
    t = now_ms() - 60_000
    messages = [f"2026-01-0{i + 1} 10:00:0{i} [INFO] Request time: {100 + 7 * i} ms" for i in range(6)]
    messages += [f"[ERROR] user a1b2c3d{i}e5f6 failed from 10.0.0.{i}" for i in range(3)]
    messages += ["service started"]
    logs.put_log_events(logGroupName="/app/patterns", logStreamName="s",
                        logEvents=[{"timestamp": t + i, "message": m} for i, m in enumerate(messages)])
    out = run_query(logs, "/app/patterns", "pattern @message", t, t + 100)
    assert rows(out) == [
        {"@pattern": "<Time-1> [INFO] Request time: <Number-2> ms", "@ratio": "0.60", "@sampleCount": "6", "@severityLabel": "Info"},
        {"@pattern": "[ERROR] user <ID-1> failed from <IP-2>", "@ratio": "0.30", "@sampleCount": "3", "@severityLabel": "Error"},
        {"@pattern": "service started", "@ratio": "0.10", "@sampleCount": "1", "@severityLabel": "Unknown"},
    ]
    out = run_query(logs, "/app/patterns", "filter @message like /ERROR/ | pattern @message", t, t + 100)
    assert [(r["@sampleCount"], r["@ratio"]) for r in rows(out)] == [("3", "1.00")]
    out = run_query(logs, "/app/patterns", "pattern @message | sort @sampleCount asc | limit 1", t, t + 100)
    assert [r["@pattern"] for r in rows(out)] == ["service started"]
    out = run_query(logs, "/app/patterns", "fields unmask(@message) as m | sort @timestamp asc | limit 1", t, t + 100)
    assert rows(out) == [{"m": messages[0]}]


def test_subscription_filters_refused_as_aws_refuses_an_absent_destination(logs):
    """Kinesis, Firehose, Lambda and Logs destinations are not served yet: no destination can
    take AWS's test message, so a filter is refused as AWS refuses one whose destination cannot,
    and none is stored."""
    logs.create_log_group(logGroupName="/app/subs")
    assert logs.describe_subscription_filters(logGroupName="/app/subs")["subscriptionFilters"] == []
    role = "arn:aws:iam::000000000000:role/CWLtoKinesis"
    cases = [
        ("arn:aws:kinesis:us-east-1:000000000000:stream/logs", role, "InvalidParameterException", "Kinesis stream"),
        ("arn:aws:firehose:us-east-1:000000000000:deliverystream/logs", role, "InvalidParameterException", "Firehose stream"),
        ("arn:aws:lambda:us-east-1:000000000000:function:ship", None, "InvalidParameterException", "lambda function"),
        ("arn:aws:logs:us-east-1:000000000000:destination:central", None, "ResourceNotFoundException", "destination"),
        ("arn:aws:kinesis:us-east-1:000000000000:stream/logs", None, "InvalidParameterException", "roleArn"),
        ("not-an-arn", None, "InvalidParameterException", "Invalid destination ARN"),
    ]
    for arn, role_arn, expected, words in cases:
        args = dict(logGroupName="/app/subs", filterName="ship", filterPattern="ERROR", destinationArn=arn)
        if role_arn:
            args["roleArn"] = role_arn
        with pytest.raises(ClientError) as e:
            logs.put_subscription_filter(**args)
        assert code(e) == expected, arn
        assert words in e.value.response["Error"]["Message"], arn
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName="/app/subs", filterName="ship", filterPattern="{ $.a = ",
                                     destinationArn="arn:aws:lambda:us-east-1:000000000000:function:ship")
    assert code(e) == "InvalidParameterException" and "pattern" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        logs.put_subscription_filter(logGroupName="/app/none", filterName="ship", filterPattern="",
                                     destinationArn="arn:aws:lambda:us-east-1:000000000000:function:ship")
    assert code(e) == "ResourceNotFoundException"
    assert logs.describe_subscription_filters(logGroupName="/app/subs")["subscriptionFilters"] == []
    with pytest.raises(ClientError) as e:
        logs.delete_subscription_filter(logGroupName="/app/subs", filterName="ship")
    assert code(e) == "ResourceNotFoundException"


def test_field_indexes_and_filter_index(logs):
    """Index policies, the fields they have indexed, and filterIndex: only log groups that index
    the field are read, and in them only events ingested after the policy."""
    t = now_ms() - 60_000
    for g in ("/svc/indexed", "/svc/plain"):
        logs.create_log_group(logGroupName=g)
        logs.create_log_stream(logGroupName=g, logStreamName="s")
    def put(group, first, ids):
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": t + first + n, "message": json.dumps({"requestId": rid, "n": first + n})} for n, rid in enumerate(ids)])
    put("/svc/indexed", 0, ["r1", "r2"])  # before the policy: not indexed
    time.sleep(0.05)
    policy = logs.put_index_policy(logGroupIdentifier="/svc/indexed", policyDocument=json.dumps({"Fields": ["requestId"]}))["indexPolicy"]
    assert policy["logGroupIdentifier"].endswith(":log-group:/svc/indexed") and policy["source"] == "LOG_GROUP"
    time.sleep(0.05)
    put("/svc/indexed", 10, ["r2", "r3", "r2"])
    put("/svc/plain", 20, ["r2", "r2"])
    described = logs.describe_index_policies(logGroupIdentifiers=["/svc/indexed"])["indexPolicies"]
    assert [json.loads(p["policyDocument"]) for p in described] == [{"Fields": ["requestId"]}]
    assert logs.describe_index_policies(logGroupIdentifiers=["/svc/plain"])["indexPolicies"] == []
    fields = logs.describe_field_indexes(logGroupIdentifiers=["/svc/indexed"])["fieldIndexes"]
    assert [(f["fieldIndexName"], f["firstEventTime"], f["lastEventTime"]) for f in fields] == [("requestId", t + 10, t + 12)]

    qid = logs.start_query(logGroupNames=["/svc/indexed", "/svc/plain"], startTime=t // 1000 - 5, endTime=t // 1000 + 60,
                           queryString='filterIndex requestId = "r2" | fields n | sort n')["queryId"]
    while (out := logs.get_query_results(queryId=qid))["status"] in ("Scheduled", "Running"):
        time.sleep(0.05)
    assert [r["n"] for r in rows(out)] == ["10", "12"]
    # The same with filter reads every group and every event.
    qid = logs.start_query(logGroupNames=["/svc/indexed", "/svc/plain"], startTime=t // 1000 - 5, endTime=t // 1000 + 60,
                           queryString='filter requestId = "r2" | stats count(*) as c')["queryId"]
    while (out := logs.get_query_results(queryId=qid))["status"] in ("Scheduled", "Running"):
        time.sleep(0.05)
    assert rows(out) == [{"c": "5"}]
    for bad in ('filterIndex requestId like "r"', "filterIndex requestId > 3"):
        with pytest.raises(ClientError) as e:
            logs.start_query(logGroupName="/svc/indexed", startTime=0, endTime=1, queryString=bad)
        assert code(e) == "MalformedQueryException"
    with pytest.raises(ClientError) as e:
        logs.put_index_policy(logGroupIdentifier="/svc/plain", policyDocument=json.dumps({"Fields": []}))
    assert code(e) == "InvalidParameterException"
    logs.delete_index_policy(logGroupIdentifier="/svc/indexed")
    with pytest.raises(ClientError) as e:
        logs.delete_index_policy(logGroupIdentifier="/svc/indexed")
    assert code(e) == "ResourceNotFoundException"
