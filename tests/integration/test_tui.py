"""The live shop, driven with Textual's pilot against the real broker."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from tests.conftest import wait_for
from tests.integration.test_replication_view import SETTLE
from textual.pilot import Pilot

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.floor import RoleView
from fishchips.kafka import clients
from fishchips.kafka.inspect import snapshot
from fishchips.kafka.replication import ReplicationView
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.scenarios import SCENARIOS
from fishchips.shop import Order
from fishchips.tui.app import ShopApp

pytestmark = pytest.mark.kafka


@asynccontextmanager
async def running(app: ShopApp, size: tuple[int, int] = (100, 40)) -> AsyncIterator[Pilot]:
    """Run the app; whatever the test does, close the shop so no client outlives the test."""
    async with app.run_test(size=size) as pilot:
        try:
            yield pilot
        finally:
            await app.close_shop()


async def until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until the condition holds (the app keeps working meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await pilot.pause(0.1)


def lines(app: ShopApp, role: str) -> list[str]:
    panel = app.panels.get(role)
    return panel.texts if panel else []


def holders(app: ShopApp, topics: Topics) -> dict[str, set[int]]:
    view = app.kafka_view
    group = view.groups.get(topics.group("preparers")) if view else None
    return {m.client_id: {p for _, p in m.partitions} for m in group.members} if group else {}


async def test_panels_fill_with_orders_in_the_talks_words(kafka: ConnectionSettings, prefix: str) -> None:
    app = ShopApp(SCENARIOS["demo4"], kafka, Topics(prefix), speed=8)
    async with running(app) as pilot:
        await until(pilot, lambda: any("ready" in line for line in lines(app, "preparer-1")))
        await until(pilot, lambda: any(line.startswith("Cooked") for line in lines(app, "cook-1")))
        assert any(line.startswith("Order 1:") for line in lines(app, "till-1"))
        # the accounts panel: the accountant's own group books what was served
        await until(pilot, lambda: app.books_totals is not None and app.books_totals.orders > 0)
        assert app.books_totals is not None and app.books_totals.takings_pence > 0
        assert "orders" in str(app.query_one("#accounts").render())


async def test_adding_and_stopping_a_preparer_moves_partitions(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    app = ShopApp(SCENARIOS["demo3"], kafka, topics, speed=4)
    async with running(app) as pilot:
        await until(pilot, lambda: set(holders(app, topics)) == {"preparer-1", "preparer-2"})
        await pilot.press("p")
        await until(pilot, lambda: bool(holders(app, topics).get("preparer-3")))  # Kafka gave it partitions
        assert sum(len(held) for held in holders(app, topics).values()) == 3
        await pilot.press("s")
        # its partitions go back to the two that remain
        await until(
            pilot,
            lambda: (
                holders(app, topics).keys() == {"preparer-1", "preparer-2"} and set().union(*holders(app, topics).values()) == {0, 1, 2}
            ),
        )


async def test_the_late_consumer_reads_from_the_first_order(kafka: ConnectionSettings, prefix: str) -> None:
    app = ShopApp(SCENARIOS["demo1"], kafka, Topics(prefix), speed=8)
    async with running(app) as pilot:
        await until(pilot, lambda: len(lines(app, "till-1")) >= 5, timeout=60)
        await pilot.press("l")
        await until(pilot, lambda: len(lines(app, "late-1")) >= 5, timeout=60)  # a new group on a busy CI machine can take a while to join
        assert lines(app, "late-1")[0].startswith("Order 1:")


async def test_quitting_leaves_no_group_member(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    app = ShopApp(SCENARIOS["demo4"], kafka, topics, speed=4)
    async with running(app) as pilot:
        await until(pilot, lambda: bool(holders(app, topics)))
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, timeout=60)
    view = snapshot(clients.admin(kafka), [topics.orders], [topics.group("preparers"), topics.group("cooks")])
    assert [g.members for g in view.groups.values()] == [(), ()]


def members_by_group(kafka: ConnectionSettings, prefix: str) -> dict[str, set[str]]:
    """Every consumer group of the shop (by its prefix), with its members' client ids, from Kafka's admin API."""
    admin = clients.admin(kafka)
    listed = admin.list_consumer_groups(request_timeout=10).result().valid
    groups = [g.group_id for g in listed if g.group_id.startswith(prefix)]
    view = snapshot(admin, [], groups)
    return {name: {m.client_id for m in group.members} for name, group in view.groups.items()}


async def test_quick_presses_make_unique_roles_and_kafka_agrees(kafka: ConnectionSettings, prefix: str) -> None:
    """p twenty times as fast as a finger can, then s ten times: every preparer has a name of its own
    (no two share a transactional id and fence each other), none fails, and Kafka's group is what the app says."""
    topics = Topics(prefix)
    app = ShopApp(SCENARIOS["demo3"], kafka, topics, speed=4)
    async with running(app) as pilot:
        await until(pilot, lambda: set(holders(app, topics)) == {"preparer-1", "preparer-2"})
        for _ in range(20):
            await pilot.press("p")
        await until(pilot, lambda: app.floor is not None and len(preparers(app)) == 22, timeout=60)
        for _ in range(10):
            await pilot.press("s")
        await until(pilot, lambda: len([r for r in preparers(app) if r.running]) == 12, timeout=90)
        assert app.floor is not None
        names = [r.name for r in preparers(app)]
        assert sorted(names) == sorted(f"preparer-{n}" for n in range(1, 23))
        assert app.floor.failures() == []
        working = {r.name for r in preparers(app) if r.running}
        group = topics.group("preparers")
        await until(pilot, lambda: members_by_group(kafka, prefix).get(group) == working, timeout=60)
        # a panel per preparer that did something, each under its own name
        assert {name for name in app.panels if name.startswith("preparer-")} <= set(names)


