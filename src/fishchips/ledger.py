"""The independent ledger check: read every shop topic from its start and prove the promises.

It trusts no role's counters: only what Kafka kept. Every order taken (first written to
`orders`, not ready) must be served exactly once; every plaice order cooked exactly
once (it comes back to `orders` ready once); nothing served that was never taken.
"""

from collections import Counter
from dataclasses import dataclass

from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.shop import Action, InvalidOrder, Menu, Order, preparer_action


@dataclass(frozen=True)
class Ledger:
    taken: int
    served: int
    lost: int  # taken, never served
    served_twice: int  # extra servings of an order
    plaice: int
    cooked: int
    cooked_twice: int
    never_taken: int  # served, but no till took it
    unreadable: int
    takings_pence: int  # what the served orders are worth at the menu's prices: the books must say the same

    @property
    def ok(self) -> bool:
        return self.lost == self.served_twice == self.cooked_twice == self.never_taken == 0 and self.cooked == self.plaice


def read_orders(settings: ConnectionSettings, topic: str, menu: Menu) -> tuple[list[Order], int]:
    """Every order on the topic, straight from Kafka, and how many events were not orders."""
    orders, unreadable = [], 0
    for message in read_to_end(settings, topic):
        try:
            orders.append(Order.from_json(message.value(), menu))
        except InvalidOrder:
            unreadable += 1
    return orders, unreadable


def check(settings: ConnectionSettings, topics: Topics, menu: Menu | None = None) -> Ledger:
    menu = menu or Menu.load()
    on_orders, bad_orders = read_orders(settings, topics.orders, menu)
    served_list, bad_served = read_orders(settings, topics.served, menu)
    taken = {order.id: order for order in on_orders if not order.ready}
    cooked = Counter(order.id for order in on_orders if order.ready)
    plaice = {order_id for order_id, order in taken.items() if preparer_action(order, menu) is Action.COOK}
    served = Counter(order.id for order in served_list)
    return Ledger(
        taken=len(taken),
        served=sum(1 for order_id in taken if served[order_id]),
        lost=sum(1 for order_id in taken if not served[order_id]),
        served_twice=sum(count - 1 for count in served.values() if count > 1),
        plaice=len(plaice),
        cooked=sum(1 for order_id in plaice if cooked[order_id]),
        cooked_twice=sum(count - 1 for count in cooked.values() if count > 1),
        never_taken=sum(1 for order_id in served if order_id not in taken),
        unreadable=bad_orders + bad_served,
        takings_pence=sum(menu.price(order.parts) for order_id, order in taken.items() if served[order_id]),
    )
