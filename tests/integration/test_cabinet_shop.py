"""demo5, the shop with the hot cabinet, on the real broker and a real redis-server: the cabinet equals the ledger."""

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.integration.test_tui import running, until

from fishchips.chaos import Chaos
from fishchips.events import Kind, ShopEvent
from fishchips.floor import ShopFloor
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.ledger import check, readable
from fishchips.scenarios import SCENARIOS, scenario
from fishchips.services.redis_server import LocalRedis
from fishchips.shop import Menu
from fishchips.shop.kitchen import served_portions
from fishchips.stores.cabinet import Cabinet
from fishchips.tui.app import ShopApp

pytestmark = pytest.mark.kafka
MENU = Menu.load()


def cabinet_agrees_with_kafka(kafka: ConnectionSettings, topics: Topics, cabinet: Cabinet) -> None:
    """The shop's whole history: stock = cooked - served to the portion, each served order's portions taken once,
    and one trip in the cabinet for each committed event on `cook`."""
    state = cabinet.state()
    served, unreadable = readable(read_to_end(kafka, topics.served), MENU)
    assert unreadable == 0
    assert state.differences(served_portions(served, MENU)) == []
    assert state.trips_to_cook == len(read_to_end(kafka, topics.cook))
    ledger = check(kafka, topics, MENU, cabinet=True)
    assert ledger.ok, ledger
    assert state.orders_taken == ledger.served


def test_run_demo5_json_its_cabinet_equals_the_ledger(kafka: ConnectionSettings, prefix: str, redis_url: str) -> None:
    command = ["run", "demo5", "--orders", "60", "--speed", "20", "--seed", "5", "--json", "--prefix", prefix, "--redis", redis_url]
    result = subprocess.run(
        [sys.executable, "-m", "fishchips", *command, "-b", str(kafka.bootstrap_servers)], capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)

    assert (summary["ok"], summary["taken"], summary["served"], summary["missing"], summary["duplicates"]) == (True, 60, 60, 0, 0)
    assert summary["cabinet_differences"] == []
    assert summary["trips_to_cook"] >= 1 and summary["cooked_batches"] >= 1  # the cabinet starts empty: the first order goes to the cook
    cabinet = Cabinet(redis_url, prefix, MENU)
    try:
        state = cabinet.state()  # a fresh prefix: the run's figures are the cabinet's whole history
        assert summary["cabinet"] == state.stock
        assert (summary["trips_to_cook"], summary["cooked_batches"]) == (state.trips_to_cook, state.cooked_batches)
        cabinet_agrees_with_kafka(kafka, Topics(prefix), cabinet)
    finally:
        cabinet.close()


def test_redis_stopped_mid_run_serves_nothing_until_it_is_back_then_all_once(
    kafka: ConnectionSettings, prefix: str, own_server: LocalRedis
) -> None:
    """One preparer, so that once it says it waits, nothing more can be served until Redis is back."""
    url, topics = own_server.status().url, Topics(prefix)
    assert url
    waits: list[ShopEvent] = []
    said = threading.Event()

    def hear(event: ShopEvent) -> None:
        if event.kind is Kind.WAITING and event.role == "preparer-1":
            waits.append(event)
            said.set()

    floor = ShopFloor(scenario("demo5").override(preparers=1), kafka, topics, listener=hear, speed=6, orders=60, seed=3, redis=url)
    try:
        floor.start()
        wait_for(lambda: floor.tally.served >= 5, timeout=60)
        own_server.stop()
        wait_for(said.is_set, timeout=30)
        served_while_away = len(read_to_end(kafka, topics.served))
        wait_for(floor.tills_done, timeout=60)  # the till takes every order meanwhile: Kafka does not need Redis
        assert len(read_to_end(kafka, topics.served)) == served_while_away < 60  # nothing served without its portions
        assert "is not answering" in waits[0].detail and url in waits[0].detail

        own_server.start()
        assert floor.wait(idle_timeout=60), floor.failures()
    finally:
        floor.close()
    assert floor.summary().ok
    figures = floor.cabinet_figures()
    assert figures is not None and figures.differences == []
    cabinet = Cabinet(url, prefix, MENU)
    try:
        cabinet_agrees_with_kafka(kafka, topics, cabinet)
    finally:
        cabinet.close()


