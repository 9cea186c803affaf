"""The JDBC sink's and the worker's configuration, as pure data: what makes the replay harmless and the errors visible."""

from pathlib import Path

import pytest

from fishchips.kafka.connect_worker import ConnectError, ConnectNames, sink_config, worker_settings
from fishchips.kafka.topics import Topics

NAMES = ConnectNames(Topics("shop-7"))


def test_the_sink_upserts_on_the_order_id_and_sets_bad_records_aside() -> None:
    config = sink_config(NAMES, "postgresql://clerk:secret@127.0.0.1:5433/books")
    assert config["connection.url"] == "jdbc:postgresql://127.0.0.1:5433/books"
    assert (config["connection.username"], config["connection.password"]) == ("clerk", "secret")
    assert (config["insert.mode"], config["primary.key.mode"], config["primary.key.fields"]) == ("upsert", "record_value", "id")
    assert config["topics"] == "shop-7.served-rows" and config["collection.name.format"] == "shop_7_served_orders"
    assert config["errors.tolerance"] == "all" and config["errors.deadletterqueue.topic.name"] == "shop-7.connect-dead-letters"
    assert config["errors.deadletterqueue.context.headers.enable"] == "true"
    assert config["value.converter.schemas.enable"] == "true"


def test_the_sink_wants_postgresql() -> None:
    with pytest.raises(ConnectError, match="needs a PostgreSQL URL"):
        sink_config(NAMES, "mysql://root@127.0.0.1/shop")


def test_the_worker_keeps_its_state_under_the_shop_prefix_and_listens_on_loopback() -> None:
    settings = worker_settings(NAMES, "127.0.0.1:9092", 18083, Path("/cache/connect-plugins"))
    assert settings["group.id"] == "shop-7.connect"
    assert {settings[f"{kind}.storage.topic"] for kind in ("config", "offset", "status")} == {
        "shop-7.connect-configs",
        "shop-7.connect-offsets",
        "shop-7.connect-status",
    }
    assert settings["listeners"] == "http://127.0.0.1:18083"
    assert settings["plugin.path"] == "/cache/connect-plugins"
    assert NAMES.sink_group == "connect-shop-7.orders-sink"
