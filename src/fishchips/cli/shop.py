"""The shop from the command line: a whole headless run, or one role per process."""

import functools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.markup import escape
from rich.table import Table

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.cli.console import BrokerProgress, console, figures_table, out, print_json
from fishchips.cli.options import connection_options, group_protocol_option, prefix_option, redis_option
from fishchips.cli.printing import Printer
from fishchips.errors import FishchipsError
from fishchips.events import Kind, RoleKind, ShopEvent, ignore
from fishchips.floor import ShopFloor, Summary
from fishchips.kafka import clients
from fishchips.kafka.connect import connect
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.ledger import CabinetFigures, check
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Role
from fishchips.roles.till import Tickets
from fishchips.runtime import RoleSpec
from fishchips.scenarios import SCENARIOS, scenario
from fishchips.services.redis_server import redis_url
from fishchips.shop import Menu, new_run_id
from fishchips.shop.keying import Keying
from fishchips.sink import ShopSink, ensure_sink
from fishchips.stores.cabinet import Cabinet
from fishchips.waiting import until

FLUSH_SECONDS = 5.0  # at the end, lines still waiting for the terminal get this long to be printed

VERBS = {
    Kind.TO_COOK: "sent to the cook",
    Kind.SEEN: "read",
    Kind.ASSIGNED: "now holds",
    Kind.REVOKED: "gave up",
    Kind.LOST: "lost",
    Kind.DEAD_LETTER: "set aside",
    Kind.TOPPED_UP: "topped up",
}


def event_line(event: ShopEvent) -> str:
    """One event as one line: who, what, which order, where in Kafka."""
    what = event.order.describe() if event.order else event.detail
    if event.order and event.detail and event.kind in (Kind.TO_COOK, Kind.COOKED):
        what += f" ({event.detail})"  # what the cabinet was short of, what the cook cooked for it
    if event.kind is Kind.WAITING:
        return f"[bold yellow]{event.role:<11} waiting {escape(event.detail)}[/]"  # the reason is Redis's words, not markup
    where = f"  [dim]{event.where()}[/]" if event.topic else ""
    return f"[bold]{event.role:<11}[/] {VERBS.get(event.kind, str(event.kind)):<16} {what}{where}"


def printer() -> Printer:
    """Each event as one line, printed on a thread of its own (printing.py: why a role never waits to print)."""
    return Printer(event_line)


@contextmanager
def connected(settings: ConnectionSettings, nodes: int = 1) -> Iterator[ConnectionSettings]:
    """The cluster to use: the configured one, or the embedded broker, or with nodes=3 the local cluster (started with progress if need be)."""
    with BrokerProgress() as progress:
        if nodes == 3:
            settings = local_cluster(settings, progress)
        cluster = connect(settings, notice=progress.phase)
    yield cluster.settings


def local_cluster(settings: ConnectionSettings, progress: BrokerProgress) -> ConnectionSettings:
    """Settings for fishchips's local three-node cluster, started now if it is not whole."""
    if not settings.embedded:
        raise FishchipsError(f"--nodes 3 runs fishchips's own three-node cluster: leave out --bootstrap-servers ({settings.bootstrap_servers})")
    cluster = EmbeddedCluster()
    cluster.start(on_phase=progress.phase, progress=progress.jars)
    return settings.with_bootstrap(cluster.bootstrap_servers())


@contextmanager
def until_interrupted() -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM sets the event, so roles stop cleanly and leave their groups."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def summary_table(summary: Summary, cabinet: CabinetFigures | None = None) -> Table:
    title = f"{summary.scenario}: {'[green]taken = served, none twice' if summary.ok else '[red]orders missing or doubled'}[/]"
    rows: list[tuple[str, object]] = [
        ("orders taken", summary.taken),
        ("orders served", summary.served),
        ("plaice cooked", summary.cooked),
        ("missing", summary.missing),
        ("served twice", summary.duplicates),
        ("dead letters", summary.dead_letters),
        ("greatest lag seen", summary.max_lag),
        ("seconds", summary.seconds),
        ("orders/s", f"{summary.orders_per_second:.1f}"),
    ]
    rows += [(f"taken by {till}", n) for till, n in sorted(summary.taken_by_till.items())]
    rows += [(f"taken on partition {p}", n) for p, n in summary.taken_by_partition.items()]
    rows += [(f"served by {who}", n) for who, n in sorted(summary.served_by_preparer.items())]
    rows += [(f"latency {name} (ms)", value) for name, value in summary.latency_ms.items()]
    if cabinet is not None:
        rows += [(f"cabinet: {item} in stock", count) for item, count in cabinet.stock.items()]
        rows += [("batches cooked", cabinet.cooked_batches), ("trips to the cook", cabinet.trips_to_cook)]
        rows += [("cabinet = cooked - served", "yes" if cabinet.ok else "[red]no[/]")]
    return figures_table(title, rows)


