"""The shop floor: the one owner of a running shop.

It starts a scenario's roles (each in a thread, or in a process of its own), adds, stops,
pauses and paces them, hears every event they send, keeps the tally, and closes them all.
Every change goes through one lock, so two quick presses of a key can never make two roles
of one name, and a closed floor starts nothing. The lock is held only for a moment: a role
is reserved under it, started outside it (a process takes a while to start, and the views wait
on the floor from their event loops), and registered under it again. The headless `fishchips run`,
the Textual app and the browser page are views of a floor: they call its methods and read its
events and summaries, never its records or its tally.
"""

import functools
import gc
import itertools
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.admin import AdminClient

from fishchips.errors import FishchipsError
from fishchips.events import ALL_KINDS, MEMBERSHIP, PAUSES, TALLY_KINDS, Kind, Listener, RoleKind, ShopEvent, ignore
from fishchips.kafka import clients
from fishchips.kafka.inspect import TIMEOUT, move_group_to_end, snapshot
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics, ensure_topics
from fishchips.ledger import CabinetFigures, cabinet_check
from fishchips.lending import Lending, Loan, Relent
from fishchips.roles.context import ShopContext
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.records import place
from fishchips.roles.share_group import GROUP_ROLE, set_up_share_group
from fishchips.roles.till import Tickets
from fishchips.runtime import ProcessHandle, RoleHandle, RoleSpec, ThreadHandle
from fishchips.scenarios import Scenario
from fishchips.services.redis_server import redis_url
from fishchips.shop import Menu, Order, OrderGenerator, new_order_id, new_run_id
from fishchips.spawning import apart
from fishchips.stores.cabinet import Cabinet, CabinetError, CabinetState
from fishchips.tally import Tally
from fishchips.waiting import until

log = logging.getLogger(__name__)
COUNTER = "counter"  # who takes an order by hand (the page's form): the floor's own till, with a producer of its own
HAND_TILL = 99  # the till number on orders taken at the counter
HOLD_WAIT = 5.0  # seconds "Stop share preparer" waits for a member to hold records, so there is something to release
STOP_WAIT = 30.0  # seconds it waits for that member to have stopped, to say what it released


@dataclass
class ShareSummary:
    """The share group's count of the run's orders (demo6), beside the consumer group's: every order once.

    A redelivered order (its lock ran out, or its member was killed) is counted in `redelivered`; it is a
    duplicate only if it was really served twice, written to `served.shared` by two members."""

    served: int
    duplicates: int
    missing: int
    redelivered: int
    rejected: int
    served_by_preparer: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicates == 0


@dataclass
class Summary:
    """What a run did, and the check that matters: every order taken was served exactly once."""

    scenario: str
    taken: int
    served: int
    cooked: int
    duplicates: int
    missing: int
    dead_letters: int
    seconds: float
    max_lag: int
    in_flight: int  # orders the tally still holds an entry for: taken and not called, or called more often than taken
    longest_wait: float  # seconds, the longest any order waited from its placing to its call
    ready_seconds: float | None  # from start() to the first order called: every member joined, every client connected
    taken_by_till: dict[str, int] = field(default_factory=dict)
    taken_by_partition: dict[int, int] = field(default_factory=dict)
    served_by_preparer: dict[str, int] = field(default_factory=dict)
    served_by_till: dict[int, int] = field(default_factory=dict)  # by the till number on the order: the counter's is HAND_TILL
    latency_ms: dict[str, float] = field(default_factory=dict)
    idle_preparers: list[str] = field(default_factory=list)  # preparers of either group that served nothing
    share_group: ShareSummary | None = None  # demo6: the share group's own count of the same orders

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicates == 0 and (self.share_group is None or self.share_group.ok)


    @property
    def orders_per_second(self) -> float:
        return self.served / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class RoleView:
    """A role as the views show it, read from the floor's records (never from the role itself)."""

    name: str
    kind: RoleKind
    where: str  # "thread" or "process <pid>"
    running: bool
    stopping: bool
    partitions: tuple[int, ...]
    paused: bool
    failure: str | None
    counters: Mapping[str, int]


