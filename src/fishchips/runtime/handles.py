"""Handles: start, stop, pause and pace a role without knowing whether it is a thread or a process."""

import logging
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from fishchips import logfile
from fishchips.events import ENDINGS, Kind, Listener, ShopEvent, ignore
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Role
from fishchips.runtime import child
from fishchips.runtime.specs import RoleSpec
from fishchips.spawning import spawn

log = logging.getLogger(__name__)


class RoleHandle(ABC):
    """One running role, as the floor sees it."""

    def __init__(self, spec: RoleSpec, context: ShopContext) -> None:
        self.spec = spec
        self.context = context

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    @abstractmethod
    def where(self) -> str:
        """'thread', or 'process <pid>': what the views say."""

    @property
    @abstractmethod
    def running(self) -> bool: ...

    @property
    @abstractmethod
    def counters(self) -> Counter[str]: ...

    @property
    @abstractmethod
    def failure(self) -> str | None: ...

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def request_stop(self) -> None:
        """Ask it to finish its batch, leave its group and close; do not wait."""

    @abstractmethod
    def join(self, timeout: float) -> None: ...

    @abstractmethod
    def set_speed(self, speed: float) -> None: ...

    @abstractmethod
    def set_paused(self, paused: bool) -> None: ...

    @abstractmethod
    def set_acks(self, acks: str) -> None: ...

    @abstractmethod
    def hold_transaction_open(self) -> None: ...

    def stop(self, timeout: float = 30.0) -> None:
        self.request_stop()
        self.join(timeout)


class ThreadHandle(RoleHandle):
    """The role runs in a thread of this process: the talk's pace, one app."""

    where = "thread"

    def __init__(self, spec: RoleSpec, context: ShopContext) -> None:
        super().__init__(spec, context)
        self.role: Role = spec.build(context)

    @property
    def running(self) -> bool:
        return self.role.running

    @property
    def counters(self) -> Counter[str]:
        return self.role.counters

    @property
    def failure(self) -> str | None:
        return None if self.role.failure is None else str(self.role.failure)

    def start(self) -> None:
        self.role.start()

    def request_stop(self) -> None:
        self.role.request_stop()

    def join(self, timeout: float) -> None:
        self.role.join(timeout)

    def set_speed(self, speed: float) -> None:
        self.role.set_speed(speed)

    def set_paused(self, paused: bool) -> None:
        self.role.set_paused(paused)

    def set_acks(self, acks: str) -> None:
        self.role.set_acks(acks)

    def hold_transaction_open(self) -> None:
        self.role.hold_transaction_open()


class ProcessHandle(RoleHandle):
    """The role runs in a process of its own: rush hour, chaos, and a shop that uses every core.

    Its events arrive in batches on a pipe and go to the context's listener from one reader thread.
    A process that ends without saying so (killed, crashed) is reported as a failed event.
    """

    def __init__(self, spec: RoleSpec, context: ShopContext, on_batch: Callable[[list[ShopEvent]], None] | None = None) -> None:
        super().__init__(spec, context)
        self.on_batch = on_batch  # takes a whole batch at once (one lock, not one per event); else the listener, event by event
        self.process: Any = None  # a SpawnProcess once started
        self._control: Connection | None = None
        self._reader: threading.Thread | None = None
        self._counters: Counter[str] = Counter()
        self._failure: str | None = None
        self._control_lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"process {self.process.pid}" if self.process is not None else "process"

    @property
    def running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()  # it lives until the process is reaped

    @property
    def counters(self) -> Counter[str]:
        return self._counters

    @property
    def failure(self) -> str | None:
        return self._failure

    def start(self) -> None:
        events_in, events_out = spawn().Pipe(duplex=False)
        control_in, self._control = spawn().Pipe(duplex=False)
        quiet = self.context.heard_by(ignore)  # the listener stays here; the child has its own
        self.process = spawn().Process(
            target=child.main, args=(self.spec, quiet, events_out, control_in, logfile.current()), name=self.name, daemon=True
        )
        self.process.start()
        events_out.close()  # the child holds the other ends now: the reader sees EOF when the child ends
        control_in.close()
        self._reader = threading.Thread(target=self._read, args=(events_in,), name=f"{self.name}-events", daemon=True)
        self._reader.start()

    def _read(self, events: Connection) -> None:
        listener: Listener = self.context.listener
        ended = False
        while True:
            try:
                received, counters = child.decode(events.recv_bytes())
            except (EOFError, OSError):
                break
            self._counters = Counter(counters)
            for event in received:
                ended = ended or event.kind in ENDINGS
                if event.kind is Kind.FAILED:
                    self._failure = event.detail
            if self.on_batch is not None:
                self.on_batch(received)
            else:
                for event in received:
                    listener(event)
        self.process.join()
        if not ended:  # killed, or died before it could say
            self._failure = f"its process ended with exit code {self.process.exitcode}"
            died = ShopEvent(self.name, self.spec.kind, Kind.FAILED, detail=self._failure)
            self.on_batch([died]) if self.on_batch is not None else listener(died)

    def _send(self, command: str, value: object = None) -> None:
        with self._control_lock:
            if self._control is not None and not self._control.closed:
                try:
                    self._control.send((command, value))
                except (BrokenPipeError, OSError):
                    log.info("%s is gone: %s not sent", self.name, command)

    def request_stop(self) -> None:
        self._send("stop")

    def join(self, timeout: float) -> None:
        """Wait for the reader thread, the one that reaps the process: two threads waiting on one child
        race, and the loser sees a child already gone as one still alive."""
        if self._reader is None:
            return
        self._reader.join(timeout)
        if self._reader.is_alive():
            log.warning("%s did not stop within %.0f s: killed", self.name, timeout)
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as chaos does: no goodbye, its group notices after the session timeout."""
        if self._reader is not None and self._reader.is_alive():
            self.process.kill()
            self._reader.join(10)

    def set_speed(self, speed: float) -> None:
        self._send("speed", speed)

    def set_paused(self, paused: bool) -> None:
        self._send("pause", paused)

    def set_acks(self, acks: str) -> None:
        self._send("acks", acks)

    def hold_transaction_open(self) -> None:
        self._send("hold")