@click.command()
@click.argument("scenario_name", metavar="SCENARIO", type=click.Choice(list(SCENARIOS)))
@click.option("--orders", type=click.IntRange(1), default=100, show_default=True, help="How many orders the tills take.")
@click.option("--speed", type=click.FloatRange(min=0.01), default=10.0, show_default=True, help="Times the demo pace (1 = as on stage).")
@click.option("--seed", type=int, default=None, help="Seed for the orders: the same seed, the same orders.")
@click.option("--tills", type=click.IntRange(1), help="Override the scenario's number of tills.")
@click.option("--preparers", type=click.IntRange(1), help="Override the number of food preparers.")
@click.option("--partitions", type=click.IntRange(1), help="Override the partitions of the orders topic.")
@click.option(
    "--keying", type=click.Choice([k.value for k in Keying]), help="How tills pick partitions: by till, explicit partition, or none."
)
@click.option("--resume", is_flag=True, help="Also serve orders left over from earlier runs.")
@click.option(
    "--exactly-once/--at-least-once", default=True, show_default=True, help="Preparers and cooks use Kafka transactions, or commit after the work."
)
@click.option("--sink", is_flag=True, help="Also upsert each served order into PostgreSQL through Kafka Connect (see fishchips connect).")
@click.option("--sink-db", metavar="URL", help="The sink's PostgreSQL, postgresql://... [default: fishchips db, started if need be].")
@click.option("--processes", is_flag=True, help="Run every role in a process of its own (rush hour), not a thread of this one.")
@click.option("--json", "as_json", is_flag=True, help="Print only the summary, as one JSON object.")
@redis_option
@group_protocol_option
@prefix_option
@connection_options
def run(
    settings: ConnectionSettings,
    scenario_name: str,
    orders: int,
    speed: float,
    seed: int | None,
    tills: int | None,
    preparers: int | None,
    partitions: int | None,
    keying: str | None,
    resume: bool,
    exactly_once: bool,
    sink: bool,
    sink_db: str | None,
    processes: bool,
    as_json: bool,
    redis_flag: str | None,
    group_protocol: GroupProtocol,
    prefix: str,
) -> None:
    """Run a demo headless, print every event, and check that every order was served exactly once
    (and, with the hot cabinet, that it holds what was cooked less what was served, to the portion)."""
    chosen = scenario(scenario_name).override(tills, preparers, partitions, Keying(keying) if keying else None)
    show = printer()
    with connected(settings) as cluster:
        floor = ShopFloor(
            chosen,
            cluster,
            Topics(prefix),
            listener=ignore if as_json else show,
            speed=speed,
            orders=orders,
            seed=seed,
            exactly_once=exactly_once,
            resume=resume,
            processes=processes,
            redis=redis_flag,
            group_protocol=group_protocol,
        )
        setup = ensure_sink(cluster, Topics(prefix), sink_db, phase=console.print) if sink else None
        with until_interrupted() as interrupted:
            floor.start()
            shop_sink = ShopSink(setup, cluster, Topics(prefix), floor.menu).start() if setup else None  # once the topics exist
            waiter = threading.Thread(target=floor.wait, daemon=True)
            waiter.start()
            until(lambda: not waiter.is_alive() or interrupted.is_set(), timeout=float("inf"), every=0.2)
            floor.close()
            show.flush(FLUSH_SECONDS)
            table = shop_sink.finish() if shop_sink else None
            ledger = check(cluster, Topics(prefix), floor.menu) if table else None
    summary, cabinet = floor.summary(), floor.cabinet_figures()
    # with --sink, the table holds every order the ledger (read from Kafka) says was served, at its price
    sink_ok = table is None or ledger is None or (table.rows, table.price_pence) == (ledger.served, ledger.takings_pence)
    ok = summary.ok and (cabinet is None or cabinet.ok) and sink_ok
    if as_json:
        figures = cabinet.to_json() if cabinet is not None else {}
        print_json(summary, **figures, ok=ok, orders_per_second=round(summary.orders_per_second, 1), sink=table)
    else:
        out.print(summary_table(summary, cabinet))
        if table is not None and setup is not None:
            mark = "[green]✓" if sink_ok else "[red]✗"
            console.print(f"{mark} table {setup.names.table}: {table.rows} rows, {table.price_pence} pence[/]", highlight=False)
        for failure in floor.failures() + (cabinet.differences if cabinet is not None else []):
            console.print(f"[red]✗ {failure}[/]")
    if not ok:
        raise SystemExit(1)


def run_role(
    kind: RoleKind,
    name: str,
    settings: ConnectionSettings,
    topics: Topics,
    partitions: int,
    /,  # a till's own `partitions` option goes with the others
    cabinet: Cabinet | None = None,
    group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
    make_topics: bool = True,
    **options: object,
) -> None:
    """Run one role in this process until Ctrl-C or SIGTERM; it leaves its group on the way out.
    `make_topics`: create the shop's topics if missing (a classroom's student may not: the teacher made them)."""
    if make_topics:
        ensure_shop_topics(clients.admin(settings), topics, partitions)
    exactly_once = bool(options.pop("exactly_once", True))
    show = printer()
    context = ShopContext(settings, topics, Menu.load(), exactly_once, group_protocol, show, cabinet=cabinet)
    role: Role = RoleSpec(kind, name, options).build(context)
    with until_interrupted() as interrupted:
        role.start()
        until(lambda: not role.running or interrupted.is_set(), timeout=float("inf"), every=0.2)
        role.stop()
    show.flush(FLUSH_SECONDS)
    console.print(f"{role.name}: " + (", ".join(f"{kind} {n}" for kind, n in sorted(role.counters.items())) or "nothing done"))
    if role.failure is not None:
        raise SystemExit(1)


