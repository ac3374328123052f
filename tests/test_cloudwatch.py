"""CloudWatch with boto3 and the aws CLI on its three protocols (RPC v2 CBOR, what current SDKs
send; JSON; query): metrics and their statistics, metric math, alarms evaluated by the server,
their history, dashboards, tags, IAM. Expected answers are computed here from the data sent."""
import datetime
import gzip
import json
import math
import pathlib
import shutil
import time

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Nuage

UTC = datetime.timezone.utc


def code(e):
    return e.value.response["Error"]["Code"]


@pytest.fixture
def server(tmp_path):
    n = Nuage(str(tmp_path), ["--alarm-interval", "1"]).start()
    yield n
    n.kill()


@pytest.fixture
def cw(server):
    return server.client("cloudwatch")


def client_on(server, tmp_path, protocol):
    """A CloudWatch client whose model names only `protocol` (json or query)."""
    src = pathlib.Path(botocore.__file__).parent / "data" / "cloudwatch" / "2010-08-01"
    model = json.load(gzip.open(src / "service-2.json.gz"))
    model["metadata"]["protocol"] = protocol
    model["metadata"]["protocols"] = [protocol]
    dest = tmp_path / "models" / protocol / "cloudwatch" / "2010-08-01"
    dest.mkdir(parents=True)
    (dest / "service-2.json").write_text(json.dumps(model))
    for extra in src.iterdir():
        if extra.name.startswith(("paginators", "waiters")):
            shutil.copy(extra, dest / extra.name)
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models" / protocol))
    return boto3.Session(botocore_session=session).client(
        "cloudwatch", endpoint_url=server.endpoint, aws_access_key_id="test", aws_secret_access_key="test",
        region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


def minute(dt):
    return dt.replace(second=0, microsecond=0)


def test_metric_data_and_statistics(cw):
    now = datetime.datetime.now(UTC)
    base = minute(now) - datetime.timedelta(minutes=10)
    shop = [{"Name": "Shop", "Value": "Paris"}]
    sent = {}  # minute -> values
    data = []
    for k in range(6):
        t = base + datetime.timedelta(minutes=k, seconds=5)
        values = [k + 1.0, 2 * k + 3.0]
        sent[minute(t)] = values
        data.append({"MetricName": "Orders", "Dimensions": shop, "Timestamp": t, "Values": values, "Counts": [1, 1], "Unit": "Count"})
    data.append({"MetricName": "Orders", "Dimensions": [{"Name": "Shop", "Value": "Lyon"}], "Timestamp": base, "Value": 100, "Unit": "Count"})
    data.append({"MetricName": "Latency", "Dimensions": shop, "Timestamp": base,
                 "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 5}, "Unit": "Milliseconds"})
    cw.put_metric_data(Namespace="Cafe", MetricData=data)

    r = cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", Dimensions=shop, StartTime=base,
                                 EndTime=base + datetime.timedelta(minutes=6), Period=60,
                                 Statistics=["Sum", "Average", "SampleCount", "Minimum", "Maximum"], ExtendedStatistics=["p50"])
    got = sorted(r["Datapoints"], key=lambda d: d["Timestamp"])
    assert [d["Timestamp"] for d in got] == sorted(sent)
    for d in got:
        v = sent[d["Timestamp"]]
        assert (d["Sum"], d["Average"], d["SampleCount"], d["Minimum"], d["Maximum"]) == (sum(v), sum(v) / 2, 2, min(v), max(v))
        assert d["ExtendedStatistics"]["p50"] == min(v) and d["Unit"] == "Count"
    # Two-minute periods fold two minutes each.
    r = cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", Dimensions=shop, StartTime=base,
                                 EndTime=base + datetime.timedelta(minutes=6), Period=120, Statistics=["Sum"])
    assert sorted(d["Sum"] for d in r["Datapoints"]) == sorted(
        sum(sent[base + datetime.timedelta(minutes=k)]) + sum(sent[base + datetime.timedelta(minutes=k + 1)]) for k in (0, 2, 4))
    # Dimensions must match exactly; a unit filter keeps only data of that unit.
    r = cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", StartTime=base, EndTime=now, Period=60, Statistics=["Sum"])
    assert r["Datapoints"] == []
    r = cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", Dimensions=shop, StartTime=base, EndTime=now,
                                 Period=60, Statistics=["Sum"], Unit="Seconds")
    assert r["Datapoints"] == []
    r = cw.get_metric_statistics(Namespace="Cafe", MetricName="Latency", Dimensions=shop, StartTime=base, EndTime=now,
                                 Period=300, Statistics=["Average", "Maximum"])
    assert [(d["Average"], d["Maximum"], d["Unit"]) for d in r["Datapoints"]] == [(2.5, 5.0, "Milliseconds")]

    metrics = cw.list_metrics(Namespace="Cafe")["Metrics"]
    assert len(metrics) == 3
    paris = cw.list_metrics(Namespace="Cafe", Dimensions=[{"Name": "Shop", "Value": "Paris"}])["Metrics"]
    assert sorted(m["MetricName"] for m in paris) == ["Latency", "Orders"]
    assert len(cw.list_metrics(MetricName="Orders", RecentlyActive="PT3H")["Metrics"]) == 2
    assert cw.list_metrics(Namespace="Cafe", OwningAccount="111122223333")["Metrics"] == []
    assert cw.list_metrics(Namespace="Cafe", IncludeLinkedAccounts=True)["OwningAccounts"] == ["000000000000"] * 3

    def refused(**kw):
        with pytest.raises(ClientError) as e:
            cw.put_metric_data(**kw)
        return code(e)

    assert refused(Namespace="AWS/EC2", MetricData=[{"MetricName": "x", "Value": 1}]) == "InvalidParameterValue"
    assert refused(Namespace="Cafe", MetricData=[{"MetricName": "x", "Value": 1, "Timestamp": now + datetime.timedelta(hours=3)}]) == "InvalidParameterValue"
    assert refused(Namespace="Cafe", MetricData=[{"MetricName": "x", "Value": 1, "Values": [1]}]) == "InvalidParameterCombination"
    assert refused(Namespace="Cafe", MetricData=[{"MetricName": "x", "Values": [1, 2], "Counts": [1]}]) == "InvalidParameterCombination"
    assert refused(Namespace="Cafe", MetricData=[{"MetricName": "x", "Value": 1, "StorageResolution": 5}]) == "InvalidParameterValue"
    entity = {"Entity": {"KeyAttributes": {"Type": "Service", "Name": "cafe"}}, "MetricData": [{"MetricName": "x", "Value": 1}]}
    assert refused(Namespace="Cafe", EntityMetricData=[entity], StrictEntityValidation=True) == "InvalidParameterValue"
    cw.put_metric_data(Namespace="Cafe", EntityMetricData=[entity], StrictEntityValidation=False)
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", StartTime=now - datetime.timedelta(days=5), EndTime=now,
                                 Period=60, Statistics=["Sum"])
    assert code(e) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as e:
        cw.get_metric_statistics(Namespace="Cafe", MetricName="Orders", StartTime=base, EndTime=now, Period=90, Statistics=["Sum"])
    assert code(e) == "InvalidParameterValue"


