"""`fishchips bench`: the rush hour, measured against raw Kafka and against a Quix Streams peer."""

import json

import click

from fishchips.bench.plan import Plan
from fishchips.bench.runner import run_bench
from fishchips.cli.console import console, out
from fishchips.cli.options import connection_options
from fishchips.cli.shop import connected
from fishchips.kafka.settings import ConnectionSettings


@click.command()
@click.option("--orders", type=click.IntRange(1), default=Plan.orders, show_default=True, help="Orders (and raw messages) per phase.")
@click.option("--partitions", type=click.IntRange(1), default=Plan.partitions, show_default=True, help="Partitions of orders and served.")
@click.option("--preparers", type=click.IntRange(1), default=Plan.preparers, show_default=True, help="Food preparers in the group.")
@click.option("--tills", type=click.IntRange(1), default=Plan.tills, show_default=True, help="Tills taking the orders.")
@click.option(
    "--latency-rate", type=click.FloatRange(min=1), default=Plan.latency_rate, show_default=True, help="Orders/s offered for latency."
)
@click.option("--json", "as_json", is_flag=True, help="Print only the figures, as one JSON object.")
@connection_options
def bench(
    settings: ConnectionSettings, orders: int, partitions: int, preparers: int, tills: int, latency_rate: float, as_json: bool
) -> None:
    """Rush hour: orders/s end to end (transactions off and on), latency, memory; against raw Kafka and Quix Streams.

    Takes a few minutes at the default size: each phase runs in a process of its own.
    Use a quiet machine: the figures are only as steady as the CPU is free.
    """
    plan = Plan(orders=orders, partitions=partitions, preparers=preparers, tills=tills, latency_rate=latency_rate)
    with connected(settings) as cluster:
        result = run_bench(cluster, plan, console)
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        out.print(result.table())
    if not result.ok:
        raise SystemExit(1)
