"""A food preparer in a share group (KIP-932, "queues for Kafka"): demo6's second way to take orders.

A consumer group gives each partition of `orders` to ONE preparer: with 2 partitions, a third and a
fourth stand idle. A share group lets ANY number of members take from the same partitions: the broker
lends each order to one member at a time, under a lock, and the member says what became of it:

- ACCEPT: served; never delivered again. Said only after the served order is written (at-least-once);
- REJECT: no member could ever make it (unreadable, or it needs a cook this group has not got); archived,
  after it is set aside on the shop's dead-letter topic with the reason;
- RELEASE: not now; another member takes it at once. Said at once for what a poll lent beyond what it can make
  within its lock (`_within_lock`), for an order whose write failed, and for what it holds when told to stop
  (`S`, "Stop share preparer"). A record released on its last delivery is archived, so a member told to stop
  makes such an order first.

A member that dies holding orders says nothing: each comes back when its lock runs out, to any member,
with its delivery count one higher. There are no transactions across acknowledgements, so a member
killed after writing an order and before accepting it has served it once, and another serves it again:
the board counts that order twice, and the books (which book by id) once. The preparer says a delivery
count above 1 with the order it served, and counts those as redelivered.

It serves onto `served`, as any preparer does; in demo6 a consumer group serves the same `orders` beside
it, so there the share group serves onto a topic of its own (`served.shared`), read by a board of its own.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import AcknowledgeType, KafkaError, Message, Producer, ShareConsumer

from fishchips.events import HANDED_BACK, Kind, RoleKind
from fishchips.kafka import clients
from fishchips.roles.at_least_once import ACKNOWLEDGED_WITHIN
from fishchips.roles.context import ShopContext
from fishchips.roles.outputs import Output, dead_letter
from fishchips.roles.role import Role
from fishchips.roles.share_group import DELIVERY_LIMIT, LOCK_MS, share_group
from fishchips.shop import Action, InvalidOrder, Order, preparer_action

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2  # short, so a pause or a stop is seen at once
PER_POLL = 5  # a member asks for a few orders at a time; librdkafka may lend more (see _within_lock)
WITHIN_LOCK = 0.25  # the share of its lock a member plans to work for: a record may wait in the client before a poll hands it over


@dataclass(frozen=True)
class Answer:
    """What the preparer does with one order it was lent: what it writes, then how it acknowledges."""

    message: Message
    output: Output | None  # None: nothing to write (the member is stopping, so it hands the order back)
    acknowledge: AcknowledgeType


class SharePreparer(Role):
    kind = RoleKind.SHARE_PREPARER

    def __init__(
        self, name: str, context: ShopContext, work_seconds: float = 0.0, speed: float = 1.0, served_topic: str | None = None
    ) -> None:
        super().__init__(name, context, speed)
        self.base_work_seconds = work_seconds  # per order, at the demo's pace
        self.served_topic = served_topic or self.topics.served  # where it serves: demo6 keeps the two groups apart

    def run(self) -> None:
        consumer = ShareConsumer(
            {
                **self.settings.client_config(),
                "group.id": share_group(self.topics),
                "client.id": self.name,
                "share.acknowledgement.mode": "explicit",  # every order gets its own ACCEPT, REJECT or RELEASE
                "max.poll.records": PER_POLL,
            }
        )
        producer = clients.producer(self.settings, **{"client.id": self.name}, **clients.FAILURES_ONLY)
        try:
            consumer.subscribe([self.topics.orders])
            while not self.stopping:
                if self.paused.is_set():
                    self.rest(POLL_SECONDS)  # takes nothing new; what it held was acknowledged already
                    continue
                if messages := [m for m in consumer.poll(POLL_SECONDS) if self._readable(m)]:
                    for message in messages:  # each is this member's now, under a lock: the views show who holds what
                        self.emit(Kind.LENT, message=message, delivery=delivery(message))
                    kept = self._within_lock(consumer, messages)
                    self._answer(consumer, producer, [self._work(message) for message in kept])
        finally:
            consumer.commit_sync(ACKNOWLEDGED_WITHIN)  # send the last acknowledgements, or closing would hand them out again
            consumer.close()
            producer.flush(clients.CALL_TIMEOUT)

    def _within_lock(self, consumer: ShareConsumer, messages: list[Message]) -> list[Message]:
        """Keep what this member can make before its lock runs out; RELEASE the rest at once, for the other members.

        librdkafka's share consumer treats max.poll.records as a wish: a poll lends whole producer batches, a thousand
        orders at rush hour, all under one lock. A member that kept them all would still be working when the lock ran
        out, and the broker would lend the rest to another member too: served twice. Each release counts as a delivery,
        though, and a record delivered DELIVERY_LIMIT times is archived: one lent DELIVERY_LIMIT - 1 times is kept.
        """
        seconds = self.base_work_seconds / self.speed
        if not seconds:
            return messages
        can_make = max(1, int(LOCK_MS / 1000 * WITHIN_LOCK / seconds))
        kept = messages[:can_make] + [m for m in messages[can_make:] if delivery(m) >= DELIVERY_LIMIT - 1]
        handed_back = [m for m in messages[can_make:] if delivery(m) < DELIVERY_LIMIT - 1]
        for message in handed_back:
            consumer.acknowledge(message, AcknowledgeType.RELEASE)
            self.counters["handed back"] += 1
            self.emit(Kind.RELEASED, message=message, detail=HANDED_BACK, delivery=delivery(message))
        if handed_back:
            consumer.commit_async()  # now, not with the next poll: the others may take them while this member works
        return kept

    def _readable(self, message: Message) -> bool:
        """An error instead of a record is said in the log; there is no record to acknowledge."""
        if (error := message.error()) is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("%s: %s", self.name, error.str())
            return False
        return True

    def _work(self, message: Message) -> Answer:
        """Make the order, or say why no member can; once told to stop, hand it back untouched, unless this is its last
        delivery: a record released on its DELIVERY_LIMIT-th is archived, an order never made, so it is made now."""
        stopped = self.stopping or self.rest(self.base_work_seconds / self.speed)
        if stopped and not last_delivery(message):
            return Answer(message, None, AcknowledgeType.RELEASE)
        try:
            order = Order.from_json(message.value(), self.menu)
        except InvalidOrder as bad:
            return Answer(message, dead_letter(self.topics, self.name, message, bad.reason), AcknowledgeType.REJECT)
        value = message.value()
        assert value is not None  # the order was read from it
        if preparer_action(order, self.menu) is Action.COOK:
            cannot = dead_letter(self.topics, self.name, message, "needs the cook: the share group's shop has none")
            return Answer(message, cannot, AcknowledgeType.REJECT)
        headers = [("preparer", self.name.encode()), ("delivery", str(message.delivery_count()).encode())]
        served = Output(
            self.served_topic, value, message.key(), headers, kind=Kind.SERVED, order=order, partition=message.partition()
        )
        return Answer(message, served, AcknowledgeType.ACCEPT)

    def _answer(self, consumer: ShareConsumer, producer: Producer, answers: list[Answer]) -> None:
        """Write what the orders answer, wait until Kafka has it, then acknowledge each: a write that
        failed hands its order back (RELEASE), so another member tries again. On its last delivery, though,
        a release archives it: an order never made, unless Kafka took the write back within the wait."""
        if self.stopping:  # told to stop: what is not written yet goes back at once, to members who will stay, but a last delivery
            answers = [a if last_delivery(a.message) else Answer(a.message, None, AcknowledgeType.RELEASE) for a in answers]
        failed: set[int] = set()

        def delivered(index: int) -> Callable[[KafkaError | None, Message], None]:
            def report(error: KafkaError | None, sent: Message) -> None:
                if error is not None:
                    failed.add(index)

            return report

        for index, answer in enumerate(answers):
            if (output := answer.output) is not None:
                partition = -1 if output.partition is None else output.partition  # -1: chosen by the key
                producer.produce(
                    output.topic, output.value, output.key, headers=list(output.headers), partition=partition, on_delivery=delivered(index)
                )
        if producer.flush(ACKNOWLEDGED_WITHIN):
            failed.update(range(len(answers)))  # not acknowledged in time: none of them is known to be written
        for index, answer in enumerate(answers):
            done = answer.acknowledge if index not in failed else AcknowledgeType.RELEASE
            consumer.acknowledge(answer.message, done)
            if done is not AcknowledgeType.RELEASE:
                self._say(answer)
            else:
                self.counters["released"] += 1
                why = "its write failed" if index in failed else "told to stop"
                self.emit(Kind.RELEASED, message=answer.message, detail=why, delivery=delivery(answer.message))

    def _say(self, answer: Answer) -> None:
        """Tell the views what became of an order, with its delivery count when it came more than once."""
        output, message = answer.output, answer.message
        assert output is not None and output.kind is not None  # only an answer that wrote something is accepted or rejected
        deliveries = delivery(message)
        detail = output.detail
        if deliveries > 1:
            self.counters["redelivered"] += 1
            detail = f"delivery {deliveries}"
        if answer.acknowledge is AcknowledgeType.REJECT:
            self.counters["rejected"] += 1
        self.counters[output.kind] += 1
        self.emit(output.kind, output.order, message, detail, delivery=deliveries)


def delivery(message: Message) -> int:
    """The broker's delivery count of a record lent to this member: 1 the first time it is lent out."""
    return message.delivery_count() or 1


def last_delivery(message: Message) -> bool:
    """Released now, the broker would archive it: an order never made."""
    return delivery(message) >= DELIVERY_LIMIT
