"""The floor's tally: orders taken and served by this shop, counted as they happen.

A shop open all day must not grow: the tally keeps counters, and one entry per order only
while that order is in flight (taken and not yet called, or called before its till heard back).
"""

import math
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from fishchips.events import Kind, ShopEvent


@dataclass
class Tally:
    """Counts this run's orders (their ids start with the run id); others' orders are only counted as such."""

    run_id: str
    taken: int = 0
    called: int = 0  # every call of one of this run's orders, twice-served ones twice
    others: int = 0  # orders of earlier runs called meanwhile (--resume)
    cooked: int = 0
    dead_letters: int = 0
    taken_by_till: Counter[str] = field(default_factory=Counter)
    taken_by_partition: Counter[int] = field(default_factory=Counter)
    served_by_preparer: Counter[str] = field(default_factory=Counter)
    served_by_till: Counter[int] = field(default_factory=Counter)  # calls by the till number on the order (the counter's too)
    latencies_ms: "array[float]" = field(default_factory=lambda: array("d"))  # 8 bytes an order, no object (quoted: array is generic only from 3.12)
    # the calls of orders placed once the shop was ready (its first order called) and their till too (that till's first order
    # called), by the broker's clock: no start-up in them. A second till's first orders, placed while its producer still
    # connected, waited up to half a second: at 10,000 orders/s, a large part of the p99.
    ready_latencies_ms: "array[float]" = field(default_factory=lambda: array("d"))
    ready_at: float | None = None  # when the first order of this run was called (epoch seconds, the broker's append time)
    _till_ready: dict[int, float] = field(default_factory=dict)  # till number -> when its first order was called
    _open: dict[str, int] = field(default_factory=dict)  # id -> taken minus called, kept only while not 0

    def record(self, event: ShopEvent) -> None:
        order = event.order
        if event.kind is Kind.COOKED:
            self.cooked += 1
        elif event.kind is Kind.DEAD_LETTER:
            self.dead_letters += 1
        if order is None or event.kind not in (Kind.TOOK, Kind.CALLED):
            return
        if not order.id.startswith(self.run_id):
            self.others += event.kind is Kind.CALLED
            return
        if event.kind is Kind.TOOK:
            self.taken += 1
            self.taken_by_till[event.role] += 1
            if event.partition is not None:
                self.taken_by_partition[event.partition] += 1
            self._move(order.id, +1)
        else:
            self.called += 1
            self.served_by_preparer[event.detail] += 1
            self.served_by_till[order.till] += 1
            latency = max(0.0, (event.at - order.placed_at) * 1000)
            self.latencies_ms.append(latency)
            if self.ready_at is None:
                self.ready_at = event.at
            if order.placed_at >= self._till_ready.setdefault(order.till, event.at):
                self.ready_latencies_ms.append(latency)
            self._move(order.id, -1)

    def _move(self, order_id: str, step: int) -> None:
        count = self._open.get(order_id, 0) + step
        if count:
            self._open[order_id] = count
        else:
            del self._open[order_id]

    @property
    def outstanding(self) -> int:
        """Taken and not yet called."""
        return sum(count for count in self._open.values() if count > 0)

    @property
    def twice(self) -> int:
        """Calls beyond the first (once every till has heard back about its orders)."""
        return sum(-count for count in self._open.values() if count < 0)

    @property
    def served(self) -> int:
        """Distinct orders of this run called at least once."""
        return self.called - self.twice

    @property
    def in_flight(self) -> int:
        return len(self._open)

    def waiting_ids(self) -> set[str]:
        """The orders taken and not yet called."""
        return {order_id for order_id, count in self._open.items() if count > 0}

    @property
    def longest_wait(self) -> float:
        """Seconds, the longest any order waited from its placing to its call."""
        return max(self.latencies_ms, default=0.0) / 1000

    def latency_percentiles(self, after_ready: bool = False) -> dict[str, float]:
        """p50, p95 and p99 of every call, or only of the orders placed once the shop was ready (a shop open all day)."""
        return percentiles(self.ready_latencies_ms if after_ready else self.latencies_ms)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """Nearest-rank percentiles, from one sorted copy (statistics.quantiles made two)."""
    ordered = sorted(values)
    if not ordered:
        return {}
    return {f"p{cut}": round(ordered[min(len(ordered) - 1, math.ceil(cut / 100 * len(ordered)) - 1)], 1) for cut in (50, 95, 99)}
