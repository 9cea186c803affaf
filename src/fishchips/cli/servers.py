"""The `start`, `stop`, `status` and `logs` commands of the four local servers (broker, cabinet, db, connect), made once.

Each group's server is a LocalServer, so its commands have the same shape everywhere: start it and say
where it is ready (or that it ran already), stop it and say so, show its status as a table or as JSON
(the same figures), show the end of its log. A group describes its server in a ServerCommands, giving
only what differs: how to start it from its options, its status's figures, its extra options and words.
The options they share (--data-dir, --port, --timeout, --json) are declared here, once.
"""

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from fishchips.cli.console import console, out, print_json, status_table
from fishchips.services.local_server import LocalServer

Command = Callable[..., Any]
Option = Callable[[Command], Command]
Record = dict[str, Any]  # a status: "running", then one key per figure (a row of the table, a field of the JSON)


@dataclass(frozen=True)
class Started:
    """What a start has to say: where the server answers, then any lines about its other ports or what it set up."""

    address: str
    data: Path | None = None  # its data dir, if the start line should name it
    notes: tuple[str, ...] = ()
    already: bool = False  # it ran already (a start that carries on, like connect's, which registers its sink)
    title: str | None = None  # instead of the server's title (the broker's three-node cluster)


@dataclass(frozen=True)
class Stopped:
    """What a stop has to say: how many processes it stopped (0: none ran), then any lines about what else it did."""

    processes: int
    notes: tuple[str, ...] = ()


def data_dir_option(keeps: str) -> Option:
    """--data-dir for a server: `keeps` says what it keeps there and where by default."""
    return click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=f"Where {keeps}.")


def show_status(record: Record) -> None:
    """The usual status table: running or stopped, then one row per figure ("data_dir" shown as "data dir").

    A figure "missing" (what the server needs and this machine lacks, e.g. how to install it) is a red row, if any.
    """
    figures = {what: value for what, value in record.items() if what != "running" and not (what == "missing" and value is None)}
    rows = [(what.replace("_", " "), f"[red]{value}[/]" if what == "missing" else value) for what, value in figures.items()]
    out.print(status_table(record["running"], rows))


@dataclass(frozen=True)
class ServerCommands:
    """One server's commands, described; add_to(group) makes them. The hooks' docstrings are the commands' help."""

    title: str  # how messages name it: "Redis", "the broker"
    server: Callable[[Path | None], LocalServer[Any]]  # the server in --data-dir (None: its default place)
    start: Callable[..., Started]  # start it, given the start command's options
    status: Callable[..., Record]  # its figures, given the status command's options
    stop_help: str
    keeps: str | None = None  # what it keeps in --data-dir, and where by default; None: no --data-dir
    port: str | None = None  # --port's default, in words; None: no --port
    timeout: float | None = None  # --timeout's default in seconds; None: no --timeout
    ready_when: str = "answers"  # what --timeout waits for, after the title
    already: tuple[type[Exception], ...] = ()  # what its start raises if it runs already: said, not an error
    start_options: tuple[Option, ...] = ()
    stop: Callable[..., Stopped] | None = None  # instead of stopping the one server (the broker stops its cluster too)
    stop_options: tuple[Option, ...] = ()
    status_options: tuple[Option, ...] = ()
    show: Callable[[Record], None] = show_status  # instead of the usual table

    def add_to(self, group: click.Group) -> None:
        """Give the group its start, stop, status and logs commands."""
        shared = (data_dir_option(self.keeps),) if self.keeps else ()
        group.command("start", help=inspect.getdoc(self.start))(self._with(self._start, *self._start_options(shared)))
        group.command("stop", help=self.stop_help)(self._with(self._stop, *self.stop_options, *shared))
        json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the figures of the table.")
        group.command("status", help=inspect.getdoc(self.status))(self._with(self._status, json_option, *self.status_options, *shared))
        lines = click.option("--lines", "-n", type=int, default=40, show_default=True, help="How many of the last lines to show.")
        group.command("logs", help=f"Show the end of {self.title}'s log.")(self._with(self._logs, lines, *shared))

    def _start_options(self, shared: tuple[Option, ...]) -> tuple[Option, ...]:
        """start's options: --port and --data-dir where it has them, --timeout where it has one, then its own."""
        port = (click.option("--port", type=int, default=None, help=f"Port on 127.0.0.1 (default: {self.port})."),) if self.port else ()
        seconds = f"Seconds to wait until {self.title} {self.ready_when}."
        timeout = (click.option("--timeout", type=float, default=self.timeout, show_default=True, help=seconds),) if self.timeout else ()
        return (*port, *shared, *timeout, *self.start_options)

    @staticmethod
    def _with(method: Command, *options: Option) -> Command:
        """A command calling the method, with its options, listed in --help in the order given."""

        def command(**given: Any) -> None:
            method(**given)

        for option in reversed(options):
            command = option(command)
        return command

    def _start(self, **options: Any) -> None:
        began = time.monotonic()
        try:
            started = self.start(**options)
        except self.already as running:
            console.print(f"[yellow]•[/] {running}", highlight=False)
            return
        title = started.title or self.title
        if started.already:
            console.print(f"[yellow]•[/] {title} is already running at [bold]{started.address}[/]", highlight=False)
        else:
            data = f" (data: {started.data})" if started.data else ""
            took = time.monotonic() - began
            console.print(f"[green]✓[/] {title} is ready at [bold]{started.address}[/] in {took:.1f} s{data}", highlight=False)
        for note in started.notes:
            console.print(note, highlight=False)

    def _stop(self, data_dir: Path | None = None, **options: Any) -> None:
        stopped = self.stop(data_dir=data_dir, **options) if self.stop else Stopped(int(self.server(data_dir).stop()))
        many = f" ({stopped.processes} processes)" if stopped.processes > 1 else ""
        console.print(f"[green]✓[/] stopped {self.title}{many}" if stopped.processes else f"{self.title} was not running", highlight=False)
        for note in stopped.notes:
            console.print(note, highlight=False)

    def _status(self, as_json: bool, **options: Any) -> None:
        record = self.status(**options)
        if as_json:
            print_json(record)
        else:
            self.show(record)

    def _logs(self, lines: int, data_dir: Path | None = None) -> None:
        local = self.server(data_dir)
        console.print(f"[dim]{local.log_file}[/]", highlight=False)
        out.print(local.tail(lines), markup=False, highlight=False)