def test_metric_math(cw):
    now = datetime.datetime.now(UTC)
    base = minute(now) - datetime.timedelta(minutes=8)
    a = {k: float(k * 3 + 1) for k in range(6)}
    b = {k: float(10 - k) for k in range(6) if k != 2}
    data = [{"MetricName": "Visits", "Timestamp": base + datetime.timedelta(minutes=k), "Value": v} for k, v in a.items()]
    data += [{"MetricName": "Buys", "Timestamp": base + datetime.timedelta(minutes=k), "Value": v} for k, v in b.items()]
    cw.put_metric_data(Namespace="Cafe", MetricData=data)

    def stat(name):
        return {"Metric": {"Namespace": "Cafe", "MetricName": name}, "Period": 60, "Stat": "Sum"}

    queries = [
        {"Id": "v", "MetricStat": stat("Visits"), "ReturnData": False},
        {"Id": "b", "MetricStat": stat("Buys")},
        {"Id": "ratio", "Expression": "100 * b / v", "Label": "Conversion"},
        {"Id": "total", "Expression": "SUM(METRICS())"},
        {"Id": "filled", "Expression": "FILL(b, 0)"},
        {"Id": "change", "Expression": "DIFF(v)"},
        {"Id": "mean", "Expression": "AVG(v)"},
    ]
    end = base + datetime.timedelta(minutes=6)
    r = cw.get_metric_data(MetricDataQueries=queries, StartTime=base, EndTime=end, ScanBy="TimestampAscending")
    res = {x["Id"]: x for x in r["MetricDataResults"]}
    assert "v" not in res and res["ratio"]["Label"] == "Conversion"
    assert res["b"]["Values"] == [b[k] for k in sorted(b)]
    assert res["ratio"]["Values"] == pytest.approx([100 * b[k] / a[k] for k in sorted(b)])
    assert res["total"]["Values"] == [a[k] + b.get(k, 0.0) for k in sorted(a)]
    assert res["filled"]["Values"] == [b.get(k, 0.0) for k in range(6)]
    assert res["change"]["Values"] == [a[k] - a[k - 1] for k in range(1, 6)]
    assert res["mean"]["Values"] == [sum(a.values()) / 6] * 6
    labelled = cw.get_metric_data(MetricDataQueries=[{**queries[1], "Label": "Buys (max ${MAX}, ${DATAPOINT_COUNT} points)"}],
                                  StartTime=base, EndTime=base + datetime.timedelta(minutes=6))
    assert labelled["MetricDataResults"][0]["Label"] == f"Buys (max {max(b.values()):g}, {len(b)} points)"
    assert [t.astimezone(UTC) for t in res["b"]["Timestamps"]] == [base + datetime.timedelta(minutes=k) for k in sorted(b)]
    # Newest first by default; MaxDatapoints pages with NextToken.
    first = cw.get_metric_data(MetricDataQueries=[queries[1]], StartTime=base, EndTime=end, MaxDatapoints=3)
    assert first["MetricDataResults"][0]["Values"] == [b[k] for k in sorted(b, reverse=True)][:3]
    assert first["MetricDataResults"][0]["StatusCode"] == "PartialData"
    rest = cw.get_metric_data(MetricDataQueries=[queries[1]], StartTime=base, EndTime=end, MaxDatapoints=3, NextToken=first["NextToken"])
    assert rest["MetricDataResults"][0]["Values"] == [b[k] for k in sorted(b, reverse=True)][3:]
    assert "NextToken" not in rest

    def refused(qs):
        with pytest.raises(ClientError) as e:
            cw.get_metric_data(MetricDataQueries=qs, StartTime=base, EndTime=end)
        return code(e)

    assert refused([queries[1], {"Id": "x", "Expression": "b + nothing"}]) == "ValidationError"
    assert refused([queries[1], {"Id": "x", "Expression": "LOG99(b)"}]) == "ValidationError"
    assert refused([queries[1], {"Id": "b", "Expression": "1"}]) == "ValidationError"
    assert refused([{"Id": "Upper", "MetricStat": stat("Buys")}]) == "ValidationError"


