"""Detached server processes (the broker, the Connect worker): are they alive, is it ours, stop it, its log.

They are started in a session of their own, so they outlive the command that started them;
a later command finds them again by the pid they left in their data dir.
"""

import os
import signal
from collections.abc import Callable, Iterable
from pathlib import Path

from fishchips.waiting import until


def alive(pid: int) -> bool:
    """True while pid runs (a zombie, finished but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def runs_with(pid: int, *words: str) -> bool:
    """Guard against a recycled pid: the process's command line must hold every word (a main class, a config file)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return alive(pid)
    return all(word.encode() in cmdline for word in words)


def wait_gone(pid: int, seconds: float, running: Callable[[int], bool] = alive) -> bool:
    """Wait up to `seconds` for the process to end; True if it did."""
    return until(lambda: not running(pid), timeout=seconds, every=0.1)


def stop_process(pid: int, grace: float, running: Callable[[int], bool] = alive) -> None:
    """SIGTERM, so it shuts down cleanly; SIGKILL if it takes longer than `grace` s."""
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, grace, running):
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 10, running)


def tail(paths: Iterable[Path], lines: int, nothing: str) -> str:
    """The last lines of the first of the files that has any."""
    for path in paths:
        if path.is_file() and path.stat().st_size:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return nothing
