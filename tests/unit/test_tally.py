"""The floor's tally: latency once the shop is ready, and its percentiles. Events alone, no broker."""

from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.shop import Order
from fishchips.tally import Tally, percentiles


def took(number: int, placed_at: float, till: int = 1) -> ShopEvent:
    return ShopEvent(f"till-{till}", RoleKind.TILL, Kind.TOOK, Order(number, till, (("cod",),), f"run-1-{number}", placed_at))


def called(number: int, placed_at: float, at: float, till: int = 1) -> ShopEvent:
    return ShopEvent("board", RoleKind.BOARD, Kind.CALLED, Order(number, till, (("cod",),), f"run-1-{number}", placed_at), at=at)


def test_latency_once_ready_leaves_out_the_orders_placed_before_the_first_call() -> None:
    tally = Tally("run-1")
    for event in (took(1, 10.0), took(2, 10.5), called(1, 10.0, 12.0), took(3, 12.5), called(2, 10.5, 12.6), called(3, 12.5, 12.51)):
        tally.record(event)
    assert tally.ready_at == 12.0
    assert [round(ms) for ms in tally.latencies_ms] == [2000, 2100, 10]  # every call, start-up included
    assert tally.latency_percentiles(after_ready=True) == {"p50": 10.0, "p95": 10.0, "p99": 10.0}  # order 3 alone
    assert tally.latency_percentiles()["p99"] == 2100.0  # rounded to 0.1 ms


def test_a_second_till_s_orders_count_once_its_own_first_order_is_called() -> None:
    """The second till's first orders wait for its producer to connect: start-up, not the shop's latency. Its orders count
    from its own first call on, the first till's from the shop's (so a short run still has some)."""
    tally = Tally("run-1")
    for event in (took(1, 10.0), called(1, 10.0, 10.01), took(2, 10.1), took(3, 10.2, till=2), called(2, 10.1, 10.11)):
        tally.record(event)
    assert tally.ready_at == 10.01
    tally.record(called(3, 10.2, 10.7, till=2))  # 500 ms: its producer was connecting
    for event in (took(4, 10.8), called(4, 10.8, 10.81), took(5, 10.8, till=2), called(5, 10.8, 10.82, till=2)):
        tally.record(event)
    assert [round(ms) for ms in tally.ready_latencies_ms] == [10, 10, 20]  # orders 2, 4 and 5: not till 2's first, order 3


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 1..100, unsorted
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert percentiles([]) == {}
    assert percentiles([3.0]) == {"p50": 3.0, "p95": 3.0, "p99": 3.0}
