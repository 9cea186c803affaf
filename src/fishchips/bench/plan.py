"""What a benchmark run does: how many orders, partitions, preparers and tills, and the fixed load for latency."""

import time
import uuid
from dataclasses import dataclass, field

from fishchips.kafka.protocols import GroupProtocol
from fishchips.scenarios import Scenario
from fishchips.shop import Menu, Order, OrderGenerator, new_order_id, new_run_id
from fishchips.shop.keying import Keying


def _fresh_prefix() -> str:
    return f"bench-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Plan:
    orders: int = 200_000
    partitions: int = 6
    preparers: int = 3
    tills: int = 2
    preparer_counts: tuple[int, ...] = (1, 3, 6)  # the shop and the preparer stages are also run with each of these
    latency_rates: tuple[float, ...] = (1000.0, 10000.0)  # orders/s offered when latency is measured
    latency_seconds: float = 15.0  # how long that load is offered (fewer orders if --orders is smaller)
    seed: int = 7
    group_protocol: GroupProtocol = GroupProtocol.CONSUMER  # how the shop's groups rebalance
    prefix: str = field(default_factory=_fresh_prefix)  # every phase's topics and groups start with it

    @property
    def short_orders(self) -> int:
        """The shorter run beside the full one: a quarter of the orders (50,000 of 200,000)."""
        return max(1, self.orders // 4)

    def latency_orders(self, rate: float) -> int:
        return max(1, min(self.orders, round(rate * self.latency_seconds)))

    def scenario(self, orders_per_second: float = 0.0, preparers: int | None = None) -> Scenario:
        """The rush hour as a scenario: no preparation time, no plaice (so no cook), orders spread over every partition.

        orders_per_second is the whole shop's offer, shared by the tills; 0 means as fast as they can.
        """
        return Scenario(
            "rush-hour",
            "Rush hour",
            "How many orders per second the shop serves when nobody has to wait for the fryer.",
            tills=self.tills,
            preparers=preparers or self.preparers,
            cooks=0,
            partitions=self.partitions,
            keying=Keying.NONE,
            orders_per_second=orders_per_second / self.tills,
            prepare_seconds=0.0,
            plaice_share=0.0,
        )

    @property
    def protocols(self) -> tuple[GroupProtocol, ...]:
        """Latency and the time to ready are measured under each group protocol, the plan's own first."""
        return (self.group_protocol, *(protocol for protocol in GroupProtocol if protocol is not self.group_protocol))

    def phase_prefix(self, phase: str) -> str:
        return f"{self.prefix}-{phase}"


def sample_payloads(count: int, seed: int) -> list[bytes]:
    """Orders exactly as the tills write them, so the raw baseline sends messages of the same sizes."""
    menu = Menu.load()
    generator = OrderGenerator(menu, seed, plaice_share=0.0)
    run_id = new_run_id()
    return [Order(n, 1, generator.parts(), new_order_id(run_id, 1, n), time.time()).to_json() for n in range(1, count + 1)]
