"""What every role shares: a thread of its own, counters, and typed events for whoever listens.

Each role runs its Kafka client in its own thread: confluent-kafka's calls block, so a
thread per actor keeps them off the Textual event loop and lets roles stop one by one.
The same role runs in a process of its own through fishchips.runtime, unchanged.
"""

import logging
import threading
import time
from collections import Counter
from typing import ClassVar, Self

from confluent_kafka import KafkaError, Message

from fishchips.errors import FishchipsError
from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.roles.context import ShopContext
from fishchips.roles.records import place
from fishchips.shop import Order

log = logging.getLogger(__name__)


REFUSALS = (
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
)


def cause(error: KafkaError) -> int:
    """The error's code; for a fatal one, the refusal its text names, if any. librdkafka gives a consumer's fatal error
    (its heartbeat refused: "Group authorization failed") only as text, and the member is dead from then on."""
    if error.code() != KafkaError._FATAL:
        return int(error.code())
    return next((code for code in REFUSALS if KafkaError(code).str() in error.str()), int(error.code()))


class Refused(FishchipsError):
    """The cluster's ACLs do not let a role do its work: retrying cannot help, so the role stops and says what."""


class Role:
    """An actor with its own thread: start() it, stop() it, read its counters."""

    kind: ClassVar[RoleKind]

    def __init__(self, name: str, context: ShopContext, speed: float = 1.0) -> None:
        self.name = name
        self.context = context
        self.settings = context.settings
        self.topics = context.topics
        self.menu = context.menu
        self.speed = speed
        self.counters: Counter[str] = Counter()
        self.failure: BaseException | None = None
        self.paused = threading.Event()  # set: the role holds its partitions but takes no new work
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def emit(
        self,
        kind: Kind,
        order: Order | None = None,
        message: Message | None = None,
        detail: str = "",
        partitions: tuple[int, ...] = (),
        at: float | None = None,
        delivery: int = 0,
    ) -> None:
        if kind not in self.context.wanted:  # nobody wants it: at rush hour, building the event is most of its cost
            return
        topic, partition, offset = place(message) if message is not None else (None, None, None)
        moment = time.time() if at is None else at
        self.context.listener(ShopEvent(self.name, self.kind, kind, order, topic, partition, offset, detail, partitions, moment, delivery))

    def start(self) -> Self:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask the role to finish its current work, leave its group and close; do not wait for it."""
        self._stopping.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the role to finish its current work, leave its group and close."""
        self.request_stop()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def set_speed(self, speed: float) -> None:
        """Times the demo pace: a till takes orders faster, a preparer works faster."""
        self.speed = speed

    def set_acks(self, acks: str) -> None:
        """How many replicas must hold a write before Kafka acknowledges it ("all" or "1"): a till's choice (roles/till.py).
        Every other role writes in transactions, which need acks=all, and keeps it."""

    def hold_transaction_open(self) -> None:
        """A lesson's breakpoint: write the next batch's results and neither commit nor abort them (roles/consuming.py).
        Only a role that works in transactions has one to hold open."""

    def set_paused(self, paused: bool) -> None:
        if paused != self.paused.is_set():
            (self.paused.set if paused else self.paused.clear)()
            self.emit(Kind.PAUSED if paused else Kind.RESUMED)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def rest(self, seconds: float) -> bool:
        """Wait as if working; True if asked to stop meanwhile."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()

    def refusal(self, error: KafkaError, operation: str, topic: str, group: str = "") -> Refused | None:
        """The error as one line naming the role, its user, the operation and the topic or group; None if it is no refusal."""
        code = cause(error)
        if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
            what = f"{operation} topic {topic}"  # cluster: an idempotent producer whose user may write no topic gets no id
        elif code == KafkaError.GROUP_AUTHORIZATION_FAILED:
            what = f"use the consumer group {group}"
        elif code == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
            what = "use its transactional id"  # <group>.<name>: kafka/acls.py says whose ids a user may use
        else:
            return None
        user = f" (user {self.settings.username})" if self.settings.username else ""
        return Refused(f"{self.name}{user} is not allowed to {what}: {error.str()}")

    def _main(self) -> None:
        try:
            self.run()
        except Exception as exc:  # a role's failure is reported, not lost in a thread
            log.exception("%s failed", self.name)
            self.failure = exc
            self.emit(Kind.FAILED, detail=str(exc))
        else:
            self.emit(Kind.STOPPED)

    def run(self) -> None:
        raise NotImplementedError
