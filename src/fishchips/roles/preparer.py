"""A food preparer: a member of the `preparers` consumer group on `orders`.

Cod and chips come from the hot cabinet, so the order is served (an event on `served`);
an order with plaice that is not yet ready goes to the cook (an event on `cook`).
In a shop with a cabinet in Redis (demo5) the preparer takes every portion from it, all or
none: short of any, the order goes to the cook, and comes back ready to be taken again.
The group shares the partitions of `orders` between its members: start another
preparer and Kafka moves some partitions to it; stop one and they move back.
"""

from collections.abc import Sequence

from confluent_kafka import Message

from fishchips.events import Kind, RoleKind
from fishchips.roles.cabinet_user import CabinetUser
from fishchips.roles.outputs import Output
from fishchips.shop import Action, Order, preparer_action


class FoodPreparer(CabinetUser):
    kind = RoleKind.PREPARER
    group_role = "preparers"

    def source_topics(self) -> list[str]:
        return [self.topics.orders]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        value = message.value()
        assert value is not None  # the order was read from it: Order.from_json refuses an empty event
        if self.cabinet is not None:
            take = self.cabinet.take(order)  # a ready order too: what the cook put in may have gone to another order since
            if not take.may_serve:
                short = ", ".join(f"{count} {item}" for item, count in take.short.items())
                return [
                    Output(self.topics.cook, value, message.key(), kind=Kind.TO_COOK, order=order, detail=f"short of {short}")
                ]
        elif preparer_action(order, self.menu) is Action.COOK:
            return [Output(self.topics.cook, value, message.key(), kind=Kind.TO_COOK, order=order)]
        headers = [("preparer", self.name.encode())]
        # served mirrors orders partition by partition: the board's view lines up with the tills'
        return [
            Output(
                self.topics.served, value, message.key(), headers, kind=Kind.SERVED, order=order, partition=message.partition()
            )
        ]
