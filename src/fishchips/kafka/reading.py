"""Reading a whole topic, from its first event to the end it has now: for checks and listings."""

import time
import uuid
from collections.abc import Iterable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.inspect import stable_offsets
from fishchips.kafka.settings import ConnectionSettings


def read_to_end(settings: ConnectionSettings, topic: str, timeout: float = 30.0, isolation: str = "read_committed") -> list[Message]:
    """Every committed event on the topic, in partition order; no group joined, nothing committed.

    With isolation "read_uncommitted", also what open and aborted transactions wrote. A partition ends at
    its end-of-partition event, or, read committed, at its last stable offset as the read began: while a
    transaction is open on a partition, a read_committed reader stops short of its records and librdkafka
    sends no end-of-partition event (seen while a preparer replayed a rewound group, one transaction after another).
    """
    overrides: dict[str, Any] = {"enable.partition.eof": True, "isolation.level": isolation}
    consumer = clients.consumer(settings, f"fishchips-reader-{uuid.uuid4().hex[:8]}", **overrides)
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        if metadata.error is not None:
            raise FishchipsError(f"cannot read {topic}: {metadata.error.str()}")
        stable = stable_offsets(clients.admin(settings), [topic]).get(topic, {}) if isolation == "read_committed" else {}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in metadata.partitions])
        messages: list[Message] = []
        ended: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(ended) < len(metadata.partitions):
            if time.monotonic() > deadline:
                raise FishchipsError(f"could not read {topic} to its end within {timeout:.0f} s ({_short_of_end(consumer, topic, ended, metadata.partitions)})")
            for message in consumer.consume(1000, 0.5):
                error, partition = message.error(), message.partition()
                if error is None:
                    messages.append(message)
                elif error.code() == KafkaError._PARTITION_EOF and partition is not None:  # an EOF names its partition
                    ended.add(partition)
                else:
                    raise FishchipsError(f"cannot read {topic}: {error.str()}")
            waiting = [TopicPartition(topic, p) for p in stable if p not in ended]
            ended.update(tp.partition for tp in consumer.position(waiting) if tp.offset >= stable[tp.partition])
        return messages
    finally:
        consumer.close()


def _short_of_end(consumer: Consumer, topic: str, ended: set[int], partitions: Iterable[int]) -> str:
    """Where each partition that did not end stands: the reader's position and the partition's high watermark."""
    left = [TopicPartition(topic, p) for p in partitions if p not in ended]
    return ", ".join(
        f"partition {tp.partition} at {tp.offset} of {consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1]}"
        for tp in consumer.position(left)
    )


def uncommitted_only(settings: ConnectionSettings, topic: str) -> list[Message]:
    """The records a read_uncommitted reader sees on the topic and a read_committed one does not: what open or
    aborted transactions wrote (a transaction's commit and abort markers are read by neither)."""
    committed = {(m.partition(), m.offset()) for m in read_to_end(settings, topic)}
    return [m for m in read_to_end(settings, topic, isolation="read_uncommitted") if (m.partition(), m.offset()) not in committed]
