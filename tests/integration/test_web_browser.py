"""The page in a real browser (Debian's chromium, driven by Playwright) against `fishchips web` on the session's broker.

One server process for the module, started by its real command; each test waits for what it needs.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, TopicPartition
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from tests.conftest import wait_for

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.broker.jars import libs_dir
from fishchips.broker.java import find_java
from fishchips.kafka import clients
from fishchips.kafka.inspect import committed_offsets
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.learn import progress
from fishchips.services.local_server import free_port
from fishchips.stores.cabinet import Cabinet
from fishchips.web.server import TOKEN_HEADER

pytestmark = pytest.mark.kafka
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class WebServer:
    url: str  # with the token
    base: str
    topics: Topics
    output: Path
    opened: Path  # what --open handed the browser


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def server(kafka: ConnectionSettings, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`fishchips web demo3 --token --open --redis URL` (demo5's cabinet, when the page opens it)."""
    with serving(kafka, tmp_path_factory.mktemp("web"), ["demo3", "--redis", redis_url]) as server:
        yield server


@contextlib.contextmanager
def serving(kafka: ConnectionSettings, folder: Path, what: list[str]) -> Iterator[WebServer]:
    """`fishchips web WHAT --token --open` on a free port; Ctrl-C (SIGINT) at the end must close the shop cleanly."""
    prefix = f"w{uuid.uuid4().hex[:8]}"
    output, opened = folder / "output.txt", folder / "opened.txt"
    # --open runs $BROWSER: here a one-liner that notes the address it was given
    browser_command = f"{sys.executable} -c \"import sys; open('{opened}', 'w').write(sys.argv[1])\" %s"
    command = ["web", *what, "--port", str(free_port()), "--token", "--open", "--speed", "2", "--prefix", prefix, "-b", str(kafka.bootstrap_servers)]
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "fishchips", *command],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "300", "BROWSER": browser_command},
        )
    try:
        wait_for(lambda: "?token=" in output.read_text() or process.poll() is not None, timeout=60)
        line = next((line for line in output.read_text().splitlines() if "?token=" in line), "")
        assert line, output.read_text()
        url = line.split()[2]
        base = url.split("?")[0]
        wait_for(lambda: get(base + "api/state")["status"] == "open", timeout=60)
        yield WebServer(url, base, Topics(prefix), output, opened)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
    assert process.returncode == 0, output.read_text()
    assert "the shop is closed: every role left its group" in output.read_text()
    assert "Traceback" not in output.read_text()
    # each member left its group as it closed; one closed while still joining is dropped by its session timeout (6 s),
    # while a role left running would stay for ever
    for role in ("preparers", "accountant"):
        wait_for(lambda role=role: kafka_members(kafka, Topics(prefix).group(role)) == {}, timeout=30)


def test_ctrl_c_while_the_page_opens_a_scenario_lets_it_finish_then_closes_the_shop(kafka: ConnectionSettings, tmp_path: Path) -> None:
    """Ctrl-C ends the tabs' event streams at once, so the server waits only for a control still running: the scenario
    the page asked for opens (about 2 s), then the shop closes, every role leaves its group, and no traceback nor a
    cancelled request (`serving` checks the first three after its SIGINT). (A second Ctrl-C: tests/unit/test_web_shutdown.py.)"""
    with serving(kafka, tmp_path, ["demo1"]) as server:
        request = urllib.request.Request(
            server.base + "api/scenario",
            data=json.dumps({"name": "demo3"}).encode(),
            headers={"Content-Type": "application/json", TOKEN_HEADER: server.url.split("token=")[1]},
        )
        answers: list[int] = []

        def switch() -> None:
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    answers.append(answer.status)
            except urllib.error.HTTPError as refused:
                answers.append(refused.code)

        pressing = threading.Thread(target=switch)
        pressing.start()
        wait_for(lambda: get(server.base + "api/state")["status"] != "open", timeout=30)  # closing demo1 for demo3...
        assert not answers  # the Ctrl-C comes while the switch runs
    pressing.join(60)
    assert answers == [200]
    assert "Cancel" not in server.output.read_text()


def get(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)
    except (urllib.error.URLError, ConnectionError):
        return {"status": "not yet"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, server: WebServer) -> Iterator[Page]:
    with tab_on(browser, server) as tab:
        yield tab


