"""The accountant on the real broker and real databases, SQLite and PostgreSQL (never mocks):
the books match the topic, a replay rebuilds them exactly, a kill loses and doubles nothing,
and bad input is counted, not lost.
"""

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from confluent_kafka import OFFSET_BEGINNING, ConsumerGroupTopicPartitions, KafkaError, Message, TopicPartition
from tests.conftest import wait_for

from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets, snapshot
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.roles.accountant import Accountant, entry_for
from fishchips.roles.context import ShopContext
from fishchips.scenarios import scenario
from fishchips.shop import InvalidOrder, Menu, Order, OrderGenerator, new_order_id, new_run_id
from fishchips.stores.books import BooksSummary, Entry, Figures, Position, Rejection, Totals, open_books

MENU = Menu.load()
# events that are not orders, or that no database could hold: each is noted with its reason and set aside,
# and never stops the books
BAD = [
    b"\xff not even text",
    Order(1, 1, (("haddock", "chips"),), "bad-haddock", 0.0).to_json(),
    b"[1, 2, 3]",
    Order(1, 2**40, (("cod",),), "bad-till", 0.0).to_json(),
    Order(1, 1, (("cod",),), "bad\x00id", 0.0).to_json(),
    Order(1, 1, (("cod",),), "bad-time", 1e300).to_json(),
]


# the databases -----------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def new_books(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Make fresh, empty books in the database under test; returns their URL."""
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    made: list[str] = []

    def make() -> str:
        name = f"books_{uuid.uuid4().hex[:8]}"
        if server is None:
            return str(tmp_path / f"{name}.sqlite")
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        made.append(name)
        return urlsplit(server)._replace(path=f"/{name}").geturl()

    yield make
    if made:
        with psycopg.connect(server, autocommit=True) as admin:
            for name in made:
                admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


def books_of(url: str) -> BooksSummary:
    with open_books(url) as books:
        return books.summary()


# Kafka, read and written directly -----------------------------------------------------------


def read_topic(kafka: ConnectionSettings, topic: str) -> list[Message]:
    """Every event ever written to a topic, straight from Kafka, joining no group."""
    consumer = clients.consumer(kafka, f"reader-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": True})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    messages, ended = [], set()
    deadline = time.monotonic() + 30
    while len(ended) < len(partitions) and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is None:
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                ended.add(message.partition())
            continue
        messages.append(message)
    consumer.close()
    assert len(ended) == len(partitions), "could not read the topic to its end"
    return messages


@dataclass
class Tally:
    """The served topic counted independently of the accountant: each order id once."""

    orders: int = 0
    takings_pence: int = 0
    items: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    by_till: Counter[int] = field(default_factory=Counter)

    def matches(self, books: BooksSummary) -> bool:
        return (books.orders, books.takings_pence, books.items, books.rejected, {t: f.orders for t, f in books.by_till.items()}) == (
            self.orders,
            self.takings_pence,
            dict(self.items),
            self.rejected,
            dict(self.by_till),
        )


def tally(kafka: ConnectionSettings, topic: str) -> Tally:
    counted, seen = Tally(), set()
    for message in read_topic(kafka, topic):
        try:
            entry = entry_for(Order.from_json(message.value(), MENU), MENU, Position(topic, message.partition(), message.offset()))
        except InvalidOrder:
            counted.rejected += 1
            continue
        if entry.order_id not in seen:
            seen.add(entry.order_id)
            counted.orders += 1
            counted.takings_pence += entry.takings_pence
            counted.items.update(entry.items)
            counted.by_till[entry.till] += 1
    return counted


def serve(kafka: ConnectionSettings, topic: str, values: list[bytes], per_second: float = 0.0) -> None:
    """Write events to `served` as preparers would; paced, if asked, like a shop at work."""
    producer = clients.producer(kafka)
    for i, value in enumerate(values):
        producer.produce(topic, value, str(i % 3).encode())
        if per_second and i % 10 == 9:
            producer.flush(10)
            time.sleep(10 / per_second)  # the shop's pace, not a wait for anything
    assert producer.flush(30) == 0


