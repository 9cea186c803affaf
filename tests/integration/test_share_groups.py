"""Share groups (KIP-932) on the real broker: each record to one member at a time, acknowledged on its own.

Accept, release, reject, a lock that runs out, the delivery limit, the implicit mode's pitfall, the
group's view as kafka-share-groups.sh shows it, and the example preparer. The broker fishchips starts lets a
record lock last 1 s at least (group.share.min.record.lock.duration.ms, read-only; Kafka's default is 15 s):
the lock test uses the shop's 5 s.
"""

import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import AcknowledgeType, Consumer, Message, Producer, ShareConsumer
from confluent_kafka.admin import AdminClient
from tests.conftest import wait_for

from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.share_groups import (
    ShareGroupError,
    ShareGroupSettings,
    ShareGroupView,
    configure,
    describe,
    group_configs,
    make_dead_letter_topic,
)
from fishchips.kafka.topics import ensure_topics
from fishchips.roles.share_group import LOCK_MS
from fishchips.shop.order import Order

pytestmark = pytest.mark.kafka
EXAMPLE = Path(__file__).parents[2] / "examples" / "share_preparer.py"
SHORTEST_LOCK_MS = 1000  # the broker's group.share.min.record.lock.duration.ms (broker/embedded.py)


@dataclass(frozen=True)
class Shared:
    """A topic and a share group reading it, both fresh for the test."""

    kafka: ConnectionSettings
    admin: AdminClient
    topic: str
    group: str

    def member(self, name: str, mode: str = "explicit") -> ShareConsumer:
        consumer = ShareConsumer(
            {
                **self.kafka.client_config(),
                "group.id": self.group,
                "client.id": name,
                "share.acknowledgement.mode": mode,
                "max.poll.records": 2,  # a soft limit: a member takes a few records, not the whole partition
            }
        )
        consumer.subscribe([self.topic])
        return consumer

    def produce(self, values: list[bytes], partition: int = -1) -> None:
        """Each record a batch of its own, so that the broker can lend them to different members."""
        producer = Producer(self.kafka.client_config())
        for value in values:
            producer.produce(self.topic, value, partition=partition)
            producer.flush(10)

    def view(self) -> ShareGroupView:
        return describe(self.kafka, self.group)


def share_group(kafka: ConnectionSettings, prefix: str, partitions: int, settings: ShareGroupSettings) -> Shared:
    admin = clients.admin(kafka)
    shared = Shared(kafka, admin, f"{prefix}-orders", f"{prefix}-share")
    ensure_topics(admin, {shared.topic: partitions})
    configure(admin, shared.group, settings)
    return shared


@pytest.fixture
def members() -> Iterator[ExitStack]:
    """Closes every member the test opened, acknowledging what each still holds."""
    with ExitStack() as stack:
        yield stack


def opened(stack: ExitStack, consumer: ShareConsumer) -> ShareConsumer:
    stack.callback(consumer.close)
    return consumer


def taken(consumer: ShareConsumer, timeout: float = 0.5) -> list[Message]:
    messages = list(consumer.poll(timeout))
    errors = [m.error() for m in messages if m.error()]
    assert not errors, errors
    return messages


def take_at_least(consumer: ShareConsumer, count: int, timeout: float = 30.0) -> list[Message]:
    """Poll until the member holds `count` records (acknowledging none of them)."""
    got: list[Message] = []

    def more() -> bool:
        got.extend(taken(consumer))
        return len(got) >= count

    wait_for(more, timeout, every=0)
    return got


def joined(shared: Shared, names: set[str]) -> bool:
    """Every named member is in the group with partitions to take from (the view asks the broker)."""
    try:
        view = shared.view()
    except ShareGroupError:  # no member has joined yet
        return False
    return {m.client_id for m in view.members if m.partitions} >= names


def poll_all(consumers: list[ShareConsumer], until_seen: int, timeout: float = 60.0) -> dict[tuple[int, int], list[str]]:
    """Each member in turn takes records and ACCEPTs them: which members got each (partition, offset)."""
    got: dict[tuple[int, int], list[str]] = defaultdict(list)
    names = [f"m{i}" for i in range(len(consumers))]

    def step() -> bool:
        for name, consumer in zip(names, consumers, strict=True):
            for message in taken(consumer, 0.2):
                got[(message.partition() or 0, message.offset() or 0)].append(name)
                consumer.acknowledge(message, AcknowledgeType.ACCEPT)
        return len(got) >= until_seen

    wait_for(step, timeout, every=0)
    for consumer in consumers:
        consumer.commit_sync(10.0)
    return got


