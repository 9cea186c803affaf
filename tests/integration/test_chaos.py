"""A short chaos run: roles killed -9 and restarted, then the ledger.

Broker kills stay in `fishchips chaos` (docs/chaos.md): with transactions, a role can take minutes
to recover from one on this 2-core machine, too uneven for a CI run.
"""

import tempfile
from pathlib import Path

import pytest

from fishchips.broker.embedded import EmbeddedBroker, free_port
from fishchips.chaos import Chaos
from fishchips.kafka.settings import ConnectionSettings

pytestmark = pytest.mark.kafka


def test_a_short_chaos_run_loses_nothing_and_serves_nothing_twice() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="fishchips-chaos-test-"))
    broker = EmbeddedBroker(workdir / "node-1")  # its own broker, so the test's shop starts empty
    status = broker.start(port=free_port(), timeout=120)
    try:
        chaos = Chaos([broker], ConnectionSettings(bootstrap_servers=status.bootstrap_servers), workdir, orders=200, rate=25, seed=1)
        report = chaos.run(max_seconds=240, min_strikes=5, broker_every=0)
    finally:
        broker.stop()
    assert sum(report.kills.values()) >= 5 and report.broker_kills == 0  # at least five strikes, all at roles
    assert report.ledger is not None
    assert (report.ledger.taken, report.ledger.lost, report.ledger.served_twice) == (200, 0, 0)
    assert (report.ledger.cooked, report.ledger.cooked_twice) == (report.ledger.plaice, 0)
    assert report.ok
