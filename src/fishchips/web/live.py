"""The one live shop behind the web page, and the only module that touches the floor.

Every tab of every browser watches this one shop, so it is built once per server process.
All access to ShopFloor, its roles and the fields of ShopEvent is here, so a change to the
floor's API is adapted in one place. Roles call `hear` from their own threads; the server
reads `snapshot()` (a plain dict, ready for JSON) at most ten times a second.
"""

import logging
import threading
import time
from collections import Counter, deque
from dataclasses import asdict
from datetime import datetime
from typing import TypedDict

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from fishchips.controls import BROKER_CONTROLS, PAGE_CONTROLS, SHARE_CONTROLS
from fishchips.errors import FishchipsError
from fishchips.events import RoleKind, ShopEvent
from fishchips.floor import COUNTER, HAND_TILL, ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import TIMEOUT, ClusterView
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.kafka.watcher import LOOK_EVERY
from fishchips.learn.follow import Follower
from fishchips.learn.lesson import Lesson
from fishchips.learn.player import Player
from fishchips.lending import released_words
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.till import ACKS
from fishchips.scenarios import SCENARIOS, Scenario
from fishchips.session import ShopSession, next_scenario
from fishchips.shop import Order, format_pence
from fishchips.stores.books import BooksError, open_books
from fishchips.stores.cabinet import CabinetError, cooked_words

log = logging.getLogger(__name__)

LANE_CHIPS = 14  # the newest orders drawn in each partition's lane
LIST_LENGTH = 8  # the newest entries of the board, the cook's loop, dead letters and notices
REWINDABLE = {"preparers": FoodPreparer.group_role, "accountant": "accountant"}


class ControlError(FishchipsError):
    """A control that cannot be done now (the shop still opening, no cook to pause...): the page says why."""


def started(name: str | None) -> str:
    """The new role's name; a floor that is closing starts nothing."""
    if name is None:
        raise ControlError("the shop is closing: try again once it is open")
    return name


def short(topic_or_group: str) -> str:
    """fishchips.orders -> orders: the prefix is the same on every name the page shows."""
    return topic_or_group.rsplit(".", 1)[-1]


def view_as_dict(view: ClusterView) -> dict[str, object]:
    """Kafka's own view (admin API) as the page draws it: end offsets, and per group members, committed offsets and lag."""
    groups = {}
    for name, group in view.groups.items():
        groups[short(name)] = {
            "state": group.state.lower(),
            "members": [{"client_id": m.client_id, "partitions": [p for _, p in m.partitions]} for m in group.members],
            "committed": {f"{short(t)}:{p}": offset for (t, p), offset in sorted(group.committed.items())},
            "lag": {f"{short(t)}:{p}": lag for (t, p), lag in sorted(group.lag.items())},
            "total_lag": group.total_lag,
        }
    ends = {short(topic): {str(p): end for p, end in sorted(partitions.items())} for topic, partitions in view.end_offsets.items()}
    return {"end_offsets": ends, "groups": groups}


class Chip(TypedDict):
    """An order drawn in its partition's lane."""

    offset: int | None
    order: int
    till: int
    by: str
    ready: bool


class Member(TypedDict):
    """A role as the page lists it."""

    name: str
    kind: str
    assignment: list[int]
    paused: bool
    running: bool
    where: str


class KeySeen(TypedDict):
    """Where the orders taken by hand with one key landed."""

    partitions: list[int]
    orders: int


