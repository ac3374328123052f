"""`nuage agent`: the CloudWatch agent's configuration file read, log files shipped to
CloudWatch Logs (timestamps parsed with `timestamp_format`, multi-line events), positions kept
between runs, files followed as they grow; then read back with boto3 and Logs Insights."""
import datetime
import json
import os
import subprocess
import time

from conftest import BINARY

UTC = datetime.timezone.utc


def access_line(t, ip, path, status):
    return json.dumps({"remoteIP": ip, "time": t.strftime("%d/%b/%Y:%H:%M:%S +0000"), "request": f"GET {path} HTTP/1.1",
                       "status": status, "bytes": 512})


def agent(server, config, *extra):
    env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_DEFAULT_REGION="us-east-1", NUAGE_INSTANCE_ID="i-0cafe0000000000001")
    return subprocess.Popen([BINARY, "agent", "--config", str(config), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def messages(logs, group, stream):
    out = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    return [(e["timestamp"], e["message"]) for e in out]


def test_agent_ships_and_follows_files(server, tmp_path):
    logs = server.client("logs")
    base = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(minutes=30)
    access = tmp_path / "access_log"
    hits = [(base + datetime.timedelta(seconds=i), f"10.0.0.{i % 3}", ["/cafe/menu.php", "/cafe/buy.php"][i % 2], 200)
            for i in range(6)]
    access.write_text("".join(access_line(*h) + "\n" for h in hits))
    errors = tmp_path / "error_log"
    e0 = base.strftime("%Y-%m-%d %H:%M:%S")
    e1 = (base + datetime.timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S")
    errors.write_text(f"{e0} [php:error] Uncaught exception\n  #0 menu.php(12)\n  #1 {{main}}\n{e1} [core:notice] restarted\n")
    config = tmp_path / "amazon-cloudwatch-agent.json"
    config.write_text(json.dumps({
        "agent": {"region": "us-east-1"},
        "logs": {
            "force_flush_interval": 1,
            "logs_collected": {"files": {"collect_list": [
                {"file_path": str(tmp_path / "access_*"), "log_group_name": "/cafe/access", "log_stream_name": "{instance_id}",
                 "timestamp_format": "%d/%b/%Y:%H:%M:%S %z", "retention_in_days": 7},
                {"file_path": str(errors), "log_group_name": "/cafe/errors", "log_stream_name": "{instance_id}-errors",
                 "timestamp_format": "%Y-%m-%d %H:%M:%S", "multi_line_start_pattern": "{timestamp_format}", "timezone": "UTC"},
            ]}},
        },
    }))
    p = agent(server, config, "--once")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "shipped 8 events from 2 file(s)" in err

    stream = "i-0cafe0000000000001"
    got = messages(logs, "/cafe/access", stream)
    assert got == [(int(h[0].timestamp() * 1000), access_line(*h)) for h in hits]
    group = logs.describe_log_groups(logGroupNamePrefix="/cafe/access")["logGroups"][0]
    assert group["retentionInDays"] == 7
    errs = messages(logs, "/cafe/errors", f"{stream}-errors")
    assert errs == [(int(base.timestamp() * 1000), f"{e0} [php:error] Uncaught exception\n  #0 menu.php(12)\n  #1 {{main}}"),
                    (int(base.timestamp() * 1000) + 5000, f"{e1} [core:notice] restarted")]

    # A second run ships only what was added since.
    later = [(base + datetime.timedelta(seconds=100), "10.0.0.9", "/cafe/buy.php", 404)]
    with access.open("a") as f:
        f.write(access_line(*later[0]) + "\n")
    p = agent(server, config, "--once")
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "shipped 1 events from 1 file(s)" in err, err
    assert len(messages(logs, "/cafe/access", stream)) == 7

    # Followed: lines appended while it runs arrive.
    p = agent(server, config)
    try:
        with access.open("a") as f:
            f.write(access_line(base + datetime.timedelta(seconds=200), "10.0.0.7", "/cafe/menu.php", 200) + "\n")
        deadline = time.time() + 15
        while time.time() < deadline and len(messages(logs, "/cafe/access", stream)) < 8:
            time.sleep(0.3)
        assert len(messages(logs, "/cafe/access", stream)) == 8
    finally:
        p.kill()
        p.wait()

    # The café question, on what the agent shipped.
    start = int(base.timestamp()) - 60
    qid = logs.start_query(logGroupName="/cafe/access", startTime=start, endTime=start + 3600,
                           queryString="filter request like /buy/ | stats count(*) as purchases, count_distinct(remoteIP) as buyers")["queryId"]
    deadline = time.time() + 10
    while time.time() < deadline:
        r = logs.get_query_results(queryId=qid)
        if r["status"] == "Complete":
            break
        time.sleep(0.1)
    row = {f["field"]: f["value"] for f in r["results"][0]}
    assert row == {"purchases": "4", "buyers": "4"}


def test_agent_refuses_a_bad_configuration(server, tmp_path):
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"logs": {"logs_collected": {"files": {"collect_list": [
        {"file_path": str(tmp_path / "x"), "timestamp_format": "%Q"}]}}}}))
    p = agent(server, config, "--once")
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "%Q" in err
    config.write_text("{}")
    p = agent(server, config, "--once")
    _, err = p.communicate(timeout=30)
    assert p.returncode != 0 and "logs section" in err