@pytest.mark.parametrize("partitions", [1, 2])
def test_three_members_each_take_work_and_each_record_comes_once(
    kafka: ConnectionSettings, prefix: str, members: ExitStack, partitions: int
) -> None:
    # locks that outlast the test: a record comes to a second member only if the first handed it back
    shared = share_group(kafka, prefix, partitions, ShareGroupSettings(lock_duration_ms=60000))
    consumers = [opened(members, shared.member(f"m{i}")) for i in range(3)]
    # more members than partitions, and still every one of them is given a partition to take from
    wait_for(lambda: [taken(c, 0.1) for c in consumers] and joined(shared, {"m0", "m1", "m2"}), 60, every=0)
    got: dict[tuple[int, int], list[str]] = defaultdict(list)
    for turn, consumer in enumerate(consumers):
        # new orders come into every partition (whichever this member was given) while the members before
        # hold theirs, locked: this member is lent some of them
        for i in range(10):
            shared.produce([f"order {turn}.{i}".encode()], partition=i % partitions)
        for message in take_at_least(consumer, 1):
            got[(message.partition() or 0, message.offset() or 0)].append(f"m{turn}")
            consumer.acknowledge(message, AcknowledgeType.ACCEPT)
    for (partition, offset), who in poll_all(consumers, until_seen=30 - len(got)).items():
        got[(partition, offset)].extend(who)
    assert len(got) == 30
    assert all(len(who) == 1 for who in got.values()), {offset: who for offset, who in got.items() if len(who) > 1}
    served = Counter(who[0] for who in got.values())
    assert set(served) == {"m0", "m1", "m2"}, served


def test_a_released_record_goes_to_another_member_at_once(kafka: ConnectionSettings, prefix: str, members: ExitStack) -> None:
    # the longest lock the broker allows: the record comes back long before it could have run out
    shared = share_group(kafka, prefix, 1, ShareGroupSettings(lock_duration_ms=60000))
    first, second = opened(members, shared.member("first")), opened(members, shared.member("second"))
    shared.produce([b"order 1"])
    held = take_at_least(first, 1)
    assert held[0].delivery_count() == 1
    first.acknowledge(held[0], AcknowledgeType.RELEASE)
    first.commit_sync(10.0)
    again = take_at_least(second, 1)
    assert (again[0].offset(), again[0].value(), again[0].delivery_count()) == (held[0].offset(), b"order 1", 2)
    second.acknowledge(again[0], AcknowledgeType.ACCEPT)
    second.commit_sync(10.0)


def test_a_rejected_record_is_archived_and_copied_to_the_dead_letter_topic(
    kafka: ConnectionSettings, prefix: str, members: ExitStack
) -> None:
    dead_letters = f"dlq.{prefix}-orders"  # the broker's errors.deadletterqueue.topic.name.prefix is "dlq."
    make_dead_letter_topic(clients.admin(kafka), dead_letters)
    shared = share_group(kafka, prefix, 1, ShareGroupSettings(dead_letter_topic=dead_letters))
    member = opened(members, shared.member("only"))
    shared.produce([b"not an order", b"order 2"])
    fates = {b"not an order": AcknowledgeType.REJECT, b"order 2": AcknowledgeType.ACCEPT}
    seen: list[bytes | None] = []

    def serve(until_seen: int) -> None:
        def step() -> bool:
            for message in taken(member):
                seen.append(message.value())
                member.acknowledge(message, fates.get(message.value() or b"", AcknowledgeType.ACCEPT))
            return len(seen) >= until_seen

        wait_for(step, 30, every=0)
        member.commit_sync(10.0)

    serve(until_seen=2)
    shared.produce([b"order 3"])
    serve(until_seen=3)
    assert seen == [b"not an order", b"order 2", b"order 3"]  # the rejected record never came again
    # the broker copied it, saying where it came from and why
    reader = Consumer({**kafka.client_config(), "group.id": f"{prefix}-reader", "auto.offset.reset": "earliest"})
    reader.subscribe([dead_letters])
    copied: list[Message] = []

    def read() -> bool:
        copied.extend(m for m in reader.consume(1, 0.5) if not m.error())
        return bool(copied)

    wait_for(read, 30, every=0)
    reader.close()
    headers = dict(copied[0].headers() or [])
    assert copied[0].value() is None or copied[0].value() == b"not an order"
    assert headers["__dlq.errors.topic"] == shared.topic.encode()
    assert headers["__dlq.errors.offset"] == b"0"
    assert headers["__dlq.errors.message"] == b"Offset rejected by client."


