"""The independent ledger check: read every shop topic from its start and prove the promises.

It trusts no role's counters: only what Kafka kept. Every order taken (first written to
`orders`, not ready) must be served exactly once; every plaice order cooked exactly
once (it comes back to `orders` ready once); nothing served that was never taken.

With the hot cabinet (demo5) an order may go to the cook more than once (another preparer took
what was cooked for it): each trip, a committed event on `cook`, brings it back ready exactly
once. And the cabinet must hold what was cooked less what Kafka served, to the portion.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from confluent_kafka import Message

from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.shop import Action, InvalidOrder, Menu, Order, preparer_action
from fishchips.shop.kitchen import served_portions
from fishchips.stores.cabinet import Cabinet, CabinetState


@dataclass(frozen=True)
class Ledger:
    taken: int
    served: int
    lost: int  # taken, never served
    served_twice: int  # extra servings of an order
    plaice: int  # orders that needed the cook: with plaice, or with the cabinet those sent to it
    cooked: int
    cooked_twice: int  # returns from the cook beyond one per trip
    never_taken: int  # served, but no till took it
    unreadable: int
    takings_pence: int  # what the served orders are worth at the menu's prices: the books must say the same
    redelivered: int = 0  # servings a share preparer made of an order lent out before (its `delivery` header above 1)

    @property
    def ok(self) -> bool:
        return self.nothing_lost and self.served_twice == self.cooked_twice == 0 and self.cooked == self.plaice

    @property
    def nothing_lost(self) -> bool:
        """At-least-once, all a share group promises: every order served, none from nowhere; twice is counted, not refused."""
        return self.lost == self.never_taken == 0


def read_orders(settings: ConnectionSettings, topic: str, menu: Menu) -> tuple[list[Order], int]:
    """Every order on the topic, straight from Kafka, and how many events were not orders."""
    return readable(read_to_end(settings, topic), menu)


def readable(messages: Iterable[Message], menu: Menu) -> tuple[list[Order], int]:
    """The orders in the messages, and how many could not be read."""
    orders, unreadable = [], 0
    for message in messages:
        try:
            orders.append(Order.from_json(message.value(), menu))
        except InvalidOrder:
            unreadable += 1
    return orders, unreadable


def check(settings: ConnectionSettings, topics: Topics, menu: Menu | None = None, cabinet: bool = False) -> Ledger:
    """The ledger; cabinet: the shop served from the hot cabinet, where any order may go to the cook, and more than once."""
    menu = menu or Menu.load()
    on_orders, bad_orders = read_orders(settings, topics.orders, menu)
    on_served = read_to_end(settings, topics.served)
    served_list, bad_served = readable(on_served, menu)
    taken = {order.id: order for order in on_orders if not order.ready}
    cooked = Counter(order.id for order in on_orders if order.ready)
    if cabinet:
        trips = Counter(order.id for order in read_orders(settings, topics.cook, menu)[0])
        plaice = set(trips)
    else:
        plaice = {order_id for order_id, order in taken.items() if preparer_action(order, menu) is Action.COOK}
        trips = Counter(dict.fromkeys(cooked, 1))
    served = Counter(order.id for order in served_list)
    return Ledger(
        taken=len(taken),
        served=sum(1 for order_id in taken if served[order_id]),
        lost=sum(1 for order_id in taken if not served[order_id]),
        served_twice=sum(count - 1 for count in served.values() if count > 1),
        plaice=len(plaice),
        cooked=sum(1 for order_id in plaice if cooked[order_id]),
        cooked_twice=sum(max(0, count - trips[order_id]) for order_id, count in cooked.items()),
        never_taken=sum(1 for order_id in served if order_id not in taken),
        unreadable=bad_orders + bad_served,
        takings_pence=sum(menu.price(order.parts) for order_id, order in taken.items() if served[order_id]),
        redelivered=sum(1 for message in on_served if int(dict(message.headers() or []).get("delivery") or 1) > 1),
    )


@dataclass(frozen=True)
class CabinetFigures:
    """A run's cabinet against the ledger: the stock at its end, what the run cooked, and what disagrees (nothing, if sound)."""

    stock: dict[str, int]
    cooked_batches: int  # in this run
    trips_to_cook: int  # in this run
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, object]:
        return {
            "cabinet": self.stock,
            "cooked_batches": self.cooked_batches,
            "trips_to_cook": self.trips_to_cook,
            "cabinet_differences": self.differences,
        }


def cabinet_check(
    settings: ConnectionSettings, topics: Topics, cabinet: Cabinet, start: CabinetState, served_from: Mapping[int, int], menu: Menu
) -> CabinetFigures:
    """The cabinet now, against what Kafka served since `served_from` (the `served` topic's end offsets when `start` was read).

    The cabinet is shared by every run of the shop (it lives in Redis), so the run's part is what
    changed since `start`: its portions taken must be exactly the portions of the orders it served,
    each order once; and the stock, then as now, is exactly what was cooked less what was served.
    """
    end = cabinet.state()
    served, _ = readable((m for m in read_to_end(settings, topics.served) if _at_or_after(m, served_from)), menu)
    run = end.since(start)
    return CabinetFigures(
        end.stock, run.cooked_batches, run.trips_to_cook, end.unbalanced() + run.differences(served_portions(served, menu))
    )


def _at_or_after(message: Message, offsets: Mapping[int, int]) -> bool:
    """The record sits at or after its partition's offset in `offsets` (read_to_end returns records only: each has both)."""
    partition, offset = message.partition(), message.offset()
    return partition is not None and offset is not None and offset >= offsets.get(partition, 0)
