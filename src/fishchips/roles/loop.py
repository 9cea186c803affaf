"""What the at-least-once and the transactional loop share: one consumer, one producer, and a batch's results produced."""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

from fishchips.kafka import clients
from fishchips.roles.outputs import Output
from fishchips.roles.records import rewind

log = logging.getLogger(__name__)

Work = Callable[[Message], Sequence[Output]]  # the role's work on one record read: what it writes in answer
Refusal = Callable[[KafkaError, str], Exception | None]  # a failed write to a topic as the role's refusal, or None
Written = list[tuple[Message, Output]]  # each output of a batch, with the record it answers
HeldOpen = Callable[[Written, Producer], bool]  # the role's breakpoint after a batch's results are written: True if it held them (then stopped)


class Loop:
    """Read-work-write-commit with one consumer and one producer: what the at-least-once and
    the transactional loop share. Each says how a batch's results and offsets are committed."""

    def __init__(self, name: str, consumer: Consumer, producer: Producer, refusal: Refusal, held_open: HeldOpen = lambda w, p: False) -> None:
        self.name = name  # the role's, for the log
        self.consumer = consumer
        self.producer = producer
        self.refusal = refusal
        self.held_open = held_open
        self.failed: list[tuple[KafkaError, str]] = []  # the batch's delivery reports that came back with an error

    @classmethod
    def producer_settings(cls, transactional_id: str) -> dict[str, Any]:
        """The producer's settings for this loop, besides the shop's: a delivery report only for a result that failed."""
        return dict(clients.FAILURES_ONLY)

    def init(self) -> None:
        """Make the producer ready for the first batch."""

    def process(self, messages: list[Message], work: Work) -> Written | None:
        """Work on the batch, write its results, commit it; None: undone, to be read again."""
        raise NotImplementedError

    def abort(self) -> None:
        """Take back what the batch wrote, if the loop can."""

    def produce(self, messages: list[Message], work: Work) -> Written:
        """Work on each record and produce what it answers; the delivery reports note what failed."""
        self.failed = failed = []  # this batch's own: a report of an undone batch, served late, is not this batch's failure
        written: Written = []

        def delivered(error: KafkaError | None, sent: Message) -> None:
            if error is not None:
                failed.append((error, sent.topic() or "?"))

        for message in messages:
            for output in work(message):
                self.producer.produce(
                    output.topic,
                    output.value,
                    output.key,
                    headers=list(output.headers),
                    on_delivery=delivered,
                    partition=-1 if output.partition is None else output.partition,  # -1: chosen by the key
                )
                written.append((message, output))
        # no poll per message: each would hand the GIL to the other roles' threads; flush and commit serve the reports
        return written

    def refused(self) -> Exception | None:
        """The first failed write the cluster's ACLs refused: reading the batch again would be refused again, for ever."""
        return next((refusal for error, topic in self.failed if (refusal := self.refusal(error, topic))), None)

    def undo(self, messages: list[Message], reason: str) -> None:
        """Abort what the batch wrote (if the loop can) and read the batch again: nothing of it was committed."""
        log.warning("%s: undoing the batch: %s", self.name, reason)
        self.abort()
        rewind(self.consumer, messages)

    def close(self, flush: bool = True) -> None:
        self.consumer.close()  # leaves the group at once, so its partitions move now, not after a timeout
        if flush:
            self.producer.flush(clients.CALL_TIMEOUT)
