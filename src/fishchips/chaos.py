"""Chaos: run the shop as separate processes while killing them (-9) and restarting brokers,
then prove with the independent ledger that nothing was lost and nothing served twice.

The shop is a ShopFloor whose every role runs in a process of its own with transactions on
(the same mechanism as `fishchips run --processes`); the harness only kills, restarts and
finally checks.
"""

import logging
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import KafkaException

from fishchips.broker.embedded import SERVER_SETTINGS, EmbeddedBroker, Quorum
from fishchips.errors import FishchipsError
from fishchips.events import TALLY_KINDS, RoleKind
from fishchips.floor import RoleView, ShopFloor
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.ledger import CabinetFigures, Ledger, check
from fishchips.recovery import BrokerKill, Recovery
from fishchips.scenarios import Scenario
from fishchips.shop.keying import Keying
from fishchips.spawning import spawn
from fishchips.stores.books import open_books
from fishchips.waiting import until

log = logging.getLogger(__name__)
Say = Callable[[str], None]
PACE = 50  # times the demo's pace for the preparers and the cook: chaos wants many orders in flight at each strike
STRIKE_EVERY = (1.5, 4.0)  # seconds between strikes, at random
VICTIMS = (RoleKind.PREPARER, RoleKind.SHARE_PREPARER, RoleKind.COOK, RoleKind.ACCOUNTANT)


@dataclass
class ChaosReport:
    nodes: int
    orders: int
    seconds: float = 0.0
    kills: Counter[str] = field(default_factory=Counter)
    restarts: int = 0  # role processes started again (after a kill, or after dying of a broker outage)
    broker_kills: int = 0
    ledger: Ledger | None = None
    books_orders: int = 0
    books_takings_pence: int = 0
    cabinet: CabinetFigures | None = None  # --cabinet: the hot cabinet against the ledger, to the portion
    broker_kill_log: list[BrokerKill] = field(default_factory=list)  # each broker kill and how soon the shop served again
    longest_wait: float = 0.0  # seconds, the longest any order waited from taken to served
    acknowledged: int = 0  # orders the till heard Kafka acknowledge
    rss_kib: dict[str, dict[str, int]] = field(default_factory=dict)  # role -> {"start", "end"}: its process's resident memory
    share: bool = False  # --share: the preparers are a share group, at-least-once: an order may be served twice, never booked twice

    @property
    def lost(self) -> int:
        """Orders Kafka acknowledged to the till that are not in the log."""
        return max(0, self.acknowledged - self.ledger.taken) if self.ledger is not None else self.acknowledged

    @property
    def stuck(self) -> int:
        """Orders in the log still waiting to be served when the run ended."""
        return self.ledger.lost if self.ledger is not None else 0

    @property
    def books_ok(self) -> bool:
        """The accountant's books hold exactly the served orders, at exactly their price."""
        return self.ledger is not None and (self.books_orders, self.books_takings_pence) == (self.ledger.served, self.ledger.takings_pence)

    @property
    def ok(self) -> bool:
        cabinet_ok = self.cabinet is None or self.cabinet.ok
        return (
            self.ledger is not None
            and (self.ledger.nothing_lost if self.share else self.ledger.ok)
            and self.ledger.taken == self.orders
            and self.lost == 0
            and self.books_ok
            and cabinet_ok
        )


