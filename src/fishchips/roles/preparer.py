"""A food preparer: a member of the `preparers` consumer group on `orders`.

Cod and chips come from the hot cabinet, so the order is served (an event on `served`);
an order with plaice that is not yet ready goes to the cook (an event on `cook`).
The group shares the partitions of `orders` between its members: start another
preparer and Kafka moves some partitions to it; stop one and they move back.
"""

from collections.abc import Sequence

from confluent_kafka import Message

from fishchips.events import Kind, RoleKind
from fishchips.roles.base import ConsumingRole, Output
from fishchips.shop import Action, Order, preparer_action


class FoodPreparer(ConsumingRole):
    kind = RoleKind.PREPARER
    group_role = "preparers"

    def source_topics(self) -> list[str]:
        return [self.topics.orders]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        if preparer_action(order, self.menu) is Action.COOK:
            return [Output(self.topics.cook, message.value(), message.key(), kind=Kind.TO_COOK, order=order)]
        headers = [("preparer", self.name.encode())]
        # served mirrors orders partition by partition: the board's view lines up with the tills'
        return [Output(self.topics.served, message.value(), message.key(), headers, kind=Kind.SERVED, order=order, partition=message.partition())]
