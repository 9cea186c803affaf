"""`fishchips broker ...`: run a real Apache Kafka broker on this machine."""

import time
from pathlib import Path

import click
from rich.table import Table

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import DEFAULT_PORT, BrokerAlreadyRunning, BrokerStatus, EmbeddedBroker
from fishchips.broker.jars import KAFKA_VERSION, ensure_jars
from fishchips.broker.java import JavaNotFound, find_java
from fishchips.broker.users import ADMIN, ROLE_USERS
from fishchips.cli import servers
from fishchips.cli.console import BrokerProgress, console, out, status_table
from fishchips.cli.options import prefix_option
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.acls import open_shop
from fishchips.kafka.connect import local_settings
from fishchips.kafka.topics import Topics
from fishchips.paths import cache_dir

BROKER_KEEPS = "the broker keeps its log (default: the per-user data dir)"
data_dir_option = servers.data_dir_option(BROKER_KEEPS)


@click.group()
def broker() -> None:
    """Run a real Apache Kafka broker (KRaft) on 127.0.0.1."""


@broker.command()
@click.option("--port", type=int, default=None, help=f"Port for clients (default {DEFAULT_PORT}, or the port it had last time).")
@data_dir_option
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the broker to answer.")
@click.option(
    "--tls", is_flag=True, help="Also listen with TLS (client certificates required); the client files go in <data>/client-certs."
)
@click.option(
    "--sasl",
    is_flag=True,
    help="Also listen with SASL_SSL: SCRAM users per role, and ACLs (implies --tls). "
    "The local port then wants a SCRAM login too; fishchips's own commands log in as admin.",
)
@click.option(
    "--plaintext",
    is_flag=True,
    help="With --sasl: keep the local port open to any local process, unauthenticated and allowed everything (not safe).",
)
@click.option(
    "--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True, help="3: a cluster of three nodes, each its own process."
)
def start(port: int | None, data_dir: Path | None, timeout: float, tls: bool, sasl: bool, plaintext: bool, nodes: str) -> None:
    """Start the broker (or a three-node cluster) and wait until it answers.

    Commands that start the broker themselves start it the way it was started last (--tls, --sasl, --plaintext, --nodes).
    """
    started = time.monotonic()
    if plaintext and not sasl:
        raise FishchipsError("--plaintext goes with --sasl: without SASL the local port is open to anyone anyway")
    if nodes == "3":
        if tls or sasl:
            raise FishchipsError("--tls and --sasl run on one node: start the three-node cluster without them")
        with BrokerProgress() as progress:
            cluster = EmbeddedCluster(data_dir)
            cluster.start(port=port, timeout=max(timeout, 120), progress=progress.jars, on_phase=progress.phase)
        console.print(
            f"[green]✓[/] a three-node Kafka cluster is ready at [bold]{cluster.bootstrap_servers()}[/] in {time.monotonic() - started:.1f} s"
        )
        return
    broker = EmbeddedBroker(data_dir)
    try:
        with BrokerProgress() as progress:
            status = broker.start(
                port=port, timeout=timeout, progress=progress.jars, on_phase=progress.phase, tls=tls, sasl=sasl, plaintext=plaintext
            )
            if sasl:
                progress.phase("granting the roles their ACLs")
                _open_shop(broker, status, Topics(), partitions=3)
    except BrokerAlreadyRunning as already:
        console.print(f"[yellow]•[/] {already}")
        return
    console.print(
        f"[green]✓[/] Kafka is ready at [bold]{status.bootstrap_servers}[/] in {time.monotonic() - started:.1f} s (data: {status.data_dir})"
    )
    if status.state and status.state.sasl:
        if status.state.plaintext:
            console.print(
                f"  [bold red]warning:[/] {status.bootstrap_servers} takes anyone on this machine unauthenticated, as a super user: "
                "the ACLs bind only the SASL users (start without --plaintext to close it)",
                highlight=False,
            )
        else:
            console.print(f"  {status.bootstrap_servers} wants a SCRAM login: fishchips's own commands log in as admin", highlight=False)
    if status.tls_bootstrap:
        console.print(f"  TLS at [bold]{status.tls_bootstrap}[/]: connect with --certs-dir {broker.tls_files.client_dir}", highlight=False)
    if status.sasl_bootstrap:
        console.print(
            f"  SASL_SSL at [bold]{status.sasl_bootstrap}[/]: `fishchips broker users` prints each user's settings", highlight=False
        )


def _open_shop(broker: EmbeddedBroker, status: BrokerStatus, topics: Topics, partitions: int) -> int:
    """The shop's topics and ACLs, made on the local port as a super user (admin, or ANONYMOUS if it is open)."""
    return open_shop(clients.admin(local_settings(broker, status)), topics, partitions)


