"""A real Apache Kafka broker (KRaft, one combined broker+controller node) on 127.0.0.1.

fishchips starts it as a detached Java process so it outlives the command that
started it; a small state file in its data dir says which pid and ports it has.
The data dir is formatted once and reused, so the log survives restarts.

Besides its local port it can listen with TLS (client certificates required) and
with SASL_SSL (SCRAM users, ACLs enforced), so the shop can be run against it exactly
as against a managed, secured Kafka service. With SASL nothing is open to anyone
unauthenticated: the local port wants a SCRAM login too (SASL_PLAINTEXT, on 127.0.0.1
only), and the node talks to its own controller and inter-broker ports over TLS with its
certificate; only an explicit `plaintext` start keeps the local port open.

For a classroom (fishchips/classroom) a SASL broker also listens on one more address, the
room's: a SASL_SSL listener named ROOM, bound to that address alone, for students' laptops.
"""

import base64
import functools
import logging
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.broker.certs import BROKER_NAME, CLIENT_FILES, CLIENT_NAME, LOCAL_HOSTS, TlsFiles, ensure_tls
from fishchips.broker.jars import KAFKA_VERSION, Progress, ensure_jars
from fishchips.broker.java import Java, find_java
from fishchips.broker.users import ADMIN, MECHANISM, create_scram_users, read_passwords
from fishchips.errors import FishchipsError
from fishchips.paths import cache_dir, data_dir
from fishchips.services.local_server import LocalServer, port_again, port_taken

DEFAULT_PORT = 9092
quiet_log = logging.getLogger("fishchips.broker.probe")  # the probes' clients: a broker not up yet is no news
HEAP = "512m"  # fits a laptop and a 2-core CI; Kafka's own default is 1 GB
# Kafka's own launcher's (kafka-run-class.sh): a 20 ms pause goal makes G1 collect a smaller young generation more
# often. With Java's default goal, 200 ms, the broker paused 20-100 ms every 6 s at 10,000 orders/s on two cores,
# and every order in flight waited: the stalls in the p99 (docs/performance.md).
JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
)

# Settings for one small local node. Each is what a laptop wants rather than a data centre.
SERVER_SETTINGS = {
    "process.roles": "broker,controller",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    # a consumer group forms at once instead of waiting 3 s for more members
    "group.initial.rebalance.delay.ms": "0",
    # Kafka 4's consumer group protocol (KIP-848) keeps a member's session and heartbeat on the broker:
    # a crashed member is noticed within 6 s, as the classic members' session.timeout.ms says (default 45 s)
    "group.consumer.session.timeout.ms": "6000",
    "group.consumer.min.session.timeout.ms": "6000",  # the default floor, 45 s, would refuse the line above
    # members hear of their new partitions within 1 s (default 5 s): on stage a rebalance is a moment, not a pause
    "group.consumer.heartbeat.interval.ms": "1000",
    "group.consumer.min.heartbeat.interval.ms": "1000",  # the default floor, 5 s, would refuse the line above
    # the shop creates its topics with the partitions each demo needs
    "auto.create.topics.enable": "false",
    "num.network.threads": "2",
    "num.io.threads": "4",
    # a broker that stops heartbeating is fenced after 5 s (default 9 s); on one node nothing can take over
    # from it, so there a longer session only spares a busy machine a false alarm (a cluster: see FAILOVER)
    "broker.session.timeout.ms": "5000",
    "broker.heartbeat.interval.ms": "1000",
    # a share group may lock a record for 1 s at least (default floor 15 s): demo6 sets its group's lock to a few
    # seconds, so a killed share preparer's orders go to another member while the audience watches (docs/share-groups.md)
    "group.share.min.record.lock.duration.ms": "1000",
    # a deleted topic's files leave the disk 1 s after it is deleted (default 60 s): a broker stopped within the minute
    # after a bench run (which deletes its 40-odd topics) started with them all still on disk, and took longer to start
    "log.segment.delete.delay.ms": "1000",
    # ...and the broker's log tasks (that deletion among them) start 1 s after it does, not 30 s: an internal setting,
    # made for Kafka's own tests (KAFKA-16552), that a laptop's broker, often started and stopped, wants as well
    "log.initial.task.delay.ms": "1000",
}

