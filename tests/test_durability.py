"""State survives restarts and crashes: acknowledged writes are never lost, torn ones never seen."""
import concurrent.futures
import hashlib
import os
import threading
import time

import requests


def test_state_survives_restart(server):
    s3 = server.client()
    s3.create_bucket(Bucket="keep")
    s3.put_bucket_versioning(Bucket="keep", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="keep", Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket="keep", Key="k", Body=b"v2" * 100_000)  # a file-backed body
    uid = s3.create_multipart_upload(Bucket="keep", Key="mp")["UploadId"]
    s3.upload_part(Bucket="keep", Key="mp", UploadId=uid, PartNumber=1, Body=b"p" * 1000)
    server.restart()
    s3 = server.client()
    assert s3.get_object(Bucket="keep", Key="k")["Body"].read() == b"v2" * 100_000
    assert s3.get_object(Bucket="keep", Key="k", VersionId=v1)["Body"].read() == b"v1"
    assert s3.get_bucket_versioning(Bucket="keep")["Status"] == "Enabled"
    assert s3.list_parts(Bucket="keep", Key="mp", UploadId=uid)["Parts"][0]["Size"] == 1000


def test_kill_9_mid_load_loses_no_acknowledged_write(server):
    s3 = server.client()
    s3.create_bucket(Bucket="crash")
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(wid):
        client = server.client()
        i = 0
        while not stop.is_set():
            key = f"w{wid}/obj-{i}"
            # Mix inline (small) and file-backed (large) bodies.
            body = os.urandom(200 if i % 3 else 200_000)
            try:
                client.put_object(Bucket="crash", Key=key, Body=body)
            except Exception:
                return  # the server died under us: this write was never acknowledged
            with lock:
                acked[key] = hashlib.md5(body).hexdigest()
            i += 1

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(writer, w) for w in range(8)]
        deadline = time.time() + 30
        while len(acked) < 300 and time.time() < deadline:
            time.sleep(0.05)
        server.kill()  # SIGKILL while writers are mid-request
        stop.set()
        for f in futures:
            f.result()
    assert len(acked) >= 50, "the load never got going"

    server.start()
    s3 = server.client()
    listed = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
        for o in page.get("Contents", []):
            listed[o["Key"]] = o
    missing = [k for k in acked if k not in listed]
    assert not missing, f"{len(missing)} acknowledged objects lost"
    for key, digest in acked.items():
        body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
        assert hashlib.md5(body).hexdigest() == digest
    # Whatever else is listed was fully written (its ETag matches its bytes).
    for key, o in listed.items():
        body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
        assert '"%s"' % hashlib.md5(body).hexdigest() == o["ETag"] and len(body) == o["Size"]
    blobs = os.listdir(os.path.join(server.data_dir, "state", "blobs"))
    assert not [b for b in blobs if b.endswith(".tmp")], "torn uploads left behind"


def test_health_and_reset(server):
    s3 = server.client()
    s3.create_bucket(Bucket="gone-soon")
    s3.put_object(Bucket="gone-soon", Key="k", Body=b"x" * 100_000)
    health = requests.get(server.endpoint + "/_nuage/health").json()
    assert health["services"]["s3"] == "running" and health["version"]
    assert requests.post(server.endpoint + "/_nuage/reset").json() == {"reset": True}
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket="gone-soon")
    assert "Contents" not in s3.list_objects_v2(Bucket="gone-soon")
