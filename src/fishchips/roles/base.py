"""What every role shares: a thread of its own, counters, typed events for whoever listens,
and for consuming roles the read-work-write-commit loop.

Each role runs its Kafka client in its own thread: confluent-kafka's calls block, so a
thread per actor keeps them off the Textual event loop and lets roles stop one by one.
The same role runs in a process of its own through fishchips.runtime, unchanged.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, Self

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fishchips.errors import FishchipsError
from fishchips.events import ALL_KINDS, Kind, Listener, RoleKind, ShopEvent, ignore
from fishchips.kafka import clients
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.shop import InvalidOrder, Menu, Order
from fishchips.stores.cabinet import Cabinet, CabinetUnavailable
from fishchips.waiting import retrying

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopContext:
    """What every role of one shop shares: where Kafka is, the shop's topics and menu, the guarantee,
    and who listens to its events (and which kinds they want).

    It crosses into a role's own process as it is, less the listener, which is that process's own.
    """

    settings: ConnectionSettings
    topics: Topics = field(default_factory=Topics)
    menu: Menu = field(default_factory=Menu.load)
    exactly_once: bool = True  # see docs/design.md: the same throughput, and nothing served twice after a crash
    group_protocol: GroupProtocol = GroupProtocol.CONSUMER  # how groups rebalance; see docs/rebalance.md for why this one
    listener: Listener = ignore
    wanted: frozenset[Kind] = ALL_KINDS
    cabinet: Cabinet | None = None  # the hot cabinet (demo5); in a role's own process, a cabinet of its own on the same Redis

    def heard_by(self, listener: Listener, wanted: frozenset[Kind] | None = None) -> "ShopContext":
        return replace(self, listener=listener, wanted=self.wanted if wanted is None else wanted)


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
    ) -> None:
        if kind not in self.context.wanted:  # nobody wants it: at rush hour, building the event is most of its cost
            return
        topic, partition, offset = place(message) if message is not None else (None, None, None)
        moment = time.time() if at is None else at
        self.context.listener(ShopEvent(self.name, self.kind, kind, order, topic, partition, offset, detail, partitions, moment))

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
        if error.code() in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
            what = f"{operation} topic {topic}"  # cluster: an idempotent producer whose user may write no topic gets no id
        elif error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
            what = f"use the consumer group {group}"
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


@dataclass(frozen=True)
class Output:
    """An event a consuming role writes in answer to one it read."""

    topic: str
    value: bytes
    key: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()
    kind: Kind | None = None  # what the role says it did, e.g. Kind.SERVED
    order: Order | None = None
    partition: int | None = None  # None: chosen by the key
    detail: str = ""  # said with the event, e.g. what the cabinet was short of


def place(message: Message) -> tuple[str, int, int]:
    """Where a record read without error sits: the client always names its topic, partition and offset."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


def dead_letter(topics: Topics, role: str, message: Message, reason: str) -> Output:
    """An unreadable event goes aside with the reason and where it came from; the shop carries on."""
    topic, partition, offset = place(message)
    headers = [
        ("reason", reason.encode()),
        ("source.topic", topic.encode()),
        ("source.partition", str(partition).encode()),
        ("source.offset", str(offset).encode()),
        ("role", role.encode()),
    ]
    return Output(topics.dead_letters, message.value() or b"", message.key(), headers, kind=Kind.DEAD_LETTER)