def test_alarms_are_evaluated(cw):
    now = datetime.datetime.now(UTC)
    # High-resolution data over the last minute: 10-second periods.
    start = now.replace(microsecond=0) - datetime.timedelta(seconds=now.second % 10) - datetime.timedelta(seconds=60)
    # Every 10-second period of the last minute above 5: whichever three complete periods the
    # evaluation looks at (the window slides while the test runs), at least two hold data.
    cw.put_metric_data(Namespace="Cafe", MetricData=[
        {"MetricName": "Queue", "Timestamp": start + datetime.timedelta(seconds=10 * k + 1), "Value": v, "StorageResolution": 1}
        for k, v in enumerate([9, 8, 9, 7, 9, 9])])
    common = dict(Namespace="Cafe", MetricName="Queue", Statistic="Maximum", Period=10, Threshold=5,
                  ComparisonOperator="GreaterThanThreshold")
    cw.put_metric_alarm(AlarmName="queue-high", EvaluationPeriods=3, DatapointsToAlarm=2,
                        AlarmActions=["arn:aws:sns:us-east-1:000000000000:ops"], Tags=[{"Key": "team", "Value": "cafe"}], **common)
    cw.put_metric_alarm(AlarmName="queue-low", EvaluationPeriods=2, **{**common, "ComparisonOperator": "LessThanThreshold"})
    cw.put_metric_alarm(AlarmName="absent-breaching", EvaluationPeriods=2, TreatMissingData="breaching",
                        **{**common, "MetricName": "Nothing"})
    cw.put_metric_alarm(AlarmName="absent-not-breaching", EvaluationPeriods=2, TreatMissingData="notBreaching",
                        **{**common, "MetricName": "Nothing"})
    cw.put_metric_alarm(AlarmName="absent-missing", EvaluationPeriods=2, **{**common, "MetricName": "Nothing"})
    created = cw.describe_alarms(AlarmNames=["queue-high"])["MetricAlarms"][0]
    assert created["StateValue"] == "INSUFFICIENT_DATA" and created["StateReason"] == "Unchecked: Initial alarm creation"
    assert created["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:queue-high"

    def states():
        return {a["AlarmName"]: a["StateValue"] for a in cw.describe_alarms()["MetricAlarms"]}

    want = {"queue-high": "ALARM", "queue-low": "OK", "absent-breaching": "ALARM", "absent-not-breaching": "OK",
            "absent-missing": "INSUFFICIENT_DATA"}
    deadline = time.time() + 20
    while time.time() < deadline and states() != want:
        time.sleep(0.3)
    assert states() == want
    high = cw.describe_alarms(AlarmNames=["queue-high"])["MetricAlarms"][0]
    assert high["StateReason"].startswith("Threshold Crossed: ") and "(minimum 2 datapoints for OK -> ALARM transition)" in high["StateReason"]
    reason = json.loads(high["StateReasonData"])
    assert reason["threshold"] == 5.0 and reason["period"] == 10 and all(v > 5 for v in reason["recentDatapoints"])
    history = cw.describe_alarm_history(AlarmName="queue-high")["AlarmHistoryItems"]
    assert [h["HistoryItemType"] for h in history] == ["Action", "StateUpdate", "ConfigurationUpdate"]
    assert json.loads(history[0]["HistoryData"])["actionState"] == "Failed"
    assert json.loads(history[1]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    low = cw.describe_alarms(AlarmNames=["queue-low"])["MetricAlarms"][0]
    assert "were not less than the threshold (5.0)" in low["StateReason"]

    cw.set_alarm_state(AlarmName="queue-low", StateValue="ALARM", StateReason="testing", StateReasonData='{"by": "test"}')
    low = cw.describe_alarms(AlarmNames=["queue-low"])["MetricAlarms"][0]
    assert (low["StateValue"], low["StateReason"]) == ("ALARM", "testing")
    with pytest.raises(ClientError) as e:
        cw.set_alarm_state(AlarmName="queue-low", StateValue="OK", StateReason="x", StateReasonData="not json")
    assert code(e) == "InvalidFormat"
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix="absent")["MetricAlarms"]] == ["absent-breaching", "absent-missing", "absent-not-breaching"]
    assert [a["AlarmName"] for a in cw.describe_alarms(ActionPrefix="arn:aws:sns")["MetricAlarms"]] == ["queue-high"]
    assert {a["AlarmName"] for a in cw.describe_alarms_for_metric(Namespace="Cafe", MetricName="Queue")["MetricAlarms"]} == {"queue-high", "queue-low"}
    arn = created["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "cafe"}]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "tier", "Value": "1"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "tier", "Value": "1"}]
    cw.disable_alarm_actions(AlarmNames=["queue-high"])
    assert cw.describe_alarms(AlarmNames=["queue-high"])["MetricAlarms"][0]["ActionsEnabled"] is False

    def refused(**kw):
        with pytest.raises(ClientError) as e:
            cw.put_metric_alarm(**{"AlarmName": "bad", "EvaluationPeriods": 2, **common, **kw})
        return code(e)

    assert refused(DatapointsToAlarm=3) == "InvalidParameterValue"
    assert refused(AlarmActions=["sns:topic"]) == "InvalidParameterValue"
    assert refused(Period=90) == "InvalidParameterValue"
    assert refused(ExtendedStatistic="p90") == "InvalidParameterCombination"
    assert refused(TreatMissingData="sometimes") == "InvalidParameterValue"
    cw.delete_alarms(AlarmNames=["queue-low", "absent-missing", "absent-not-breaching"])
    assert "queue-low" not in states()
    with pytest.raises(ClientError) as e:
        cw.delete_alarms(AlarmNames=["queue-low"])
    assert code(e) == "ResourceNotFound"


def test_json_and_query_protocols(server, tmp_path):
    now = datetime.datetime.now(UTC)
    for protocol in ("json", "query"):
        c = client_on(server, tmp_path, protocol)
        c.put_metric_data(Namespace=f"Cafe/{protocol}", MetricData=[{"MetricName": "Tips", "Value": 2.5, "Timestamp": now}])
        r = c.get_metric_statistics(Namespace=f"Cafe/{protocol}", MetricName="Tips", StartTime=now - datetime.timedelta(minutes=5),
                                    EndTime=now + datetime.timedelta(minutes=1), Period=60, Statistics=["Sum"])
        assert [d["Sum"] for d in r["Datapoints"]] == [2.5]
        c.put_metric_alarm(AlarmName=f"tips-{protocol}", Namespace=f"Cafe/{protocol}", MetricName="Tips", Statistic="Sum",
                           Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        assert c.describe_alarms(AlarmNames=[f"tips-{protocol}"])["MetricAlarms"][0]["Threshold"] == 1.0
        with pytest.raises(ClientError) as e:
            c.delete_alarms(AlarmNames=["nope"])
        assert code(e) == "ResourceNotFound"
        with pytest.raises(ClientError) as e:
            c.put_metric_data(Namespace="AWS/X", MetricData=[{"MetricName": "Tips", "Value": 1}])
        assert code(e) == "InvalidParameterValue"
    # What one protocol wrote, another reads.
    assert {m["Namespace"] for m in server.client("cloudwatch").list_metrics()["Metrics"]} == {"Cafe/json", "Cafe/query"}


def test_dashboards_iam_and_cli(server):
    cw = server.client("cloudwatch")
    body = json.dumps({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 6, "height": 6,
                                    "properties": {"metrics": [["Cafe", "Orders"]], "region": "us-east-1"}}]})
    assert cw.put_dashboard(DashboardName="cafe", DashboardBody=body)["DashboardValidationMessages"] == []
    assert cw.get_dashboard(DashboardName="cafe")["DashboardBody"] == body
    assert [d["DashboardName"] for d in cw.list_dashboards(DashboardNamePrefix="ca")["DashboardEntries"]] == ["cafe"]
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName="bad", DashboardBody="{}")
    assert code(e) == "InvalidParameterInput"
    with pytest.raises(ClientError) as e:
        cw.put_dashboard(DashboardName="bad", DashboardBody=json.dumps({"widgets": [{"type": "chart"}]}))
    assert code(e) == "InvalidParameterInput"
    cw.delete_dashboards(DashboardNames=["cafe"])
    with pytest.raises(ClientError) as e:
        cw.get_dashboard(DashboardName="cafe")
    assert code(e) == "ResourceNotFound"

    iam = server.client("iam")
    iam.create_user(UserName="agent")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
                                                      "Condition": {"StringEquals": {"cloudwatch:namespace": "Cafe"}}}]}
    iam.put_user_policy(UserName="agent", PolicyName="metrics", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="agent")["AccessKey"]
    agent = server.client("cloudwatch", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    agent.put_metric_data(Namespace="Cafe", MetricData=[{"MetricName": "Beans", "Value": 7}])
    with pytest.raises(ClientError) as e:
        agent.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "Beans", "Value": 7}])
    assert code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        agent.list_metrics()
    assert code(e) == "AccessDenied"

    r = server.cli("cloudwatch", "put-metric-data", "--namespace", "Cafe", "--metric-name", "Cups", "--value", "12", "--unit", "Count")
    assert r.returncode == 0, r.stderr
    now = datetime.datetime.now(UTC)
    r = server.cli("cloudwatch", "get-metric-statistics", "--namespace", "Cafe", "--metric-name", "Cups", "--statistics", "Sum",
                   "--period", "60", "--start-time", (now - datetime.timedelta(minutes=5)).isoformat(),
                   "--end-time", (now + datetime.timedelta(minutes=1)).isoformat())
    assert r.returncode == 0, r.stderr
    assert [d["Sum"] for d in json.loads(r.stdout)["Datapoints"]] == [12.0]
    assert math.isclose(cw.get_metric_statistics(Namespace="Cafe", MetricName="Beans", StartTime=now - datetime.timedelta(minutes=5),
                                                 EndTime=now + datetime.timedelta(minutes=1), Period=300,
                                                 Statistics=["Sum"])["Datapoints"][0]["Sum"], 7.0)


