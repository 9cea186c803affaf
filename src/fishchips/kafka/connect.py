"""Turning connection settings into a cluster that answers, or a one-line reason why not."""

import datetime
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from cryptography import x509

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import BrokerAlreadyRunning, BrokerStatus, EmbeddedBroker
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 10.0
ATTEMPT = 0.5  # seconds per metadata request: between attempts check() looks at what the client reported


class ConnectionFailed(FishchipsError):
    """The cluster did not answer, or refused us."""


@dataclass(frozen=True)
class Cluster:
    settings: ConnectionSettings  # with bootstrap servers filled in
    brokers: int
    embedded: bool


# What a client reports when the cluster answered and said no, and what to do about it. The first
# that matches explains the failure; each is final, so check() gives up at once instead of retrying.
REFUSALS = (
    ("SASL authentication", "check the username and password (`fishchips broker users` prints the local broker's) and the SASL mechanism"),
    ("certificate verify failed", "the broker's certificate is not signed by the ca.pem in --certs-dir: use the CA of this cluster"),
    ("alert", "the broker refused the client certificate (service.cert): it is expired or not signed by a CA the broker trusts"),
    ("connecting to a PLAINTEXT", "this port does not speak TLS: use the cluster's TLS port, or leave out --certs-dir"),
    (
        # a SASL port answers the first request (which versions it speaks) and hangs up at the next, unauthenticated one
        "in state UP)",
        "the broker hung up at the first request after the handshake: this port wants a SASL login, so pass --username and "
        "--password (leave --bootstrap-servers unset for the local broker: fishchips logs in to it by itself)",
    ),
    (
        "in state APIVERSION_QUERY",
        "the broker hung up at the first request: this port wants TLS or SASL, so pass --certs-dir (and a username)",
    ),
    ("SSL", "check --certs-dir and that the port speaks TLS"),
)


class _Witness:
    """Stands in for the client's logger: passes every line on, and keeps the connection failures.

    librdkafka reports some causes (a peer that hangs up at once, as a TLS port does on a
    plaintext client) only in its log, never to the error callback.
    """

    def __init__(self) -> None:
        self.failures: list[str] = []

    def log(self, level: int, message: str, *args: object) -> None:
        log.log(level, message, *args)
        if args and args[0] == "FAIL":
            self.failures.append(re.sub(r"^\[thrd:[^]]*\]: ", "", str(args[-1])))


def check(settings: ConnectionSettings, timeout: float = CONNECT_TIMEOUT) -> Cluster:
    """Ask the cluster for its metadata; explain a failure (refused, TLS, auth) in one line.

    A refusal (wrong password, untrusted certificate, wrong protocol) fails at once; only a
    cluster that does not answer at all is waited for, up to `timeout`.
    """
    _check_certificate_dates(settings)
    errors: list[KafkaError] = []
    witness = _Witness()
    admin = clients.admin(settings, error_cb=errors.append, logger=witness)
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = admin.list_topics(timeout=min(ATTEMPT, max(0.1, deadline - time.monotonic())))
        except KafkaException as exc:
            admin.poll(0)  # the error callback runs only when the client is polled: collect the real cause
            reason = _reason(exc.args[0], errors, witness.failures)
            refusal = next((hint for marker, hint in REFUSALS if marker in reason), None)
            if refusal:
                raise ConnectionFailed(f"Kafka at {settings.bootstrap_servers} turned us away: {reason}; {refusal}") from None
            if time.monotonic() >= deadline:
                raise ConnectionFailed(
                    f"cannot reach Kafka at {settings.bootstrap_servers} within {timeout:.0f} s: {reason}; "
                    "check the address, or leave it unset to use the embedded broker (fishchips broker start)"
                ) from None
            continue
        return Cluster(settings, len(metadata.brokers), embedded=False)


def _reason(error: KafkaError, seen: list[KafkaError], failures: list[str]) -> str:
    """The most telling cause: the error callback's, else the log's, else the call's own error."""
    reported = [e.str() for e in seen if e.code() != KafkaError._ALL_BROKERS_DOWN]
    return (reported or failures or [error.str()])[-1]


def _check_certificate_dates(settings: ConnectionSettings) -> None:
    """An expired certificate is refused by the broker with a vague alert: say so plainly, before connecting."""
    config = settings.client_config()
    now = datetime.datetime.now(datetime.UTC)
    for key in ("ssl.certificate.location", "ssl.ca.location"):
        if key not in config:
            continue
        try:
            cert = x509.load_pem_x509_certificate(Path(config[key]).read_bytes())
        except (OSError, ValueError):
            continue  # unreadable or not PEM: librdkafka says what is wrong with it
        if cert.not_valid_after_utc < now:
            raise ConnectionFailed(
                f"the certificate {config[key]} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: ask for a new one"
            )
        if cert.not_valid_before_utc > now:
            raise ConnectionFailed(
                f"the certificate {config[key]} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: check the clock"
            )


BrokerNotice = Callable[[str], None]


def connect(settings: ConnectionSettings, notice: BrokerNotice | None = None, timeout: float = CONNECT_TIMEOUT) -> Cluster:
    """The configured cluster, or the local one: the broker, or a running three-node cluster, or one started now."""
    embedded = settings.embedded
    if embedded:
        settings = _local(settings, notice)
    started = time.monotonic()
    cluster = check(settings, timeout)
    log.info("connected to %s (%d brokers) in %.2f s", settings.bootstrap_servers, cluster.brokers, time.monotonic() - started)
    return Cluster(settings, cluster.brokers, embedded)


def _local(settings: ConnectionSettings, notice: BrokerNotice | None) -> ConnectionSettings:
    """The running local broker, else the running three-node cluster; if neither runs, whichever was started last,
    started again the way it was (so a --sasl broker comes back with its logins, not open)."""
    broker, three_nodes = EmbeddedBroker(), EmbeddedCluster()
    status, nodes = broker.status(), three_nodes.status()
    if not status.running and (any(node.running for node in nodes) or _started_at(nodes) > _started_at([status])):
        if not any(node.running for node in nodes):
            three_nodes.start(on_phase=notice)
        return settings.with_bootstrap(three_nodes.bootstrap_servers())
    if not status.running:
        try:
            status = broker.start_as_before(on_phase=notice)
        except BrokerAlreadyRunning as already:  # another process won the race
            status = already.status
    return local_settings(broker, status, settings)


def _started_at(statuses: list[BrokerStatus]) -> float:
    """When the latest of these brokers was started (0: never)."""
    return max((status.state.started_at for status in statuses if status.state), default=0.0)


def local_settings(broker: EmbeddedBroker, status: BrokerStatus, settings: ConnectionSettings | None = None) -> ConnectionSettings:
    """Settings for the local broker's local port: its address, and on a SASL broker a SCRAM login.

    The login is the admin's unless the user named another (`--username till`): the passwords are in
    the broker's data dir, so no one types them, and a local tool works on a SASL broker as on an open one.
    """
    settings = (settings or ConnectionSettings()).with_bootstrap(str(status.bootstrap_servers))
    login = broker.local_login(status.state) if status.state else {}
    if not login:
        return settings
    username = settings.username or login["sasl.username"]
    return replace(
        settings,
        security_protocol=settings.security_protocol or login["security.protocol"],
        sasl_mechanism=settings.sasl_mechanism or login["sasl.mechanism"],
        username=username,
        password=settings.password or broker.passwords().get(username),
    )
