"""What every role of one shop shares, handed to each role when it is made."""

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from fishchips.events import ALL_KINDS, Kind, Listener, ignore
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.shop import Menu

if TYPE_CHECKING:  # Redis's client is a third of a role process's imports: only a shop with a cabinet loads it
    from fishchips.stores.cabinet import Cabinet


@dataclass(frozen=True)
class ShopContext:
    """What every role of one shop shares: where Kafka is, the shop's topics and menu, the guarantee,
    and who listens to its events (and which kinds they want).

    It crosses into a role's own process as it is, less the listener, which is that process's own.
    """

    settings: ConnectionSettings
    topics: Topics = field(default_factory=Topics)
    menu: Menu = field(default_factory=Menu.load)
    exactly_once: bool = True  # see docs/design.md: the same throughput, and nothing served twice after a crash
    group_protocol: GroupProtocol = GroupProtocol.CONSUMER  # how groups rebalance; see docs/rebalance.md for why this one
    listener: Listener = ignore
    wanted: frozenset[Kind] = ALL_KINDS
    cabinet: "Cabinet | None" = None  # the hot cabinet (demo5); in a role's own process, a cabinet of its own on the same Redis

    def heard_by(self, listener: Listener, wanted: frozenset[Kind] | None = None) -> "ShopContext":
        return replace(self, listener=listener, wanted=self.wanted if wanted is None else wanted)
