"""`fishchips cabinet ...`, run as a user runs it: every command and flag, every JSON parsed, every error one line."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.test_cli_errors import failed_lines, no_traceback, run

from fishchips.services.local_server import free_port


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def one_error(result: subprocess.CompletedProcess[str], *mentions: str) -> None:
    """Exit 1 with exactly one ✗ line that says each of `mentions`."""
    assert result.returncode == 1, result.stdout + result.stderr
    no_traceback(result)
    lines = failed_lines(result.stdout + result.stderr, "✗ ")
    assert len(lines) == 1, result.stdout + result.stderr
    for words in mentions:
        assert words in lines[0]


def test_start_status_stop_of_a_local_redis(tmp_path: Path, data: Path) -> None:
    redis_dir, port = tmp_path / "redis", free_port()
    try:
        started = run(["cabinet", "start", "--port", str(port), "--data-dir", str(redis_dir)], data)
        assert started.returncode == 0, started.stderr
        assert f"Redis is ready at redis://127.0.0.1:{port}/0" in started.stderr

        again = run(["cabinet", "start", "--data-dir", str(redis_dir)], data)
        assert again.returncode == 0
        assert "already running" in again.stderr

        status = json.loads(run(["cabinet", "status", "--data-dir", str(redis_dir), "--json"], data).stdout)
        assert status["running"] is True
        assert status["url"] == f"redis://127.0.0.1:{port}/0"
        assert status["data_dir"] == str(redis_dir.resolve())
        assert status["version"][0].isdigit()
        assert Path(status["redis_server"]).name == "redis-server"
        assert Path(f"/proc/{status['pid']}").exists()

        table = run(["cabinet", "status", "--data-dir", str(redis_dir)], data)
        assert "running" in table.stdout
        assert f"redis://127.0.0.1:{port}/0" in table.stdout

        logs = run(["cabinet", "logs", "--data-dir", str(redis_dir), "-n", "3"], data)
        assert logs.returncode == 0 and str(redis_dir / "redis.log") in logs.stderr
        assert 1 <= len(logs.stdout.strip().splitlines()) <= 3
    finally:
        stopped = run(["cabinet", "stop", "--data-dir", str(redis_dir)], data)
    assert "stopped Redis" in stopped.stderr
    assert json.loads(run(["cabinet", "status", "--data-dir", str(redis_dir), "--json"], data).stdout)["running"] is False
    assert "was not running" in run(["cabinet", "stop", "--data-dir", str(redis_dir)], data).stderr


def test_start_on_a_taken_port_is_one_line(tmp_path: Path, data: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["cabinet", "start", "--port", str(port), "--data-dir", str(tmp_path / "redis")], data)
    one_error(result, f"port {port} on 127.0.0.1 is taken", "--port")


def test_a_server_that_cannot_start_says_why_in_one_line(tmp_path: Path, data: Path) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    (redis_dir / "appendonlydir").write_text("not a folder")  # where Redis keeps its append-only files
    one_error(run(["cabinet", "start", "--data-dir", str(redis_dir)], data), "redis-server exited during start", "appendonlydir")


def test_restock_to_par_then_by_hand_then_stock(redis_url: str, prefix: str, data: Path) -> None:
    where = ["--redis", redis_url, "--prefix", prefix]

    to_par = json.loads(run(["cabinet", "restock", *where, "--json"], data).stdout)
    assert to_par["added"] == {"chips": 20, "cod": 10}
    by_hand = json.loads(run(["cabinet", "restock", "plaice=2", "cod=1", "plaice=1", *where, "--json"], data).stdout)
    assert by_hand["added"] == {"plaice": 3, "cod": 1}
    assert by_hand["stock"] == {"chips": 20, "cod": 11, "plaice": 3}

    stock = json.loads(run(["cabinet", "stock", *where, "--json"], data).stdout)
    assert stock == {
        "prefix": prefix,
        "stock": {"chips": 20, "cod": 11, "plaice": 3},
        "cooked": {"chips": 20, "cod": 11, "plaice": 3},
        "served": {"chips": 0, "cod": 0, "plaice": 0},
        "cooked_batches": 4,
        "trips_to_cook": 0,
        "orders_taken": 0,
        "balanced": True,
    }
    shown = run(["cabinet", "stock", *where], data)
    assert f"the hot cabinet of {prefix}" in shown.stdout
    assert "4 batches cooked, 0 trips to the cook; stock = cooked - served" in shown.stdout
    said = run(["cabinet", "restock", *where], data)
    assert "nothing: everything is at its par" in said.stderr


def test_redis_url_from_the_environment_and_the_flag_wins(redis_url: str, prefix: str, data: Path) -> None:
    os.environ["REDIS_URL"] = redis_url
    try:
        run(["cabinet", "restock", "cod=4", "--prefix", prefix], data)
        from_env = json.loads(run(["cabinet", "stock", "--prefix", prefix, "--json"], data).stdout)
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing there: the flag must win
        from_flag = json.loads(run(["cabinet", "stock", "--prefix", prefix, "--redis", redis_url, "--json"], data).stdout)
    finally:
        del os.environ["REDIS_URL"]
    assert from_env["stock"]["cod"] == 4
    assert from_flag["stock"]["cod"] == 4


def test_without_a_url_the_local_redis_is_started_on_demand(data: Path) -> None:
    try:
        stock = json.loads(run(["cabinet", "stock", "--json"], data).stdout)
        assert stock["stock"] == {"chips": 0, "cod": 0, "plaice": 0}
        status = json.loads(run(["cabinet", "status", "--json"], data).stdout)
        assert status["running"] is True
        assert status["data_dir"] == str((data / "redis").resolve())
    finally:
        run(["cabinet", "stop"], data)


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["restock", "cod=x"], ["expected ITEM=PORTIONS such as cod=5, got 'cod=x'"]),
        (["restock", "cod"], ["got 'cod'"]),
        (["restock", "haddock=1"], ["not on the menu: haddock"]),
        (["restock", "cod=0"], ["at least 1: cod"]),
        (["stock", "--redis", "http://127.0.0.1:1"], ["--redis: expected redis://host:port"]),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_input_is_one_line(redis_url: str, prefix: str, data: Path, args: list[str], mentions: list[str]) -> None:
    where = [] if "--redis" in args else ["--redis", redis_url]
    one_error(run(["cabinet", *args, *where, "--prefix", prefix], data), *mentions)


def test_a_redis_that_is_not_there_is_one_line_within_seconds(data: Path) -> None:
    port = free_port()
    one_error(run(["cabinet", "stock", "--redis", f"redis://127.0.0.1:{port}/0"], data, timeout=15), f"127.0.0.1:{port}", "not answering")


def test_a_bad_redis_url_in_the_environment_names_it(data: Path) -> None:
    os.environ["REDIS_URL"] = "localhost:6379"
    try:
        result = run(["cabinet", "stock"], data)
    finally:
        del os.environ["REDIS_URL"]
    one_error(result, "REDIS_URL: expected redis://host:port")


def without_redis_server(command: list[str], data: Path) -> subprocess.CompletedProcess[str]:
    os.environ["PATH"], path = str(Path(sys.executable).parent), os.environ["PATH"]  # python, and no redis-server
    try:
        return run(command, data)
    finally:
        os.environ["PATH"] = path


@pytest.mark.parametrize("command", [["cabinet", "start"], ["cabinet", "stock"], ["cabinet", "restock"]])
def test_without_redis_server_on_the_path_says_what_to_install(data: Path, command: list[str]) -> None:
    one_error(without_redis_server(command, data), "redis-server is not installed: apt-get install redis-server")


def test_status_without_redis_server_says_what_to_install(data: Path) -> None:
    assert json.loads(without_redis_server(["cabinet", "status", "--json"], data).stdout)["redis_server"] is None
    shown = without_redis_server(["cabinet", "status"], data)
    assert shown.returncode == 0
    assert "apt-get install redis-server" in shown.stdout


@pytest.mark.parametrize(
    "args",
    [["cabinet", "--help"], *(["cabinet", command, "--help"] for command in ("start", "stop", "status", "logs", "stock", "restock"))],
    ids=lambda args: " ".join(args),
)
def test_help_exits_0(data: Path, args: list[str]) -> None:
    result = run(args, data)
    assert result.returncode == 0, result.stderr
    assert f"fishchips {' '.join(a for a in args if a != '--help')}" in result.stdout
