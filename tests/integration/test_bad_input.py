"""Bad input on the topics: set aside with a reason, nothing crashes, the good orders around it are served."""

import json
import subprocess
import sys
import time

import pytest
from tests.bad_inputs import CORPUS
from tests.conftest import wait_for

from fishchips.events import RoleKind
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.scenarios import scenario
from fishchips.shop import Order, new_order_id

pytestmark = pytest.mark.kafka


def test_every_bad_event_is_set_aside_with_a_reason_and_the_good_ones_are_served(kafka: ConnectionSettings, prefix: str) -> None:
    assert len(CORPUS) >= 20
    topics = Topics(prefix)
    ensure_shop_topics(clients.admin(kafka), topics, 1)
    producer = clients.producer(kafka)
    good_ids = []
    for number, (key, value) in enumerate(CORPUS.values(), start=1):
        order = Order(number, 1, (("cod", "chips"),), new_order_id("corpus", 1, number), time.time())
        good_ids.append(order.id)
        producer.produce(topics.orders, order.to_json(), b"1")  # a good order before each bad one
        producer.produce(topics.orders, value, key)
    producer.produce(topics.cook, b"not an order", b"1")  # the cook sets aside too
    assert producer.flush(30) == 0

    floor = ShopFloor(scenario("demo4"), kafka, topics, resume=True, speed=100, orders=0)  # the tills take nothing: only what we wrote
    floor.start()
    try:
        wait_for(
            lambda: floor.failures()
            or (floor.count("served", RoleKind.PREPARER) >= len(good_ids) and floor.count("dead-letter", RoleKind.COOK) >= 1),
            60,
        )
        assert not floor.failures(), floor.failures()
        assert all(role.running for role in floor.roles() if role.kind in (RoleKind.PREPARER, RoleKind.COOK))  # nothing crashed
    finally:
        floor.close()

    served = {Order.from_json(m.value(), floor.menu).id for m in read_to_end(kafka, topics.served)}
    assert served == set(good_ids)
    letters = read_to_end(kafka, topics.dead_letters)
    assert len(letters) == len(CORPUS) + 1
    headers = [dict(m.headers() or []) for m in letters]
    assert all(h.get("reason") for h in headers)
    assert {h["source.topic"].decode() for h in headers} == {topics.orders, topics.cook}
    # each source offset is recorded, so the bad event can be found on its topic
    assert len({(h["source.topic"], h["source.offset"]) for h in headers}) == len(letters)


def test_dlq_lists_what_was_set_aside(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    ensure_shop_topics(clients.admin(kafka), topics, 1)
    producer = clients.producer(kafka)
    producer.produce(
        topics.dead_letters,
        b"junk",
        b"1",
        headers=[
            ("reason", b"value: not JSON"),
            ("source.topic", topics.orders.encode()),
            ("source.partition", b"0"),
            ("source.offset", b"42"),
            ("role", b"preparer-1"),
        ],
    )
    assert producer.flush(10) == 0
    result = subprocess.run(
        [sys.executable, "-m", "fishchips", "dlq", "--json", "-b", str(kafka.bootstrap_servers), "--prefix", prefix],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout)
    assert records == [
        {"offset": 0, "reason": "value: not JSON", "source": f"{topics.orders}[0]@42", "role": "preparer-1", "bytes": 4, "value": "junk"}
    ]
