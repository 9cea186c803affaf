"""Readers outside any consumer group: the board over the counter, and a late consumer.

The board shows orders as they are served; it is also the shop's independent check: the
floor's tally counts every order the board calls, by its identity. A late consumer reads
`orders` from the very first offset: Kafka kept the log, so it can replay the shop's whole past.
Neither joins a group or commits: they take every partition and never disturb the shop.
"""

import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from fishchips.events import Kind, RoleKind
from fishchips.kafka import clients
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Role
from fishchips.shop import InvalidOrder, Order


class Reader(Role):
    """Reads one topic from given offsets (default: the beginning) and reports each order."""

    kind = RoleKind.READER
    says = Kind.SEEN

    def __init__(self, name: str, context: ShopContext, topic: str, start: dict[int, int] | None = None, speed: float = 1.0) -> None:
        super().__init__(name, context, speed)
        self.topic = topic
        self.start_offsets = start

    def run(self) -> None:
        overrides: dict[str, Any] = {"client.id": self.name}
        consumer = clients.consumer(self.settings, f"{self.name}-{uuid.uuid4().hex[:8]}", **overrides)
        try:
            partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
            offsets = self.start_offsets or {}
            consumer.assign([TopicPartition(self.topic, p, offsets.get(p, OFFSET_BEGINNING)) for p in partitions])
            while not self.stopping:
                for message in consumer.consume(500, 0.2):
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            self.counters["errors"] += 1
                        continue
                    try:
                        order = Order.from_json(message.value(), self.menu)
                    except InvalidOrder:
                        self.counters["unreadable"] += 1
                        continue
                    self.counters[self.says] += 1
                    self.report(order, message)
        finally:
            consumer.close()

    def report(self, order: Order, message: Message) -> None:
        self.emit(self.says, order, message)


class Board(Reader):
    """The board over the counter: every served order, who served it, and when it reached `served`."""

    kind = RoleKind.BOARD
    says = Kind.CALLED

    def report(self, order: Order, message: Message) -> None:
        _, timestamp_ms = message.timestamp()
        preparer = dict(message.headers() or []).get("preparer")  # a consumer's header values are bytes, or None when empty
        detail = preparer.decode(errors="replace") if isinstance(preparer, bytes) else "?"
        self.emit(self.says, order, message, detail=detail, at=timestamp_ms / 1000)
