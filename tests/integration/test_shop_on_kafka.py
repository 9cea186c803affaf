"""The four demos on the real broker: every order taken is served exactly once."""

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from typing import Any

import pytest
from tests.conftest import visiting_preparer, wait_for

from fishchips.cli.console import log_file
from fishchips.errors import FishchipsError
from fishchips.floor import COUNTER, HAND_TILL, ShopFloor, Summary
from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets, snapshot
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.scenarios import scenario
from fishchips.shop import Menu, Order
from fishchips.web.live import ControlError, started

pytestmark = pytest.mark.kafka


def run_demo(kafka: ConnectionSettings, prefix: str, name: str, orders: int, speed: float, **options: object) -> tuple[ShopFloor, Summary]:
    floor = ShopFloor(scenario(name), kafka, Topics(prefix), speed=speed, orders=orders, seed=7, **options)  # type: ignore[arg-type]
    floor.start()
    try:
        assert floor.wait(idle_timeout=30), f"not all served: {floor.failures()}"
    finally:
        floor.close()
    return floor, floor.summary()


def read_all(kafka: ConnectionSettings, topic: str) -> list[Order]:
    """Every order ever written to a topic, read straight from Kafka."""
    return [Order.from_json(message.value(), Menu.load()) for message in read_to_end(kafka, topic)]


@pytest.mark.parametrize("name", ["demo1", "demo2", "demo3", "demo4"])
def test_every_order_is_served_exactly_once(kafka: ConnectionSettings, prefix: str, name: str) -> None:
    _, summary = run_demo(kafka, prefix, name, orders=60, speed=40)
    assert summary.taken == 60
    assert summary.served == 60
    assert (summary.missing, summary.duplicates) == (0, 0)
    served_ids = Counter(order.id for order in read_all(kafka, Topics(prefix).served))
    assert len(served_ids) == 60 and set(served_ids.values()) == {1}


def test_a_closing_floor_starts_nothing_and_says_so(kafka: ConnectionSettings, prefix: str) -> None:
    """Once close() has begun, a till, a preparer or a late consumer asked for (from the page, say) is not
    started: the floor answers None, and the page's `started` turns that into its one-line refusal."""
    floor = ShopFloor(scenario("demo4"), kafka, Topics(prefix), speed=40, orders=0)  # the tills take nothing
    floor.start()
    opened = {role.name for role in floor.roles()}
    assert opened >= {"board", "till-1", "preparer-1", "cook-1"}
    assert started(floor.add_preparer()) == "preparer-2"  # open: a control starts a role, and says its name

    closing = threading.Thread(target=floor.close)
    closing.start()
    try:
        wait_for(lambda: floor.closed, 10)  # set first thing, before the roles are stopped one by one
        for start in (floor.add_till, floor.add_preparer, floor.start_late_consumer):
            with pytest.raises(ControlError, match="the shop is closing"):
                started(start())
    finally:
        closing.join(60)
    assert not closing.is_alive()
    roles = floor.roles()
    assert {role.name for role in roles} == opened | {"preparer-2"}  # nothing was added while closing
    assert not any(role.running for role in roles)


def test_demo3_both_preparers_hold_partitions(kafka: ConnectionSettings, prefix: str) -> None:
    _, summary = run_demo(kafka, prefix, "demo3", orders=90, speed=40)
    assert len(summary.taken_by_partition) == 3  # each till writes its own partition
    assert set(summary.served_by_preparer) == {"preparer-1", "preparer-2"}
    assert all(count > 0 for count in summary.served_by_preparer.values())


