"""Creating the topics the shop needs, or checking that existing ones fit."""

from collections.abc import Mapping

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from fishchips.errors import FishchipsError

TIMEOUT = 15.0


class TopicError(FishchipsError):
    """A topic could not be created, or exists with a shape the scenario cannot use."""


def ensure_topics(admin: AdminClient, wanted: Mapping[str, int], replication: int = 1) -> dict[str, int]:
    """Create missing topics with the wanted partitions; return each topic's partition count.

    An existing topic may have more partitions than wanted (still works), never fewer.
    """
    existing = {name: len(meta.partitions) for name, meta in admin.list_topics(timeout=TIMEOUT).topics.items()}
    missing = [
        NewTopic(name, num_partitions=count, replication_factor=replication) for name, count in wanted.items() if name not in existing
    ]
    if missing:
        for name, future in admin.create_topics(missing, operation_timeout=TIMEOUT, request_timeout=TIMEOUT).items():
            try:
                future.result()
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:  # another process made it first: fine
                    raise TopicError(f"cannot create topic {name}: {exc.args[0].str()}") from None
        existing = {name: len(meta.partitions) for name, meta in admin.list_topics(timeout=TIMEOUT).topics.items()}
    for name, count in wanted.items():
        if existing.get(name, 0) < count:
            raise TopicError(
                f"topic {name} has {existing.get(name, 0)} partitions but this scenario needs {count}: delete it or use a fresh --prefix"
            )
    return {name: existing[name] for name in wanted}
