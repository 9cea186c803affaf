"""The named checks a lesson step may ask for: each reads Kafka's own state, never the app's counters.

A check gets `Kafka`: eyes to ask Kafka afresh (an admin client of the player's, or on a cluster
whose nodes a lesson kills the session's Kafka watcher, a process of its own), the view as the step
began (`before`), and the topics to read records from. It answers with a `Verdict`: passed or
not, and what Kafka said, in words. Each check's parameters are a Struct, so a lesson's `params`
are checked like the rest of the file.
"""

import functools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args

import msgspec
from confluent_kafka import Message
from confluent_kafka.admin import AdminClient

from fishchips.errors import FishchipsError
from fishchips.floor import ShopFloor
from fishchips.kafka import clients, share_groups
from fishchips.kafka.connect_worker import sink_status
from fishchips.kafka.inspect import ClusterView, GroupView, snapshot
from fishchips.kafka.reading import read_to_end, uncommitted_only
from fishchips.kafka.replication import PartitionReplicas, ReplicationView
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.strict_topic import strict_topic, write_answer
from fishchips.kafka.topics import Topics
from fishchips.roles.share_group import share_group
from fishchips.session import ShopSession
from fishchips.shop import InvalidOrder, Order
from fishchips.shop.kitchen import portions
from fishchips.sink import behind, registered_sink, sink_report, table_ids
from fishchips.stores.cabinet import CabinetState

TopicName = Literal["orders", "cook", "served", "dead_letters"]
GroupName = Literal["preparers", "cooks", "accountant"]
R = TypeVar("R")
GROUP_READS: dict[GroupName, TopicName] = {"preparers": "orders", "cooks": "cook", "accountant": "served"}


def topic_names(topics: Topics) -> list[str]:
    """Every topic a lesson can name (the page's watcher asks of the same, in the same order)."""
    return [getattr(topics, name) for name in get_args(TopicName)]


def group_names(topics: Topics) -> list[str]:
    return [topics.group(name) for name in get_args(GroupName)]


def look(admin: AdminClient, topics: Topics) -> ClusterView:
    """Kafka's view, now, of every topic and group a lesson can name."""
    return snapshot(admin, topic_names(topics), group_names(topics))


class Eyes(Protocol):
    """How a check sees Kafka, asked afresh each time (learn/player.py has the two kinds)."""

    def view(self) -> ClusterView: ...

    def replication(self) -> ReplicationView: ...

    def run(self, call: Callable[[], R]) -> R:
        """Other work with a Kafka client (a write, a new topic), where these eyes keep theirs."""
        ...


@dataclass
class Kafka:
    """What a check reads: Kafka now (asked through `eyes`), and as the step began."""

    session: ShopSession
    floor: ShopFloor
    eyes: Eyes
    before: ClusterView

    @property
    def topics(self) -> Topics:
        return self.session.topics

    def topic(self, name: TopicName) -> str:
        return str(getattr(self.topics, name))

    def group(self, name: GroupName) -> str:
        return self.topics.group(name)

    def now(self) -> ClusterView:
        return self.eyes.view()

    def group_now(self, name: GroupName) -> GroupView:
        return self.now().groups[self.group(name)]

    def replication(self) -> ReplicationView:
        return self.eyes.replication()


@dataclass(frozen=True)
class Verdict:
    passed: bool
    said: str  # what Kafka said, e.g. "lag 7"


P = TypeVar("P", bound=msgspec.Struct)


@dataclass(frozen=True)
class NamedCheck(Generic[P]):
    params: type[P]
    run: Callable[[Kafka, P], Verdict]
    what: str  # one line for the list of checks
    nodes: int = 1  # 3: it reads what only a cluster whose nodes a lesson kills can show (the lesson says `nodes = 3`)


class TopicRecords(msgspec.Struct, forbid_unknown_fields=True):
    topic: TopicName
    at_least: int = 1
    every_partition: bool = False  # at least that many on each partition, not in all


class TopicGrowth(msgspec.Struct, forbid_unknown_fields=True):
    topic: TopicName
    by: int = 1


