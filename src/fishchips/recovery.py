"""How soon the shop serves again after a broker kill, read from the floor's own event stream.

A chaos run says "nothing lost, nothing twice"; Kafka promises more: a broker fault should cost
seconds. This listener hears every order taken and called, and for each broker kill measures
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


@dataclass
class _Watch:
    kill: BrokerKill
    since: float  # monotonic reference
    waiting: set[str] = field(default_factory=set)  # orders taken before the reference, not yet served


class Recovery:
    """A floor listener: the broker kills' recovery times, and the longest wait of any order."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.kills: list[BrokerKill] = []
        self.taken = 0  # orders the tills heard Kafka acknowledge
        self.longest_wait = 0.0  # seconds from an order's placing to its call, the longest of the run
        self._open: dict[str, int] = {}  # order id -> taken minus called, kept while not 0 (a call can be heard before its take)
        self._watches: list[_Watch] = []
        self._lock = threading.Lock()  # every role process's reader thread calls hear()

    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def hear(self, event: ShopEvent) -> None:
        if event.order is None or event.kind not in (Kind.TOOK, Kind.CALLED):
            return
        now = time.monotonic()
        with self._lock:
            self._move(event.order.id, +1 if event.kind is Kind.TOOK else -1)
            if event.kind is Kind.TOOK:
                self.taken += 1
                return
            self.longest_wait = max(self.longest_wait, time.time() - event.order.placed_at)
            for watch in self._watches:
                if watch.kill.served_again_after is None:
                    watch.kill.served_again_after = round(now - watch.since, 1)
                watch.waiting.discard(event.order.id)
                if not watch.waiting and watch.kill.caught_up_after is None:
                    watch.kill.caught_up_after = round(now - watch.since, 1)
            self._watches = [w for w in self._watches if w.kill.caught_up_after is None]

    def _move(self, order_id: str, step: int) -> None:
        count = self._open.get(order_id, 0) + step
        if count:
            self._open[order_id] = count
        else:
            del self._open[order_id]

    def _waiting(self) -> set[str]:
        return {order_id for order_id, count in self._open.items() if count > 0}

    def killed(self, node: str) -> BrokerKill:
        kill = BrokerKill(node, self.seconds())
        self.kills.append(kill)
        return kill

    def back(self, kill: BrokerKill) -> None:
        kill.back_at = self.seconds()

    def measure_from_now(self, kill: BrokerKill) -> None:
        """Start the clock for this kill: the next order served, and the orders waiting now."""
        with self._lock:
            waiting = self._waiting()
            self._watches.append(_Watch(kill, time.monotonic(), waiting))
            if not waiting:
                kill.caught_up_after = 0.0  # nothing was waiting
