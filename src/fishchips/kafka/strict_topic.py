"""A topic that wants every replica in sync (min.insync.replicas=3 of 3), and what Kafka answers a write to it.

Where Kafka really says NOT_ENOUGH_REPLICAS (docs/replication.md): the shop's topics want two of three
replicas in sync, so one node down stops nothing, and with two down the controllers lose their majority
and an acks=all write is left waiting, not refused. A topic that wants all three refuses an acks=all
write as soon as one node is down and out of its ISR. The shop's producers are idempotent and retry that
answer until it changes; only a producer with retries off hears it, as this one does.
"""

from confluent_kafka import KafkaError, KafkaException, Message
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import TIMEOUT, TopicError, ensure_topics

ALL_IN_SYNC = "3"  # min.insync.replicas: every one of the three replicas
ANSWER_WITHIN = 10.0  # seconds a write may wait for its answer (an ISR not shrunk yet makes acks=all wait)


def strict_topic(prefix: str) -> str:
    return f"{prefix}.strict"


def create(settings: ConnectionSettings, topic: str) -> None:
    """The topic with three replicas (all nodes must be up to make it), then min.insync.replicas=3."""
    admin = clients.admin(settings)
    ensure_topics(admin, {topic: 1})
    entry = ConfigEntry("min.insync.replicas", ALL_IN_SYNC, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])
    try:
        admin.incremental_alter_configs([resource], request_timeout=TIMEOUT)[resource].result()
    except KafkaException as exc:
        raise TopicError(f"cannot make {topic} want {ALL_IN_SYNC} replicas in sync: {exc.args[0].str()}") from None


def write_answer(settings: ConnectionSettings, topic: str) -> str:
    """One acks=all write with retries off: "taken", or the name of Kafka's refusal (NOT_ENOUGH_REPLICAS)."""
    producer = clients.producer(
        settings, **{"enable.idempotence": False, "retries": 0, "acks": "all", "message.timeout.ms": int(ANSWER_WITHIN * 1000)}
    )
    answers: list[str] = []

    def report(error: KafkaError | None, message: Message) -> None:
        answers.append("taken" if error is None else str(error.name()))

    producer.produce(topic, b"a write that wants every replica", on_delivery=report)
    producer.flush(ANSWER_WITHIN + 5)
    return answers[0] if answers else "no answer"
