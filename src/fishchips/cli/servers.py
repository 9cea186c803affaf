"""What the command groups of the four local servers (broker, cabinet, db, connect) share, written once.

Each group's server is a LocalServer, so where its files are and how to read its log are the same
everywhere: `--data-dir` with the server's own default, and a `logs` command.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fishchips.cli.console import console, out
from fishchips.services.local_server import LocalServer

Command = Callable[..., Any]


def data_dir_option(keeps: str) -> Callable[[Command], Command]:
    """--data-dir for a server: `keeps` says what it keeps there and where by default."""
    return click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=f"Where {keeps}.")


def add_logs(group: click.Group, server: Callable[[Path | None], LocalServer[Any]], keeps: str | None = None) -> None:
    """Give the group `logs`: the log's path (on stderr), then its last lines (on stdout); with --data-dir if `keeps` says what."""

    @click.option("--lines", "-n", type=int, default=40, show_default=True, help="How many of the last lines to show.")
    def logs(lines: int, data_dir: Path | None = None) -> None:
        local = server(data_dir)
        console.print(f"[dim]{local.log_file}[/]", highlight=False)
        out.print(local.tail(lines), markup=False, highlight=False)

    if keeps:
        logs = data_dir_option(keeps)(logs)
    group.command(help=f"Show the end of the {group.name} server's log.")(logs)
