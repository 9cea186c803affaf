"""`fishchips chaos --json`, the real command: a short run on its own broker, and its report parsed."""

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.kafka

ORDERS = 10  # the least the command takes: the run is its four strikes, one of them at the broker


def test_chaos_json_is_one_valid_report() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fishchips", "chaos", "--json", "--orders", str(ORDERS), "--seed", "1"],
        capture_output=True,
        text=True,
        timeout=280,
        stdin=subprocess.DEVNULL,
    )

    report = json.loads(result.stdout)  # stdout is the report and nothing else
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == (0 if report["ok"] else 1)
    assert report["ok"] is True, report
    assert report["nodes"] == 1 and report["orders"] == ORDERS
    assert all(isinstance(name, str) and count > 0 for name, count in report["kills"].items())
    assert sum(report["kills"].values()) + report["broker_kills"] >= 4
    ledger = report["ledger"]
    assert (ledger["taken"], ledger["served"], ledger["lost"], ledger["served_twice"]) == (ORDERS, ORDERS, 0, 0)
    assert (report["books_orders"], report["books_takings_pence"]) == (ORDERS, ledger["takings_pence"])
