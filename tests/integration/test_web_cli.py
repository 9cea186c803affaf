"""`fishchips web` refusing what it cannot do: one ✗ line and exit 1, within seconds, never a traceback."""

import socket
from pathlib import Path

from tests.conftest import free_port
from tests.integration.test_cli_errors import no_traceback, run


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(["web", "--host", "127.0.0.1", "--port", str(port)], tmp_path / "data", timeout=30)
    assert result.returncode == 1
    no_traceback(result)
    assert f"✗ cannot listen on 127.0.0.1:{port}: Address already in use; choose another --port or --host" in result.stderr


def test_no_kafka_at_the_address_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = run(["web", "demo1", "--port", "0", "--group-protocol", "classic-eager", "-b", f"127.0.0.1:{port}"], tmp_path / "data", timeout=40)
    assert result.returncode == 1
    no_traceback(result)
    assert f"✗ cannot reach Kafka at 127.0.0.1:{port}" in result.stderr


def test_an_unknown_lesson_or_a_lesson_with_a_scenario_is_one_line(tmp_path: Path) -> None:
    unknown = run(["web", "--lesson", "99", "--port", "0"], tmp_path / "data")
    both = run(["web", "demo1", "--lesson", "4", "--port", "0"], tmp_path / "data")

    assert unknown.returncode == 1 and unknown.stderr.startswith("✗ no lesson '99': choose one of 01-producer-topic-offset"), unknown.stderr
    assert both.returncode == 2 and "name a scenario or --lesson (which opens its own), not both" in both.stderr
    for result in (unknown, both):
        no_traceback(result)