def preparers(app: ShopApp) -> list[RoleView]:
    return [r for r in app.floor.roles() if r.kind is RoleKind.PREPARER] if app.floor else []


@pytest.mark.parametrize("key", ["n", "q"])
async def test_next_or_quit_while_connecting_leaves_no_member_behind(kafka: ConnectionSettings, prefix: str, key: str) -> None:
    """Pressed before the shop has opened: the worker that was connecting must not open a floor after the close."""
    app = ShopApp(SCENARIOS["demo3"], kafka, Topics(prefix), speed=4)
    async with running(app) as pilot:
        await pilot.press(key)  # at once: the shop is still connecting
        if key == "n":  # the next scenario opens; then quit it too
            await until(pilot, lambda: app.floor is not None and bool(app.floor.roles()), timeout=60)
            await pilot.press("q")
        await until(pilot, lambda: not app.is_running, timeout=60)
    await asyncio.to_thread(wait_for, lambda: all(worker.is_finished for worker in app.workers), 60)
    assert app.floor is None
    # a role closed while still joining is dropped by its session timeout (6 s); a floor opened after the close would stay
    await asyncio.to_thread(wait_for, lambda: all(not members for members in members_by_group(kafka, prefix).values()), 30)


async def test_g_switches_the_preparers_group_protocol_and_kafka_says_so(kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    group = topics.group("preparers")
    app = ShopApp(SCENARIOS["demo3"], kafka, topics, speed=4)

    def group_type() -> str:
        view = app.kafka_view
        return view.groups[group].group_type if view and group in view.groups else ""

    async with running(app) as pilot:
        await until(pilot, lambda: set(holders(app, topics)) == {"preparer-1", "preparer-2"} and group_type() == "CONSUMER")
        await pilot.press("g")  # consumer -> classic-eager: every preparer leaves, two new ones join the classic way
        await until(pilot, lambda: set(holders(app, topics)) == {"preparer-3", "preparer-4"} and group_type() == "CLASSIC", timeout=60)
        assert "classic-eager" in str(app.query_one("#rebalances").render())
        assert app.floor is not None and app.floor.failures() == []


async def test_a_bad_setting_is_a_message_in_the_app_not_a_traceback(tmp_path: Path) -> None:
    settings = ConnectionSettings(bootstrap_servers="127.0.0.1:1", certs_dir=tmp_path / "no-such-certs")
    app = ShopApp(SCENARIOS["demo1"], settings)
    async with app.run_test() as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "error" in status.classes, timeout=10)
        assert "no-such-certs does not exist" in str(status.render())


async def test_events_from_many_threads_show_in_their_panels_in_order_a_panel_of_fixed_height(tmp_path: Path) -> None:
    """Roles' threads hand the app their events in bursts: every line lands in its role's panel,
    in the order each role said it, and a panel keeps its height however many lines it is given. No broker needed."""
    settings = ConnectionSettings(bootstrap_servers="127.0.0.1:1", certs_dir=tmp_path / "no-such-certs")
    app = ShopApp(SCENARIOS["demo3"], settings)

    def till(number: int) -> None:
        for n in range(1, 301):
            order = Order(n, number, (("cod", "chips"),), f"r-{number}-{n}", 0.0)
            app.heard(ShopEvent(f"till-{number}", RoleKind.TILL, Kind.TOOK, order, "orders", 0, n - 1))

    async with app.run_test(size=(100, 40)) as pilot:
        threads = [threading.Thread(target=till, args=(number,)) for number in (1, 2, 3)]
        for thread in threads:
            thread.start()
        await asyncio.to_thread(lambda: [thread.join(10) for thread in threads])
        await until(pilot, lambda: all(lines(app, f"till-{n}")[-1:] == ["Order 300: cod & chips · p0@299"] for n in (1, 2, 3)))
        for number in (1, 2, 3):
            said = lines(app, f"till-{number}")
            assert said == [f"Order {n}: cod & chips · p0@{n - 1}" for n in range(301 - len(said), 301)]  # the last ones, in order
        await pilot.pause()
        assert {app.panels[f"till-{number}"].outer_size.height for number in (1, 2, 3)} == {6}


