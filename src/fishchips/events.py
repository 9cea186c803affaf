"""The shop's typed event stream: what a role did, which kind of role it is, and where in Kafka.

Every view (the headless run, the Textual app, the browser page) and the floor's tally read
the same events, whether the role runs in a thread of this process or in a process of its own.
"""

import time
from collections.abc import Callable
from enum import StrEnum

import msgspec

from fishchips.shop import Order


class Kind(StrEnum):
    """What happened. The values are the words the event lines print."""

    TOOK = "took"  # a till's order is on `orders` (its delivery report came back)
    SERVED = "served"  # a preparer wrote the order to `served`
    TO_COOK = "to-cook"  # a preparer sent a plaice order to `cook`
    COOKED = "cooked"  # the cook sent it back to `orders`, ready
    CALLED = "called"  # the board read it on `served`
    SEEN = "seen"  # a late reader read it on `orders`
    BOOKED = "booked"  # the accountant booked it
    ROW = "row"  # the clerk wrote it as a table row for Kafka Connect's sink
    DUPLICATE = "duplicate"  # the accountant found it in the books already
    DEAD_LETTER = "dead-letter"  # unreadable: set aside with the reason
    ASSIGNED = "assigned"  # a consumer now holds these partitions (the event's `partitions`)
    REVOKED = "revoked"  # ... gave some up in a rebalance (`partitions`: what it still holds)
    LOST = "lost"  # ... lost them without a clean hand-over (its membership expired)
    PAUSED = "paused"  # a role holds its partitions but takes no new work
    RESUMED = "resumed"
    STOPPED = "stopped"  # the role finished and closed its clients
    FAILED = "failed"  # the role ended with an error (`detail`)
    WAITING = "waiting"  # the hot cabinet's Redis is not answering: the role waits, its batch undone (`detail`: why)
    TOPPED_UP = "topped-up"  # the cook's timer cooked batches for the hot cabinet (`detail`: what)
    LENT = "lent"  # a share group's member was lent the record, under a lock (`delivery`: the broker's count)
    RELEASED = "released"  # ... handed it back unserved: any member may take it at once (`detail`: why; HANDED_BACK)
    HOLDING = "holding"  # a transactional role wrote a batch's results and holds its transaction open (a lesson's breakpoint)


class RoleKind(StrEnum):
    TILL = "till"
    PREPARER = "preparer"
    SHARE_PREPARER = "share-preparer"  # a member of the share group (demo6)
    COOK = "cook"
    BOARD = "board"
    READER = "reader"
    ACCOUNTANT = "accountant"
    CLERK = "clerk"


# What the floor's tally and summary need. A floor nobody watches asks roles for these alone,
# so at rush hour a preparer builds no event per order it serves.
TALLY_KINDS = frozenset(
    {Kind.TOOK, Kind.CALLED, Kind.COOKED, Kind.DEAD_LETTER, Kind.ASSIGNED, Kind.REVOKED, Kind.LOST, Kind.STOPPED, Kind.FAILED}
)
ALL_KINDS = frozenset(Kind)
MEMBERSHIP = frozenset({Kind.ASSIGNED, Kind.REVOKED, Kind.LOST})
PAUSES = frozenset({Kind.PAUSED, Kind.RESUMED})
ENDINGS = frozenset({Kind.STOPPED, Kind.FAILED})
# a RELEASED's detail when a share preparer hands back at once what a poll lent beyond what it can make within its lock,
# told apart from the records a stopped member releases
HANDED_BACK = "more than it can make within its lock"


class ShopEvent(msgspec.Struct, frozen=True, array_like=True):
    """Something a role did, with where it happened in Kafka.

    A msgspec Struct: small, and a batch of them crosses from a role's process to the floor
    as MessagePack in well under a microsecond an event (see fishchips.runtime).
    """

    role: str
    role_kind: RoleKind
    kind: Kind
    order: Order | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    detail: str = ""  # a reason, or who served it (on CALLED)
    partitions: tuple[int, ...] = ()  # on membership events: every partition the role holds now
    at: float = msgspec.field(default_factory=time.time)  # on CALLED: when the broker appended it to `served`
    delivery: int = 0  # a share group's record: how often the broker has lent it out, this time included (0: not one)

    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}" if self.topic is not None else ""


Listener = Callable[[ShopEvent], None]


def ignore(event: ShopEvent) -> None:
    """The listener of a role nobody watches."""