@broker.command()
def fetch() -> None:
    """Fetch and verify the broker's jars into the cache (start does this too)."""
    with BrokerProgress() as progress:
        progress.phase("fetching the Kafka jars")
        libs = ensure_jars(cache_dir(), progress.jars)
    console.print(f"[green]✓[/] Kafka {KAFKA_VERSION} jars in {libs}")


def _cluster(data_dir: Path | None) -> EmbeddedCluster | None:
    """The three-node cluster in the data dir (or the default one), if one was ever started there."""
    cluster = EmbeddedCluster(data_dir)
    return cluster if cluster.exists() else None


@broker.command()
@data_dir_option
def stop(data_dir: Path | None) -> None:
    """Stop the broker, and the three-node cluster if there is one, cleanly (their data is kept)."""
    cluster = _cluster(data_dir)
    stopped = cluster.stop() if cluster else 0
    single = EmbeddedBroker(data_dir)
    stopped += single.stop() if not (data_dir and cluster) else 0
    console.print(f"[green]✓[/] stopped {stopped} broker process{'es' if stopped != 1 else ''}" if stopped else "no broker was running")


@broker.command()
@data_dir_option
def status(data_dir: Path | None) -> None:
    """Say whether the broker (and a three-node cluster) runs, and where and how."""
    cluster = _cluster(data_dir)
    if cluster is not None:
        out.print(cluster_table(cluster))
        if data_dir:
            return
    current = EmbeddedBroker(data_dir).status()
    rows: list[tuple[str, object]] = []
    if current.state:
        rows += [("pid", current.state.pid if current.running else None), ("bootstrap", current.bootstrap_servers)]
        login = "SCRAM login (admin for fishchips)" if current.state.local_protocol != "PLAINTEXT" else "no login"
        rows.append(("local port", f"{current.state.local_protocol}, {login}"))
        if current.tls_bootstrap:
            rows += [("tls", current.tls_bootstrap), ("client certs", EmbeddedBroker(data_dir).tls_files.client_dir)]
        if current.sasl_bootstrap:
            rows.append(("sasl_ssl", current.sasl_bootstrap))
        rows.append(("kafka", current.state.kafka_version))
    rows.append(("data dir", current.data_dir))
    try:
        rows.append(("java", find_java().describe()))
    except JavaNotFound as exc:
        rows.append(("java", f"[red]{exc}[/]"))
    out.print(status_table(current.running, rows))


def cluster_table(cluster: EmbeddedCluster) -> Table:
    table = Table(title=f"three-node cluster in {cluster.data}", title_justify="left", box=None)
    for column in ("node", "state", "pid", "bootstrap", "controller"):
        table.add_column(column)
    for node, status in zip(cluster.nodes(), cluster.status(), strict=True):
        state = status.state
        table.add_row(
            node.data.name,
            "[green]running[/]" if status.running else "[red]stopped[/]",
            str(state.pid) if state and status.running else "-",
            status.bootstrap_servers or "-",
            str(state.controller_port) if state else "-",
        )
    return table


servers.add_logs(broker, EmbeddedBroker, BROKER_KEEPS)


def _sasl_status(data_dir: Path | None) -> tuple[EmbeddedBroker, BrokerStatus]:
    broker = EmbeddedBroker(data_dir)
    status = broker.status()
    if not status.running or not status.sasl_bootstrap:
        raise FishchipsError("the broker is not running with SASL: start it with `fishchips broker start --sasl`")
    return broker, status


@broker.command()
@data_dir_option
@click.option("--user", type=click.Choice([ADMIN, *ROLE_USERS]), default=None, help="Only this user's line, e.g. for eval.")
def users(data_dir: Path | None, user: str | None) -> None:
    """Print each SASL user's connection settings as shell lines: eval "$(fishchips broker users --user till)"."""
    broker, status = _sasl_status(data_dir)
    certs = broker.tls_files.client_dir
    for name, password in broker.passwords().items():
        if user in (None, name):
            line = f"export KAFKA_BOOTSTRAP_SERVERS={status.sasl_bootstrap} KAFKA_CERTS_DIR={certs} KAFKA_USERNAME={name} KAFKA_PASSWORD={password}"
            out.print(line, markup=False, highlight=False)


@broker.command()
@data_dir_option
@prefix_option
@click.option("--partitions", type=click.IntRange(1), default=3, show_default=True, help="Partitions of orders, if it must be created.")
def grant(data_dir: Path | None, prefix: str, partitions: int) -> None:
    """Let the role users work on another shop prefix: create its topics and the roles' ACLs (start --sasl does fishchips)."""
    broker, status = _sasl_status(data_dir)
    count = _open_shop(broker, status, Topics(prefix), partitions)
    console.print(f"[green]✓[/] {count} ACLs for the roles on the {prefix}.* topics and groups")
