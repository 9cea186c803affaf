"""The recovery figures, from events alone: no broker, no clock to wait for."""

from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.recovery import Recovery
from fishchips.shop import Order


def order(number: int, placed_at: float = 0.0) -> Order:
    return Order(number, 1, (("cod",),), f"run-1-{number}", placed_at)


def took(number: int) -> ShopEvent:
    return ShopEvent("till-1", RoleKind.TILL, Kind.TOOK, order(number))


def called(number: int) -> ShopEvent:
    return ShopEvent("board", RoleKind.BOARD, Kind.CALLED, order(number))


def test_a_kill_is_caught_up_when_every_order_waiting_at_its_reference_is_served() -> None:
    recovery = Recovery()
    for event in (took(1), took(2), called(1)):
        recovery.hear(event)
    kill = recovery.killed("node-1")
    recovery.measure_from_now(kill)  # order 2 is waiting
    recovery.hear(took(3))  # taken after the reference: not waited for
    assert (kill.served_again_after, kill.caught_up_after) == (None, None)
    recovery.hear(called(3))
    assert kill.served_again_after is not None and kill.caught_up_after is None
    recovery.hear(called(2))
    assert kill.caught_up_after is not None and kill.caught_up_after >= kill.served_again_after
    assert recovery.taken == 3


def test_a_call_heard_before_its_take_leaves_nothing_waiting() -> None:
    recovery = Recovery()
    recovery.hear(called(1))  # the board's process sent its batch before the till's delivery report came back
    recovery.hear(took(1))
    kill = recovery.killed("node-1")
    recovery.measure_from_now(kill)
    assert kill.caught_up_after == 0.0


def test_the_longest_wait_is_from_placing_to_the_call() -> None:
    recovery = Recovery()
    recovery.hear(took(1))
    recovery.hear(ShopEvent("board", RoleKind.BOARD, Kind.CALLED, order(1, placed_at=1.0)))
    assert recovery.longest_wait > 1_000_000  # placed at the epoch's first second: a very long wait
