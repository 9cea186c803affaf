"""The terminal: one Rich console, logging to a file, and progress for long work."""

import dataclasses
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from fishchips import logfile
from fishchips.paths import data_dir

console = Console(stderr=True, soft_wrap=True)  # messages and progress; stdout stays for results (tables, JSON)
out = Console(soft_wrap=True)


def log_file() -> Path:
    return data_dir() / "fishchips.log"


def setup_logging(level: int = logging.INFO) -> Path:
    """Everything, librdkafka's chatter included, goes to one file, never onto the screen."""
    path = log_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    logfile.log_to(path, level)
    return path


class BrokerProgress:
    """Progress for starting the broker: a spinner naming the phase, a bar while jars arrive."""

    def __init__(self) -> None:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self.progress = Progress(*columns, console=console, transient=True)
        self._phase = self.progress.add_task("starting", total=None)
        self._jars: TaskID | None = None

    def phase(self, what: str) -> None:
        self.progress.update(self._phase, description=what)

    def jars(self, done: int, total: int, what: str) -> None:
        if self._jars is None:
            self._jars = self.progress.add_task("jars", total=total)
        self.progress.update(self._jars, completed=done, total=total, description=f"jars: {what}")

    def __enter__(self) -> "BrokerProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def figures_table(title: str, rows: Iterable[tuple[str, object]]) -> Table:
    """A summary as two columns, what and how many: the end of a run, a chaos report."""
    table = Table(title=title)
    table.add_column("what")
    table.add_column("figure", justify="right")
    for what, figure in rows:
        table.add_row(what, str(figure))
    return table


def jsonable(value: Any) -> Any:
    """A report as plain JSON values: dataclasses become objects, every mapping's keys strings.

    Not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, which counts the pairs
    and leaves a Counter keyed by tuples, which json cannot write.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def status_table(running: bool, rows: Iterable[tuple[str, Any]]) -> Table:
    """A local server's status (the broker, Redis, PostgreSQL): its state, then one row per figure ("-" for none)."""
    table = Table(show_header=False, box=None)
    table.add_row("state", "[green]running[/]" if running else "[red]stopped[/]")
    for what, value in rows:
        table.add_row(what, "-" if value is None or value == "" else str(value))
    return table


def print_json(value: Any, **extra: Any) -> None:
    """A report (and any extra figures) as one JSON object on stdout."""
    out.print_json(json.dumps({**jsonable(value), **jsonable(extra)}))