class LiveShop:
    """The shop every tab watches: a ShopFloor, what its roles said, and Kafka's view of it."""

    def __init__(
        self,
        scenario: Scenario,
        settings: ConnectionSettings,
        topics: Topics,
        speed: float = 1.0,
        books: str | None = None,
        group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
        redis: str | None = None,  # the hot cabinet's Redis, for demo5 (None: REDIS_URL, else the local redis-server)
        lesson: Lesson | None = None,  # the lesson the page follows, step by step (its scenario is `scenario`)
    ) -> None:
        self.session = ShopSession(scenario, settings, topics, self.hear, speed, books, group_protocol, redis)
        # the lesson's steps played by the same player as `fishchips learn`, on this shop
        self.follower = Follower(Player(lesson, self.session), self._bump) if lesson is not None else None
        self.topics = topics
        self.books = books
        self.version = 0  # bumped on every change: the server sends a new snapshot only when it moved
        self._lock = threading.Lock()  # guards the state below, written by role threads
        self._controls = threading.Lock()  # one control at a time: a rewind must not meet a scenario switch
        self._closed = threading.Event()
        self._watcher: threading.Thread | None = None
        self._reset("opening the shop…")

    # the state the page draws -------------------------------------------------------------------
    def _reset(self, status: str) -> None:
        with self._lock:
            self.status, self.error = status, ""
            self.counts: Counter[str] = Counter()
            self.tills: Counter[str] = Counter()
            self.waiting: dict[str, str] = {}  # role -> why it waits (a till for Kafka, a preparer for the cabinet), until it goes on
            self.lanes: dict[int, deque[Chip]] = {}
            self.done: dict[tuple[int, int | None], str] = {}  # (partition, offset) -> "served" or "to-cook": what a preparer did with it
            self.board: deque[dict[str, object]] = deque(maxlen=LIST_LENGTH)
            self.cook_loop: deque[dict[str, object]] = deque(maxlen=LIST_LENGTH)
            self.dead: deque[dict[str, object]] = deque(maxlen=LIST_LENGTH)
            self.late: dict[str, dict[int, int]] = {}
            self.keys: dict[str, KeySeen] = {}
            self.owners: dict[int, str] = {}
            self.rebalances = 0
            self.rebalanced_at = 0.0
            self.kafka: dict[str, object] = {}
            self.cluster: dict[str, object] = {"answered": False, "problem": "not looked at yet"}  # kafka/replication.py's view
            self.last_served_at = 0.0  # when a preparer last served an order: a broker's death may stop serving a while
            self.accounts: dict[str, object] = {}
            self.cabinet: dict[str, object] | None = None  # the hot cabinet's stock and counters (demo5), or why not
            self.notices: deque[dict[str, object]] = deque(maxlen=LIST_LENGTH)
            self.version += 1

    def _bump(self) -> None:
        with self._lock:
            self.version += 1

    def notice(self, text: str, error: bool = False) -> None:
        with self._lock:
            self.notices.appendleft({"at": time.time(), "text": text, "error": error})
            self.version += 1

    def hear(self, event: ShopEvent) -> None:
        """A role's event (from the role's thread): what the page shows of it."""
        kind, order = str(event.kind), event.order
        with self._lock:
            self.counts[kind] += 1
            self.version += 1
            if kind == "took" and order is not None and event.partition is not None:
                if event.role != COUNTER:  # the counter is no till of the diagram: its orders are drawn "by hand"
                    self.tills[event.role] += 1
                self._chip(event.partition, event.offset, order, "hand" if event.role == COUNTER else event.role)
            elif kind == "served" and order is not None and event.partition is not None:
                if order.ready:  # a cooked order came back to orders: draw it in its lane too
                    self._chip(event.partition, event.offset, order, "cook")
                self.done[(event.partition, event.offset or 0)] = kind
                self.last_served_at = time.time()
            elif kind in ("to-cook", "cooked") and order is not None:
                self.cook_loop.appendleft({"kind": kind, "order": order.order, "role": event.role})
                if kind == "to-cook" and event.partition is not None:
                    self.done[(event.partition, event.offset or 0)] = kind
            elif kind == "called" and order is not None:
                self.board.appendleft({"order": order.order, "partition": event.partition})
            elif kind == "seen" and event.partition is not None and event.offset is not None:
                self.late.setdefault(event.role, {})[event.partition] = event.offset + 1
            elif kind == "dead-letter":
                self.dead.appendleft({"role": event.role, "detail": event.detail, "where": event.where()})
            elif kind == "waiting":
                self.waiting[event.role] = event.detail
                self.notices.appendleft({"at": time.time(), "text": f"{event.role} waits {event.detail}", "error": True})
            elif kind in ("resumed", "stopped", "failed"):
                self.waiting.pop(event.role, None)
                if kind == "failed":
                    self.notices.appendleft({"at": time.time(), "text": f"{event.role} failed: {event.detail}", "error": True})
                elif event.detail:  # a till that waited for Kafka goes on
                    self.notices.appendleft({"at": time.time(), "text": f"{event.role}: {event.detail}", "error": False})

    def _chip(self, partition: int, offset: int | None, order: Order, by: str) -> None:
        lane = self.lanes.setdefault(partition, deque(maxlen=LANE_CHIPS))
        if offset is not None and any(chip["offset"] == offset for chip in lane):
            return
        lane.append({"offset": offset, "order": order.order, "till": order.till, "by": by, "ready": order.ready})

    @property
    def floor(self) -> ShopFloor | None:
        return self.session.floor

    def _members(self) -> list[Member]:
        """The roles as the page lists them, from the floor's records."""
        floor = self.floor
        if floor is None:
            return []
        members: list[Member] = []
        for role in floor.roles():
            members.append(
                {
                    "name": role.name,
                    "kind": str(role.kind),
                    "assignment": list(role.partitions),
                    "paused": role.paused,
                    "running": role.running and not role.stopping,
                    "where": role.where,
                }
            )
        return members

    def _watch_rebalance(self, members: list[Member]) -> None:
        """A partition that changed hands between two looks is a rebalance: count it and say so."""
        owners = {p: m["name"] for m in members if m["kind"] == "preparer" and m["running"] for p in m["assignment"]}
        if owners != self.owners and owners:
            if self.owners:
                self.rebalances += 1
                self.rebalanced_at = time.time()
                moved = ", ".join(f"p{p} → {who}" for p, who in sorted(owners.items()) if self.owners.get(p) != who)
                self.notices.appendleft({"at": time.time(), "text": f"rebalance: {moved or 'partitions shared out again'}", "error": False})
            self.owners = owners

    def _summary(self) -> dict[str, object] | None:
        """The floor's own count of this shop's orders (None before it opens): each taken order served once, none left."""
        floor = self.floor
        if floor is None:
            return None
        summary = floor.summary()
        return {
            "taken": summary.taken,
            "served": summary.served,
            "twice": summary.duplicates,
            "waiting": summary.missing,
            "in_flight": summary.in_flight,
            "by_hand": {"taken": summary.taken_by_till.get(COUNTER, 0), "served": summary.served_by_till.get(HAND_TILL, 0)},
        }

    def _groups(self) -> list[dict[str, object]]:
        """The preparers' groups side by side (demo6: a consumer group and a share group), each member's served count."""
        floor = self.floor
        return [{"name": g.name, "kind": g.kind, "served": g.served} for g in floor.preparer_groups()] if floor else []

    def _lending(self) -> dict[str, object]:
        """The share group's records in flight, in its members' own words (lending.py says why not Kafka's), and those lent again."""
        floor = self.floor
        loans, relent = floor.share_loans() if floor is not None else ([], [])
        return {"held": [asdict(loan) for loan in loans], "relent": [asdict(again) for again in relent]}

    def snapshot(self) -> dict[str, object]:
        """Everything the page draws, as plain data."""
        members, summary, scenario, groups = self._members(), self._summary(), self.session.scenario, self._groups()
        lending = self._lending()
        with self._lock:
            self._watch_rebalance(members)
            lanes: dict[str, list[dict[str, object]]] = {}
            for partition, chips in sorted(self.lanes.items()):
                in_order = sorted(chips, key=lambda chip: -1 if chip["offset"] is None else chip["offset"])
                lanes[str(partition)] = [{**chip, "done": self.done.get((partition, chip["offset"]), "")} for chip in in_order]
            return {
                "version": self.version,
                "status": self.status,
                "error": self.error,
                "scenario": {"name": scenario.name, "title": scenario.title, "lesson": scenario.lesson, "cooks": scenario.cooks},
                "scenarios": {name: s.title for name, s in SCENARIOS.items()},
                "speed": self.session.speed,
                "partitions": self._partitions(),
                "counts": dict(self.counts),
                "summary": summary,
                "tills": dict(sorted(self.tills.items())),
                "waiting": dict(self.waiting),
                "acks": self._acks(),
                "lanes": lanes,
                "members": members,
                "groups": groups,
                "lending": lending,
                "owners": {str(p): who for p, who in self.owners.items()},
                "rebalances": self.rebalances,
                "rebalanced_at": self.rebalanced_at,
                "board": list(self.board),
                "cook_loop": list(self.cook_loop),
                "dead_letters": list(self.dead),
                "late": {name: {str(p): n for p, n in sorted(read.items())} for name, read in self.late.items()},
                "keys": self.keys,
                "kafka": self.kafka,
                "accounts": self.accounts,
                "cabinet": self.cabinet,
                "notices": list(self.notices),
                "cluster": self._cluster(),
                "last_served_at": self.last_served_at,
                "controls": [
                    {"name": c.name, "key": c.key, "label": c.button, "idea": c.idea}
                    for c in PAGE_CONTROLS.values()
                    if (c.name not in BROKER_CONTROLS or self.session.nodes.available)
                    and (c.name not in SHARE_CONTROLS or scenario.share_preparers)
                ],
                "lesson": self.follower.to_json() if self.follower is not None else None,
                "now": time.time(),
            }

    def _acks(self) -> dict[str, str]:
        """How the tills write, and what that means."""
        setting = self.floor.acks if self.floor is not None else "all"
        return {"setting": setting, "said": ACKS[setting]}

    def _cluster(self) -> dict[str, object]:
        """Kafka's view of the brokers and replicas (see kafka/replication.py), and whether the page may kill a node."""
        nodes = self.session.nodes
        return {**self.cluster, "node_controls": {"available": nodes.available, "reason": nodes.reason}}

    def _partitions(self) -> int:
        ends = self.kafka.get("end_offsets")
        orders = ends.get("orders", {}) if isinstance(ends, dict) else {}
        return len(orders) or self.session.scenario.partitions

    # opening, watching and closing ----------------------------------------------------------------
    def open(self) -> None:
        """Connect (starting the embedded broker if need be) and open the shop; blocks, so run it in a thread."""
        try:
            self._open_floor()
        except FishchipsError as exc:
            self._set_status("not open", error=str(exc))
            return
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="web-watch", daemon=True)
            self._watcher.start()
        if self.follower is not None:
            self.follower.start()

    def _open_floor(self) -> None:
        self._set_status(f"opening {self.session.scenario.name}…")
        if self.session.open(notice=self._set_status) is not None:
            self._set_status("open")

    def _set_status(self, status: str, error: str = "") -> None:
        with self._lock:
            self.status, self.error = status, error
            self.version += 1
        if error:
            log.error("%s", error)

    def _watch(self) -> None:
        """Once a second: Kafka's own view of the shop (admin API) and the accountant's books."""
        while not self._closed.wait(LOOK_EVERY):
            groups = [self.topics.group(FoodPreparer.group_role), self.topics.group(Cook.group_role), self.topics.group("accountant")]
            topics = [self.topics.orders, self.topics.cook, self.topics.served, self.topics.dead_letters]
            sight = self.session.look(topics, groups)  # from the Kafka watcher's process: a broker's death cannot abort this one
            kafka: dict[str, object] = view_as_dict(sight.kafka) if sight.kafka is not None else {"error": sight.problem}
            try:
                with open_books(self.books, self.topics.prefix) as books:
                    totals = books.totals()
                accounts = {
                    "orders": totals.orders,
                    "takings": format_pence(totals.takings_pence),
                    "items": totals.items,
                    "rejected": totals.rejected,
                }
            except BooksError as exc:
                accounts = {"error": str(exc)}
            cabinet = self._read_cabinet()
            with self._lock:
                self.kafka, self.accounts, self.cabinet, self.cluster = kafka, accounts, cabinet, sight.replication.to_json()
                self.version += 1

    def _read_cabinet(self) -> dict[str, object] | None:
        """The hot cabinet as Redis has it (one consistent read), None for a shop without one."""
        floor = self.floor
        if floor is None or floor.cabinet is None:
            return None
        try:
            return floor.cabinet.state().to_json()
        except CabinetError as exc:
            return {"error": str(exc)}

    def close(self) -> None:
        """Stop every role; each leaves its group as it closes."""
        self._closed.set()
        if self.follower is not None:
            self.follower.close()
        with self._controls:
            if self.floor is not None:
                self._set_status("closing: every role leaves its group…")
            self.session.close()

    def _open_floor_or_refuse(self) -> ShopFloor:
        if self.floor is None or self.status != "open":
            raise ControlError(f"the shop is not open ({self.status}): wait a moment")
        return self.floor

    # the controls (each blocks for a moment: the server runs them in a thread) -----------------
    def control(self, name: str) -> str:
        """Press one of PAGE_CONTROLS; returns what happened, in words."""
        with self._controls:
            said: str = getattr(self, f"_do_{name}")(self._open_floor_or_refuse())
        self.notice(said)
        self._pressed(name)
        return said

    def _pressed(self, action: str) -> None:
        """A lesson's step whose action this is starts its check's time."""
        if self.follower is not None:
            self.follower.pressed(action)

    def _do_add_till(self, floor: ShopFloor) -> str:
        return f"{started(floor.add_till())} opened: another producer on {short(self.topics.orders)}"

    def _do_add_preparer(self, floor: ShopFloor) -> str:
        return f"{started(floor.add_preparer())} joins the preparers' group: watch for the rebalance"

    def _do_stop_preparer(self, floor: ShopFloor) -> str:
        stopped = floor.stop_preparer()
        if stopped is None:
            raise ControlError("no preparer is running")
        return f"{stopped} left the group: its partitions went to the others"

    def _do_stop_share_preparer(self, floor: ShopFloor) -> str:
        stopped = floor.stop_share_preparer()
        if stopped is None:
            raise ControlError("no share preparer is working: demo6 has a share group")
        return released_words(*stopped)

    def _do_late_consumer(self, floor: ShopFloor) -> str:
        return f"{started(floor.start_late_consumer())} reads {short(self.topics.orders)} from offset 0"

    def _do_toggle_cook(self, floor: ShopFloor) -> str:
        pause = not floor.cooks_paused
        if not floor.pause_cooks(pause):
            raise ControlError(f"{self.session.scenario.name} has no cook: demo4 has one")
        return "cook paused: it keeps its partition, and the cook topic's lag grows" if pause else "cook back at work"

    def _do_restock(self, floor: ShopFloor) -> str:
        try:
            cooked = floor.restock()
        except CabinetError as exc:
            raise ControlError(str(exc)) from None
        return f"restocked by hand: {cooked_words(cooked)}"

    def _do_faster(self, floor: ShopFloor) -> str:
        return f"speed x{self.session.step_speed(+1):g}"

    def _do_slower(self, floor: ShopFloor) -> str:
        return f"speed x{self.session.step_speed(-1):g}"

    def _do_kill_broker(self, floor: ShopFloor) -> str:
        return self.session.kill_broker()

    def _do_restart_broker(self, floor: ShopFloor) -> str:
        return self.session.nodes.restart()

    def _do_toggle_acks(self, floor: ShopFloor) -> str:
        return self.session.toggle_acks()

    def _do_next_scenario(self, floor: ShopFloor) -> str:
        return self._switch(next_scenario(self.session.scenario.name))

    def switch(self, name: str) -> str:
        """Close this shop and open the named scenario."""
        with self._controls:
            self._open_floor_or_refuse()
            said = self._switch(name)
        self.notice(said)
        return said

    def _switch(self, name: str) -> str:
        self._set_status(f"closing {self.session.scenario.name} for {name}…")
        scenario = self.session.step_scenario(name)
        self._reset(f"opening {name}…")
        try:
            self._open_floor()
        except FishchipsError as exc:
            self._set_status("not open", error=str(exc))
            raise
        return f"now showing {name}: {scenario.title}"

    # an order by hand, with a key ------------------------------------------------------------------
    def take_order(self, key: str) -> dict[str, object]:
        """One order taken at the floor's counter with the given key (see ShopFloor.take_order); report where it landed."""
        with self._controls:
            took = self._open_floor_or_refuse().take_order(key)
        assert took.order is not None and took.partition is not None  # the counter's TOOK names its order and where it landed
        with self._lock:
            seen = self.keys.setdefault(key, {"partitions": [], "orders": 0})
            seen["orders"] += 1
            if took.partition not in seen["partitions"]:
                seen["partitions"].append(took.partition)
            partitions_for_key = list(seen["partitions"])
            self.version += 1
        number, partition, offset = took.order.order, took.partition, took.offset
        self.notice(f"order {number} with key {key!r} landed in partition {partition} at offset {offset}")
        self._pressed("take_order")
        return {"key": key, "order": number, "partition": partition, "offset": offset, "partitions_for_key": partitions_for_key}

    # rewinding a group -------------------------------------------------------------------------------
    def rewind(self, group: str, to: datetime | None) -> dict[str, object]:
        """Move a group's committed offsets back to the beginning (to=None) or to a time, and restart its members.

        Kafka only lets a group's offsets be changed while it has no members, so its members stop
        first, the offsets move, and as many members start again and read on from there.
        """
        with self._controls:
            floor = self._open_floor_or_refuse()
            group_id = self.topics.group(REWINDABLE[group])
            topic = self.topics.orders if group == "preparers" else self.topics.served
            self._set_status(f"rewinding {group}: stopping its members…")
            members = floor.stop_all(RoleKind.PREPARER if group == "preparers" else RoleKind.ACCOUNTANT)
            try:
                offsets = self._reset_offsets(group_id, topic, to)
            finally:
                for _ in range(members):
                    floor.add_preparer() if group == "preparers" else floor.add_accountant(self.books)
                self._set_status("open")
        where = "the beginning" if to is None else to.isoformat(timespec="seconds")
        said = f"{group} rewound to {where}: " + ", ".join(f"p{p}@{o}" for p, o in sorted(offsets.items()))
        if group == "accountant":
            said += "; the accountant reads on from where its books say, so nothing is booked twice"
        else:
            self._pressed("rewind")
        self.notice(said)
        return {"group": group, "to": where, "offsets": {str(p): o for p, o in offsets.items()}, "restarted": members}

    def _reset_offsets(self, group_id: str, topic: str, to: datetime | None) -> dict[int, int]:
        admin = clients.admin(self.session.settings)
        deadline = time.monotonic() + 3 * TIMEOUT
        while admin.describe_consumer_groups([group_id], request_timeout=TIMEOUT)[group_id].result().members:
            if time.monotonic() > deadline:
                raise ControlError(f"{short(group_id)} still has members after {3 * TIMEOUT:.0f} s: Kafka resets only an empty group")
            time.sleep(0.1)  # a member that stopped leaves the group as it closes: this is only the wait for that
        partitions = admin.list_topics(topic, timeout=TIMEOUT).topics[topic].partitions
        # confluent_kafka leaves OffsetSpec.earliest() and .latest() unannotated: untyped calls, though they return an OffsetSpec
        spec = OffsetSpec.earliest() if to is None else OffsetSpec.for_timestamp(int(to.timestamp() * 1000))  # type: ignore[no-untyped-call]
        found = admin.list_offsets({TopicPartition(topic, p): spec for p in partitions}, request_timeout=TIMEOUT)
        ends = admin.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in partitions}, request_timeout=TIMEOUT)  # type: ignore[no-untyped-call]
        offsets = {}
        for tp, future in found.items():
            offset = future.result().offset
            offsets[tp.partition] = offset if offset >= 0 else ends[tp].result().offset  # no event since that time: the end
        request = [ConsumerGroupTopicPartitions(group_id, [TopicPartition(topic, p, o) for p, o in offsets.items()])]
        try:
            admin.alter_consumer_group_offsets(request, request_timeout=TIMEOUT)[group_id].result()
        except KafkaException as exc:
            raise ControlError(f"Kafka refused to move {short(group_id)}'s offsets: {exc.args[0].str()}") from None
        return offsets

    # the lesson the page follows (fishchips web --lesson) ------------------------------------------
    def _follower_or_refuse(self) -> Follower:
        if self.follower is None:
            raise ControlError("the page follows no lesson: start it with `fishchips web --lesson N`")
        return self.follower

    def lesson_step(self, number: int) -> str:
        """Every tab's lesson moves to step `number` (from 1), or plays the step it is at again."""
        return self._follower_or_refuse().go(number)

    def lesson_action(self) -> str:
        """Press the step's action: the page's own control where there is one, else the lesson's own (learn/actions.py)."""
        follower = self._follower_or_refuse()
        step = follower.step
        if step.action is None:
            raise ControlError("this step has nothing to press: watch what it says")
        if step.action in PAGE_CONTROLS:
            return "; ".join(self.control(step.action) for _ in range(step.times))
        with self._controls:
            self._open_floor_or_refuse()
            said = follower.act()
        self.notice(said)
        return said