def test_log_metric_filters_feed_metrics(server):
    logs, cw = server.client("logs"), server.client("cloudwatch")
    logs.create_log_group(logGroupName="/cafe/access")
    logs.create_log_stream(logGroupName="/cafe/access", logStreamName="web")
    logs.put_metric_filter(logGroupName="/cafe/access", filterName="not-found", filterPattern="{ $.status = 404 }",
                           metricTransformations=[{"metricName": "NotFound", "metricNamespace": "Cafe/Web", "metricValue": "1", "defaultValue": 0}])
    logs.put_metric_filter(logGroupName="/cafe/access", filterName="bytes", filterPattern="{ $.bytes > 0 }",
                           metricTransformations=[{"metricName": "Bytes", "metricNamespace": "Cafe/Web", "metricValue": "$.bytes",
                                                   "dimensions": {"Page": "$.path"}, "unit": "Bytes"}])
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName="/cafe/access")["metricFilters"]] == ["bytes", "not-found"]
    assert [f["filterName"] for f in logs.describe_metric_filters(metricName="NotFound", metricNamespace="Cafe/Web")["metricFilters"]] == ["not-found"]
    now = datetime.datetime.now(UTC)
    t0 = int(minute(now).timestamp() * 1000) - 120_000
    docs = [{"status": s, "path": p, "bytes": b} for s, p, b in
            [(200, "/menu", 100), (404, "/nope", 0), (200, "/buy", 300), (404, "/menu", 20), (200, "/menu", 50)]]
    logs.put_log_events(logGroupName="/cafe/access", logStreamName="web",
                        logEvents=[{"timestamp": t0 + i * 1000, "message": json.dumps(d)} for i, d in enumerate(docs)])
    start, end = now - datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=1)

    def stat(name, dims=()):
        r = cw.get_metric_statistics(Namespace="Cafe/Web", MetricName=name, Dimensions=list(dims), StartTime=start, EndTime=end,
                                     Period=600, Statistics=["Sum", "SampleCount"])
        return [(d["Sum"], d["SampleCount"]) for d in r["Datapoints"]]

    deadline = time.time() + 10
    while time.time() < deadline and not stat("NotFound"):
        time.sleep(0.2)
    # Every event counts: 1 for the two 404s, the default 0 for the others.
    assert stat("NotFound") == [(2.0, 5.0)]
    assert stat("Bytes", [{"Name": "Page", "Value": "/menu"}]) == [(170.0, 3.0)]
    assert stat("Bytes", [{"Name": "Page", "Value": "/buy"}]) == [(300.0, 1.0)]
    assert stat("Bytes", [{"Name": "Page", "Value": "/nope"}]) == []
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName="/cafe/access", filterName="bad", filterPattern="{ $.status = ",
                               metricTransformations=[{"metricName": "X", "metricNamespace": "Cafe/Web", "metricValue": "1"}])
    assert code(e) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        logs.put_metric_filter(logGroupName="/cafe/access", filterName="bad", filterPattern="{ $.status = 500 }",
                               metricTransformations=[{"metricName": "X", "metricNamespace": "Cafe/Web", "metricValue": "1",
                                                       "defaultValue": 0, "dimensions": {"Page": "$.path"}}])
    assert code(e) == "InvalidParameterException"
    logs.delete_metric_filter(logGroupName="/cafe/access", filterName="bytes")
    with pytest.raises(ClientError) as e:
        logs.delete_metric_filter(logGroupName="/cafe/access", filterName="bytes")
    assert code(e) == "ResourceNotFoundException"


