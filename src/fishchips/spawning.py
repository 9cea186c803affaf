"""The one way fishchips starts Python processes: multiprocessing's spawn, ready to use anywhere.

Spawn gives a clean interpreter, never a fork of a process full of threads. Its resource
tracker (which shared counters and pipes need) is started here with the real stderr: a
Textual app replaces sys.stderr with an object that has no file descriptor to pass on.
"""

import contextlib
import multiprocessing
import sys
from multiprocessing import resource_tracker
from multiprocessing.context import SpawnContext


def spawn() -> SpawnContext:
    with contextlib.redirect_stderr(sys.__stderr__ or sys.stderr):
        resource_tracker.ensure_running()
    return multiprocessing.get_context("spawn")
