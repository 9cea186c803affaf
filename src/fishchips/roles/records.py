"""Where the records a role read sit, and the offsets a batch of them commits or reads again."""

import logging

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

log = logging.getLogger(__name__)


def place(message: Message) -> tuple[str, int, int]:
    """Where a record read without error sits: the client always names its topic, partition and offset."""
    topic, partition, offset = message.topic(), message.partition(), message.offset()
    assert topic is not None and partition is not None and offset is not None
    return topic, partition, offset


def next_offsets(messages: list[Message]) -> list[TopicPartition]:
    """The offsets to commit: one past the last message read, per partition."""
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        if not message.error():
            topic, partition, offset = place(message)
            last[(topic, partition)] = offset
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]


def first_offsets(messages: list[Message]) -> list[TopicPartition]:
    """Where to read a batch again: its first message, per partition."""
    first: dict[tuple[str, int], int] = {}
    for message in messages:
        if not message.error():
            topic, partition, offset = place(message)
            first.setdefault((topic, partition), offset)
    return [TopicPartition(topic, partition, offset) for (topic, partition), offset in first.items()]


def rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Read the batch again from its first message, on the partitions this member still holds."""
    for offset in first_offsets(messages):
        try:
            consumer.seek(offset)
        except KafkaException:  # no longer ours: its new owner starts from the committed offset
            log.info("not rewinding %s[%d]: the partition has moved", offset.topic, offset.partition)
