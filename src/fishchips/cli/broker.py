"""`fishchips broker ...`: run a real Apache Kafka broker on this machine."""

import time
from pathlib import Path

import click
from rich.table import Table

from fishchips.broker.embedded import DEFAULT_PORT, BrokerAlreadyRunning, EmbeddedBroker
from fishchips.broker.jars import KAFKA_VERSION, ensure_jars
from fishchips.broker.java import JavaNotFound, find_java
from fishchips.cli.console import BrokerProgress, console, out
from fishchips.paths import cache_dir

data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Where the broker keeps its log (default: the per-user data dir)."
)


@click.group()
def broker() -> None:
    """Run a real Apache Kafka broker (KRaft) on 127.0.0.1."""


@broker.command()
@click.option("--port", type=int, default=None, help=f"Port for clients (default {DEFAULT_PORT}, or the port it had last time).")
@data_dir_option
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the broker to answer.")
def start(port: int | None, data_dir: Path | None, timeout: float) -> None:
    """Start the broker and wait until it answers."""
    broker = EmbeddedBroker(data_dir)
    started = time.monotonic()
    try:
        with BrokerProgress() as progress:
            status = broker.start(port=port, timeout=timeout, progress=progress.jars, on_phase=progress.phase)
    except BrokerAlreadyRunning as already:
        console.print(f"[yellow]•[/] {already}")
        return
    console.print(
        f"[green]✓[/] Kafka is ready at [bold]{status.bootstrap_servers}[/] in {time.monotonic() - started:.1f} s (data: {status.data_dir})"
    )


@broker.command()
def fetch() -> None:
    """Fetch and verify the broker's jars into the cache (start does this too)."""
    with BrokerProgress() as progress:
        progress.phase("fetching the Kafka jars")
        libs = ensure_jars(cache_dir(), progress.jars)
    console.print(f"[green]✓[/] Kafka {KAFKA_VERSION} jars in {libs}")


@broker.command()
@data_dir_option
def stop(data_dir: Path | None) -> None:
    """Stop the broker cleanly (its data is kept)."""
    if EmbeddedBroker(data_dir).stop():
        console.print("[green]✓[/] the broker has stopped")
    else:
        console.print("the broker was not running")


@broker.command()
@data_dir_option
def status(data_dir: Path | None) -> None:
    """Say whether the broker runs, and where and how."""
    current = EmbeddedBroker(data_dir).status()
    table = Table(show_header=False, box=None)
    table.add_row("state", "[green]running[/]" if current.running else "[red]stopped[/]")
    if current.state:
        table.add_row("pid", str(current.state.pid) if current.running else "-")
        table.add_row("bootstrap", current.bootstrap_servers or "-")
        table.add_row("kafka", current.state.kafka_version)
    table.add_row("data dir", str(current.data_dir))
    try:
        table.add_row("java", find_java().describe())
    except JavaNotFound as exc:
        table.add_row("java", f"[red]{exc}[/]")
    out.print(table)


@broker.command()
@data_dir_option
@click.option("--lines", "-n", type=int, default=40, show_default=True, help="How many of the last lines to show.")
def logs(data_dir: Path | None, lines: int) -> None:
    """Show the end of the broker's log."""
    broker = EmbeddedBroker(data_dir)
    console.print(f"[dim]{broker.log_file}[/]")
    out.print(broker.tail(lines), markup=False, highlight=False)
