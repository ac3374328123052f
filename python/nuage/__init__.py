"""nuage from Python: find the installed `nuage` binary, start a server on a free loopback
port with its own state, wait until it answers, reset it, stop it.

    from nuage import Server
    with Server() as s:
        s3 = s.client("s3")

The pytest plugin (`nuage.pytest_plugin`, registered through the `pytest11` entry point)
builds its fixtures on this.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request

__all__ = ["Server", "binary", "ACCESS_KEY", "SECRET_KEY", "REGION"]

# The root of account 000000000000, nuage's default credentials.
ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


def binary():
    """The `nuage` executable: the one this package was installed with, else `$NUAGE_BIN`,
    else the first on PATH."""
    name = "nuage.exe" if sys.platform == "win32" else "nuage"
    candidates = [os.environ.get("NUAGE_BIN"), os.path.join(sysconfig.get_path("scripts"), name), shutil.which(name)]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise FileNotFoundError("the nuage binary is not installed (pip install nuage, or set NUAGE_BIN)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A nuage process on 127.0.0.1. With no `data_dir`, its state lives in a temporary
    directory removed when it stops (`keep_state=True` leaves it for a look afterwards).
    `url` attaches to a server already running instead of starting one."""

    def __init__(self, port=None, data_dir=None, enforce_policies=True, samples=False, keep_state=False,
                 extra_args=(), url=None, startup_timeout=30):
        self.url = url.rstrip("/") if url else None
        self.port = port
        self.data_dir = data_dir
        self.enforce_policies = enforce_policies
        self.samples = samples
        self.keep_state = keep_state
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.process = None
        self._temp = None
        self.log_path = None

    @property
    def endpoint(self):
        return self.url or f"http://127.0.0.1:{self.port}"

    def start(self):
        if self.url:
            self.wait()
            return self
        self.port = self.port or free_port()
        if self.data_dir is None:
            self._temp = tempfile.mkdtemp(prefix="nuage-")
            self.data_dir = self._temp
        os.makedirs(self.data_dir, exist_ok=True)
        args = [binary(), "--port", str(self.port), "--data-dir", os.path.join(self.data_dir, "state")]
        if not self.enforce_policies:
            args.append("--no-enforce-policies")
        if not self.samples:
            args.append("--no-samples")
        self.log_path = os.path.join(self.data_dir, "nuage.log")
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(args + self.extra_args, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.wait()
        return self

    def health(self):
        with urllib.request.urlopen(self.endpoint + "/_nuage/health", timeout=2) as r:
            return json.load(r)

    def wait(self):
        deadline = time.time() + self.startup_timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nuage exited with {self.process.returncode}: {self.log_tail()}")
            try:
                return self.health()
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"nuage did not answer on {self.endpoint}: {self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self, size=2000):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read()[-size:].decode(errors="replace")

    def reset(self):
        """Empties every service: buckets, users, clusters, tables, log groups."""
        req = urllib.request.Request(self.endpoint + "/_nuage/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._temp and not self.keep_state:
            shutil.rmtree(self._temp, ignore_errors=True)

    def environment(self):
        """The variables that point the AWS SDKs and CLI at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }

    def client(self, service, region=REGION, access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None, **config):
        """A boto3 client for `service` on this server (boto3 must be installed)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 2}, **config),
        )

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
