"""The talk's demos as data: who works in the shop, how many partitions, how orders are keyed, the pace.

A demo is a value of `Scenario`, never a copy of code: the same roles run every one.
"""

from dataclasses import dataclass, replace

from fishchips.shop.keying import Keying


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    lesson: str  # one sentence: the Kafka idea this demo shows
    tills: int
    preparers: int
    cooks: int
    partitions: int
    keying: Keying = Keying.TILL
    orders_per_second: float = 1.0  # per till, at speed 1
    prepare_seconds: float = 0.4  # a preparer's time per order, at speed 1: 2.5 orders/s, less than 3 tills offer
    cook_seconds: float = 1.0  # the cook's time per plaice order, at speed 1
    plaice_share: float = 0.0  # share of fish suppers that are plaice (needs the cook)
    cabinet: bool = False  # preparers take portions from the hot cabinet (Redis); short of any, the order goes to the cook
    share_preparers: int = 0  # members of a share group, serving the same orders beside the consumer group (demo6)

    def override(
        self, tills: int | None = None, preparers: int | None = None, partitions: int | None = None, keying: Keying | None = None
    ) -> "Scenario":
        """The same demo with some numbers changed (the command line's --tills, --preparers, ...)."""
        return replace(
            self,
            tills=self.tills if tills is None else tills,
            preparers=self.preparers if preparers is None else preparers,
            partitions=self.partitions if partitions is None else partitions,
            keying=self.keying if keying is None else keying,
        )

    @property
    def offered_per_second(self) -> float:
        return self.tills * self.orders_per_second

    @property
    def capacity_per_second(self) -> float:
        return self.preparers / self.prepare_seconds if self.prepare_seconds else float("inf")

    @property
    def side_by_side(self) -> bool:
        """Both groups serve the same orders (demo6): the share group serves onto `served.shared`, counted apart."""
        return bool(self.preparers and self.share_preparers)


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "demo1",
            "One till, one food preparer",
            "A producer writes orders to a topic; a consumer reads them in order.",
            tills=1,
            preparers=1,
            cooks=0,
            partitions=1,
        ),
        Scenario(
            "demo2",
            "Three tills, three partitions, one preparer",
            "Many producers share a topic split into partitions; one consumer cannot keep up, so its lag grows.",
            tills=3,
            preparers=1,
            cooks=0,
            partitions=3,
            keying=Keying.PARTITION,
        ),
        Scenario(
            "demo3",
            "Three tills, two preparers in one consumer group",
            "A consumer group shares the partitions between its members and re-routes them when one joins or leaves.",
            tills=3,
            preparers=2,
            cooks=0,
            partitions=3,
            keying=Keying.PARTITION,
        ),
        Scenario(
            "demo4",
            "A cook for the plaice",
            "Plaice goes to a cook topic and comes back to orders marked ready: consumers can be producers too.",
            tills=1,
            preparers=1,
            cooks=1,
            partitions=1,
            plaice_share=0.5,
            prepare_seconds=0.3,
        ),
        Scenario(
            "demo5",
            "The hot cabinet",
            "The cabinet lives in Redis, outside Kafka's transaction: the order's id, recorded as its portions are taken, carries exactly once across.",
            tills=1,
            preparers=2,
            cooks=1,
            partitions=2,
            keying=Keying.NONE,
            plaice_share=0.3,
            orders_per_second=2.0,
            prepare_seconds=0.4,
            cook_seconds=1.0,
            cabinet=True,
        ),
        Scenario(
            "demo6",
            "Every preparer busy: a share group beside a consumer group",
            "A consumer group gives each partition to one member, so 4 preparers on 2 partitions leave 2 idle"
            " (1 on a shop where demo3 left orders its 3: Kafka never takes a partition away);"
            " a share group (KIP-932) lends each order to any member, so all 4 serve. Both groups read the same"
            " orders, each serving every one: the consumer group onto `served`, the share group onto `served.shared`,"
            " each with a board of its own.",
            tills=1,
            preparers=4,
            cooks=0,
            partitions=2,
            keying=Keying.NONE,
            orders_per_second=4.0,
            prepare_seconds=0.4,
            share_preparers=4,
        ),
    )
}


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no scenario {name!r}: choose one of {', '.join(SCENARIOS)}") from None