def test_dynamodb_publishes_its_metrics(tmp_path):
    n = Nuage(str(tmp_path), ["--metrics-interval", "1"]).start()
    try:
        ddb, cw = n.client("dynamodb"), n.client("cloudwatch")
        ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7})
        written = read = 0.0
        for i in range(6):
            r = ddb.put_item(TableName="orders", Item={"id": {"S": f"o{i}"}, "pad": {"S": "x" * 1500 * i}},
                             ReturnConsumedCapacity="TOTAL")
            written += r["ConsumedCapacity"]["CapacityUnits"]
            r = ddb.get_item(TableName="orders", Key={"id": {"S": f"o{i}"}}, ReturnConsumedCapacity="TOTAL")
            read += r["ConsumedCapacity"]["CapacityUnits"]
        now = datetime.datetime.now(UTC)
        dims = [{"Name": "TableName", "Value": "orders"}]

        def total(metric, stat="Sum"):
            r = cw.get_metric_statistics(Namespace="AWS/DynamoDB", MetricName=metric, Dimensions=dims,
                                         StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=2),
                                         Period=600, Statistics=[stat])
            return sum(d[stat] for d in r["Datapoints"])

        deadline = time.time() + 15
        while time.time() < deadline and (total("ConsumedWriteCapacityUnits") < written or total("ConsumedReadCapacityUnits") < read):
            time.sleep(0.3)
        assert total("ConsumedWriteCapacityUnits") == written and total("ConsumedReadCapacityUnits") == read
        assert total("ProvisionedWriteCapacityUnits", "Maximum") == 7.0
        # A user cannot write into AWS's namespaces; the service did, through the front door.
        with pytest.raises(ClientError) as e:
            cw.put_metric_data(Namespace="AWS/DynamoDB", MetricData=[{"MetricName": "ConsumedReadCapacityUnits", "Value": 1}])
        assert code(e) == "InvalidParameterValue"
    finally:
        n.kill()