@contextlib.contextmanager
def tab_on(browser: Browser, server: WebServer) -> Iterator[Page]:
    """A tab on the page; any console error or uncaught exception fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server.url)
    tab.wait_for_selector("#served-count")
    yield tab
    context.close()
    assert errors == [], errors


def served(tab: Page) -> int:
    return int(tab.text_content("#served-count") or 0)


def lane_colours(tab: Page) -> dict[str, str]:
    return tab.eval_on_selector_all(".lane", "lanes => Object.fromEntries(lanes.map(l => [l.dataset.partition, l.dataset.colour]))")


def page_members(tab: Page) -> dict[str, list[int]]:
    return tab.eval_on_selector_all(
        ".member", "ms => Object.fromEntries(ms.map(m => [m.dataset.name, m.dataset.partitions ? m.dataset.partitions.split(',').map(Number) : []]))"
    )


def kafka_members(kafka: ConnectionSettings, group: str) -> dict[str, list[int]]:
    admin = clients.admin(kafka)  # held until the answer comes: a client collected meanwhile would never give it
    described = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
    return {m.client_id: sorted(tp.partition for tp in m.assignment.topic_partitions) for m in described.members}


def test_the_page_shows_one_lane_per_partition_and_orders_served(page: Page, server: WebServer, kafka: ConnectionSettings) -> None:
    topic = server.topics.orders
    partitions = len(clients.admin(kafka).list_topics(topic, timeout=10).topics[topic].partitions)
    assert page.locator(".lane").count() == partitions == 3
    first = served(page)
    wait_for(lambda: served(page) > first, timeout=15)
    assert page.text_content("#scenario-name") == "demo3"
    assert page.text_content("#speed") == "x2"  # --speed 2
    assert server.opened.read_text() == server.url  # --open gave the browser the printed address


def test_add_preparer_recolours_the_lanes_as_kafka_says(page: Page, server: WebServer, kafka: ConnectionSettings) -> None:
    wait_for(lambda: len(page_members(page)) == 2 and all(page_members(page).values()), timeout=20)
    before = lane_colours(page)
    newest = f"preparer-{len(page_members(page)) + 1}"
    page.keyboard.press("p")  # the terminal app's key for "add preparer"
    wait_for(lambda: newest in page_members(page) and page_members(page)[newest], timeout=30)
    wait_for(lambda: lane_colours(page) != before, timeout=10)
    new_colour = page.get_attribute(f'.member[data-name="{newest}"]', "data-colour")
    assert new_colour in lane_colours(page).values()
    assert "rebalance" in (page.text_content("#notices") or "")
    group = server.topics.group("preparers")
    wait_for(lambda: kafka_members(kafka, group) == page_members(page), timeout=30)  # Kafka's own listing agrees with the page


def test_two_tabs_show_the_same_shop_and_a_control_reaches_both(page: Page, browser: Browser, server: WebServer) -> None:
    other = browser.new_page(viewport={"width": 1280, "height": 720})
    other.goto(server.base)  # watching needs no token
    other.wait_for_selector("#served-count")
    wait_for(lambda: served(page) == served(other) > 0 and page.text_content("#speed") == other.text_content("#speed"), timeout=15)
    pressed = time.monotonic()
    page.keyboard.press("f")
    wait_for(lambda: page.text_content("#speed") == other.text_content("#speed") == "x4", timeout=5, every=0.02)
    print(f"control to both tabs: {time.monotonic() - pressed:.2f} s")  # a figure for docs/web.md, not asserted
    page.keyboard.press("d")
    wait_for(lambda: other.text_content("#speed") == "x2", timeout=5)
    other.close()


def test_a_key_lands_where_the_java_partitioner_puts_it(page: Page, server: WebServer, kafka: ConnectionSettings, embedded_broker: EmbeddedBroker) -> None:
    key = f"customer-{uuid.uuid4().hex[:6]}"
    page.fill("#order-key", key)
    page.click("#order-form button")
    page.wait_for_selector("#order-result[data-partition]")
    on_page = int(page.get_attribute("#order-result", "data-partition") or -1)
    assert f'key "{key}" → partition {on_page}' in (page.text_content("#order-result") or "")

    # the same key through Kafka's own console producer, to a topic with as many partitions
    check = f"{server.topics.prefix}.java-check"
    ensure_topics(clients.admin(kafka), {check: 3})
    classpath = f"{libs_dir(embedded_broker.cache)}/*"
    producer = ["-cp", classpath, "org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", str(kafka.bootstrap_servers)]
    options = ["--topic", check, "--property", "parse.key=true", "--property", "key.separator=|"]
    subprocess.run([str(find_java().path), *producer, *options], input=f"{key}|from java\n", text=True, timeout=60, check=True, capture_output=True)
    reader = clients.consumer(kafka, f"{check}-reader")
    reader.assign([TopicPartition(check, p, 0) for p in range(3)])
    try:
        found: list[int] = []
        deadline = time.monotonic() + 15
        while not found and time.monotonic() < deadline:
            found = [m.partition() for m in reader.consume(10, 0.5) if not m.error() and m.key() == key.encode()]
    finally:
        reader.close()
    assert found == [on_page]


def test_orders_taken_by_hand_are_counted_once_and_never_sent_to_a_missing_cook(page: Page, server: WebServer, kafka: ConnectionSettings) -> None:
    """The counter is a till of the floor's own: its orders are taken once, served once, and follow demo3's menu (no plaice, no cook).
    A fresh demo3 first: the rewind test replays orders, which the tally rightly counts as served twice."""
    page.select_option("#scenario-select", "demo3")
    page.click("#scenario-form button")
    wait_for(lambda: "now showing demo3" in (page.text_content("#notices") or ""), timeout=90)
    wait_for(lambda: get(server.base + "api/state")["status"] == "open", timeout=90)
    keys = ["alice", "alice", "b" * 100]  # a key as long as the form allows, with no space to wrap at
    numbers = []
    for key in keys:
        before = page.get_attribute("#order-result", "data-order")
        page.fill("#order-key", key)
        page.click("#order-form button")
        wait_for(lambda before=before: page.get_attribute("#order-result", "data-order") not in (None, before), timeout=20)
        numbers.append(int(page.get_attribute("#order-result", "data-order") or -1))

    def summary() -> dict:
        return get(server.base + "api/state")["summary"]

    wait_for(lambda: summary()["by_hand"] == {"taken": len(keys), "served": len(keys)}, timeout=60)

    def settled(counted: dict) -> bool:
        """Nothing served twice, and no entry left behind: only orders still waiting are in flight. A till hears
        Kafka's answer at its next poll, so its order may be called first: the tally holds it until then."""
        return counted["twice"] == 0 and counted["in_flight"] == counted["waiting"]

    wait_for(lambda: settled(summary()), timeout=30)
    shown = f"by hand {len(keys)}, served {len(keys)}"  # the page's pill, from the same summary
    wait_for(lambda: shown in (page.text_content("#summary") or "") and page.get_attribute("#summary", "data-twice") == "0", timeout=30)
    assert not on_topic(kafka, server.topics.cook, numbers)  # demo3 has no cook: nothing of the counter's went its way
    # the longest key is cut short in its card, whole in its title, and the card does not overflow
    assert page.get_attribute(f'#keys .key[title="{keys[-1]}"]', "title") == keys[-1]
    assert page.eval_on_selector("#keys", "table => table.closest('.card').scrollWidth <= table.closest('.card').clientWidth")


