"""Brokers, replicas and a broker's death, live: `fishchips web --nodes 3` on the session's
three-node cluster, checked against Kafka's own `kafka-topics --describe` while a node dies and comes back.

Kills are few: each test kills one node and ends with every node up and every replica in sync.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.conftest import THREE_NODES_HOME, wait_for
from tests.integration.test_replication_view import SETTLE, Table, kafka_topics_describe
from tests.integration.test_web_browser import CHROMIUM_FLAGS, chromium, get

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.node_controls import NodeControlError, NodeControls
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.services.local_server import free_port

pytestmark = pytest.mark.kafka


@dataclass(frozen=True)
class WebServer:
    base: str
    topics: Topics
    output: Path


@pytest.fixture(scope="module")
def server(three_nodes: EmbeddedCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`fishchips web demo3 --nodes 3`, with the session's cluster for the data dir's local cluster."""
    prefix = f"r{uuid.uuid4().hex[:8]}"
    output = tmp_path_factory.mktemp("web-replication") / "output.txt"
    port = free_port()
    command = [sys.executable, "-m", "fishchips", "web", "demo3", "--nodes", "3", "--port", str(port), "--prefix", prefix]
    with output.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, "FISHCHIPS_DATA_DIR": str(THREE_NODES_HOME)})
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(lambda: get(base + "api/state")["status"] == "open" or process.poll() is not None, timeout=120)
        assert process.poll() is None, output.read_text()
        yield WebServer(base, Topics(prefix), output)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert process.returncode == 0, output.read_text()
    assert "Traceback" not in output.read_text()


def cluster_of(server: WebServer) -> dict:
    """The page's cluster section; while the server does not answer, a view that shows nothing."""
    return get(server.base + "api/state").get("cluster", {"answered": False, "brokers": [], "partitions": [], "under_replicated": 0})