def test_s3_publishes_request_and_storage_metrics(tmp_path):
    """S3's request metrics for the requests a metrics configuration selects (the whole bucket,
    or a prefix), and its storage metrics, in AWS/S3 as S3 publishes them."""
    n = Nuage(str(tmp_path), ["--metrics-interval", "1", "--storage-metrics-interval", "2"]).start()
    try:
        s3, cw = n.client("s3"), n.client("cloudwatch")
        s3.create_bucket(Bucket="site")
        s3.create_bucket(Bucket="conf")
        # Configurations: made, read back, listed, refused when malformed, deleted.
        s3.put_bucket_metrics_configuration(Bucket="conf", Id="b", MetricsConfiguration={"Id": "b", "Filter": {"Prefix": "img/"}})
        s3.put_bucket_metrics_configuration(Bucket="conf", Id="a", MetricsConfiguration={"Id": "a"})
        assert s3.get_bucket_metrics_configuration(Bucket="conf", Id="b")["MetricsConfiguration"] == {
            "Id": "b", "Filter": {"Prefix": "img/"}}
        with pytest.raises(ClientError) as e:
            s3.put_bucket_metrics_configuration(Bucket="conf", Id="x", MetricsConfiguration={"Id": "y"})
        assert code(e) == "InvalidArgument"
        assert [c["Id"] for c in s3.list_bucket_metrics_configurations(Bucket="conf")["MetricsConfigurationList"]] == ["a", "b"]
        s3.delete_bucket_metrics_configuration(Bucket="conf", Id="a")
        with pytest.raises(ClientError) as e:
            s3.get_bucket_metrics_configuration(Bucket="conf", Id="a")
        assert code(e) == "NoSuchConfiguration"
        with pytest.raises(ClientError) as e:
            s3.delete_bucket_metrics_configuration(Bucket="conf", Id="a")
        assert code(e) == "NoSuchConfiguration"

        # Both configuration requests count: each completes once its configuration exists.
        s3.put_bucket_metrics_configuration(Bucket="site", Id="EntireBucket", MetricsConfiguration={"Id": "EntireBucket"})
        s3.put_bucket_metrics_configuration(Bucket="site", Id="images", MetricsConfiguration={
            "Id": "images", "Filter": {"Prefix": "img/"}})
        sizes = {"index.html": 1000, "img/a.png": 3000, "img/b.png": 5000}
        for key, size in sizes.items():
            s3.put_object(Bucket="site", Key=key, Body=b"x" * size)
        for key in ("index.html", "img/a.png", "img/a.png"):
            s3.get_object(Bucket="site", Key=key)["Body"].read()
        with pytest.raises(ClientError):
            s3.get_object(Bucket="site", Key="img/missing.png")
        s3.list_objects_v2(Bucket="site")
        s3.put_object(Bucket="site", Key="old.txt", Body=b"y" * 200, StorageClass="STANDARD_IA")
        s3.delete_object(Bucket="site", Key="old.txt")
        now = datetime.datetime.now(UTC)

        def stat(metric, filter_id, stat="Sum", dims=None):
            r = cw.get_metric_statistics(Namespace="AWS/S3", MetricName=metric,
                                         Dimensions=dims or [{"Name": "BucketName", "Value": "site"}, {"Name": "FilterId", "Value": filter_id}],
                                         StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=2),
                                         Period=600, Statistics=[stat])
            return sum(d[stat] for d in r["Datapoints"]) if r["Datapoints"] else None

        # Whole bucket: 2 configuration PUTs, 3 + 1 object PUTs, 3 GETs + 1 failed GET, 1 list, 1 delete.
        deadline = time.time() + 15
        while time.time() < deadline and stat("AllRequests", "EntireBucket") != 12:
            time.sleep(0.3)
        assert stat("AllRequests", "EntireBucket") == 12
        assert stat("GetRequests", "EntireBucket") == 4 and stat("PutRequests", "EntireBucket") == 4
        assert stat("ListRequests", "EntireBucket") == 1 and stat("DeleteRequests", "EntireBucket") == 1
        assert stat("BytesDownloaded", "EntireBucket") == 1000 + 3000 + 3000
        assert stat("BytesUploaded", "EntireBucket") == sum(sizes.values()) + 200
        assert stat("4xxErrors", "EntireBucket") == 1 and stat("4xxErrors", "EntireBucket", "Average") == pytest.approx(1 / 12)
        assert stat("5xxErrors", "EntireBucket") == 0
        # The prefix filter: the two image PUTs, two GETs and the failed GET only.
        assert stat("AllRequests", "images") == 5 and stat("GetRequests", "images") == 3
        assert stat("BytesDownloaded", "images") == 6000

        # Storage metrics: every bucket, by storage type, with the count of all versions.
        storage = [{"Name": "BucketName", "Value": "site"}, {"Name": "StorageType", "Value": "StandardStorage"}]
        deadline = time.time() + 15
        while time.time() < deadline and stat("BucketSizeBytes", None, "Maximum", storage) is None:
            time.sleep(0.3)
        assert stat("BucketSizeBytes", None, "Maximum", storage) == sum(sizes.values())
        every = [{"Name": "BucketName", "Value": "site"}, {"Name": "StorageType", "Value": "AllStorageTypes"}]
        assert stat("NumberOfObjects", None, "Maximum", every) == 3
    finally:
        n.kill()


