"""What a consuming role writes in answer to what it read, and the dead letter for what it could not read."""

from collections.abc import Sequence
from dataclasses import dataclass

from confluent_kafka import Message

from fishchips.events import Kind
from fishchips.kafka.topics import Topics
from fishchips.roles.records import place
from fishchips.shop import Order


@dataclass(frozen=True, slots=True)
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