# On a cluster a node that dies is fenced by the controllers within 3 s: its partitions get new leaders and it
# leaves the in-sync replicas, which every acks=all write (an order, a transaction's state, a transaction's
# offsets) waits for until then. At 5 s the shop's transactional calls (5 s, clients.CALL_TIMEOUT) timed out
# just before the write went through and were undone; at 3 s they see the write (docs/chaos.md). Six heartbeats
# in the session: a busy node is not fenced for one late beat.
FAILOVER = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500"}


def replication_settings(nodes: int) -> dict[str, str]:
    """Internal topics get a replica per node, up to three; with three, a write needs two of them, and a dead node is fenced fast."""
    replicas, in_sync = str(min(nodes, 3)), str(2 if nodes >= 3 else 1)
    return {
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": in_sync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": in_sync,
        "default.replication.factor": replicas,
        "min.insync.replicas": in_sync,
        **(FAILOVER if nodes > 1 else {}),
    }


@dataclass(frozen=True)
class Quorum:
    """This node's place in a KRaft cluster of several nodes, each a broker and a controller."""

    node_id: int
    voters: dict[int, int]  # node id -> its controller port
    cluster_id: str


def new_cluster_id() -> str:
    cluster_id = "-"
    while cluster_id.startswith("-"):  # as Kafka's own Uuid does: a leading '-' would read as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


# The TLS listener: the broker shows its certificate, and insists on the client's.
TLS_SETTINGS = {
    "ssl.keystore.type": "PEM",  # Kafka reads the PEM files itself: no keytool, no keystore passwords
    "ssl.truststore.type": "PEM",
    # no client certificate, or one the local CA did not sign, or an expired one: refused in the handshake
    "listener.name.ssl.ssl.client.auth": "required",
}

# the broker checks SCRAM passwords against the credentials in its metadata: the login module needs no options
_SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule required;"

# SCRAM logins on the SASL listeners (SASL_SSL, and the local SASL_PLAINTEXT port), and ACLs decide what each user may do.
SASL_SETTINGS = {
    "sasl.enabled.mechanisms": MECHANISM,
    f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config": _SCRAM_LOGIN,
    f"listener.name.sasl_plaintext.{MECHANISM.lower()}.sasl.jaas.config": _SCRAM_LOGIN,
    f"listener.name.room.{MECHANISM.lower()}.sasl.jaas.config": _SCRAM_LOGIN,
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    # the node reaches its own controller and inter-broker listeners over TLS, showing its certificate: no port is left
    # that takes an unauthenticated client, as a PLAINTEXT controller or inter-broker port would
    "inter.broker.listener.name": "SSL",
    "listener.name.controller.ssl.client.auth": "required",
}

# Who may do anything on a SASL broker: the admin user, the TLS client certificate handed out with it, and the node itself
# (the per-role limits are for the role users). ANONYMOUS (an open local port's clients) only when asked for.
SUPER_USERS = (f"User:{ADMIN}", f"User:CN={CLIENT_NAME}", f"User:CN={BROKER_NAME}")
ANONYMOUS = "User:ANONYMOUS"

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
    ssl_port: int | None = None
    sasl_port: int | None = None
    # how it was started, so that a command starting it again (connect's auto-start) starts it the same way
    tls: bool = False
    sasl: bool = False
    plaintext: bool = False  # with sasl: the local port still takes anyone, unauthenticated (--plaintext)
    room: tuple[str, int] | None = None  # with sasl: a classroom's SASL_SSL listener, (address, port)

    @property
    def local_protocol(self) -> str:
        """What the local port speaks: PLAINTEXT, or on a SASL broker SCRAM logins (unless started with --plaintext)."""
        return "SASL_PLAINTEXT" if self.sasl and not self.plaintext else "PLAINTEXT"


