"""Kafka Connect's JDBC sink on a real worker, a real PostgreSQL and the real broker (never mocks):
the table equals the ledger and the accountant's books, a kill -9 of the worker changes nothing,
and a record the sink cannot read goes to Connect's dead-letter topic.

The worker starts once per test run (`fishchips connect start`); each test registers its own sink.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from tests.conftest import wait_for

from fishchips.broker.jars import JDBC_SINK, libs_dir, locked_jars
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.connect_worker import ConnectNames, ConnectWorker, WorkerState, rest
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.ledger import check
from fishchips.paths import cache_dir
from fishchips.roles.accountant import Accountant
from fishchips.roles.context import ShopContext
from fishchips.scenarios import SCENARIOS, scenario
from fishchips.services.local_server import free_port
from fishchips.shop import Menu, Order
from fishchips.sink import ShopSink, TableFigures, ensure_sink, table_figures
from fishchips.stores.books import open_books
from fishchips.tui.app import ShopApp

pytestmark = pytest.mark.kafka
MENU = Menu.load()


def fishchips(*args: str, timeout: float = 180, data: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, in the session's data dir (set by tests/conftest.py), where the session's worker lives (or in `data`)."""
    env = {**os.environ, "COLUMNS": "300"} | ({"FISHCHIPS_DATA_DIR": str(data)} if data else {})
    return subprocess.run([sys.executable, "-m", "fishchips", *args], capture_output=True, text=True, timeout=timeout, env=env)


def start_sink(kafka: ConnectionSettings, prefix: str, db: str) -> subprocess.CompletedProcess[str]:
    started = fishchips("connect", "start", "-b", str(kafka.bootstrap_servers), "--prefix", prefix, "--db", db, "--timeout", "150")
    assert started.returncode == 0, started.stdout + started.stderr
    return started


@pytest.fixture(scope="session")
def connect_worker(kafka: ConnectionSettings, postgres_server: str) -> Iterator[WorkerState]:
    """The run's one Connect worker, started by the command a user types; stopped by it when the run ends."""
    started = start_sink(kafka, "session", postgres_server)
    assert "the Connect worker is ready at http://127.0.0.1:" in started.stderr
    yield ConnectWorker().running_state()
    stopped = fishchips("connect", "stop", timeout=60)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr, stopped.stderr
    assert not ConnectWorker().status().running


@pytest.fixture
def books(postgres_server: str, prefix: str) -> Iterator[str]:
    """Fresh books for the accountant, on the same PostgreSQL as the sink's table."""
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE books_{prefix}")
    yield urlsplit(postgres_server)._replace(path=f"/books_{prefix}").geturl()
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE books_{prefix} WITH (FORCE)")


def sink_for(kafka: ConnectionSettings, prefix: str, db: str) -> ShopSink:
    """What `fishchips run demo4 --sink` runs beside the shop (once it has made its topics): the sink registered, the clerk."""
    setup = ensure_sink(kafka, Topics(prefix), db)
    assert not setup.started  # the session's worker, not a second one
    return ShopSink(setup, kafka, Topics(prefix), MENU).start()


