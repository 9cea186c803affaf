"""The peer: the shop's preparer stage written with Quix Streams, for the benchmark alone.

It does what FoodPreparer does for an order with nothing to cook: check the order with
the shop's own strict reader, name the preparer in a header, and write it to `served`.
Quix Streams is a dev-only dependency (the `bench` extra), so it is imported only here,
only when the peer runs.
"""

import importlib.util
import threading
from typing import Any

from fishchips.bench.isolate import BenchFailed, peak_rss_mb
from fishchips.bench.stage import RACE_PROTOCOL
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.shop import Action, Menu, Order, preparer_action

# the shop's delivery and reading guarantees, so the race is between the two stages' code, not their settings
SAME_GUARANTEES = ("acks", "enable.idempotence", "linger.ms")
SAME_READING = ("isolation.level", "session.timeout.ms", "heartbeat.interval.ms")


def require_quixstreams() -> None:
    """Fail early, in one line, when the bench extra is missing."""
    if importlib.util.find_spec("quixstreams") is None:
        raise BenchFailed("the peer needs Quix Streams, a dev-only dependency: pip install -e '.[bench]'")


def quix_preparer(settings: ConnectionSettings, topics: Topics, name: str, done: Any, results: Any) -> None:
    """One Quix Streams application in this process until `done` is set, then its peak memory goes to `results`."""
    from quixstreams import Application
    from quixstreams.kafka.configuration import ConnectionConfig

    menu = Menu.load()
    config = settings.client_config()
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(config, ignore_extras=True),
        consumer_group=topics.group("quix-preparers"),
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        auto_create_topics=False,
        loglevel=None,
        producer_extra_config={key: clients.PRODUCER_SETTINGS[key] for key in SAME_GUARANTEES},
        # the race's protocol said out loud (Quix Streams sets the range assignor itself)
        consumer_extra_config={**{key: clients.CONSUMER_SETTINGS[key] for key in SAME_READING}, "group.protocol": RACE_PROTOCOL.group_type.lower()},
    )
    orders = app.topic(topics.orders, value_deserializer="bytes", key_deserializer="bytes")
    served = app.topic(topics.served, value_serializer="bytes", key_serializer="bytes")
    header = [("preparer", name.encode())]

    def prepare(value: bytes) -> bytes:
        order = Order.from_json(value, menu)  # the same strict check as the shop; a bad order stops the app
        if preparer_action(order, menu) is not Action.SERVE:
            raise ValueError(f"order {order.id} needs the cook, and the rush hour has none")
        return value

    sdf = app.dataframe(orders).apply(prepare)
    sdf = sdf.set_headers(lambda value, key, timestamp, headers: header)
    sdf.to_topic(served)
    failure = None
    finished = threading.Event()

    def stop_when_done() -> None:
        done.wait()
        while not finished.wait(0.2):
            app.stop()  # again until run() returns: a stop before run() starts would be forgotten

    threading.Thread(target=stop_when_done, daemon=True).start()
    try:
        app.run()
    except Exception as exc:  # reported to the parent in one line
        failure = f"{type(exc).__name__}: {exc}"
    finished.set()
    results.put((name, peak_rss_mb(), failure))