def on_topic(kafka: ConnectionSettings, topic: str, numbers: list[int]) -> list[dict]:
    """The counter's orders (till 99) with these numbers on a topic, read from its start to its end."""
    reader = clients.consumer(kafka, f"{topic}-check-{uuid.uuid4().hex[:6]}", **{"enable.partition.eof": True})
    partitions = clients.admin(kafka).list_topics(topic, timeout=10).topics[topic].partitions
    reader.assign([TopicPartition(topic, p, 0) for p in partitions])
    found, ended = [], set()
    try:
        deadline = time.monotonic() + 30
        while len(ended) < len(partitions) and time.monotonic() < deadline:
            for message in reader.consume(100, 0.5):
                if (error := message.error()) is not None:
                    assert error.code() == KafkaError._PARTITION_EOF, error
                    ended.add(message.partition())
                elif (order := json.loads(message.value() or b"{}")).get("till") == 99 and order.get("order") in numbers:
                    found.append(order)
    finally:
        reader.close()
    assert len(ended) == len(partitions), f"{topic} not read to its end"
    return found


def test_a_rewind_moves_the_committed_offsets_back(page: Page, server: WebServer, kafka: ConnectionSettings) -> None:
    group = server.topics.group("preparers")
    admin = clients.admin(kafka)
    wait_for(lambda: sum(committed_offsets(admin, group).values()) >= 6, timeout=30)
    before = committed_offsets(admin, group)
    page.select_option("#rewind-group", "preparers")
    page.check('input[name="to"][value="beginning"]')
    page.click("#rewind-form button")
    wait_for(lambda: "rewound to the beginning" in (page.text_content("#rewind-result") or ""), timeout=60)
    wait_for(lambda: any(offset < before[tp] for tp, offset in committed_offsets(admin, group).items() if tp in before), timeout=10)


