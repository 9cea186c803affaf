"""Kafka's own view of replication: which brokers are up, and for each partition its leader,
its replicas and which of them are in sync; who coordinates each group and transaction.

Everything is read from the cluster (its metadata and admin API), never assumed from a
scenario, so a view shows what Kafka really did after a broker died. A poller calls
`read_replication` about once a second with one AdminClient it keeps: every call is bounded by
its timeout, and a cluster that does not answer gives a view that says so, never a hang.

Two things the Python admin client cannot ask, and what this module does instead:
- the transaction coordinators: confluent-kafka has no FindCoordinator, ListTransactions or
  DescribeTransactions call. Kafka places a transactional id the way it places a group: on the
  partition abs(hashCode(id)) % partitions of its internal topic (`__transaction_state`), whose
  leader is the coordinator. So a transaction's coordinator is that partition's leader, read from
  the same metadata as everything else (the tests check it against Kafka's own
  `kafka-transactions describe`).
- the KRaft controller: `describe_cluster` returns the "controller" the brokers name to clients,
  and on a KRaft cluster a broker names any live broker, chosen afresh for each answer (clients
  cannot reach the controllers). It is not the quorum's leader (only Java's
  describeMetadataQuorum, `kafka-metadata-quorum describe --status`, reads that), so it is kept as
  `named_controller`, and a view should not mark it as the active controller.
"""

import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata, ConsumerGroupDescription, DescribeClusterResult

TIMEOUT = 5.0  # the most one look at the cluster may take
TRANSACTIONS_TOPIC = "__transaction_state"
NO_LEADER = -1  # what the metadata says of a partition that has none


@dataclass(frozen=True)
class Broker:
    node: int
    up: bool
    address: str  # host:port, as the metadata gives it; "" for a node that is down


@dataclass(frozen=True)
class PartitionReplicas:
    topic: str
    partition: int
    leader: int | None  # None: no replica can serve it (the partition is offline)
    replicas: tuple[int, ...]  # every broker that should hold a copy, the preferred leader first
    in_sync: tuple[int, ...]  # those whose copy is caught up: only they may become leader, and acks=all waits for them

    @property
    def out_of_sync(self) -> tuple[int, ...]:
        return tuple(node for node in self.replicas if node not in self.in_sync)

    @property
    def under_replicated(self) -> bool:
        return len(self.in_sync) < len(self.replicas)

    @property
    def offline(self) -> bool:
        return self.leader is None


@dataclass(frozen=True)
class Coordinator:
    """The broker that keeps a group's offsets and membership, or a transactional id's state."""

    kind: str  # "group" or "transaction"
    name: str
    node: int | None  # None: no broker coordinates it now; `problem` says why
    problem: str = ""


@dataclass(frozen=True)
class ReplicationView:
    brokers: tuple[Broker, ...]
    named_controller: int | None  # see the module's docstring: any live broker on KRaft, not the quorum's leader
    partitions: tuple[PartitionReplicas, ...]
    coordinators: tuple[Coordinator, ...]
    problem: str = ""  # set when the cluster did not answer: then nothing else is known

    @property
    def answered(self) -> bool:
        return not self.problem

    @property
    def under_replicated(self) -> int:
        return sum(p.under_replicated for p in self.partitions)

    @property
    def offline(self) -> int:
        return sum(p.offline for p in self.partitions)

    def broker(self, node: int) -> Broker:
        return next(b for b in self.brokers if b.node == node)

    def to_json(self) -> dict[str, object]:
        """The view as plain JSON types, for the page."""
        return {
            "answered": self.answered,
            "problem": self.problem,
            "brokers": [{"node": b.node, "up": b.up, "address": b.address} for b in self.brokers],
            "named_controller": self.named_controller,
            "partitions": [
                {
                    "topic": p.topic,
                    "partition": p.partition,
                    "leader": p.leader,
                    "replicas": list(p.replicas),
                    "in_sync": list(p.in_sync),
                    "out_of_sync": list(p.out_of_sync),
                }
                for p in self.partitions
            ],
            "under_replicated": self.under_replicated,
            "offline": self.offline,
            "coordinators": [{"kind": c.kind, "name": c.name, "node": c.node, "problem": c.problem} for c in self.coordinators],
        }