def test_a_killed_members_records_come_back_after_the_lock(kafka: ConnectionSettings, prefix: str, members: ExitStack) -> None:
    shared = share_group(kafka, prefix, 1, ShareGroupSettings(lock_duration_ms=LOCK_MS))
    shared.produce([b"order 1", b"order 2"])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(kafka.bootstrap_servers), shared.topic, shared.group], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().startswith("holding")  # it took the records and will never acknowledge them
        holder.send_signal(signal.SIGKILL)  # kill -9: no goodbye to the group, no release
        holder.wait(10)
        survivor = opened(members, shared.member("survivor"))
        back = take_at_least(survivor, 2, timeout=60)
        assert [(m.value(), m.delivery_count()) for m in back] == [(b"order 1", 2), (b"order 2", 2)]
        for message in back:
            survivor.acknowledge(message, AcknowledgeType.ACCEPT)
        survivor.commit_sync(10.0)
    finally:
        holder.kill()
        holder.wait(10)


# a member that takes records and holds them without a word: what a preparer stuck in a fryer fire looks like
HOLDER = """
import signal, sys
from confluent_kafka import ShareConsumer
bootstrap, topic, group = sys.argv[1:]
consumer = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group, "share.acknowledgement.mode": "explicit"})
consumer.subscribe([topic])
held = []
while len(held) < 2:
    held += [m for m in consumer.poll(0.5) if not m.error()]
print("holding", len(held), flush=True)
signal.pause()
"""


def test_a_record_delivered_too_often_is_archived(kafka: ConnectionSettings, prefix: str, members: ExitStack) -> None:
    shared = share_group(kafka, prefix, 1, ShareGroupSettings(delivery_count_limit=2))  # the least the broker allows
    member = opened(members, shared.member("fumbler"))
    shared.produce([b"too hard"])
    deliveries: list[int] = []

    def fumble() -> bool:
        for message in taken(member):
            deliveries.append(message.delivery_count() or 0)
            member.acknowledge(message, AcknowledgeType.RELEASE)  # not now, every time
        member.commit_sync(10.0)
        return len(deliveries) >= 2

    wait_for(fumble, 30, every=0)
    shared.produce([b"easy"])
    accepted: list[bytes | None] = []

    def serve() -> bool:
        for message in taken(member):
            accepted.append(message.value())
            member.acknowledge(message, AcknowledgeType.ACCEPT)
        member.commit_sync(10.0)
        return b"easy" in accepted

    wait_for(serve, 30, every=0)
    assert deliveries == [1, 2]
    assert accepted == [b"easy"]  # "too hard" did not come a third time: it is archived
    wait_for(lambda: shared.view().lag == {(shared.topic, 0): 0}, 60)  # nothing left to deliver


def test_implicit_mode_closing_without_a_commit_hands_the_last_poll_out_again(
    kafka: ConnectionSettings, prefix: str, members: ExitStack
) -> None:
    """The pitfall the issue found: in implicit mode a poll's records are accepted only at the next poll or commit."""
    shared = share_group(kafka, prefix, 1, ShareGroupSettings())
    shared.produce([b"order 1"])
    careless = shared.member("careless", mode="implicit")
    take_at_least(careless, 1)
    careless.close()  # no commit_sync() first: the record is released, not accepted
    careful = opened(members, shared.member("careful", mode="implicit"))
    again = take_at_least(careful, 1)
    assert (again[0].value(), again[0].delivery_count()) == (b"order 1", 2)
    careful.commit_sync(10.0)  # the right way: accept what the last poll gave, then close
    wait_for(lambda: shared.view().lag == {(shared.topic, 0): 0}, 60)


