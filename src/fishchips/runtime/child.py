"""The life of a role in a process of its own: build it, run it, obey the floor, send its events home.

Events go back in batches (every BATCH_SECONDS), each with the role's counters, over a pipe.
At most MAX_WAITING events wait to go: a role that outruns the floor (tills at rush hour) waits
for it, so no batch grows with the run, neither here nor where the floor decodes it.
The process ignores Ctrl-C (the floor that started it decides when it stops) and stops
cleanly on SIGTERM or when the floor's end of the control pipe closes, even if the floor died.
"""

import signal
import threading
from collections import Counter
from multiprocessing.connection import Connection

import msgspec

from fishchips.events import ShopEvent
from fishchips.logfile import LogTarget, log_to
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Role
from fishchips.runtime.specs import RoleSpec

BATCH_SECONDS = 0.02  # how often a process sends its events: soon enough for a live view, few enough sends at rush hour
# Unbounded, a till's batches grew with the run (the largest 9,000 events at 20,000 orders, 25,000 at 80,000) and the
# floor's memory with them. 5,000 events every 20 ms is 250,000 a second, more than a role makes.
MAX_WAITING = 5000

Batch = tuple[list[ShopEvent], dict[str, int]]  # the events, and the role's counters after them
encode = msgspec.msgpack.Encoder().encode
decode = msgspec.msgpack.Decoder(Batch).decode


class Outbox:
    """Events gathered from the role's threads, sent as one batch at a time; a full outbox makes them wait."""

    def __init__(self, pipe: Connection, counters: Counter[str]) -> None:
        self.pipe = pipe
        self.counters = counters
        self._events: list[ShopEvent] = []
        self._room = threading.Condition(threading.Lock())  # a plain lock: nobody takes it twice

    def add(self, event: ShopEvent) -> None:
        with self._room:
            while len(self._events) >= MAX_WAITING:  # a loop, not wait_for(lambda): this runs for every event a role says
                self._room.wait()
            self._events.append(event)

    def send(self) -> None:
        with self._room:
            events, self._events = self._events, []
            self._room.notify_all()
        self.pipe.send_bytes(encode((events, self.counters)))


def main(spec: RoleSpec, context: ShopContext, events: Connection, control: Connection, log: LogTarget) -> None:
    """The process's entry point (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    log_to(*log)
    outbox = Outbox(events, Counter())
    role = spec.build(context.heard_by(outbox.add))
    outbox.counters = role.counters
    signal.signal(signal.SIGTERM, lambda *_: role.request_stop())
    threading.Thread(target=_obey, args=(control, role), name="control", daemon=True).start()
    role.start()
    while role.running:
        role.join(BATCH_SECONDS)
        outbox.send()
    outbox.send()
    events.close()


def _obey(control: Connection, role: Role) -> None:
    """The floor's commands, until it says stop or goes away."""
    while True:
        try:
            command, value = control.recv()
        except (EOFError, OSError):
            role.request_stop()
            return
        if command == "stop":
            role.request_stop()
        elif command == "speed":
            role.set_speed(value)
        elif command == "pause":
            role.set_paused(value)
        elif command == "acks":
            role.set_acks(value)
        elif command == "hold":
            role.hold_transaction_open()