def orders(count: int, seed: int) -> list[bytes]:
    generator, run = OrderGenerator(MENU, seed), new_run_id()
    return [
        Order(n, 1 + n % 3, generator.parts(), new_order_id(run, 1 + n % 3, n), time.time(), ready=True).to_json() for n in range(count)
    ]


@contextmanager
def running(accountant: Accountant) -> Iterator[Accountant]:
    accountant.start()
    try:
        yield accountant
    finally:
        accountant.stop()
    assert accountant.failure is None, accountant.failure


# the tests ------------------------------------------------------------------------------------
def test_the_books_hold_an_order_and_a_rejection_once_and_offsets_commit_with_them(new_books: Callable[[], str]) -> None:
    url = new_books()
    entry = Entry("run-1-7", 1, 7, 1_700_000_000.0, "2023-11-14 22:00", 950, {"cod": 1, "chips": 1}, Position("t.served", 0, 0))
    not_json = Rejection(Position("t.served", 0, 1), "value: not JSON")
    with open_books(url) as books:
        assert books.totals() == Totals(0, 0, {}, 0)  # no order yet: no takings either, not None
        with books.transaction():
            assert books.book(entry)
            assert not books.book(replace(entry, where=Position("t.served", 2, 9)))  # the same order, served again
            assert books.reject(not_json)
            books.advance("t.served", 0, 2)
        with books.transaction():
            assert not books.reject(not_json)  # the same event, read again
        with pytest.raises(RuntimeError), books.transaction():  # a crash mid-batch: none of the batch stays
            assert books.book(replace(entry, order_id="run-1-8"))
            books.advance("t.served", 0, 3)
            raise RuntimeError("crash")
    with open_books(url) as books:  # another connection sees what was committed, and only that
        assert books.offsets("t.served") == {0: 2}
        summary = books.summary()
        totals = books.totals()
    figures = Figures(1, 950, {"chips": 1, "cod": 1})
    assert totals == Totals(1, 950, {"chips": 1, "cod": 1}, 1)  # what the live views read every second
    assert summary == BooksSummary(1, 950, {"chips": 1, "cod": 1}, 1, {"value: not JSON": 1}, {1: figures}, {"2023-11-14 22:00": figures})


@pytest.mark.kafka
def test_the_books_match_the_topic_resume_where_they_say_and_a_replay_rebuilds_them(
    kafka: ConnectionSettings, prefix: str, new_books: Callable[[], str]
) -> None:
    topics, admin = Topics(prefix), clients.admin(kafka)
    floor = ShopFloor(scenario("demo4"), kafka, topics, speed=40, orders=40, seed=11)
    floor.start()
    try:
        assert floor.wait(idle_timeout=30), floor.failures()
    finally:
        floor.close()
    served_once = read_topic(kafka, topics.served)[0].value()
    serve(kafka, topics.served, [*BAD, served_once])  # bad input, and an order served a second time

    live = new_books()
    with running(Accountant("accountant", ShopContext(kafka, topics, MENU), db=live)) as accountant:
        wait_for(lambda: (books_of(live).orders, books_of(live).rejected) == (40, len(BAD)), 60)
        group = topics.group(Accountant.group_role)
        ends = end_offsets(admin, [topics.served])[topics.served]
        # Kafka is told the offsets too, after the books: the group tools show the accountant caught up
        wait_for(
            lambda: snapshot(admin, [topics.served], [group]).groups[group].committed == {(topics.served, p): n for p, n in ends.items()},
            30,
        )
    expected = tally(kafka, topics.served)
    assert (expected.orders, expected.rejected) == (40, len(BAD))
    assert expected.matches(books_of(live))
    assert accountant.counters == {"booked": 40, "duplicate": 1, "dead-letter": len(BAD)}
    dead = read_topic(kafka, topics.dead_letters)
    assert sorted(m.value() for m in dead) == sorted(BAD)  # set aside as they were, with the reason and the source
    assert all({"reason", "source.topic", "source.partition", "source.offset"} <= {k for k, _ in m.headers()} for m in dead)
    assert set(books_of(live).rejections) == {dict(m.headers())["reason"].decode() for m in dead}

    # Kafka's committed offsets go back to the start; the books know better, so nothing is read twice
    rewind = [TopicPartition(topics.served, p, 0) for p in ends]
    admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, rewind)])[group].result()
    serve(kafka, topics.served, orders(5, seed=3))
    with running(Accountant("accountant", ShopContext(kafka, topics, MENU), db=live)) as resumed:
        wait_for(lambda: books_of(live).orders == 45, 60)
    assert resumed.counters == {"booked": 5}  # a partition is read in order: a re-read would have met old orders first
    books = books_of(live)
    assert tally(kafka, topics.served).matches(books)

    # --from-beginning over the same books reads everything again and changes nothing
    with running(Accountant("accountant", ShopContext(kafka, topics, MENU), db=live, from_beginning=True)) as again:
        wait_for(lambda: again.counters["duplicate"] == 46, 60)
    assert again.counters == {"duplicate": 46}
    assert books_of(live) == books

    # a replay into fresh books rebuilds exactly the same books from the log
    fresh = new_books()
    with running(Accountant("accountant", ShopContext(kafka, topics, MENU), db=fresh, from_beginning=True)):
        wait_for(lambda: books_of(fresh).orders == 45, 60)
    assert books_of(fresh) == books


