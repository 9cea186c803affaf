"""`fishchips broker ...`: run a real Apache Kafka broker on this machine."""

from pathlib import Path

import click
from rich.table import Table

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import DEFAULT_PORT, BrokerAlreadyRunning, BrokerStatus, EmbeddedBroker
from fishchips.broker.jars import KAFKA_VERSION, ensure_jars
from fishchips.broker.java import JavaNotFound, find_java
from fishchips.broker.users import ADMIN, ROLE_USERS
from fishchips.cli import servers
from fishchips.cli.console import BrokerProgress, console, out
from fishchips.cli.options import prefix_option
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.acls import open_shop
from fishchips.kafka.connect import local_settings
from fishchips.kafka.topics import Topics
from fishchips.paths import cache_dir

data_dir_option = servers.data_dir_option("the broker keeps its log (default: the per-user data dir)")


@click.group()
def broker() -> None:
    """Run a real Apache Kafka broker (KRaft) on 127.0.0.1."""


def start_broker(
    port: int | None, data_dir: Path | None, timeout: float, tls: bool, sasl: bool, plaintext: bool, nodes: str
) -> servers.Started:
    """Start the broker (or a three-node cluster) and wait until it answers.

    Commands that start the broker themselves start it the way it was started last (--tls, --sasl, --plaintext, --nodes).
    """
    if plaintext and not sasl:
        raise FishchipsError("--plaintext goes with --sasl: without SASL the local port is open to anyone anyway")
    if nodes == "3":
        if tls or sasl:
            raise FishchipsError("--tls and --sasl run on one node: start the three-node cluster without them")
        with BrokerProgress() as progress:
            cluster = EmbeddedCluster(data_dir)
            cluster.start(port=port, timeout=max(timeout, 120), progress=progress.jars, on_phase=progress.phase)
        return servers.Started(cluster.bootstrap_servers(), title="a three-node Kafka cluster")
    broker = EmbeddedBroker(data_dir)
    with BrokerProgress() as progress:
        status = broker.start(
            port=port, timeout=timeout, progress=progress.jars, on_phase=progress.phase, tls=tls, sasl=sasl, plaintext=plaintext
        )
        if sasl:
            progress.phase("granting the roles their ACLs")
            _open_shop(broker, status, Topics(), partitions=3)
    notes = []
    if status.state and status.state.sasl:
        if status.state.plaintext:
            notes.append(
                f"  [bold red]warning:[/] {status.bootstrap_servers} takes anyone on this machine unauthenticated, as a super user: "
                "the ACLs bind only the SASL users (start without --plaintext to close it)"
            )
        else:
            notes.append(f"  {status.bootstrap_servers} wants a SCRAM login: fishchips's own commands log in as admin")
    if status.tls_bootstrap:
        notes.append(f"  TLS at [bold]{status.tls_bootstrap}[/]: connect with --certs-dir {broker.tls_files.client_dir}")
    if status.sasl_bootstrap:
        notes.append(f"  SASL_SSL at [bold]{status.sasl_bootstrap}[/]: `fishchips broker users` prints each user's settings")
    return servers.Started(str(status.bootstrap_servers), data=status.data_dir, notes=tuple(notes), title="Kafka")


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


def stop_broker(data_dir: Path | None) -> servers.Stopped:
    """The single broker, and the three-node cluster if one was ever started there, at once."""
    return servers.Stopped(EmbeddedCluster(data_dir).stop() + EmbeddedBroker(data_dir).stop())


def broker_status(data_dir: Path | None) -> servers.Record:
    """Say whether the broker (and a three-node cluster) runs, and where and how."""
    broker = EmbeddedBroker(data_dir)
    current = broker.status()
    state = current.state
    try:
        java, missing = find_java().describe(), None
    except JavaNotFound as not_found:
        java, missing = None, str(not_found)
    cluster = EmbeddedCluster(data_dir)
    return {
        "running": current.running,
        "pid": state.pid if state and current.running else None,
        "bootstrap": current.bootstrap_servers,
        "local_port": f"{state.local_protocol}, {_login(state.local_protocol)}" if state else None,
        "tls": current.tls_bootstrap,
        "client_certs": broker.tls_files.client_dir if current.tls_bootstrap else None,
        "sasl_ssl": current.sasl_bootstrap,
        "kafka": state.kafka_version if state else None,
        "data_dir": current.data_dir,
        "java": java,
        "missing": missing,
        "cluster": _cluster(cluster) if cluster.exists() else None,
    }


def _login(protocol: str) -> str:
    return "no login" if protocol == "PLAINTEXT" else "SCRAM login (admin for fishchips)"


def _cluster(cluster: EmbeddedCluster) -> servers.Record:
    """The three-node cluster's figures: where it lives, and each node's."""
    nodes = [_node(node, status) for node, status in zip(cluster.nodes(), cluster.status(), strict=True)]
    return {"data_dir": cluster.data, "nodes": nodes}


def _node(node: EmbeddedBroker, status: BrokerStatus) -> servers.Record:
    state = status.state
    return {
        "node": node.data.name,
        "running": status.running,
        "pid": state.pid if state and status.running else None,
        "bootstrap": status.bootstrap_servers,
        "controller": state.controller_port if state else None,
    }


def show_broker(record: servers.Record) -> None:
    """The three-node cluster's table, if there is one, then the single broker's."""
    cluster, single = record["cluster"], {what: value for what, value in record.items() if what != "cluster"}
    if cluster:
        out.print(cluster_table(cluster))
    servers.show_status(single)


def cluster_table(cluster: servers.Record) -> Table:
    table = Table(title=f"three-node cluster in {cluster['data_dir']}", title_justify="left", box=None)
    for column in ("node", "state", "pid", "bootstrap", "controller"):
        table.add_column(column)
    for node in cluster["nodes"]:
        state = "[green]running[/]" if node["running"] else "[red]stopped[/]"
        table.add_row(node["node"], state, *("-" if node[what] is None else str(node[what]) for what in ("pid", "bootstrap", "controller")))
    return table


servers.ServerCommands(
    title="the broker",
    server=EmbeddedBroker,
    start=start_broker,
    status=broker_status,
    stop_help="Stop the broker, and the three-node cluster if there is one, cleanly (their data is kept).",
    keeps="the broker keeps its log (default: the per-user data dir)",
    port=f"{DEFAULT_PORT}, or the one it had last time",
    timeout=60.0,
    already=(BrokerAlreadyRunning,),
    start_options=(
        click.option(
            "--tls",
            is_flag=True,
            help="Also listen with TLS (client certificates required); the client files go in <data>/client-certs.",
        ),
        click.option(
            "--sasl",
            is_flag=True,
            help="Also listen with SASL_SSL: SCRAM users per role, and ACLs (implies --tls). "
            "The local port then wants a SCRAM login too; fishchips's own commands log in as admin.",
        ),
        click.option(
            "--plaintext",
            is_flag=True,
            help="With --sasl: keep the local port open to any local process, unauthenticated and allowed everything (not safe).",
        ),
        click.option(
            "--nodes",
            type=click.Choice(["1", "3"]),
            default="1",
            show_default=True,
            help="3: a cluster of three nodes, each its own process.",
        ),
    ),
    stop=stop_broker,
    show=show_broker,
).add_to(broker)


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