@dataclass(frozen=True)
class PreparerGroup:
    """One way the preparers take orders, as the views show it side by side (demo6 runs both)."""

    name: str  # the group's name, under the topics' prefix
    kind: str  # "consumer group" or "share group"
    served: dict[str, int]  # each working member -> the orders it served; 0: idle


@dataclass
class _Record:
    """What the floor knows of one role: its handle, and what its events said."""

    handle: RoleHandle
    partitions: tuple[int, ...] = ()
    paused: bool = False
    stopping: bool = False
    starting: bool = True  # reserved, its handle still starting outside the lock: the controls leave it alone


def prepare_kafka(settings: ConnectionSettings, topics: Topics, scenario: Scenario, resume: bool) -> dict[str, dict[int, int]]:
    """The shop's topics made (or checked) and, unless resuming, its groups moved past earlier runs' orders;
    returns the end offsets of each topic orders are served onto, for the boards to start from.
    Module-level, so a process of its own can run it."""
    admin = clients.admin(settings)
    counts = ensure_shop_topics(admin, topics, scenario.partitions)
    if not resume:
        move_group_to_end(admin, topics.group(FoodPreparer.group_role), [topics.orders])
        if scenario.cooks:
            move_group_to_end(admin, topics.group(Cook.group_role), [topics.cook])
    served = [topics.served]
    if scenario.side_by_side:
        # split as finely as orders, which may have more partitions than the scenario's (demo3 leaves it three): each group
        # serves an order onto the partition it came from, and a partition served.shared lacks failed every share preparer
        ensure_topics(admin, {topics.served_shared: counts[topics.orders]})
        served.append(topics.served_shared)
    if scenario.share_preparers:
        set_up_share_group(admin, topics)
    ends = snapshot(admin, served, []).end_offsets
    return {topic: ends.get(topic, {}) for topic in served}


