"""Kafka's view of replication on a real three-node cluster, checked against Kafka's own tools while nodes die.

The cluster is the session's; a test that kills a node brings it back, and waits for every
in-sync replica, before the next test starts.
"""

import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from tests.conftest import wait_for

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.jars import libs_dir
from fishchips.broker.java import find_java
from fishchips.cli.chaos import free_ports
from fishchips.events import Kind, ShopEvent
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.replication import ReplicationView, coordinator_partition, read_replication, render
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.scenarios import scenario
from fishchips.shop import Menu, Order

pytestmark = pytest.mark.kafka

SETTLE = 60.0  # the most a node's death or return may take to show in the metadata on a busy machine
ORDERS = 40  # a till at x4 takes them in about 10 s: some before the kill, some held, some with acks=1
Table = dict[tuple[str, int], tuple[int | None, tuple[int, ...], tuple[int, ...]]]  # (topic, partition) -> leader, replicas, ISR


@pytest.fixture(scope="module")
def cluster(three_nodes: EmbeddedCluster) -> EmbeddedCluster:
    return three_nodes  # the session's (tests/conftest.py)


@pytest.fixture(scope="module")
def settings(cluster: EmbeddedCluster) -> ConnectionSettings:
    return ConnectionSettings(bootstrap_servers=cluster.bootstrap_servers())


@pytest.fixture(scope="module")
def admin(settings: ConnectionSettings) -> AdminClient:
    return clients.admin(settings)  # one client for the module, as the views' poller keeps one


@pytest.fixture
def topics(admin: AdminClient, prefix: str) -> Topics:
    topics = Topics(prefix)
    ensure_shop_topics(admin, topics, 3)
    look(fully_replicated, admin, topics.partitions(3))
    return topics


@pytest.fixture
def kill(cluster: EmbeddedCluster, admin: AdminClient, topics: Topics) -> Iterator[Callable[[int], None]]:
    """SIGKILL one node by its id; afterwards every node is started again and caught up."""

    def kill(node: int) -> None:
        broker = cluster.nodes()[node - 1]
        status = broker.status()
        assert status.state is not None
        os.kill(status.state.pid, signal.SIGKILL)
        wait_for(lambda: not broker.status().running, SETTLE)

    yield kill
    restart(cluster, admin, topics)


def restart(cluster: EmbeddedCluster, admin: AdminClient, topics: Topics) -> None:
    """Start the nodes that are down, then wait until every replica is back in sync."""
    cluster.start(timeout=180)
    look(fully_replicated, admin, topics.partitions(3))


def look(
    condition: Callable[[ReplicationView], bool],
    admin: AdminClient,
    topic_names: Iterable[str],
    groups: Iterable[str] = (),
    transactional_ids: Iterable[str] = (),
) -> ReplicationView:
    """The first view the cluster answers in which the condition holds.

    Just after a kill a request the client sends to the dead node times out, and each broker learns
    of a change in its own time: a view is waited for, never taken from a single look.
    """
    views: list[ReplicationView] = []

    def holds() -> bool:
        views.append(read_replication(admin, topic_names, groups, transactional_ids, expected_nodes=[1, 2, 3]))
        return views[-1].answered and condition(views[-1])

    wait_for(holds, SETTLE)
    return views[-1]


def fully_replicated(view: ReplicationView) -> bool:
    return view.answered and all(b.up for b in view.brokers) and view.under_replicated == 0 and bool(view.partitions)


