"""A local PostgreSQL from Debian's binaries, in the fishchips data dir, on 127.0.0.1 only.

For the books (`--db postgresql://...`) and for the Connect sink's table: a real server
with no system service to configure. PostgreSQL refuses to run as root; run as root,
the cluster belongs to the `postgres` user the Debian package made, and lives in that
user's home (it cannot reach into root's), with a link to it from the data dir.
"""

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg

from fishchips.errors import FishchipsError
from fishchips.paths import data_dir
from fishchips.services.local_server import LocalServer, port_again, port_taken

BINARIES = Path("/usr/lib/postgresql")
DATABASE = "fishchips"
SUPERUSER = "postgres"
OWNER = "postgres"  # the system user Debian's package made, who runs the server when fishchips runs as root


class PostgresError(FishchipsError):
    """PostgreSQL is missing, or could not be started or stopped."""


def server_binaries() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = [path.parent for path in BINARIES.glob("*/bin/initdb") if path.parent.parent.name.isdigit()]
    if not found:
        raise PostgresError("PostgreSQL is not installed: apt-get install postgresql (fishchips runs Debian's binaries itself)")
    return max(found, key=lambda path: int(path.parent.name))


@dataclass(frozen=True)
class Postmaster:
    """What the server's own postmaster.pid says: its pid (line 1) and port (line 4)."""

    pid: int
    port: int


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    port: int | None
    cluster: Path

    @property
    def url(self) -> str | None:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}" if self.port else None


def default_data_dir() -> Path:
    return data_dir() / "postgres"


class LocalPostgres(LocalServer[Postmaster]):
    """Start, stop and inspect the PostgreSQL whose cluster is in `data` (made on first start)."""

    title = "PostgreSQL"
    error = PostgresError
    state_name = "cluster/postmaster.pid"  # the server writes it itself
    stop_signal = signal.SIGINT  # a fast shutdown: clients are disconnected, every commit is kept

    def __init__(self, data: Path | None = None) -> None:
        super().__init__((data or default_data_dir()).absolute(), Postmaster)

    @property
    def cluster(self) -> Path:
        return self.data / "cluster"

    @property
    def _real_cluster(self) -> str:
        """The cluster's own path, for the server's user, who may not pass through the (root's) data dir to the link."""
        return str(self.cluster.resolve())

    @property
    def log_file(self) -> Path:
        return self.cluster / "server.log"  # inside the cluster: the server's user must be able to write it

    @property
    def _port_file(self) -> Path:
        return self.data / "port"  # last time's port, so a handed-out URL keeps working across restarts

    def marks(self) -> tuple[str, ...]:
        return "postgres", self._real_cluster

    def read_state(self) -> Postmaster | None:
        try:
            lines = self.state_file.read_text().splitlines()
            return Postmaster(int(lines[0]), int(lines[3]))
        except (OSError, ValueError, IndexError):
            return None

    def status(self) -> PostgresStatus:
        """Running or not, from the server's own postmaster.pid."""
        state, running = self.found()
        if state is None:
            return PostgresStatus(False, None, self._last_port(), self.cluster)
        return PostgresStatus(running, state.pid, state.port, self.cluster)

    def _last_port(self) -> int | None:
        try:
            return int(self._port_file.read_text())
        except (OSError, ValueError):
            return None

    def start(self, port: int | None = None, timeout: float = 60.0) -> PostgresStatus:
        """Start the server (making the cluster and the `fishchips` database first if need be); return once it answers."""
        binaries = server_binaries()
        current = self.status()
        if current.running:
            raise PostgresAlreadyRunning(current)
        port = port or port_again(self._last_port())
        if port_taken(port):
            raise PostgresError(f"port {port} on 127.0.0.1 is taken by another program: choose another with --port")
        self._make_cluster(binaries)
        # no Unix socket (-k ''): only TCP on 127.0.0.1; synchronous_commit off: a crash may lose the last
        # moments' commits (whole transactions, so books and their offsets still agree), never corrupt the cluster
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k '' -c synchronous_commit=off"
        started = self._run(
            binaries / "pg_ctl",
            "-D",
            self._real_cluster,
            "-l",
            f"{self._real_cluster}/server.log",
            "-w",
            "-t",
            str(int(timeout)),
            "-o",
            options,
            "start",
        )
        if started.returncode != 0:
            raise PostgresError(f"PostgreSQL did not start; the last lines of {self.log_file}:\n{self.tail(10)}")
        self._port_file.write_text(str(port))
        status = self.status()
        self._create_database(status)
        return status

    def _make_cluster(self, binaries: Path) -> None:
        if (self.cluster / "PG_VERSION").exists():
            return
        try:
            self.data.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                home = Path(pwd.getpwnam(OWNER).pw_dir) / "fishchips" / hashlib.sha256(str(self.data).encode()).hexdigest()[:12]
                home.mkdir(parents=True, exist_ok=True)
                shutil.chown(home.parent, OWNER)
                shutil.chown(home, OWNER)
                if not self.cluster.is_symlink():
                    self.cluster.symlink_to(home, target_is_directory=True)
        except (OSError, KeyError) as exc:
            raise PostgresError(f"cannot make the cluster's folder under {self.data}: {exc}") from None
        made = self._run(binaries / "initdb", "-D", self._real_cluster, "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync")
        if made.returncode != 0:
            raise PostgresError("initdb failed: " + " | ".join((made.stdout + made.stderr).strip().splitlines()[-3:]))

    def _run(self, *command: object) -> subprocess.CompletedProcess[str]:
        as_owner = ["runuser", "-u", OWNER, "--"] if os.geteuid() == 0 else []  # PostgreSQL will not run as root
        return subprocess.run([*as_owner, *map(str, command)], capture_output=True, text=True, timeout=180, cwd="/")

    @staticmethod
    def _create_database(status: PostgresStatus) -> None:
        assert status.url is not None
        server = status.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True, connect_timeout=10) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                admin.execute(f"CREATE DATABASE {DATABASE}")

    def stop(self, grace: float = 60.0, delete: bool = False) -> bool:
        """Stop the server (SIGINT: a fast shutdown); True if it was running.

        delete: also remove the cluster and everything in it, for throw-away servers.
        """
        real_cluster = self._real_cluster
        stopped = super().stop(grace)
        if delete:
            shutil.rmtree(real_cluster, ignore_errors=True)
            shutil.rmtree(self.data, ignore_errors=True)
        return stopped


class PostgresAlreadyRunning(PostgresError):
    def __init__(self, status: PostgresStatus) -> None:
        super().__init__(f"PostgreSQL is already running at {status.url} (pid {status.pid})")
        self.status = status
