"""One real Kafka broker for the whole test run, on a free port with a throw-away data dir."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Before anything imports fishchips.paths users: keep the user's own broker, books and log out of the tests.
_TEST_HOME = Path(tempfile.mkdtemp(prefix="fishchips-tests-"))
os.environ["FISHCHIPS_DATA_DIR"] = str(_TEST_HOME / "data")
# every folder a test or a command under test makes (brokers, chaos runs) goes under the test home too
(_TEST_HOME / "tmp").mkdir()
os.environ["TMPDIR"] = tempfile.tempdir = str(_TEST_HOME / "tmp")
for _variable in (
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_CERTS_DIR",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_USERNAME",
    "KAFKA_PASSWORD",
    "FISHCHIPS_CONFIG",
):
    os.environ.pop(_variable, None)

from fishchips.broker.cluster import EmbeddedCluster  # noqa: E402
from fishchips.broker.embedded import BrokerStatus, EmbeddedBroker  # noqa: E402
from fishchips.cli.chaos import free_ports  # noqa: E402
from fishchips.kafka.settings import ConnectionSettings  # noqa: E402
from fishchips.services.local_server import free_port  # noqa: E402
from fishchips.services.postgres import LocalPostgres  # noqa: E402

POSTGRES_URL = "FISHCHIPS_TEST_POSTGRES_URL"


_outcome: dict[str, int] = {}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _outcome["exit"] = exitstatus


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """run-tests.sh runs two workers (pytest-xdist, --dist loadgroup). A module's tests stay together on one worker, and
    every test of the session's three-node cluster on one, so a server is started once per worker that needs it."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = "three-nodes" if "three_nodes" in getattr(item, "fixturenames", ()) else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Last of all (plugins read their own temp folders in their session finish, which comes before), with every
    server stopped: a green run leaves nothing behind; a red one keeps its test home, the log file and the brokers'
    logs, to be read."""
    if _outcome.get("exit") == 0:
        shutil.rmtree(_TEST_HOME, ignore_errors=True)


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.1) -> None:
    """Poll until the condition holds: the tests wait for what they need, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(every)


def visiting_preparer(
    kafka: ConnectionSettings, prefix: str, guarantee: str, protocol: str = "consumer", speed: float = 4
) -> subprocess.Popen[str]:
    """`fishchips preparer` as a process of its own, named "visitor", joining the shop's group; its output is a pipe."""
    command = ["preparer", guarantee, "-b", str(kafka.bootstrap_servers), "--prefix", prefix, "--name", "visitor", "--speed", str(speed)]
    command += ["--group-protocol", protocol]
    return subprocess.Popen([sys.executable, "-m", "fishchips", *command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    """The session's broker; stopped (and checked gone) when the run ends."""
    broker = EmbeddedBroker(_TEST_HOME / "broker")
    broker.start(port=free_port(), timeout=120)
    yield broker
    broker.stop()


# the three-node cluster's own data dir: a command run with FISHCHIPS_DATA_DIR=THREE_NODES_HOME takes it for the local cluster
THREE_NODES_HOME = _TEST_HOME / "three-nodes"


@pytest.fixture(scope="session")
def three_nodes() -> Iterator[EmbeddedCluster]:
    """The session's three-node cluster, started once for every test that needs one.

    A test that kills a node starts it again and waits for every replica to be back in sync before it ends.
    """
    cluster = EmbeddedCluster(THREE_NODES_HOME / "cluster")
    cluster.start(port=free_ports(3), timeout=180)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def broker_status(embedded_broker: EmbeddedBroker) -> BrokerStatus:
    return embedded_broker.status()


@pytest.fixture(scope="session")
def kafka(broker_status: BrokerStatus) -> ConnectionSettings:
    """Connection settings for the session's broker."""
    assert broker_status.bootstrap_servers
    return ConnectionSettings(bootstrap_servers=broker_status.bootstrap_servers)


@pytest.fixture
def prefix() -> str:
    """A fresh topic and group prefix per test, so tests never see each other's events."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def test_home() -> Path:
    return _TEST_HOME


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL: FISHCHIPS_TEST_POSTGRES_URL, or a throw-away server on 127.0.0.1 for this run (deleted after)."""
    if url := os.environ.get(POSTGRES_URL):
        yield url
        return
    server = LocalPostgres(_TEST_HOME / "postgres")
    url = server.start(port=free_port()).url
    assert url
    try:
        yield url
    finally:
        server.stop(delete=True)
