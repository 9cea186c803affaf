"""The share group's records in flight, followed from its members' events: who holds each, and how it came back."""

from fishchips.events import HANDED_BACK, Kind, RoleKind, ShopEvent
from fishchips.lending import HISTORY, Back, Lending, LoanState, released_words
from fishchips.shop import Order


def said(role: str, kind: Kind, offset: int, delivery: int = 1, order: Order | None = None, detail: str = "") -> ShopEvent:
    return ShopEvent(role, RoleKind.SHARE_PREPARER, kind, order, "orders", 0, offset, detail, delivery=delivery)


def ended(role: str, kind: Kind = Kind.FAILED) -> ShopEvent:
    return ShopEvent(role, RoleKind.SHARE_PREPARER, kind)


def test_a_lent_record_is_held_by_its_member_until_it_is_served() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 7))
    lending.record(said("a", Kind.LENT, 8))
    assert [(loan.offset, loan.holder, loan.delivery, loan.state) for loan in lending.loans()] == [(7, "a", 1, "held"), (8, "a", 1, "held")]
    assert lending.held_by("a") == 2 and lending.held_by("b") == 0
    lending.record(said("a", Kind.SERVED, 7))
    lending.record(said("a", Kind.DEAD_LETTER, 8))
    assert lending.loans() == [] and lending.relent() == []


def test_a_released_record_taken_by_another_member_is_listed_with_its_delivery_count_and_outcome() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 7))
    lending.record(said("a", Kind.RELEASED, 7))
    assert lending.loans()[0].state is LoanState.RELEASED and lending.held_by("a") == 0
    lending.record(said("b", Kind.LENT, 7, delivery=2))
    assert [(loan.holder, loan.delivery) for loan in lending.loans()] == [("b", 2)]
    again = lending.relent()[0]
    assert (again.before, again.back, again.holder, again.delivery, again.outcome) == ("a", Back.RELEASED, "b", 2, "")
    lending.record(said("b", Kind.SERVED, 7, delivery=2, order=Order(41, 1, (("cod",),), "run-1-41", 0.0)))
    assert lending.relent()[0].outcome == "served" and lending.relent()[0].order == 41 and lending.loans() == []


def test_a_record_handed_back_at_once_is_told_apart_from_one_released_by_a_stopping_member() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 7))
    lending.record(said("a", Kind.LENT, 8))
    lending.record(said("a", Kind.RELEASED, 8, detail=HANDED_BACK))  # more than a can make within its lock
    assert [loan.state for loan in lending.loans()] == [LoanState.HELD, LoanState.HANDED_BACK]
    lending.record(said("b", Kind.LENT, 8, delivery=2))
    lending.record(said("a", Kind.RELEASED, 7))  # a stops
    lending.record(said("b", Kind.LENT, 7, delivery=2))
    assert [(again.offset, again.back) for again in lending.relent()] == [(7, Back.RELEASED), (8, Back.HANDED_BACK)]
    lending.record(said("c", Kind.LENT, 9))
    lending.record(said("d", Kind.LENT, 9, delivery=2))  # heard before c's word, as a process's may be
    lending.record(said("c", Kind.RELEASED, 9, detail=HANDED_BACK))
    assert lending.relent()[0].back is Back.HANDED_BACK


def test_records_handed_back_by_the_dozen_leave_a_stopped_members_releases_listed() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 1))
    lending.record(said("a", Kind.RELEASED, 1))  # a stops
    lending.record(said("b", Kind.LENT, 1, delivery=2))
    for offset in range(2, 2 + 2 * HISTORY):  # a backlog: b is lent more than it can make, and hands them back
        lending.record(said("b", Kind.LENT, offset))
        lending.record(said("b", Kind.RELEASED, offset, detail=HANDED_BACK))
        lending.record(said("b", Kind.LENT, offset, delivery=2))
    rows = lending.relent()
    assert [row.back for row in rows] == [Back.HANDED_BACK] * HISTORY + [Back.RELEASED]
    assert rows[0].offset == 1 + 2 * HISTORY and rows[-1].before == "a"


def test_hand_backs_heard_after_the_next_members_loans_leave_a_stopped_members_releases_listed() -> None:
    """Until its RELEASED comes, a hand-back heard late looks like a lock that ran out: it must not push releases out of the
    history meanwhile, or the stopped member's rows would be gone once the words arrive."""
    lending = Lending()
    lending.record(said("a", Kind.LENT, 1))
    lending.record(said("a", Kind.RELEASED, 1))  # a stops
    lending.record(said("b", Kind.LENT, 1, delivery=2))
    for offset in range(2, 2 + 2 * HISTORY):
        lending.record(said("b", Kind.LENT, offset))
        lending.record(said("c", Kind.LENT, offset, delivery=2))  # heard before b's word, which comes a few ms later
    for offset in range(2, 2 + 2 * HISTORY):
        lending.record(said("b", Kind.RELEASED, offset, detail=HANDED_BACK))
    rows = lending.relent()
    assert [row.back for row in rows].count(Back.HANDED_BACK) == HISTORY and rows[-1].back is Back.RELEASED


def test_a_release_heard_after_the_next_members_loan_still_says_released() -> None:
    """Each role process sends its events on its own pipe: b's LENT can reach the floor before a's RELEASED."""
    lending = Lending()
    lending.record(said("a", Kind.LENT, 7))
    lending.record(said("b", Kind.LENT, 7, delivery=2))
    assert lending.relent()[0].back is Back.LOCK  # all the floor knows yet
    lending.record(said("a", Kind.RELEASED, 7))
    lending.record(ended("a", Kind.STOPPED))
    again = lending.relent()[0]
    assert (again.before, again.back, again.holder, again.delivery) == ("a", Back.RELEASED, "b", 2)
    assert [(loan.holder, loan.state) for loan in lending.loans()] == [("b", "held")]


def test_a_killed_members_records_wait_for_their_locks_then_come_back_counted() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 3))
    lending.record(ended("a"))  # kill -9: the floor reports its process failed
    assert lending.loans()[0].state is LoanState.LOCKED
    lending.record(said("b", Kind.LENT, 3, delivery=2))
    assert lending.relent()[0].back is Back.LOCK and lending.relent()[0].before == "a"


def test_a_slow_members_late_word_does_not_take_the_record_from_its_new_holder() -> None:
    lending = Lending()
    lending.record(said("a", Kind.LENT, 3))
    lending.record(said("b", Kind.LENT, 3, delivery=2))  # a's lock ran out while it worked
    lending.record(said("a", Kind.SERVED, 3))
    assert [(loan.holder, loan.state) for loan in lending.loans()] == [("b", "held")]


def test_other_roles_events_are_not_the_share_groups() -> None:
    lending = Lending()
    lending.record(ShopEvent("preparer-1", RoleKind.PREPARER, Kind.SERVED, None, "orders", 0, 1))
    assert lending.loans() == []


def test_the_words_say_what_stopping_released() -> None:
    assert "released the 2 orders" in released_words("share-preparer-3", 2)
    assert "nothing to release" in released_words("share-preparer-3", 0)
