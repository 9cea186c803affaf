"""One log file for every process of a run, each line stamped with its time and process.

The command's process opens it (`cli.console.setup_logging`); a role's or a benchmark
phase's process is handed its path and logs to it the same way, so the lines of a chaos
run can be read in order across the processes that wrote them.
"""

import logging
from pathlib import Path

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def log_to(path: str | Path | None, level: int = logging.INFO) -> None:
    """Send this process's logging to `path` (nowhere if None)."""
    handler: logging.Handler = logging.FileHandler(path) if path else logging.NullHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


LogTarget = tuple[str | None, int]  # a file (or None: nowhere) and a level


def current() -> LogTarget:
    """Where and how much this process logs, to hand to a process it starts (`-v` reaches the roles too)."""
    root = logging.getLogger()
    return next((h.baseFilename for h in root.handlers if isinstance(h, logging.FileHandler)), None), root.level
