"""Transactions: a preparer killed between reading and writing never makes an order served twice."""

import signal
from collections import Counter

import pytest
from tests.conftest import visiting_preparer, wait_for

from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import snapshot
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.scenarios import scenario
from fishchips.shop import Menu, Order

pytestmark = pytest.mark.kafka


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


@pytest.mark.parametrize("protocol", list(GroupProtocol))
def test_a_transactional_preparer_killed_mid_order_serves_nothing_twice(kafka: ConnectionSettings, prefix: str, protocol: GroupProtocol) -> None:
    """Under each of the three ways a group rebalances: the guarantee is the transaction's, not the protocol's."""
    topics = Topics(prefix)
    shop = scenario("demo3").override(preparers=1)
    floor = ShopFloor(shop, kafka, topics, speed=4, orders=150, seed=5, exactly_once=True, group_protocol=protocol)
    floor.start()
    visitor = visiting_preparer(kafka, prefix, "--exactly-once", protocol)
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
        visitor.send_signal(signal.SIGKILL)  # most likely mid-transaction: it works inside one
        visitor.wait(10)
        assert floor.wait(idle_timeout=45), floor.failures()
    finally:
        if visitor.poll() is None:
            visitor.kill()
            visitor.wait(10)
        floor.close()
    summary = floor.summary()
    assert (summary.taken, summary.missing, summary.duplicates) == (150, 0, 0)
    # and straight from the topic, as a read_committed reader sees it
    served = Counter(Order.from_json(m.value(), Menu.load()).id for m in read_to_end(kafka, topics.served))
    assert len(served) == 150 and set(served.values()) == {1}
