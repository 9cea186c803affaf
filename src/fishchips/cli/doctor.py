"""`fishchips doctor`: is everything in place? One line per check, with the fix."""

import sys
import time
import uuid
from collections.abc import Callable

import click
from confluent_kafka import KafkaError, Message, TopicPartition
from rich.text import Text

from fishchips.broker.jars import libs_dir, missing_jars
from fishchips.broker.java import find_java
from fishchips.cli.console import out
from fishchips.cli.options import connection_options
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.connect import connect
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics
from fishchips.paths import cache_dir

DOCTOR_TOPIC = "fishchips-doctor"


def _line(ok: bool, what: str, detail: str) -> bool:
    out.print(Text.assemble(("✓" if ok else "✗", "green" if ok else "red"), f" {what}: {detail}"))
    return ok


def round_trip(settings: ConnectionSettings) -> float:
    """Produce one event and read it back; return the seconds it took."""
    ensure_topics(clients.admin(settings), {DOCTOR_TOPIC: 1})
    token = uuid.uuid4().hex.encode()
    started = time.monotonic()
    producer = clients.producer(settings)
    delivered: list[int] = []

    def acknowledged(error: KafkaError | None, message: Message) -> None:
        offset = message.offset()
        if error is None and offset is not None:
            delivered.append(offset)

    producer.produce(DOCTOR_TOPIC, token, on_delivery=acknowledged)
    if producer.flush(10) or not delivered:
        raise FishchipsError("the test event was not acknowledged within 10 s")
    consumer = clients.consumer(settings, f"fishchips-doctor-{token.decode()[:8]}")
    try:
        consumer.assign([TopicPartition(DOCTOR_TOPIC, 0, delivered[0])])
        message = consumer.poll(10)
    finally:
        consumer.close()
    if message is None or message.error() or message.value() != token:
        raise FishchipsError("the test event did not come back within 10 s")
    return time.monotonic() - started


@click.command()
@connection_options
def doctor(settings: ConnectionSettings) -> None:
    """Check Python, Java, the jar cache, the broker and a produce/consume round trip."""
    ok = _line(
        sys.version_info >= (3, 11), "Python", sys.version.split()[0] + ("" if sys.version_info >= (3, 11) else " — fishchips needs 3.11+")
    )
    checks: list[tuple[str, Callable[[], str]]] = [
        ("Java", lambda: find_java().describe()),
        ("jar cache", lambda: _jar_cache()),
        ("broker", lambda: _broker(settings)),
        ("round trip", lambda: f"produced and consumed one event in {round_trip(connected[0]) * 1000:.0f} ms"),
    ]
    connected: list[ConnectionSettings] = []

    def _broker(settings: ConnectionSettings) -> str:
        cluster = connect(settings)
        connected.append(cluster.settings)
        kind = "embedded broker" if cluster.embedded else "cluster"
        return f"{kind} at {cluster.settings.bootstrap_servers} answers ({cluster.brokers} broker{'s' if cluster.brokers != 1 else ''})"

    for name, check in checks:
        if name == "round trip" and not connected:
            ok = _line(False, name, "skipped: no broker to talk to") and ok
            continue
        try:
            ok = _line(True, name, check()) and ok
        except FishchipsError as exc:
            ok = _line(False, name, str(exc)) and ok
    if not ok:
        raise SystemExit(1)


def _jar_cache() -> str:
    missing = missing_jars(cache_dir())
    if missing and len(missing) > 0:
        raise FishchipsError(f"{len(missing)} Kafka jars missing in {libs_dir(cache_dir())}: run `fishchips broker start` to fetch them")
    return f"Kafka jars in {libs_dir(cache_dir())}"
