"""The one way fishchips starts Python processes: multiprocessing's spawn, ready to use anywhere.

Spawn gives a clean interpreter, never a fork of a process full of threads. Its resource
tracker (which shared counters and pipes need) is started here with the real stderr: a
Textual app replaces sys.stderr with an object that has no file descriptor to pass on.
"""

import contextlib
import multiprocessing
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from multiprocessing.context import SpawnContext
from typing import TypeVar

from fishchips import logfile
from fishchips.errors import FishchipsError

T = TypeVar("T")
TRIES = 3  # how many processes a call apart may use up before its death is the caller's


def spawn() -> SpawnContext:
    with contextlib.redirect_stderr(sys.__stderr__ or sys.stderr):
        resource_tracker.ensure_running()
    return multiprocessing.get_context("spawn")


def apart(call: Callable[[], T]) -> T:
    """call() in a new process of its own, its result (or its exception) back here. librdkafka 2.16 now and then
    aborts the process a client lives in (docs/chaos.md): here that costs one more try, not the caller's process."""
    kept = Kept()
    try:
        return kept(call)
    finally:
        kept.close()


class Kept:
    """Calls in one process of their own, kept for the next call (a lesson's looks at Kafka, a few a second, would pay
    a new interpreter each); if librdkafka aborts it, the call is tried again in a new one, as `apart` does."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, call: Callable[[], T]) -> T:
        for _ in range(TRIES):
            if self._pool is None:
                self._pool = ProcessPoolExecutor(1, mp_context=spawn(), initializer=logfile.log_to, initargs=logfile.current())
            try:
                return self._pool.submit(call).result()
            except BrokenProcessPool:
                self._pool = None
        raise FishchipsError(f"{TRIES} processes in a row died doing the work (librdkafka's abort? see docs/chaos.md): try again")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