class Chaos:
    def __init__(
        self,
        nodes: list[EmbeddedBroker],
        settings: ConnectionSettings,
        workdir: Path,
        orders: int = 600,
        rate: float = 20.0,
        seed: int = 1,
        prefix: str = "chaos",
        say: Say = print,
        group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
        cabinet: bool = False,  # the shop serves from the hot cabinet (demo5's): checked against the ledger at the end
        redis: str | None = None,  # the cabinet's Redis (None: REDIS_URL, else the local redis-server)
        pace: float = PACE,
        share: bool = False,  # the preparers are a share group (KIP-932): killed ones' orders come back after the lock
    ) -> None:
        self.nodes = nodes
        self.settings = settings
        self.workdir = workdir
        self.orders = orders
        self.random = random.Random(seed)
        self.topics = Topics(prefix)
        self._say = say
        self.report = ChaosReport(len(nodes), orders, share=share)
        self.recovery = Recovery(int(SERVER_SETTINGS["group.consumer.session.timeout.ms"]) / 1000)
        self.books = workdir / "books.sqlite"
        scenario = Scenario(
            "chaos",
            "Chaos",
            "Roles and brokers killed while the shop works: nothing lost, nothing twice.",
            tills=1,
            preparers=0 if share else 2,
            share_preparers=3 if share else 0,
            cooks=0 if share else 1,  # a share preparer cannot send plaice to a cook: it would reject it
            partitions=2 if share else 3,
            keying=Keying.NONE,
            orders_per_second=rate,
            prepare_seconds=0.4 / pace,
            cook_seconds=1.0 / pace,
            plaice_share=0.0 if share else 0.4,
            cabinet=cabinet,
        )
        self.cabinet = cabinet
        self.floor = ShopFloor(
            scenario,
            settings,
            self.topics,
            orders=orders,
            seed=seed,
            processes=True,
            redis=redis,
            group_protocol=group_protocol,
            listener=self.recovery.hear,
            wanted=TALLY_KINDS,
        )

    def run(
        self, max_seconds: float = 600.0, min_strikes: int = 4, broker_every: int = 4, strike_every: tuple[float, float] = STRIKE_EVERY
    ) -> ChaosReport:
        """Strike every `strike_every` seconds while the till works (and at least `min_strikes` times);
        every `broker_every`-th strike is a broker (0: never)."""
        started = time.monotonic()
        self.floor.start()
        self.floor.release_admin()  # the harness holds no Kafka client while it strikes: see ShopFloor.release_admin
        self.floor.add_accountant(str(self.books))
        try:
            strikes = 0
            while (not self.floor.tills_done() or strikes < min_strikes) and time.monotonic() - started < max_seconds:
                self._wait(self.random.uniform(*strike_every))
                if not strikes:  # every role at work by now, none struck yet
                    self._rss("start")
                strikes += 1
                self._strike(broker=broker_every > 0 and strikes % broker_every == 0)
            self._restart_the_dead()
            self.say("the tills are done: no more chaos, waiting for the shop to catch up")
            self.report.ledger = self._await_ledger(deadline=started + max_seconds)
            if self.report.ledger is not None:
                self._await_books(self.report.ledger, deadline=started + max_seconds)
            self._rss("end")
        finally:
            self.floor.close()
        self.report.cabinet = self.floor.cabinet_figures()
        self.report.seconds = round(time.monotonic() - started, 1)
        self.report.broker_kill_log = self.recovery.kills
        summary = self.floor.summary()
        self.report.longest_wait = summary.longest_wait
        self.report.acknowledged = summary.taken
        return self.report

    def say(self, message: str) -> None:
        """Tell the user, and the log file, where the roles' own lines show what each strike did to them."""
        log.info("chaos: %s", message)
        self._say(message)

    def _rss(self, moment: str) -> None:
        """Each role process's resident memory now: a long run must not grow."""
        for role in self.floor.roles():
            if (kib := resident_kib(role)) is not None:
                self.report.rss_kib.setdefault(role.name, {})[moment] = kib

    def _victims(self) -> list[str]:
        return [role.name for role in self.floor.roles() if role.kind in VICTIMS]

    def _wait(self, seconds: float) -> None:
        """Let the shop work, restarting any role that died of an outage meanwhile."""
        until(lambda: self._restart_the_dead() and False, timeout=seconds, every=0.2)

    def _restart_the_dead(self) -> bool:
        for role in self.floor.roles():
            if role.kind in VICTIMS and not role.running:
                self.floor.restart(role.name)
                self.report.restarts += 1
        return True

    def _strike(self, broker: bool) -> None:
        if broker:
            self._kill_a_broker()
            return
        victim = self.random.choice(self._victims())
        self.floor.kill(victim)
        self.recovery.role_killed()
        self.report.kills[victim] += 1
        self.say(f"kill -9 {victim}")
        self._wait(self.random.uniform(0.2, 1.5))  # dead a moment, then the operator restarts it

    def _kill_a_broker(self) -> None:
        node = self.random.choice(self.nodes)
        status = node.status()
        if not status.running or status.state is None:
            return
        os.kill(status.state.pid, signal.SIGKILL)
        kill = self.recovery.killed(node.data.name)
        if len(self.nodes) > 1:  # the other nodes should carry on: the clock starts at the kill
            self.recovery.measure_from_now(kill, self.floor.waiting_ids())
        self.report.broker_kills += 1
        self.say(f"kill -9 broker {node.data.name} (pid {status.state.pid})")
        self._wait(self.random.uniform(1.0, 3.0))
        _start_apart(node, status.state.port)
        self.recovery.back(kill)
        if len(self.nodes) == 1:  # nothing can be served while the only broker is down: the clock starts when it is back
            self.recovery.measure_from_now(kill, self.floor.waiting_ids())
        self.say(f"broker {node.data.name} is back")

    def _await_books(self, ledger: Ledger, deadline: float) -> None:
        """Until the accountant has booked every served order (or time is up): then the books are compared."""

        def booked() -> bool:
            self._restart_the_dead()
            with open_books(str(self.books)) as books:
                summary = books.summary()
            self.report.books_orders, self.report.books_takings_pence = summary.orders, summary.takings_pence
            return summary.orders >= ledger.served

        until(booked, timeout=max(0.0, deadline - time.monotonic()), every=1.0)

    def _await_ledger(self, deadline: float) -> Ledger | None:
        """Read the ledger again every few seconds until nothing is missing (or time is up).

        Each read runs in a process of its own: librdkafka (2.16) has been seen to abort (SIGABRT)
        a process whose consumer met a restarted broker, and the harness must live to report.
        """
        ledgers: list[Ledger] = []
        pool = ProcessPoolExecutor(1, mp_context=spawn())

        def complete() -> bool:
            nonlocal pool
            self._restart_the_dead()
            try:
                ledgers.append(pool.submit(check, self.settings, self.topics, None, self.cabinet).result())
            except BrokenProcessPool:
                log.warning("the ledger's reader process died; reading again in a new one")
                pool = ProcessPoolExecutor(1, mp_context=spawn())
                return False
            except (FishchipsError, KafkaException) as exc:  # a broker still settling: read again in a moment
                log.warning("the ledger could not be read yet: %s", exc)
                return False
            return not ledgers[-1].lost and ledgers[-1].cooked >= ledgers[-1].plaice

        try:
            until(complete, timeout=max(0.0, deadline - time.monotonic()), every=3.0)
        finally:
            pool.shutdown()
        return ledgers[-1] if ledgers else None


