"""The shop floor: a scenario's roles started, watched and stopped together.

The headless `fishchips run` and the Textual app both drive a ShopFloor, so the demos
behave the same on screen and in tests. Roles can be added and stopped while it runs.
"""

import logging
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.inspect import move_group_to_end, snapshot
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.roles.accountant import Accountant
from fishchips.roles.base import ConsumingRole, Listener, Role, ShopEvent, ignore
from fishchips.roles.board import Board, Reader
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.till import Tickets, Till
from fishchips.scenarios import Scenario
from fishchips.shop import Menu, new_run_id

log = logging.getLogger(__name__)


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
    taken_by_till: dict[str, int] = field(default_factory=dict)
    taken_by_partition: dict[int, int] = field(default_factory=dict)
    served_by_preparer: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.duplicates == 0

    @property
    def orders_per_second(self) -> float:
        return self.served / self.seconds if self.seconds else 0.0


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"p50": values[0], "p95": values[0], "p99": values[0]} if values else {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1)}


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
    ) -> None:
        self.scenario = scenario
        self.settings = settings
        self.topics = topics or Topics()
        self.menu = menu or Menu.load()
        self.listener = listener
        self.speed = speed
        self.seed = seed
        self.exactly_once = exactly_once
        self.resume = resume
        self.run_id = new_run_id()
        self.tickets = Tickets(orders)
        self.admin = clients.admin(settings)
        self.tills: list[Till] = []
        self.preparers: list[FoodPreparer] = []
        self.cooks: list[Cook] = []
        self.readers: list[Reader] = []
        self.accountant: Accountant | None = None
        self.board: Board | None = None
        self.taken: dict[str, ShopEvent] = {}
        self.events: Counter[str] = Counter()
        self.max_lag = 0
        self._lock = threading.Lock()
        self._started = 0.0
        self._last_served = 0.0

    # setting up ------------------------------------------------------------------
    def setup(self) -> None:
        """Create the topics (or check they fit) and, unless resuming, skip earlier runs' leftovers."""
        ensure_shop_topics(self.admin, self.topics, self.scenario.partitions)
        if not self.resume:
            move_group_to_end(self.admin, self.topics.group(FoodPreparer.group_role), [self.topics.orders])
            if self.scenario.cooks:
                move_group_to_end(self.admin, self.topics.group(Cook.group_role), [self.topics.cook])

    def start(self) -> None:
        self.setup()
        served_ends = snapshot(self.admin, [self.topics.served], []).end_offsets.get(self.topics.served, {})
        self.board = Board(self.settings, self.topics, self.menu, self._hear, topic=self.topics.served, start=served_ends)
        self.board.start()
        for _ in range(self.scenario.preparers):
            self.add_preparer()
        for _ in range(self.scenario.cooks):
            self.add_cook()
        self._await_assignments()
        self._started = time.monotonic()
        for _ in range(self.scenario.tills):
            self.add_till()

    def _await_assignments(self, timeout: float = 30.0) -> None:
        """Tills open only once each group has shared out its partitions, so lag measures the preparers, not the join."""

        def shared(roles: list[FoodPreparer] | list[Cook], partitions: int) -> bool:
            return sum(1 for role in roles if role.assignment) >= min(len(roles), partitions)

        deadline = time.monotonic() + timeout
        while not (shared(self.preparers, self.scenario.partitions) and shared(self.cooks, 1)):
            if self.failures() or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    # the live controls -------------------------------------------------------------
    def add_till(self) -> Till:
        till = Till(
            len(self.tills) + 1,
            self.settings,
            self.topics,
            self.menu,
            self._hear,
            tickets=self.tickets,
            run_id=self.run_id,
            keying=self.scenario.keying,
            partitions=self.scenario.partitions,
            orders_per_second=self.scenario.orders_per_second * self.speed,
            seed=self.seed,
            plaice_share=self.scenario.plaice_share,
        )
        self.tills.append(till)
        return till.start()

    def add_preparer(self) -> FoodPreparer:
        preparer = FoodPreparer(
            f"preparer-{len(self.preparers) + 1}",
            self.settings,
            self.topics,
            self.menu,
            self._hear,
            prepare_seconds=self.scenario.prepare_seconds / self.speed,
            exactly_once=self.exactly_once,
        )
        self.preparers.append(preparer)
        return preparer.start()

    def add_cook(self) -> Cook:
        cook = Cook(
            f"cook-{len(self.cooks) + 1}",
            self.settings,
            self.topics,
            self.menu,
            self._hear,
            cook_seconds=self.scenario.cook_seconds / self.speed,
            exactly_once=self.exactly_once,
        )
        self.cooks.append(cook)
        return cook.start()

    def stop_preparer(self) -> FoodPreparer | None:
        """Stop the newest running preparer: its partitions go back to the others."""
        running = [p for p in self.preparers if p.running and not p.stopping]
        if len(running) < 1:
            return None
        running[-1].stop()
        return running[-1]

    def start_late_consumer(self) -> Reader:
        """A consumer that starts now and reads `orders` from the very first event ever."""
        reader = Reader(f"late-{len(self.readers) + 1}", self.settings, self.topics, self.menu, self._hear, topic=self.topics.orders)
        self.readers.append(reader)
        return reader.start()

    def add_accountant(self, db: str | None = None) -> Accountant:
        """The accountant's own group books every served order, from the first one ever, into `db`."""
        self.accountant = Accountant(self.settings, self.topics, self.menu, self._hear, db=db)
        return self.accountant.start()

    def set_speed(self, speed: float) -> None:
        self.speed = speed
        for till in self.tills:
            till.orders_per_second = self.scenario.orders_per_second * speed
        for role in self.consuming_roles():
            base = self.scenario.cook_seconds if isinstance(role, Cook) else self.scenario.prepare_seconds
            role.work_seconds = base / speed

    def consuming_roles(self) -> list[ConsumingRole]:
        return [*self.preparers, *self.cooks]

    def roles(self) -> list[Role]:
        others = [role for role in (self.accountant, self.board) if role is not None]
        return [*self.tills, *self.preparers, *self.cooks, *self.readers, *others]

    # watching --------------------------------------------------------------------------
    def _hear(self, event: ShopEvent) -> None:
        with self._lock:
            self.events[event.kind] += 1
            if event.kind == "took" and event.order is not None:
                self.taken[event.order.id] = event
            elif event.kind == "called":
                self._last_served = time.monotonic()
        self.listener(event)

    def sample_lag(self) -> int:
        """The preparers' lag as Kafka reports it now; the greatest seen goes in the summary."""
        view = snapshot(self.admin, [self.topics.orders], [self.topics.group(FoodPreparer.group_role)])
        lag = view.groups[self.topics.group(FoodPreparer.group_role)].total_lag
        self.max_lag = max(self.max_lag, lag)
        return lag

    def tills_done(self) -> bool:
        return all(not till.running for till in self.tills)

    def all_served(self) -> bool:
        assert self.board is not None
        with self._lock:
            return self.tills_done() and all(self.board.ids[order_id] for order_id in self.taken)

    def failures(self) -> list[str]:
        return [f"{role.name}: {role.failure}" for role in self.roles() if role.failure is not None]

    def wait(self, idle_timeout: float = 30.0, sample_every: float = 0.5) -> bool:
        """Until every taken order is served; False if nothing moved for idle_timeout s or a role failed."""
        last_progress, last_count = time.monotonic(), -1
        while not self.all_served():
            if self.failures():
                return False
            count = sum(self.events.values())
            if count != last_count:
                last_progress, last_count = time.monotonic(), count
            elif time.monotonic() - last_progress > idle_timeout:
                return False
            try:
                self.sample_lag()
            except FishchipsError as exc:  # the lag is only watched: a broker down a moment must not end the wait
                log.warning("no lag sample: %s", exc)
            time.sleep(sample_every)  # the lag sampling interval; the condition above is what we wait for
        return True

    def stop(self) -> None:
        """Stop every role, tills first so nothing new arrives; each leaves its group as it closes."""
        for role in self.roles():
            role.stop()

    def summary(self) -> Summary:
        assert self.board is not None
        with self._lock:
            taken = dict(self.taken)
        served_ids = self.board.ids
        duplicates = sum(count - 1 for order_id, count in served_ids.items() if order_id in taken and count > 1)
        missing = sum(1 for order_id in taken if not served_ids[order_id])
        return Summary(
            scenario=self.scenario.name,
            taken=len(taken),
            served=sum(count for order_id, count in served_ids.items() if order_id in taken),
            cooked=sum(cook.counters["cooked"] for cook in self.cooks),
            duplicates=duplicates,
            missing=missing,
            dead_letters=sum(role.counters["dead-letter"] for role in self.consuming_roles()),
            seconds=round((self._last_served or time.monotonic()) - self._started, 2),
            max_lag=self.max_lag,
            taken_by_till=dict(Counter(event.role for event in taken.values())),
            taken_by_partition=dict(sorted(Counter(event.partition for event in taken.values() if event.partition is not None).items())),
            served_by_preparer=dict(self.board.by_preparer),
            latency_ms=percentiles(self.board.latencies_ms),
        )
