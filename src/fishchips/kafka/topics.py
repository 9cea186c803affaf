"""Creating the topics the shop needs, or checking that existing ones fit."""

from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from fishchips.errors import FishchipsError
from fishchips.waiting import until

TIMEOUT = 15.0


class TopicError(FishchipsError):
    """A topic could not be created, or exists with a shape the scenario cannot use."""


def durability(brokers: int) -> tuple[int, dict[str, str]]:
    """Replicas and settings for a new topic: three copies where there are three brokers, and a write
    is acknowledged only once two hold it, so losing any one broker loses no order and stops no till."""
    if brokers >= 3:
        return 3, {"min.insync.replicas": "2"}
    return brokers, {}


def ensure_topics(admin: AdminClient, wanted: Mapping[str, int]) -> dict[str, int]:
    """Create missing topics with the wanted partitions; return each topic's partition count.

    An existing topic with more partitions than wanted still works; one with fewer is grown.
    """
    metadata = admin.list_topics(timeout=TIMEOUT)
    existing = {name: len(meta.partitions) for name, meta in metadata.topics.items()}
    replication, config = durability(len(metadata.brokers))
    missing = [
        NewTopic(name, num_partitions=count, replication_factor=replication, config=config)
        for name, count in wanted.items()
        if name not in existing
    ]
    if missing:
        for name, future in admin.create_topics(missing, operation_timeout=TIMEOUT, request_timeout=TIMEOUT).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another process made it first: fine
                    raise TopicError(f"cannot create topic {name}: {exc.args[0].str()}") from None
        # a new topic takes a moment to show in every broker's metadata: wait, or it would look too small and be "grown"
        existing = _await_leaders(admin, {topic.topic: topic.num_partitions for topic in missing})
    grow = [NewPartitions(name, count) for name, count in wanted.items() if existing[name] < count]
    if grow:  # Kafka can add partitions (never remove them): keyed events may then map elsewhere
        for name, future in admin.create_partitions(grow, operation_timeout=TIMEOUT, request_timeout=TIMEOUT).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.INVALID_PARTITIONS:  # another process grew it first: fine
                    raise TopicError(
                        f"topic {name} has {existing[name]} partitions, fewer than needed, and cannot grow: {exc.args[0].str()}"
                    ) from None
        existing = _await_leaders(admin, wanted)
    return {name: existing[name] for name in wanted}


def _await_leaders(admin: AdminClient, wanted: Mapping[str, int]) -> dict[str, int]:
    """A new partition takes a moment to get a leader; until then reads and writes to it fail.

    Returns the partition counts of the metadata that showed them all: each broker learns of a
    new topic in its own time, so asking again might meet one that has not yet.
    """
    counts: dict[str, int] = {}

    def led() -> bool:
        topics = admin.list_topics(timeout=TIMEOUT).topics
        if all(
            name in topics and len(topics[name].partitions) >= count and all(p.leader >= 0 for p in topics[name].partitions.values())
            for name, count in wanted.items()
        ):
            counts.update({name: len(meta.partitions) for name, meta in topics.items()})
            return True
        return False

    if until(led, TIMEOUT, every=0.05):
        return counts
    raise TopicError(f"the topics {', '.join(wanted)} have no leader after {TIMEOUT:.0f} s: see `fishchips broker logs`")


@dataclass(frozen=True)
class Topics:
    """The shop's topic names, all under one prefix so runs and tests can keep apart."""

    prefix: str = "fishchips"

    @property
    def orders(self) -> str:
        return f"{self.prefix}.orders"

    @property
    def cook(self) -> str:
        return f"{self.prefix}.cook"

    @property
    def served(self) -> str:
        return f"{self.prefix}.served"

    @property
    def served_shared(self) -> str:
        """What the share group serves (demo6): beside `served`, so each group's board counts its own."""
        return f"{self.prefix}.served.shared"

    @property
    def dead_letters(self) -> str:
        return f"{self.prefix}.dead-letters"

    def partitions(self, orders_partitions: int) -> dict[str, int]:
        """Each topic and its partitions: orders and served are split, the cook has one queue."""
        return {self.orders: orders_partitions, self.cook: 1, self.served: orders_partitions, self.dead_letters: 1}

    def group(self, role: str) -> str:
        """The consumer group of a role: all preparers share one, so they share the partitions."""
        return f"{self.prefix}.{role}"


def ensure_shop_topics(admin: AdminClient, topics: Topics, partitions: int) -> dict[str, int]:
    """The shop's topics, with `served` split at least as finely as `orders` (preparers mirror the partition)."""
    counts = ensure_topics(admin, topics.partitions(partitions))
    if counts[topics.served] < counts[topics.orders]:
        counts.update(ensure_topics(admin, {topics.served: counts[topics.orders]}))
    return counts