def _start_apart(node: EmbeddedBroker, port: int) -> None:
    """Start a node again from a process of its own: waiting for it, the readiness probe's short-lived
    clients meet a broker coming up, and librdkafka (2.16) has been seen to abort the process that
    holds them (an assertion in rd_kafka_enq_once_del_source_return). The harness must live to report."""
    for _ in range(3):
        with ProcessPoolExecutor(1, mp_context=spawn()) as pool:
            try:
                pool.submit(_start_node, node.data, node.cache, node.quorum, port).result()  # the node itself holds its Popen
                return
            except BrokenProcessPool:
                log.warning("the process starting %s died; waiting for it from a new one", node.data.name)
    raise FishchipsError(f"could not start {node.data.name} again")


def _start_node(data: Path, cache: Path, quorum: Quorum | None, port: int) -> None:
    node = EmbeddedBroker(data, cache, quorum)
    status = node.status()
    if status.running and status.state is not None:  # launched by a process that died before the broker was ready
        node.await_ready(status.state, time.monotonic() + 120)
    else:
        node.start(port=port, timeout=120)


def resident_kib(role: RoleView) -> int | None:
    """VmRSS of a role's process (Linux /proc), in KiB; None for a thread or a process that is gone."""
    kind, _, pid = role.where.partition(" ")
    if kind != "process" or not pid.isdigit() or not role.running:
        return None
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), None)
