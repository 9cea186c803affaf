"""A consuming role: a member of a consumer group that reads a batch, works on each order, writes the results, then commits.

Which loop commits (roles.at_least_once or roles.exactly_once) is chosen once, when the role
is made; the recovery from a fatal error or a call that never returns is beside the loop
(roles.renewal), around it, not in it.
"""

import logging
import threading
from collections.abc import Callable, Sequence

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fishchips.events import Kind
from fishchips.kafka import clients
from fishchips.roles.at_least_once import AtLeastOnce
from fishchips.roles.context import ShopContext
from fishchips.roles.exactly_once import ExactlyOnce
from fishchips.roles.loop import Loop, Written
from fishchips.roles.outputs import Output, dead_letter
from fishchips.roles.renewal import RENEW_PAUSE, Renewals, Stuck
from fishchips.roles.role import Role
from fishchips.shop import InvalidOrder, Order
from fishchips.stores.cabinet import CabinetUnavailable

log = logging.getLogger(__name__)

# the work of one batch at most: its orders show as served together, half a second apart at most
BATCH_WORK_SECONDS = 0.5
POLL_SECONDS = 0.2  # how long a poll waits for the first record: short, so a pause or a stop is seen at once


class ConsumingRole(Role):
    """Read a batch, work on each order, write the results, then commit: nothing is lost.

    Without transactions this is at-least-once: a crash before the commit means re-doing, never
    losing. With transactions (exactly_once=True) the results and the offsets commit together:
    a crash in between undoes both, so an order is never served or cooked twice.
    """

    group_role = ""  # the consumer group, under the topics' prefix

    def __init__(self, name: str, context: ShopContext, work_seconds: float = 0.0, speed: float = 1.0, batch: int = 500) -> None:
        super().__init__(name, context, speed)
        self.loop: type[Loop] = ExactlyOnce if context.exactly_once else AtLeastOnce
        self.base_work_seconds = work_seconds  # per order, at the demo's pace: shows a consumer that cannot keep up
        self.batch = batch
        self.held: set[int] = set()  # partitions of the first source topic this member holds
        self.batches = 0  # batches done (committed), to tell a passing fault from one that never ends
        self._hold_next = threading.Event()  # a lesson asked to hold the next transaction that serves open

    @property
    def work_seconds(self) -> float:
        return self.base_work_seconds / self.speed

    def source_topics(self) -> list[str]:
        raise NotImplementedError

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        raise NotImplementedError

    def ready_for_batch(self) -> bool:
        """Wait, outside any transaction, for what the batch needs besides Kafka; False if stopping meanwhile."""
        return True

    def run(self) -> None:
        """Work with one pair of clients; after a fatal error, or a call that did not come back, with new ones (roles.renewal)."""
        renewals = Renewals(self.name)
        while not self.stopping:
            loop = self._connect()
            try:
                self._poll(loop)
            except Stuck as exc:  # the producer is wedged in librdkafka: leave it to the fencing, never close it (that would hang too)
                loop.consumer.close()
                cause: BaseException = exc
            except KafkaException as exc:  # fatal, or not undone by an abort: these clients cannot go on
                loop.close(flush=False)
                if refusal := self.refusal(exc.args[0], "write to", self.source_topics()[0]):
                    raise refusal from None  # not a fault that passes: new clients would be refused too
                cause = exc
            except BaseException:
                loop.close()
                raise
            else:
                loop.close()
                return
            self.counters["renewed"] += 1
            renewals.renew(self.batches, cause)
            self.rest(RENEW_PAUSE)

    def _connect(self) -> Loop:
        group = self.topics.group(self.group_role)
        consumer = clients.consumer(self.settings, group, self.context.group_protocol, **{"client.id": self.name})
        producer = clients.producer(self.settings, **{"client.id": self.name}, **self.loop.producer_settings(f"{group}.{self.name}"))
        loop = self.loop(self.name, consumer, producer, lambda error, topic: self.refusal(error, "write to", topic), self._held_open)
        try:
            loop.init()
            if not self.stopping:  # asked to stop while connecting: never join, so there is nothing to leave
                consumer.subscribe(self.source_topics(), on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost)
        except BaseException:
            loop.close(flush=False)
            raise
        return loop

    def _poll(self, loop: Loop) -> None:
        consumer = loop.consumer
        while not self.stopping:
            if self.paused.is_set():
                consumer.pause(consumer.assignment())
                consumer.poll(POLL_SECONDS)  # keeps the membership alive while paused
                continue
            consumer.resume(consumer.assignment())
            messages = consumer.consume(1, POLL_SECONDS)  # wait for the first order only...
            if messages and (more := self._batch_size() - 1):  # ...then take what has already arrived, without waiting for a full batch
                messages += consumer.consume(more, 0)
            if messages and self.ready_for_batch():
                try:
                    written = loop.process(messages, self._work)
                except CabinetUnavailable as away:  # gone mid-batch: undo the batch; ready_for_batch waits for its return
                    loop.undo(messages, str(away))
                else:
                    self._done(written)

    def hold_transaction_open(self) -> None:
        self._hold_next.set()

    def _held_open(self, written: Written, producer: Producer) -> bool:
        """The lesson's breakpoint (learn/actions.py, kill_preparer), once asked: the next transaction that serves an
        order is written to Kafka and left open, neither committed nor aborted, until the process is killed (what the
        lesson does: no goodbye, as in a crash) or told to stop. A read_uncommitted reader sees its records on `served`;
        a read_committed one never will. True if it held one (and has been told to stop since)."""
        if not self._hold_next.is_set() or not any(output.topic == self.topics.served for _, output in written):
            return False
        self._hold_next.clear()
        producer.flush(clients.CALL_TIMEOUT)  # on the broker now, inside the open transaction
        self.emit(Kind.HOLDING, detail=f"{len(written)} results written to Kafka, not committed")
        self._stopping.wait()
        return True

    def _batch_size(self) -> int:
        """Orders per batch: as many as are worked within BATCH_WORK_SECONDS (one at a time at the demo's pace,
        so each order shows), and never more than `batch`. A backlog after an outage drains in big batches,
        one transaction each, not one transaction per order."""
        if not self.work_seconds:
            return self.batch
        return max(1, min(self.batch, int(BATCH_WORK_SECONDS / self.work_seconds)))

    def _work(self, message: Message) -> Sequence[Output]:
        """What the role writes in answer to one record: nothing for an error, a dead letter for what is no order."""
        if (error := message.error()) is not None:
            group = self.topics.group(self.group_role)
            if refusal := self.refusal(error, "read", message.topic() or self.source_topics()[0], group):
                raise refusal
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("%s: %s", self.name, error.str())
            return []
        try:
            order = Order.from_json(message.value(), self.menu)
        except InvalidOrder as bad:
            return [dead_letter(self.topics, self.name, message, bad.reason)]
        self.rest(self.work_seconds)  # when stopping, returns at once: the batch finishes and commits
        return self.handle(order, message)

    def _done(self, written: Written | None) -> None:
        """Say what a committed batch did; an undone one (None) is read again and said then."""
        if written is None:
            return
        self.batches += 1
        for message, output in written:
            if output.kind:
                self.counters[output.kind] += 1
                self.emit(output.kind, output.order, message, output.detail)

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


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{p.topic}[{p.partition}]" for p in sorted(partitions, key=lambda p: (p.topic, p.partition))) or "nothing"
