"""The café web-log lab (docs/labs/cafe-logs.md), run as written: every shell block of the
document in order, in one working directory, with the aws CLI and `nuage agent`; each answer
checked against one computed here from the sample logs themselves."""
import collections
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import BINARY, ROOT, Nuage

DOC = ROOT / "docs" / "labs" / "cafe-logs.md"
MENU, ORDER = "/cafe/menu.php", "/cafe/processOrder.php"


def blocks():
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)


@pytest.fixture
def lab(tmp_path):
    n = Nuage(str(tmp_path / "nuage"), samples=True)
    os.makedirs(n.data_dir)
    n.start()
    s3 = n.client("s3")
    deadline = time.time() + 60
    while True:
        try:
            day = s3.head_object(Bucket="nuage-samples-cafe", Key="logs/access_log")["Metadata"]["sample-day"]
            break
        except Exception:
            assert time.time() < deadline, "the café sample was not published"
            time.sleep(0.2)
    yield n, day
    n.kill()


def sample(server):
    s3 = server.client("s3")
    access = [json.loads(line) for line in s3.get_object(Bucket="nuage-samples-cafe", Key="logs/access_log")["Body"].read().decode().splitlines()]
    errors = s3.get_object(Bucket="nuage-samples-cafe", Key="logs/error_log")["Body"].read().decode().splitlines()
    return access, errors


def table(out):
    """insights.sh's output: a header line, then rows; a mapping column -> values per row."""
    lines = [line.split("\t") for line in out.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    return [dict(zip(header, r)) for r in rows]


def test_the_lab_runs_as_written_and_answers_right(lab, tmp_path):
    server, day = lab
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ)
    env.update(
        AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="",
        PATH=os.pathsep.join([str(pathlib.Path(BINARY).parent), os.path.dirname(sys.executable), env.get("PATH", "")]),
    )
    assert shutil.which("aws", path=env["PATH"]), "the aws CLI is not installed"
    access, errors = sample(server)
    lines = {"logs/access_log": access, "logs/error_log": errors}
    logs = server.client("logs")
    outputs = []
    for block in blocks():
        if block.startswith("export "):
            continue  # the reader's environment; the test's is set above
        p = subprocess.run(["bash", "-e", "-c", block], cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, f"{block}\n---\n{p.stdout}\n{p.stderr}"
        outputs.append((block, p.stdout))
        if "nuage agent" in block:
            # The agent shipped every line of both files as an event.
            for group, key in [("apache/access", "logs/access_log"), ("apache/error", "logs/error_log")]:
                stored = sum(len(page["events"]) for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group))
                assert stored == len(lines[key]), group

    def out(marker):
        found = [o for b, o in outputs if marker in b]
        assert len(found) == 1, marker
        return found[0]

    assert all(r["time"].startswith(day) for r in access)
    listed = out("describe-log-groups").splitlines()
    groups = {line.split("\t")[0]: line.split("\t") for line in listed if line.startswith("apache/")}
    assert set(groups) == {"apache/access", "apache/error"} and groups["apache/access"][2] == "30"
    assert "PHP Fatal error" in listed[-1] and "[php:error]" in listed[-1]

    def ips(pred):
        return {r["remoteIP"] for r in access if pred(r)}

    menu = ips(lambda r: r["request"] == MENU)
    buyers = ips(lambda r: r["request"] == ORDER and r["method"] == "POST" and r["status"] == 200)
    assert table(out("count_distinct(remoteIP) as visitors'")) == [{"visitors": str(len(menu))}]
    assert table(out("as buyers")) == [{"buyers": str(len(buyers))}]
    assert table(out("as lookers")) == [{"lookers": str(len(menu - buyers))}]
    assert 0 < len(buyers) < len(menu)

    by_country = collections.defaultdict(set)
    for r in access:
        by_country[r["country"]].add(r["remoteIP"])
    rows = table(out("count_distinct(remoteIP) as visitors by country"))
    assert {r["country"]: int(r["visitors"]) for r in rows} == {c: len(v) for c, v in by_country.items()}
    assert [int(r["visitors"]) for r in rows] == sorted((int(r["visitors"]) for r in rows), reverse=True)

    hours = collections.Counter(r["time"][:13] for r in access if r["request"] == "/cafe/")
    rows = table(out("by bin(1h)"))
    assert len(rows) == 3
    top = sorted(hours.values(), reverse=True)[:3]
    assert [int(r["visits"]) for r in rows] == top
    for r in rows:
        assert hours[r["bin(1h)"][:10] + "T" + r["bin(1h)"][11:13]] == int(r["visits"])

    levels = collections.Counter(re.match(r"\[[^]]*\] \[([^:]*):([^]]*)\]", line).groups() for line in errors)
    rows = table(out("parse @message"))
    assert {(r["module"], r["level"]): int(r["entries"]) for r in rows} == dict(levels)

    # The same questions in SQL and PPL.
    assert table(out("AS menu_only")) == [{"menu_only": str(len(menu - buyers))}]
    failures = collections.Counter(r["country"] for r in access if r["status"] == 500)
    assert failures and table(out("as failures")) == [
        {"failures": str(n), "country": c} for c, n in sorted(failures.items(), key=lambda x: (-x[1], x[0]))]

    assert out("SELECT COUNT(*)").strip() == str(sum(r["request"] == MENU for r in access))
    failed = [f'{r["time"]},{r["remoteIP"]},{r["country"]}' for r in access if r["request"] == ORDER and r["status"] == 500]
    assert failed and out("AND s.status = 500").strip().splitlines() == failed
    # Cleaned up.
    assert logs.describe_log_groups(logGroupNamePrefix="apache/")["logGroups"] == []
