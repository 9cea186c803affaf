"""One local server that fishchips runs itself (the broker, Redis, PostgreSQL, the Connect worker): start, find, stop, read.

Each is a process of its own, started detached (in a session of its own, so it outlives the command
that started it), with its files in a data dir: a state file naming its pid and ports, so that a later
command finds it again, and a log. A subclass says only what differs: its command line, the words that
mark its process as ours, and when it is ready.
"""

import json
import random
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import psutil

from fishchips.errors import FishchipsError
from fishchips.waiting import until


class ServerState(Protocol):
    """What a server's state file holds: at least its pid (a dataclass, written as JSON)."""

    @property
    def pid(self) -> int: ...


S = TypeVar("S", bound=ServerState)


def port_taken(port: int) -> bool:
    """Something on 127.0.0.1 holds the port (binding is the one test that cannot race a listener's own checks)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """A free port on 127.0.0.1 below the kernel's ephemeral range.

    A server restarted after a crash wants its old port back; an ephemeral port might meanwhile
    be the local end of some client's connection, and then the server could not have it.
    """
    try:
        ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    for _ in range(100):
        port = random.randrange(10000, max(ephemeral_start, 10001))
        if not port_taken(port):
            return port
    raise FishchipsError("found no free port on 127.0.0.1 below the ephemeral range")


def port_again(previous: int | None) -> int:
    """Last time's port if it is still free (so handed-out addresses keep working), else any free one."""
    return previous if previous and not port_taken(previous) else free_port()


def alive(pid: int) -> bool:
    """True while pid runs (a zombie, finished but not yet reaped, counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class LocalServer(Generic[S]):
    """The parts every local server shares; a subclass names its files, its process and its errors."""

    title: ClassVar[str]  # how messages name it: "the broker"
    error: ClassVar[type[FishchipsError]]  # what it raises
    state_name: ClassVar[str]  # its state file in the data dir: "broker.json"
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM  # the signal that shuts it down cleanly
    timeout_hint: ClassVar[str] = " (see --timeout)"  # the flag that gives it longer, where its start command has one

    def __init__(self, data: Path, state_type: type[S]) -> None:
        self.data = data
        self._state_type = state_type
        self._process: subprocess.Popen[bytes] | None = None  # the process this object started, if any

    @property
    def state_file(self) -> Path:
        return self.data / self.state_name

    @property
    def log_file(self) -> Path:
        raise NotImplementedError

    def logs(self) -> tuple[Path, ...]:
        """Where it writes, most telling first: its log, then (for a JVM) its stdout."""
        return (self.log_file,)

    def marks(self) -> tuple[str, ...]:
        """Words its command line holds (a main class, a config file): a recycled pid does not have them."""
        raise NotImplementedError

    def read_state(self) -> S | None:
        try:
            return self._state_type(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write_state(self, state: S) -> None:
        self.state_file.write_text(json.dumps(asdict(state)))  # type: ignore[call-overload]

    def found(self) -> tuple[S | None, bool]:
        """Its last state, and whether that server runs now."""
        state = self.read_state()
        return state, state is not None and self.running(state.pid)

    def running(self, pid: int) -> bool:
        """The pid is alive and is this server (not a zombie, not another program that got a recycled pid)."""
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None  # our own child: poll reaps it once it ends
        try:
            process = psutil.Process(pid)
            title = " ".join(process.cmdline())  # one string: a server may rewrite its title with spaces (Redis does)
            return process.status() != psutil.STATUS_ZOMBIE and all(mark in title for mark in self.marks())
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:  # another user's process: alive, and we cannot tell more
            return True

    def detach(self, command: list[str], output: Path | None = None, **popen: Any) -> int:
        """Start the command detached: not killed by the terminal's Ctrl-C, so it outlives this command. Its pid."""
        out = output.open("ab") if output else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
            )
        finally:
            if output:
                out.close()  # type: ignore[union-attr]
        return self._process.pid

    def wait_ready(self, pid: int, ready: Callable[[], bool], timeout: float, address: str, every: float = 0.1) -> None:
        """Poll `ready` until it holds; fail at once if the server dies, and stop it if it is not ready in time."""

        def answers() -> bool:
            if not self.running(pid):
                raise self.error(f"{self.title} exited during start; {self.end_of_log()}")
            return ready()

        try:
            if until(answers, timeout, every):
                return
        except BaseException:  # half-started is worse than not started: never leave a server nobody knows is up
            self.stop()
            raise
        self.stop()
        raise self.error(f"{self.title} did not answer at {address} in time{self.timeout_hint}; {self.end_of_log()}")

    def end_of_log(self) -> str:
        """The log's last lines, for a message saying why it did not start."""
        return f"the last lines of {self.log_file}:\n{self.tail(15)}"

    def stop(self, grace: float = 30.0) -> bool:
        """Stop cleanly, then SIGKILL after `grace` s. True if one was running."""
        pid = self.terminate()
        if pid is not None:
            self.finish_stopping(pid, grace)
        return pid is not None

    def terminate(self) -> int | None:
        """Ask it to shut down, without waiting; its pid, or None if it was not running."""
        state, running = self.found()
        if state is None or not running:
            return None
        try:
            psutil.Process(state.pid).send_signal(self.stop_signal)
        except psutil.NoSuchProcess:
            return None
        return state.pid

    def finish_stopping(self, pid: int, grace: float = 30.0) -> None:
        """Wait for a terminated server to go; SIGKILL it if it takes longer than `grace` s."""
        if until(lambda: not self.running(pid), grace):
            return
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            return
        until(lambda: not self.running(pid), 10)

    def tail(self, lines: int = 40) -> str:
        """The last lines of the first of its logs that has any."""
        for path in self.logs():
            try:
                if path.stat().st_size:
                    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                continue
        return f"({self.title} wrote no log)"
