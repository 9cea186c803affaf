"""Three local nodes: the shop's topics get three replicas, and one node can die without losing an order."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigEntry, ConfigResource
from tests.conftest import wait_for

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.chaos import Chaos
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics

pytestmark = [pytest.mark.kafka, pytest.mark.slow]  # a chaos run that kills nodes, and a stop and a restart


@pytest.fixture(scope="module")
def cluster(three_nodes: EmbeddedCluster) -> EmbeddedCluster:
    """The session's cluster (tests/conftest.py), named as in a data dir: commands run with FISHCHIPS_DATA_DIR=<its
    parent> take it for the default cluster. Whatever a test here kills, the cluster is whole again when it ends."""
    return three_nodes


def kafka_running(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and b"kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_three_nodes_each_their_own_process_and_port(cluster: EmbeddedCluster) -> None:
    statuses = cluster.status()
    assert [s.running for s in statuses] == [True, True, True]
    assert len({s.state.pid for s in statuses if s.state}) == 3
    assert len({s.bootstrap_servers for s in statuses}) == 3
    metadata = clients.admin(ConnectionSettings(bootstrap_servers=cluster.bootstrap_servers())).list_topics(timeout=10)
    assert sorted(metadata.brokers) == [1, 2, 3]


def test_shop_topics_get_three_replicas_and_two_in_sync(cluster: EmbeddedCluster, prefix: str) -> None:
    admin = clients.admin(ConnectionSettings(bootstrap_servers=cluster.bootstrap_servers()))
    topics = Topics(prefix)
    ensure_shop_topics(admin, topics, 3)

    def replicas() -> set[int]:  # as each broker's metadata learns of the new topic
        return {len(p.replicas) for p in admin.list_topics(topics.orders, timeout=10).topics[topics.orders].partitions.values()}

    wait_for(lambda: replicas() == {3}, 30)
    # each broker learns of a new topic from the metadata log in its own time: the one that answers may not know it yet
    configs: list[dict[str, ConfigEntry]] = []

    def described() -> bool:
        (future,) = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topics.orders)]).values()
        try:
            configs.append(future.result())
        except KafkaException as exc:
            assert exc.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART, exc
            return False
        return True

    wait_for(described, 30)
    assert configs[-1]["min.insync.replicas"].value == "2"


def test_a_short_chaos_run_on_three_nodes_survives_node_kills(cluster: EmbeddedCluster) -> None:
    settings = ConnectionSettings(bootstrap_servers=cluster.bootstrap_servers())
    workdir = Path(tempfile.mkdtemp(prefix="fishchips-chaos-3-"))
    report = Chaos(cluster.nodes(), settings, workdir, orders=150, rate=25, seed=3, prefix="chaos3").run(
        max_seconds=300, min_strikes=4, broker_every=2
    )
    assert report.broker_kills >= 2 and len(report.broker_kill_log) == report.broker_kills
    assert all(kill.caught_up_after is not None for kill in report.broker_kill_log)
    assert report.ledger is not None and (report.ledger.taken, report.ledger.lost, report.ledger.served_twice) == (150, 0, 0)
    assert (report.lost, report.stuck, report.ledger.cooked_twice) == (0, 0, 0)
    assert report.books_ok and report.ok


def doctor(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """`fishchips doctor` with no address, on a data dir whose only broker is the module's cluster."""
    env = {**os.environ, "FISHCHIPS_DATA_DIR": str(data_dir), "COLUMNS": "400"}
    command = [sys.executable, "-m", "fishchips", "doctor"]
    return subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, stdin=subprocess.DEVNULL)


def test_a_command_starts_the_cluster_again_when_it_was_started_last(cluster: EmbeddedCluster) -> None:
    """It stops the cluster, and a command starts it again as three nodes, not one broker."""
    before = [status.state.pid for status in cluster.status() if status.state]
    assert cluster.stop() == 3
    assert not any(kafka_running(pid) for pid in before)

    restarted = doctor(cluster.data.parent)

    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    assert f"at {cluster.bootstrap_servers()} answers (3 brokers)" in restarted.stdout
    statuses = cluster.status()
    assert all(status.running for status in statuses)
    assert not {status.state.pid for status in statuses if status.state} & set(before)
    assert not (cluster.data.parent / "broker" / "broker.json").exists()  # no single broker was started instead