def status(prefix: str) -> dict[str, object]:
    result = fishchips("connect", "status", "--prefix", prefix, "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def side_by_side(kafka: ConnectionSettings, prefix: str, table: TableFigures, books_url: str) -> dict[str, tuple[int, int]]:
    """The three roads to the same figures: the sink's table, the accountant's books, the ledger read from Kafka."""
    ledger = check(kafka, Topics(prefix), MENU)
    assert ledger.ok, ledger
    with open_books(books_url) as opened:
        summary = opened.summary()
    figures = {
        "table": (table.rows, table.price_pence),
        "books": (summary.orders, summary.takings_pence),
        "ledger": (ledger.served, ledger.takings_pence),
    }
    print(f"\n{prefix}: orders and pence {figures}")  # shown with -s: the figures the docs quote
    return figures


def run_shop(kafka: ConnectionSettings, prefix: str, orders: int, speed: float, books_url: str) -> tuple[ShopFloor, Accountant]:
    floor = ShopFloor(scenario("demo4"), kafka, Topics(prefix), speed=speed, orders=orders, seed=11)
    accountant = Accountant("accountant", ShopContext(kafka, Topics(prefix), MENU), db=books_url)
    floor.start()
    accountant.start()
    return floor, accountant


def finish(floor: ShopFloor, accountant: Accountant, orders: int) -> None:
    try:
        assert floor.wait(idle_timeout=60), f"not all served: {floor.failures()}"
    finally:
        floor.close()
    assert floor.summary().ok
    wait_for(lambda: accountant.idle_for() > 1, 60)
    accountant.stop()
    assert accountant.failure is None and accountant.counters["booked"] == orders, accountant.counters


def test_the_table_equals_the_books_and_the_ledger(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, books: str, connect_worker: WorkerState
) -> None:
    again = start_sink(kafka, prefix, postgres_server)  # on the running worker: registers this shop's sink
    assert "already running" in again.stderr and f"table {prefix}_served_orders" in again.stderr
    floor, accountant = run_shop(kafka, prefix, orders=200, speed=40, books_url=books)
    sink = sink_for(kafka, prefix, postgres_server)
    finish(floor, accountant, 200)
    table = sink.finish()

    figures = side_by_side(kafka, prefix, table, books)
    assert figures["table"] == figures["books"] == figures["ledger"]
    assert table.rows == 200
    report = status(prefix)
    assert report["state"] == "RUNNING" and [task["state"] for task in report["tasks"]] == ["RUNNING"]  # type: ignore[union-attr]
    assert report["lag"] == 0 and report["end_offsets"] == 200 and report["table"] == f"{prefix}_served_orders"
    shown = fishchips("connect", "status", "--prefix", prefix, timeout=60)
    assert f"{prefix}.orders-sink RUNNING" in shown.stdout and "lag        0" in shown.stdout
    with psycopg.connect(postgres_server) as connection:  # one row per order, its items counted as the menu prices them
        rows = connection.execute(f"SELECT cod, plaice, chips, price_pence FROM {prefix}_served_orders").fetchall()
    price = {name: item.price for name, item in MENU.items.items()}
    assert all(cod * price["cod"] + plaice * price["plaice"] + chips * price["chips"] == pence for cod, plaice, chips, pence in rows)


@pytest.mark.slow
def test_kill_9_of_the_worker_mid_run_then_a_restart_changes_nothing(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, books: str, connect_worker: WorkerState
) -> None:
    names = ConnectNames(Topics(prefix))
    floor, accountant = run_shop(kafka, prefix, orders=200, speed=20, books_url=books)
    sink = sink_for(kafka, prefix, postgres_server)
    wait_for(lambda: table_figures(postgres_server, names).rows >= 20, 120)
    worker = ConnectWorker().running_state()
    os.kill(worker.pid, signal.SIGKILL)
    wait_for(lambda: not ConnectWorker().status().running, 10)
    killed_at = table_figures(postgres_server, names).rows
    print(f"\n{prefix}: {killed_at} rows in the table when the worker was killed")
    restarted = start_sink(kafka, prefix, postgres_server)
    assert "the Connect worker is ready" in restarted.stderr
    assert ConnectWorker().running_state().pid != worker.pid
    finish(floor, accountant, 200)
    table = sink.finish(timeout=180)

    figures = side_by_side(kafka, prefix, table, books)
    assert killed_at < 200  # the kill came mid-run
    assert figures["table"] == figures["books"] == figures["ledger"]
    assert table.rows == 200


def test_a_record_the_sink_cannot_read_goes_to_connects_dead_letters(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, connect_worker: WorkerState
) -> None:
    names = ConnectNames(Topics(prefix))
    start_sink(kafka, prefix, postgres_server)
    producer = clients.producer(kafka)
    producer.produce(names.rows, b"{not json", b"bad")
    assert producer.flush(10) == 0
    wait_for(lambda: len(read_to_end(kafka, names.dead_letters)) == 1, 60, every=0.5)

    [letter] = read_to_end(kafka, names.dead_letters)
    headers = dict(letter.headers())
    assert letter.value() == b"{not json"
    assert headers["__connect.errors.topic"] == names.rows.encode()
    assert headers["__connect.errors.stage"] == b"VALUE_CONVERTER"
    assert b"DataException" in headers["__connect.errors.exception.class.name"]
    listed = fishchips("dlq", "-b", str(kafka.bootstrap_servers), "--prefix", prefix, "--connect", "--json", timeout=60)
    assert listed.returncode == 0, listed.stderr
    [record] = json.loads(listed.stdout)
    assert record["source"].startswith(f"{names.rows}[") and record["role"] == names.connector
    assert "Converting byte[] to Kafka Connect data failed" in record["reason"]
    assert status(prefix)["state"] == "RUNNING"  # errors.tolerance=all: the sink carries on


def test_the_worker_s_log_and_a_missing_worker(tmp_path: object, connect_worker: WorkerState) -> None:
    fetched = fishchips("connect", "fetch", timeout=60)  # the worker's start fetched the plugin: nothing left to fetch
    assert fetched.returncode == 0 and f"jars in {libs_dir(cache_dir(), JDBC_SINK)}" in fetched.stderr
    assert sorted(path.name for path in libs_dir(cache_dir(), JDBC_SINK).iterdir()) == sorted(
        jar.filename for jar in locked_jars(JDBC_SINK)
    )
    logs = fishchips("connect", "logs", "--lines", "5", timeout=30)
    assert logs.returncode == 0 and len(logs.stdout.strip().splitlines()) >= 1 and "connect.log" in logs.stderr
    elsewhere = {**os.environ, "FISHCHIPS_DATA_DIR": str(tmp_path)}
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "fishchips", "connect", "status"], capture_output=True, text=True, timeout=30, env=elsewhere
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "✗ no Connect worker is running" in result.stderr and "fishchips connect start" in result.stderr
    assert time.monotonic() - began < 15
    wrong = subprocess.run(
        [sys.executable, "-m", "fishchips", "connect", "start", "-b", str(connect_worker.bootstrap), "--db", "mysql://x@127.0.0.1/db"],
        capture_output=True,
        text=True,
        timeout=30,
        env=elsewhere,
    )
    assert wrong.returncode == 1 and "✗ the sink needs a PostgreSQL URL" in wrong.stderr


