"""The at-least-once loop: poll a batch, work on it, produce the results, and commit the offsets only after the work.

The offsets are committed only after every result is acknowledged, so a crash in between
means re-doing, never losing: an order may then be served twice.
"""

import logging

from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition

from fishchips.roles.loop import Loop, Work, Written
from fishchips.roles.records import next_offsets
from fishchips.roles.renewal import RETRY_FOR
from fishchips.waiting import retrying

log = logging.getLogger(__name__)

# seconds a batch's results may take to be acknowledged before the batch is given up (and the clients renewed):
# a leader's election or a broker's restart fits in it, and a role is not silent for minutes
ACKNOWLEDGED_WITHIN = 30
# what the group coordinator says when this member's partitions have been given to another
MOVED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._NO_OFFSET,
    KafkaError.STALE_MEMBER_EPOCH,  # the consumer protocol's words for the same: librdkafka does not retry a manual commit on it
    KafkaError.FENCED_MEMBER_EPOCH,
}


class AtLeastOnce(Loop):
    """Produce, flush, then commit the offsets: nothing is lost, and a crash in between writes a result twice."""

    def process(self, messages: list[Message], work: Work) -> Written | None:
        written = self.produce(messages, work)
        try:
            if self.producer.flush(ACKNOWLEDGED_WITHIN) or self.failed:
                reason = self.failed[0][0].str() if self.failed else f"not acknowledged within {ACKNOWLEDGED_WITHIN} s"
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"results not written: {reason}"))
            self.commit(next_offsets(messages))
        except KafkaException:
            if refusal := self.refused():
                raise refusal from None
            raise  # the clients are renewed: the new consumer reads from the last commit, so the batch is done again
        return written

    def commit(self, offsets: list[TopicPartition]) -> None:
        """Commit after the work; if the partitions moved meanwhile, their new owner does the batch again."""
        try:
            retrying(lambda: self.consumer.commit(offsets=offsets, asynchronous=False), RETRY_FOR)
        except KafkaException as exc:
            if exc.args[0].code() not in MOVED:
                raise
            log.warning("%s: partitions moved before the commit, their new owner re-does the batch: %s", self.name, exc.args[0].str())
