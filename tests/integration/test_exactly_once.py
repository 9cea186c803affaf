"""Transactions: a preparer killed between reading and writing never makes an order served twice.

The kill tests catch the visiting preparer mid-batch: they stop it (SIGSTOP, so nothing it does
can move on) and kill it there only if it has written results whose offsets are not committed;
otherwise they let it go on and look again. Then they read `served` as Kafka keeps it.
"""

import signal
import subprocess
from collections import Counter
from collections.abc import Callable

import pytest
from confluent_kafka import Message
from tests.conftest import visiting_preparer, wait_for

from fishchips.floor import ShopFloor, Summary
from fishchips.kafka import clients
from fishchips.kafka.inspect import committed_offsets, snapshot
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.records import place
from fishchips.scenarios import scenario
from fishchips.shop import Menu, Order

pytestmark = pytest.mark.kafka

ORDERS = 150
Place = tuple[int, int]  # where a record sits on its topic: partition, offset


def test_every_demo_is_exact_with_transactions(kafka: ConnectionSettings, prefix: str) -> None:
    floor = ShopFloor(scenario("demo4"), kafka, Topics(prefix), speed=40, orders=60, seed=11, exactly_once=True)
    floor.start()
    try:
        assert floor.wait(idle_timeout=30), floor.failures()
    finally:
        floor.close()
    summary = floor.summary()
    assert (summary.taken, summary.served, summary.missing, summary.duplicates) == (60, 60, 0, 0)
    assert summary.cooked > 0


def test_a_transactional_preparer_killed_mid_order_serves_nothing_twice(kafka: ConnectionSettings, prefix: str) -> None:
    """Once, under the shop's own protocol (KIP-848): the guarantee is the transaction's, not the protocol's, and
    test_protocols.py shows transactions committing a group's offsets across a rebalance under each of the three."""
    topics = Topics(prefix)

    def uncommitted() -> dict[Place, str]:
        """The visitor's records on `served` that a read_uncommitted reader sees and a read_committed one does not."""
        seen = by_visitor(read_to_end(kafka, topics.served, isolation="read_uncommitted"))
        committed = by_visitor(read_to_end(kafka, topics.served))
        return {where: order for where, order in seen.items() if where not in committed}

    killed, summary = kill_mid_batch(kafka, topics, "--exactly-once", GroupProtocol.CONSUMER, uncommitted)
    assert summary.duplicates == 0
    committed = by_place(read_to_end(kafka, topics.served))
    everything = by_place(read_to_end(kafka, topics.served, isolation="read_uncommitted"))
    # the killed preparer's open transaction was aborted: a read_uncommitted reader sees its records, a read_committed one does not...
    aborted = {where: order for where, order in everything.items() if where not in committed}
    assert killed and killed.items() <= aborted.items()
    # ...and the read_committed one sees every order once: those of the aborted records served again by the other preparer
    served = Counter(committed.values())
    assert len(served) == ORDERS and set(served.values()) == {1}
    assert all(Counter(everything.values())[order] >= 2 for order in killed.values())


def test_an_at_least_once_preparer_killed_mid_order_serves_some_twice(kafka: ConnectionSettings, prefix: str) -> None:
    """The twin without transactions: what the killed preparer wrote before its commit is served again."""
    topics = Topics(prefix)

    def uncommitted() -> dict[Place, str]:
        """The visitor's orders on `served` whose offsets on `orders` the group has not committed yet."""
        served = set(by_visitor(read_to_end(kafka, topics.served)).values())
        committed = committed_offsets(clients.admin(kafka), topics.group("preparers"))
        orders = by_place(read_to_end(kafka, topics.orders))
        return {
            (partition, offset): order
            for (partition, offset), order in orders.items()
            if order in served and offset >= committed.get((topics.orders, partition), 0)
        }

    killed, summary = kill_mid_batch(kafka, topics, "--at-least-once", GroupProtocol.CONSUMER, uncommitted)
    assert summary.duplicates > 0  # the board called them twice
    served = Counter(by_place(read_to_end(kafka, topics.served)).values())
    assert len(served) == ORDERS  # none lost
    assert killed and all(served[order] >= 2 for order in killed.values())  # and these served twice, both times for good


def kill_mid_batch(
    kafka: ConnectionSettings, topics: Topics, guarantee: str, protocol: GroupProtocol, uncommitted: Callable[[], dict[Place, str]]
) -> tuple[dict[Place, str], Summary]:
    """Run demo3 with a visiting preparer, kill the visitor with results written but not committed, let the shop finish.

    Returns what `uncommitted` found when the visitor was killed, and the shop's summary.
    """
    exactly_once = guarantee == "--exactly-once"
    shop = scenario("demo3").override(preparers=1)
    floor = ShopFloor(shop, kafka, topics, speed=4, orders=ORDERS, seed=5, exactly_once=exactly_once, group_protocol=protocol)
    floor.start()
    visitor = visiting_preparer(kafka, topics.prefix, guarantee, protocol)
    killed: dict[Place, str] = {}
    try:
        group = topics.group("preparers")
        wait_for(
            lambda: any(
                m.client_id == "visitor" and m.partitions
                for m in snapshot(clients.admin(kafka), [topics.orders], [group]).groups[group].members
            ),
            30,
        )
        served_before = floor.tally.called
        wait_for(lambda: floor.tally.called > served_before + 20, 60)  # the visitor is serving now

        def kill_if_caught() -> bool:
            killed.update(caught(visitor, uncommitted))
            return bool(killed)

        wait_for(kill_if_caught, 60, every=1)  # a second's work between two looks
        assert floor.wait(idle_timeout=45), floor.failures()
    finally:
        if visitor.poll() is None:
            visitor.kill()
            visitor.wait(10)
        floor.close()
    summary = floor.summary()
    assert (summary.taken, summary.missing) == (ORDERS, 0)
    return killed, summary


def caught(visitor: subprocess.Popen[str], uncommitted: Callable[[], dict[Place, str]]) -> dict[Place, str]:
    """Stop the visitor; if it has written what is not committed, kill it there and say what; else let it go on."""
    visitor.send_signal(signal.SIGSTOP)
    first = uncommitted()
    # looked at twice: a commit sent just before the stop has landed by the second look
    found = {where: order for where, order in uncommitted().items() if where in first}
    visitor.send_signal(signal.SIGKILL if found else signal.SIGCONT)
    if found:
        visitor.wait(10)
    return found


def by_place(messages: list[Message]) -> dict[Place, str]:
    """Each record's order, by where the record sits."""
    menu = Menu.load()
    return {place(m)[1:]: Order.from_json(m.value(), menu).id for m in messages}


def by_visitor(messages: list[Message]) -> dict[Place, str]:
    """The orders the visiting preparer served, by where each record sits on `served`."""
    return by_place([m for m in messages if dict(m.headers() or []).get("preparer") == b"visitor"])
