"""`fishchips bench`: the rush hour, measured against raw Kafka and against a Quix Streams peer."""

import json
import os

import click

from fishchips.bench.plan import Plan
from fishchips.bench.runner import QUIET_LOAD, require_quiet, run_bench
from fishchips.cli.console import console, out
from fishchips.cli.options import connection_options, group_protocol_option
from fishchips.cli.shop import connected
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings


@click.command()
@click.option("--orders", type=click.IntRange(1), default=Plan.orders, show_default=True, help="Orders (and raw messages) per phase.")
@click.option("--partitions", type=click.IntRange(1), default=Plan.partitions, show_default=True, help="Partitions of orders and served.")
@click.option("--preparers", type=click.IntRange(1), default=Plan.preparers, show_default=True, help="Food preparers in the group.")
@click.option("--tills", type=click.IntRange(1), default=Plan.tills, show_default=True, help="Tills taking the orders.")
@click.option(
    "--latency-rate",
    "latency_rates",
    type=click.FloatRange(min=1),
    multiple=True,
    default=Plan.latency_rates,
    show_default=True,
    help="Orders/s offered for latency (repeat for several).",
)
@click.option(
    "--preparer-counts",
    type=click.IntRange(1),
    multiple=True,
    default=Plan.preparer_counts,
    show_default=True,
    help="Also run the shop and both preparer stages with this many preparers (repeat for several).",
)
@click.option("--noisy", is_flag=True, help=f"Run even when the 1-minute load average is above {QUIET_LOAD} (the figures will be unsteady).")
@click.option("--json", "as_json", is_flag=True, help="Print only the figures, as one JSON object.")
@group_protocol_option
@connection_options
def bench(
    settings: ConnectionSettings,
    orders: int,
    partitions: int,
    preparers: int,
    tills: int,
    latency_rates: tuple[float, ...],
    preparer_counts: tuple[int, ...],
    noisy: bool,
    as_json: bool,
    group_protocol: GroupProtocol,
) -> None:
    """Rush hour: orders/s end to end (processes and threads, transactions off and on), latency, memory;
    against raw Kafka, a bare two-hop pipe of processes, and Quix Streams.

    Takes a few minutes at the default size: each phase runs in a process of its own.
    Use a quiet machine: the figures are only as steady as the CPU is free, so a busy one is refused unless --noisy.
    Every topic and group a run makes is deleted when it ends.
    """
    plan = Plan(
        orders=orders,
        partitions=partitions,
        preparers=preparers,
        tills=tills,
        latency_rates=tuple(sorted(set(latency_rates))),
        preparer_counts=tuple(sorted(set(preparer_counts))),
        group_protocol=group_protocol,
    )
    require_quiet(os.getloadavg()[0], noisy)  # before the broker starts: a refusal takes no time
    with connected(settings) as cluster:
        result = run_bench(cluster, plan, console)
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        out.print(result.table())
    if not result.ok:
        raise SystemExit(1)
