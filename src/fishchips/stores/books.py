"""The accountant's books: each served order once, each rejected event once, and how far the
log has been read, all in one database so that they change together, in one transaction.

The same SQL runs on SQLite (the default: a file in the data dir) and on PostgreSQL
(`postgresql://...`); only the parameter marker and how a consistent read begins differ.
An order's id and an event's log position are primary keys, so booking an order or a
rejection again (after a crash, a restart or a replay) changes nothing.
"""

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

import psycopg

from fishchips.errors import FishchipsError
from fishchips.paths import data_dir
from fishchips.waiting import until

SQLITE_WAIT = 30.0  # seconds a connection to the SQLite books waits for another's lock

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        till INTEGER NOT NULL,
        number INTEGER NOT NULL,
        placed_at DOUBLE PRECISION NOT NULL,
        hour TEXT NOT NULL,
        takings_pence BIGINT NOT NULL,
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS order_items (
        order_id TEXT NOT NULL REFERENCES orders (id),
        item TEXT NOT NULL,
        portions INTEGER NOT NULL,
        PRIMARY KEY (order_id, item)
    )""",
    """CREATE TABLE IF NOT EXISTS rejected (
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        kafka_offset BIGINT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (topic, kafka_partition, kafka_offset)
    )""",
    """CREATE TABLE IF NOT EXISTS consumer_offsets (
        topic TEXT NOT NULL,
        kafka_partition INTEGER NOT NULL,
        next_offset BIGINT NOT NULL,
        PRIMARY KEY (topic, kafka_partition)
    )""",
)


class BooksError(FishchipsError):
    """The books cannot be opened: a bad URL, or a database that is not there."""


@dataclass(frozen=True)
class Position:
    """Where an event sits in Kafka's log."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class Entry:
    """One served order as the books keep it: what it took, what it sold, where it was read."""

    order_id: str
    till: int
    number: int
    placed_at: float  # epoch seconds
    hour: str  # "YYYY-MM-DD HH:00" in UTC, from the order itself, so a replay files it in the same hour
    takings_pence: int
    items: Mapping[str, int]  # portions per item: a large chips is 2 chips
    where: Position


@dataclass(frozen=True)
class Rejection:
    """An event that is not a valid order, and why."""

    where: Position
    reason: str


@dataclass(frozen=True)
class Figures:
    """Orders, takings and portions, for the whole shop or one slice of it."""

    orders: int = 0
    takings_pence: int = 0
    items: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Totals:
    """The whole shop's figures, read in one snapshot: what the live app and page show, once a second."""

    orders: int
    takings_pence: int
    items: dict[str, int]
    rejected: int


@dataclass(frozen=True)
class BooksSummary(Totals):
    """The books as they stand, read in one snapshot, sliced by till and by hour too: for the report."""

    rejections: dict[str, int]  # reason -> events
    by_till: dict[int, Figures]
    by_hour: dict[str, Figures]  # "YYYY-MM-DD HH:00", UTC


@dataclass(frozen=True)
class _Dialect:
    marker: str  # how a query parameter is written
    begin_write: str
    begin_read: str  # a transaction in which several SELECTs see one snapshot
    lock_schema: str | None  # so that two first connections do not both create the tables


# SQLite: take the write lock at once, so two writers queue rather than fail (and so create the tables in turn);
# in WAL mode a read is a snapshot
SQLITE = _Dialect("?", "BEGIN IMMEDIATE", "BEGIN", None)
POSTGRES = _Dialect(
    "%s", "BEGIN", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "SELECT pg_advisory_xact_lock(hashtext('fishchips books schema'))"
)


