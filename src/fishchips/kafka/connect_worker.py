"""One Kafka Connect worker (distributed mode) beside the shop, and the JDBC sink it runs.

The worker is Kafka's own `ConnectDistributed` from the pinned Kafka jars, with Debezium's
JDBC sink (pinned and checksummed too) as its one plugin. Its configs, offsets and statuses
live in topics of the shop's cluster, under the shop's prefix, so a worker restarted after a
crash carries on where the cluster says. It is detached like the broker: it outlives the
command that started it, and leaves its pid and REST port in its data dir.

The sink is the other road to the books (see docs/design.md): no consumer code at all, only
configuration; at-least-once, made harmless by an upsert on the order's id.
"""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fishchips.broker.embedded import HEAP, JVM_FLAGS, LOG4J
from fishchips.broker.jars import JDBC_SINK, Progress, ensure_jars, libs_dir
from fishchips.broker.java import find_java
from fishchips.errors import FishchipsError
from fishchips.kafka.topics import Topics
from fishchips.paths import cache_dir, data_dir
from fishchips.services.local_server import LocalServer, port_again

MAIN = "org.apache.kafka.connect.cli.ConnectDistributed"
SINK_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"
REST_TIMEOUT = 10.0


class ConnectError(FishchipsError):
    """The worker could not be started, reached or stopped, or it refused a connector."""


@dataclass(frozen=True)
class ConnectNames:
    """Where the worker and the sink live in the shop's cluster: all under the shop's prefix."""

    topics: Topics

    @property
    def group(self) -> str:
        return self.topics.group("connect")

    def storage(self, kind: str) -> str:
        return f"{self.topics.prefix}.connect-{kind}"  # configs, offsets, status

    @property
    def rows(self) -> str:
        """The clerk's topic: each served order as a flat row with its schema."""
        return f"{self.topics.prefix}.served-rows"

    @property
    def dead_letters(self) -> str:
        """Connect's own dead-letter topic, for records the sink cannot read or write."""
        return f"{self.topics.prefix}.connect-dead-letters"

    @property
    def connector(self) -> str:
        return f"{self.topics.prefix}.orders-sink"

    @property
    def sink_group(self) -> str:
        return f"connect-{self.connector}"  # Connect names a sink's consumer group after it

    @property
    def table(self) -> str:
        return re.sub(r"\W", "_", self.topics.prefix) + "_served_orders"


def sink_config(names: ConnectNames, db_url: str) -> dict[str, str]:
    """The JDBC sink's whole configuration: upsert on the order's id, bad records to a dead-letter topic."""
    parts = urlsplit(db_url)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise ConnectError(f"the sink needs a PostgreSQL URL (postgresql://user@host:port/db), not {db_url!r}")
    database = parts.path.lstrip("/") or "postgres"
    return {
        "connector.class": SINK_CLASS,
        "tasks.max": "1",
        "topics": names.rows,
        "connection.url": f"jdbc:postgresql://{parts.hostname}:{parts.port or 5432}/{database}",
        "connection.username": unquote(parts.username or "postgres"),  # a URL's %40 is an @ to the database
        "connection.password": unquote(parts.password or ""),
        # at-least-once delivery, made harmless: a replayed record rewrites its own row
        "insert.mode": "upsert",
        "primary.key.mode": "record_value",
        "primary.key.fields": "id",
        "schema.evolution": "basic",  # the sink creates the table from the records' schema
        "collection.name.format": names.table,
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",  # each record carries its schema: the talk's demo5 format
        # a record the sink cannot read goes aside, with why and whence in its headers; the sink carries on
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": names.dead_letters,
        "errors.deadletterqueue.topic.replication.factor": "-1",  # the broker's default: 1 on one node, 3 on three
        "errors.deadletterqueue.context.headers.enable": "true",
        "errors.log.enable": "true",
    }


