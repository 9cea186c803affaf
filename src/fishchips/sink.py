"""The served orders into PostgreSQL by Kafka Connect: the worker and its sink, the clerk, the table.

`fishchips connect start` and a shop run with the sink (`run ... --sink`) both go through
ensure_sink, so the worker is started and the sink registered in one place, idempotently.
A shop run then starts a ShopSink once its topics exist, and asks it for the table's figures
when the shop is done.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from confluent_kafka.admin import AdminClient

from fishchips.broker.jars import Progress
from fishchips.errors import FishchipsError
from fishchips.events import Listener, ignore
from fishchips.kafka import clients
from fishchips.kafka.connect_worker import (
    ConnectAlreadyRunning,
    ConnectError,
    ConnectNames,
    ConnectWorker,
    WorkerState,
    put_sink,
    sink_config,
    sink_database,
    sink_status,
)
from fishchips.kafka.inspect import committed_offsets, end_offsets, snapshot
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.ledger import read_orders
from fishchips.roles.clerk import Clerk
from fishchips.roles.context import ShopContext
from fishchips.services.postgres import LocalPostgres, PostgresAlreadyRunning
from fishchips.shop import Menu
from fishchips.waiting import until

Phase = Callable[[str], None]


def local_database(phase: Phase | None = None) -> str:
    """The URL of `fishchips db`'s server, started now if it is not running."""
    server = LocalPostgres()
    current = server.status()
    if current.running and current.url:
        return current.url
    (phase or (lambda what: None))("starting PostgreSQL")
    try:
        url = server.start().url
    except PostgresAlreadyRunning as already:
        url = already.status.url
    assert url is not None
    return url


@dataclass(frozen=True)
class SinkSetup:
    state: WorkerState
    names: ConnectNames
    db_url: str
    started: bool  # False: the worker was already running


def ensure_sink(
    settings: ConnectionSettings,
    topics: Topics,
    db_url: str | None = None,
    timeout: float = 120.0,
    progress: Progress | None = None,
    phase: Phase | None = None,
) -> SinkSetup:
    """The worker running (started if need be) and the shop's sink registered on it, writing to `db_url` (default: `fishchips db`)."""
    if settings.protocol != "PLAINTEXT" or not settings.bootstrap_servers:
        raise ConnectError(f"the Connect worker here connects over PLAINTEXT only, and this cluster wants {settings.protocol}")
    names = ConnectNames(topics)
    db_url = db_url or local_database(phase)
    sink_config(names, db_url)  # a wrong URL is said now, not after the worker's half-minute start
    try:
        state, started = ConnectWorker().start(settings.bootstrap_servers, topics, timeout, progress, phase), True
    except ConnectAlreadyRunning as already:
        state, started = already.state, False
        _same_cluster(state, settings)
    (phase or (lambda what: None))("registering the sink")
    ensure_topics(clients.admin(settings), {names.rows: 3, names.dead_letters: 1})
    put_sink(state, names, db_url)
    return SinkSetup(state, names, db_url, started)


def _same_cluster(state: WorkerState, settings: ConnectionSettings) -> None:
    if state.bootstrap != settings.bootstrap_servers:
        raise ConnectError(
            f"the Connect worker works for the cluster at {state.bootstrap}, not {settings.bootstrap_servers}: `fishchips connect stop` it first"
        )


def registered_sink(settings: ConnectionSettings, topics: Topics) -> SinkSetup:
    """The running worker's sink for this shop, and the PostgreSQL it writes to, both answering; else a one-line
    ConnectError that says which is missing and the command that sets all three up. Starts nothing."""
    names = ConnectNames(topics)
    how = f"`fishchips connect start --prefix {topics.prefix}` starts PostgreSQL, the worker and this shop's sink"
    worker = ConnectWorker().status()
    if not worker.running or worker.state is None:
        raise ConnectError(f"no Kafka Connect worker is running: {how}")
    _same_cluster(worker.state, settings)
    if (db_url := sink_database(worker.state, names)) is None:
        raise ConnectError(f"the Connect worker has no sink {names.connector}: {how}")
    try:
        table_figures(db_url, names)  # PostgreSQL answers
    except ConnectError as exc:
        raise ConnectError(f"{exc}; `fishchips db start` starts the local one") from None
    return SinkSetup(worker.state, names, db_url, started=False)


def behind(admin: AdminClient, group: str, topic: str) -> int:
    """Events on `topic` that `group` has not yet committed past: its lag, partitions it never read included."""
    ends = end_offsets(admin, [topic]).get(topic, {})
    committed = committed_offsets(admin, group)
    return sum(max(0, end - committed.get((topic, partition), 0)) for partition, end in ends.items())


