"""Fan-out of the shop's snapshots to every open tab, without ever waiting for a slow one.

Each tab has a small bounded queue. Broadcasting never blocks: a tab whose queue is full
(its connection is not draining) is dropped and its stream ends; the browser's EventSource
reconnects by itself and gets the current snapshot, so a lagging tab costs the shop nothing.
"""

import asyncio
from collections.abc import AsyncIterator

QUEUE_LENGTH = 8  # snapshots a tab may fall behind (0.8 s at ten a second) before it is dropped


class Tab:
    """One open event stream."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LENGTH)
        self.dropped = False


class Hub:
    def __init__(self) -> None:
        self.tabs: set[Tab] = set()
        self.latest = ""  # the last snapshot: what a new tab sees first
        self.dropped = 0

    def join(self) -> Tab:
        tab = Tab()
        self.tabs.add(tab)
        return tab

    def leave(self, tab: Tab) -> None:
        self.tabs.discard(tab)

    def broadcast(self, data: str) -> None:
        self.latest = data
        for tab in list(self.tabs):
            try:
                tab.queue.put_nowait(data)
            except asyncio.QueueFull:
                self._drop(tab)

    def _drop(self, tab: Tab) -> None:
        """End a lagging tab's stream: its old snapshots are worthless, the reconnect brings the current one."""
        self.dropped += 1
        tab.dropped = True
        self._end(tab)

    def _end(self, tab: Tab) -> None:
        self.leave(tab)
        while not tab.queue.empty():
            tab.queue.get_nowait()
        tab.queue.put_nowait(None)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        for tab in list(self.tabs):
            self._end(tab)

    async def stream(self, tab: Tab) -> AsyncIterator[str]:
        """The tab's server-sent events: the current snapshot, then each new one until it is dropped or leaves."""
        try:
            yield f"retry: 1000\ndata: {self.latest}\n\n"
            while (data := await tab.queue.get()) is not None:
                yield f"data: {data}\n\n"
        finally:
            self.leave(tab)
