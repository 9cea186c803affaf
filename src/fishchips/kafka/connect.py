"""Turning connection settings into a cluster that answers, or a one-line reason why not."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException

from fishchips.broker.embedded import BrokerAlreadyRunning, EmbeddedBroker
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0


class ConnectionFailed(FishchipsError):
    """The cluster did not answer, or refused us."""


@dataclass(frozen=True)
class Cluster:
    settings: ConnectionSettings  # with bootstrap servers filled in
    brokers: int
    embedded: bool


def check(settings: ConnectionSettings, timeout: float = CONNECT_TIMEOUT) -> Cluster:
    """Ask the cluster for its metadata; explain a failure (refused, TLS, auth) in one line."""
    errors: list[KafkaError] = []
    admin = clients.admin(settings, error_cb=errors.append)
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)  # the error callback runs only when the client is polled: collect the real cause
        raise ConnectionFailed(_explain(settings, exc.args[0], errors, timeout)) from None
    return Cluster(settings, len(metadata.brokers), embedded=False)


def _explain(settings: ConnectionSettings, error: KafkaError, seen: list[KafkaError], timeout: float) -> str:
    details = [e.str() for e in seen if e.code() != KafkaError._ALL_BROKERS_DOWN] or [error.str()]
    reason = details[-1]
    where = settings.bootstrap_servers
    if "SSL" in reason or "certificate" in reason:
        hint = "check --certs-dir and that the port speaks TLS"
    elif "uthenticat" in reason or "SASL" in reason:
        hint = "check the username, password and SASL mechanism"
    else:
        hint = "check the address, or leave it unset to use the embedded broker (fishchips broker start)"
    return f"cannot reach Kafka at {where} within {timeout:.0f} s: {reason}; {hint}"


BrokerNotice = Callable[[str], None]


def connect(settings: ConnectionSettings, notice: BrokerNotice | None = None, timeout: float = CONNECT_TIMEOUT) -> Cluster:
    """The configured cluster, or the embedded broker, started first if it is not running."""
    embedded = settings.embedded
    if embedded:
        broker = EmbeddedBroker()
        status = broker.status()
        if not status.running:
            try:
                status = broker.start(on_phase=notice)
            except BrokerAlreadyRunning as already:  # another process won the race
                status = already.status
        assert status.bootstrap_servers is not None
        settings = settings.with_bootstrap(status.bootstrap_servers)
    started = time.monotonic()
    cluster = check(settings, timeout)
    log.info("connected to %s (%d brokers) in %.2f s", settings.bootstrap_servers, cluster.brokers, time.monotonic() - started)
    return Cluster(settings, cluster.brokers, embedded)
