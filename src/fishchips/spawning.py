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

from tenacity import retry, retry_if_exception_type, stop_after_attempt

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
    try:
        return _in_a_new_process(call)
    except BrokenProcessPool:
        raise FishchipsError(f"{TRIES} processes in a row died doing the work (librdkafka's abort? see docs/chaos.md): try again") from None


@retry(retry=retry_if_exception_type(BrokenProcessPool), stop=stop_after_attempt(TRIES), reraise=True)
def _in_a_new_process(call: Callable[[], T]) -> T:
    with ProcessPoolExecutor(1, mp_context=spawn(), initializer=logfile.log_to, initargs=logfile.current()) as pool:
        return pool.submit(call).result()