@dataclass
class BrokerStatus:
    running: bool
    data_dir: Path
    state: BrokerState | None

    @property
    def bootstrap_servers(self) -> str | None:
        return f"127.0.0.1:{self.state.port}" if self.state else None

    @property
    def tls_bootstrap(self) -> str | None:
        """The TLS listener (with --tls or --sasl): connect with the client certificates folder."""
        return f"127.0.0.1:{self.state.ssl_port}" if self.state and self.state.ssl_port else None

    @property
    def sasl_bootstrap(self) -> str | None:
        """The SASL_SSL listener (with --sasl): connect with the certificates folder, a username and a password."""
        return f"127.0.0.1:{self.state.sasl_port}" if self.state and self.state.sasl_port else None


def default_data_dir() -> Path:
    return data_dir() / "broker"


def answers_metadata(bootstrap: str, timeout: float, security: Mapping[str, str] | None = None) -> bool:
    """True when a broker at `bootstrap` answers a metadata request (the readiness test)."""
    host, _, port = bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError:
        return False  # nothing listening yet: skip the client, it would only log connection errors
    admin = AdminClient({"bootstrap.servers": bootstrap, **(security or {})}, logger=quiet_log)
    try:
        return bool(admin.list_topics(timeout=timeout).brokers)
    except KafkaException:
        return False


