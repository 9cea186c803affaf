"""`fishchips connect ...`: a Kafka Connect worker that sinks the served orders into PostgreSQL."""

import os

import click
from rich.table import Table

from fishchips.broker.jars import JDBC_SINK, ensure_jars
from fishchips.cli import servers
from fishchips.cli.console import BrokerProgress, console, out
from fishchips.cli.options import connection_options, prefix_option
from fishchips.cli.shop import connected, run_role
from fishchips.events import RoleKind
from fishchips.kafka.connect_worker import ConnectNames, ConnectWorker
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.paths import cache_dir
from fishchips.sink import ensure_sink, sink_report


@click.group()
def connect() -> None:
    """Run Kafka Connect beside the shop: Debezium's JDBC sink writes each served order to PostgreSQL."""


def start_worker(settings: ConnectionSettings, db_url: str | None, timeout: float, prefix: str) -> servers.Started:
    """Start the worker (if it is not running) and register the shop's sink on it; running it again changes nothing."""
    with connected(settings) as cluster, BrokerProgress() as progress:
        setup = ensure_sink(cluster, Topics(prefix), db_url, timeout, progress.jars, progress.phase)
    names = setup.names
    sink = f"[green]✓[/] sink {names.connector}: {names.rows} → table {names.table}; dead letters on {names.dead_letters}"
    return servers.Started(setup.state.rest_url, notes=(sink,), already=not setup.started)


@connect.command()
@click.option(
    "--partitions", type=click.IntRange(1), default=3, show_default=True, help="Partitions of the shop's topics, if they must be created."
)
@prefix_option
@connection_options
def clerk(settings: ConnectionSettings, prefix: str, partitions: int) -> None:
    """Run the clerk: its own group on served, each order republished as a row for the sink (Ctrl-C to stop)."""
    topics = Topics(prefix)
    with connected(settings) as cluster:
        run_role(RoleKind.CLERK, f"clerk-{os.getpid()}", cluster, topics, partitions, exactly_once=False)  # the upsert makes repeats harmless


@connect.command()
def fetch() -> None:
    """Fetch and verify the JDBC sink plugin's jars into the cache (start does this too)."""
    with BrokerProgress() as progress:
        progress.phase(f"fetching the {JDBC_SINK.title} jars")
        plugin = ensure_jars(cache_dir(), progress.jars, JDBC_SINK)
    console.print(f"[green]✓[/] {JDBC_SINK.title} jars in {plugin}", highlight=False)


def sink_status(prefix: str) -> servers.Record:
    """The worker, the sink's connector and task states, and its consumer group's lag."""
    return sink_report(ConnectWorker().running_state(), ConnectNames(Topics(prefix)))


def show_sink(report: servers.Record) -> None:
    """The sink's status: its states coloured, its lag beside the offsets it is worked out from."""
    table = Table(show_header=False, box=None)
    table.add_row("worker", f"[green]running[/] pid {report['worker']['pid']}, REST {report['worker']['rest']}")
    colour = "green" if report["state"] == "RUNNING" else "red"
    table.add_row("connector", f"{report['connector']} [{colour}]{report['state']}[/]")
    for task in report["tasks"]:
        colour = "green" if task["state"] == "RUNNING" else "red"
        table.add_row(f"task {task['id']}", f"[{colour}]{task['state']}[/] {task['trace']}")
    table.add_row("reads", report["topic"])
    table.add_row("writes", f"table {report['table']}")
    table.add_row("group", f"{report['group']} ({report['group_state']})")
    table.add_row("lag", f"{report['lag']} (end {report['end_offsets']}, committed {report['committed']})")
    out.print(table)


servers.ServerCommands(
    title="the Connect worker",
    server=ConnectWorker,
    start=start_worker,
    status=sink_status,
    stop_help="Stop the worker (SIGTERM, then SIGKILL if it must); its connectors and offsets stay in the cluster.",
    timeout=120.0,
    ready_when="has joined its group",
    start_options=(
        click.option("--db", "db_url", metavar="URL", help="The sink's database, postgresql://... [default: `fishchips db`, started if need be]."),
        prefix_option,
        connection_options,
    ),
    status_options=(prefix_option,),
    show=show_sink,
).add_to(connect)
