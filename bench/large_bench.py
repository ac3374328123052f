"""Large objects through nuage (release build), beside this machine's own ceilings measured in
the same run: a 1 GiB single PUT against `dd ... conv=fsync` writing the same bytes, a 1 GiB
GET against nginx serving the same file, and a 5 GiB multipart upload; nuage's peak RSS over
its idle RSS for each. All traffic stays on 127.0.0.1."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

GIB = 1024**3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples a process's RSS every 20 ms while a block runs."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self):
        self.peak = rss_mib(self.pid)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mib(self.pid))
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def timed(cmd):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nuage", required=True)
    ap.add_argument("--size-gib", type=float, default=1.0)
    ap.add_argument("--multipart-gib", type=float, default=5.0)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="nuage-large-", dir=os.environ.get("BENCH_DIR", "/work"))
    # nginx's workers read the file as their own user.
    os.chmod(work, 0o755)
    size = int(args.size_gib * GIB)
    src = os.path.join(work, "object.bin")
    with open(src, "wb") as f:
        chunk = os.urandom(64 * 1024 * 1024)
        left = size
        while left:
            n = min(left, len(chunk))
            f.write(chunk[:n])
            left -= n
    os.chmod(src, 0o644)
    port, nginx_port = free_port(), free_port()
    proc = subprocess.Popen(
        [args.nuage, "--port", str(port), "--data-dir", os.path.join(work, "state"), "--no-samples", "--log", "warn"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(
            f"daemon off; worker_processes 2; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{ access_log off; sendfile on; server {{ listen 127.0.0.1:{nginx_port}; root {work}; }} }}\n"
        )
    nginx = subprocess.Popen(["nginx", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test",
            region_name="us-east-1", config=Config(signature_version="s3v4", retries={"max_attempts": 1}),
        )
        for _ in range(200):
            try:
                s3.list_buckets()
                break
            except Exception:
                time.sleep(0.05)
        s3.create_bucket(Bucket="large")
        idle = rss_mib(proc.pid)

        dd_s = timed(["dd", f"if={src}", f"of={work}/dd.out", "bs=8M", "conv=fsync"])
        os.remove(f"{work}/dd.out")
        put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "large", "Key": "one"}, ExpiresIn=3600)
        with PeakRss(proc.pid) as put_rss:
            put_s = timed(["curl", "-sf", "-T", src, "-H", "Content-Type: application/octet-stream", put_url])
        get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "large", "Key": "one"}, ExpiresIn=3600)
        with PeakRss(proc.pid) as get_rss:
            get_s = timed(["curl", "-sf", "-o", "/dev/null", get_url])
        nginx_s = timed(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{nginx_port}/object.bin"])
        got = s3.head_object(Bucket="large", Key="one")["ContentLength"]
        assert got == size, got

        mp_size = int(args.multipart_gib * GIB)
        sparse = os.path.join(work, "multipart.bin")
        with open(sparse, "wb") as f:
            f.truncate(mp_size)
        transfer = TransferConfig(multipart_threshold=64 * 1024 * 1024, multipart_chunksize=64 * 1024 * 1024, max_concurrency=4)
        with PeakRss(proc.pid) as mp_rss:
            started = time.perf_counter()
            s3.upload_file(sparse, "large", "multi", Config=transfer)
            mp_s = time.perf_counter() - started
        assert s3.head_object(Bucket="large", Key="multi")["ContentLength"] == mp_size

        mib = size / (1024 * 1024)
        print(f"object: {mib:.0f} MiB; nuage idle RSS {idle:.0f} MiB")
        print(f"PUT  nuage {mib / put_s:8.1f} MiB/s   dd conv=fsync {mib / dd_s:8.1f} MiB/s   ratio {dd_s / put_s:.2f}   peak RSS +{put_rss.peak - idle:.0f} MiB")
        print(f"GET  nuage {mib / get_s:8.1f} MiB/s   nginx         {mib / nginx_s:8.1f} MiB/s   ratio {nginx_s / get_s:.2f}   peak RSS +{get_rss.peak - idle:.0f} MiB")
        print(f"multipart {mp_size / GIB:.0f} GiB in 64 MiB parts, 4 at a time: {mp_size / (1024 * 1024) / mp_s:.1f} MiB/s   peak RSS +{mp_rss.peak - idle:.0f} MiB")
    finally:
        proc.send_signal(signal.SIGTERM)
        nginx.send_signal(signal.SIGQUIT)
        proc.wait(timeout=30)
        nginx.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
