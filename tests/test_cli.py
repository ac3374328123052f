"""The aws CLI, unchanged, against nuage: s3 cp/sync/ls/rm/presign and s3api."""
import json

import requests


def test_cli_high_level_commands(server, workdir):
    (workdir / "src").mkdir()
    for i in range(5):
        (workdir / "src" / f"part-{i}.csv").write_text(f"id,value\n{i},{i * i}\n")
    (workdir / "src" / "nested").mkdir()
    (workdir / "src" / "nested" / "deep.txt").write_text("deep")
    big = workdir / "big.bin"
    big.write_bytes(b"\x01" * (20 * 1024 * 1024))  # multipart through the CLI's transfer manager

    server.cli("s3", "mb", "s3://cli-bucket")
    server.cli("s3", "cp", str(big), "s3://cli-bucket/big.bin")
    server.cli("s3", "sync", str(workdir / "src"), "s3://cli-bucket/data/")
    listing = server.cli("s3", "ls", "s3://cli-bucket/data/", "--recursive").stdout
    assert listing.count("part-") == 5 and "nested/deep.txt" in listing

    server.cli("s3", "cp", "s3://cli-bucket/big.bin", str(workdir / "back.bin"))
    assert (workdir / "back.bin").read_bytes() == big.read_bytes()

    (workdir / "out").mkdir()
    server.cli("s3", "sync", "s3://cli-bucket/data/", str(workdir / "out"))
    assert (workdir / "out" / "nested" / "deep.txt").read_text() == "deep"

    url = server.cli("s3", "presign", "s3://cli-bucket/data/part-3.csv", "--expires-in", "120").stdout.strip()
    assert requests.get(url).text == "id,value\n3,9\n"

    server.cli("s3", "rm", "s3://cli-bucket/data/", "--recursive")
    assert "part-" not in server.cli("s3", "ls", "s3://cli-bucket/", "--recursive").stdout


def test_cli_s3api_and_errors(server):
    server.cli("s3api", "create-bucket", "--bucket", "api-bucket")
    server.cli("s3api", "put-object", "--bucket", "api-bucket", "--key", "k", "--body", "/etc/hostname")
    head = json.loads(server.cli("s3api", "head-object", "--bucket", "api-bucket", "--key", "k").stdout)
    assert head["ContentLength"] > 0
    versions = server.cli("s3api", "put-bucket-versioning", "--bucket", "api-bucket",
                          "--versioning-configuration", "Status=Enabled")
    assert versions.returncode == 0
    out = server.cli("s3api", "get-object", "--bucket", "api-bucket", "--key", "missing", "/dev/null", check=False)
    assert out.returncode != 0 and "NoSuchKey" in out.stderr


def test_nuage_status_and_version(server):
    import subprocess

    from conftest import BINARY, free_port

    s3 = server.client("s3")
    s3.create_bucket(Bucket="status-b1")
    s3.create_bucket(Bucket="status-b2")
    s3.put_object(Bucket="status-b1", Key="k", Body=b"x" * 2048)
    server.client("logs").create_log_group(logGroupName="app")
    server.client("dynamodb").create_table(
        TableName="status-t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")

    def status(*args, endpoint=server.endpoint):
        return subprocess.run([BINARY, "status", "--endpoint", endpoint, *args], capture_output=True, text=True, timeout=30)

    out = json.loads(status("--json").stdout)
    assert out["services"]["s3"] == {"buckets": 2, "object versions": 1}
    assert out["services"]["logs"]["log groups"] == 1 and out["services"]["dynamodb"]["tables"] == 1
    assert out["data_bytes"] > 2048 and out["uptime_seconds"] >= 0
    text = status().stdout
    assert text.startswith(f"nuage {out['version']} at {server.endpoint}, up ")
    assert "  s3              2 buckets, 1 object versions" in text
    assert status("--quiet").returncode == 0
    # Nothing listening: a clear message and a failing exit status.
    dead = status(endpoint=f"http://127.0.0.1:{free_port()}")
    assert dead.returncode == 1 and "no nuage answers at" in dead.stderr
    assert status("--quiet", endpoint=f"http://127.0.0.1:{free_port()}").stdout == ""
    version = subprocess.run([BINARY, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"nuage {out['version']}"