def press(server: WebServer, control: str) -> str:
    request = urllib.request.Request(server.base + f"api/control/{control}", data=b"{}", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.load(answer)["done"]


def page_table(cluster: dict) -> Table:
    return {(p["topic"], p["partition"]): (p["leader"], tuple(p["replicas"]), tuple(p["in_sync"])) for p in cluster["partitions"]}


def shop_topics(topics: Topics) -> set[str]:
    return {topics.orders, topics.cook, topics.served}


def matches_describe(server: WebServer, cluster: EmbeddedCluster) -> bool:
    """The page's leaders, replicas and ISR equal kafka-topics --describe's (each broker learns of a change in its own time)."""
    page, described = page_table(cluster_of(server)), kafka_topics_describe(cluster, server.topics)
    return bool(page) and page == {key: value for key, value in described.items() if key[0] in shop_topics(server.topics)}


def whole(cluster: dict) -> bool:
    return cluster["answered"] and all(b["up"] for b in cluster["brokers"]) and cluster["under_replicated"] == 0 and bool(cluster["partitions"])


def orders_leaders(cluster: dict, topics: Topics) -> dict[int, int | None]:
    return {p["partition"]: p["leader"] for p in cluster["partitions"] if p["topic"] == topics.orders}


def restore(server: WebServer) -> float:
    """Restart the dead node from the page; the seconds until every replica is back in sync."""
    pressed = time.monotonic()
    assert "started again" in press(server, "restart_broker")
    wait_for(lambda: whole(cluster_of(server)), SETTLE)
    return time.monotonic() - pressed


def test_the_page_equals_kafka_topics_describe_and_shows_the_isr_shrink_and_recover(server: WebServer, three_nodes: EmbeddedCluster) -> None:
    wait_for(lambda: whole(cluster_of(server)), SETTLE)
    wait_for(lambda: matches_describe(server, three_nodes), SETTLE, every=1.0)
    state = get(server.base + "api/state")
    assert {"kill_broker", "restart_broker"} <= {c["name"] for c in state["controls"]}
    assert state["cluster"]["node_controls"] == {"available": True, "reason": ""}
    coordinators = {(c["kind"], c["name"]): c["node"] for c in state["cluster"]["coordinators"]}
    assert coordinators[("group", server.topics.group("preparers"))] in (1, 2, 3)
    assert any(kind == "transaction" and node in (1, 2, 3) for (kind, _), node in coordinators.items())  # the preparers'
    before = orders_leaders(state["cluster"], server.topics)

    pressed = time.monotonic()
    said = press(server, "kill_broker")
    killed = before[0]  # the leader of the orders' first partition, so its leadership visibly moves
    assert said.startswith(f"kill -9 broker {killed} ")

    def moved(cluster: dict) -> bool:
        leaders = orders_leaders(cluster, server.topics)
        return cluster["answered"] and not cluster["brokers"][killed - 1]["up"] and killed not in leaders.values() and cluster["under_replicated"] > 0

    wait_for(lambda: moved(cluster_of(server)), SETTLE)
    print(f"kill to new leaders on the page: {time.monotonic() - pressed:.1f} s")  # a figure for the docs, not asserted
    shrunk = cluster_of(server)
    assert all(killed not in p["in_sync"] and killed in p["out_of_sync"] for p in shrunk["partitions"])
    wait_for(lambda: matches_describe(server, three_nodes), SETTLE, every=1.0)

    print(f"restart to full ISR on the page: {restore(server):.1f} s")
    wait_for(lambda: matches_describe(server, three_nodes), SETTLE, every=1.0)


def test_a_shop_on_another_cluster_has_no_broker_controls_and_says_why(kafka: ConnectionSettings, tmp_path: Path) -> None:
    nowhere = NodeControls.find(kafka.bootstrap_servers, EmbeddedCluster(tmp_path / "cluster"))
    assert not nowhere.available and "--nodes 3" in nowhere.reason
    with pytest.raises(NodeControlError, match="--nodes 3"):
        nowhere.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def page_leaders(tab: Page, topics: Topics) -> dict[str, str]:
    return tab.eval_on_selector_all(
        f'.replica-row[data-topic="{topics.orders}"]', "rows => Object.fromEntries(rows.map(r => [r.dataset.partition, r.dataset.leader]))"
    )


def test_chromium_presses_kill_and_sees_the_leaders_move(server: WebServer, browser: Browser) -> None:
    wait_for(lambda: whole(cluster_of(server)), SETTLE)
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.base)
    tab.wait_for_selector(".replica-row")
    wait_for(lambda: tab.locator('.broker[data-up="true"]').count() == 3, SETTLE)
    before = page_leaders(tab, server.topics)
    tab.click('button[data-control="kill_broker"]')
    killed = before["0"]
    wait_for(lambda: tab.get_attribute(f'.broker[data-node="{killed}"]', "data-up") == "false", SETTLE)
    wait_for(lambda: killed not in page_leaders(tab, server.topics).values(), SETTLE)
    assert tab.locator(".out-of-sync").count() > 0  # the dead node's replicas, greyed
    if os.environ.get("FISHCHIPS_SCREENSHOT"):  # docs/web-replication.png, taken on demand
        tab.screenshot(path=os.environ["FISHCHIPS_SCREENSHOT"])
    tab.click('button[data-control="restart_broker"]')
    wait_for(lambda: whole(cluster_of(server)), SETTLE)
    wait_for(lambda: tab.locator(".out-of-sync").count() == 0, SETTLE)
    tab.close()
    assert errors == []


def test_chromium_switches_the_tills_to_acks_1_and_the_page_says_what_it_risks(server: WebServer, browser: Browser) -> None:
    tab = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.base)
    tab.wait_for_selector('#acks[data-acks="all"]')
    tab.click('button[data-control="toggle_acks"]')
    tab.wait_for_selector('#acks[data-acks="1"]')
    assert "lost if that broker dies before the followers copy it" in tab.inner_text("#acks")
    assert get(server.base + "api/state")["acks"]["setting"] == "1"
    took = sum(get(server.base + "api/state")["tills"].values())
    wait_for(lambda: sum(get(server.base + "api/state")["tills"].values()) > took, SETTLE)  # the tills write on, now with acks=1
    tab.click('button[data-control="toggle_acks"]')
    tab.wait_for_selector('#acks[data-acks="all"]')
    tab.close()
    assert errors == []


@pytest.mark.parametrize("command", ["web", "demo"])
def test_nodes_3_with_another_cluster_is_one_clear_line(command: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fishchips", command, "--nodes", "3", "-b", "127.0.0.1:1"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "--nodes 3 runs fishchips's own three-node cluster: leave out --bootstrap-servers" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