def test_layout_snapshot(snap_compare: Callable[..., bool]) -> None:
    """The layout at 80x24, in a state that does not change: a setting the app cannot use."""
    settings = ConnectionSettings(bootstrap_servers="127.0.0.1:1", certs_dir=Path("/nonexistent/certs"))
    app = ShopApp(SCENARIOS["demo3"], settings, log_path="fishchips.log")

    async def settle(pilot: Pilot) -> None:
        await until(pilot, lambda: "error" in app.query_one("#status").classes, timeout=10)

    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


async def test_demo6_shows_both_groups_with_each_preparers_served_count(kafka: ConnectionSettings, prefix: str) -> None:
    """The consumer group's two idle members and the share group's four busy ones, side by side."""
    app = ShopApp(SCENARIOS["demo6"], kafka, Topics(prefix), speed=4)

    def shown() -> str:
        return str(app.query_one("#groups").render())

    async with running(app, size=(120, 60)) as pilot:
        await until(pilot, lambda: shown().count("served") == 6, timeout=90)  # 2 of the consumer group, 4 of the share group
        text = shown()
        assert "consumer group" in text and "share group" in text and text.count("idle") == 2
        assert all(f"share-preparer-{n}" in text for n in (1, 2, 3, 4))
        assert "records in flight" in text
        # `S`: the member holding the most stops and releases what it holds; another is lent it, delivery count 2
        await pilot.press("d", "d")  # x1: an order takes 0.4 s, so a member holds each a while

        def stopped() -> list[RoleView]:
            return [r for r in app.floor.roles() if r.kind is RoleKind.SHARE_PREPARER and not r.running] if app.floor else []

        # A member stopped while writing what it made serves it: it has nothing left to release, and the app says so ("press
        # again"). That happens when the stop comes in the few ms of a write; each press stops another member.
        for presses in range(1, 4):
            await pilot.press("S")
            await until(pilot, lambda n=presses: len(stopped()) == n, timeout=60)  # type: ignore[misc]
            if any(r.counters.get("released") for r in stopped()):
                break
        # what it released, lent to another member (a member also hands back at once what it cannot make within its lock:
        # those rows name their own members)
        name = next(r.name for r in stopped() if r.counters.get("released"))
        await until(pilot, lambda: f"{name} released → " in shown(), timeout=30)


def brokers_panel(app: ShopApp) -> str:
    return str(app.query_one("#brokers").render())


def seen(app: ShopApp) -> ReplicationView | None:
    """The app's last look at the brokers and replicas, if Kafka answered it (not "reconnecting")."""
    return app.replication if app.replication is not None and app.replication.answered else None


def orders_leader(app: ShopApp) -> int | None:
    """The leader of the orders' first partition as the app last saw it; None before the topic shows."""
    view = seen(app)
    return next((p.leader for p in view.partitions if p.topic == app.topics.orders), None) if view is not None else None


async def test_the_app_kills_a_broker_with_its_key_and_restarts_it(three_nodes: EmbeddedCluster, prefix: str) -> None:
    settings = ConnectionSettings(bootstrap_servers=three_nodes.bootstrap_servers())
    app = ShopApp(SCENARIOS["demo3"], settings, Topics(prefix), local_cluster=three_nodes)
    async with running(app, size=(140, 60)) as pilot:
        await until(pilot, lambda: (view := seen(app)) is not None and orders_leader(app) is not None and view.under_replicated == 0, SETTLE)
        leader = orders_leader(app)
        assert leader is not None
        await pilot.press("x")
        await until(pilot, lambda: (view := seen(app)) is not None and not view.broker(leader).up, SETTLE)
        await until(pilot, lambda: (view := seen(app)) is not None and leader not in {p.leader for p in view.partitions}, SETTLE)
        assert f"{leader} DOWN" in brokers_panel(app)
        await pilot.press("b")
        await until(pilot, lambda: (view := seen(app)) is not None and all(b.up for b in view.brokers) and view.under_replicated == 0, SETTLE)
        await pilot.press("a")  # the tills write with acks=1: the brokers panel says what that risks
        await until(pilot, lambda: app.floor is not None and app.floor.acks == "1" and "lost if that broker dies" in brokers_panel(app))
        await pilot.press("a")
        await until(pilot, lambda: app.floor is not None and app.floor.acks == "all")
