"""The live shop: a Textual app with a panel per role and Kafka's own view beside it.

The app is a view of one ShopFloor: it calls the floor's controls and shows the floor's
events, handed to the app from the roles' threads (or the floor's reader of a role's process)
in batches: one message for whatever arrived since the app last looked, not one per event.
It stays quiet at the demo's pace: a new line repaints its panel only (tui/role_log.py), a pane
read once a second asks for a layout pass only when its shape changes, and the footer is
rebuilt only when the keys it shows change.
Opening, closing, the speed and the scenario steps are the shop session's (fishchips.session,
the page's too); Kafka's view is read through its admin client once a second in a worker thread. Nothing
blocking ever runs on the app's event loop, and every log line goes to the log file.
"""

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.controls import BROKER_CONTROLS, CONTROLS, SHARE_CONTROLS
from fishchips.errors import FishchipsError
from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.floor import ShopFloor
from fishchips.kafka.connect_worker import ConnectNames, ConnectWorker
from fishchips.kafka.inspect import ClusterView
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.replication import ReplicationView
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.kafka.watcher import LOOK_EVERY
from fishchips.lending import released_words
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.till import ACKS
from fishchips.scenarios import SCENARIOS, Scenario
from fishchips.session import ShopSession, next_scenario
from fishchips.shop import format_pence
from fishchips.sink import sink_report
from fishchips.stores.books import BooksError, Totals, open_books
from fishchips.stores.cabinet import CabinetError, CabinetState, cooked_words
from fishchips.tui.cabinet_view import render_cabinet
from fishchips.tui.groups_view import render_groups
from fishchips.tui.kafka_view import render
from fishchips.tui.replication_view import render_replication
from fishchips.tui.role_log import RoleLog

log = logging.getLogger(__name__)

# the panels show what the roles said at most this often, one repaint for all of it: at the demo's pace each event
# of its own (an order's took, served, called, booked) was a repaint of the screen
SHOW_EVERY = 0.25

# each kind of role has its panels in one column section, in this order
PANELS = {
    RoleKind.TILL: "tills",
    RoleKind.PREPARER: "preparers",
    RoleKind.SHARE_PREPARER: "share-preparers",
    RoleKind.COOK: "cooks",
    RoleKind.BOARD: "boards",
    RoleKind.READER: "readers",
    RoleKind.ACCOUNTANT: "readers",
    RoleKind.CLERK: "readers",
}
# what a viewer should notice when the preparers' group rebalances each way
NOTICE = {
    GroupProtocol.CLASSIC_EAGER: "every member gives up every partition on each rebalance",
    GroupProtocol.CLASSIC_COOPERATIVE: "only the partitions that must move stop; the rest keep serving",
    GroupProtocol.CONSUMER: "the broker assigns; members take and give up partitions one heartbeat at a time",
}
MEMBERSHIP_WORDS = {Kind.ASSIGNED: "holds", Kind.REVOKED: "gave up", Kind.LOST: "lost"}


def words(event: ShopEvent) -> Text | None:
    """An event in the talk's words, or None for events the panels do not show."""
    order = event.order
    if order is None:
        if event.kind in MEMBERSHIP_WORDS:
            return Text(f"{MEMBERSHIP_WORDS[event.kind]} {event.detail}", style="dim italic")
        if event.kind is Kind.FAILED:
            return Text(f"failed: {event.detail}", style="bold red")
        if event.kind is Kind.WAITING:
            return Text(f"waiting {event.detail}", style="bold yellow")
        if event.kind is Kind.RESUMED and event.detail:  # a till that waited for Kafka goes on
            return Text(event.detail, style="green")
        if event.kind is Kind.TOPPED_UP:
            return Text(f"Topped up the cabinet: {event.detail}", style="yellow")
        if event.kind is Kind.RELEASED:  # a share preparer hands a record back unread
            return Text(f"Released {event.where()}: another member takes it", style="yellow")
        return None
    parts = order.describe().split(": ", 1)[1]
    said = {
        Kind.TOOK: f"Order {order.order}: {parts}",
        Kind.SERVED: f"Order {order.order} ready",
        Kind.TO_COOK: f"COOK {order.order} {parts}",
        Kind.COOKED: f"Cooked {order.order}: {parts}",
        Kind.CALLED: f"Order {order.order}, please!",
        Kind.SEEN: f"Order {order.order}: {parts}",
        Kind.DEAD_LETTER: f"set aside {order.order}: {event.detail}",
    }.get(event.kind)
    if said is None:
        return None
    if event.detail and event.kind in (Kind.TO_COOK, Kind.COOKED):
        said += f" ({event.detail})"  # what the cabinet was short of, what the cook cooked for it
    style = {Kind.TO_COOK: "yellow", Kind.COOKED: "yellow", Kind.SERVED: "green", Kind.CALLED: "bold green"}.get(event.kind, "")
    return Text.assemble((said, style), (f" · p{event.partition}@{event.offset}", "dim"))


