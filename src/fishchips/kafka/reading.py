"""Reading a whole topic, from its first event to the end it has now: for checks and listings."""

import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings


def read_to_end(settings: ConnectionSettings, topic: str, timeout: float = 30.0, isolation: str = "read_committed") -> list[Message]:
    """Every committed event on the topic, in partition order; no group joined, nothing committed.

    With isolation "read_uncommitted", also what open and aborted transactions wrote.
    """
    overrides: dict[str, Any] = {"enable.partition.eof": True, "isolation.level": isolation}
    consumer = clients.consumer(settings, f"fishchips-reader-{uuid.uuid4().hex[:8]}", **overrides)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise FishchipsError(f"cannot read {topic}: {metadata.error.str()}")
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
        messages: list[Message] = []
        ended: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(ended) < len(metadata.partitions):
            if time.monotonic() > deadline:
                raise FishchipsError(f"could not read {topic} to its end within {timeout:.0f} s")
            for message in consumer.consume(1000, 0.5):
                error, partition = message.error(), message.partition()
                if error is None:
                    messages.append(message)
                elif error.code() == KafkaError._PARTITION_EOF and partition is not None:  # an EOF names its partition
                    ended.add(partition)
                else:
                    raise FishchipsError(f"cannot read {topic}: {error.str()}")
        return messages
    finally:
        consumer.close()


def uncommitted_only(settings: ConnectionSettings, topic: str) -> list[Message]:
    """The records a read_uncommitted reader sees on the topic and a read_committed one does not: what open or
    aborted transactions wrote (a transaction's commit and abort markers are read by neither)."""
    committed = {(m.partition(), m.offset()) for m in read_to_end(settings, topic)}
    return [m for m in read_to_end(settings, topic, isolation="read_uncommitted") if (m.partition(), m.offset()) not in committed]