def test_demo4_plaice_passes_the_cook_exactly_once(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    _, summary = run_demo(kafka, prefix, "demo4", orders=60, speed=40)
    menu = Menu.load()
    plaice = {order.id for order in read_all(kafka, topics.orders) if any(menu.items[i].needs_cook for part in order.parts for i in part)}
    assert plaice, "the seeded orders should include plaice"
    to_cook = Counter(order.id for order in read_all(kafka, topics.cook))
    assert set(to_cook) == plaice  # orders without plaice never visit the cook
    assert set(to_cook.values()) == {1}  # and each plaice order goes there once: no loop
    on_orders = Counter(order.id for order in read_all(kafka, topics.orders))
    assert all(on_orders[order_id] == 2 for order_id in plaice)  # taken, then back ready
    assert summary.cooked == len(plaice)
    assert all(order.ready for order in read_all(kafka, topics.served) if order.id in plaice)


def lag_when_tills_finish(kafka: ConnectionSettings, prefix: str, name: str) -> int:
    floor = ShopFloor(scenario(name), kafka, Topics(prefix), speed=5, orders=120, seed=3)
    floor.start()
    try:
        wait_for(floor.tills_done, 60)
        lag = floor.sample_lag()
        assert floor.wait(idle_timeout=30)
    finally:
        floor.close()
    assert floor.summary().ok
    return lag


def test_demo2_falls_behind_while_demo3_keeps_up(kafka: ConnectionSettings, prefix: str) -> None:
    behind = lag_when_tills_finish(kafka, prefix + "a", "demo2")
    keeping_up = lag_when_tills_finish(kafka, prefix + "b", "demo3")
    # demo2: 3 tills offer 3 orders/s, one preparer manages 2.5/s: after 40 s a backlog of ~20
    assert behind >= 10
    assert keeping_up < behind


def members(kafka: ConnectionSettings, topics: Topics) -> dict[str, set[int]]:
    group = topics.group("preparers")
    view = snapshot(clients.admin(kafka), [topics.orders], [group]).groups[group]
    return {m.client_id: {p for _, p in m.partitions} for m in view.members}


def test_a_preparer_process_joins_takes_partitions_and_when_killed_gives_them_back(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    floor = ShopFloor(scenario("demo3").override(preparers=1), kafka, topics, speed=4, orders=200, seed=5, exactly_once=False)
    floor.start()
    process = visiting_preparer(kafka, prefix, "--at-least-once")
    try:
        wait_for(lambda: members(kafka, topics).get("visitor"), 30)  # it joined and holds partitions
        assert len(members(kafka, topics)["preparer-1"]) < 3  # so the first preparer gave some up
        wait_for(lambda: floor.tally.called > 40, 60)  # let it serve a while
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        wait_for(lambda: members(kafka, topics) == {"preparer-1": {0, 1, 2}}, 40)  # its partitions came back
        assert floor.wait(idle_timeout=40), floor.failures()
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
        floor.close()
    summary = floor.summary()
    assert summary.taken == 200
    assert summary.missing == 0  # at-least-once: a kill may re-serve, never lose
    output = process.stdout.read() if process.stdout else ""
    assert "now holds" in output


def test_a_preparer_whose_terminal_is_not_read_keeps_serving(kafka: ConnectionSettings, prefix: str) -> None:
    """A student's terminal paused (Ctrl-S), or a pipe nobody empties: once its 64 KiB are full, a print waits. A role
    printing from its polling loop would wait there, poll no more, and be put out of its group for good after
    max.poll.interval.ms; the preparer prints from a thread of its own instead, so it serves on (cli/printing.py)."""
    topics = Topics(prefix)
    process = visiting_preparer(kafka, prefix, "--at-least-once", speed=200)  # its output: a pipe, read at the end only
    orders = 1500

    def joined() -> bool:
        try:
            return bool(members(kafka, topics).get("visitor"))
        except FishchipsError:  # Kafka knows no group until its first member joins
            return False

    try:
        wait_for(joined, 30)
        till = [sys.executable, "-m", "fishchips", "till", "--orders", str(orders), "--rate", "0", "--plaice-share", "0"]  # no cook here
        subprocess.run([*till, "-b", str(kafka.bootstrap_servers), "--prefix", prefix], check=True, capture_output=True, timeout=120)
        admin = clients.admin(kafka)
        wait_for(lambda: sum(end_offsets(admin, [topics.served]).get(topics.served, {}).values()) >= orders, 90)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert len(output.encode()) > 64 * 1024, "the pipe never filled: the test proved nothing"
    assert process.returncode == 0 and "visitor: " in output.splitlines()[-1]  # its last line: what it did


def run_processes(kafka: ConnectionSettings, prefix: str, *arguments: str) -> tuple[dict[str, Any], str]:
    """`fishchips [ARGUMENTS] --processes --json` as a user types it: its summary, and what it wrote to the log file."""
    command = [sys.executable, "-m", "fishchips", *arguments, "--speed", "40", "--processes", "--json"]
    command += ["-b", str(kafka.bootstrap_servers), "--prefix", prefix]
    log = log_file()
    logged_before = log.stat().st_size if log.exists() else 0
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    with log.open("rb") as lines:
        lines.seek(logged_before)
        logged = lines.read().decode(errors="replace")
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary, logged


def test_run_with_every_role_a_process_serves_every_order_once(kafka: ConnectionSettings, prefix: str) -> None:
    """`fishchips run --processes`: the same roles, each in a process of its own, their events streamed to one floor."""
    summary, logged = run_processes(kafka, prefix, "run", "demo3", "--orders", "60")
    assert "did not stop" not in logged  # every process stopped when asked, none was killed at the close
    assert summary["ok"] is True and (summary["taken"], summary["served"], summary["duplicates"], summary["missing"]) == (60, 60, 0, 0)
    assert set(summary["served_by_preparer"]) == {"preparer-1", "preparer-2"}  # both processes served
    served = Counter(order.id for order in read_all(kafka, Topics(prefix).served))
    assert len(served) == 60 and set(served.values()) == {1}


def test_verbose_reaches_every_role_process_and_librdkafka(kafka: ConnectionSettings, prefix: str) -> None:
    """`fishchips -v`: debug lines in the one log file, from the role processes too, librdkafka's among them."""
    summary, logged = run_processes(kafka, prefix, "-v", "run", "demo1", "--orders", "10")
    debug = [line.split() for line in logged.splitlines() if " DEBUG fishchips.kafka: " in line]
    processes = {words[2] for words in debug}  # each line: date, time, pid, level, logger: message
    assert len(processes) >= 2, processes  # the command's and at least one role process's
    assert any(words[5] in ("CGRPSTATE", "CGRPJOINSTATE", "TXNSTATE", "METADATA") for words in debug)  # librdkafka's debug contexts
    assert summary["served"] == 10


def test_orders_taken_by_hand_go_through_the_floor_once_each_and_follow_the_menu(kafka: ConnectionSettings, prefix: str) -> None:
    """demo3 with no till: the counter's orders alone. Each is taken and served once, none is left in the tally,
    and demo3 has no cook, so none is plaice (which would wait on `cook` for ever)."""
    floor = ShopFloor(scenario("demo3").override(tills=0), kafka, Topics(prefix), speed=40, seed=7)
    floor.start()
    try:
        took = {key: [floor.take_order(key) for _ in range(3)] for key in ["alice", "bob"]}
        took["carol"] = [floor.take_order("carol"), floor.take_order("carol")]
        assert floor.wait(idle_timeout=30), f"not all served: {floor.failures()}"
    finally:
        floor.close()
    summary = floor.summary()
    assert (summary.taken, summary.served, summary.duplicates, summary.missing, summary.in_flight) == (8, 8, 0, 0, 0)
    assert summary.taken_by_till == {COUNTER: 8} and summary.served_by_till == {HAND_TILL: 8}
    assert all(len({event.partition for event in events}) == 1 for events in took.values())  # one key, one partition
    taken = read_all(kafka, Topics(prefix).orders)
    assert len(taken) == 8 and all(order.till == HAND_TILL for order in taken)
    assert not any("plaice" in part for order in taken for part in order.parts)
    with pytest.raises(FishchipsError, match="closing"):
        floor.take_order("late")
