"""The floor's tally: latency once the shop is ready, and its percentiles. Events alone, no broker."""

from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.shop import Order
from fishchips.tally import Tally, percentiles


def took(number: int, placed_at: float) -> ShopEvent:
    return ShopEvent("till-1", RoleKind.TILL, Kind.TOOK, Order(number, 1, (("cod",),), f"run-1-{number}", placed_at))


def called(number: int, placed_at: float, at: float) -> ShopEvent:
    return ShopEvent("board", RoleKind.BOARD, Kind.CALLED, Order(number, 1, (("cod",),), f"run-1-{number}", placed_at), at=at)


def test_latency_once_ready_leaves_out_the_orders_placed_before_the_first_call() -> None:
    tally = Tally("run-1")
    for event in (took(1, 10.0), took(2, 10.5), called(1, 10.0, 12.0), took(3, 12.5), called(2, 10.5, 12.6), called(3, 12.5, 12.51)):
        tally.record(event)
    assert tally.ready_at == 12.0
    assert [round(ms) for ms in tally.latencies_ms] == [2000, 2100, 10]  # every call, start-up included
    assert tally.latency_percentiles(after_ready=True) == {"p50": 10.0, "p95": 10.0, "p99": 10.0}  # order 3 alone
    assert tally.latency_percentiles()["p99"] == 2100.0  # rounded to 0.1 ms


def test_percentiles_are_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]  # 1..100, unsorted
    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert percentiles([]) == {}
    assert percentiles([3.0]) == {"p50": 3.0, "p95": 3.0, "p99": 3.0}
