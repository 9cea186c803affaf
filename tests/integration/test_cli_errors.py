"""The real `fishchips` command: a problem is one ✗ line and a non-zero exit, never a traceback."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.conftest import free_port

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import BrokerStatus
from fishchips.cli.main import cli


def run(args: list[str], data: Path, timeout: float = 30.0, columns: str | None = "400") -> subprocess.CompletedProcess[str]:
    """Run `python -m fishchips ARGS` with its own data dir (never the user's, never the session's broker)."""
    env = {**os.environ, "FISHCHIPS_DATA_DIR": str(data)}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    if columns:
        # wide, so Rich does not wrap a long message onto two lines (see test_messages_stay_on_one_line_in_a_pipe)
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "fishchips", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def failed_lines(text: str, start: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(start)]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_doctor_at_a_wrong_address_fails_in_one_line(data: Path) -> None:
    port = free_port()  # nothing listens there
    began = time.monotonic()
    result = run(["doctor", "-b", f"127.0.0.1:{port}"], data, timeout=20)
    elapsed = time.monotonic() - began

    assert result.returncode == 1
    assert elapsed < 15, f"doctor took {elapsed:.1f} s to give up"
    no_traceback(result)
    broker_lines = failed_lines(result.stdout, "✗ broker:")
    assert len(broker_lines) == 1, result.stdout
    assert f"cannot reach Kafka at 127.0.0.1:{port}" in broker_lines[0]
    assert "check the address" in broker_lines[0]
    assert failed_lines(result.stdout, "✗ round trip: skipped")
    assert failed_lines(result.stdout, "✓ Python")


@pytest.mark.parametrize(("present", "missing"), [(["ca.pem"], "service.cert"), (["ca.pem", "service.cert"], "service.key")])
def test_doctor_with_a_missing_certificate_names_it(tmp_path: Path, data: Path, present: list[str], missing: str) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in present:
        (certs / name).write_text("-----BEGIN CERTIFICATE-----\n")

    result = run(["doctor", "-b", f"127.0.0.1:{free_port()}", "--certs-dir", str(certs)], data)

    assert result.returncode == 1
    no_traceback(result)
    broker_lines = failed_lines(result.stdout, "✗ broker:")
    assert len(broker_lines) == 1, result.stdout
    assert f"{certs / missing} is missing" in broker_lines[0]


def test_broker_start_on_a_taken_port_exits_1(data: Path) -> None:
    broker_dir = data / "broker"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = run(["broker", "start", "--port", str(port), "--data-dir", str(broker_dir)], data)

    assert result.returncode == 1
    no_traceback(result)
    errors = failed_lines(result.stderr, "✗")
    assert len(errors) == 1, result.stderr
    assert f"port {port}" in errors[0]
    assert "--port" in errors[0]
    assert not (broker_dir / "broker.json").exists()  # no broker was started


def test_plaintext_without_sasl_is_one_line(data: Path) -> None:
    broker_dir = data / "broker"
    result = run(["broker", "start", "--plaintext", "--data-dir", str(broker_dir)], data)

    assert result.returncode == 1
    no_traceback(result)
    errors = failed_lines(result.stderr, "✗")
    assert errors == ["✗ --plaintext goes with --sasl: without SASL the local port is open to anyone anyway"], result.stderr
    assert not (broker_dir / "broker.json").exists()  # no broker was started


def test_a_bad_config_file_is_one_line(tmp_path: Path, data: Path) -> None:
    config = tmp_path / "fishchips.toml"
    config.write_text('bootstrap_servers = "127.0.0.1:1"\nbootstarp = "typo"\n')
    result = run(["doctor", "--config", str(config)], data)
    assert result.returncode == 1
    no_traceback(result)
    errors = failed_lines(result.stderr, "✗")
    assert len(errors) == 1, result.stderr
    assert "unknown keys ['bootstarp']" in errors[0]


def test_a_bad_x_pair_is_one_line(data: Path) -> None:
    result = run(["doctor", "-b", "127.0.0.1:1", "-X", "linger.ms"], data)
    assert result.returncode == 1
    no_traceback(result)
    assert failed_lines(result.stderr, "✗ -X 'linger.ms' is not key=value")


def test_error_text_in_brackets_survives(tmp_path: Path, data: Path) -> None:
    config = tmp_path / "fishchips.toml"
    config.write_text('bootstarp = "typo"\n')
    result = run(["doctor", "--config", str(config)], data)
    assert result.returncode == 1
    assert "and [librdkafka]" in result.stderr


def test_messages_stay_on_one_line_in_a_pipe(tmp_path: Path, data: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.pem").write_text("")
    result = run(["doctor", "-b", "127.0.0.1:1", "--certs-dir", str(certs)], data, columns=None)
    assert result.returncode == 1
    broker_lines = failed_lines(result.stdout, "✗ broker:")
    assert len(broker_lines) == 1
    assert broker_lines[0].endswith("as your Kafka service hands them out"), result.stdout


SERVERS = ("broker", "cabinet", "db", "connect")  # the groups whose start, stop, status and logs cli/servers.py makes


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        *([group, "--help"] for group in SERVERS),
        *([group, command, "--help"] for group in SERVERS for command in ("start", "stop", "status", "logs")),
        ["doctor", "--help"],
    ],
    ids=lambda args: " ".join(args),
)
def test_help_exits_0(args: list[str]) -> None:
    """In this process (click's CliRunner): each `python -m fishchips` costs a second of imports, and test_version runs
    the real entry point already."""
    result = CliRunner().invoke(cli, args, prog_name="fishchips", env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.exception
    usage = failed_lines(result.stdout, "Usage: ")
    assert len(usage) == 1, result.stdout
    assert " ".join(["fishchips", *(a for a in args if not a.startswith("-"))]) in usage[0]


def test_version(data: Path) -> None:
    from fishchips import __version__

    result = run(["--version"], data)
    assert result.returncode == 0
    assert result.stdout.strip() == f"fishchips, version {__version__}"


def test_broker_status_of_a_fresh_data_dir_says_stopped(data: Path) -> None:
    broker_dir = data / "nothing-here"
    result = run(["broker", "status", "--data-dir", str(broker_dir)], data)
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    state = [line.split() for line in result.stdout.splitlines() if line.strip().startswith("state")]
    assert state == [["state", "stopped"]]
    assert str(broker_dir) in result.stdout
    record = json.loads(run(["broker", "status", "--data-dir", str(broker_dir), "--json"], data).stdout)
    assert record["running"] is False and record["pid"] is None and record["cluster"] is None
    assert record["data_dir"] == str(broker_dir.absolute()) and record["java"].startswith("Java ")


def test_broker_status_and_stop_see_a_three_node_cluster_s_data_dir(data: Path) -> None:
    cluster = EmbeddedCluster(data / "cluster")
    cluster.shape(port=free_port())  # what `broker start --nodes 3` writes first: the nodes' ports, none started
    where = ["--data-dir", str(cluster.data)]
    record = json.loads(run(["broker", "status", *where, "--json"], data).stdout)
    nodes = record["cluster"]["nodes"]
    assert record["cluster"]["data_dir"] == str(cluster.data)
    assert [node["node"] for node in nodes] == ["node-1", "node-2", "node-3"]
    assert [node["running"] for node in nodes] == [False] * 3
    assert [node["bootstrap"] for node in nodes] == [None] * 3
    assert [node["controller"] for node in nodes] == [None] * 3  # a node's controller port is in its state, once started
    table = run(["broker", "status", *where], data)
    assert table.returncode == 0 and f"three-node cluster in {cluster.data}" in table.stdout
    assert [line.split()[:2] for line in table.stdout.splitlines() if line.strip().startswith("node-")] == [
        [f"node-{n}", "stopped"] for n in (1, 2, 3)
    ]
    stopped = run(["broker", "stop", *where], data)
    assert stopped.returncode == 0 and "the broker was not running" in stopped.stderr


def test_broker_start_of_three_nodes_with_tls_is_one_line(data: Path) -> None:
    result = run(["broker", "start", "--nodes", "3", "--tls", "--data-dir", str(data / "cluster")], data)
    assert result.returncode == 1
    no_traceback(result)
    assert failed_lines(result.stderr, "✗ ") == ["✗ --tls and --sasl run on one node: start the three-node cluster without them"]
    assert not (data / "cluster").exists()  # nothing was started


def test_broker_stop_and_logs_without_a_broker(data: Path) -> None:
    broker_dir = data / "nothing-here"
    stopped = run(["broker", "stop", "--data-dir", str(broker_dir)], data)
    assert stopped.returncode == 0
    assert "the broker was not running" in stopped.stderr
    logs = run(["broker", "logs", "--data-dir", str(broker_dir)], data)
    assert logs.returncode == 0
    assert "(the broker wrote no log)" in logs.stdout
    no_traceback(logs)


@pytest.mark.kafka
def test_broker_status_sees_the_running_broker(broker_status: BrokerStatus, data: Path) -> None:
    assert broker_status.state is not None
    result = run(["broker", "status", "--data-dir", str(broker_status.data_dir)], data)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if len(line.split()) >= 2}
    assert rows["state"] == "running"
    assert rows["pid"] == str(broker_status.state.pid)
    assert rows["bootstrap"] == broker_status.bootstrap_servers
    record = json.loads(run(["broker", "status", "--data-dir", str(broker_status.data_dir), "--json"], data).stdout)
    assert record["running"] is True and record["pid"] == broker_status.state.pid
    assert record["bootstrap"] == broker_status.bootstrap_servers and record["local_port"] == "PLAINTEXT, no login"
    assert record["kafka"] == broker_status.state.kafka_version and record["tls"] is None and record["cluster"] is None


@pytest.mark.kafka
def test_doctor_on_the_session_broker_passes(broker_status: BrokerStatus, data: Path) -> None:
    bootstrap = broker_status.bootstrap_servers
    assert bootstrap
    result = run(["doctor", "-b", bootstrap], data, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    no_traceback(result)
    assert not failed_lines(result.stdout, "✗")
    assert failed_lines(result.stdout, f"✓ broker: cluster at {bootstrap} answers (1 broker)")
    assert failed_lines(result.stdout, "✓ round trip: produced and consumed one event in")