@dataclass(frozen=True)
class TableFigures:
    rows: int
    price_pence: int


def table_figures(db_url: str, names: ConnectNames) -> TableFigures:
    """What the sink's table holds: its rows and their prices' sum (nothing yet if the sink has not made it)."""
    # an aggregate always answers one row: the `or` only tells the type checker so
    [(rows, pence)] = _ask_table(db_url, names, 'SELECT count(*), coalesce(sum(price_pence), 0) FROM "{table}"') or [(0, 0)]
    return TableFigures(int(rows), int(pence))


def table_ids(db_url: str, names: ConnectNames) -> set[str]:
    """The order id of every row in the sink's table (none yet if the sink has not made it)."""
    return {str(order_id) for (order_id,) in _ask_table(db_url, names, 'SELECT id FROM "{table}"')}


def _ask_table(db_url: str, names: ConnectNames, query: str) -> list[tuple[Any, ...]]:
    """The rows a query of the sink's table answers ({table} names it); [] before the sink has made the table.
    A PostgreSQL that does not answer is a one-line ConnectError."""
    try:
        with psycopg.connect(db_url, connect_timeout=10) as connection:
            if connection.execute("SELECT to_regclass(%s)", (names.table,)).fetchone() == (None,):
                return []
            return connection.execute(query.format(table=names.table)).fetchall()
    except psycopg.OperationalError as exc:
        raise ConnectError(f"the sink's PostgreSQL at {db_url} does not answer: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}") from None


class ShopSink:
    """A shop run's sink: the clerk turns served orders into rows; the worker's sink writes them into the table."""

    def __init__(self, setup: SinkSetup, settings: ConnectionSettings, topics: Topics, menu: Menu, listener: Listener = ignore) -> None:
        self.setup = setup
        self.settings = settings
        self.clerk = Clerk("clerk", ShopContext(settings, topics, menu, listener=listener))  # at-least-once: see roles/clerk.py

    def start(self) -> "ShopSink":
        self.clerk.start()
        return self

    def finish(self, timeout: float = 120.0) -> TableFigures:
        """Once the table holds a row for every order served and the sink has read every row: the table's figures.

        Served orders are counted from the topic itself; the clerk's own lag cannot say it is done,
        because on a topic written in transactions the end offset lies past the last commit marker.
        """
        menu, names, topics = self.clerk.menu, self.setup.names, self.clerk.topics
        served = {order.id for order in read_orders(self.settings, topics.served, menu)[0]}
        admin, rows = clients.admin(self.settings), 0

        def short() -> FishchipsError:
            return FishchipsError(
                f"the table has {rows} of {len(served)} orders served after {timeout:.0f} s: "
                f"see `fishchips connect status --prefix {topics.prefix}`"
            )

        def caught_up() -> bool:
            nonlocal rows
            rows = table_figures(self.setup.db_url, names).rows
            if rows >= len(served) and not behind(admin, names.sink_group, names.rows):
                return True
            if self.clerk.failure:
                raise short()
            return False

        try:
            if not until(caught_up, timeout, every=0.2):
                raise short()
        finally:
            self.clerk.stop()
        return table_figures(self.setup.db_url, names)


def sink_report(state: WorkerState, names: ConnectNames) -> dict[str, Any]:
    """The sink as the worker sees it (connector and task states) and as Kafka sees it (its group's lag)."""
    found = sink_status(state, names)
    settings = ConnectionSettings(bootstrap_servers=state.bootstrap)
    admin = clients.admin(settings)
    view = snapshot(admin, [names.rows], [names.sink_group])
    group = view.groups[names.sink_group]
    tasks = [
        {"id": task["id"], "state": task["state"], "trace": task.get("trace", "").splitlines()[0] if task.get("trace") else ""}
        for task in (found or {}).get("tasks", [])
    ]
    return {
        "worker": {"pid": state.pid, "rest": state.rest_url, "bootstrap": state.bootstrap},
        "connector": names.connector,
        "state": found["connector"]["state"] if found else "MISSING",
        "tasks": tasks,
        "topic": names.rows,
        "table": names.table,
        "group": names.sink_group,
        "group_state": group.state,
        "end_offsets": sum(view.end_offsets.get(names.rows, {}).values()),
        "committed": sum(group.committed.values()),
        "lag": behind(admin, names.sink_group, names.rows),
    }
