"""The cook: consumes `cook`, cooks the plaice, and sends the order back to `orders` marked ready.

A consumer that is also a producer; the preparer then serves the ready order.
"""

from collections.abc import Sequence

from confluent_kafka import Message

from fishchips.roles.base import ConsumingRole, Output
from fishchips.shop import Order, cook


class Cook(ConsumingRole):
    group_role = "cooks"

    def __init__(self, name: str, *args: object, cook_seconds: float = 0.0, **kwargs: object) -> None:
        super().__init__(name, *args, **kwargs)
        self.work_seconds = cook_seconds

    def source_topics(self) -> list[str]:
        return [self.topics.cook]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        cooked = cook(order)
        return [Output(self.topics.orders, cooked.to_json(), message.key(), kind="cooked", order=cooked)]
