"""Running one benchmark phase in a fresh Python process, with progress and its own peak memory.

A phase in its own process is measured alone: ru_maxrss is that process's peak, not the
highest of every phase so far, and no phase inherits another's threads or warm caches.
The child is `python -m fishchips.bench.isolate`, which imports only what the phase needs
(not the command line that started it): the phase and its arguments arrive pickled on
stdin; progress and the result go back as lines on stdout.
"""

import json
import logging
import pickle
import queue
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from fishchips import logfile
from fishchips.errors import FishchipsError

Report = Callable[[int], None]  # how many orders or messages are done so far
Phase = Callable[..., dict[str, Any]]  # a module-level function taking report= and returning its figures


class BenchFailed(FishchipsError):
    """A phase stopped, stalled or could not run."""


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_isolated(phase: Phase, *args: Any, on_progress: Report | None = None, stall_seconds: float = 120.0) -> dict[str, Any]:
    """Run phase(*args, report=...) in a new process; its result gains `peak_rss_mb` unless it has one."""
    log = logfile.current()
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(pickle.dumps((phase, args, log)))
        child.stdin.close()
        lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True).start()
        try:
            return _follow(phase.__name__, child, lines, on_progress, stall_seconds, errors)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()


def _pump(stream: IO[bytes], lines: "queue.Queue[bytes]") -> None:
    for line in stream:
        lines.put(line)
    lines.put(b"")


def _follow(
    name: str, child: subprocess.Popen[bytes], lines: "queue.Queue[bytes]", on_progress: Report | None, stall: float, errors: IO[bytes]
) -> dict[str, Any]:
    done, moved = -1, time.monotonic()
    while time.monotonic() - moved < stall:
        try:
            kind, _, payload = lines.get(timeout=0.5).decode().strip().partition(" ")
        except queue.Empty:
            continue
        if kind == "progress":
            if int(payload) != done:
                done, moved = int(payload), time.monotonic()
            if on_progress:
                on_progress(done)
        elif kind == "result":
            result: dict[str, Any] = json.loads(payload)  # the phase's own dict, written by main() below
            return result
        elif kind == "error":
            raise BenchFailed(f"{name}: {payload}")
        elif not kind:  # the child closed stdout without a result
            child.wait(10)
            errors.seek(0)
            last = (errors.read().decode(errors="replace").strip().splitlines() or ["no message"])[-1]
            raise BenchFailed(f"{name}: its process ended without a result (exit code {child.returncode}): {last}")
    raise BenchFailed(f"{name}: no progress for {stall:.0f} s")


def main() -> None:
    """The child: run the pickled phase, reporting on stdout; librdkafka's logs go to the parent's log file."""
    phase, args, log = pickle.loads(sys.stdin.buffer.read())
    logfile.log_to(*log)
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but the protocol on the real stdout

    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    try:
        result = phase(*args, report=lambda done: say(f"progress {done}"))
    except Exception as exc:  # the parent turns it into one line
        logging.getLogger(__name__).exception("%s failed", phase.__name__)
        say(f"error {type(exc).__name__}: {exc}".replace("\n", " "))
    else:
        say("result " + json.dumps({"peak_rss_mb": peak_rss_mb(), **result}))  # a phase with processes of its own reports their peak


if __name__ == "__main__":
    main()
