"""`fishchips bench` at a tiny size: it runs every phase and every order is served once. Never its timings."""

import json
import math
import subprocess
import sys

import pytest
from click.testing import CliRunner

from fishchips.cli.bench import bench
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings

pytestmark = [pytest.mark.kafka, pytest.mark.bench]

ORDERS = 2000


def on_the_broker(kafka: ConnectionSettings) -> tuple[set[str], set[str]]:
    """Every topic and consumer group on the broker, but Kafka's own (__consumer_offsets, __transaction_state)."""
    admin = clients.admin(kafka)
    topics = {name for name in admin.list_topics(timeout=10).topics if not name.startswith("__")}
    groups = {listing.group_id for listing in admin.list_consumer_groups(request_timeout=10).result().valid}
    return topics, groups


def test_bench_serves_every_order_once_and_reports_every_figure_and_leaves_nothing(kafka: ConnectionSettings) -> None:
    assert kafka.bootstrap_servers
    before = on_the_broker(kafka)
    args = ["--orders", str(ORDERS), "--latency-rate", "2000", "--preparer-counts", "1", "--preparer-counts", "3", "--json"]
    args += ["--noisy"]  # the test machine is seldom quiet, and these figures are never judged
    args += ["--group-protocol", "consumer"]
    args += ["-b", kafka.bootstrap_servers]
    result = CliRunner().invoke(bench, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert on_the_broker(kafka) == before  # the run's topics and groups are deleted before the command returns

    assert figures["ok"] is True
    phases = figures["phases"]
    shops = {name: phases[name] for name in ("shop", "shop_eos", "shop_threads")} | phases["scaling"]
    paced = {f"latency, {protocol}": runs["2000"] for protocol, runs in phases["latency"].items()}
    assert set(phases["latency"]) == {"consumer", "classic-eager", "classic-cooperative"}  # each group protocol
    for name, phase in {**shops, **paced}.items():
        assert phase["taken"] == phase["served"] == ORDERS, name
        assert (phase["missing"], phase["duplicates"]) == (0, 0), name
    short = phases["shop_short"]  # the same shop over a quarter of the orders, beside the whole run
    assert (short["taken"], short["served"], short["missing"], short["duplicates"]) == (ORDERS // 4, ORDERS // 4, 0, 0)
    assert set(phases["scaling"]) == set(phases["stages"]) == {"1", "3"}
    assert [phases["scaling"][n]["preparers"] for n in ("1", "3")] == [1, 3]
    assert phases["shop"]["processes"] and not phases["shop_threads"]["processes"]
    for count, pair in phases["stages"].items():
        for name, phase in pair.items():
            assert (phase["distinct"], phase["missing"], phase["duplicates"]) == (ORDERS, 0, 0), (count, name)
    assert phases["baseline"]["messages"] == phases["pipe"]["orders"] == ORDERS

    for key in (
        "baseline_msgs_per_s",
        "shop_orders_per_s",
        "shop_eos_orders_per_s",
        "peer_orders_per_s",
        "pipe_orders_per_s",
        "shop_threads_orders_per_s",
        "ratio_to_baseline",
        "ratio_to_pipe",
        "ratio_eos_to_pipe",
        "ratio_to_peer",
        "peak_rss_mb",
        "cpu_us_per_order",
        "startup_cpu_s",
        "ready_s",
    ):
        assert math.isfinite(figures[key]) and figures[key] > 0, key
    assert set(figures["latency_ms"]) >= {"p50", "p95", "p99"}
    assert set(figures["ratio_to_peer_by_preparers"]) == set(figures["shop_orders_per_s_by_preparers"]) == {"1", "3"}
    assert all(math.isfinite(r) and r > 0 for r in figures["ratio_to_peer_by_preparers"].values())
    # latency once ready, and the time to ready, under the run's protocol and under each
    assert figures["latency_ms_by_rate"] == figures["latency_ms_by_protocol"]["consumer"]
    for by_rate in figures["latency_ms_by_protocol"].values():
        assert set(by_rate) == {"2000"} and set(by_rate["2000"]) == {"p50", "p95", "p99"}
        assert by_rate["2000"]["p50"] <= by_rate["2000"]["p95"] <= by_rate["2000"]["p99"]
    assert figures["ready_s_by_protocol"]["consumer"] == figures["ready_s"]
    # what grows with the run: the cost per order and the peak, over a quarter of the orders and over all of them
    for key in ("cpu_us_per_order_by_orders", "peak_rss_mb_by_orders"):
        assert set(figures[key]) == {str(ORDERS // 4), str(ORDERS)}, key
        assert all(math.isfinite(v) and v > 0 for v in figures[key].values()), key
    assert figures["cpu_us_per_order_by_orders"][str(ORDERS)] == figures["cpu_us_per_order"]
    assert figures["peak_rss_mb_by_orders"][str(ORDERS)] == phases["shop"]["peak_rss_mb"]
    assert all(math.isfinite(s) and s > 0 for s in figures["ready_s_by_protocol"].values())


def test_bench_share_is_refused_in_one_line_where_confluent_kafka_has_no_share_consumer() -> None:
    """This module runs in .venv-bench, whose Quix Streams pins confluent-kafka below 2.13: no ShareConsumer there."""
    done = subprocess.run(
        [sys.executable, "-m", "fishchips", "bench", "--share", "--noisy"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "needs confluent-kafka 2.13 or newer" in done.stderr and ".venv-bench" in done.stderr