class ConsumingRole(Role):
    """Read a batch, work on each order, write the results, then commit: nothing is lost.

    Without transactions this is at-least-once: the offsets are committed only after
    every result is acknowledged, so a crash in between means re-doing, never losing.
    With transactions (exactly_once=True) the results and the offsets commit together:
    a crash in between undoes both, so an order is never served or cooked twice.
    """

    group_role = ""  # the consumer group, under the topics' prefix

    def __init__(self, name: str, context: ShopContext, work_seconds: float = 0.0, speed: float = 1.0, batch: int = 500) -> None:
        super().__init__(name, context, speed)
        self.exactly_once = context.exactly_once
        self.base_work_seconds = work_seconds  # per order, at the demo's pace: shows a consumer that cannot keep up
        self.batch = batch
        self.held: set[int] = set()  # partitions of the first source topic this member holds
        self.batches = 0  # batches done (committed), to tell a passing fault from one that never ends

    @property
    def work_seconds(self) -> float:
        return self.base_work_seconds / self.speed

    def source_topics(self) -> list[str]:
        raise NotImplementedError

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        raise NotImplementedError

    def run(self) -> None:
        """Work with one pair of clients; after a fatal error, or a call that did not come back, with new ones.

        Kafka's client documentation prescribes this for a fatal producer error (fenced, an invalid
        transaction state): the producer is unusable and must be replaced. The new producer's
        init_transactions fences the old one and aborts its open transaction; the new consumer
        joins the group and reads from the last committed offsets. So the role carries on in its
        own process, from the last commit, without the seconds a restarted process would cost.
        """
        budget = (-1, 0.0)
        while not self.stopping:
            consumer, producer = self._connect()
            try:
                self._work(consumer, producer)
            except Stuck as exc:  # the producer is wedged in librdkafka: leave it to the fencing, never close it (that would hang too)
                self._renewed(exc)
                consumer.close()
            except KafkaException as exc:  # fatal, or not undone by an abort: these clients cannot go on
                self._renewed(exc)
                self._close(consumer, producer, flush=False)
            except BaseException:
                self._close(consumer, producer)
                raise
            else:
                self._close(consumer, producer)
                return
            budget = self._renewal_budget(*budget)
            self.rest(RENEW_PAUSE)

    def _renewed(self, exc: BaseException) -> None:
        log.warning("%s: new Kafka clients carry on from the last commit, after: %s", self.name, exc)
        self.counters["renewed"] += 1

    def _renewal_budget(self, batches: int, deadline: float) -> tuple[int, float]:
        """Renewing is for a fault that passes: clients renewed again and again for RETRY_FOR s with no batch done is a failure."""
        if self.batches != batches:  # work was done since the last renewal: a new fault, a new budget
            return self.batches, time.monotonic() + RETRY_FOR
        if time.monotonic() > deadline:
            raise FishchipsError(f"{self.name}: Kafka clients renewed for {RETRY_FOR:.0f} s without a batch done")
        return batches, deadline

    def _connect(self) -> tuple[Consumer, Producer]:
        consumer = clients.consumer(self.settings, self.topics.group(self.group_role), self.context.group_protocol, **{"client.id": self.name})
        producer_settings = {"client.id": self.name}
        if self.exactly_once:
            producer_settings["transactional.id"] = f"{self.topics.group(self.group_role)}.{self.name}"
        producer = clients.producer(self.settings, **producer_settings)
        try:
            if self.exactly_once:
                retrying(lambda: producer.init_transactions(clients.CALL_TIMEOUT), RETRY_FOR)
            if not self.stopping:  # asked to stop while connecting: never join, so there is nothing to leave
                consumer.subscribe(self.source_topics(), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        except BaseException:
            self._close(consumer, producer, flush=False)
            raise
        return consumer, producer

    def _work(self, consumer: Consumer, producer: Producer) -> None:
        while not self.stopping:
            if self.paused.is_set():
                consumer.pause(consumer.assignment())
                consumer.poll(0.2)  # keeps the membership alive while paused
                continue
            consumer.resume(consumer.assignment())
            messages = consumer.consume(1, 0.2)  # wait for the first order only...
            if messages and (more := self._batch_size() - 1):  # ...then take what has already arrived, without waiting for a full batch
                messages += consumer.consume(more, 0)
            if messages and self.ready_for_batch():
                try:
                    self._process(messages, consumer, producer)
                except CabinetUnavailable as away:  # gone mid-batch: undo the batch; ready_for_batch waits for its return
                    self._undo(producer, consumer, messages, str(away))

    def _batch_size(self) -> int:
        """Orders per batch: as many as are worked within BATCH_WORK_SECONDS (one at a time at the demo's pace,
        so each order shows), and never more than `batch`. A backlog after an outage drains in big batches,
        one transaction each, not one transaction per order."""
        if not self.work_seconds:
            return self.batch
        return max(1, min(self.batch, int(BATCH_WORK_SECONDS / self.work_seconds)))

    @staticmethod
    def _close(consumer: Consumer, producer: Producer, flush: bool = True) -> None:
        consumer.close()  # leaves the group at once, so its partitions move now, not after a timeout
        if flush:
            producer.flush(clients.CALL_TIMEOUT)

    def ready_for_batch(self) -> bool:
        """Wait, outside any transaction, for what the batch needs besides Kafka; False if stopping meanwhile."""
        return True

    def _process(self, messages: list[Message], consumer: Consumer, producer: Producer) -> None:
        failed: list[tuple[KafkaError, str]] = []
        if self.exactly_once:
            producer.begin_transaction()
        done: list[tuple[Message, Output]] = []

        def delivered(error: KafkaError | None, sent: Message) -> None:
            if error is not None:
                failed.append((error, sent.topic() or "?"))

        for message in messages:
            if (error := message.error()) is not None:
                group = self.topics.group(self.group_role)
                if refusal := self.refusal(error, "read", message.topic() or self.source_topics()[0], group):
                    raise refusal
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("%s: %s", self.name, error.str())
                continue
            for output in self._outputs(message):
                producer.produce(
                    output.topic,
                    output.value,
                    output.key,
                    headers=list(output.headers),
                    on_delivery=delivered,
                    partition=-1 if output.partition is None else output.partition,  # -1: chosen by the key
                )
                done.append((message, output))
        # no poll per message: each would hand the GIL to the other roles' threads; flush and commit serve the reports
        offsets = _next_offsets(messages)
        try:
            if self.exactly_once:
                group = consumer.consumer_group_metadata()
                _bounded(lambda: producer.send_offsets_to_transaction(offsets, group, clients.CALL_TIMEOUT), STUCK_AFTER)
                # a commit that timed out may have happened on the broker: the same call again is the one safe answer
                retrying(lambda: _bounded(lambda: producer.commit_transaction(clients.CALL_TIMEOUT), STUCK_AFTER), RETRY_FOR)
            else:
                if producer.flush(30) or failed:
                    reason = failed[0][0].str() if failed else "not acknowledged within 30 s"
                    raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"results not written: {reason}"))
                self._commit(consumer, offsets)
        except KafkaException as exc:
            for error, topic in failed:
                if refusal := self.refusal(error, "write to", topic):
                    raise refusal from None  # reading the batch again would be refused again, for ever
            if not self.exactly_once or exc.args[0].fatal():
                raise
            # a broker gone, a coordinator moving, our membership lost before the commit: undo the batch, read it again
            self._undo(producer, consumer, messages, exc.args[0].str())
            return
        self.batches += 1
        for message, output in done:
            if output.kind:
                self.counters[output.kind] += 1
                self.emit(output.kind, output.order, message, output.detail)

    def _undo(self, producer: Producer, consumer: Consumer, messages: list[Message], reason: str) -> None:
        """Abort the batch's transaction (if any) and read the batch again: nothing of it was committed."""
        log.warning("%s: undoing the batch: %s", self.name, reason)
        if self.exactly_once:
            retrying(lambda: _bounded(lambda: producer.abort_transaction(clients.CALL_TIMEOUT), STUCK_AFTER), RETRY_FOR)
        _rewind(consumer, messages)

    def _commit(self, consumer: Consumer, offsets: list[TopicPartition]) -> None:
        """Commit after the work; if the partitions moved meanwhile, their new owner does the batch again (at-least-once)."""
        try:
            retrying(lambda: consumer.commit(offsets=offsets, asynchronous=False), RETRY_FOR)
        except KafkaException as exc:
            if exc.args[0].code() not in MOVED:
                raise
            log.warning("%s: partitions moved before the commit, their new owner re-does the batch: %s", self.name, exc.args[0].str())

    def _outputs(self, message: Message) -> Sequence[Output]:
        try:
            order = Order.from_json(message.value(), self.menu)
        except InvalidOrder as bad:
            return [dead_letter(self.topics, self.name, message, bad.reason)]
        self.rest(self.work_seconds)  # when stopping, returns at once: the batch finishes and commits
        return self.handle(order, message)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._membership(Kind.ASSIGNED, partitions, self.held.union)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._membership(Kind.REVOKED, partitions, self.held.difference)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._membership(Kind.LOST, partitions, self.held.difference)

    def _membership(self, kind: Kind, partitions: list[TopicPartition], change: Callable[[set[int]], set[int]]) -> None:
        """A rebalance gave or took these partitions (all of them, or under a cooperative protocol only those that move)."""
        if not partitions and self.context.group_protocol.incremental:
            return  # an incremental protocol often calls back with nothing that moves: no news for the views
        self.held = change({p.partition for p in partitions if p.topic == self.source_topics()[0]})
        self.emit(kind, detail=_describe(partitions), partitions=tuple(sorted(self.held)))


