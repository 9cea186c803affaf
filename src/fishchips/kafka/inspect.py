"""Kafka's own view of the shop, read from the cluster's admin API (never from the app's counters):
topics and their partitions' end offsets, consumer groups, their members and assignments,
committed offsets and lag.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from confluent_kafka import ConsumerGroupTopicPartitions, IsolationLevel, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from fishchips.errors import FishchipsError
from fishchips.waiting import retrying

TIMEOUT = 10.0
# what a broker answers about a partition whose leader it is still electing
NOT_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.UNKNOWN_LEADER_EPOCH,  # the broker has not caught up yet with the leader we were told of (seen in CI on a young topic)
    KafkaError.FENCED_LEADER_EPOCH,
}
# ... and about a consumer group whose coordinator is still being chosen or loaded
COORDINATOR_NOT_YET = {
    KafkaError._TIMED_OUT,
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
}


@dataclass(frozen=True)
class Member:
    client_id: str
    host: str
    partitions: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GroupView:
    name: str
    state: str
    members: tuple[Member, ...]
    committed: dict[tuple[str, int], int]  # (topic, partition) -> next offset to read
    lag: dict[tuple[str, int], int]
    group_type: str = "UNKNOWN"  # CLASSIC or CONSUMER (Kafka 4's protocol): which way the group rebalances
    assignor: str = ""  # who chose the assignment: range, cooperative-sticky, uniform (the broker's), ...

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


@dataclass(frozen=True)
class ClusterView:
    end_offsets: dict[str, dict[int, int]]  # topic -> partition -> end offset
    groups: dict[str, GroupView] = field(default_factory=dict)


def end_offsets(admin: AdminClient, topics: Iterable[str]) -> dict[str, dict[int, int]]:
    """The offset the next event on each partition will get (its high watermark)."""
    return _offsets(admin, topics, OffsetSpec.latest())  # type: ignore[no-untyped-call]  # confluent-kafka leaves this classmethod unannotated


def stable_offsets(admin: AdminClient, topics: Iterable[str]) -> dict[str, dict[int, int]]:
    """The last stable offset of each partition: where a read_committed reader stops while a transaction is open."""
    return _offsets(admin, topics, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED)  # type: ignore[no-untyped-call]


def start_offsets(admin: AdminClient, topics: Iterable[str]) -> dict[str, dict[int, int]]:
    """The offset of the oldest event each partition still keeps."""
    return _offsets(admin, topics, OffsetSpec.earliest())  # type: ignore[no-untyped-call]


def _offsets(
    admin: AdminClient, topics: Iterable[str], spec: OffsetSpec, isolation: IsolationLevel = IsolationLevel.READ_UNCOMMITTED
) -> dict[str, dict[int, int]]:
    topics = list(topics)
    # a partition created a moment ago may not have its leader yet: ask again
    return retrying(lambda: _list_offsets(admin, topics, spec, isolation), TIMEOUT, every=0.1, also=frozenset(NOT_YET))


def _list_offsets(admin: AdminClient, topics: list[str], spec: OffsetSpec, isolation: IsolationLevel) -> dict[str, dict[int, int]]:
    metadata = admin.list_topics(timeout=TIMEOUT).topics
    request = {TopicPartition(t, p): spec for t in topics if t in metadata for p in metadata[t].partitions}
    result: dict[str, dict[int, int]] = {t: {} for t in topics if t in metadata}
    if request:
        for tp, future in admin.list_offsets(request, isolation_level=isolation, request_timeout=TIMEOUT).items():
            if (offset := future.result().offset) < 0:  # seen on a young cluster under load, as if the partition had no leader yet
                raise KafkaException(KafkaError(KafkaError.LEADER_NOT_AVAILABLE, f"no end offset yet for {tp.topic}/{tp.partition}"))
            result[tp.topic][tp.partition] = offset
    return result


def committed_offsets(admin: AdminClient, group: str) -> dict[tuple[str, int], int]:
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)], request_timeout=TIMEOUT)[group]
    return {(tp.topic, tp.partition): tp.offset for tp in future.result().topic_partitions if tp.offset >= 0}


def describe_group(admin: AdminClient, group: str, ends: dict[str, dict[int, int]]) -> GroupView:
    description = admin.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result()
    members = tuple(
        Member(m.client_id, m.host, tuple(sorted((tp.topic, tp.partition) for tp in m.assignment.topic_partitions)))
        for m in sorted(description.members, key=lambda m: m.client_id)
    )
    committed = committed_offsets(admin, group)
    lag = {}
    for topic, partitions in ends.items():
        for partition, end in partitions.items():
            if (topic, partition) in committed or any((topic, partition) in m.partitions for m in members):
                lag[(topic, partition)] = max(0, end - committed.get((topic, partition), 0))
    return GroupView(group, description.state.name, members, committed, lag, description.type.name, description.partition_assignor or "")


def snapshot(admin: AdminClient, topics: Iterable[str], groups: Iterable[str]) -> ClusterView:
    """One consistent-enough look at the shop's topics and groups, for the live view and the lag check."""
    try:
        ends = end_offsets(admin, list(topics))
        return ClusterView(ends, {g: describe_group(admin, g, ends) for g in groups})
    except KafkaException as exc:
        raise FishchipsError(f"cannot read the cluster's view: {exc.args[0].str()}") from None


def move_group_to_end(admin: AdminClient, group: str, topics: Iterable[str]) -> None:
    """Make a group skip everything already in its topics: a new run serves only its own orders.

    Kafka only lets this happen while the group has no members.
    """
    _move_group(
        admin,
        group,
        end_offsets(admin, topics),
        f"cannot skip the orders left in {group}",
        "stop its other members first, or pass --resume to serve them",
    )


def move_group_to_start(admin: AdminClient, group: str, topics: Iterable[str]) -> None:
    """Rewind a group to the oldest events its topics keep: its members read them all again.

    Kafka only lets this happen while the group has no members.
    """
    _move_group(admin, group, start_offsets(admin, topics), f"cannot rewind {group}", "stop its members first")


def _move_group(admin: AdminClient, group: str, offsets: dict[str, dict[int, int]], failed: str, advice: str) -> None:
    partitions = [TopicPartition(t, p, offset) for t, by_partition in offsets.items() for p, offset in by_partition.items()]
    if not partitions:
        return
    request = [ConsumerGroupTopicPartitions(group, partitions)]
    try:
        # a young cluster may still be electing the group's coordinator: ask again, with a pause between
        retrying(
            lambda: admin.alter_consumer_group_offsets(request, request_timeout=TIMEOUT)[group].result(),
            3 * TIMEOUT,
            every=0.2,
            also=frozenset(COORDINATOR_NOT_YET),
        )
    except KafkaException as exc:
        raise FishchipsError(f"{failed}: {exc.args[0].str()}; {advice}") from None