Option = Callable[[Callable[..., object]], Callable[..., object]]
role_options: list[Option] = [
    prefix_option,
    click.option("--partitions", type=click.IntRange(1), default=3, show_default=True, help="Partitions of orders, if it must be created."),
    click.option("--speed", type=click.FloatRange(min=0.01), default=1.0, show_default=True, help="Times the demo pace."),
    connection_options,
]


def with_role_options(command: Callable[..., object]) -> Callable[..., object]:
    for option in reversed(role_options):
        command = option(command)
    return command


@click.command()
@click.option("--number", type=click.IntRange(1), default=1, show_default=True, help="This till's number.")
@click.option("--orders", type=click.IntRange(1), default=None, help="Stop after this many orders (default: never).")
@click.option(
    "--rate", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Orders per second at speed 1 (0: as fast as possible)."
)
@click.option("--plaice-share", type=click.FloatRange(0, 1), default=0.3, show_default=True, help="Share of fish suppers that are plaice.")
@click.option("--keying", type=click.Choice([k.value for k in Keying]), default="till", show_default=True, help="How to pick partitions.")
@with_role_options
def till(
    settings: ConnectionSettings,
    number: int,
    orders: int | None,
    rate: float,
    plaice_share: float,
    keying: str,
    prefix: str,
    partitions: int,
    speed: float,
) -> None:
    """Run one till: take orders and produce them to the orders topic."""
    with connected(settings) as cluster:
        run_role(
            RoleKind.TILL,
            f"till-{number}",
            cluster,
            Topics(prefix),
            partitions,
            number=number,
            tickets=Tickets(orders),
            run_id=new_run_id(),
            keying=Keying(keying),
            partitions=partitions,
            orders_per_second=rate,
            plaice_share=plaice_share,
            speed=speed,
        )


def cabinet_options(command: Callable[..., object]) -> Callable[..., object]:
    """--cabinet and --redis, handed to the command as one `cabinet` value (None: no cabinet)."""

    @functools.wraps(command)
    def wrapper(*args: object, cabinet_flag: bool, redis_flag: str | None, prefix: str, **kwargs: object) -> object:
        cabinet = Cabinet(redis_url(redis_flag), prefix) if cabinet_flag or redis_flag else None
        return command(*args, cabinet=cabinet, prefix=prefix, **kwargs)

    flag = click.option(
        "--cabinet", "cabinet_flag", is_flag=True, help="Use the hot cabinet in Redis, as demo5's shop does (--redis implies it)."
    )
    return flag(redis_option(wrapper))


def consuming_role_command(kind: RoleKind, work_seconds: float, summary: str) -> click.Command:
    """`fishchips preparer` and `fishchips cook`: one consuming role in this process, with the same options."""

    @click.command(name=str(kind), help=summary)
    @click.option("--name", default=None, help=f"This {kind}'s name (default: {kind}-<pid>).")
    @click.option("--exactly-once/--at-least-once", default=True, show_default=True, help="Use Kafka transactions, or commit after the work.")
    @group_protocol_option
    @with_role_options
    @cabinet_options
    def command(
        settings: ConnectionSettings,
        name: str | None,
        exactly_once: bool,
        group_protocol: GroupProtocol,
        prefix: str,
        partitions: int,
        speed: float,
        cabinet: Cabinet | None,
    ) -> None:
        with connected(settings) as cluster:
            run_role(
                kind,
                name or f"{kind}-{os.getpid()}",
                cluster,
                Topics(prefix),
                partitions,
                work_seconds=work_seconds,  # at speed 1, as on stage
                speed=speed,
                exactly_once=exactly_once,
                group_protocol=group_protocol,
                cabinet=cabinet,
            )

    return command


preparer = consuming_role_command(
    RoleKind.PREPARER,
    0.4,
    "Run one food preparer: join the group on orders, serve, send plaice (or, with the cabinet, what it lacks) to the cook.",
)
cook = consuming_role_command(
    RoleKind.COOK,
    1.0,
    "Run the cook: consume the cook topic and send orders back marked ready (with the cabinet: cook what it lacks, and keep it stocked).",
)


@click.command()
@click.option("--from-beginning", is_flag=True, help="Show every order ever served, not just new ones.")
@with_role_options
def board(settings: ConnectionSettings, from_beginning: bool, prefix: str, partitions: int, speed: float) -> None:
    """Show orders as they are served (reads the served topic; joins no group)."""
    topics = Topics(prefix)
    with connected(settings) as cluster:
        start = None if from_beginning else end_offsets(clients.admin(cluster), [topics.served]).get(topics.served, {})
        run_role(RoleKind.BOARD, "board", cluster, topics, partitions, topic=topics.served, start=start, speed=speed)

