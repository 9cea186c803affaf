"""The transactional loop: begin a transaction, produce the results, send the offsets to it, commit; abort on error.

The results and the offsets commit together: a crash in between undoes both, so an order is
never served or cooked twice. Each call that talks to the transaction coordinator is bounded
(roles.renewal): librdkafka may not return from it while the coordinator's broker is down.
"""

from typing import Any

from confluent_kafka import KafkaException, Message

from fishchips.kafka.clients import CALL_TIMEOUT
from fishchips.roles.loop import Loop, Work, Written
from fishchips.roles.records import next_offsets
from fishchips.roles.renewal import RETRY_FOR, bounded
from fishchips.waiting import retrying


class ExactlyOnce(Loop):
    """Kafka's consume-transform-produce loop, as its client documentation writes it."""

    @classmethod
    def producer_settings(cls, transactional_id: str) -> dict[str, Any]:
        # one per role: a new producer with it fences the old one
        return {**super().producer_settings(transactional_id), "transactional.id": transactional_id}

    def init(self) -> None:
        retrying(lambda: self.producer.init_transactions(CALL_TIMEOUT), RETRY_FOR)

    def process(self, messages: list[Message], work: Work) -> Written | None:
        self.producer.begin_transaction()
        written = self.produce(messages, work)
        if self.held_open(written, self.producer):  # a lesson's breakpoint: held open, written and not committed, until told to stop
            self.undo(messages, "told to stop while it held its transaction open")
            return None
        offsets = next_offsets(messages)
        try:
            group = self.consumer.consumer_group_metadata()
            bounded(lambda: self.producer.send_offsets_to_transaction(offsets, group, CALL_TIMEOUT))
            # a commit that timed out may have happened on the broker: the same call again is the one safe answer
            retrying(lambda: bounded(lambda: self.producer.commit_transaction(CALL_TIMEOUT)), RETRY_FOR)
        except KafkaException as exc:
            if refusal := self.refused():
                raise refusal from None
            if exc.args[0].fatal():
                raise  # the producer is unusable: the clients are renewed
            # a broker gone, a coordinator moving, our membership lost before the commit: undo the batch, read it again
            self.undo(messages, exc.args[0].str())
            return None
        return written

    def abort(self) -> None:
        retrying(lambda: bounded(lambda: self.producer.abort_transaction(CALL_TIMEOUT)), RETRY_FOR)