def fishchips(*args: str) -> list[str]:
    return [sys.executable, "-m", "fishchips", *args]


@pytest.mark.kafka
def test_an_accountant_killed_mid_run_and_restarted_has_exact_books(
    kafka: ConnectionSettings, prefix: str, new_books: Callable[[], str], tmp_path: Path
) -> None:
    topics = Topics(prefix)
    ensure_topics(clients.admin(kafka), topics.partitions(3))
    url = new_books()
    values = orders(600, seed=5)
    values[100:100] = BAD
    values[300:300] = values[10:15]  # five orders served twice
    shop = threading.Thread(target=serve, args=(kafka, topics.served, values, 120.0))
    shop.start()
    accounts = fishchips("accounts", "-b", str(kafka.bootstrap_servers), "--prefix", prefix, "--db", url)
    log = tmp_path / "accounts.log"
    with log.open("w") as output:
        first = subprocess.Popen(accounts, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: books_of(url).orders >= 50, 60)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        assert books_of(url).orders < 600, "killed too late to be mid-run"
        second = subprocess.Popen([*accounts, "--until-idle", "3"], stdout=output, stderr=subprocess.STDOUT)
        try:
            shop.join(60)
            assert second.wait(90) == 0, log.read_text()
        finally:
            if second.poll() is None:
                second.kill()
                second.wait(10)
    expected = tally(kafka, topics.served)
    assert (expected.orders, expected.rejected) == (600, len(BAD))
    assert expected.matches(books_of(url))
    report = subprocess.run(fishchips("report", "--db", url, "--json"), capture_output=True, text=True, timeout=30, check=True)
    printed = json.loads(report.stdout)
    assert (printed["orders"], printed["takings_pence"], printed["rejected"]) == (600, expected.takings_pence, len(BAD))
    assert printed["items"] == {name: expected.items[name] for name in MENU.items}


def test_new_sqlite_books_opened_by_four_at_once_all_open(tmp_path: Path) -> None:
    """The accountant and a report opening new books at the same moment: each switches the file to WAL, SQLite
    answers one of them "locked" at once (it will not let two wait for each other), and that one asks again."""
    failures: list[str] = []

    def open_and_read(path: Path) -> None:
        try:
            with open_books(str(path)) as books:
                books.summary()
        except Exception as exc:  # any failure is what the test counts
            failures.append(str(exc))

    for attempt in range(20):
        path = tmp_path / f"books-{attempt}.sqlite"
        openers = [threading.Thread(target=open_and_read, args=(path,)) for _ in range(4)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
    assert failures == []
