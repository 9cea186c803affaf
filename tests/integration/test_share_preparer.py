"""The share preparer on the real broker: it accepts what it served, rejects what no member can make,
releases what it holds when stopped, and a record whose short lock runs out comes back counted.
"""

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from confluent_kafka import AcknowledgeType, Message, Producer, ShareConsumer
from tests.conftest import wait_for

from fishchips.events import HANDED_BACK, Kind, ShopEvent
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.share_groups import ShareGroupSettings, configure, group_configs
from fishchips.kafka.topics import Topics, ensure_shop_topics, ensure_topics
from fishchips.roles.context import ShopContext
from fishchips.roles.share_group import DELIVERY_LIMIT, set_up_share_group, share_group
from fishchips.roles.share_preparer import SharePreparer
from fishchips.scenarios import Scenario
from fishchips.shop import Order, new_order_id, new_run_id

pytestmark = pytest.mark.kafka


class Heard:
    """The events the roles sent, from any thread."""

    def __init__(self) -> None:
        self.events: list[ShopEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: ShopEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: Kind) -> list[ShopEvent]:
        with self._lock:
            return [event for event in self.events if event.kind is kind]


@pytest.fixture
def shop(kafka: ConnectionSettings, prefix: str) -> Iterator[tuple[ShopContext, Heard]]:
    topics, heard = Topics(prefix), Heard()
    admin = clients.admin(kafka)
    ensure_shop_topics(admin, topics, 2)
    set_up_share_group(admin, topics)
    yield ShopContext(kafka, topics, listener=heard), heard


@pytest.fixture
def preparers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def started(stack: ExitStack, context: ShopContext, name: str, work_seconds: float = 0.0) -> SharePreparer:
    preparer = SharePreparer(name, context, work_seconds=work_seconds).start()
    stack.callback(preparer.stop)
    return preparer


def place_orders(context: ShopContext, count: int, extra: list[bytes] | None = None) -> list[str]:
    """`count` cod-and-chips orders (and any raw values) in one go, spread over both partitions; their ids."""
    run = new_run_id()
    orders = [Order(n, 1, (("cod", "chips"),), new_order_id(run, 1, n), time.time()) for n in range(count)]
    producer = Producer(context.settings.client_config())
    for n, value in enumerate([order.to_json() for order in orders] + (extra or [])):
        producer.produce(context.topics.orders, value, partition=n % 2)
    producer.flush(10)
    return [order.id for order in orders]


def first_taken(consumer: ShareConsumer) -> Message:
    """Poll until the member is lent a record."""
    got: list[Message] = []

    def lent() -> bool:
        got.extend(consumer.poll(0.5))
        return bool(got)

    wait_for(lent, 30, every=0)
    return got[0]


def served_ids(heard: Heard) -> Counter[str]:
    return Counter(event.order.id for event in heard.of(Kind.SERVED) if event.order is not None)


def test_a_lock_shorter_than_the_default_floor_runs_out_and_the_record_comes_back_counted(kafka: ConnectionSettings, prefix: str) -> None:
    """The embedded broker allows a 1 s lock (group.share.min.record.lock.duration.ms): a member that
    holds a record without acknowledging it loses it to another member, delivery count 2."""
    admin, topic, group = clients.admin(kafka), f"{prefix}-orders", f"{prefix}-share"
    ensure_topics(admin, {topic: 1})
    configure(admin, group, ShareGroupSettings(lock_duration_ms=1000))
    assert group_configs(admin, group)["share.record.lock.duration.ms"] == "1000"
    producer = Producer(kafka.client_config())
    producer.produce(topic, b"one")
    producer.flush(10)

    def member(name: str) -> ShareConsumer:
        consumer = ShareConsumer({**kafka.client_config(), "group.id": group, "client.id": name, "share.acknowledgement.mode": "explicit"})
        consumer.subscribe([topic])
        return consumer

    holder, other = member("holder"), member("other")
    try:
        assert first_taken(holder).delivery_count() == 1
        again = first_taken(other)  # the holder says nothing: its lock runs out
        assert again.value() == b"one" and again.delivery_count() == 2
        other.acknowledge(again, AcknowledgeType.ACCEPT)
        other.commit_sync(10)
    finally:
        holder.close()
        other.close()


def test_every_order_is_served_once_by_the_share_group_and_written_before_it_is_accepted(
    shop: tuple[ShopContext, Heard], preparers: ExitStack
) -> None:
    context, heard = shop
    members = [started(preparers, context, f"share-preparer-{n}") for n in (1, 2, 3)]
    ids = place_orders(context, 30)
    wait_for(lambda: served_ids(heard).keys() >= set(ids), 60)
    for member in members:
        member.stop()
    assert served_ids(heard) == Counter(set(ids))  # each once
    assert sum(end_offsets(clients.admin(context.settings), [context.topics.served])[context.topics.served].values()) == len(ids)
    assert all(member.failure is None for member in members)


