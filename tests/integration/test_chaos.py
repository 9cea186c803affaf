"""Short chaos runs: roles killed -9 and restarted, brokers killed -9 and started again, then the ledger.

Each asserts the promises (nothing lost, nothing twice, nothing stuck, the books equal the ledger)
and that every broker kill was followed by orders served again; how many seconds that took is a
figure for docs/chaos.md, never asserted here.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from tests.conftest import wait_for

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.chaos import Chaos, ChaosReport
from fishchips.kafka.settings import ConnectionSettings
from fishchips.services.local_server import alive, free_port

pytestmark = pytest.mark.kafka


def assert_promises_kept(report: ChaosReport, orders: int) -> None:
    assert report.ledger is not None
    assert (report.ledger.taken, report.ledger.lost, report.ledger.served_twice) == (orders, 0, 0)
    assert (report.lost, report.stuck) == (0, 0)
    assert (report.ledger.cooked, report.ledger.cooked_twice) == (report.ledger.plaice, 0)
    assert report.books_ok and report.ok
    assert report.longest_wait > 0


@pytest.mark.slow
def test_a_short_chaos_run_with_broker_kills_loses_nothing_and_serves_nothing_twice() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fishchips-chaos-test-"))
    broker = EmbeddedBroker(workdir / "node-1")  # its own: the run kills it -9 (the session's stays whole) and its shop starts empty
    status = broker.start(port=free_port(), timeout=120)
    try:
        chaos = Chaos([broker], ConnectionSettings(bootstrap_servers=status.bootstrap_servers), workdir, orders=200, rate=25, seed=1)
        report = chaos.run(max_seconds=240, min_strikes=6, broker_every=3)
    finally:
        broker.stop()
    assert sum(report.kills.values()) >= 4 and report.broker_kills >= 2  # roles and the broker, killed
    assert [kill.node for kill in report.broker_kill_log] == ["node-1"] * report.broker_kills
    assert all(kill.back_at is not None and kill.back_at > kill.killed_at for kill in report.broker_kill_log)
    assert all(kill.caught_up_after is not None for kill in report.broker_kill_log)  # every order waiting then was served
    assert_promises_kept(report, 200)


@pytest.mark.slow
def test_chaos_minutes_soaks_at_the_demo_pace_and_prints_its_report_as_json() -> None:
    # the seed picks when and whom to strike, and the promises hold whatever it is; with seed 31 the four strikes,
    # 10-30 s apart at this pace, come within about 55 s (seed 5's took 110 s)
    command = [sys.executable, "-m", "fishchips", "chaos", "--minutes", "0.5", "--seed", "31", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["ok"] is True and (report["lost"], report["stuck"]) == (0, 0)
    assert report["orders"] == 30 and report["ledger"]["taken"] == report["ledger"]["served"] == 30  # 30 s at 1 order/s
    assert sum(report["kills"].values()) >= 3 and report["broker_kills"] == len(report["broker_kill_log"]) >= 1
    assert report["broker_kill_log"][0]["node"] == "node-1" and report["broker_kill_log"][0]["caught_up_after"] is not None
    assert isinstance(report["broker_kill_log"][0]["roles_killed_just_before"], int)
    assert report["longest_wait"] > 0
    assert all(isinstance(name, str) and count > 0 for name, count in report["kills"].items())  # a Counter once came out keyed by tuples
    assert (report["books_orders"], report["books_takings_pence"]) == (30, report["ledger"]["takings_pence"])
    processes = report["rss_kib"]
    assert {"preparer-1", "preparer-2", "cook-1", "accountant", "board"} <= set(processes)
    assert all(kib > 0 for rss in processes.values() for kib in rss.values())


def test_chaos_ended_by_sigterm_stops_the_brokers_it_started(tmp_path: Path) -> None:
    """`kill` (or a CI's timeout) ends a run as Ctrl-C does: no broker of its own is left running."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the run's folder lands here, where the test can find its broker
    command = [sys.executable, "-m", "fishchips", "chaos", "--orders", "10", "--json"]
    chaos = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    broker_pid = 0
    try:
        wait_for(lambda: next(tmp_path.glob("fishchips-chaos-*/node-1/broker.json"), None), 120)
        broker_pid = json.loads(next(tmp_path.glob("fishchips-chaos-*/node-1/broker.json")).read_text())["pid"]
        assert alive(broker_pid)
        chaos.send_signal(signal.SIGTERM)
        _, errors = chaos.communicate(timeout=90)
        assert chaos.returncode != 0 and "Traceback" not in errors, errors[-2000:]
        wait_for(lambda: not alive(broker_pid), 30)
    finally:
        if chaos.poll() is None:
            chaos.kill()
        if broker_pid and alive(broker_pid):  # the test stops what it started, even when it fails
            os.kill(broker_pid, signal.SIGKILL)
