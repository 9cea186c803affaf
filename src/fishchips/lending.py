"""Who holds which of the share group's records, and how often each was lent out (demo6), in the members' own words.

Kafka lends each record of a share group to one member at a time, under a lock, and counts the deliveries.
But Kafka shows no one who holds a record: `kafka-share-groups.sh --describe` gives members, their
partitions, start offset and lag, and the share-group state topic keeps the delivery counts of records
nobody holds, never a holder (a lock lives only in the partition leader's memory). The members know:
each knows what its poll lent it, and the broker's delivery count comes with every record
(`Message.delivery_count()`). So a share preparer says LENT for each record it is lent, and SERVED,
DEAD_LETTER (rejected) or RELEASED when it lets it go (handed back at once, more than it can make within
its lock, or released as it stops); this follows those events. A member killed -9 says nothing more:
its records show as waiting for their locks, until another member is lent them.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from fishchips.events import ENDINGS, HANDED_BACK, Kind, RoleKind, ShopEvent

HISTORY = 8  # the records lent again that the views list, newest first: as many handed back, and as many come back otherwise


class LoanState(StrEnum):
    HELD = "held"  # its member works on it
    RELEASED = "released"  # its member let it go, told to stop (or its write failed): any member may take it at once
    HANDED_BACK = "handed back"  # released at once: more than its member can make within its lock (share_preparer.py)
    LOCKED = "waits for its lock"  # its member ended without a word: back when the lock runs out


class Back(StrEnum):
    """How a record lent again had come back."""

    RELEASED = "released"
    HANDED_BACK = "handed back"
    LOCK = "lock ran out"
    UNSEEN = "unseen"  # lent before this shop's views were watching


CAME_BACK = {LoanState.RELEASED: Back.RELEASED, LoanState.HANDED_BACK: Back.HANDED_BACK}  # else its lock ran out


@dataclass(frozen=True)
class Loan:
    """A record lent to a member and not yet served, rejected or lent to another."""

    partition: int
    offset: int
    holder: str
    delivery: int
    state: LoanState = LoanState.HELD


@dataclass(frozen=True)
class Relent:
    """A record lent out again: who had it, how it came back, who has it now, and what became of it."""

    partition: int
    offset: int
    delivery: int
    before: str  # its previous holder ("" if unseen)
    back: Back
    holder: str
    outcome: str = ""  # "served" or "rejected" once done; "" while held
    order: int | None = None  # the order's number, once served


class Lending:
    """The share group's records in flight, fed with every event the floor hears (under its lock)."""

    def __init__(self) -> None:
        self._loans: dict[tuple[int, int], Loan] = {}
        self._relent: list[Relent] = []  # newest first, at most HISTORY of each way back (see newest)

    def record(self, event: ShopEvent) -> None:
        if event.role_kind is not RoleKind.SHARE_PREPARER:
            return
        if event.kind in ENDINGS:
            for place, held in self._loans.items():
                if held.holder == event.role and held.state is LoanState.HELD:
                    self._loans[place] = replace(held, state=LoanState.LOCKED)
            return
        if event.partition is None or event.offset is None:
            return
        key = (event.partition, event.offset)
        if event.kind is Kind.LENT:
            self._lent(key, event)
            return
        loan = self._loans.get(key)
        if loan is None or loan.holder != event.role:  # the record is another's by now, or done
            if event.kind is Kind.RELEASED:
                self._released_late(key, event)
            return  # a member too slow for its lock serves what another member holds now: that one's loan stands
        if event.kind is Kind.RELEASED:
            self._loans[key] = replace(loan, state=let_go(event))
        elif event.kind in (Kind.SERVED, Kind.DEAD_LETTER):
            del self._loans[key]
            self._done(key, event)

    def _lent(self, key: tuple[int, int], event: ShopEvent) -> None:
        before = self._loans.get(key)
        self._loans[key] = Loan(*key, event.role, event.delivery)
        if event.delivery > 1:
            back = Back.UNSEEN if before is None else CAME_BACK.get(before.state, Back.LOCK)
            again = Relent(*key, event.delivery, before.holder if before else "", back, event.role)
            self._relent = newest([again, *self._relent], lambda row: row.back)

    def _released_late(self, key: tuple[int, int], event: ShopEvent) -> None:
        """A member's RELEASED heard after the next member's LENT of the same record: the row said "lock ran out".

        Each role process sends its events home on its own pipe, every 20 ms, and the member that releases
        says so before its acknowledgement leaves; yet the next member, lent the record a few ms later, may
        be heard first. So a row is set from the first word and put right by the late one.
        """
        for index, again in enumerate(self._relent):
            if (again.partition, again.offset) == key and again.before == event.role:
                if again.back is Back.LOCK:
                    self._relent[index] = replace(again, back=CAME_BACK[let_go(event)])
                return

    def _done(self, key: tuple[int, int], event: ShopEvent) -> None:
        """A record lent again and now served or rejected: its history row says so."""
        for index, again in enumerate(self._relent):
            if (again.partition, again.offset) == key and again.holder == event.role and not again.outcome:
                outcome = "served" if event.kind is Kind.SERVED else "rejected"
                self._relent[index] = replace(again, outcome=outcome, order=event.order.order if event.order else None)
                return

    def held_by(self, member: str) -> int:
        """How many records the member holds now."""
        return sum(1 for loan in self._loans.values() if loan.holder == member and loan.state is LoanState.HELD)

    def loans(self) -> list[Loan]:
        """Every record in flight, by partition and offset."""
        return [self._loans[key] for key in sorted(self._loans)]

    def relent(self) -> list[Relent]:
        """The records lent out again, newest first: the newest HISTORY handed back, and as many come back otherwise.

        Listed apart because a backlog hands back many records a second: in one list they pushed a stopped member's
        releases out within a second or two, before a view could show them. The history itself keeps each way back
        apart, "lock ran out" too: a hand-back heard after the next member's LENT is one until its RELEASED comes."""
        return newest(self._relent, lambda row: row.back is Back.HANDED_BACK)


def let_go(released: ShopEvent) -> LoanState:
    """How a member's RELEASED let the record go: handed back at once, or released (told to stop, or its write failed)."""
    return LoanState.HANDED_BACK if released.detail == HANDED_BACK else LoanState.RELEASED


def newest(rows: list[Relent], kind: Callable[[Relent], object]) -> list[Relent]:
    """The first HISTORY rows of each kind, in their order (rows come newest first)."""
    seen: Counter[object] = Counter()
    kept = []
    for row in rows:
        seen[kind(row)] += 1
        if seen[kind(row)] <= HISTORY:
            kept.append(row)
    return kept


def released_words(member: str, released: int) -> str:
    """What stopping a share group's member did, in words, for both views."""
    if not released:
        return f"{member} stopped with nothing to release: it was writing all it held (press again while one works on some)"
    orders = "order" if released == 1 else "orders"
    return f"{member} stopped and released the {released} {orders} it had not served: the others take them at once, delivery count 2"
