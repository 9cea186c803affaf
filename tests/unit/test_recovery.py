"""The recovery figures, from events alone: no broker, no clock to wait for."""

from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.recovery import Recovery
from fishchips.shop import Order
from fishchips.tally import Tally


def order(number: int, placed_at: float = 0.0) -> Order:
    return Order(number, 1, (("cod",),), f"run-1-{number}", placed_at)


def took(number: int) -> ShopEvent:
    return ShopEvent("till-1", RoleKind.TILL, Kind.TOOK, order(number))


def called(number: int, placed_at: float = 0.0, at: float = 0.0) -> ShopEvent:
    return ShopEvent("board", RoleKind.BOARD, Kind.CALLED, order(number, placed_at), at=at)


def hear(recovery: Recovery, tally: Tally, *events: ShopEvent) -> None:
    """As the floor does: its tally first, then its listener."""
    for event in events:
        tally.record(event)
        recovery.hear(event)


def test_a_kill_is_caught_up_when_every_order_waiting_at_its_reference_is_served() -> None:
    recovery, tally = Recovery(session_seconds=6.0), Tally("run-1")
    hear(recovery, tally, took(1), took(2), called(1))
    kill = recovery.killed("node-1")
    recovery.measure_from_now(kill, tally.waiting_ids())  # order 2 is waiting
    hear(recovery, tally, took(3))  # taken after the reference: not waited for
    assert (kill.served_again_after, kill.caught_up_after) == (None, None)
    hear(recovery, tally, called(3))
    assert kill.served_again_after is not None and kill.caught_up_after is None
    hear(recovery, tally, called(2))
    assert kill.caught_up_after is not None and kill.caught_up_after >= kill.served_again_after


def test_a_call_heard_before_its_take_leaves_nothing_waiting() -> None:
    tally = Tally("run-1")
    tally.record(called(1))  # the board's process sent its batch before the till's delivery report came back
    tally.record(took(1))
    assert tally.waiting_ids() == set()
    recovery = Recovery(session_seconds=6.0)
    kill = recovery.killed("node-1")
    recovery.measure_from_now(kill, tally.waiting_ids())
    assert kill.caught_up_after == 0.0


def test_the_longest_wait_is_from_placing_to_the_call() -> None:
    tally = Tally("run-1")
    assert tally.longest_wait == 0.0
    tally.record(took(1))
    tally.record(called(1, placed_at=1.0, at=4.5))
    tally.record(took(2))
    tally.record(called(2, placed_at=2.0, at=3.0))
    assert tally.longest_wait == 3.5


def test_a_broker_kill_counts_the_roles_killed_within_a_session_before_it() -> None:
    recovery = Recovery(session_seconds=3600.0)  # every role kill of this test is within the session
    recovery.role_killed()
    recovery.role_killed()
    assert recovery.killed("node-1").roles_killed_just_before == 2
    assert Recovery(session_seconds=-1.0).killed("node-2").roles_killed_just_before == 0