def read_replication(
    admin: AdminClient,
    topics: Iterable[str],
    groups: Iterable[str] = (),
    transactional_ids: Iterable[str] = (),
    expected_nodes: Iterable[int] = (),
    timeout: float = TIMEOUT,
) -> ReplicationView:
    """One look at the topics' partitions, the brokers, and the coordinators of the groups and transactions.

    A node is down when something names it (a partition's replicas, or `expected_nodes`) but it is
    not among the live brokers: a dead broker simply vanishes from Kafka's list of brokers.
    """
    deadline = time.monotonic() + timeout
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        return _no_answer(f"the cluster did not answer in {timeout:.0f} s: {exc.args[0].str()}")
    # asked together, so the two waits overlap
    cluster = admin.describe_cluster(request_timeout=timeout)
    described = admin.describe_consumer_groups(list(groups), request_timeout=timeout) if groups else {}
    partitions = _partitions(metadata, topics)
    named = {node for p in partitions for node in p.replicas} | set(expected_nodes) | set(metadata.brokers)
    live = metadata.brokers
    brokers = tuple(Broker(node, node in live, f"{live[node].host}:{live[node].port}" if node in live else "") for node in sorted(named))
    controller = _named_controller(cluster, deadline)
    group_coordinators = tuple(_group_coordinator(name, future, deadline) for name, future in described.items())
    transactions = tuple(_transaction_coordinator(metadata, tid) for tid in transactional_ids)
    return ReplicationView(brokers, controller, partitions, group_coordinators + transactions)


def _no_answer(problem: str) -> ReplicationView:
    return ReplicationView((), None, (), (), problem)


def _partitions(metadata: ClusterMetadata, topics: Iterable[str]) -> tuple[PartitionReplicas, ...]:
    """The topics' partitions in order; a topic the cluster does not have is left out."""
    return tuple(
        PartitionReplicas(topic, p.id, p.leader if p.leader != NO_LEADER else None, tuple(p.replicas), tuple(p.isrs))
        for topic in topics
        if topic in metadata.topics
        for p in sorted(metadata.topics[topic].partitions.values(), key=lambda p: p.id)
    )


def _named_controller(future: "Future[DescribeClusterResult]", deadline: float) -> int | None:
    """The controller the cluster names, or None if it did not say by the deadline (as when the KRaft quorum is lost)."""
    try:
        return future.result(timeout=max(0.0, deadline - time.monotonic())).controller.id
    except (KafkaException, FutureTimeout):
        return None


def _group_coordinator(name: str, future: "Future[ConsumerGroupDescription]", deadline: float) -> Coordinator:
    try:
        description = future.result(timeout=max(0.0, deadline - time.monotonic()))
    except KafkaException as exc:
        return Coordinator("group", name, None, f"Kafka answered {exc.args[0].name()}")
    except FutureTimeout:
        return Coordinator("group", name, None, "the cluster did not say in time")
    return Coordinator("group", name, description.coordinator.id)


def _transaction_coordinator(metadata: ClusterMetadata, transactional_id: str) -> Coordinator:
    """The leader of the transaction log's partition that Kafka keeps this transactional id in."""
    log = metadata.topics.get(TRANSACTIONS_TOPIC)
    if log is None or not log.partitions:
        return Coordinator("transaction", transactional_id, None, "no transaction has begun on this cluster yet")
    leader = log.partitions[coordinator_partition(transactional_id, len(log.partitions))].leader
    if leader == NO_LEADER:
        return Coordinator("transaction", transactional_id, None, "its partition of the transaction log has no leader")
    return Coordinator("transaction", transactional_id, leader)


def coordinator_partition(key: str, partitions: int) -> int:
    """The partition of an internal topic (__consumer_offsets, __transaction_state) that keeps a group or
    transactional id: Kafka's Utils.abs(key.hashCode()) % partitions, with Java's String.hashCode."""
    units = key.encode("utf-16-be")  # Java hashes a string's UTF-16 code units
    hashed = 0
    for i in range(0, len(units), 2):
        hashed = (31 * hashed + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    signed = hashed - (1 << 32) if hashed >= 1 << 31 else hashed
    return (0 if signed == -(1 << 31) else abs(signed)) % partitions  # Utils.abs: the one int with no positive is 0


def render(view: ReplicationView) -> str:
    """The view as a few lines of plain text, for a terminal or a log."""
    if not view.answered:
        return view.problem
    brokers = ", ".join(f"{b.node} {'up' if b.up else 'DOWN'}" for b in view.brokers)
    lines = [
        f"brokers: {brokers}; named controller {view.named_controller if view.named_controller is not None else '?'}",
        f"partitions: {len(view.partitions)}, under-replicated {view.under_replicated}, offline {view.offline}",
    ]
    for p in view.partitions:
        leader = str(p.leader) if p.leader is not None else "none (offline)"
        behind = f"  out of sync {_nodes(p.out_of_sync)}" if p.out_of_sync else ""
        lines.append(f"{p.topic}/{p.partition}: leader {leader}  replicas {_nodes(p.replicas)}  in sync {_nodes(p.in_sync)}{behind}")
    for c in view.coordinators:
        lines.append(f"{c.kind} {c.name}: coordinator {c.node if c.node is not None else 'none (' + c.problem + ')'}")
    return "\n".join(lines)


def _nodes(nodes: tuple[int, ...]) -> str:
    return ",".join(map(str, nodes)) or "-"