class Books:
    """One connection to the books. Not shared between threads: each opens its own."""

    def __init__(self, connection: Any, dialect: _Dialect, where: str) -> None:
        self._connection = connection
        self._dialect = dialect
        self.where = where  # the database, for messages (never with its password)
        with self.transaction():
            if dialect.lock_schema:
                self._execute(dialect.lock_schema)
            for statement in SCHEMA:
                self._execute(statement)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def transaction(self, begin: str | None = None) -> Iterator[Self]:
        """Everything written inside commits together, or, if anything fails, not at all."""
        self._execute(begin or self._dialect.begin_write)
        try:
            yield self
        except BaseException:
            self._execute("ROLLBACK")
            raise
        self._execute("COMMIT")

    def book(self, entry: Entry) -> bool:
        """Add a served order; False if it is already in the books (a re-served order or a re-read)."""
        added = self._execute(
            "INSERT INTO orders (id, till, number, placed_at, hour, takings_pence, topic, kafka_partition, kafka_offset)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (
                entry.order_id,
                entry.till,
                entry.number,
                entry.placed_at,
                entry.hour,
                entry.takings_pence,
                entry.where.topic,
                entry.where.partition,
                entry.where.offset,
            ),
        ).rowcount
        if added:
            for item, portions in sorted(entry.items.items()):
                self._execute("INSERT INTO order_items (order_id, item, portions) VALUES (?, ?, ?)", (entry.order_id, item, portions))
        return bool(added)

    def reject(self, rejection: Rejection) -> bool:
        """Note an unreadable event; False if this position was noted before."""
        where = rejection.where
        return bool(
            self._execute(
                "INSERT INTO rejected (topic, kafka_partition, kafka_offset, reason) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING",
                (where.topic, where.partition, where.offset, rejection.reason),
            ).rowcount
        )

    def advance(self, topic: str, partition: int, next_offset: int) -> None:
        """Record how far a partition has been read: the consumer's offset, kept beside what it paid for."""
        self._execute(
            "INSERT INTO consumer_offsets (topic, kafka_partition, next_offset) VALUES (?, ?, ?)"
            " ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset",
            (topic, partition, next_offset),
        )

    def offsets(self, topic: str) -> dict[int, int]:
        """Partition -> the next offset to read, as last committed with the books."""
        rows = self._execute("SELECT kafka_partition, next_offset FROM consumer_offsets WHERE topic = ?", (topic,)).fetchall()
        return {int(partition): int(offset) for partition, offset in rows}

    def summary(self) -> BooksSummary:
        """The books' totals, per till and per hour, all from one snapshot."""
        with self.transaction(self._dialect.begin_read):
            by_till = self._figures("till")
            by_hour = self._figures("hour")
            rejections = self._execute("SELECT reason, count(*) FROM rejected GROUP BY reason ORDER BY reason").fetchall()
        items: dict[str, int] = {}
        for figures in by_till.values():
            for item, portions in figures.items.items():
                items[item] = items.get(item, 0) + portions
        return BooksSummary(
            orders=sum(f.orders for f in by_till.values()),
            takings_pence=sum(f.takings_pence for f in by_till.values()),
            items=dict(sorted(items.items())),
            rejected=sum(int(n) for _, n in rejections),
            rejections={reason: int(n) for reason, n in rejections},
            by_till=by_till,
            by_hour=by_hour,
        )

    def totals(self) -> Totals:
        """The shop's totals alone, for a view that asks every second: three plain aggregates. summary()'s slices join
        every order with its items twice, and the books keep every run's orders: at 8,000 orders it took 16.6 ms a call
        against 2.5 ms here: over a quarter of the live app's CPU went to it (docs/performance.md)."""
        with self.transaction(self._dialect.begin_read):
            orders, takings = self._execute("SELECT count(*), coalesce(sum(takings_pence), 0) FROM orders").fetchone()
            items = self._execute("SELECT item, sum(portions) FROM order_items GROUP BY item ORDER BY item").fetchall()
            rejected = self._execute("SELECT count(*) FROM rejected").fetchone()[0]
        return Totals(int(orders), int(takings), {item: int(portions) for item, portions in items}, int(rejected))

    def _figures(self, column: str) -> dict[Any, Figures]:
        """Orders, takings and portions grouped by a column of `orders` (till or hour)."""
        totals = self._execute(f"SELECT {column}, count(*), sum(takings_pence) FROM orders GROUP BY {column} ORDER BY {column}").fetchall()
        portions = self._execute(
            f"SELECT o.{column}, i.item, sum(i.portions) FROM order_items i JOIN orders o ON o.id = i.order_id"
            f" GROUP BY o.{column}, i.item ORDER BY o.{column}, i.item"
        ).fetchall()
        items: dict[Any, dict[str, int]] = {}
        for key, item, count in portions:
            items.setdefault(key, {})[item] = int(count)
        return {key: Figures(int(orders), int(takings), items.get(key, {})) for key, orders, takings in totals}

    def _execute(self, sql: str, parameters: tuple[object, ...] = ()) -> Any:
        return self._connection.execute(sql.replace("?", self._dialect.marker), parameters)


def default_path(prefix: str = "fishchips") -> Path:
    """One book per shop: the default shop's is books.sqlite, another prefix's books-<prefix>.sqlite."""
    return data_dir() / ("books.sqlite" if prefix == "fishchips" else f"books-{prefix}.sqlite")


def open_books(url: str | None = None, prefix: str = "fishchips") -> Books:
    """The books at `postgresql://...`, `sqlite:///path` or a file path; none given: the shop's file in the data dir."""
    if url and url.startswith(("postgresql://", "postgres://")):
        return _open_postgres(url)
    if url and "://" in url and not url.startswith("sqlite:///"):
        raise BooksError(f"cannot use the database {url!r}: give postgresql://user@host/db, sqlite:///path or a file path")
    path = Path(url.removeprefix("sqlite:///")).expanduser() if url else default_path(prefix)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit (isolation_level=None): transactions are begun and ended by Books, the same way as on PostgreSQL
        connection = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_WAIT)
        write_ahead(connection)
        return Books(connection, SQLITE, str(path))
    except (OSError, sqlite3.Error) as exc:
        raise BooksError(f"cannot open the books at {path}: {exc}") from None


def write_ahead(connection: sqlite3.Connection) -> None:
    """WAL, so that the report can read while the accountant writes. The switch needs the file to itself: when two
    connections open a new file at once, both ask, and SQLite answers one "database is locked" at once rather than
    let them wait for each other for ever. So that one asks again, once the other has switched the file."""

    def switched() -> bool:
        try:
            return bool(connection.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return False

    if not until(switched, SQLITE_WAIT, every=0.05):
        raise sqlite3.OperationalError(f"database is locked for more than {SQLITE_WAIT:.0f} s")


def _open_postgres(url: str) -> Books:
    where = _without_password(url)
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
        return Books(connection, POSTGRES, where)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BooksError(f"cannot open the books at {where}: {reason}") from None


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()
