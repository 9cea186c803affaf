"""Client factories: every producer, consumer and admin client of the shop is made here.

librdkafka logs go to Python logging (and so to the log file, never onto a
Textual screen); the delivery settings are chosen once, with the reason beside each.
"""

import logging
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from fishchips.kafka.protocols import GroupProtocol, consumer_settings
from fishchips.kafka.settings import ConnectionSettings

log = logging.getLogger("fishchips.kafka")

PRODUCER_SETTINGS = {
    # never lose an order: the leader waits for every in-sync replica before it says "got it"
    "acks": "all",
    # retries can never write an order twice or out of order
    "enable.idempotence": True,
    # gather orders for a few ms into one request: far more throughput, little latency
    "linger.ms": 5,
    # a transaction left open by a crashed role is aborted after 10 s, so readers are not held up long
    "transaction.timeout.ms": 10000,
}

CONSUMER_SETTINGS = {
    # offsets are committed by the role after the work is done, never before (at-least-once)
    "enable.auto.commit": False,
    # a brand-new group starts from the first event ever: the log is the shop's memory
    "auto.offset.reset": "earliest",
    # only see the results of committed transactions
    "isolation.level": "read_committed",
    # a member that crashed is noticed (and its partitions moved) within 10 s, not the default 45 s
    # (classic protocol only: under the consumer protocol the broker's group.consumer.* settings say this)
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 2000,
}


def _base(settings: ConnectionSettings, defaults: dict[str, Any]) -> dict[str, Any]:
    """The role's defaults, then the user's connection settings and -X pairs, which win."""
    return {"logger": log, **defaults, **settings.client_config()}


def producer(settings: ConnectionSettings, **overrides: Any) -> Producer:
    return Producer(_base(settings, {**PRODUCER_SETTINGS, **overrides}))


def consumer(
    settings: ConnectionSettings, group_id: str, protocol: GroupProtocol = GroupProtocol.CLASSIC_EAGER, **overrides: Any
) -> Consumer:
    """A member of `group_id` that rebalances the `protocol` way."""
    return Consumer(_base(settings, consumer_settings(protocol, {**CONSUMER_SETTINGS, "group.id": group_id, **overrides})))


def admin(settings: ConnectionSettings, **overrides: Any) -> AdminClient:
    return AdminClient(_base(settings, overrides))
