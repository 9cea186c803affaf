"""The cook: consumes `cook`, cooks the plaice, and sends the order back to `orders` marked ready.

A consumer that is also a producer; the preparer then serves the ready order.
"""

from collections.abc import Sequence

from confluent_kafka import Message

from fishchips.events import Kind, RoleKind
from fishchips.roles.base import ConsumingRole, Output
from fishchips.shop import Order, cook


class Cook(ConsumingRole):
    kind = RoleKind.COOK
    group_role = "cooks"

    def source_topics(self) -> list[str]:
        return [self.topics.cook]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        cooked = cook(order)
        return [Output(self.topics.orders, cooked.to_json(), message.key(), kind=Kind.COOKED, order=cooked)]
