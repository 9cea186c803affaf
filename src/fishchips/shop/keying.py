"""How a till chooses the partition of an order: a rule of the shop, so the tills and the demos share it."""

import enum


class Keying(enum.Enum):
    """How a till chooses the partition of an order."""

    TILL = "till"  # key = till number: one till's orders stay in order, on one partition
    PARTITION = "partition"  # the till names the partition itself: till N writes to partition N-1
    NONE = "none"  # no key: the producer spreads orders over all partitions