def test_a_member_lent_more_than_it_can_make_within_its_lock_hands_the_rest_back_at_once_and_none_is_served_twice(
    shop: tuple[ShopContext, Heard], preparers: ExitStack
) -> None:
    """librdkafka lends a whole producer batch in one poll (max.poll.records is a wish). At 0.25 s an order a member can
    make 10 in half its 5 s lock: it keeps those and RELEASEs the rest at once for the others. Kept, the rest would wait
    past the lock, be lent to another member too, and be served twice."""
    context, heard = shop
    members = [started(preparers, context, f"share-preparer-{n}", work_seconds=0.25) for n in (1, 2, 3)]
    ids = place_orders(context, 60)  # one producer's flush: a few batches, each lent whole
    wait_for(lambda: served_ids(heard).keys() >= set(ids), 90)
    for member in members:
        member.stop()
    assert served_ids(heard) == Counter(set(ids))  # each once: no lock ran out
    assert sum(member.counters["handed back"] for member in members) > 0  # the path this test is for was taken
    assert max(event.delivery for event in heard.of(Kind.LENT)) < DELIVERY_LIMIT  # none came near being archived
    assert all(member.failure is None for member in members)


def test_an_order_no_member_can_make_is_set_aside_with_the_reason_and_rejected(shop: tuple[ShopContext, Heard], preparers: ExitStack) -> None:
    context, heard = shop
    member = started(preparers, context, "share-preparer-1")
    ids = place_orders(context, 2, extra=[b"not an order"])
    wait_for(lambda: served_ids(heard).keys() >= set(ids) and heard.of(Kind.DEAD_LETTER), 60)
    member.stop()
    assert member.counters["rejected"] == 1
    assert sum(end_offsets(clients.admin(context.settings), [context.topics.dead_letters])[context.topics.dead_letters].values()) == 1
    # rejected is archived: a member of the same group never gets it again
    again = started(preparers, context, "share-preparer-2")
    place_orders(context, 1)
    wait_for(lambda: again.counters[Kind.SERVED] == 1, 60)
    again.stop()
    assert again.counters["rejected"] == 0


def test_a_stopped_preparer_releases_what_it_holds_and_another_member_serves_it_counted_as_redelivered(
    shop: tuple[ShopContext, Heard], preparers: ExitStack
) -> None:
    context, heard = shop
    slow = started(preparers, context, "slow", work_seconds=0.5)
    ids = place_orders(context, 10)

    def holds() -> int:  # lent to it and not yet let go: a member between polls holds none, and has none to release
        return len(heard.of(Kind.LENT)) - len(heard.of(Kind.SERVED)) - len(heard.of(Kind.RELEASED))

    wait_for(lambda: slow.counters[Kind.SERVED] >= 1 and holds() >= 1, 60)
    slow.stop()  # `s`: it hands back what it still holds, not waiting for the lock to run out
    assert slow.counters["released"] >= 1
    other = started(preparers, context, "other")
    wait_for(lambda: served_ids(heard).keys() >= set(ids), 60)
    other.stop()
    assert served_ids(heard) == Counter(set(ids))
    redelivered = [event for event in heard.of(Kind.SERVED) if event.role == "other" and event.detail.startswith("delivery ")]
    assert redelivered and other.counters["redelivered"] == len(redelivered)
    assert share_group(context.topics) == f"{context.topics.prefix}.share-preparers"


def test_a_member_told_to_stop_makes_an_order_on_its_last_delivery_rather_than_release_it_to_be_archived(
    shop: tuple[ShopContext, Heard], preparers: ExitStack
) -> None:
    """A record released on its DELIVERY_LIMIT-th delivery is archived: an order never made. A fumbling member hands one
    order back until its next delivery is the last; the share preparer lent it then is stopped at once, mid-work, and
    still serves it (on a delivery below the last it would hand it back: the `S` tests)."""
    context, heard = shop
    [order_id] = place_orders(context, 1)
    fumbler = ShareConsumer(
        {**context.settings.client_config(), "group.id": share_group(context.topics), "share.acknowledgement.mode": "explicit"}
    )
    fumbler.subscribe([context.topics.orders])
    try:
        for fumbled in range(1, DELIVERY_LIMIT):
            message = first_taken(fumbler)
            assert message.delivery_count() == fumbled
            fumbler.acknowledge(message, AcknowledgeType.RELEASE)
            fumbler.commit_sync(10)
    finally:
        fumbler.close()
    member = started(preparers, context, "last", work_seconds=30.0)  # it would still be working when stopped
    wait_for(lambda: heard.of(Kind.LENT), 30)
    assert heard.of(Kind.LENT)[0].delivery == DELIVERY_LIMIT
    member.stop()
    assert served_ids(heard) == Counter({order_id: 1}) and not heard.of(Kind.RELEASED)
    assert member.failure is None


