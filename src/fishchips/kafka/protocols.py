"""The three ways a consumer group can rebalance, as librdkafka settings.

- classic-eager: the classic protocol with the eager `range,roundrobin` assignors (librdkafka's
  default). On every rebalance every member gives up every partition, then gets a new set.
- classic-cooperative: the classic protocol with the `cooperative-sticky` assignor. Members
  keep the partitions that do not have to move; only the moved ones stop, in a second round.
- consumer: Kafka 4's consumer group protocol (KIP-848). The broker computes the assignment
  and members reconcile it one heartbeat at a time; nothing is stopped that need not move.

The names say what a beginner has to tell apart: which protocol (classic or the new one,
whose name in Kafka is `consumer`) and, for classic, whether its rebalances stop everyone.

Under the `consumer` protocol the session timeout and heartbeat interval are the broker's
(group.consumer.* in broker/embedded.py), and librdkafka refuses to create a consumer that
sets any of CLASSIC_ONLY: so they are dropped from the settings, not passed on.
"""

import enum
from collections.abc import Mapping
from typing import Any


class GroupProtocol(enum.StrEnum):
    CLASSIC_EAGER = "classic-eager"
    CLASSIC_COOPERATIVE = "classic-cooperative"
    CONSUMER = "consumer"

    @property
    def group_type(self) -> str:
        """The group's type as the admin API names it (ConsumerGroupDescription.type): CLASSIC or CONSUMER."""
        return "CONSUMER" if self is GroupProtocol.CONSUMER else "CLASSIC"

    @property
    def incremental(self) -> bool:
        """True when on_assign/on_revoke get only the partitions that change, not the whole assignment."""
        return self is not GroupProtocol.CLASSIC_EAGER


# librdkafka rejects each of these when group.protocol=consumer ("... is not supported for
# `group.protocol=consumer`"): the broker owns the session and heartbeat, and assigns itself.
CLASSIC_ONLY = ("session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy", "group.protocol.type")

PROTOCOL_SETTINGS: dict[GroupProtocol, dict[str, str]] = {
    # librdkafka's own default, said out loud: both eager, and every member offers range first
    GroupProtocol.CLASSIC_EAGER: {"group.protocol": "classic", "partition.assignment.strategy": "range,roundrobin"},
    GroupProtocol.CLASSIC_COOPERATIVE: {"group.protocol": "classic", "partition.assignment.strategy": "cooperative-sticky"},
    # group.remote.assignor is left unset: the broker's first assignor (uniform, which is sticky) decides
    GroupProtocol.CONSUMER: {"group.protocol": "consumer"},
}


def consumer_settings(protocol: GroupProtocol, settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` with the protocol's applied; under `consumer`, without the settings librdkafka would refuse."""
    merged = {**settings, **PROTOCOL_SETTINGS[protocol]}
    if protocol is GroupProtocol.CONSUMER:
        for key in CLASSIC_ONLY:
            merged.pop(key, None)
    return merged
