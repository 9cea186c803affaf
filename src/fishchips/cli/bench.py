"""`fishchips bench`: the rush hour, measured against raw Kafka and against a Quix Streams peer."""

import json
import os

import click
from click.core import ParameterSource

from fishchips.bench.plan import Plan
from fishchips.bench.runner import QUIET_LOAD, require_quiet, run_bench, run_share_bench
from fishchips.bench.share import require_share_consumer
from fishchips.cli.console import console, out
from fishchips.cli.options import connection_options, group_protocol_option
from fishchips.cli.shop import connected
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings

SHARE_PLAN = Plan(orders=5_000, partitions=2, preparer_counts=(1, 2, 4, 8))  # --share: the same numbers of members, two ways
SHARE_ONLY = {"work_ms": "--work-ms"}
NOT_WITH_SHARE = {"preparers": "--preparers", "latency_rates": "--latency-rate"}


@click.command()
@click.option(
    "--orders",
    type=click.IntRange(1),
    help=f"Orders (and raw messages) per phase.  [default: {Plan.orders:,}; {SHARE_PLAN.orders:,} with --share]",
)
@click.option(
    "--partitions",
    type=click.IntRange(1),
    help=f"Partitions of orders and served.  [default: {Plan.partitions}; {SHARE_PLAN.partitions} with --share]",
)
@click.option("--preparers", type=click.IntRange(1), default=Plan.preparers, show_default=True, help="Food preparers in the group (not with --share).")
@click.option("--tills", type=click.IntRange(1), default=Plan.tills, show_default=True, help="Tills taking the orders.")
@click.option(
    "--latency-rate",
    "latency_rates",
    type=click.FloatRange(min=1),
    multiple=True,
    default=Plan.latency_rates,
    show_default=True,
    help="Orders/s offered for latency (repeat for several; not with --share).",
)
@click.option(
    "--preparer-counts",
    type=click.IntRange(1),
    multiple=True,
    help="Also run the shop and both preparer stages with this many preparers (repeat for several); with --share, race both"
    f" groups at each.  [default: {', '.join(map(str, Plan.preparer_counts))}; {', '.join(map(str, SHARE_PLAN.preparer_counts))} with --share]",
)
@click.option(
    "--share",
    is_flag=True,
    help="Race a share group (KIP-932) against a consumer group of the same size instead, on 2 partitions: "
    "orders/s at each preparer count. Needs confluent-kafka 2.13 or newer (the shop's .venv, not .venv-bench).",
)
@click.option(
    "--work-ms",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="With --share: each preparer's time per order (the fryer), where more members help; 0 shows what a share group costs.",
)
@click.option("--noisy", is_flag=True, help=f"Run even when the 1-minute load average is above {QUIET_LOAD} (the figures will be unsteady).")
@click.option("--json", "as_json", is_flag=True, help="Print only the figures, as one JSON object.")
@group_protocol_option
@connection_options
def bench(
    settings: ConnectionSettings,
    orders: int | None,
    partitions: int | None,
    preparers: int,
    tills: int,
    latency_rates: tuple[float, ...],
    preparer_counts: tuple[int, ...],
    share: bool,
    work_ms: float,
    noisy: bool,
    as_json: bool,
    group_protocol: GroupProtocol,
) -> None:
    """Rush hour: orders/s end to end (processes and threads, transactions off and on), latency, memory;
    against raw Kafka, a bare two-hop pipe of processes, and Quix Streams.

    Takes a few minutes at the default size: each phase runs in a process of its own.
    With --share: a share group against a consumer group of the same size, on 2 partitions, at 1, 2, 4 and 8 preparers.

    Use a quiet machine: the figures are only as steady as the CPU is free, so a busy one is refused unless --noisy.
    Every topic and group a run makes is deleted when it ends.
    """
    context = click.get_current_context()
    for name, option in (NOT_WITH_SHARE if share else SHARE_ONLY).items():
        if context.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            raise click.UsageError(f"{option} is {'not for' if share else 'only for'} --share")
    default = SHARE_PLAN if share else Plan()
    plan = Plan(
        orders=orders or default.orders,
        partitions=partitions or default.partitions,
        preparers=preparers,
        tills=tills,
        latency_rates=tuple(sorted(set(latency_rates))),
        preparer_counts=tuple(sorted(set(preparer_counts or default.preparer_counts))),
        group_protocol=group_protocol,
    )
    if share:
        require_share_consumer()  # before the broker starts: the bench's own virtualenv has no share consumer
    require_quiet(os.getloadavg()[0], noisy)
    with connected(settings) as cluster:
        result = run_share_bench(cluster, plan, work_ms, console) if share else run_bench(cluster, plan, console)
    if as_json:
        out.print_json(json.dumps(result.to_json()))
    else:
        out.print(result.table())
    if not result.ok:
        raise SystemExit(1)