class EmbeddedBroker(LocalServer[BrokerState]):
    """Start, stop and inspect the local broker whose data lives in `data`."""

    title = "the broker"
    error = BrokerError
    state_name = "broker.json"

    def __init__(self, data: Path | None = None, cache: Path | None = None, quorum: Quorum | None = None, keys: Path | None = None) -> None:
        super().__init__((data or default_data_dir()).resolve(), BrokerState)
        self.cache = cache or cache_dir()
        self.quorum = quorum  # None: a cluster of this one node
        # where the TLS files and the SCRAM passwords live: a SASL cluster's nodes share one CA and one admin password
        self.keys = keys.resolve() if keys else self.data

    @property
    def log_file(self) -> Path:
        return self.data / "logs" / "server.log"

    def logs(self) -> tuple[Path, ...]:
        return self.log_file, self.data / "logs" / "stdout.log"  # stdout: if it died before it opened its log

    def marks(self) -> tuple[str, ...]:
        return "kafka.Kafka", str(self.data / "server.properties")

    @property
    def tls_files(self) -> TlsFiles:
        return TlsFiles(self.keys / "tls", client_dir=self.keys / "client-certs")

    @property
    def passwords_file(self) -> Path:
        return self.keys / "users.json"

    def passwords(self) -> dict[str, str]:
        """Each SASL user's password (made on first use, kept in the data dir with mode 0600)."""
        return read_passwords(self.passwords_file)

    def status(self) -> BrokerStatus:
        state, running = self.found()
        return BrokerStatus(running, self.data, state)

    def start(
        self,
        port: int | None = None,
        timeout: float = 60.0,
        progress: Progress | None = None,
        on_phase: Callable[[str], None] | None = None,
        tls: bool = False,
        sasl: bool = False,
        plaintext: bool = False,
        room: tuple[str, int] | None = None,
    ) -> BrokerStatus:
        """Start the broker and return once it answers a metadata request on every listener.

        tls adds a TLS listener; sasl adds a SASL_SSL one too (so implies tls), with SCRAM users and ACLs, and makes
        the local port want a SCRAM login as well, unless plaintext keeps it open to anyone. room (with sasl) adds
        one more SASL_SSL listener, on a classroom's (address, port).
        """
        state = self.launch(port, progress, on_phase, tls, sasl, plaintext, room)
        return self.await_ready(state, time.monotonic() + timeout, on_phase)

    def start_as_before(self, timeout: float = 60.0, on_phase: Callable[[str], None] | None = None) -> BrokerStatus:
        """Start it the way it was started last time (TLS, SASL, an open local port): a command that starts
        the broker for the user must never quietly start a SASL broker without its logins."""
        was = self.read_state()
        return self.start(
            timeout=timeout,
            on_phase=on_phase,
            tls=was is not None and was.tls,
            sasl=was is not None and was.sasl,
            plaintext=was is not None and was.plaintext,
            room=was.room if was is not None and was.room else None,
        )

    def launch(
        self,
        port: int | None = None,
        progress: Progress | None = None,
        on_phase: Callable[[str], None] | None = None,
        tls: bool = False,
        sasl: bool = False,
        plaintext: bool = False,
        room: tuple[str, int] | None = None,
    ) -> BrokerState:
        """Start the broker's process, not waiting for it: the nodes of a cluster need each other to get ready."""
        phase = on_phase or (lambda what: None)
        if plaintext and not sasl:
            raise BrokerError("--plaintext goes with --sasl: without SASL the local port is open to anyone anyway")
        if room and not sasl:
            raise BrokerError("a classroom's listener goes with SASL: students log in with their own SCRAM users")
        current = self.status()
        if current.running:
            raise BrokerAlreadyRunning(current)
        previous = current.state
        port = port or (previous.port if previous else DEFAULT_PORT)
        if port_taken(port):
            raise BrokerError(f"port {port} on 127.0.0.1 is taken by another program: stop it, or choose another port with --port")
        controller_port = (
            self.quorum.voters[self.quorum.node_id] if self.quorum else port_again(previous.controller_port if previous else None)
        )
        tls = tls or sasl  # SASL brings SASL_SSL for other hosts' clients, and the node's own TLS connections
        ssl_port = port_again(previous.ssl_port if previous else None) if tls else None
        sasl_port = port_again(previous.sasl_port if previous else None) if sasl else None
        self._prepare_data_dir()
        if tls:
            phase("making the certificates")
            ensure_tls(self.tls_files, (*LOCAL_HOSTS, room[0]) if room else LOCAL_HOSTS)
        phase("finding Java")
        java = find_java()
        phase("fetching the Kafka jars")
        libs = ensure_jars(self.cache, progress)
        classpath = f"{libs}/*"
        state = BrokerState(
            0, port, controller_port, KAFKA_VERSION, java.describe(), 0.0, ssl_port, sasl_port, tls, sasl, plaintext, room
        )
        properties = self._write_config(state)
        if not (self.data / "kraft" / "meta.properties").exists():
            phase("formatting the data dir")
            self._format(java, classpath, properties)
        phase("starting the broker")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        pid = self.detach(
            [
                str(java.path),
                f"-Xmx{HEAP}",
                f"-Xms{HEAP}",
                *JVM_FLAGS,
                f"-Dlog4j2.configurationFile={self.data / 'log4j2.properties'}",
                f"-Dkafka.logs.dir={self.data / 'logs'}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            self.logs()[1],
        )
        state = replace(state, pid=pid, started_at=time.time())
        self.write_state(state)
        return state

    def await_ready(self, state: BrokerState, deadline: float, on_phase: Callable[[str], None] | None = None) -> BrokerStatus:
        """Return once every listener of the launched broker answers; stop it and say why if it cannot."""
        phase = on_phase or (lambda what: None)
        phase("waiting for the broker to answer")
        # the first listener is one where a super user gets in without a SCRAM login, to create the SCRAM users:
        # the open local port, or the TLS port with the client certificate
        first, *others = sorted(self._listeners(state), key=lambda listener: "sasl.mechanism" in listener[1])
        self._await_listener(state, *first, deadline)
        if state.sasl:
            phase("creating the SASL users")
            try:
                create_scram_users(AdminClient({"bootstrap.servers": first[0], **first[1]}, logger=quiet_log), self.passwords())
            except FishchipsError:
                self.stop()  # half-started is worse than not started: the SASL ports would refuse everyone
                raise
        for bootstrap, security in others:
            self._await_listener(state, bootstrap, security, deadline)
        return self.status()

    def local_login(self, state: BrokerState) -> dict[str, str]:
        """The client settings the local port wants beyond its address: none, or the admin's SCRAM login."""
        if state.local_protocol == "PLAINTEXT":
            return {}
        return {"security.protocol": state.local_protocol, **self._admin_login()}

    def _admin_login(self) -> dict[str, str]:
        return {"sasl.mechanism": MECHANISM, "sasl.username": ADMIN, "sasl.password": self.passwords()[ADMIN]}

    def _listeners(self, state: BrokerState) -> list[tuple[str, dict[str, str]]]:
        """Each listener with the client settings of a super user, which should get an answer from it."""
        ca, cert, key = (str(self.tls_files.client_dir / name) for name in CLIENT_FILES)
        listeners = [(f"127.0.0.1:{state.port}", self.local_login(state))]
        if state.ssl_port:
            tls = {"security.protocol": "SSL", "ssl.ca.location": ca, "ssl.certificate.location": cert, "ssl.key.location": key}
            listeners.append((f"127.0.0.1:{state.ssl_port}", tls))
        if state.sasl_port:
            sasl_ssl = {"security.protocol": "SASL_SSL", "ssl.ca.location": ca, **self._admin_login()}
            listeners.append((f"127.0.0.1:{state.sasl_port}", sasl_ssl))
        if state.room:
            host, room_port = state.room
            listeners.append((f"{host}:{room_port}", sasl_ssl))
        return listeners

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

    def _write_config(self, state: BrokerState) -> Path:
        # a listener's name is its security protocol, so listener.name.ssl.* and listener.name.sasl_ssl.* apply to it
        ports = ((state.local_protocol, state.port), ("SSL", state.ssl_port), ("SASL_SSL", state.sasl_port))
        listeners = {name: ("127.0.0.1", p) for name, p in ports if p}
        protocols = {name: name for name in listeners}
        if state.room:  # a classroom's listener: SASL_SSL on the room's address only
            listeners["ROOM"], protocols["ROOM"] = (state.room[0], state.room[1]), "SASL_SSL"
        controller_port = state.controller_port
        controller_protocol = "SSL" if state.sasl else "PLAINTEXT"
        voters = self.quorum.voters if self.quorum else {1: controller_port}
        settings = {**SERVER_SETTINGS, **replication_settings(len(voters))}
        settings.update(
            {
                "node.id": str(self.quorum.node_id if self.quorum else 1),
                "controller.quorum.voters": ",".join(f"{node}@127.0.0.1:{p}" for node, p in sorted(voters.items())),
                "listeners": ",".join(
                    f"{name}://{host}:{p}" for name, (host, p) in {**listeners, "CONTROLLER": ("127.0.0.1", controller_port)}.items()
                ),
                "advertised.listeners": ",".join(f"{name}://{host}:{p}" for name, (host, p) in listeners.items()),
                "listener.security.protocol.map": ",".join(
                    [*(f"{name}:{protocol}" for name, protocol in protocols.items()), f"CONTROLLER:{controller_protocol}"]
                ),
                "log.dirs": str(self.data / "kraft"),
            }
        )
        if state.ssl_port:
            files = self.tls_files
            settings.update(TLS_SETTINGS)
            settings.update({"ssl.keystore.location": str(files.broker), "ssl.truststore.location": str(files.ca)})
        if state.sasl:
            settings.update(SASL_SETTINGS)
            settings["super.users"] = ";".join([*SUPER_USERS, *([ANONYMOUS] if state.plaintext else [])])
        properties = self.data / "server.properties"
        properties.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        (self.data / "log4j2.properties").write_text(LOG4J.format(log=self.log_file))
        return properties

    def _format(self, java: Java, classpath: str, properties: Path) -> None:
        cluster_id = self.quorum.cluster_id if self.quorum else new_cluster_id()
        result = subprocess.run(
            [str(java.path), "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(properties)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            last = (result.stdout + result.stderr).strip().splitlines()[-3:]
            raise BrokerError("could not format the data dir: " + " | ".join(last))

    def _await_listener(self, state: BrokerState, bootstrap: str, security: Mapping[str, str], deadline: float) -> None:
        """Poll until the listener at `bootstrap` answers a metadata request; fail fast if the broker dies."""
        answers = functools.partial(answers_metadata, bootstrap, timeout=1.0, security=security)
        self.wait_ready(state.pid, answers, max(deadline - time.monotonic(), 0), bootstrap)


class BrokerAlreadyRunning(BrokerError):
    def __init__(self, status: BrokerStatus) -> None:
        super().__init__(f"the broker is already running at {status.bootstrap_servers} (pid {status.state.pid if status.state else '?'})")
        self.status = status
