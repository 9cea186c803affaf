"""`fishchips db ...`: a local PostgreSQL for the books and the Connect sink's table."""

import json
import time
from pathlib import Path

import click

from fishchips.cli import servers
from fishchips.cli.console import console, out, status_table
from fishchips.services.postgres import LocalPostgres, PostgresAlreadyRunning, server_binaries

POSTGRES_KEEPS = "the cluster lives (default: <data dir>/postgres)"
data_dir_option = servers.data_dir_option(POSTGRES_KEEPS)


@click.group()
def db() -> None:
    """Run Debian's PostgreSQL on 127.0.0.1, its cluster in the fishchips data dir."""


@db.command()
@click.option("--port", type=int, default=None, help="Port to listen on (default: the port it had last time, else a free one).")
@data_dir_option
def start(port: int | None, data_dir: Path | None) -> None:
    """Start PostgreSQL (making its cluster and the `fishchips` database the first time)."""
    started = time.monotonic()
    try:
        with console.status("starting PostgreSQL"):
            status = LocalPostgres(data_dir).start(port=port)
    except PostgresAlreadyRunning as already:
        console.print(f"[yellow]•[/] {already}")
        return
    console.print(f"[green]✓[/] PostgreSQL is ready at [bold]{status.url}[/] in {time.monotonic() - started:.1f} s", highlight=False)


@db.command()
@data_dir_option
@click.option("--delete", is_flag=True, help="Also delete the cluster and every database in it.")
def stop(data_dir: Path | None, delete: bool) -> None:
    """Stop PostgreSQL (fast: clients are disconnected); its data stays unless --delete."""
    stopped = LocalPostgres(data_dir).stop(delete=delete)
    console.print("[green]✓[/] PostgreSQL stopped" if stopped else "PostgreSQL was not running", highlight=False)
    if delete:
        console.print("[green]✓[/] its cluster is deleted")


@db.command()
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(data_dir: Path | None, as_json: bool) -> None:
    """Say whether PostgreSQL runs, and its URL (give it to --db)."""
    server = LocalPostgres(data_dir)
    current = server.status()
    if as_json:
        record = {
            "running": current.running,
            "pid": current.pid if current.running else None,
            "url": current.url,
            "cluster": str(current.cluster),
        }
        out.print_json(json.dumps(record))
        return
    rows = [("url", current.url), ("pid", current.pid if current.running else None), ("cluster", current.cluster.resolve())]
    out.print(status_table(current.running, [*rows, ("binaries", server_binaries())]))


servers.add_logs(db, LocalPostgres, POSTGRES_KEEPS)