def test_the_clerk_as_a_process_of_its_own(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, connect_worker: WorkerState
) -> None:
    names = ConnectNames(Topics(prefix))
    start_sink(kafka, prefix, postgres_server)
    clerk = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fishchips",
            "connect",
            "clerk",
            "-b",
            str(kafka.bootstrap_servers),
            "--prefix",
            prefix,
            "--partitions",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: Topics(prefix).served in clients.admin(kafka).list_topics(timeout=10).topics, 30)
        producer = clients.producer(kafka)
        served = [Order(n, 1, (("cod", "chips"),), f"{prefix}-{n}", time.time(), ready=True) for n in range(5)]
        for order in served:
            producer.produce(Topics(prefix).served, order.to_json(), order.id.encode())
        assert producer.flush(10) == 0
        wait_for(lambda: table_figures(postgres_server, names) == TableFigures(5, 5 * MENU.price((("cod", "chips"),))), 60, every=0.5)
    finally:
        clerk.send_signal(signal.SIGTERM)
        output, _ = clerk.communicate(timeout=30)
    assert clerk.returncode == 0, output
    assert "row 5" in output


def test_run_with_sink_fills_the_table_as_the_ledger_says(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, connect_worker: WorkerState
) -> None:
    """`fishchips run demo4 --sink`: the shop, the clerk and the sink together; the JSON says what the table holds."""
    args = ["run", "demo4", "--orders", "40", "--speed", "40", "--sink", "--sink-db", postgres_server, "--json"]
    result = fishchips(*args, "-b", str(kafka.bootstrap_servers), "--prefix", prefix, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    ledger = check(kafka, Topics(prefix), MENU)
    assert summary["ok"] and summary["served"] == ledger.served == 40
    assert summary["sink"] == {"rows": 40, "price_pence": ledger.takings_pence}


async def test_the_live_shop_shows_the_sink_beside_kafkas_view(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, connect_worker: WorkerState
) -> None:
    """The Textual app reads the sink's connector, task and lag as `fishchips connect status` does, once a second."""
    start_sink(kafka, prefix, postgres_server)  # this shop's sink, on the session's worker
    app = ShopApp(SCENARIOS["demo1"], kafka, Topics(prefix), speed=8)
    async with app.run_test(size=(100, 40)) as pilot:
        try:
            connect = app.query_one("#connect")
            deadline = time.monotonic() + 60
            while "task 0 RUNNING" not in str(connect.render()):
                assert time.monotonic() < deadline, str(connect.render())
                await pilot.pause(0.2)
            shown = str(connect.render())
            assert f"{prefix}.orders-sink RUNNING" in shown and "task 0 RUNNING" in shown and f"{prefix}_served_orders" in shown
        finally:
            await app.close_shop()


def test_lesson_14_finds_every_order_served_as_a_row_in_postgresql(
    kafka: ConnectionSettings, prefix: str, postgres_server: str, connect_worker: WorkerState
) -> None:
    """`fishchips learn --check 14` as the lesson says to play it: after `fishchips connect start --prefix P`, on the run's worker."""
    start_sink(kafka, prefix, postgres_server)
    result = fishchips("learn", "--check", "14", "--json", "-b", str(kafka.bootstrap_servers), "--prefix", prefix, timeout=240)

    assert result.returncode == 0, result.stdout + result.stderr
    [report] = json.loads(result.stdout)
    assert report["lesson"] == "14-kafka-connect" and report["passed"]
    checks = ["topic_has_records", "sink_running", "table_matches_served", "sink_lag_above", "table_matches_served"]
    assert [step["check"] for step in report["steps"]] == checks
    assert all(step["passed"] for step in report["steps"]), report
    assert "RUNNING" in report["steps"][1]["said"] and f"table {prefix}_served_orders" in report["steps"][4]["said"]
    print(f"\nlesson 14: steps {[step['seconds'] for step in report['steps']]} s")  # shown with -s: the durations the docs quote
    assert status(prefix)["state"] == "RUNNING"  # resumed by the lesson


def test_lesson_14_without_its_worker_its_sink_or_its_database_says_so_in_one_line(
    kafka: ConnectionSettings, prefix: str, tmp_path: Path, connect_worker: WorkerState
) -> None:
    """The lesson starts nothing: it names what is missing, and the command that starts it."""
    gone, elsewhere = f"postgresql://postgres@127.0.0.1:{free_port()}/fishchips", f"{prefix}db"  # nothing listens there
    start_sink(kafka, elsewhere, gone)

    def play(on: str, data: Path | None = None) -> subprocess.CompletedProcess[str]:
        return fishchips("learn", "--check", "14", "-b", str(kafka.bootstrap_servers), "--prefix", on, timeout=120, data=data)

    try:
        with ThreadPoolExecutor(3) as together:  # three shops at once (each of its own prefix): a third of the time
            # the worker runs, but has no sink for this prefix; a data dir with no worker in it; a sink whose database is gone
            no_sink, no_worker, no_database = together.map(play, [prefix, f"{prefix}w", elsewhere], [None, tmp_path, None])
    finally:
        rest(connect_worker, "DELETE", f"/connectors/{ConnectNames(Topics(elsewhere)).connector}")

    def how(on: str) -> str:
        return f"`fishchips connect start --prefix {on}` starts PostgreSQL, the worker and this shop's sink"

    for result, missing in (
        (no_sink, f"the Connect worker has no sink {prefix}.orders-sink: {how(prefix)}"),
        (no_worker, f"no Kafka Connect worker is running: {how(f'{prefix}w')}"),
        (no_database, f"the sink's PostgreSQL at {gone} does not answer: "),
    ):
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        [line] = [line for line in result.stderr.splitlines() if line.startswith("✗")]
        assert line.startswith(f"✗ {missing}"), line
    assert no_database.stderr.strip().endswith("`fishchips db start` starts the local one"), no_database.stderr
