"""Acceptance-test fixtures: each test drives the real `nuage` binary on a free loopback port."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = os.environ.get("NUAGE_BIN", str(ROOT / "target" / "debug" / "nuage"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nuage:
    """A nuage process with its own data directory; can be stopped, killed and restarted."""

    def __init__(self, data_dir, extra_args=(), samples=False):
        self.data_dir = data_dir
        self.port = free_port()
        # Publishing the sample buckets costs a second or two of CPU: only tests of them pay it.
        self.extra_args = list(extra_args) + ([] if samples else ["--no-samples"])
        self.proc = None
        self.log_path = os.path.join(data_dir, "nuage.log")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BINARY, "--port", str(self.port), "--data-dir", os.path.join(self.data_dir, "state"), *self.extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nuage exited: {open(self.log_path).read()[-2000:]}")
            try:
                urllib.request.urlopen(self.endpoint + "/_nuage/health", timeout=1)
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nuage did not become ready")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=20)

    def restart(self):
        self.stop()
        return self.start()

    def client(self, service="s3", access_key="test", secret_key="test", region="us-east-1", session_token=None, **config):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            region_name=region,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def cli(self, *args, check=True, input=None, access_key="test", secret_key="test"):
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=access_key,
            AWS_SECRET_ACCESS_KEY=secret_key,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        )
        aws = shutil.which("aws", path=os.path.dirname(os.sys.executable)) or "aws"
        return subprocess.run([aws, *args], env=env, capture_output=True, text=True, check=check, input=input, timeout=120)


@pytest.fixture
def server(tmp_path):
    n = Nuage(str(tmp_path)).start()
    yield n
    n.kill()


def with_bootstrap(tmp_path, toml):
    """A nuage started with a bootstrap file declaring further accounts, users and keys."""
    boot = tmp_path / "boot.toml"
    boot.write_text(toml)
    return Nuage(str(tmp_path), ["--bootstrap", str(boot)]).start()


PARTNER_BOOTSTRAP = """
[[account]]
id = "222233334444"
display_name = "partner"
root_keys = [{ access_key = "PARTNERROOT", secret_key = "partnersecret" }]
"""


@pytest.fixture
def partner_server(tmp_path):
    """A nuage with a second account, 222233334444, whose root signs with PARTNERROOT."""
    n = with_bootstrap(tmp_path, PARTNER_BOOTSTRAP)
    yield n
    n.kill()


@pytest.fixture
def s3(server):
    return server.client()


@pytest.fixture
def bucket(s3):
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp()
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)