def test_demo6_keeps_every_share_preparer_busy_while_the_consumer_group_has_one_idle_per_member_beyond_the_partitions(kafka: ConnectionSettings, prefix: str) -> None:
    """`fishchips run demo6 --json`: 4 preparers, two ways, on orders split three ways as demo3 leaves it (demo6 asks for
    2 partitions, but Kafka never takes one away). The consumer group serves with 3 (the fourth holds no partition);
    the share group serves with all 4. Each group serves every order once, onto the partition it came from, so
    `served.shared` is split three ways too."""
    topics = Topics(prefix)
    ensure_topics(clients.admin(kafka), {topics.orders: 3})
    command = [sys.executable, "-m", "fishchips", "run", "demo6", "--orders", "40", "--speed", "4", "--json"]
    done = subprocess.run(
        [*command, "-b", str(kafka.bootstrap_servers), "--prefix", prefix], capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and (summary["taken"], summary["served"], summary["duplicates"], summary["missing"]) == (40, 40, 0, 0)
    shared = summary["share_group"]
    assert (shared["served"], shared["duplicates"], shared["missing"], shared["rejected"]) == (40, 0, 0, 0)
    assert sorted(shared["served_by_preparer"]) == [f"share-preparer-{n}" for n in (1, 2, 3, 4)]  # every member served
    assert len(summary["served_by_preparer"]) == 3  # one consumer-group preparer per partition...
    assert len(summary["idle_preparers"]) == 1  # ...and one with none
    assert all(name.startswith("preparer-") for name in summary["idle_preparers"])
    assert {p for p in end_offsets(clients.admin(kafka), [topics.served_shared])[topics.served_shared]} == {0, 1, 2}


def test_stop_share_preparer_releases_what_it_holds_and_another_member_takes_it_at_once_with_delivery_count_2(
    kafka: ConnectionSettings, prefix: str
) -> None:
    """`S` ("Stop share preparer") on a member holding orders: it RELEASEs them and another member is lent them, delivery
    count 2. This group's lock is 60 s and the wait at most 30 s, so they came back by the release, not by a lock."""
    scenario = Scenario("release", "Release", "", tills=0, preparers=0, cooks=0, partitions=2, share_preparers=2, prepare_seconds=1.0)
    heard = Heard()
    floor = ShopFloor(scenario, kafka, Topics(prefix), listener=heard)
    try:
        floor.start()
        configure(floor.admin, share_group(floor.topics), ShareGroupSettings(lock_duration_ms=60_000))
        place_orders(ShopContext(kafka, floor.topics), 20)
        wait_for(lambda: {event.role for event in heard.of(Kind.LENT)} == {"share-preparer-1", "share-preparer-2"}, 60)
        stopped = floor.stop_share_preparer()
        assert stopped is not None
        name, released = stopped
        at = time.monotonic()
        assert released >= 1, f"{name} released nothing"

        def taken_again() -> dict[tuple[int | None, int | None], ShopEvent]:
            released = {(e.partition, e.offset) for e in heard.of(Kind.RELEASED) if e.role == name}
            lent = {(e.partition, e.offset): e for e in heard.of(Kind.LENT) if e.role != name and (e.partition, e.offset) in released}
            return lent if released and lent.keys() == released else {}

        wait_for(lambda: bool(taken_again()), 30)
        print(f"released by {name} and lent to another member within {time.monotonic() - at:.1f} s")  # for docs/share-groups.md
        taken = taken_again()
        assert all(event.delivery == 2 for event in taken.values())
        # the floor's view (its newest 8), as the page and the app show it: what it released as it stopped, and what a poll
        # lent it beyond what it could make within its lock (20 orders in one go), handed back at once
        stop = {(e.partition, e.offset) for e in heard.of(Kind.RELEASED) if e.role == name and e.detail != HANDED_BACK}
        assert stop and stop <= taken.keys()
        relent = [r for r in floor.share_loans()[1] if r.before == name]
        assert relent and all(r.delivery == 2 and (r.partition, r.offset) in taken for r in relent)
        assert all(r.back == ("released" if (r.partition, r.offset) in stop else "handed back") for r in relent), relent
    finally:
        floor.close()
    assert floor.failures() == []
