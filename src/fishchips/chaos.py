"""Chaos: run the shop as separate processes while killing them (-9) and restarting brokers,
then prove with the independent ledger that nothing was lost and nothing served twice.

Every role runs as its own `fishchips` process with transactions on, exactly as a user
would start them in terminals; the harness only kills, restarts and finally checks.
"""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.ledger import Ledger, check
from fishchips.stores.books import open_books

Say = Callable[[str], None]


@dataclass
class RoleProcess:
    """One role as its own process, restartable under the same name."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM: the role finishes its batch, commits and leaves its group."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


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

    @property
    def books_ok(self) -> bool:
        """The accountant's books hold exactly the served orders, at exactly their price."""
        return self.ledger is not None and (self.books_orders, self.books_takings_pence) == (self.ledger.served, self.ledger.takings_pence)

    @property
    def ok(self) -> bool:
        return self.ledger is not None and self.ledger.ok and self.ledger.taken == self.orders and self.books_ok


def fishchips(*args: str) -> list[str]:
    return [sys.executable, "-m", "fishchips", *args]


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
    ) -> None:
        self.nodes = nodes
        self.settings = settings
        self.workdir = workdir
        self.orders = orders
        self.rate = rate
        self.random = random.Random(seed)
        self.topics = Topics(prefix)
        self.say = say
        self.report = ChaosReport(len(nodes), orders)
        self.books = workdir / "books.sqlite"
        self.till = self._role("till", "till", "--orders", str(orders), "--rate", str(rate), "--plaice-share", "0.4", "--keying", "none")
        self.victims = [
            self._role("preparer-1", "preparer", "--name", "preparer-1", "--speed", "50"),
            self._role("preparer-2", "preparer", "--name", "preparer-2", "--speed", "50"),
            self._role("cook", "cook", "--name", "cook", "--speed", "50"),
            self._role("accountant", "accounts", "--db", str(self.books)),
        ]

    def _role(self, name: str, *args: str) -> RoleProcess:
        connection = ["-b", str(self.settings.bootstrap_servers), "--prefix", self.topics.prefix, "--partitions", "3"]
        return RoleProcess(name, fishchips(*args, *connection), self.workdir / f"{name}.log")

    def run(self, max_seconds: float = 600.0, min_strikes: int = 4, broker_every: int = 4) -> ChaosReport:
        """Strike every few seconds while the till works (and at least `min_strikes` times);
        every `broker_every`-th strike is a broker (0: never)."""
        started = time.monotonic()
        ensure_shop_topics(clients.admin(self.settings), self.topics, 3)
        for process in [*self.victims, self.till]:
            process.start()
        try:
            strikes = 0
            while (self.till.alive or strikes < min_strikes) and time.monotonic() - started < max_seconds:
                self._wait(self.random.uniform(1.5, 4.0))
                strikes += 1
                self._strike(broker=broker_every > 0 and strikes % broker_every == 0)
            self._restart_the_dead()
            self.say("the tills are done: no more chaos, waiting for the shop to catch up")
            self.report.ledger = self._await_ledger(deadline=started + max_seconds)
            self._await_books(self.report.ledger, deadline=started + max_seconds)
        finally:
            for process in [self.till, *self.victims]:
                process.stop()
        self.report.seconds = round(time.monotonic() - started, 1)
        return self.report

    def _wait(self, seconds: float) -> None:
        """Let the shop work, restarting any role that died of an outage meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._restart_the_dead()
            time.sleep(0.2)

    def _restart_the_dead(self) -> None:
        for process in self.victims:
            if not process.alive:
                process.start()
                self.report.restarts += 1

    def _strike(self, broker: bool) -> None:
        if broker:
            self._kill_a_broker()
            return
        victim = self.random.choice(self.victims)
        victim.kill()
        self.report.kills[victim.name] += 1
        self.say(f"kill -9 {victim.name}")
        self._wait(self.random.uniform(0.2, 1.5))  # dead a moment, then the operator restarts it

    def _kill_a_broker(self) -> None:
        node = self.random.choice(self.nodes)
        status = node.status()
        if not status.running or status.state is None:
            return
        os.kill(status.state.pid, signal.SIGKILL)
        self.report.broker_kills += 1
        self.say(f"kill -9 broker {node.data.name} (pid {status.state.pid})")
        self._wait(self.random.uniform(1.0, 3.0))
        node.start(port=status.state.port, timeout=120)
        self.say(f"broker {node.data.name} is back")

    def _await_books(self, ledger: Ledger, deadline: float) -> None:
        """Until the accountant has booked every served order (or time is up): then the books are compared."""
        while True:
            with open_books(str(self.books)) as books:
                summary = books.summary()
            self.report.books_orders, self.report.books_takings_pence = summary.orders, summary.takings_pence
            if summary.orders >= ledger.served or time.monotonic() > deadline:
                return
            self._wait(1)

    def _await_ledger(self, deadline: float) -> Ledger:
        ledger = check(self.settings, self.topics)
        while (ledger.lost or ledger.cooked < ledger.plaice) and time.monotonic() < deadline:
            self._wait(3)
            ledger = check(self.settings, self.topics)
        if ledger.lost or ledger.cooked < ledger.plaice:
            for process in self.victims:  # the roles' thread stacks go to their logs, to show where they are stuck
                if process.alive and process.process is not None:
                    process.process.send_signal(signal.SIGUSR1)
        return ledger
