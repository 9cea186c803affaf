"""The three rebalance protocols as librdkafka settings: what each sets, and what `consumer` must not."""

import pytest
from confluent_kafka import Consumer, KafkaException

from fishchips.kafka.clients import CONSUMER_SETTINGS
from fishchips.kafka.protocols import CLASSIC_ONLY, GroupProtocol, consumer_settings


def test_classic_eager_is_librdkafkas_default_said_out_loud() -> None:
    settings = consumer_settings(GroupProtocol.CLASSIC_EAGER, CONSUMER_SETTINGS)
    assert settings["group.protocol"] == "classic"
    assert settings["partition.assignment.strategy"] == "range,roundrobin"
    assert settings["session.timeout.ms"] == CONSUMER_SETTINGS["session.timeout.ms"]


def test_classic_cooperative_uses_the_cooperative_sticky_assignor() -> None:
    settings = consumer_settings(GroupProtocol.CLASSIC_COOPERATIVE, CONSUMER_SETTINGS)
    assert settings["group.protocol"] == "classic"
    assert settings["partition.assignment.strategy"] == "cooperative-sticky"
    assert settings["heartbeat.interval.ms"] == CONSUMER_SETTINGS["heartbeat.interval.ms"]


def test_consumer_protocol_drops_what_the_broker_decides() -> None:
    given = {**CONSUMER_SETTINGS, "partition.assignment.strategy": "range", "group.protocol.type": "consumer", "group.id": "g"}
    settings = consumer_settings(GroupProtocol.CONSUMER, given)
    assert settings["group.protocol"] == "consumer"
    assert not set(CLASSIC_ONLY) & set(settings)
    assert settings["group.id"] == "g"
    assert settings["enable.auto.commit"] is False  # the rest is kept
    assert "session.timeout.ms" in given  # the caller's settings are not changed


@pytest.mark.parametrize("protocol", list(GroupProtocol))
def test_librdkafka_accepts_each_protocols_settings(protocol: GroupProtocol) -> None:
    """librdkafka checks the settings when the client is made, before it connects anywhere."""
    settings = consumer_settings(protocol, {**CONSUMER_SETTINGS, "group.id": "g", "bootstrap.servers": "127.0.0.1:1"})
    Consumer(settings).close()


@pytest.mark.parametrize("key", CLASSIC_ONLY)
def test_librdkafka_refuses_classic_settings_under_the_consumer_protocol(key: str) -> None:
    """Why consumer_settings drops them: each one alone stops the consumer from being made."""
    value = {"partition.assignment.strategy": "range", "group.protocol.type": "consumer"}.get(key, "10000")
    settings = {"group.protocol": "consumer", "group.id": "g", "bootstrap.servers": "127.0.0.1:1", key: value}
    with pytest.raises(KafkaException, match=f"`{key}` is not supported"):
        Consumer(settings)


@pytest.mark.parametrize(
    ("protocol", "group_type", "incremental"),
    [("classic-eager", "CLASSIC", False), ("classic-cooperative", "CLASSIC", True), ("consumer", "CONSUMER", True)],
)
def test_each_protocol_knows_its_group_type_and_whether_callbacks_get_deltas(protocol: str, group_type: str, incremental: bool) -> None:
    assert GroupProtocol(protocol).group_type == group_type
    assert GroupProtocol(protocol).incremental is incremental
