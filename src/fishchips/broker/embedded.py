"""A real Apache Kafka broker (KRaft, one combined broker+controller node) on 127.0.0.1.

fishchips starts it as a detached Java process so it outlives the command that
started it; a small state file in its data dir says which pid and ports it has.
The data dir is formatted once and reused, so the log survives restarts.
"""

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.broker.jars import KAFKA_VERSION, Progress, ensure_jars
from fishchips.broker.java import Java, find_java
from fishchips.errors import FishchipsError
from fishchips.paths import cache_dir, data_dir

DEFAULT_PORT = 9092
_quiet = logging.getLogger("fishchips.broker.probe")
HEAP = "512m"  # fits a laptop and a 2-core CI; Kafka's own default is 1 GB

# Settings for one small local node. Each is what a laptop wants rather than a data centre.
SERVER_SETTINGS = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    # one node: internal topics cannot have more replicas than that
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    # a consumer group forms at once instead of waiting 3 s for more members
    "group.initial.rebalance.delay.ms": "0",
    # the shop creates its topics with the partitions each demo needs
    "auto.create.topics.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "4",
}

LOG4J = """status = error
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


class BrokerError(FishchipsError):
    """The broker could not be started, found or stopped."""


@dataclass
class BrokerState:
    """What a running broker left in its data dir for later commands to find it."""

    pid: int
    port: int
    controller_port: int
    kafka_version: str
    java: str
    started_at: float


@dataclass
class BrokerStatus:
    running: bool
    data_dir: Path
    state: BrokerState | None

    @property
    def bootstrap_servers(self) -> str | None:
        return f"127.0.0.1:{self.state.port}" if self.state else None


def default_data_dir() -> Path:
    return data_dir() / "broker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _alive(pid: int) -> bool:
    """True while pid runs (a zombie, finished but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def answers_metadata(bootstrap: str, timeout: float) -> bool:
    """True when a broker at `bootstrap` answers a metadata request (the readiness test)."""
    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False  # nothing listening yet: skip the client, it would only log connection errors
    admin = AdminClient({"bootstrap.servers": bootstrap, "logger": _quiet})
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


def _is_our_broker(pid: int, data: Path) -> bool:
    """Guard against a recycled pid: the process must be a Kafka broker on this data dir."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _alive(pid)
    return b"kafka.Kafka" in cmdline and str(data / "server.properties").encode() in cmdline


class EmbeddedBroker:
    """Start, stop and inspect the local broker whose data lives in `data`."""

    def __init__(self, data: Path | None = None, cache: Path | None = None) -> None:
        self.data = (data or default_data_dir()).resolve()
        self.cache = cache or cache_dir()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def state_file(self) -> Path:
        return self.data / "broker.json"

    @property
    def log_file(self) -> Path:
        return self.data / "logs" / "server.log"

    def _read_state(self) -> BrokerState | None:
        try:
            return BrokerState(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> BrokerStatus:
        state = self._read_state()
        running = state is not None and _alive(state.pid) and _is_our_broker(state.pid, self.data)
        return BrokerStatus(running, self.data, state)

    def start(
        self,
        port: int | None = None,
        timeout: float = 60.0,
        progress: Progress | None = None,
        on_phase: Callable[[str], None] | None = None,
    ) -> BrokerStatus:
        """Start the broker and return once it answers a metadata request."""
        phase = on_phase or (lambda what: None)
        current = self.status()
        if current.running:
            raise BrokerAlreadyRunning(current)
        previous = current.state
        port = port or (previous.port if previous else DEFAULT_PORT)
        if _port_taken(port):
            raise BrokerError(f"port {port} on 127.0.0.1 is taken by another program: stop it, or choose another port with --port")
        controller_port = previous.controller_port if previous and not _port_taken(previous.controller_port) else _free_port()
        self._prepare_data_dir()
        phase("finding Java")
        java = find_java()
        phase("fetching the Kafka jars")
        libs = ensure_jars(self.cache, progress)
        classpath = f"{libs}/*"
        properties = self._write_config(port, controller_port)
        if not (self.data / "kraft" / "meta.properties").exists():
            phase("formatting the data dir")
            self._format(java, classpath, properties)
        phase("starting the broker")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with (self.data / "logs" / "stdout.log").open("ab") as out:
            self._process = subprocess.Popen(
                [
                    str(java.path),
                    f"-Xmx{HEAP}",
                    f"-Xms{HEAP}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.data / 'log4j2.properties'}",
                    f"-Dkafka.logs.dir={self.data / 'logs'}",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(properties),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # not killed by the terminal's Ctrl-C: it outlives this command
            )
        state = BrokerState(self._process.pid, port, controller_port, KAFKA_VERSION, java.describe(), time.time())
        self.state_file.write_text(json.dumps(asdict(state)))
        phase("waiting for the broker to answer")
        self._await_ready(state, timeout)
        return self.status()

    def _prepare_data_dir(self) -> None:
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            probe = self.data / ".writable"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise BrokerError(
                f"the data dir {self.data} is not writable ({exc.strerror}): fix its permissions or choose another with --data-dir"
            ) from exc

    def _write_config(self, port: int, controller_port: int) -> Path:
        settings = dict(SERVER_SETTINGS)
        settings.update(
            {
                "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
                "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
                "log.dirs": str(self.data / "kraft"),
            }
        )
        properties = self.data / "server.properties"
        properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        (self.data / "log4j2.properties").write_text(LOG4J.format(log=self.log_file))
        return properties

    def _format(self, java: Java, classpath: str, properties: Path) -> None:
        cluster_id = "-"
        while cluster_id.startswith("-"):  # as Kafka's own Uuid does: a leading '-' would read as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        result = subprocess.run(
            [str(java.path), "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            last = (result.stdout + result.stderr).strip().splitlines()[-3:]
            raise BrokerError("could not format the data dir: " + " | ".join(last))

    def _await_ready(self, state: BrokerState, timeout: float) -> None:
        """Poll until the broker answers a metadata request; fail fast if it dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._running(state.pid):
                raise BrokerError(f"the broker exited during start; the last lines of {self.log_file}:\n{self.tail(15)}")
            if answers_metadata(f"127.0.0.1:{state.port}", timeout=1.0):
                return
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"the broker did not answer within {timeout:.0f} s; the last lines of {self.log_file}:\n{self.tail(15)}")

    def _running(self, pid: int) -> bool:
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
        return _alive(pid)

    def stop(self, grace: float = 30.0) -> bool:
        """Stop cleanly (SIGTERM), then SIGKILL after `grace` s. True if a broker was stopped."""
        state = self._read_state()
        if state is None or not self._running(state.pid) or not _is_our_broker(state.pid, self.data):
            return False
        os.kill(state.pid, signal.SIGTERM)
        if not self._wait_gone(state.pid, grace):
            os.kill(state.pid, signal.SIGKILL)
            self._wait_gone(state.pid, 10)
        return True

    def _wait_gone(self, pid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self._running(pid):
                return True
            time.sleep(0.1)
        return False

    def tail(self, lines: int = 40) -> str:
        """The last lines of the broker's log (or its stdout, if the log was never opened)."""
        for path in (self.log_file, self.data / "logs" / "stdout.log"):
            if path.is_file() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(the broker wrote no log)"


class BrokerAlreadyRunning(BrokerError):
    def __init__(self, status: BrokerStatus) -> None:
        super().__init__(f"the broker is already running at {status.bootstrap_servers} (pid {status.state.pid if status.state else '?'})")
        self.status = status
