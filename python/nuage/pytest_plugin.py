"""pytest fixtures for testing AWS code against nuage: one server per test session, on a
free loopback port with throw-away state.

    def test_upload(nuage):                  # AWS_ENDPOINT_URL and test keys are set
        boto3.client("s3").create_bucket(Bucket="b")

    def test_with_a_client(nuage_client):
        nuage_client("dynamodb").list_tables()

    @pytest.mark.nuage_reset                  # starts from an empty nuage
    def test_clean(nuage): ...

    def test_sql(nuage_redshift_cluster):     # a ready cluster's connection parameters
        psycopg2.connect(**nuage_redshift_cluster["connect"])
        redshift_connector.connect(**nuage_redshift_cluster["redshift_connector"])

Options: --nuage-url (use a running nuage instead of starting one), --nuage-keep-state (keep
the state directory and log, and print where), --nuage-no-enforce (no IAM policy
evaluation), --nuage-reset (empty nuage before every test that uses it).
"""
import os
import uuid

import pytest

from . import Server, free_port

PASSWORD = "Nuage-Pytest-1"


def pytest_addoption(parser):
    group = parser.getgroup("nuage", "nuage, a local AWS cloud")
    group.addoption("--nuage-url", default=os.environ.get("NUAGE_URL"),
                    help="use the nuage running at this URL instead of starting one")
    group.addoption("--nuage-keep-state", action="store_true", help="keep the server's state directory and log")
    group.addoption("--nuage-no-enforce", action="store_true", help="start nuage without IAM policy evaluation")
    group.addoption("--nuage-reset", action="store_true", help="empty nuage before every test that uses it")


def pytest_configure(config):
    config.addinivalue_line("markers", "nuage_reset: start this test from an empty nuage")


@pytest.fixture(scope="session")
def nuage_server(request):
    """The session's nuage (started once, stopped at the end)."""
    opt = request.config.getoption
    server = Server(url=opt("--nuage-url"), enforce_policies=not opt("--nuage-no-enforce"),
                    keep_state=opt("--nuage-keep-state"))
    server.start()
    yield server
    server.stop()
    if opt("--nuage-keep-state") and server.data_dir:
        print(f"\nnuage state kept in {server.data_dir} (log: {server.log_path})")


@pytest.fixture
def nuage(nuage_server, request, monkeypatch):
    """The server, with the AWS SDK and CLI environment pointing at it for this test."""
    if request.config.getoption("--nuage-reset") or request.node.get_closest_marker("nuage_reset"):
        nuage_server.reset()
    for name, value in nuage_server.environment().items():
        monkeypatch.setenv(name, value)
    # Shared configuration files must not send the SDKs elsewhere.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return nuage_server


@pytest.fixture
def nuage_client(nuage):
    """A factory of boto3 clients on the server: `nuage_client("s3")`, with `region=`,
    `access_key=`, `secret_key=`, `session_token=` to act as another principal."""
    return nuage.client


@pytest.fixture
def nuage_redshift_cluster(nuage):
    """A Redshift cluster, available, and how to reach its SQL port: `identifier`, `host`,
    `port`, `database`, `user`, `password`; `connect`, the keyword arguments of
    psycopg2.connect and psycopg.connect; `redshift_connector`, those of
    redshift_connector.connect (with ssl=False: nuage's SQL port speaks no TLS); `dsn`, a
    libpq connection string (psql, psycopg). Deleted after the test."""
    redshift = nuage.client("redshift")
    identifier = f"pytest-{uuid.uuid4().hex[:8]}"
    port = free_port()
    redshift.create_cluster(ClusterIdentifier=identifier, NodeType="dc2.large", ClusterType="single-node",
                            MasterUsername="awsuser", MasterUserPassword=PASSWORD, DBName="dev", Port=port)
    redshift.get_waiter("cluster_available").wait(ClusterIdentifier=identifier, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    endpoint = redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]["Endpoint"]
    host, port = endpoint["Address"], endpoint["Port"]
    yield {
        "identifier": identifier, "host": host, "port": port, "database": "dev", "user": "awsuser", "password": PASSWORD,
        "connect": {"host": host, "port": port, "dbname": "dev", "user": "awsuser", "password": PASSWORD},
        "redshift_connector": {"host": host, "port": port, "database": "dev", "user": "awsuser", "password": PASSWORD, "ssl": False},
        "dsn": f"host={host} port={port} dbname=dev user=awsuser password={PASSWORD}",
    }
    try:
        redshift.delete_cluster(ClusterIdentifier=identifier, SkipFinalClusterSnapshot=True)
    except Exception:
        pass  # a test that reset nuage has removed it already