def worker_settings(names: ConnectNames, bootstrap: str, rest_port: int, plugins: Path) -> dict[str, str]:
    """A small distributed worker: its state in the shop's cluster, its REST API on 127.0.0.1 only."""
    return {
        "bootstrap.servers": bootstrap,
        "group.id": names.group,
        "config.storage.topic": names.storage("configs"),
        "offset.storage.topic": names.storage("offsets"),
        "status.storage.topic": names.storage("status"),
        # -1: the broker's default replication; one partition each is plenty for one worker
        "config.storage.replication.factor": "-1",
        "offset.storage.replication.factor": "-1",
        "status.storage.replication.factor": "-1",
        "offset.storage.partitions": "1",
        "status.storage.partitions": "1",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "listeners": f"http://127.0.0.1:{rest_port}",
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": str(rest_port),
        "plugin.path": str(plugins),
        "plugin.discovery": "service_load",  # the plugins' own manifests: seconds, where scanning every class takes half a minute
        # one worker: a restarted one takes back its connectors at once, not after the 5-minute wait meant for a cluster of them
        "scheduled.rebalance.max.delay.ms": "0",
        # a sink commits its consumer offsets this often: the default minute would show lag long after the rows are in
        "offset.flush.interval.ms": "1000",
    }


@dataclass
class WorkerState:
    """What a running worker left in its data dir for later commands to find it."""

    pid: int
    rest_port: int
    bootstrap: str
    prefix: str
    java: str
    started_at: float

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"


@dataclass
class WorkerStatus:
    running: bool
    data_dir: Path
    state: WorkerState | None


def default_data_dir() -> Path:
    return data_dir() / "connect"


class ConnectWorker(LocalServer[WorkerState]):
    """Start, stop and inspect the Connect worker whose files live in `data`."""

    title = "the Connect worker"
    error = ConnectError
    state_name = "worker.json"

    def __init__(self, data: Path | None = None, cache: Path | None = None) -> None:
        super().__init__((data or default_data_dir()).absolute(), WorkerState)
        self.cache = cache or cache_dir()

    @property
    def properties(self) -> Path:
        return self.data / "worker.properties"

    @property
    def log_file(self) -> Path:
        return self.data / "logs" / "connect.log"

    def logs(self) -> tuple[Path, ...]:
        return self.log_file, self.data / "logs" / "stdout.log"  # stdout: if it died before it opened its log

    def marks(self) -> tuple[str, ...]:
        return MAIN, str(self.properties)

    def status(self) -> WorkerStatus:
        state, running = self.found()
        return WorkerStatus(running, self.data, state)

    def start(
        self,
        bootstrap: str,
        topics: Topics,
        timeout: float = 120.0,
        progress: Progress | None = None,
        on_phase: Callable[[str], None] | None = None,
    ) -> WorkerState:
        """Start the worker and return once its REST API answers and it has joined its group.

        Its own topics go under `topics`' prefix the first time, and stay there on every restart on the same cluster.
        """
        phase = on_phase or (lambda what: None)
        current = self.status()
        if current.running and current.state:
            raise ConnectAlreadyRunning(current.state)
        previous = current.state
        try:
            (self.data / "logs").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConnectError(f"the worker's data dir {self.data} is not writable ({exc.strerror})") from None
        phase("finding Java")
        java = find_java()
        phase("fetching the Kafka jars")
        libs = ensure_jars(self.cache, progress)
        phase("fetching the JDBC sink plugin")
        plugin = ensure_jars(self.cache, progress, JDBC_SINK)
        assert plugin == libs_dir(self.cache, JDBC_SINK)
        # last time's port if free: the worker's id in the cluster is its address, so a restarted worker is the same one
        rest_port = port_again(previous.rest_port if previous else None)
        # a restart is the same Connect cluster: its configs (every sink registered on it) come back from its topics
        if previous and previous.bootstrap == bootstrap:
            topics = Topics(previous.prefix)
        settings = worker_settings(ConnectNames(topics), bootstrap, rest_port, plugin.parent)
        self.properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        (self.data / "log4j2.properties").write_text(LOG4J.format(log=self.log_file))
        phase("starting the Connect worker")
        pid = self.detach(
            [
                str(java.path),
                f"-Xmx{HEAP}",
                *JVM_FLAGS,
                f"-Dlog4j2.configurationFile={self.data / 'log4j2.properties'}",
                "-cp",
                f"{libs}/*",
                MAIN,
                str(self.properties),
            ],
            self.logs()[1],
        )
        state = WorkerState(pid, rest_port, bootstrap, topics.prefix, java.describe(), time.time())
        self.write_state(state)
        phase("waiting for the worker to join its group")
        self.wait_ready(pid, lambda: _joined(state), timeout, state.rest_url, every=0.2)
        return state

    def running_state(self) -> WorkerState:
        """The running worker's state, or a one-line error saying how to start it."""
        current = self.status()
        if not current.running or current.state is None:
            raise ConnectError(f"no Connect worker is running from {self.data}: start one with `fishchips connect start`")
        return current.state


