"""The web server's pure parts: speed steps, rewind times, the hub that drops a lagging tab, a till's wait on the page."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from starlette.exceptions import HTTPException

from fishchips.cli.web import is_loopback
from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.till import ACKS, waiting_words
from fishchips.scenarios import SCENARIOS
from fishchips.session import SPEEDS, next_speed
from fishchips.web.hub import QUEUE_LENGTH, Hub
from fishchips.web.live import LiveShop, short
from fishchips.web.server import rewind_time


def test_speed_steps_stop_at_the_ends() -> None:
    assert next_speed(1.0, +1) == 2.0
    assert next_speed(SPEEDS[-1], +1) == SPEEDS[-1]
    assert next_speed(SPEEDS[0], -1) == SPEEDS[0]
    assert next_speed(3.3, +1) == 1.0  # a speed off the list (--speed 3.3) restarts at x1


def test_short_names_drop_the_prefix() -> None:
    assert short("t1234.orders") == "orders"
    assert short("fishchips.preparers") == "preparers"


def test_rewind_time_accepts_the_beginning_or_a_past_time_with_a_zone() -> None:
    assert rewind_time("beginning") is None
    assert rewind_time("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("to", "reason"),
    [
        (5, "must be"),
        ("yesterday", "is not"),
        ("2026-01-02T03:04:05", "no time zone"),
        ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), "has not come yet"),
    ],
    ids=["a-number", "a-word", "no-time-zone", "in-an-hour"],  # named: an id made of the time would differ per worker
)
def test_rewind_time_refuses_with_a_reason(to: object, reason: str) -> None:
    with pytest.raises(HTTPException) as refused:
        rewind_time(to)
    assert refused.value.status_code == 400
    assert reason in refused.value.detail


def test_loopback_hosts() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")



async def test_a_tab_that_does_not_read_is_dropped_and_the_others_keep_everything() -> None:
    hub = Hub()
    slow, quick = hub.join(), hub.join()
    quick_stream = hub.stream(quick)
    assert (await anext(quick_stream)).startswith("retry:")  # the first event: reconnect after 1 s, and the latest snapshot
    for n in range(QUEUE_LENGTH + 1):  # one more than the slow tab's queue holds
        hub.broadcast(f"snapshot {n}")
        assert await anext(quick_stream) == f"data: snapshot {n}\n\n"
    assert slow.dropped and slow not in hub.tabs and hub.dropped == 1
    assert quick in hub.tabs
    assert slow.queue.get_nowait() is None  # the dropped tab's stream ends; its browser reconnects


async def test_closing_ends_every_stream() -> None:
    hub = Hub()
    tab = hub.join()
    stream = hub.stream(tab)
    await anext(stream)
    hub.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 1)
    assert not hub.tabs


def test_a_till_that_waits_for_kafka_says_why_on_the_page_until_it_goes_on() -> None:
    live = LiveShop(SCENARIOS["demo1"], ConnectionSettings(bootstrap_servers="127.0.0.1:1"), Topics("t"))  # never opened
    why = waiting_words("all", 3)
    live.hear(ShopEvent("till-1", RoleKind.TILL, Kind.WAITING, detail=why))
    snapshot = live.snapshot()
    assert snapshot["waiting"] == {"till-1": why} and snapshot["acks"] == {"setting": "all", "said": ACKS["all"]}
    assert snapshot["notices"][0]["text"] == f"till-1 waits {why}"
    live.hear(ShopEvent("till-1", RoleKind.TILL, Kind.RESUMED, detail="Kafka acknowledged every order held: taking orders again"))
    assert live.snapshot()["waiting"] == {}