def _next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """The offsets to commit: one past the last message read, per partition."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        if not message.error():
            topic, partition, offset = place(message)
            last[(topic, partition)] = offset
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]


# what the group coordinator says when this member's partitions have been given to another
MOVED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._NO_OFFSET,
    KafkaError.STALE_MEMBER_EPOCH,  # the consumer protocol's words for the same: librdkafka does not retry a manual commit on it
    KafkaError.FENCED_MEMBER_EPOCH,
}
BATCH_WORK_SECONDS = 0.5  # the work of one batch at most: its orders show as served together, half a second apart at most
RETRY_FOR = 120.0  # seconds a role waits out an unreachable broker before it gives up
# librdkafka's transactional calls can block past their timeout (docs/chaos.md): this long past it, the clients are renewed.
# A call that times out by itself returns about 1.2 s past its timeout (6.2 s for 5 s); one caught in librdkafka's
# coordinator request never does. At 3 s past, those waits made the tail of a one-node recovery (docs/chaos.md).
STUCK_AFTER = clients.CALL_TIMEOUT + 1.5
RENEW_PAUSE = 0.5  # seconds between two renewals of a role's clients, so a broker that is down is not hammered


class Stuck(FishchipsError):
    """A Kafka call did not come back: its clients are given up and the role carries on with new ones."""


def _bounded(call: Callable[[], object], seconds: float) -> None:
    """Run a call that should time out by itself, but may not.

    librdkafka's coordinator requests ignore their timeout while the coordinator's broker is
    down (librdkafka issue 5456; scripts/txn_offsets_after_restart.py shows it): a
    send_offsets_to_transaction made while a broker is dead returns only when that broker is
    back, and on a cluster, where the dead node leaves the metadata, possibly much later
    (issue 5511). A role that holds its partitions and does nothing meanwhile is worse than one
    that gives its clients up and carries on with new ones from the last commit.
    """
    outcome: list[BaseException | None] = []
    worker = threading.Thread(target=lambda: outcome.append(_caught(call)), daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise Stuck(f"a Kafka call did not return within {seconds:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]


def _caught(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as exc:  # handed back to the role's thread, which raises it there
        return exc
    return None


def _rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Read the batch again from its first message, on the partitions this member still holds."""
    for offset in _first_offsets(messages):
        try:
            consumer.seek(offset)
        except KafkaException:  # no longer ours: its new owner starts from the committed offset
            log.info("not rewinding %s[%d]: the partition has moved", offset.topic, offset.partition)


def _first_offsets(messages: list[Message]) -> list[TopicPartition]:
    """Where to read again after an aborted transaction: the first message of the batch, per partition."""
    first: dict[tuple[str, int], int] = {}
    for message in messages:
        if not message.error():
            topic, partition, offset = place(message)
            first.setdefault((topic, partition), offset)
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in first.items()]


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in sorted(partitions, key=lambda p: (p.topic, p.partition))) or "nothing"
