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

# How long a role waits for one transactional call (init, send offsets, commit, abort) before it
# treats it as failed: well below the group's session timeout, so a role is never silent for long.
CALL_TIMEOUT = 5.0

# Fast failover, for every client: a broker that restarts, or a node that dies, costs seconds.
FAILOVER_SETTINGS = {
    # try a broker again within 1 s of losing it (default backs off to 10 s): a restarted broker is noticed at once
    "reconnect.backoff.ms": 100,
    "reconnect.backoff.max.ms": 1000,
    # a connection that cannot be set up fails after 5 s (default 30 s), so the client moves on to another node
    "socket.connection.setup.timeout.ms": 5000,
    # a request unanswered for 10 s fails (default 60 s): no call waits a minute on a dead node
    "socket.timeout.ms": 10000,
    # learn where leaders and coordinators moved every 10 s even without an error (default 5 min) ...
    "topic.metadata.refresh.interval.ms": 10000,
    # ... and forget a cached view after 30 s (default 15 min), so a dead node's leadership is not trusted for long
    "metadata.max.age.ms": 30000,
}

PRODUCER_SETTINGS = {
    **FAILOVER_SETTINGS,
    # never lose an order: the leader waits for every in-sync replica before it says "got it"
    "acks": "all",
    # retries can never write an order twice or out of order
    "enable.idempotence": True,
    # gather orders for a few ms into one request: far more throughput, little latency
    "linger.ms": 5,
    # a transaction left open by a crashed role is aborted after 10 s, so readers are not held up long
    "transaction.timeout.ms": 10000,
}

# For a producer that writes results and only needs to hear of the ones that failed (the consume-work-produce loops,
# the share preparer): a report for every result was a call into Python for every order (1.27 -> 1.14 µs a message).
FAILURES_ONLY = {"delivery.report.only.error": True}

CONSUMER_SETTINGS = {
    **FAILOVER_SETTINGS,
    # offsets are committed by the role after the work is done, never before (at-least-once)
    "enable.auto.commit": False,
    # a brand-new group starts from the first event ever: the log is the shop's memory
    "auto.offset.reset": "earliest",
    # only see the results of committed transactions
    "isolation.level": "read_committed",
    # a member that crashed is noticed (and its partitions moved) within 6 s (the broker's least), not the default 45 s
    # (classic protocol only: under the consumer protocol the broker's group.consumer.* settings say this)
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 1500,
    # a member that has not asked for work for 20 s is taken out, so a rebalance never waits 5 min (the default) on a stuck one;
    # a role's batch takes well under a second
    "max.poll.interval.ms": 20000,
}


# what `fishchips -v` asks of librdkafka: group membership, transactions, and where leaders and
# coordinators are, the three that explain how a client rode out a broker fault (-X debug=... wins)
DEBUG_CONTEXTS = "cgrp,eos,topic"


def _base(settings: ConnectionSettings, defaults: dict[str, Any]) -> dict[str, Any]:
    """The role's defaults, then the user's connection settings and -X pairs, which win."""
    debug = {"debug": DEBUG_CONTEXTS} if log.isEnabledFor(logging.DEBUG) else {}
    return {"logger": log, **defaults, **debug, **settings.client_config()}


def producer(settings: ConnectionSettings, **overrides: Any) -> Producer:
    return Producer(_base(settings, {**PRODUCER_SETTINGS, **overrides}))


def consumer(
    settings: ConnectionSettings, group_id: str, protocol: GroupProtocol = GroupProtocol.CLASSIC_EAGER, **overrides: Any
) -> Consumer:
    """A member of `group_id` that rebalances the `protocol` way."""
    return Consumer(_base(settings, consumer_settings(protocol, {**CONSUMER_SETTINGS, "group.id": group_id, **overrides})))


def admin(settings: ConnectionSettings, **overrides: Any) -> AdminClient:
    return AdminClient(_base(settings, overrides))
