"""What a lesson step may do: the shop's own controls (controls.py, by name), and three of the lesson's own.

Each action is the floor's method a control calls, said in words, so the learner sees what
happened. Beside the controls, a lesson can take an order by hand with a key, rewind the
preparers' group to the beginning, and send an order that is no order (for the dead letters).
"""

from collections.abc import Callable
from dataclasses import dataclass

from fishchips.errors import FishchipsError
from fishchips.events import RoleKind
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import TIMEOUT, move_group_to_start
from fishchips.kafka.protocols import GroupProtocol
from fishchips.session import ShopSession

NOT_AN_ORDER = b"two cod and a large chips, please"  # what a till would never write: the preparers set it aside


@dataclass(frozen=True)
class Shop:
    """What an action presses: the session (speed, topics, connection) and its open floor."""

    session: ShopSession
    floor: ShopFloor


Action = Callable[[Shop, str], str]  # (the shop, the step's key) -> what happened, in words


def _started(name: str | None, what: str) -> str:
    if name is None:
        raise FishchipsError("the shop is closing")
    return f"{name} {what}"


def add_till(shop: Shop, key: str) -> str:
    return _started(shop.floor.add_till(), "opened: another producer on orders")


def add_preparer(shop: Shop, key: str) -> str:
    return _started(shop.floor.add_preparer(), "joins the preparers' group")


def stop_preparer(shop: Shop, key: str) -> str:
    if (stopped := shop.floor.stop_preparer()) is None:
        raise FishchipsError("no preparer is running")
    return f"{stopped} leaves the preparers' group"


def late_consumer(shop: Shop, key: str) -> str:
    return _started(shop.floor.start_late_consumer(), "reads orders from offset 0")


def toggle_cook(shop: Shop, key: str) -> str:
    pause = not shop.floor.cooks_paused
    if not shop.floor.pause_cooks(pause):
        raise FishchipsError(f"{shop.floor.scenario.name} has no cook: a lesson with a cook uses demo4")
    return "cook paused: it keeps its partition" if pause else "cook back at work"


def faster(shop: Shop, key: str) -> str:
    return f"speed x{shop.session.step_speed(+1):g}"


def slower(shop: Shop, key: str) -> str:
    return f"speed x{shop.session.step_speed(-1):g}"


def next_protocol(shop: Shop, key: str) -> str:
    """The preparers leave and rejoin by the next way of rebalancing, as the app's `g` does."""
    protocols = list(GroupProtocol)
    protocol = protocols[(protocols.index(shop.floor.group_protocol) + 1) % len(protocols)]
    shop.session.group_protocol = protocol
    rejoined = shop.floor.switch_group_protocol(protocol)
    return f"{rejoined} preparers rejoined the group as {protocol}"


def take_order(shop: Shop, key: str) -> str:
    took = shop.floor.take_order(key)
    assert took.order is not None  # the counter's TOOK names its order
    return f"order {took.order.order} with key {key!r} landed in partition {took.partition} at offset {took.offset}"


def rewind(shop: Shop, key: str) -> str:
    """Kafka moves a group's offsets only while it has no members: stop them, move, start as many again."""
    floor = shop.floor
    members = floor.stop_all(RoleKind.PREPARER)
    try:
        move_group_to_start(floor.admin, floor.topics.group("preparers"), [floor.topics.orders])
    finally:
        for _ in range(members):
            floor.add_preparer()
    return f"the preparers' group rewound to the beginning of orders; {members} preparers read on from there"


def bad_order(shop: Shop, key: str) -> str:
    producer = clients.producer(shop.session.settings)
    producer.produce(shop.floor.topics.orders, NOT_AN_ORDER, key.encode() or None)
    if producer.flush(TIMEOUT):
        raise FishchipsError(f"the bad order was not written within {TIMEOUT:.0f} s")
    return "an order that is no order written to orders"


CONTROL_ACTIONS: dict[str, Action] = {  # by the names in controls.py (a unit test holds them to it)
    "add_till": add_till,
    "add_preparer": add_preparer,
    "stop_preparer": stop_preparer,
    "late_consumer": late_consumer,
    "toggle_cook": toggle_cook,
    "faster": faster,
    "slower": slower,
    "next_protocol": next_protocol,
}
LESSON_ACTIONS: dict[str, Action] = {"take_order": take_order, "rewind": rewind, "bad_order": bad_order}
ACTIONS = {**CONTROL_ACTIONS, **LESSON_ACTIONS}