def kafka_tool(cluster: EmbeddedCluster, main_class: str, *arguments: str) -> str:
    """One of Kafka's own command-line tools, run from the broker's jars as kafka-*.sh would."""
    classpath = f"{libs_dir(cluster.nodes()[0].cache)}/*"
    command = [str(find_java().path), "-cp", classpath, main_class, "--bootstrap-server", cluster.bootstrap_servers(), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def kafka_topics_describe(cluster: EmbeddedCluster, topics: Topics) -> Table:
    """`kafka-topics --describe`'s leader, replicas and ISR of every partition of the shop's topics."""
    out = kafka_tool(cluster, "org.apache.kafka.tools.TopicCommand", "--describe", "--topic", re.escape(topics.prefix) + r"\..*")
    line = re.compile(r"Topic: (\S+)\s+Partition: (\d+)\s+Leader: (\S+)\s+Replicas: ([\d,]*)\s+Isr: ([\d,]*)")

    def nodes(text: str) -> tuple[int, ...]:
        return tuple(int(n) for n in text.split(",") if n)

    return {
        (topic, int(partition)): (None if leader in ("none", "-1") else int(leader), nodes(replicas), nodes(isr))
        for topic, partition, leader, replicas, isr in line.findall(out)
    }


def deliver(producer: Producer, topic: str, partition: int) -> KafkaError | None:
    """Write one event and wait for its delivery report: None if the broker took it, else its error."""
    reports: list[KafkaError | None] = []
    producer.produce(topic, b"cod and chips", partition=partition, on_delivery=lambda err, msg: reports.append(err))
    producer.flush(60)
    (report,) = reports
    return report


def test_coordinators_of_a_group_and_a_transaction(
    cluster: EmbeddedCluster, settings: ConnectionSettings, admin: AdminClient, topics: Topics
) -> None:
    group, transactional_id = topics.group("preparer"), f"{topics.group('preparer')}.p1"
    member: Consumer = clients.consumer(settings, group)
    member.subscribe([topics.orders])
    wait_for(lambda: member.poll(0.2) is None and bool(member.assignment()), SETTLE)
    till = clients.producer(settings, **{"transactional.id": transactional_id})
    till.init_transactions(30)

    view = look(lambda view: True, admin, topics.partitions(3), [group], [transactional_id])
    (group_coordinator, transaction_coordinator) = view.coordinators
    # Kafka's own tool names the transaction's coordinator; the group's is the leader of its partition of __consumer_offsets
    described = kafka_tool(cluster, "org.apache.kafka.tools.TransactionsCommand", "describe", "--transactional-id", transactional_id)
    assert transaction_coordinator.node == int(described.splitlines()[1].split()[0]), described
    offsets = admin.list_topics("__consumer_offsets", timeout=10).topics["__consumer_offsets"].partitions
    assert group_coordinator.node == offsets[coordinator_partition(group, len(offsets))].leader
    assert view.named_controller in {1, 2, 3}
    assert view.to_json()["coordinators"] == [
        {"kind": "group", "name": group, "node": group_coordinator.node, "problem": ""},
        {"kind": "transaction", "name": transactional_id, "node": transaction_coordinator.node, "problem": ""},
    ]
    member.close()


def test_not_enough_replicas_when_fewer_are_in_sync_than_the_topic_needs(
    settings: ConnectionSettings, admin: AdminClient, topics: Topics, kill: Callable[[int], None]
) -> None:
    """With one node down two replicas are in sync: a topic wanting three refuses acks=all with NOT_ENOUGH_REPLICAS."""
    strict = f"{topics.prefix}.strict"
    (created,) = admin.create_topics([NewTopic(strict, 1, 3, config={"min.insync.replicas": "3"})], operation_timeout=30).values()
    created.result()
    leader = look(lambda view: [len(p.in_sync) for p in view.partitions] == [3], admin, [strict]).partitions[0].leader
    kill(next(node for node in (1, 2, 3) if node != leader))
    look(lambda view: [len(p.in_sync) for p in view.partitions] == [2], admin, [strict])

    # retries off, so the broker's answer reaches the delivery report (the idempotent producer would retry it until its timeout)
    once = clients.producer(settings, retries=0, **{"enable.idempotence": False})
    refused = deliver(once, strict, 0)
    assert refused is not None and refused.code() == KafkaError.NOT_ENOUGH_REPLICAS
    hasty = clients.producer(settings, acks="1", **{"enable.idempotence": False})
    assert deliver(hasty, strict, 0) is None


def test_a_till_waits_with_two_nodes_down_writes_on_with_acks_1_and_every_order_is_served_once(
    cluster: EmbeddedCluster, settings: ConnectionSettings, admin: AdminClient, topics: Topics, kill: Callable[[int], None]
) -> None:
    """Two of three nodes down have lost the controllers' majority: the till's acks=all writes are not refused but
    left unanswered (docs/replication.md), so the till keeps those orders and says why. Switched to acks=1, it writes on
    to its partition's leader, the one node up. Once the nodes are back, every order is served once."""
    heard: list[ShopEvent] = []
    floor = ShopFloor(scenario("demo1"), settings, topics, listener=heard.append, speed=4, orders=ORDERS, processes=True)

    def till(kind: Kind) -> list[ShopEvent]:
        return [event for event in list(heard) if event.role == "till-1" and event.kind is kind]

    floor.start()
    try:
        wait_for(lambda: len(till(Kind.TOOK)) >= 3, SETTLE)
        partition = till(Kind.TOOK)[0].partition  # keyed by till: every order of till-1 goes there
        leaders = {p.partition: p.leader for p in look(fully_replicated, admin, [topics.orders]).partitions}
        survivor = leaders[partition]
        assert survivor is not None
        killed = time.monotonic()
        for node in {1, 2, 3} - {survivor}:
            kill(node)

        wait_for(lambda: till(Kind.WAITING), SETTLE)
        print(f"two nodes killed to the till's waiting sentence: {time.monotonic() - killed:.1f} s")  # for the docs, not asserted
        (waiting,) = till(Kind.WAITING)
        assert waiting.detail.startswith("for Kafka: acks=all") and "min.insync.replicas" in waiting.detail, waiting.detail
        taken = len(till(Kind.TOOK))
        floor.set_acks("1")  # the page's and the app's control
        wait_for(lambda: len(till(Kind.TOOK)) >= taken + 3, SETTLE)  # with one node up: its leader alone acknowledges
        assert till(Kind.RESUMED)[0].detail.startswith("switched to acks=1")

        restarted = time.monotonic()
        restart(cluster, admin, topics)
        print(f"restart to full ISR: {time.monotonic() - restarted:.1f} s")
        assert floor.wait(idle_timeout=SETTLE), floor.failures()
        print(f"restart to every order served: {time.monotonic() - restarted:.1f} s")
    finally:
        floor.close()
    summary = floor.summary()
    assert (summary.taken, summary.served, summary.duplicates, summary.in_flight) == (ORDERS, ORDERS, 0, 0)
    served = Counter(Order.from_json(message.value(), Menu.load()).id for message in read_to_end(settings, topics.served))
    assert len(served) == ORDERS and set(served.values()) == {1}  # read_committed: what a reader of `served` sees


def test_unclean_leader_election_is_off(cluster: EmbeddedCluster, admin: AdminClient, topics: Topics) -> None:
    """Only an in-sync replica may lead: a stale one never takes over and drops the orders it missed."""
    resources = [ConfigResource(ConfigResource.Type.TOPIC, topics.orders), ConfigResource(ConfigResource.Type.BROKER, "1")]
    for future in admin.describe_configs(resources).values():
        assert future.result()["unclean.leader.election.enable"].value == "false"


def test_a_cluster_that_does_not_answer_gives_a_view_that_says_so() -> None:
    nowhere = clients.admin(ConnectionSettings(bootstrap_servers=f"127.0.0.1:{free_ports(1)}"))
    view = read_replication(nowhere, ["fishchips.orders"], timeout=1.0)
    assert not view.answered and view.problem.startswith("the cluster did not answer in 1 s")
    assert render(view) == view.problem and view.to_json()["answered"] is False