class SameKey(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    at_least: int = 2


class Group(msgspec.Struct, forbid_unknown_fields=True):
    group: GroupName


class GroupSize(msgspec.Struct, forbid_unknown_fields=True):
    group: GroupName
    count: int


class GroupLag(msgspec.Struct, forbid_unknown_fields=True):
    group: GroupName
    lag: int


class GroupProtocolSeen(msgspec.Struct, forbid_unknown_fields=True):
    group: GroupName
    type: Literal["CLASSIC", "CONSUMER"]  # the group's type, as the admin API names it
    assignor: str  # who chose the assignment: range, cooperative-sticky, uniform (the broker's)


class AtLeast(msgspec.Struct, forbid_unknown_fields=True):
    at_least: int = 1


class Nothing(msgspec.Struct, forbid_unknown_fields=True):
    pass


def _total(view: ClusterView, topic: str) -> int:
    return sum(view.end_offsets.get(topic, {}).values())


def topic_has_records(kafka: Kafka, p: TopicRecords) -> Verdict:
    ends = kafka.now().end_offsets.get(kafka.topic(p.topic), {})
    counts = list(ends.values()) if p.every_partition else [sum(ends.values())]
    said = ", ".join(f"p{partition}: offset {end}" for partition, end in sorted(ends.items()))
    return Verdict(bool(counts) and min(counts) >= p.at_least, f"{p.topic} ends at {said}")


def topic_grew(kafka: Kafka, p: TopicGrowth) -> Verdict:
    topic = kafka.topic(p.topic)
    grown = _total(kafka.now(), topic) - _total(kafka.before, topic)
    return Verdict(grown >= p.by, f"{p.topic} grew by {grown} offsets")


def same_key_same_partition(kafka: Kafka, p: SameKey) -> Verdict:
    partitions = Counter(m.partition() for m in read_to_end(kafka.session.settings, kafka.topics.orders) if m.key() == p.key.encode())
    where = ", ".join(f"{n} on p{partition}" for partition, n in sorted(partitions.items()))
    return Verdict(len(partitions) == 1 and partitions.total() >= p.at_least, f"key {p.key!r}: {where or 'none yet'}")


def group_members(kafka: Kafka, p: GroupSize) -> Verdict:
    members = kafka.group_now(p.group).members
    return Verdict(len(members) == p.count, f"{p.group} has {len(members)} members")


def every_partition_assigned(kafka: Kafka, p: Group) -> Verdict:
    view = kafka.now()
    topic = kafka.topic(GROUP_READS[p.group])
    held = {partition for member in view.groups[kafka.group(p.group)].members for t, partition in member.partitions if t == topic}
    partitions = set(view.end_offsets.get(topic, {}))
    return Verdict(bool(partitions) and held == partitions, f"{p.group} hold {len(held)} of {len(partitions)} partitions")


def member_idle(kafka: Kafka, p: Group) -> Verdict:
    members = kafka.group_now(p.group).members
    idle = [m.client_id for m in members if not m.partitions]
    busy = len(members) - len(idle)
    return Verdict(bool(idle) and busy > 0, f"{p.group}: {busy} with partitions, {len(idle)} idle")


def lag_above(kafka: Kafka, p: GroupLag) -> Verdict:
    lag = kafka.group_now(p.group).total_lag
    return Verdict(lag > p.lag, f"{p.group}' lag {lag}")


def lag_below(kafka: Kafka, p: GroupLag) -> Verdict:
    lag = kafka.group_now(p.group).total_lag
    return Verdict(lag < p.lag, f"{p.group}' lag {lag}")


def group_protocol(kafka: Kafka, p: GroupProtocolSeen) -> Verdict:
    group = kafka.group_now(p.group)
    seen = (group.group_type, group.assignor)
    return Verdict(bool(group.members) and seen == (p.type, p.assignor), f"{p.group}: a {seen[0]} group, assigned by {seen[1] or '?'}")


def late_reader_from_zero(kafka: Kafka, p: Nothing) -> Verdict:
    """A late reader has read at least every record `orders` held as the step began: it started at offset 0."""
    held = _total(kafka.before, kafka.topics.orders)
    readers = [r for r in kafka.floor.roles() if r.name.startswith("late-")]
    read = max((r.counters.get("seen", 0) + r.counters.get("unreadable", 0) for r in readers), default=0)
    return Verdict(bool(readers) and read >= held > 0, f"the late reader read {read} of the {held} records there before it")


def served_again(kafka: Kafka, p: AtLeast) -> Verdict:
    """Orders written to served since the step began that were served before it: a rewound group served them again."""
    before, since = _split(kafka, kafka.topics.served)
    earlier = {_order_id(kafka, m.value()) for m in before} - {""}
    again = {order_id for m in since if (order_id := _order_id(kafka, m.value())) in earlier}
    return Verdict(len(again) >= p.at_least, f"{len(again)} orders served again")


def _split(kafka: Kafka, topic: str) -> tuple[list[Message], list[Message]]:
    """A topic's records, read from Kafka: those there as the step began, and those written since."""
    ends = kafka.before.end_offsets.get(topic, {})
    records = read_to_end(kafka.session.settings, topic)
    since = [m for m in records if (m.offset() or 0) >= ends.get(m.partition() or 0, 0)]
    return [m for m in records if (m.offset() or 0) < ends.get(m.partition() or 0, 0)], since


def _order_id(kafka: Kafka, value: bytes | None) -> str:
    order = _order(kafka, value)
    return order.id if order else ""


def _order(kafka: Kafka, value: bytes | None) -> Order | None:
    try:
        return Order.from_json(value, kafka.floor.menu)
    except InvalidOrder:
        return None


def dead_letter_with_reason(kafka: Kafka, p: AtLeast) -> Verdict:
    """Records set aside on the dead-letter topic since the step began, each with the `reason` header the shop gives it."""
    reasons = [dict(m.headers() or []).get("reason") for m in _split(kafka, kafka.topics.dead_letters)[1]]
    given = [r.decode(errors="replace") for r in reasons if isinstance(r, bytes)]
    return Verdict(len(given) >= p.at_least, f"{len(given)} dead letters" + (f", the last because: {given[-1]}" if given else ""))


def records_not_committed(kafka: Kafka, p: AtLeast) -> Verdict:
    """Records on served since the step began that a read_uncommitted reader sees and a read_committed one does not."""
    ends = kafka.before.end_offsets.get(kafka.topics.served, {})
    hidden = [m for m in uncommitted_only(kafka.session.settings, kafka.topics.served) if (m.offset() or 0) >= ends.get(m.partition() or 0, 0)]
    return Verdict(len(hidden) >= p.at_least, f"{len(hidden)} records on served that only a read_uncommitted reader sees")


def aborted_served_once(kafka: Kafka, p: AtLeast) -> Verdict:
    """The orders of records no read_committed reader sees (aborted) are each on served once, committed: the board's view."""
    aborted = {_order_id(kafka, m.value()) for m in uncommitted_only(kafka.session.settings, kafka.topics.served)} - {""}
    served = Counter(_order_id(kafka, m.value()) for m in read_to_end(kafka.session.settings, kafka.topics.served))
    once = [order for order in aborted if served[order] == 1]
    twice = sum(1 for n in served.values() if n > 1)
    said = f"{len(aborted)} orders in records read_committed skips; {len(once)} of them served once, committed; {twice} served twice"
    return Verdict(len(aborted) >= p.at_least and len(once) == len(aborted) and not twice, said)


# lesson 12, replication: read from the cluster's metadata (kafka/replication.py) on fishchips's three-node cluster
class TopicReplicas(msgspec.Struct, forbid_unknown_fields=True):
    topic: TopicName = "orders"


def _partitions(kafka: Kafka, topic: TopicName) -> tuple[set[int], list[PartitionReplicas], str]:
    """The nodes down, the topic's partitions, and both in words, as Kafka's metadata has them now."""
    view = kafka.replication()
    if not view.answered:
        raise FishchipsError(view.problem)
    down = {broker.node for broker in view.brokers if not broker.up}
    partitions = [p for p in view.partitions if p.topic == kafka.topic(topic)]
    said = ", ".join(f"p{p.partition}: leader {p.leader}, in sync {_nodes(p.in_sync)} of {_nodes(p.replicas)}" for p in partitions)
    return down, partitions, (f"broker {_nodes(tuple(sorted(down)))} down; " if down else "every broker up; ") + (said or f"no {topic} yet")


def _nodes(nodes: tuple[int, ...]) -> str:
    return ",".join(map(str, nodes)) or "none"


def replicas_in_sync(kafka: Kafka, p: TopicReplicas) -> Verdict:
    """Every broker up, and every replica of every partition of the topic in sync."""
    down, partitions, said = _partitions(kafka, p.topic)
    return Verdict(not down and bool(partitions) and not any(q.under_replicated for q in partitions), said)


def leaders_moved(kafka: Kafka, p: TopicReplicas) -> Verdict:
    """A broker is down, and each partition of the topic is led by one that is up: the controllers moved its leaders."""
    down, partitions, said = _partitions(kafka, p.topic)
    return Verdict(bool(down) and bool(partitions) and all(q.leader is not None and q.leader not in down for q in partitions), said)


def isr_shrank(kafka: Kafka, p: TopicReplicas) -> Verdict:
    """The broker down is in no partition's ISR: fewer replicas in sync than there are, and acks=all waits for those only."""
    down, partitions, said = _partitions(kafka, p.topic)
    return Verdict(bool(down) and bool(partitions) and all(q.under_replicated and not down & set(q.in_sync) for q in partitions), said)


def not_enough_replicas(kafka: Kafka, p: Nothing) -> Verdict:
    """An acks=all write (retries off) to the topic that wants all three replicas in sync is refused with NOT_ENOUGH_REPLICAS.
    Written where the eyes keep their client: on three nodes a process of its own, as its producer meets a dead broker."""
    topic = strict_topic(kafka.topics.prefix)
    answer = kafka.eyes.run(functools.partial(write_answer, kafka.session.settings, topic))
    return Verdict(answer.startswith("NOT_ENOUGH_REPLICAS"), f"an acks=all write to {topic}: Kafka answered {answer}")


# lesson 13, queues: the share group (demo6) beside the consumer group, as Kafka's own tool and the served records show it
class ShareGroupSize(msgspec.Struct, forbid_unknown_fields=True):
    count: int


def _share_served(kafka: Kafka) -> list[Message]:
    """What the share group served since the step began (it serves onto a topic of its own in demo6)."""
    return _split(kafka, kafka.topics.served_shared)[1]


def _header(message: Message, name: str) -> str:
    value = dict(message.headers() or []).get(name)
    return value.decode(errors="replace") if isinstance(value, bytes) else ""


def share_members_busy(kafka: Kafka, p: ShareGroupSize) -> Verdict:
    """The share group has `count` members, Kafka gives every one of them partitions (kafka-share-groups.sh --describe),
    and every one has served an order since the step began."""
    serving = {_header(m, "preparer") for m in _share_served(kafka)} - {""}
    if len(serving) < p.count:
        return Verdict(False, f"{len(serving)} share preparers served since the step began")
    view = share_groups.describe(kafka.session.settings, share_group(kafka.topics))
    given = {member.client_id for member in view.members if member.partitions}
    passed = len(view.members) == p.count and len(given) == p.count and given <= serving
    return Verdict(
        passed, f"the share group: {len(view.members)} members, {len(given)} given partitions, {len(serving)} served since the step began"
    )


def redelivered(kafka: Kafka, p: AtLeast) -> Verdict:
    """Orders the share group served since the step began that the broker had lent out before: a delivery count above 1
    (the broker's count, which a member reads with each record and the shop writes on the served record)."""
    counts = [int(count) for m in _share_served(kafka) if (count := _header(m, "delivery")).isdigit()]
    again = [count for count in counts if count > 1]
    return Verdict(
        len(again) >= p.at_least, f"{len(again)} orders served with a delivery count above 1 (the highest {max(counts, default=0)})"
    )


class SinkLag(msgspec.Struct, forbid_unknown_fields=True):
    lag: int


def sink_running(kafka: Kafka, p: Nothing) -> Verdict:
    """The shop's sink as the worker reports it (connector and task RUNNING), and its consumer group as Kafka does (stable)."""
    sink = registered_sink(kafka.session.settings, kafka.topics)
    report = sink_report(sink.state, sink.names)
    tasks = [task["state"] for task in report["tasks"]]
    passed = report["state"] == "RUNNING" and tasks == ["RUNNING"] * len(tasks) != [] and report["group_state"] == "STABLE"
    said = f"{report['connector']} {report['state']}, tasks {', '.join(tasks) or 'none'}; its group {report['group']} {report['group_state']}"
    return Verdict(passed, said)


def sink_lag_above(kafka: Kafka, p: SinkLag) -> Verdict:
    """The sink's consumer group is behind on the rows topic by more than `lag` (a paused connector reads nothing); the
    worker's word on the connector beside it. A running sink commits every second, so it is a second behind at most."""
    sink = registered_sink(kafka.session.settings, kafka.topics)
    lag = kafka.eyes.run(functools.partial(_lag, kafka.session.settings, sink.names.sink_group, sink.names.rows))
    state = (sink_status(sink.state, sink.names) or {}).get("connector", {}).get("state", "MISSING")
    return Verdict(lag > p.lag, f"{sink.names.sink_group}'s lag {lag}; the worker says the connector is {state}")


def _lag(settings: ConnectionSettings, group: str, topic: str) -> int:
    return behind(clients.admin(settings), group, topic)


def table_matches_served(kafka: Kafka, p: AtLeast) -> Verdict:
    """Every order on served as the step began is a row of the sink's table, by its id, and every row is an order Kafka
    served: the books in PostgreSQL, and no consumer of ours wrote them."""
    sink = registered_sink(kafka.session.settings, kafka.topics)
    before, since = _split(kafka, kafka.topics.served)
    rows = table_ids(sink.db_url, sink.names)  # after the read: a row written meanwhile is of an order served by then
    earlier = {_order_id(kafka, m.value()) for m in before} - {""}
    served = earlier | {_order_id(kafka, m.value()) for m in since}
    missing, strays = earlier - rows, rows - served
    if strays:  # served after the read above, and a row already: read served again before calling them strays
        strays -= {_order_id(kafka, m.value()) for m in read_to_end(kafka.session.settings, kafka.topics.served)}
    said = f"table {sink.names.table}: {len(rows)} rows; {len(earlier) - len(missing)} of the {len(earlier)} orders served before this step"
    return Verdict(len(earlier) >= p.at_least and not missing and not strays, said + f" are rows; {len(strays)} rows of no order served")


def cabinet_took_once(kafka: Kafka, p: AtLeast) -> Verdict:
    """Each of this shop's orders served on Kafka took its portions from the hot cabinet once, as Redis and Kafka both say."""
    floor = kafka.floor
    if floor.cabinet is None or floor.cabinet_at_start is None:
        return Verdict(False, f"{floor.scenario.name} has no hot cabinet: a lesson with one uses demo5")
    mine = f"{floor.run_id}-"  # this shop's orders (an order's id begins with its run's)
    served = Counter(i for m in read_to_end(kafka.session.settings, kafka.topics.served) if (i := _order_id(kafka, m.value())).startswith(mine))
    now, taken = floor.cabinet.state_and_takes()  # after the read: every order served by then was taken by then
    asked = {order.id: portions(order.parts, floor.menu) for m in read_to_end(kafka.session.settings, kafka.topics.orders) if (order := _order(kafka, m.value()))}
    return took_once(now, now.since(floor.cabinet_at_start), {i for i in taken if i.startswith(mine)}, asked, served, p.at_least)


def took_once(
    now: CabinetState, run: CabinetState, took: set[str], asked: Mapping[str, Mapping[str, int]], served: Counter[str], at_least: int
) -> Verdict:
    """The cabinet's accounts against Kafka's. Redis remembers a take for each order in `took`; since the shop opened (`run`)
    it counted one take per id and gave out exactly those orders' portions (as `asked` on `orders`), and stock = cooked -
    served (`now`). Kafka served (`served`: order id -> times on `served`, committed) no order twice, and none untaken."""
    given = Counter[str]()
    for order_id in took:
        given.update(asked.get(order_id, {}))
    untaken, twice = set(served) - took, sum(1 for n in served.values() if n > 1)
    right = run.orders_taken == len(took) and all(run.served[item] == given[item] for item in run.served) and now.balanced
    said = (
        f"{len(took)} orders took from the cabinet, {run.orders_taken} takes counted, {sum(run.served.values())} portions given out, "
        f"{sum(given.values())} as those orders ask; {len(served)} served on Kafka, {len(untaken)} without a take, {twice} twice; "
        + ("stock = cooked - served" if now.balanced else "; ".join(now.unbalanced()))
    )
    return Verdict(len(took) >= at_least and right and not untaken and not twice, said)


def aborted_took_once(kafka: Kafka, p: AtLeast) -> Verdict:
    """After a preparer killed mid-transaction: each aborted order served once, committed, and the cabinet gave out its
    portions once (the retry was told "already taken"): exactly once across the edge of Kafka."""
    aborted, cabinet = aborted_served_once(kafka, p), cabinet_took_once(kafka, p)
    return Verdict(aborted.passed and cabinet.passed, f"{aborted.said}; {cabinet.said}")


CHECKS: dict[str, NamedCheck[Any]] = {
    "topic_has_records": NamedCheck(TopicRecords, topic_has_records, "a topic's end offsets reach at_least (on every_partition)"),
    "topic_grew": NamedCheck(TopicGrowth, topic_grew, "a topic's end offsets grew by `by` since the step began"),
    "same_key_same_partition": NamedCheck(SameKey, same_key_same_partition, "every order with `key` is on one partition"),
    "group_members": NamedCheck(GroupSize, group_members, "a group has `count` members"),
    "every_partition_assigned": NamedCheck(Group, every_partition_assigned, "a group's members hold every partition it reads"),
    "member_idle": NamedCheck(Group, member_idle, "a group has a member with no partition"),
    "lag_above": NamedCheck(GroupLag, lag_above, "a group's lag is above `lag`"),
    "lag_below": NamedCheck(GroupLag, lag_below, "a group's lag is below `lag`"),
    "group_protocol": NamedCheck(GroupProtocolSeen, group_protocol, "a group's members rebalance by this protocol and assignor"),
    "late_reader_from_zero": NamedCheck(Nothing, late_reader_from_zero, "a late reader read what orders held before it came"),
    "served_again": NamedCheck(AtLeast, served_again, "at_least orders served before the step are served again"),
    "dead_letter_with_reason": NamedCheck(AtLeast, dead_letter_with_reason, "at_least dead letters since the step began, with reasons"),
    "records_not_committed": NamedCheck(AtLeast, records_not_committed, "at_least records on served since the step began, not committed"),
    "aborted_served_once": NamedCheck(AtLeast, aborted_served_once, "at_least aborted orders, each served once, committed"),
    # lessons 12 and 13
    "replicas_in_sync": NamedCheck(TopicReplicas, replicas_in_sync, "every broker up, every replica of the topic in sync", nodes=3),
    "leaders_moved": NamedCheck(TopicReplicas, leaders_moved, "a broker down, every partition of the topic led by one up", nodes=3),
    "isr_shrank": NamedCheck(TopicReplicas, isr_shrank, "the broker down in no ISR of the topic", nodes=3),
    "not_enough_replicas": NamedCheck(Nothing, not_enough_replicas, "an acks=all write to the strict topic refused", nodes=3),
    "share_members_busy": NamedCheck(
        ShareGroupSize, share_members_busy, "the share group's `count` members each given partitions, each serving"
    ),
    "redelivered": NamedCheck(AtLeast, redelivered, "at_least orders the share group served with a delivery count above 1"),
    # lesson 14, Kafka Connect; lesson 15, the hot cabinet
    "sink_running": NamedCheck(Nothing, sink_running, "the shop's Connect sink and its task run, and its group is stable"),
    "sink_lag_above": NamedCheck(SinkLag, sink_lag_above, "the sink's group is behind on the rows topic by more than `lag`"),
    "table_matches_served": NamedCheck(AtLeast, table_matches_served, "the sink's table in PostgreSQL has a row per order served"),
    "cabinet_took_once": NamedCheck(AtLeast, cabinet_took_once, "each order served took from the hot cabinet once, by its id"),
    "aborted_took_once": NamedCheck(AtLeast, aborted_took_once, "aborted orders each served once and taken from the cabinet once"),
}
