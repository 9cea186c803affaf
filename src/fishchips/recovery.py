"""How soon the shop serves again after a broker kill, read from the floor's own event stream.

A chaos run says "nothing lost, nothing twice"; Kafka promises more: a broker fault should cost
seconds. This listener hears every order called, and for each broker kill measures
from a reference moment (the broker back, on one node; the kill itself, on three, where the
others should carry on) how long until an order is served again, and until every order taken
before that moment has been served. Times are when the floor heard the board call an order:
an order is served when it can be seen on `served`, which with transactions is at the commit.
"""

import threading
import time
from dataclasses import dataclass, field

from fishchips.events import Kind, ShopEvent


@dataclass
class BrokerKill:
    """One kill -9 of a broker node; seconds are from the start of the chaos run (plain JSON types only)."""

    node: str
    killed_at: float
    back_at: float | None = None  # when it answered again, after its restart
    served_again_after: float | None = None  # seconds from the reference until the first order served after it
    caught_up_after: float | None = None  # seconds from the reference until every order taken before it was served
    # roles killed -9 within a group session before this kill: their partitions wait for that session to end,
    # counted again from the moment a group's new coordinator loads it, so such a kill costs more
    roles_killed_just_before: int = 0


@dataclass
class _Watch:
    kill: BrokerKill
    since: float  # monotonic reference
    waiting: set[str] = field(default_factory=set)  # orders taken before the reference, not yet served


class Recovery:
    """A floor listener: the broker kills' recovery times. What is waiting at a reference moment
    comes from the floor's tally (the one count of orders in flight), handed to `measure_from_now`."""

    def __init__(self, session_seconds: float) -> None:
        self.started = time.monotonic()
        self.session_seconds = session_seconds  # the groups' session timeout
        self.kills: list[BrokerKill] = []
        self._role_kills: list[float] = []  # seconds from the start
        self._watches: list[_Watch] = []
        self._lock = threading.Lock()  # every role process's reader thread calls hear()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def hear(self, event: ShopEvent) -> None:
        if event.order is None or event.kind is not Kind.CALLED:
            return
        now = time.monotonic()
        with self._lock:
            for watch in self._watches:
                if watch.kill.served_again_after is None:
                    watch.kill.served_again_after = round(now - watch.since, 1)
                watch.waiting.discard(event.order.id)
                if not watch.waiting and watch.kill.caught_up_after is None:
                    watch.kill.caught_up_after = round(now - watch.since, 1)
            self._watches = [w for w in self._watches if w.kill.caught_up_after is None]

    def role_killed(self) -> None:
        self._role_kills.append(self.seconds())

    def killed(self, node: str) -> BrokerKill:
        now = self.seconds()
        kill = BrokerKill(node, now, roles_killed_just_before=sum(now - at <= self.session_seconds for at in self._role_kills))
        self.kills.append(kill)
        return kill

    def back(self, kill: BrokerKill) -> None:
        kill.back_at = self.seconds()

    def measure_from_now(self, kill: BrokerKill, waiting: set[str]) -> None:
        """Start the clock for this kill: the next order served, and the orders waiting now (taken, not yet called)."""
        with self._lock:
            self._watches.append(_Watch(kill, time.monotonic(), set(waiting)))
            if not waiting:
                kill.caught_up_after = 0.0  # nothing was waiting
