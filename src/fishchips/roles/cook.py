"""The cook: consumes `cook`, cooks the plaice, and sends the order back to `orders` marked ready.

A consumer that is also a producer; the preparer then serves the ready order.
With the hot cabinet (demo5) the cook cooks what the cabinet lacks for the order (plaice to
order, cod and chips in batches up to their par), and a timer tops the cabinet up now and then.
"""

import threading
from collections.abc import Sequence

from confluent_kafka import Message

from fishchips.events import Kind, RoleKind
from fishchips.roles.cabinet_user import CabinetUser
from fishchips.roles.outputs import Output
from fishchips.shop import Order, cook
from fishchips.stores.cabinet import keep_stocked

TOP_UP_SECONDS = 2.0  # how often the cook's timer looks at the cabinet, at speed 1


class Cook(CabinetUser):
    kind = RoleKind.COOK
    group_role = "cooks"

    def source_topics(self) -> list[str]:
        return [self.topics.cook]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        detail = ""
        if self.cabinet is not None:
            # the trip is named by the order and where its `cook` event sits: the same when this batch is read again, so a
            # retried trip cooks nothing twice; another for the same order's next trip (another preparer took what was cooked)
            cooking = self.cabinet.cook_for(order, trip=f"{order.id}:{message.partition()}:{message.offset()}")
            detail = ", ".join(f"{count} {item}" for item, count in cooking.cooked.items())
        cooked = cook(order)
        return [Output(self.topics.orders, cooked.to_json(), message.key(), kind=Kind.COOKED, order=cooked, detail=detail)]

    def run(self) -> None:
        if self.cabinet is not None:
            timer = threading.Thread(
                target=keep_stocked,
                args=(self.cabinet, TOP_UP_SECONDS / self.speed, self._stopping, self._topped_up, self.waiting),
                name=f"{self.name}-timer",
                daemon=True,
            )
            timer.start()
        super().run()

    def _topped_up(self, cooked: dict[str, int]) -> None:
        self.counters["batches"] += len(cooked)
        self.emit(Kind.TOPPED_UP, detail=", ".join(f"{count} {item}" for item, count in cooked.items()))
