"""Each rebalance protocol on the real broker: two members split the partitions, the admin API names the
group's type, and a transaction commits the group's offsets before and after the group rebalances."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, Producer
from tests.conftest import wait_for

from fishchips.kafka import clients
from fishchips.kafka.inspect import committed_offsets, describe_group, end_offsets
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics

pytestmark = pytest.mark.kafka
PARTITIONS = 6


@pytest.fixture
def topic(kafka: ConnectionSettings, prefix: str) -> str:
    name = f"{prefix}-orders"
    ensure_topics(clients.admin(kafka), {name: PARTITIONS})
    return name


@pytest.fixture
def members() -> Iterator[list[Consumer]]:
    """The test's consumers, each closed (leaving its group) at the end."""
    made: list[Consumer] = []
    with ExitStack() as closing:
        closing.callback(lambda: [member.close() for member in made])
        yield made


def join(kafka: ConnectionSettings, group: str, protocol: GroupProtocol, topic: str, name: str, members: list[Consumer]) -> Consumer:
    member = clients.consumer(kafka, group, protocol, **{"client.id": name})
    member.subscribe([topic])
    members.append(member)
    return member


def split(members: list[Consumer]) -> bool:
    """Every member polled once; True when each holds some partitions and together, without overlap, all of them."""
    for member in members:
        member.poll(0.1)  # rebalance callbacks (here librdkafka's own assign) run inside poll
    held = [{tp.partition for tp in member.assignment()} for member in members]
    return all(held) and sum(map(len, held)) == PARTITIONS and set().union(*held) == set(range(PARTITIONS))


@pytest.mark.parametrize("protocol", list(GroupProtocol))
def test_two_members_split_the_partitions_and_the_group_has_the_protocols_type(
    kafka: ConnectionSettings, prefix: str, topic: str, members: list[Consumer], protocol: GroupProtocol
) -> None:
    group = f"{prefix}-preparers"
    for name in ("first", "second"):
        join(kafka, group, protocol, topic, name, members)
    wait_for(lambda: split(members), 30)
    view = describe_group(clients.admin(kafka), group, {})
    assert view.group_type == protocol.group_type
    assert sorted(m.client_id for m in view.members) == ["first", "second"]


def produce(kafka: ConnectionSettings, topic: str, count: int) -> None:
    producer = clients.producer(kafka)
    for number in range(count):
        producer.produce(topic, str(number).encode(), partition=number % PARTITIONS)
    assert producer.flush(30) == 0


def serve_in_a_transaction(member: Consumer, producer: Producer, output: str, messages: list[Message]) -> None:
    """Consume-transform-produce: the results and the group's offsets commit together, as a transactional preparer's do."""
    producer.begin_transaction()
    for message in messages:
        producer.produce(output, message.value())
    producer.send_offsets_to_transaction(member.position(member.assignment()), member.consumer_group_metadata(), 30)
    producer.commit_transaction(30)


@pytest.mark.parametrize("protocol", list(GroupProtocol))
def test_transactions_commit_the_groups_offsets_before_and_after_a_rebalance(
    kafka: ConnectionSettings, prefix: str, topic: str, members: list[Consumer], protocol: GroupProtocol
) -> None:
    group, output = f"{prefix}-preparers", f"{prefix}-served"
    admin = clients.admin(kafka)
    ensure_topics(admin, {output: 1})
    producers = []
    for name in ("first", "second"):
        producer = clients.producer(kafka, **{"transactional.id": f"{prefix}-{name}"})
        producer.init_transactions(30)
        producers.append(producer)
    first = join(kafka, group, protocol, topic, "first", members)
    produce(kafka, topic, 12)
    read: list[Message] = []
    wait_for(lambda: read.extend(m for m in first.consume(100, 0.2) if not m.error()) or len(read) == 12, 30)
    serve_in_a_transaction(first, producers[0], output, read)
    # the commit's markers reach __consumer_offsets just after commit_transaction returns: the offsets show a moment later
    wait_for(lambda: sum(committed_offsets(admin, group).values()) == 12, 10)

    join(kafka, group, protocol, topic, "second", members)  # the group rebalances: a new generation, or new member epochs
    wait_for(lambda: split(members), 30)
    produce(kafka, topic, 12)
    batches: list[list[Message]] = [[], []]

    def everything_read() -> bool:
        for member, batch in zip(members, batches, strict=True):
            batch.extend(m for m in member.consume(100, 0.1) if not m.error())
        return sum(map(len, batches)) == 12

    wait_for(everything_read, 30)
    for member, producer, batch in zip(members, producers, batches, strict=True):
        serve_in_a_transaction(member, producer, output, batch)
    wait_for(lambda: sum(committed_offsets(admin, group).values()) == 24, 10)
    assert sum(end_offsets(admin, [output])[output].values()) >= 24  # 24 results, plus the transactions' commit markers


def test_the_rebalance_benchmark_measures_a_join_a_leave_and_a_kill(kafka: ConnectionSettings, tmp_path: Path) -> None:
    """`python benchmarks/rebalance.py`, its smallest run that has every change, on the session's broker; its JSON parsed."""
    out = tmp_path / "rebalance.json"
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "rebalance.py"
    command = [sys.executable, str(script), "-b", str(kafka.bootstrap_servers), "--members", "2", "--protocols", "consumer"]
    wide = {**os.environ, "COLUMNS": "250"}  # the table unwrapped
    done = subprocess.run([*command, "--rate", "5", "--no-docs", "--out", str(out)], capture_output=True, text=True, timeout=300, env=wide)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["meta"]["partitions"] == PARTITIONS and figures["meta"]["rate"] == 5
    changes = {m["change"]: m for m in figures["results"]}
    assert set(changes) == {"join", "leave", "kill -9"}
    assert all(m["protocol"] == "consumer" and m["members"] == 2 and m["settled_s"] is not None for m in changes.values())
    assert changes["kill -9"]["moved"] >= 1  # the killed member's partitions found a new owner
    assert "kill -9" in done.stdout  # the table
