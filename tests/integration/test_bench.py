"""`fishchips bench` at a tiny size: it runs every phase and every order is served once. Never its timings."""

import json
import math

import pytest
from click.testing import CliRunner

from fishchips.cli.bench import bench
from fishchips.kafka.settings import ConnectionSettings

pytestmark = [pytest.mark.kafka, pytest.mark.bench]

ORDERS = 2000


def test_bench_serves_every_order_once_and_reports_every_figure(kafka: ConnectionSettings) -> None:
    assert kafka.bootstrap_servers
    args = ["--orders", str(ORDERS), "--latency-rate", "2000", "--json", "-b", kafka.bootstrap_servers]
    result = CliRunner().invoke(bench, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)

    assert figures["ok"] is True
    for name in ("shop", "shop_eos", "latency"):
        phase = figures["phases"][name]
        assert phase["taken"] == phase["served"] == ORDERS, name
        assert (phase["missing"], phase["duplicates"]) == (0, 0), name
    for name in ("shop_stage", "peer"):
        phase = figures["phases"][name]
        assert (phase["distinct"], phase["missing"], phase["duplicates"]) == (ORDERS, 0, 0), name
    assert figures["phases"]["baseline"]["messages"] == ORDERS

    for key in (
        "baseline_msgs_per_s",
        "shop_orders_per_s",
        "shop_eos_orders_per_s",
        "peer_orders_per_s",
        "ratio_to_baseline",
        "ratio_to_peer",
        "peak_rss_mb",
    ):
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    assert set(figures["latency_ms"]) >= {"p50", "p95", "p99"}