class ReplicationRead(Message):
    def __init__(self, view: ReplicationView) -> None:
        super().__init__()
        self.view = view


class KafkaViewRead(Message):
    def __init__(self, view: ClusterView | None, problem: str = "") -> None:
        super().__init__()
        self.view = view  # None: Kafka's view could not be read, and `problem` says why
        self.problem = problem


class BooksRead(Message):
    def __init__(self, books: Totals) -> None:
        super().__init__()
        self.books = books


class ConnectRead(Message):
    """The shop's Kafka Connect sink, as the worker and Kafka report it."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__()
        self.report = report


class CabinetRead(Message):
    """The hot cabinet's stock, or why it could not be read."""

    def __init__(self, state: CabinetState | None, since: CabinetState | None, error: str = "") -> None:
        super().__init__()
        self.state = state
        self.since = since
        self.error = error


class StatusChanged(Message):
    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text = text
        self.error = error


class ShopApp(App[None]):
    """fishchips: the shop, live, with Kafka's view of it."""

    TITLE = "fishchips"
    CSS = """
    #lesson { height: auto; padding: 0 1; color: $text-muted; }
    #status { height: 1; padding: 0 1; background: $boost; }
    #status.error { color: $error; text-style: bold; }
    #body { height: 1fr; }
    #shop { width: 1fr; }
    #kafka-pane { width: 1fr; border-left: solid $primary; }
    #kafka { padding: 0 1; }
    #accounts { padding: 0 1; margin-top: 1; border-top: solid $primary; }
    #connect { padding: 0 1; height: auto; display: none; }
    #connect.shown { display: block; }
    #rebalances { padding: 0 1; margin-top: 1; border-top: solid $primary; height: auto; }
    #brokers { padding: 0 1; margin-top: 1; border-top: solid $primary; height: auto; }
    #groups { display: none; padding: 0 1; margin-top: 1; border-top: solid $primary; height: auto; }
    #groups.shown { display: block; }
    #cabinet { display: none; padding: 0 1; margin-top: 1; border-top: solid $warning; }
    #cabinet.shown { display: block; }
    .kind { height: auto; }
    RoleLog.role { height: 6; border: round $primary; padding: 0 1; }
    RoleLog.role.tills { border: round $success; }
    RoleLog.role.cooks { border: round $warning; }
    """
    BINDINGS: ClassVar = [Binding(c.key, c.name, c.label) for c in CONTROLS]

    def __init__(
        self,
        scenario: Scenario,
        settings: ConnectionSettings,
        topics: Topics | None = None,
        speed: float = 1.0,
        log_path: str = "",
        books: str | None = None,
        group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
        redis: str | None = None,
        local_cluster: EmbeddedCluster | None = None,  # the three-node cluster fishchips started (None: the data dir's)
    ) -> None:
        super().__init__()
        self.topics = topics or Topics()
        self.session = ShopSession(scenario, settings, self.topics, self.heard, speed, books, group_protocol, redis, local_cluster)
        self.log_path = log_path
        self.books_totals: Totals | None = None
        self.cabinet_state: CabinetState | None = None
        self.restocked: dict[str, int] | None = None  # what the last `r` cooked
        self.rebalances: deque[str] = deque(maxlen=8)
        self.kafka_view: ClusterView | None = None
        self.replication: ReplicationView | None = None
        self.last_served_at: float | None = None  # when an order was last served: a broker's death may stop serving a while
        self.panels: dict[str, RoleLog] = {}
        self._inbox: list[ShopEvent] = []  # events heard since the app last looked, filled from the roles' threads
        self._inbox_lock = threading.Lock()
        self._shapes: dict[str, tuple[int, int]] = {}  # each pane's width and height in lines when last shown
        self._shown: dict[str, RenderableType] = {}  # what each pane shows now
        self._broker_keys: bool | None = None  # whether the footer shows the broker controls

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="lesson")
        with Horizontal(id="body"):
            with VerticalScroll(id="shop"):
                for section in dict.fromkeys(PANELS.values()):
                    yield Vertical(id=section, classes="kind")
            with VerticalScroll(id="kafka-pane"):
                yield Static("Kafka's own view appears here once the shop is connected", id="kafka")
                yield Static("brokers: Kafka's view of them appears here", id="brokers")
                yield Static("rebalances: the preparers' group's last moves appear here", id="rebalances")
                yield Static(id="groups")
                yield Static("the hot cabinet: its stock appears here", id="cabinet")
                yield Static("accounts: the books appear here", id="accounts")
                yield Static(id="connect")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.show_scenario()
        self.open_shop()
        self.set_interval(SHOW_EVERY, self.show_events)
        self.set_interval(LOOK_EVERY, self.read_kafka_view)
        self.set_interval(LOOK_EVERY, self.show_groups)

    @property
    def floor(self) -> ShopFloor | None:
        return self.session.floor

    @property
    def scenario(self) -> Scenario:
        return self.session.scenario

    def heard(self, event: ShopEvent) -> None:
        """A role's event, from its thread: into the inbox, which the app empties on its event loop every SHOW_EVERY."""
        with self._inbox_lock:
            self._inbox.append(event)

    def show(self, selector: str, content: RenderableType) -> None:
        """Update a pane read once a second: not at all if it would show the same, and a layout pass of the screen only if
        the pane's height changes (each is as high as its content at its width). Rendering one pane to count its lines
        costs far less than laying out the screen."""
        if not self.is_running:  # shutting down: Textual removes the screens, then handles the messages still queued
            return
        if self._shown.get(selector) == content:  # the same words and styles (Rich's Text compares both): nothing to repaint
            return
        self._shown[selector] = content
        pane = self.query_one(selector, Static)
        if not pane.display:  # hidden: showing it lays the screen out anyway
            pane.update(content, layout=False)
            self._shapes.pop(selector, None)
            return
        width = max(pane.content_region.width, 1)
        shape = (width, len(self.console.render_lines(content, self.console.options.update_width(width), pad=False)))
        pane.update(content, layout=self._shapes.get(selector) != shape)
        self._shapes[selector] = shape

    def show_scenario(self) -> None:
        self.sub_title = f"{self.scenario.name}: {self.scenario.title}"
        self.query_one("#lesson", Static).update(Text(self.scenario.lesson))
        self.query_one("#cabinet", Static).set_class(self.scenario.cabinet, "shown")
        self.query_one("#groups", Static).set_class(self.scenario.share_preparers > 0, "shown")
        self.refresh_bindings()  # `r` is shown only for a shop with a cabinet

    # opening and closing the shop (in threads: Kafka calls block) --------------------------------
    def open_shop(self) -> None:
        """Open the session's scenario in a worker; a close from now on (n, q) wins, and the worker opens nothing."""
        self._open_shop(self.session.generation)

    @work(thread=True, group="shop")
    def _open_shop(self, generation: int) -> None:
        def say(status: str) -> None:
            self.post_message(StatusChanged(status))

        say("connecting to Kafka…")
        try:
            if self.session.open(say, generation) is None:
                return
        except FishchipsError as exc:
            self.post_message(StatusChanged(f"✗ {exc}", error=True))
            return
        session = self.session
        self.post_message(StatusChanged(f"Kafka {session.settings.bootstrap_servers} · x{session.speed:g} · log {self.log_path}"))

    async def close_shop(self) -> None:
        await asyncio.to_thread(self.session.close)

    # what the roles and Kafka tell us ------------------------------------------------------------
    def show_events(self) -> None:
        with self._inbox_lock:
            events, self._inbox = self._inbox, []
        for event in events:
            self.show_event(event)

    def show_event(self, event: ShopEvent) -> None:
        if event.kind is Kind.SERVED:
            self.last_served_at = time.time()
        said = words(event)
        panel = self.panel(event) if said is not None else None
        if panel is None or said is None:
            return
        panel.write(said)
        if event.kind in MEMBERSHIP_WORDS:
            panel.border_subtitle = f"partitions {','.join(map(str, event.partitions)) or '-'}"
            if event.role_kind is RoleKind.PREPARER:
                self.show_rebalance(event)

    def show_rebalance(self, event: ShopEvent) -> None:
        """The preparers' group's last moves: who gave up or got which partitions, and when."""
        moment = time.strftime("%H:%M:%S", time.localtime(event.at))
        self.rebalances.append(f"{moment} {event.role} {MEMBERSHIP_WORDS[event.kind]} {event.detail}")
        protocol = self.floor.group_protocol if self.floor else self.session.group_protocol
        text = Text.assemble(("rebalances ", "bold"), (f"{protocol} · {NOTICE[protocol]}\n", "magenta"), "\n".join(self.rebalances))
        self.show("#rebalances", text)

    def show_groups(self) -> None:
        """Both ways of taking orders side by side (demo6): each preparer's served count, the idle ones marked."""
        if self.floor is not None:
            self.show("#groups", render_groups(self.floor.preparer_groups(), *self.floor.share_loans()))

    def panel(self, event: ShopEvent) -> RoleLog | None:
        """The role's panel, made on its first event; None while the app is closing."""
        if event.role not in self.panels:
            section = PANELS[event.role_kind]
            container = self.query_one(f"#{section}", Vertical)
            if not container.is_attached:
                return None
            log = RoleLog(classes=f"role {section}", id=f"panel-{event.role}")
            where = next((role.where for role in self.floor.roles() if role.name == event.role), "") if self.floor else ""
            log.border_title = event.role + (f" ({where})" if where.startswith("process") else "")
            self.panels[event.role] = log
            container.mount(log)
        return self.panels[event.role]

    @on(StatusChanged)
    def show_status(self, message: StatusChanged) -> None:
        status = self.query_one("#status", Static)
        status.update(Text(message.text))
        status.set_class(message.error, "error")

    @work(thread=True, exclusive=True, group="kafka-view")
    def read_kafka_view(self) -> None:
        if self.floor is None:
            return
        groups = [self.topics.group(FoodPreparer.group_role)] + ([self.topics.group(Cook.group_role)] if self.scenario.cooks else [])
        sight = self.session.look([self.topics.orders, self.topics.cook, self.topics.served], groups)
        self.post_message(KafkaViewRead(sight.kafka, sight.problem))
        self.post_message(ReplicationRead(sight.replication))
        floor = self.floor  # the shop may close meanwhile (n, q): read the one this worker started with
        if floor is not None and (cabinet := floor.cabinet) is not None:
            try:
                self.post_message(CabinetRead(cabinet.state(), floor.cabinet_at_start))
            except CabinetError as exc:
                self.post_message(CabinetRead(None, None, str(exc)))
        try:
            with open_books(self.session.books, self.topics.prefix) as books:
                self.post_message(BooksRead(books.totals()))
        except BooksError as exc:
            self.post_message(StatusChanged(f"✗ {exc}", error=True))
        worker = ConnectWorker().status()  # a state file and a pid: no call unless a worker runs
        if worker.running and worker.state is not None:
            try:
                self.post_message(ConnectRead(sink_report(worker.state, ConnectNames(self.topics))))
            except (FishchipsError, OSError) as exc:
                log.info("no sink status: %s", exc)

    @on(ConnectRead)
    def show_connect(self, message: ConnectRead) -> None:
        """Beside Kafka's view: the sink's connector and tasks, and its group's lag (`fishchips connect status`)."""
        report = message.report
        if report["state"] == "MISSING" or not self.is_running:  # a worker runs, but not for this shop's prefix; or closing
            return
        tasks = " · ".join(f"task {task['id']} {task['state']}" for task in report["tasks"]) or "no task yet"
        colour = "green" if report["state"] == "RUNNING" else "red"
        text = Text.assemble(
            ("kafka connect ", "bold"), (f"{report['connector']} {report['state']}", colour), f" · {tasks}\n",
            f"into table {report['table']} · lag {report['lag']}",
        )
        self.show("#connect", text)
        self.query_one("#connect", Static).add_class("shown")

    @on(KafkaViewRead)
    def show_kafka_view(self, message: KafkaViewRead) -> None:
        if message.view is None:
            self.show("#kafka", Text(f"✗ {message.problem}", style="red"))
            return
        self.kafka_view = message.view
        self.show("#kafka", render(message.view))

    @on(ReplicationRead)
    def show_replication(self, message: ReplicationRead) -> None:
        self.replication = message.view
        served_ago = time.time() - self.last_served_at if self.last_served_at is not None else None
        text = render_replication(message.view, served_ago, self.session.nodes.reason)
        if self.floor is not None and self.floor.acks != "all":  # a key away from losing orders: say so under the brokers
            text.append(f"\ntills write with {ACKS[self.floor.acks]}", style="bold yellow")
        self.show("#brokers", text)
        if self._broker_keys != self.session.nodes.available:  # x, b and a show once the shop is found to run on a cluster fishchips started
            self._broker_keys = self.session.nodes.available
            self.refresh_bindings()  # the footer is rebuilt: only when its keys change

    @on(CabinetRead)
    def show_cabinet(self, message: CabinetRead) -> None:
        if message.state is not None:
            self.cabinet_state = message.state
        self.show("#cabinet", render_cabinet(message.state, message.since, self.floor.menu if self.floor else None, message.error))

    @on(BooksRead)
    def show_books(self, message: BooksRead) -> None:
        self.books_totals = books = message.books
        items = " · ".join(f"{name} {count}" for name, count in books.items.items())
        text = Text.assemble(
            ("accounts ", "bold"), f"{books.orders} orders · ", (format_pence(books.takings_pence), "bold green"), f"\n{items}"
        )
        if books.rejected:
            text.append(f" · rejected {books.rejected}", style="red")
        self.show("#accounts", text)

    # the controls --------------------------------------------------------------------------------
    def _in_thread(self, what: str, *args: object) -> None:
        """Run a floor control off the event loop (starting a process takes a moment); the floor serialises them."""
        floor = self.floor
        if floor is not None:
            self.run_worker(lambda: getattr(floor, what)(*args), thread=True, group="controls")

    def action_add_till(self) -> None:
        self._in_thread("add_till")

    def action_add_preparer(self) -> None:
        self._in_thread("add_preparer")

    def action_add_preparer_process(self) -> None:
        self.notify("a preparer in a process of its own joins the group: its panel says which process")
        self._in_thread("add_preparer", True)

    def action_stop_preparer(self) -> None:
        self._in_thread("stop_preparer")

    def action_stop_share_preparer(self) -> None:
        floor = self.floor
        if floor is None:
            return

        def stop() -> None:
            stopped = floor.stop_share_preparer()
            self.call_from_thread(self.notify, released_words(*stopped) if stopped else "no share preparer is working")

        self.run_worker(stop, thread=True, group="controls")

    def action_late_consumer(self) -> None:
        self._in_thread("start_late_consumer")

    def action_next_protocol(self) -> None:
        protocols = list(GroupProtocol)
        protocol = protocols[(protocols.index(self.floor.group_protocol if self.floor else self.session.group_protocol) + 1) % len(protocols)]
        self.session.group_protocol = protocol
        self.notify(f"the preparers rejoin as {protocol}: {NOTICE[protocol]}")
        self._in_thread("switch_group_protocol", protocol)

    def action_toggle_cook(self) -> None:
        pause = self.floor is not None and not self.floor.cooks_paused
        if self.floor is None or not self.floor.pause_cooks(pause):
            self.notify("this scenario has no cook")
            return
        self.notify("cook paused" if pause else "cook back at work")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`r` (restock) belongs to a shop with a hot cabinet only; `S` to one with a share group; x, b and a to a cluster
        fishchips started."""
        if action in BROKER_CONTROLS:
            return self.session.nodes.available
        if action in SHARE_CONTROLS:
            return self.scenario.share_preparers > 0
        return self.scenario.cabinet if action == "restock" else True

    def action_kill_broker(self) -> None:
        self._broker_control(self.session.kill_broker)

    def action_restart_broker(self) -> None:
        self._broker_control(self.session.nodes.restart)

    def action_toggle_acks(self) -> None:
        self._broker_control(self.session.toggle_acks)

    def _broker_control(self, control: Callable[[], str]) -> None:
        def run() -> None:
            try:
                said = control()
            except FishchipsError as exc:
                self.post_message(StatusChanged(f"✗ {exc}", error=True))
                return
            self.post_message(StatusChanged(said))

        self.run_worker(run, thread=True, group="controls")

    def action_restock(self) -> None:
        floor = self.floor
        if floor is None:
            return

        def restock() -> None:
            try:
                cooked = floor.restock()
            except CabinetError as exc:
                self.post_message(StatusChanged(f"✗ {exc}", error=True))
                return
            self.restocked = cooked
            self.call_from_thread(self.notify, f"restocked by hand: {cooked_words(cooked)}")

        self.run_worker(restock, thread=True, group="controls")

    def action_faster(self) -> None:
        self.notify(f"speed x{self.session.step_speed(+1):g}")

    def action_slower(self) -> None:
        self.notify(f"speed x{self.session.step_speed(-1):g}")

    async def action_next_scenario(self) -> None:
        await self.switch_to(next_scenario(self.scenario.name))

    async def switch_to(self, name: str) -> None:
        self.notify(f"closing the shop for {name}…")
        await asyncio.to_thread(self.session.step_scenario, name)
        for panel in self.panels.values():
            await panel.remove()
        self.panels.clear()
        self.show_scenario()
        self.open_shop()

    async def action_quit(self) -> None:
        self.query_one("#status", Static).update("closing the shop: every role leaves its group…")
        await self.close_shop()
        self.exit()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for control in CONTROLS:
            yield SystemCommand(control.label, control.idea, lambda action=control.name: self.run_action(action))
        for name, scenario in SCENARIOS.items():
            if name != self.scenario.name:
                yield SystemCommand(f"Switch to {name}", scenario.title, lambda name=name: self.switch_to(name))