def test_redshift_publishes_cluster_metrics(tmp_path):
    """A cluster's DatabaseConnections, HealthStatus, and its completed queries by latency."""
    from test_redshift import connect, create_cluster
    n = Nuage(str(tmp_path), ["--metrics-interval", "1"]).start()
    try:
        cw = n.client("cloudwatch")
        cluster = create_cluster(n, "metered")
        conn = connect(cluster)
        cur = conn.cursor()
        for i in range(5):
            cur.execute(f"select {i} + 1")
            cur.fetchall()
        now = datetime.datetime.now(UTC)

        def stat(metric, stat, extra=()):
            dims = [{"Name": "ClusterIdentifier", "Value": "metered"}, *extra]
            r = cw.get_metric_statistics(Namespace="AWS/Redshift", MetricName=metric, Dimensions=dims,
                                         StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=2),
                                         Period=600, Statistics=[stat])
            return [d[stat] for d in r["Datapoints"]]

        short = ({"Name": "latency", "Value": "short"},)
        deadline = time.time() + 15
        while time.time() < deadline and sum(stat("QueryDuration", "SampleCount", short)) < 5:
            time.sleep(0.3)
        # The five queries (and whatever the driver ran on connecting), each well under 10 s.
        assert sum(stat("QueryDuration", "SampleCount", short)) >= 5
        assert max(stat("QueryDuration", "Maximum", short)) < 10_000_000
        assert stat("QueryDuration", "SampleCount", ({"Name": "latency", "Value": "long"},)) in ([], [0.0])
        assert max(stat("DatabaseConnections", "Maximum")) >= 1
        assert stat("HealthStatus", "Minimum") == [1.0] and stat("MaintenanceMode", "Maximum") == [0.0]
        conn.close()
    finally:
        n.kill()
