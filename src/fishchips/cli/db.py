"""`fishchips db ...`: a local PostgreSQL for the books and the Connect sink's table."""

from pathlib import Path

import click

from fishchips.cli import servers
from fishchips.cli.console import console
from fishchips.services.postgres import LocalPostgres, PostgresAlreadyRunning, server_binaries


@click.group()
def db() -> None:
    """Run Debian's PostgreSQL on 127.0.0.1, its cluster in the fishchips data dir."""


def start_postgres(port: int | None, data_dir: Path | None) -> servers.Started:
    """Start PostgreSQL (making its cluster and the `fishchips` database the first time)."""
    with console.status("starting PostgreSQL"):
        status = LocalPostgres(data_dir).start(port=port)
    return servers.Started(str(status.url))


def stop_postgres(data_dir: Path | None, delete: bool) -> servers.Stopped:
    stopped = LocalPostgres(data_dir).stop(delete=delete)
    return servers.Stopped(int(stopped), ("[green]✓[/] its cluster is deleted",) if delete else ())


def postgres_status(data_dir: Path | None) -> servers.Record:
    """Say whether PostgreSQL runs, and its URL (give it to --db)."""
    current = LocalPostgres(data_dir).status()
    return {
        "running": current.running,
        "url": current.url,
        "pid": current.pid if current.running else None,
        "cluster": current.cluster.resolve(),
        "binaries": server_binaries(),
    }


servers.ServerCommands(
    title="PostgreSQL",
    server=LocalPostgres,
    start=start_postgres,
    status=postgres_status,
    stop_help="Stop PostgreSQL (fast: clients are disconnected); its data stays unless --delete.",
    keeps="the cluster lives (default: <data dir>/postgres)",
    port="the one it had last time, else a free one",
    already=(PostgresAlreadyRunning,),
    stop=stop_postgres,
    stop_options=(click.option("--delete", is_flag=True, help="Also delete the cluster and every database in it."),),
).add_to(db)