class ConnectAlreadyRunning(ConnectError):
    def __init__(self, state: WorkerState) -> None:
        super().__init__(f"the Connect worker is already running at {state.rest_url} (pid {state.pid}, prefix {state.prefix})")
        self.state = state


def rest(state: WorkerState, method: str, path: str, body: Mapping[str, Any] | None = None, timeout: float = REST_TIMEOUT) -> Any:
    """One call to the worker's REST API; its JSON answer, or a ConnectError with the worker's own message."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(state.rest_url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", exc.reason)
        except ValueError:
            message = exc.reason
        raise ConnectError(f"the Connect worker refused {method} {path}: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ConnectError(f"cannot reach the Connect worker at {state.rest_url}: {getattr(exc, 'reason', exc)}") from None
    return json.loads(text) if text else None


def _joined(state: WorkerState) -> bool:
    """Ready when /health says so (KIP-1017): the worker has read its config topic and joined its group.

    Its REST API answers other calls earlier, while it is still starting: a first sign of life, not readiness.
    """
    try:
        rest(state, "GET", "/health", timeout=2)
    except ConnectError:
        return False
    return True


def _json_object(answer: Any) -> dict[str, Any]:
    """The worker's answer where the REST API promises a JSON object; anything else is its fault, said so."""
    if not isinstance(answer, dict):
        raise ConnectError(f"the Connect worker answered {answer!r} where it should give a JSON object")
    return answer


def put_sink(state: WorkerState, names: ConnectNames, db_url: str) -> dict[str, Any]:
    """Create the sink, or update it to the same configuration: running it twice changes nothing."""
    return _json_object(rest(state, "PUT", f"/connectors/{quote(names.connector, safe='')}/config", sink_config(names, db_url)))


def sink_status(state: WorkerState, names: ConnectNames) -> dict[str, Any] | None:
    """The connector's and its tasks' states as the worker reports them; None if there is no such connector."""
    return _about_sink(state, names, "status")


def sink_database(state: WorkerState, names: ConnectNames) -> str | None:
    """The PostgreSQL the shop's sink writes to, as a postgresql:// URL (sink_config read backwards); None if there is no sink."""
    config = _about_sink(state, names, "config")
    return None if config is None else database_url(config)


def database_url(config: Mapping[str, Any]) -> str:
    """The postgresql:// URL of the database a sink's configuration writes to: sink_config's `connection.*`, read back."""
    jdbc = urlsplit(str(config.get("connection.url", "")).removeprefix("jdbc:"))
    user, password = (quote(config.get(f"connection.{key}") or default, safe="") for key, default in (("username", "postgres"), ("password", "")))
    return f"postgresql://{user}{':' + password if password else ''}@{jdbc.hostname}:{jdbc.port or 5432}{jdbc.path}"


def pause_sink(state: WorkerState, names: ConnectNames, paused: bool) -> None:
    """Pause the sink's task (it stays in its consumer group, reading nothing) or resume it; either twice changes nothing."""
    rest(state, "PUT", f"/connectors/{quote(names.connector, safe='')}/{'pause' if paused else 'resume'}")


def _about_sink(state: WorkerState, names: ConnectNames, what: str) -> dict[str, Any] | None:
    """GET /connectors/<the sink>/<what> (status, config); None if the worker has no such connector."""
    try:
        return _json_object(rest(state, "GET", f"/connectors/{quote(names.connector, safe='')}/{what}"))
    except ConnectError as exc:
        if "not found" in str(exc):
            return None
        raise
