"""examples/ run as a learner types them (python examples/x.py -b ... --prefix ...), checked on Kafka's own state."""

import re
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fishchips.kafka import clients
from fishchips.kafka.inspect import committed_offsets, end_offsets
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.services.local_server import free_port
from fishchips.shop import Menu, Order

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[2]
EXAMPLES = ["till", "preparer", "exactly_once_preparer", "late_reader", "accountant"]


def example(name: str, *flags: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    """Run examples/NAME.py from the top of the project, as its docstring says, and check how it exited."""
    result = subprocess.run([sys.executable, f"examples/{name}.py", *flags], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == code, result.stdout + result.stderr
    return result


def shop(kafka: ConnectionSettings, prefix: str, name: str, *flags: str) -> str:
    """An example's output, run against the session's broker under the test's own topics."""
    return example(name, "-b", str(kafka.bootstrap_servers), "--prefix", prefix, *flags).stdout


def ids(kafka: ConnectionSettings, topic: str) -> Counter[str]:
    """Each order id on a topic, and how many times it is there, read with read_committed."""
    return Counter(Order.from_json(message.value(), Menu.load()).id for message in read_to_end(kafka, topic))


def ends(kafka: ConnectionSettings, topic: str) -> dict[tuple[str, int], int]:
    """The end offset of each partition of the topic that holds anything."""
    return {(topic, p): end for p, end in end_offsets(clients.admin(kafka), [topic])[topic].items() if end}


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_says_what_it_shows(name: str) -> None:
    help_text = example(name, "--help").stdout
    assert "The Kafka idea" in help_text and f"python examples/{name}.py" in help_text
    assert "--bootstrap" in help_text and "--prefix" in help_text


def test_the_till_produces_its_orders_with_delivery_reports(kafka: ConnectionSettings, prefix: str) -> None:
    output = shop(kafka, prefix, "till", "-n", "12")
    assert output.count("delivered ") == 12 and "NOT delivered" not in output
    assert sum(ends(kafka, Topics(prefix).orders).values()) == 12
    assert len(ids(kafka, Topics(prefix).orders)) == 12


def test_the_preparer_serves_each_order_and_commits_after(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    shop(kafka, prefix, "till", "-n", "12")
    assert shop(kafka, prefix, "preparer", "-n", "12").count("served ") == 13  # a line per order, and the total
    assert ids(kafka, topics.served) == ids(kafka, topics.orders)
    assert committed_offsets(clients.admin(kafka), topics.group("example-preparers")) == ends(kafka, topics.orders)
    assert shop(kafka, prefix, "preparer", "--idle", "2").endswith("served 0 orders\n")  # the group remembers


def test_the_exactly_once_preparer_serves_each_order_once(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    shop(kafka, prefix, "till", "-n", "12")
    assert "12 in all" in shop(kafka, prefix, "exactly_once_preparer", "-n", "12")
    served = ids(kafka, topics.served)  # read_to_end reads read_committed: only committed transactions
    assert served.keys() == ids(kafka, topics.orders).keys() and set(served.values()) == {1}
    assert committed_offsets(clients.admin(kafka), topics.group("example-preparers")) == ends(kafka, topics.orders)
    assert "committed a transaction" not in shop(kafka, prefix, "exactly_once_preparer", "--idle", "2")


def test_the_late_reader_reads_every_order_from_the_first_offset(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    shop(kafka, prefix, "till")  # 10 orders, the till's default
    everything = {(topics.orders, p, offset) for (_, p), end in ends(kafka, topics.orders).items() for offset in range(end)}
    assert len(everything) == 10
    for _ in range(2):  # each run is a new group, so each reads it all again
        output = shop(kafka, prefix, "late_reader", "-n", "10")
        printed = {(t, int(p), int(o)) for t, p, o in re.findall(r"^(\S+)\[(\d+)\] at offset (\d+): ", output, re.MULTILINE)}
        assert printed == everything


def test_the_accountant_keeps_its_offsets_with_the_books(kafka: ConnectionSettings, prefix: str, tmp_path: Path) -> None:
    topics, db = Topics(prefix), str(tmp_path / "books.sqlite")
    shop(kafka, prefix, "till", "-n", "12")
    shop(kafka, prefix, "preparer", "-n", "12")
    assert "booked 12 orders" in shop(kafka, prefix, "accountant", "--db", db, "-n", "12")

    def books() -> tuple[list[str], dict[tuple[str, int], int]]:
        with sqlite3.connect(db) as connection:
            booked = [row[0] for row in connection.execute("SELECT id FROM orders")]
            offsets = {(t, p): offset for t, p, offset in connection.execute("SELECT topic, partition, next_offset FROM offsets")}
        return booked, offsets

    booked, offsets = books()
    assert Counter(booked) == ids(kafka, topics.served) and len(booked) == 12
    assert offsets == ends(kafka, topics.served)
    again = shop(kafka, prefix, "accountant", "--db", db)  # a rerun starts where the books say: nothing to book
    assert again.count("as the books say") == len(offsets) and "already booked" not in again
    assert again.endswith("booked 0 orders\n")
    assert books() == (booked, offsets)
    assert committed_offsets(clients.admin(kafka), topics.group("example-accountants")) == {}  # it never commits to Kafka


def test_bad_input_gets_a_one_line_error(tmp_path: Path) -> None:
    unreachable = example("till", "-b", f"127.0.0.1:{free_port()}", code=1).stderr
    assert unreachable.splitlines()[-1].startswith("till: cannot reach Kafka at 127.0.0.1:") and "Traceback" not in unreachable
    assert "argument -n/--orders: must be at least 1, got 0" in example("preparer", "-n", "0", code=2).stderr
    assert "argument --idle: must be more than 0 seconds" in example("late_reader", "--idle", "0", code=2).stderr
    nowhere = example("accountant", "--db", str(tmp_path / "missing" / "books.sqlite"), code=1).stderr
    assert nowhere.startswith("accountant: cannot open the books ") and len(nowhere.splitlines()) == 1