class ShopFloor:
    def __init__(
        self,
        scenario: Scenario,
        settings: ConnectionSettings,
        topics: Topics | None = None,
        menu: Menu | None = None,
        listener: Listener = ignore,
        speed: float = 1.0,
        orders: int | None = None,
        seed: int | None = None,
        exactly_once: bool = True,  # see docs/design.md: the same throughput, and nothing served twice after a crash
        resume: bool = False,
        processes: bool = False,
        group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
        redis: str | None = None,  # the hot cabinet's Redis (--redis); None: REDIS_URL, else the local redis-server
        wanted: frozenset[Kind] | None = None,  # what the listener needs, if not every kind
    ) -> None:
        self.scenario = scenario
        self.listener = listener
        if wanted is None:
            wanted = TALLY_KINDS if listener is ignore else ALL_KINDS  # nobody watches: roles build only what the tally needs
        topics, menu = topics or Topics(), menu or Menu.load()
        self.context = ShopContext(settings, topics, menu, exactly_once, group_protocol=group_protocol, listener=self._hear, wanted=wanted)
        self._redis = redis  # resolved by setup(), not here: making a floor starts no server
        self.cabinet_at_start: CabinetState | None = None
        self._served_at_start: dict[int, int] = {}
        self.speed = speed
        self.acks = "all"  # how the tills write: "all", or "1" (set_acks)
        self.seed = seed
        self.resume = resume
        self.processes = processes
        self.run_id = new_run_id()
        self.tickets = Tickets(orders)
        self._admin: AdminClient | None = None
        self.tally = Tally(self.run_id)
        self.share_tally = Tally(self.run_id)  # demo6: the share group serves every order too, onto its own topic
        self.lending = Lending()  # the share group's records in flight: who holds each, its delivery count
        self.max_lag = 0
        self._records: dict[str, _Record] = {}
        self._numbers: dict[RoleKind, Iterator[int]] = {kind: itertools.count(1) for kind in RoleKind}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # a role started, a switch of group protocol ended, a record was lent
        self._switching = False  # the preparers are leaving to rejoin speaking another protocol: nothing starts meanwhile
        self._closed = False
        self._counter: Producer | None = None  # the counter's producer, made at the first order taken by hand
        self._counter_orders = OrderGenerator(menu, None if seed is None else seed * 1000 + HAND_TILL, scenario.plaice_share)
        self._heard = 0
        self._opened = 0.0  # when start() began
        self._started = 0.0
        self._first_served = 0.0
        self._last_served = 0.0

    @property
    def admin(self) -> AdminClient:
        """The floor's admin client, made when first needed."""
        if self._admin is None:
            self._admin = clients.admin(self.settings)
        return self._admin

    def release_admin(self) -> None:
        """Let the admin client go until it is needed again: an idle client keeps meeting every broker
        restart, and librdkafka (2.16) has been seen to abort the process that holds one (chaos).
        The collector runs at once: the admin's retried calls can leave it in a reference cycle."""
        self._admin = None
        gc.collect()

    @property
    def topics(self) -> Topics:
        return self.context.topics

    @property
    def settings(self) -> ConnectionSettings:
        return self.context.settings

    @property
    def menu(self) -> Menu:
        return self.context.menu

    @property
    def cabinet(self) -> Cabinet | None:
        return self.context.cabinet

    # setting up ------------------------------------------------------------------
    def setup(self) -> dict[str, dict[int, int]]:
        """Find the hot cabinet's Redis, create the topics (or check they fit) and, unless resuming, skip earlier runs'
        leftovers; the served topics' end offsets then. A floor whose roles run in processes does this in one too (`apart`):
        its caller then holds no Kafka client, not even for a moment (chaos.md)."""
        if self.scenario.cabinet and self.context.cabinet is None:
            # the URL is resolved once (it may start the local redis-server): every role, in any process, uses this Redis
            self.context = replace(self.context, cabinet=Cabinet(redis_url(self._redis), self.topics.prefix, self.menu))
        prepare = functools.partial(prepare_kafka, self.settings, self.topics, self.scenario, self.resume)
        return apart(prepare) if self.processes else prepare()

    def start(self) -> None:
        """Open the shop: the board, then preparers and cooks; the tills once the groups have shared out their partitions."""
        self._opened = time.monotonic()
        ends = self.setup()
        served_ends = ends[self.topics.served]
        if self.cabinet is not None:  # read together: the run's cabinet figures are what changed from here
            self.cabinet_at_start, self._served_at_start = self.cabinet.state(), served_ends
        self._add(RoleKind.BOARD, {"topic": self.topics.served, "start": served_ends}, name="board")
        if self.side_by_side:
            self._add(RoleKind.BOARD, {"topic": self.topics.served_shared, "start": ends[self.topics.served_shared]}, name="share-board")
        for _ in range(self.scenario.preparers):
            self.add_preparer()
        for _ in range(self.scenario.share_preparers):
            self.add_share_preparer()
        for _ in range(self.scenario.cooks):
            self.add_cook()
        until(lambda: self._closed or self.failures() or self._groups_shared(), timeout=30, every=0.05)
        for _ in range(self.scenario.tills):
            self.add_till()

    def _groups_shared(self) -> bool:
        """Each group has shared out its partitions, so lag measures the preparers, not the join."""

        def shared(kind: RoleKind, partitions: int) -> bool:
            records = self._of(kind)
            return sum(1 for r in records if r.partitions) >= min(len(records), partitions)

        with self._lock:
            return shared(RoleKind.PREPARER, self.scenario.partitions) and shared(RoleKind.COOK, 1)

    # the live controls: each holds the floor's lock only to read or change the records --------------------
    def _add(self, kind: RoleKind, options: Mapping[str, Any], process: bool | None = None, name: str | None = None) -> str | None:
        """Start a role; its name comes from a counter per kind. None if the floor is closed."""
        with self._lock:
            reserved = self._reserve(self._spec(kind, options, name), self.processes if process is None else process)
        return self._launch(reserved)

    def _spec(self, kind: RoleKind, options: Mapping[str, Any], name: str | None = None) -> RoleSpec:
        """Under the lock: a role at the floor's speed, named by a counter per kind unless named."""
        return RoleSpec(kind, name or f"{kind}-{next(self._numbers[kind])}", {"speed": self.speed, **options})

    def _reserve(self, spec: RoleSpec, in_process: bool) -> _Record | None:
        """Under the lock: the role's record, under its name, not started yet; first, any switch of group
        protocol under way ends (see switch_group_protocol). None if the floor is closed."""
        self._changed.wait_for(lambda: not self._switching)
        if self._closed:
            return None
        handle: RoleHandle = ProcessHandle(spec, self.context, self._hear_all) if in_process else ThreadHandle(spec, self.context)
        self._records[spec.name] = record = _Record(handle)
        return record

    def _launch(self, record: _Record | None) -> str | None:
        """Start a reserved role outside the lock, then register it as started: from then on the controls and close see it."""
        if record is None:
            return None
        name = record.handle.name
        try:
            record.handle.start()
        except BaseException:
            with self._lock:  # never started: nothing to stop or wait for
                if self._records.get(name) is record:
                    del self._records[name]
                self._changed.notify_all()
            raise
        with self._lock:
            record.starting = False
            record.handle.set_speed(self.speed)  # the speed, and a till's acks, may have changed while it started
            if record.handle.spec.kind is RoleKind.TILL:
                record.handle.set_acks(self.acks)
            self._changed.notify_all()
        return name

    def add_till(self, process: bool | None = None) -> str | None:
        number = next(self._numbers[RoleKind.TILL])
        options = {
            "number": number,
            "tickets": self.tickets,
            "run_id": self.run_id,
            "keying": self.scenario.keying,
            "partitions": self.scenario.partitions,
            "orders_per_second": self.scenario.orders_per_second,
            "seed": self.seed,
            "plaice_share": self.scenario.plaice_share,
            "acks": self.acks,
        }
        return self._add(RoleKind.TILL, options, process, name=f"till-{number}")

    def add_preparer(self, process: bool | None = None) -> str | None:
        return self._add(RoleKind.PREPARER, self._preparer_options(), process)

    @property
    def side_by_side(self) -> bool:
        return self.scenario.side_by_side

    def add_share_preparer(self, process: bool | None = None) -> str | None:
        served = {"served_topic": self.topics.served_shared} if self.side_by_side else {}
        return self._add(RoleKind.SHARE_PREPARER, {**self._preparer_options(), **served}, process)

    def _preparer_options(self) -> dict[str, Any]:
        return {"work_seconds": self.scenario.prepare_seconds}

    def add_cook(self, process: bool | None = None) -> str | None:
        return self._add(RoleKind.COOK, {"work_seconds": self.scenario.cook_seconds}, process)

    def start_late_consumer(self) -> str | None:
        """A consumer that starts now and reads `orders` from the very first event ever."""
        return self._add(RoleKind.READER, {"topic": self.topics.orders}, name=f"late-{next(self._numbers[RoleKind.READER])}", process=False)

    def add_accountant(self, db: str | None = None, process: bool | None = None) -> str | None:
        """The accountant's own group books every served order, from the first one ever, into `db`."""
        return self._add(RoleKind.ACCOUNTANT, {"db": db}, process, name="accountant")

    def add_clerk(self) -> str | None:
        """The clerk's own group turns every served order, from the first one ever, into a row for Kafka Connect's sink."""
        return self._add(RoleKind.CLERK, {}, process=False, name="clerk")

    def stop_preparer(self, kind: RoleKind = RoleKind.PREPARER) -> str | None:
        """Stop the newest preparer (of a kind) still working: its partitions go back to the others (a share preparer's orders, too)."""
        with self._lock:
            working = self._working(kind)
            if not working:
                return None
            working[-1].stopping = True
            working[-1].handle.request_stop()
            return working[-1].handle.name

    def stop_share_preparer(self, wait: float = HOLD_WAIT) -> tuple[str, int] | None:
        """Stop the share group's member that holds the most records (the newest of equals): it RELEASEs what it has not
        written yet, and the others take those records at once; what it was writing as the stop came, it serves, and an
        order on its last delivery too (released, it would be archived). Between
        orders no member may hold any, so this waits up to `wait` seconds for one to be lent some. Once it has stopped:
        its name and how many it released, by its own count (the views may have shown it holding more a moment
        before); None if no member is working."""
        with self._lock:
            self._changed.wait_for(
                lambda: self._closed or any(self.lending.held_by(r.handle.name) for r in self._working(RoleKind.SHARE_PREPARER)), wait
            )
            working = self._working(RoleKind.SHARE_PREPARER)
            if not working:
                return None
            held = {record.handle.name: self.lending.held_by(record.handle.name) for record in working}
            chosen = max(reversed(working), key=lambda record: held[record.handle.name])
            chosen.stopping = True
            released = chosen.handle.counters["released"]
            chosen.handle.request_stop()
        chosen.handle.join(STOP_WAIT)
        return chosen.handle.name, chosen.handle.counters["released"] - released

    def share_loans(self) -> tuple[list[Loan], list[Relent]]:
        """The share group's records in flight (who holds each, its delivery count), and the last ones lent out again."""
        with self._lock:
            return self.lending.loans(), self.lending.relent()

    def stop_all(self, kind: RoleKind, timeout: float = 30.0) -> int:
        """Stop every working role of a kind and wait until each has left its group (Kafka moves an
        empty group's offsets only); how many there were, so as many can be started again."""
        with self._lock:
            records = self._request_stop(kind)
        for record in records:
            record.handle.join(timeout)
        return len(records)

    def _working(self, kind: RoleKind) -> list[_Record]:
        """Under the lock: the roles of a kind that run and were not asked to stop, oldest first."""
        return [r for r in self._of(kind) if r.handle.running and not r.stopping]

    def _request_stop(self, kind: RoleKind) -> list[_Record]:
        """Under the lock: ask every working role of a kind to stop; those asked."""
        records = self._working(kind)
        for record in records:
            record.stopping = True
            record.handle.request_stop()
        return records

    def switch_group_protocol(self, protocol: GroupProtocol) -> int:
        """The preparers rebalance another way from now on: every one leaves, and as many join again speaking
        `protocol` (a classic eager and a classic cooperative member cannot share a group). How many rejoined.

        One switch is one step: the protocol changes as the preparers are told to leave, no role starts
        until they have left, and their successors are reserved before any other role can be."""
        with self._lock:
            self._changed.wait_for(lambda: not self._switching)  # one switch at a time
            self._switching = True
            self.context = replace(self.context, group_protocol=protocol)
            leaving = self._request_stop(RoleKind.PREPARER)
        try:
            for record in leaving:
                record.handle.join(30)
        finally:
            with self._lock:
                self._switching = False
                self._changed.notify_all()
                reserved = [self._reserve(self._spec(RoleKind.PREPARER, self._preparer_options()), self.processes) for _ in leaving]
        return sum(self._launch(record) is not None for record in reserved)

    @property
    def group_protocol(self) -> GroupProtocol:
        return self.context.group_protocol

    def pause_cooks(self, paused: bool) -> bool:
        """Pause or resume every cook; False if there is none."""
        with self._lock:
            cooks = [record for record in self._of(RoleKind.COOK) if not record.starting]  # one starting takes the speed, not a pause
            for record in cooks:
                record.handle.set_paused(paused)
                record.paused = paused  # at once, so a second key press toggles back even before the event arrives
            return bool(cooks)

    @property
    def cooks_paused(self) -> bool:
        with self._lock:
            return any(record.paused for record in self._of(RoleKind.COOK))

    def set_speed(self, speed: float) -> None:
        with self._lock:
            self.speed = speed
            for record in self._records.values():
                if not record.starting:  # a role still starting is given the speed once started
                    record.handle.set_speed(speed)

    def set_acks(self, acks: str) -> None:
        """Every till, and every till added from now on, writes with `acks` ("all" or "1"): see roles/till.py."""
        with self._lock:
            self.acks = acks
            for record in self._of(RoleKind.TILL):
                if not record.starting:  # a till still starting is given its acks once started
                    record.handle.set_acks(acks)

    def kill(self, name: str) -> None:
        """SIGKILL a role running as a process (chaos); its group moves its partitions after the session timeout."""
        with self._lock:
            handle = self._records[name].handle
        if not isinstance(handle, ProcessHandle):
            raise FishchipsError(f"{name} runs in a thread: only a process can be killed")
        handle.kill()

    def hold_transaction_open(self, name: str) -> None:
        """Ask a role to hold its next transaction that serves open, written and not committed: a lesson's breakpoint."""
        with self._lock:
            self._records[name].handle.hold_transaction_open()

    def restart(self, name: str) -> None:
        """Start a role again under its name, as an operator would after a crash (not one starting already)."""
        with self._lock:
            old = self._records[name]
            reserved = None if old.starting else self._reserve(old.handle.spec, isinstance(old.handle, ProcessHandle))
        self._launch(reserved)

    def close(self) -> None:
        """Stop every role, tills first so nothing new arrives; each leaves its group as it closes. Nothing starts after,
        and a role still starting is waited for, then stopped with the others."""
        with self._lock:
            self._closed = True
            self._changed.wait_for(lambda: not any(record.starting for record in self._records.values()))
            handles = [record.handle for record in self._records.values()]
            counter, self._counter = self._counter, None
        handles.sort(key=lambda handle: handle.spec.kind is not RoleKind.TILL)
        for handle in handles:
            handle.request_stop()
        if counter is not None:
            counter.flush(TIMEOUT)
        for handle in handles:
            handle.join(30)
        if self.cabinet is not None:
            self.cabinet.close()

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    # an order taken by hand ----------------------------------------------------------------------------
    def take_order(self, key: str) -> ShopEvent:
        """Take one order by hand at the counter, with a key: partitioned by murmur2 as Kafka's Java clients do.

        The counter is a till of the floor's own: its orders come from the scenario's menu (no plaice
        in a shop without a cook) and its TOOK goes to the tally as a till's does, so the order is
        counted once taken and once served. The event says where it landed."""
        with self._lock:
            number = None if self._closed else self.tickets.take()
            if number is None:
                raise FishchipsError("the shop is closing" if self._closed else "the shop has taken every order it was to take")
            if self._counter is None:
                # librdkafka's default partitioner hashes with CRC32; murmur2_random is the Java clients' choice for keyed events
                self._counter = clients.producer(self.settings, partitioner="murmur2_random", **{"client.id": COUNTER})
            producer = self._counter
            order = Order(number, HAND_TILL, self._counter_orders.parts(), new_order_id(self.run_id, HAND_TILL, number), time.time())
        landed: list[Message] = []
        failed: list[KafkaError] = []
        producer.produce(
            self.topics.orders,
            order.to_json(),
            key.encode(),
            on_delivery=lambda error, message: failed.append(error) if error else landed.append(message),
        )
        producer.flush(TIMEOUT)
        if failed or not landed:
            raise FishchipsError(f"the order was not written: {failed[0].str() if failed else f'no answer within {TIMEOUT:.0f} s'}")
        took = ShopEvent(COUNTER, RoleKind.TILL, Kind.TOOK, order, *place(landed[0]))
        self._hear(took)
        return took

    # watching --------------------------------------------------------------------------
    def _hear(self, event: ShopEvent) -> None:
        self._hear_all([event])

    def _hear_all(self, events: list[ShopEvent]) -> None:
        """A batch of the roles' events: the tallies, the share group's loans, each role's partitions and pause. At rush
        hour this runs twice for every order (taken, called), so the clock is read once a batch, not once an event."""
        now = time.monotonic()
        with self._lock:
            self._heard += len(events)
            for event in events:
                kind = event.kind
                for tally in self._tallies(event):
                    tally.record(event)
                self.lending.record(event)
                if kind is Kind.CALLED:
                    self._last_served = now
                    self._first_served = self._first_served or now
                elif kind is Kind.TOOK:
                    self._started = self._started or now  # the clock runs from the first order taken, not from a till's start-up
                elif kind is Kind.LENT:
                    self._changed.notify_all()  # stop_share_preparer may wait for a member to hold some
                elif kind in MEMBERSHIP and (record := self._records.get(event.role)) is not None:
                    record.partitions = event.partitions
                elif kind in PAUSES and (record := self._records.get(event.role)) is not None:
                    record.paused = kind is Kind.PAUSED
        if self.listener is not ignore:
            for event in events:
                self.listener(event)

    def _tallies(self, event: ShopEvent) -> list[Tally]:
        """Which tallies count the event: an order taken is one each group must serve; the share group's board
        reads `served.shared`, every other event is the consumer group's shop."""
        if not self.side_by_side:
            return [self.tally]
        if event.kind is Kind.TOOK:
            return [self.tally, self.share_tally]
        if event.kind is Kind.CALLED and event.topic == self.topics.served_shared:
            return [self.share_tally]
        return [self.tally]

    def _of(self, kind: RoleKind) -> list[_Record]:
        return [record for record in self._records.values() if record.handle.spec.kind is kind]

    def roles(self) -> list[RoleView]:
        with self._lock:
            records = list(self._records.items())
        return [
            RoleView(
                name,
                r.handle.spec.kind,
                r.handle.where,
                r.handle.running,
                r.stopping,
                r.partitions,
                r.paused,
                r.handle.failure,
                dict(r.handle.counters),
            )
            for name, r in records
        ]

    def preparer_groups(self) -> list[PreparerGroup]:
        """The consumer group of preparers and, in a shop with one, the share group: who serves and who stands idle."""
        groups = [(FoodPreparer.group_role, "consumer group", RoleKind.PREPARER)]
        if self.scenario.share_preparers:
            groups.append((GROUP_ROLE, "share group", RoleKind.SHARE_PREPARER))
        with self._lock:
            return [
                PreparerGroup(
                    self.topics.group(role),
                    kind,
                    {r.handle.name: r.handle.counters[Kind.SERVED] for r in self._of(role_kind) if r.handle.running and not r.stopping},
                )
                for role, kind, role_kind in groups
            ]

    def count(self, counter: str, kind: RoleKind | None = None) -> int:
        """A counter summed over the roles (of one kind): e.g. count("served", RoleKind.PREPARER)."""
        with self._lock:
            handles = [r.handle for r in self._records.values() if kind is None or r.handle.spec.kind is kind]
        return sum(handle.counters[counter] for handle in handles)

    def sample_lag(self) -> int:
        """The preparers' lag as Kafka reports it now; the greatest seen goes in the summary."""
        group = self.topics.group(FoodPreparer.group_role)
        lag = snapshot(self.admin, [self.topics.orders], [group]).groups[group].total_lag
        self.max_lag = max(self.max_lag, lag)
        return lag

    def tills_done(self) -> bool:
        with self._lock:
            return all(not record.handle.running and not record.starting for record in self._of(RoleKind.TILL))

    def waiting_ids(self) -> set[str]:
        """This run's orders taken and not yet called."""
        with self._lock:
            return self.tally.waiting_ids()

    def all_served(self) -> bool:
        with self._lock:
            return self.tills_done() and self.tally.outstanding == 0 and self.share_tally.outstanding == 0

    def failures(self) -> list[str]:
        with self._lock:
            records = list(self._records.items())
        return [f"{name}: {record.handle.failure}" for name, record in records if record.handle.failure is not None]

    def wait(self, idle_timeout: float = 30.0, sample_every: float = 0.5) -> bool:
        """Until every taken order is served; False if nothing moved for idle_timeout s or a role failed."""
        progress = {"heard": -1, "at": time.monotonic()}

        def settled() -> bool:
            if self.all_served() or self.failures():
                return True
            if self._heard != progress["heard"]:
                progress.update(heard=self._heard, at=time.monotonic())
            elif time.monotonic() - progress["at"] > idle_timeout:
                return True
            try:
                self.sample_lag()
            except FishchipsError as exc:  # the lag is only watched: a broker down a moment must not end the wait
                log.warning("no lag sample: %s", exc)
            return False

        until(settled, timeout=float("inf"), every=sample_every)
        return self.all_served() and not self.failures()

    def restock(self) -> dict[str, int]:
        """Top the hot cabinet up to par by hand; what was cooked. CabinetError if this shop has none or Redis is away."""
        if self.cabinet is None:
            raise CabinetError(f"{self.scenario.name} has no hot cabinet: demo5 has one")
        return self.cabinet.top_up(only_when_low=False)

    def cabinet_figures(self) -> CabinetFigures | None:
        """The run's cabinet, checked against what Kafka served since the start (after close); None without a cabinet."""
        if self.cabinet is None or self.cabinet_at_start is None:
            return None
        return cabinet_check(self.settings, self.topics, self.cabinet, self.cabinet_at_start, self._served_at_start, self.menu)

    def summary(self) -> Summary:
        with self._lock:
            tally = self.tally
            return Summary(
                scenario=self.scenario.name,
                taken=tally.taken,
                served=tally.served,
                cooked=tally.cooked,
                duplicates=tally.twice,
                missing=tally.outstanding,
                dead_letters=tally.dead_letters,
                seconds=round((self._last_served or time.monotonic()) - self._started, 2),
                max_lag=self.max_lag,
                in_flight=tally.in_flight,
                longest_wait=round(tally.longest_wait, 1),
                ready_seconds=round(self._first_served - self._opened, 2) if self._first_served and self._opened else None,
                taken_by_till=dict(tally.taken_by_till),
                taken_by_partition=dict(sorted(tally.taken_by_partition.items())),
                served_by_preparer=dict(tally.served_by_preparer),
                served_by_till=dict(sorted(tally.served_by_till.items())),
                latency_ms=tally.latency_percentiles(),
                idle_preparers=[
                    name
                    for name, r in self._records.items()
                    if r.handle.spec.kind in (RoleKind.PREPARER, RoleKind.SHARE_PREPARER) and not r.handle.counters[Kind.SERVED]
                ],
                share_group=self._share_summary() if self.scenario.share_preparers else None,
            )

    def _share_summary(self) -> ShareSummary:
        """Under the lock: the share group's count, from its board's calls and its members' counters."""
        tally = self.share_tally if self.side_by_side else self.tally
        return ShareSummary(
            served=tally.served,
            duplicates=tally.twice,
            missing=tally.outstanding,
            redelivered=self.count("redelivered", RoleKind.SHARE_PREPARER),
            rejected=self.count("rejected", RoleKind.SHARE_PREPARER),
            served_by_preparer=dict(tally.served_by_preparer),
        )