def test_the_view_shows_members_their_partitions_start_offsets_and_lag(kafka: ConnectionSettings, prefix: str, members: ExitStack) -> None:
    shared = share_group(kafka, prefix, 2, ShareGroupSettings())
    consumers = [opened(members, shared.member(name)) for name in ("alice", "bob")]
    wait_for(lambda: [taken(c, 0.1) for c in consumers] and joined(shared, {"alice", "bob"}), 60, every=0)
    for partition in (0, 1):
        shared.produce([b"order"] * 3, partition)
    poll_all(consumers, until_seen=6)
    shared.produce([b"waiting"] * 2, partition=0)  # nobody polls these
    ends = end_offsets(shared.admin, [shared.topic])[shared.topic]
    assert ends == {0: 5, 1: 3}
    # lag: records not yet acknowledged for good; the coordinator writes its state a moment after the acknowledgements
    views: list[ShareGroupView] = []
    wait_for(lambda: views.append(shared.view()) or views[-1].lag == {(shared.topic, 0): 2, (shared.topic, 1): 0}, 90, every=0)
    view = views[-1]
    assert view.name == shared.group and view.state == "Stable"
    assert [m.client_id for m in view.members] == ["alice", "bob"]
    # the broker's assignor gives every member partitions to take from, and covers every partition
    assert all(m.partitions for m in view.members)
    assert {p for m in view.members for p in m.partitions} == {(shared.topic, 0), (shared.topic, 1)}
    assert view.total_lag == 2
    # the start offset (the first record not yet done with) is moved on lazily: seen here to lag behind the acknowledgements
    assert set(view.start_offsets) == {(shared.topic, 0), (shared.topic, 1)}
    assert all(0 <= start <= 3 for start in view.start_offsets.values()), view.start_offsets


def test_settings_are_group_configs_and_bad_ones_are_refused(kafka: ConnectionSettings, prefix: str) -> None:
    shared = share_group(kafka, prefix, 1, ShareGroupSettings(lock_duration_ms=20000, delivery_count_limit=3))
    configs = group_configs(shared.admin, shared.group)
    assert (configs["share.auto.offset.reset"], configs["share.record.lock.duration.ms"], configs["share.delivery.count.limit"]) == (
        "earliest",
        "20000",
        "3",
    )
    with pytest.raises(ShareGroupError, match=rf"share\.record\.lock\.duration\.ms: Value must be at least {SHORTEST_LOCK_MS}"):
        configure(shared.admin, shared.group, ShareGroupSettings(lock_duration_ms=SHORTEST_LOCK_MS - 1))
    with pytest.raises(ShareGroupError, match=f"there is no share group {shared.group}: a share group exists once a member"):
        shared.view()  # set up, but nobody has joined


def test_the_example_preparers_serve_each_order_once_and_reject_an_unreadable_one(kafka: ConnectionSettings, prefix: str) -> None:
    shared = share_group(kafka, prefix, 1, ShareGroupSettings())
    orders = [Order(number, 1, (("cod", "chips"),), f"{prefix}-1-{number}", time.time()) for number in range(1, 11)]
    shared.produce([order.to_json() for order in orders[:5]] + [b"{not json"] + [order.to_json() for order in orders[5:]])
    lines: list[str] = []
    group = ["--group", shared.group, "--name"]
    preparers = [
        subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--bootstrap-servers", str(kafka.bootstrap_servers), "--topic", shared.topic, *group, name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("fry", "batter")
    ]
    readers = [
        threading.Thread(target=lambda p=p: lines.extend(line.rstrip("\n") for line in p.stdout or []), daemon=True) for p in preparers
    ]
    for reader in readers:
        reader.start()
    served = re.compile(r"^(fry|batter) served (\S+) \(delivery 1\): \d+: cod & chips$")
    wait_for(lambda: sum(bool(served.match(line)) for line in lines) >= 10 and any("rejected" in line for line in lines), 90)
    for preparer in preparers:
        preparer.send_signal(signal.SIGINT)  # Ctrl-C: it commits its acknowledgements, then closes
    assert [preparer.wait(30) for preparer in preparers] == [0, 0]
    for reader in readers:
        reader.join(10)
    ids = sorted(m.group(2) for line in lines if (m := served.match(line)))
    assert ids == sorted(order.id for order in orders)  # each once
    rejected = [line for line in lines if " rejected " in line]
    assert len(rejected) == 1 and rejected[0].split(" rejected ")[1].startswith("offset 5: ")
    assert shared.view().total_lag == 0