def test_the_real_server_refuses_a_control_without_its_token(server: WebServer) -> None:
    request = urllib.request.Request(server.base + "api/control/add_till", data=b"{}", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403
    assert "token" in json.load(refused.value)["error"]


def test_demo5_shows_the_hot_cabinet_as_redis_has_it(page: Page, server: WebServer, redis_url: str) -> None:
    """Opened from the page's scenario list; the cabinet card is drawn from Redis (`--redis`), and hidden again for demo3."""
    assert page.is_hidden("#cabinet-card")  # demo3 has no cabinet
    page.select_option("#scenario-select", "demo5")
    page.click("#scenario-form button")
    page.wait_for_selector(".cabinet-item", timeout=90_000)
    shown = page.eval_on_selector_all(".cabinet-item", "rows => rows.map(r => r.dataset.item)")
    assert sorted(shown) == ["chips", "cod", "plaice"]
    page.click('button[data-control="restock"]')  # `r`: cooked to par by hand, in this Redis
    cabinet = Cabinet(redis_url, server.topics.prefix)
    try:
        wait_for(lambda: sum(cabinet.state().cooked.values()) > 0, timeout=15)
    finally:
        cabinet.close()
    page_cooked = "rows => rows.reduce((sum, row) => sum + Number(row.dataset.cooked), 0)"
    wait_for(lambda: page.eval_on_selector_all(".cabinet-item", page_cooked) > 0, timeout=15)  # the page shows this Redis's cabinet
    assert "stock = cooked - served" in (page.text_content("#cabinet") or "")
    page.select_option("#scenario-select", "demo3")
    page.click("#scenario-form button")
    page.wait_for_selector("#cabinet-card", state="hidden", timeout=90_000)


def test_demo6_shows_who_holds_each_record_and_a_released_one_lent_again_with_delivery_count_2(page: Page, server: WebServer) -> None:
    """The share group's records in flight as its members say (Kafka names no holder): each one's holder and delivery
    count. `S` stops the member holding the most; what it held is released and another member is lent it, its delivery count one higher."""
    page.select_option("#scenario-select", "demo6")
    page.click("#scenario-form button")
    page.wait_for_selector(".loan", timeout=90_000)
    assert (page.get_attribute(".loan", "data-holder") or "").startswith("share-preparer-")
    for _ in range(2):
        page.keyboard.press("d")  # x0.5: an order takes 0.8 s, so a member holds each a while
    wait_for(lambda: page.text_content("#speed") == "x0.5", timeout=10)


    def notices() -> str:
        return page.text_content("#notices") or ""

    # a member stopped in the few ms it writes what it made serves it and has nothing to release: the page says so, and
    # `S` stops another (test_tui.py has the same)
    for presses in range(1, 4):
        page.keyboard.press("S")
        wait_for(lambda n=presses: len(re.findall(r"share-preparer-\d+ stopped", notices())) >= n, timeout=40)  # type: ignore[misc]
        if released := re.search(r"(share-preparer-\d+) stopped and released", notices()):
            break
    assert released, notices()
    stopped = released.group(1)
    # what it released, lent to another member (members also hand back at once what they cannot make within their lock)
    again = f'.relent[data-back="released"][data-before="{stopped}"]'
    try:
        page.wait_for_selector(again, timeout=30_000)
    except PlaywrightTimeout:  # say what the page and the shop showed instead
        raise AssertionError(f"{page.text_content('#loans')}\n{get(server.base + 'api/state').get('lending')}\n{notices()}") from None
    row = page.locator(again).first
    assert row.get_attribute("data-holder") not in (stopped, None)
    assert int(row.get_attribute("data-delivery") or 0) >= 2
    assert f"{stopped} released → " in (row.text_content() or "")
    for _ in range(2):
        page.keyboard.press("f")
    page.select_option("#scenario-select", "demo3")
    page.click("#scenario-form button")
    page.wait_for_selector("#loans", state="detached", timeout=90_000)


def test_the_page_lists_the_preparers_group_with_each_members_served_count(page: Page, server: WebServer) -> None:
    """demo3 has one way of taking orders, its consumer group: each member's row says what it served (demo6 adds a share group)."""
    group = server.topics.group("preparers")

    def rows() -> dict[str, int]:
        return page.eval_on_selector_all(
            f'.group-member[data-group="{group}"]', "rs => Object.fromEntries(rs.map(r => [r.dataset.name, Number(r.dataset.served)]))"
        )

    wait_for(lambda: rows() and any(rows().values()), timeout=30)
    assert "consumer group" in (page.text_content("#groups") or "")


@pytest.fixture(scope="module")
def lesson_server(kafka: ConnectionSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """`fishchips web --lesson 4 --token --open`: the page follows the consumer-group lesson, in its shop (demo3)."""
    with serving(kafka, tmp_path_factory.mktemp("web-lesson"), ["--lesson", "4"]) as server:
        yield server


def test_chromium_walks_lesson_4_by_the_pages_controls_and_sees_each_step_pass(browser: Browser, lesson_server: WebServer) -> None:
    def mark(step: int) -> str | None:
        return tab.get_attribute(f'.lesson-step[data-step="{step}"]', "data-mark")

    def passes(step: int) -> None:
        wait_for(lambda: mark(step) == "passed", timeout=45)
        assert (tab.text_content("#lesson-verdict") or "").startswith("✓ Kafka agrees")

    with tab_on(browser, lesson_server) as tab:
        assert "Step 1 of 5" in (tab.text_content("#lesson-text") or "")
        passes(1)  # two preparers: a group of two, as Kafka describes it
        tab.click("#lesson-next")
        passes(2)  # every partition has an owner
        tab.keyboard.press("b")  # a followed lesson's keys: b back a step, n on; the page's own n and b stay on their buttons
        wait_for(lambda: "Step 1 of 5" in (tab.text_content("#lesson-text") or ""), timeout=15)
        passes(1)
        tab.keyboard.press("n")
        wait_for(lambda: "Step 2 of 5" in (tab.text_content("#lesson-text") or ""), timeout=15)
        passes(2)
        assert get(lesson_server.base + "api/state")["scenario"]["name"] == "demo3"  # n moved the lesson, not the shop
        assert tab.text_content('#controls [data-control="next_scenario"]') == "Next scenario"  # no key shown on it: n is the lesson's
        tab.keyboard.press("n")
        wait_for(lambda: mark(3) == "waiting", timeout=30)  # it waits for its control before it asks Kafka
        tab.click('#controls [data-control="add_preparer"]')  # the page's own control
        passes(3)
        tab.click("#lesson-next")
        wait_for(lambda: mark(4) == "waiting", timeout=30)
        tab.click("#lesson-action")  # the step's button: the same control, stop_preparer
        passes(4)
        tab.click("#lesson-next")
        passes(5)
        if os.environ.get("FISHCHIPS_SCREENSHOT"):  # docs/web-lesson.png, taken on demand: from the top, the toast gone
            tab.evaluate("window.scrollTo(0, 0)")
            tab.wait_for_selector("#toast", state="hidden")
            tab.screenshot(path=os.environ["FISHCHIPS_SCREENSHOT"])
    lesson = get(lesson_server.base + "api/state")["lesson"]
    assert lesson["name"] == "04-consumer-group" and lesson["step"] == 5
    assert [step["mark"] for step in lesson["steps"]] == ["passed"] * 5
    assert progress.steps_reached()["04-consumer-group"] == 4  # the server's data dir is this one: it goes on at step 5
