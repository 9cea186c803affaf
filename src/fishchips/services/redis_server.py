"""A local redis-server for the hot cabinet: started, found and stopped by fishchips, as the broker is.

It is Debian's `redis-server` from the PATH, run detached (so it outlives the command that
started it) on 127.0.0.1, with its config, log, append-only file and a state file (pid and
port) in its own data dir. Any other Redis is one URL away: --redis, or REDIS_URL.
"""

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import redis

from fishchips.errors import FishchipsError
from fishchips.paths import data_dir
from fishchips.services.local_server import LocalServer, port_again, port_taken

INSTALL_HINT = "apt-get install redis-server"
URL_SCHEMES = ("redis", "rediss", "unix")

# appendonly: every change is written to the append-only file before the client hears "done", so the
# cabinet's stock and counters survive a stop, a crash or a SIGKILL of the server; fsync once a second
# means only a crash of the whole machine could lose the last second. The RDB snapshots are off
# (save ""): one persistence, not two that disagree after a crash.
CONFIG = """# written by fishchips: the hot cabinet's Redis
bind 127.0.0.1
port {port}
protected-mode yes
daemonize no
dir "{data}"
logfile "{log}"
appendonly yes
appendfsync everysec
save ""
proc-title-template "{{title}} {{listen-addr}} {{server-mode}} {{config-file}}"
"""


class RedisServerError(FishchipsError):
    """The local Redis could not be found, started or stopped."""


class RedisNotInstalled(RedisServerError):
    """No redis-server on the PATH."""


@dataclass
class RedisState:
    """What a running server left in its data dir for later commands to find it."""

    pid: int
    port: int
    version: str
    started_at: float


@dataclass
class RedisStatus:
    running: bool
    data_dir: Path
    state: RedisState | None

    @property
    def url(self) -> str | None:
        return f"redis://127.0.0.1:{self.state.port}/0" if self.state else None


class RedisAlreadyRunning(RedisServerError):
    def __init__(self, status: RedisStatus) -> None:
        super().__init__(f"Redis is already running at {status.url} (pid {status.state.pid if status.state else '?'})")
        self.status = status


def find_redis_server() -> Path:
    """Debian's redis-server on the PATH, or a one-line error saying what to install."""
    found = shutil.which("redis-server")
    if found is None:
        raise RedisNotInstalled(f"redis-server is not installed: {INSTALL_HINT}, or give a Redis with --redis URL or REDIS_URL")
    return Path(found)


def redis_version(server: Path) -> str:
    """The version, e.g. "7.0.15", from `redis-server --version` ("Redis server v=7.0.15 sha=...")."""
    words = subprocess.run([str(server), "--version"], capture_output=True, text=True, timeout=10, check=False).stdout.split()
    return next((word[2:] for word in words if word.startswith("v=")), "unknown")


def default_data_dir() -> Path:
    return data_dir() / "redis"


def redis_url(flag: str | None = None, data: Path | None = None) -> str:
    """Which Redis the cabinet uses: --redis, else REDIS_URL, else the local server (started if it is not running)."""
    for source, url in (("--redis", flag), ("REDIS_URL", os.environ.get("REDIS_URL"))):
        if url:
            if urlsplit(url).scheme not in URL_SCHEMES:
                raise FishchipsError(f"{source}: expected redis://host:port[/db] (or rediss://, unix://), got {url!r}")
            return url
    status = LocalRedis(data).ensure_running()
    assert status.url is not None
    return status.url


class LocalRedis(LocalServer[RedisState]):
    """Start, stop and inspect the local redis-server whose data lives in `data`."""

    title = "redis-server"
    error = RedisServerError
    state_name = "redis.json"
    timeout_hint = ""

    def __init__(self, data: Path | None = None) -> None:
        super().__init__((data or default_data_dir()).resolve(), RedisState)

    @property
    def config_file(self) -> Path:
        return self.data / "redis.conf"

    @property
    def log_file(self) -> Path:
        return self.data / "redis.log"

    def marks(self) -> tuple[str, ...]:
        return ("redis-server", str(self.config_file))  # its title names our config file

    def status(self) -> RedisStatus:
        state, running = self.found()
        return RedisStatus(running, self.data, state)

    def start(self, port: int | None = None, timeout: float = 30.0) -> RedisStatus:
        """Start the server and return once it answers PING; RedisAlreadyRunning if it runs already."""
        with self._locked():
            current = self.status()
            if current.running:
                raise RedisAlreadyRunning(current)
            return self._start(port, timeout, current.state)

    def ensure_running(self, timeout: float = 30.0) -> RedisStatus:
        """The running server, started first if need be (several processes may ask at once: one starts it)."""
        with self._locked():
            current = self.status()
            return current if current.running else self._start(None, timeout, current.state)

    def stop(self, grace: float = 10.0) -> bool:
        """SIGTERM (Redis writes its append-only file and exits), then SIGKILL after `grace` s. True if one was stopped."""
        return super().stop(grace)

    def end_of_log(self) -> str:
        return f"the end of {self.log_file}: " + " | ".join(self.tail(3).splitlines())  # one line: Redis says why in its last

    def _start(self, port: int | None, timeout: float, previous: RedisState | None) -> RedisStatus:
        server = find_redis_server()
        if port is None:
            # last time's port if it is free: clients that hold the address find the cabinet again after a restart
            port = port_again(previous.port if previous else None)
        elif port_taken(port):
            raise RedisServerError(f"port {port} on 127.0.0.1 is taken by another program: stop it, or choose another port with --port")
        self._prepare_data_dir()
        self.config_file.write_text(CONFIG.format(port=port, data=self.data, log=self.log_file))
        pid = self.detach([str(server), str(self.config_file)])  # it logs to its logfile
        self.write_state(RedisState(pid, port, redis_version(server), time.time()))
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except (redis.ConnectionError, redis.TimeoutError):  # not listening yet, loading its append-only file, or slow
                return False

        try:
            self.wait_ready(pid, answers, timeout, f"127.0.0.1:{port}", every=0.05)
        finally:
            client.close()
        return self.status()

    def _prepare_data_dir(self) -> None:
        try:
            self.data.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RedisServerError(f"cannot make the Redis data dir {self.data} ({exc.strerror}): choose another with --data-dir") from exc

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """One starter at a time per data dir: two preparer processes starting at once share one server."""
        self._prepare_data_dir()
        with (self.data / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
