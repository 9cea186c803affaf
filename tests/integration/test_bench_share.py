"""`fishchips bench --share` at a tiny size, from the shop's own .venv: both groups race, every order is served once,
and the consumer group never has more busy members than partitions. Never its timings."""

import json

import pytest
from click.testing import CliRunner
from tests.integration.test_bench import on_the_broker

from fishchips.cli.bench import bench
from fishchips.kafka.settings import ConnectionSettings

pytestmark = pytest.mark.kafka

ORDERS = 100
MEMBERS = 3  # one more than the partitions: a consumer group's third member has none


def test_bench_share_races_both_groups_and_reports_every_figure_and_leaves_nothing(kafka: ConnectionSettings) -> None:
    assert kafka.bootstrap_servers
    before = on_the_broker(kafka)
    args = ["--share", "--orders", str(ORDERS), "--preparer-counts", str(MEMBERS), "--work-ms", "5", "--json", "--noisy"]
    result = CliRunner().invoke(bench, [*args, "-b", kafka.bootstrap_servers], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert on_the_broker(kafka) == before  # the races' topics and groups are deleted before the command returns

    assert figures["ok"] is True and (figures["orders"], figures["partitions"], figures["work_ms"]) == (ORDERS, 2, 5.0)
    race = figures["races"][str(MEMBERS)]
    for kind in ("share", "consumer"):
        assert (race[kind]["kind"], race[kind]["members"]) == (kind, MEMBERS)
        assert (race[kind]["distinct"], race[kind]["missing"], race[kind]["duplicates"]) == (ORDERS, 0, 0), kind
        assert figures["orders_per_s"][kind][str(MEMBERS)] == race[kind]["orders_per_s"] > 0
        assert 1 <= figures["busy_members"][kind][str(MEMBERS)] <= MEMBERS
    assert figures["busy_members"]["consumer"][str(MEMBERS)] <= 2  # a partition to each busy member, and there are 2
    assert figures["ratio_share_to_consumer"][str(MEMBERS)] > 0
    assert figures["share_duplicates"][str(MEMBERS)] == race["share"]["duplicates"]


def test_bench_options_of_one_kind_are_refused_with_the_other() -> None:
    for args, said in (
        (["--work-ms", "3"], "--work-ms is only for --share"),
        (["--share", "--preparers", "2"], "--preparers is not for --share"),
    ):
        result = CliRunner().invoke(bench, args)
        assert result.exit_code == 2 and said in result.output, result.output
