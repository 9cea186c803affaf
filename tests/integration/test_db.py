"""`fishchips db`: Debian's real PostgreSQL in a data dir of its own, driven by the command a user types."""

import json
from pathlib import Path

import psycopg
import pytest
from tests.conftest import free_port
from tests.integration.test_cli_errors import no_traceback, run

from fishchips.services import postgres
from fishchips.services.postgres import PostgresError, server_binaries


def status(data: Path) -> dict[str, object]:
    result = run(["db", "status", "--json"], data)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_start_status_stop_and_delete(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    started = run(["db", "start", "--port", str(port)], data, timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        url = f"postgresql://postgres@127.0.0.1:{port}/fishchips"
        assert url in started.stderr
        record = status(data)
        assert record["running"] is True and record["url"] == url and isinstance(record["pid"], int)
        assert record["cluster"] == str((data / "postgres" / "cluster").resolve()) and record["binaries"] == str(server_binaries())
        with psycopg.connect(url) as connection:  # the database is made on first start, and takes writes
            assert connection.execute("SELECT current_database()").fetchone() == ("fishchips",)
        logs = run(["db", "logs", "--lines", "2"], data)
        assert logs.returncode == 0 and "server.log" in logs.stderr and 1 <= len(logs.stdout.strip().splitlines()) <= 2
        table = run(["db", "status"], data)
        assert url in table.stdout and "running" in table.stdout and record["cluster"] in table.stdout
        again = run(["db", "start"], data)
        assert again.returncode == 0 and "already running" in again.stderr
        stopped = run(["db", "stop"], data, timeout=60)
        assert stopped.returncode == 0 and "stopped" in stopped.stderr
        assert status(data)["running"] is False
        restarted = run(["db", "start"], data, timeout=60)  # the same cluster, on the port it had
        assert restarted.returncode == 0 and url in restarted.stderr
    finally:
        deleted = run(["db", "stop", "--delete"], data, timeout=60)
    assert deleted.returncode == 0 and "deleted" in deleted.stderr
    assert not (data / "postgres").exists()
    assert status(data)["running"] is False


def test_a_taken_port_is_one_line(tmp_path: Path, postgres_server: str) -> None:
    taken = postgres_server.rsplit(":", 1)[1].split("/")[0]
    result = run(["db", "start", "--port", taken], tmp_path / "data")
    assert result.returncode == 1
    no_traceback(result)
    assert f"✗ port {taken} on 127.0.0.1 is taken" in result.stderr


def test_missing_postgresql_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "BINARIES", tmp_path / "nothing-here")
    with pytest.raises(PostgresError, match=r"apt-get install postgresql"):
        server_binaries()
