"""Readers outside any consumer group: the board over the counter, and a late consumer.

The board shows orders as they are served; it is also the shop's independent check,
counting every served order by its identity. A late consumer reads `orders` from the
very first offset: Kafka kept the log, so it can replay the shop's whole past.
Neither joins a group or commits: they take every partition and never disturb the shop.
"""

import uuid
from collections import Counter

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from fishchips.kafka import clients
from fishchips.roles.base import Role
from fishchips.shop import InvalidOrder, Order


class Reader(Role):
    """Reads one topic from given offsets (default: the beginning) and reports each order."""

    kind = "seen"

    def __init__(self, name: str, *args: object, topic: str, start: dict[int, int] | None = None, **kwargs: object) -> None:
        super().__init__(name, *args, **kwargs)  # type: ignore[arg-type]
        self.topic = topic
        self.start_offsets = start
        self.ids: Counter[str] = Counter()

    def run(self) -> None:
        consumer = clients.consumer(self.settings, f"{self.name}-{uuid.uuid4().hex[:8]}", **{"client.id": self.name})
        try:
            partitions = consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
            offsets = self.start_offsets or {}
            consumer.assign([TopicPartition(self.topic, p, offsets.get(p, OFFSET_BEGINNING)) for p in partitions])
            while not self.stopping:
                for message in consumer.consume(500, 0.2):
                    if message.error():
                        if message.error().code() != KafkaError._PARTITION_EOF:
                            self.counters["errors"] += 1
                        continue
                    try:
                        order = Order.from_json(message.value(), self.menu)
                    except InvalidOrder:
                        self.counters["unreadable"] += 1
                        continue
                    self.ids[order.id] += 1
                    self.counters[self.kind] += 1
                    self.observe(order, message)
                    self.emit(self.kind, order, message)
        finally:
            consumer.close()

    def observe(self, order: Order, message: Message) -> None:
        """A hook for what a reader learns from each order."""


class Board(Reader):
    """The board over the counter: every served order, who served it, and how long it took."""

    kind = "called"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__("board", *args, **kwargs)
        self.latencies_ms: list[float] = []
        self.by_preparer: Counter[str] = Counter()

    def observe(self, order: Order, message: Message) -> None:
        _, timestamp_ms = message.timestamp()
        self.latencies_ms.append(max(0.0, timestamp_ms - order.placed_at * 1000))
        preparer = dict(message.headers() or []).get("preparer", b"?")
        self.by_preparer[preparer.decode(errors="replace")] += 1