def test_chaos_with_the_cabinet_kills_roles_and_the_cabinet_still_equals_the_ledger(
    kafka: ConnectionSettings, prefix: str, redis_url: str, tmp_path: Path
) -> None:
    chaos = Chaos([], kafka, tmp_path, orders=80, rate=20, seed=2, prefix=prefix, say=lambda line: None, cabinet=True, redis=redis_url)
    report = chaos.run(max_seconds=240, min_strikes=3, broker_every=0)

    assert sum(report.kills.values()) >= 3 and report.broker_kills == 0
    assert report.ledger is not None and (report.ledger.taken, report.ledger.lost, report.ledger.served_twice) == (80, 0, 0)
    assert report.ledger.cooked_twice == 0
    assert report.cabinet is not None and report.cabinet.differences == []
    assert report.ok
    cabinet = Cabinet(redis_url, prefix, MENU)
    try:
        cabinet_agrees_with_kafka(kafka, Topics(prefix), cabinet)
    finally:
        cabinet.close()


async def test_the_app_shows_the_cabinet_live_and_r_restocks_it_by_hand(kafka: ConnectionSettings, prefix: str, redis_url: str) -> None:
    # no till, and the cook's timer 20 s away (speed 0.1): whatever is cooked now, `r` cooked
    quiet = replace(SCENARIOS["demo5"], tills=0)
    app = ShopApp(quiet, kafka, Topics(prefix), speed=0.1, redis=redis_url)
    async with running(app) as pilot:
        await until(pilot, lambda: app.cabinet_state is not None)
        assert app.cabinet_state is not None and app.cabinet_state.stock == {"chips": 0, "cod": 0, "plaice": 0}
        await pilot.press("r")
        await until(pilot, lambda: app.restocked is not None)
        assert app.restocked == {"chips": 20, "cod": 10}
        await until(pilot, lambda: app.cabinet_state is not None and app.cabinet_state.stock["cod"] == 10)
        shown = str(app.query_one("#cabinet").render())
        assert "chips   ████████████████████ 20/20" in shown
        assert "trips to the cook 0 · batches cooked 2" in shown


def test_a_preparer_and_a_cook_of_their_own_serve_from_the_cabinet(kafka: ConnectionSettings, prefix: str, redis_url: str) -> None:
    """demo5's kitchen as processes of their own: `fishchips preparer --redis URL`, and `fishchips cook --cabinet` with its
    Redis from REDIS_URL; a till of its own takes 20 orders."""
    topics = Topics(prefix)
    connection = ["--prefix", prefix, "--partitions", "1", "--speed", "10", "-b", str(kafka.bootstrap_servers)]
    env = {**os.environ, "REDIS_URL": redis_url}

    def fishchips(*command: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "fishchips", *command, *connection], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )

    kitchen = [fishchips("preparer", "--redis", redis_url, "--name", "own-preparer"), fishchips("cook", "--cabinet", "--name", "own-cook")]
    try:
        till = fishchips("till", "--orders", "20", "--rate", "5", "--plaice-share", "0.3")
        assert till.wait(timeout=120) == 0, till.communicate()[0]
        wait_for(lambda: len(read_to_end(kafka, topics.served)) >= 20, timeout=120, every=1.0)
    finally:
        for role in kitchen:
            role.send_signal(signal.SIGINT)
    outputs = [role.communicate(timeout=60)[0] for role in kitchen]
    assert [role.returncode for role in kitchen] == [0, 0], outputs
    assert "sent to the cook" in outputs[0] and "short of" in outputs[0] and "served" in outputs[0]
    assert "cooked" in outputs[1]
    assert check(kafka, topics, MENU, cabinet=True).taken == 20
    cabinet = Cabinet(redis_url, prefix, MENU)
    try:
        cabinet_agrees_with_kafka(kafka, topics, cabinet)
    finally:
        cabinet.close()
