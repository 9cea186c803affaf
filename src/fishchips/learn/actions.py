"""What a lesson step may do: the shop's own controls (controls.py, by name), and a few of the lesson's own.

Each action is the floor's method a control calls, said in words, so the learner sees what
happened. Beside the controls, a lesson can take an order by hand with a key, rewind the
preparers' group to the beginning, send an order that is no order (for the dead letters),
kill a preparer in the middle of a transaction, then start it again (for exactly once); make a
topic that wants every replica in sync (for NOT_ENOUGH_REPLICAS); stop a share preparer (for a release);
and start, pause and resume the shop's Kafka Connect sink (for the books without a consumer).
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from fishchips.errors import FishchipsError
from fishchips.events import RoleKind
from fishchips.floor import ShopFloor
from fishchips.kafka import clients, connect_worker
from fishchips.kafka import strict_topic as strict
from fishchips.kafka.inspect import TIMEOUT, move_group_to_start
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.reading import uncommitted_only
from fishchips.learn.checks import Eyes
from fishchips.session import ShopSession
from fishchips.sink import SinkSetup, registered_sink
from fishchips.waiting import until

NOT_AN_ORDER = b"two cod and a large chips, please"  # what a till would never write: the preparers set it aside
KILL_WITHIN = 30.0  # seconds for the held preparer's next order to be written: at the lessons' pace, a second or so


@dataclass(frozen=True)
class Shop:
    """What an action presses: the session (speed, topics, connection) and its open floor."""

    session: ShopSession
    floor: ShopFloor
    eyes: Eyes  # how the lesson sees Kafka (learn/player.py), for an action that must look first or use a client


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


def add_preparer_process(shop: Shop, key: str) -> str:
    return _started(shop.floor.add_preparer(process=True), "joins the preparers' group, in a process of its own")


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


def _preparer_processes(shop: Shop, running: bool) -> list[str]:
    return [r.name for r in shop.floor.roles() if r.kind == RoleKind.PREPARER and r.where.startswith("process") and r.running == running]


def kill_preparer(shop: Shop, key: str) -> str:
    """kill -9 the newest preparer process in the middle of a transaction, with results written and not committed.

    A crash lands anywhere; a lesson must land inside a transaction every time. So the preparer is asked to hold its
    next transaction that serves open (a breakpoint, roles/consuming.py): it writes that batch to Kafka and waits
    there. Once a read_uncommitted reader sees its records on `served`, it is killed.
    """
    if not (names := _preparer_processes(shop, running=True)):
        raise FishchipsError("no preparer runs in a process of its own: add one first (add_preparer_process)")
    name, floor = names[-1], shop.floor
    if not floor.context.exactly_once:
        raise FishchipsError(f"{name} works without transactions here (at-least-once): it has none to be killed in")
    floor.hold_transaction_open(name)

    def open_records() -> int:
        mine = [m for m in uncommitted_only(shop.session.settings, floor.topics.served) if ("preparer", name.encode()) in (m.headers() or [])]
        return len(mine)

    if not until(open_records, timeout=KILL_WITHIN, every=0.5):
        raise FishchipsError(f"{name} wrote no order in a transaction within {KILL_WITHIN:.0f} s: do orders reach its partitions?")
    floor.kill(name)
    return f"{name} killed (kill -9) with {open_records()} served records written and not committed"


def restart_preparer(shop: Shop, key: str) -> str:
    """The killed preparer starts again under its name, so with its transactional id: Kafka fences the dead producer."""
    if not (names := _preparer_processes(shop, running=False)):
        raise FishchipsError("no preparer process has died: kill one first (kill_preparer)")
    shop.floor.restart(names[-1])
    return f"{names[-1]} started again with its transactional id: Kafka aborts the dead one's open transaction"


def kill_broker(shop: Shop, key: str) -> str:
    """kill -9 the node that leads the orders' first partition, as the lesson's eyes see it now."""
    return shop.session.kill_broker(shop.eyes.replication())


def restart_broker(shop: Shop, key: str) -> str:
    return shop.session.nodes.restart()


def strict_topic(shop: Shop, key: str) -> str:
    """A topic of the lesson's own that wants all three replicas in sync, made where the lesson's eyes keep their client
    (on three nodes a process of its own: no client of this process may meet the broker the lesson kills next)."""
    topic = strict.strict_topic(shop.session.topics.prefix)
    shop.eyes.run(functools.partial(strict.create, shop.session.settings, topic))
    return f"{topic} made: 3 replicas, min.insync.replicas={strict.ALL_IN_SYNC}"


def stop_share_preparer(shop: Shop, key: str) -> str:
    if (stopped := shop.floor.stop_preparer(RoleKind.SHARE_PREPARER)) is None:
        raise FishchipsError("no share preparer is running: a lesson with a share group uses demo6")
    return f"{stopped} leaves the share group, releasing the orders it holds"


def _sink(shop: Shop, paused: bool) -> SinkSetup:
    """The sink `fishchips connect start` registered for this shop, paused or running; one line if PostgreSQL, the worker
    or the sink is missing."""
    sink = registered_sink(shop.session.settings, shop.floor.topics)
    connect_worker.pause_sink(sink.state, sink.names, paused)
    return sink


def start_sink(shop: Shop, key: str) -> str:
    """The shop's side of Kafka Connect's road to the books: the clerk, beside the sink (running: a lesson left half-way
    may have left it paused)."""
    sink = _sink(shop, paused=False)
    clerks = [role.name for role in shop.floor.roles() if role.kind == RoleKind.CLERK and role.running]
    if (clerk := clerks[0] if clerks else shop.floor.add_clerk()) is None:
        raise FishchipsError("the shop is closing")
    return f"{clerk} writes each served order as a row to {sink.names.rows}; the sink {sink.names.connector} upserts them into {sink.names.table}"


def pause_sink(shop: Shop, key: str) -> str:
    return f"{_sink(shop, paused=True).names.connector} paused: its task stays in its group and reads nothing"


def resume_sink(shop: Shop, key: str) -> str:
    return f"{_sink(shop, paused=False).names.connector} resumed: it reads on from the offset its group committed"


CONTROL_ACTIONS: dict[str, Action] = {  # by the names in controls.py (a unit test holds them to it)
    "add_till": add_till,
    "add_preparer": add_preparer,
    "add_preparer_process": add_preparer_process,
    "stop_preparer": stop_preparer,
    "late_consumer": late_consumer,
    "toggle_cook": toggle_cook,
    "faster": faster,
    "slower": slower,
    "next_protocol": next_protocol,
    # lesson 12
    "kill_broker": kill_broker,
    "restart_broker": restart_broker,
}
LESSON_ACTIONS: dict[str, Action] = {
    "take_order": take_order,
    "rewind": rewind,
    "bad_order": bad_order,
    "kill_preparer": kill_preparer,
    "restart_preparer": restart_preparer,
    # lessons 12 and 13
    "strict_topic": strict_topic,
    "stop_share_preparer": stop_share_preparer,
    # lesson 14, Kafka Connect
    "start_sink": start_sink,
    "pause_sink": pause_sink,
    "resume_sink": resume_sink,
}
ACTIONS = {**CONTROL_ACTIONS, **LESSON_ACTIONS}
THREE_NODE_ACTIONS = ("kill_broker", "restart_broker", "strict_topic")  # only a lesson on three nodes (`nodes = 3`) may press these
