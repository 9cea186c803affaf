"""Printing a role's events on a terminal that may not be reading.

A role calls its listener from its own loop, the one that polls Kafka. If that call printed, a terminal
that stops reading (paused with Ctrl-S, scrolled back in some terminals, or a pipe nobody empties) would
stop the role in the middle of its loop: it would poll no more, and after max.poll.interval.ms (20 s, kafka/clients.py)
Kafka would give its partitions to others and never take it back. So the role only hands the line over,
and a thread of the printer's own writes it. Lines the terminal has no room for are counted and said
once it reads again: the role never waits and its memory never grows.
"""

import queue
import threading
from collections.abc import Callable

from fishchips.cli.console import console
from fishchips.events import ShopEvent

ROOM = 10_000  # lines waiting for the terminal, at most (a few MB)


class Printer:
    """A listener (events.Listener) that prints each event as one line, on a thread of its own."""

    def __init__(self, line: Callable[[ShopEvent], str]) -> None:
        self.line = line
        self.waiting: queue.Queue[ShopEvent] = queue.Queue(ROOM)
        self.dropped = 0
        self._lock = threading.Lock()  # several roles' threads may drop a line at once
        threading.Thread(target=self._print_forever, name="printer", daemon=True).start()

    def __call__(self, event: ShopEvent) -> None:
        try:
            self.waiting.put_nowait(event)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def flush(self, timeout: float) -> bool:
        """Wait until every line handed over is printed; False if the terminal is still not reading."""
        with self.waiting.all_tasks_done:
            return self.waiting.all_tasks_done.wait_for(lambda: self.waiting.unfinished_tasks == 0, timeout)

    def _print_forever(self) -> None:
        while True:
            event = self.waiting.get()
            with self._lock:
                dropped, self.dropped = self.dropped, 0
            if dropped:
                console.print(f"[yellow]… {dropped} lines not shown: the terminal was not reading[/]")
            console.print(self.line(event), highlight=False)
            self.waiting.task_done()
