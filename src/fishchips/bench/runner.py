"""One benchmark run: every phase in order, each in its own process, with Rich progress."""

import os
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fishchips.bench import baseline, peer, pipe, share, shop_run, stage
from fishchips.bench.cleanup import leaving_nothing
from fishchips.bench.isolate import BenchFailed, Phase, run_isolated
from fishchips.bench.plan import Plan
from fishchips.bench.report import BenchResult, ShareBenchResult
from fishchips.kafka.settings import ConnectionSettings

QUIET_LOAD = 1.5  # the highest 1-minute load average at the start of a run whose figures mean something


def require_quiet(load: float, noisy: bool) -> None:
    """Refuse to measure on a busy machine: the figures would be the other work's, not the shop's."""
    if load > QUIET_LOAD and not noisy:
        raise BenchFailed(
            f"the machine is busy (1-minute load average {load:.2f}, above {QUIET_LOAD}): its figures would not be fair; "
            "wait until it is quiet, or pass --noisy to run anyway"
        )


def run_bench(settings: ConnectionSettings, plan: Plan, console: Console) -> BenchResult:
    """Ceilings, the shop (processes, without and with transactions; threads; over a quarter of the orders; at each preparer count),
    both preparer stages at each count, then latency and the time to ready at each fixed load under each group protocol;
    then every topic and group it made is deleted."""
    peer.require_quixstreams()
    before = os.getloadavg()[0]
    with leaving_nothing(settings, plan.prefix), _progress(console) as progress:

        def phase(what: str, total: int, function: Phase, *args: Any) -> dict[str, Any]:
            return _phase(progress, what, total, function, settings, plan, *args)

        n = plan.orders
        figures: dict[str, Any] = {
            "baseline": phase(f"raw ceiling (best of {baseline.PASSES})", n * baseline.PASSES, baseline.raw_pipe),
            "pipe": phase("two-hop pipe ceiling (processes)", n, pipe.two_hops),
            "shop": phase(f"shop, processes, {plan.preparers} preparers", n, shop_run.shop, False, 0.0, n),
            "shop_eos": phase("shop, processes, transactions on", n, shop_run.shop, True, 0.0, n),
            "shop_threads": phase("shop, threads of one process", n, shop_run.shop, False, 0.0, n, False),
            # the same shop over a quarter of the orders: a cost per order or a peak that grows with the run shows here
            "shop_short": phase(f"shop, processes, {plan.short_orders:,} orders", plan.short_orders, shop_run.shop, False, 0.0, plan.short_orders),
        }
        figures["scaling"] = {
            count: figures["shop"]
            if count == plan.preparers
            else phase(f"shop, processes, {count} preparer(s)", n, shop_run.shop, False, 0.0, n, True, count)
            for count in plan.preparer_counts
        }
        phase("tills fill the stages' orders", n, stage.fill)
        figures["stages"] = {
            count: {
                "shop": phase(f"shop preparer stage x{count}", n, stage.run_stage, "shop", shop_run.shop_preparer, count),
                "peer": phase(f"Quix Streams preparer stage x{count}", n, stage.run_stage, "peer", peer.quix_preparer, count),
            }
            for count in plan.preparer_counts
        }
        figures["latency"] = {
            protocol: {
                rate: phase(
                    f"latency at {rate:,.0f} orders/s, {protocol}",
                    plan.latency_orders(rate),
                    shop_run.shop,
                    *(False, rate, plan.latency_orders(rate), True, None, protocol),
                )
                for rate in plan.latency_rates
            }
            for protocol in plan.protocols
        }
    return BenchResult(plan=plan, load_average=(before, os.getloadavg()[0]), **figures)


def run_share_bench(settings: ConnectionSettings, plan: Plan, work_ms: float, console: Console) -> ShareBenchResult:
    """At each preparer count, a share group and then a consumer group of that size race for the same number of orders
    on plan.partitions partitions; then every topic and group it made is deleted."""
    share.require_share_consumer()
    before = os.getloadavg()[0]
    with leaving_nothing(settings, plan.prefix), _progress(console) as progress:
        races = {
            count: {
                kind: _phase(progress, f"{kind} group x{count}", plan.orders, share.race, settings, plan, kind, count, work_ms)
                for kind in share.KINDS
            }
            for count in plan.preparer_counts
        }
    return ShareBenchResult(plan=plan, work_ms=work_ms, races=races, load_average=(before, os.getloadavg()[0]))


def _progress(console: Console) -> Progress:
    columns = (TextColumn("{task.description:<38}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console)


def _phase(progress: Progress, what: str, total: int, function: Phase, *args: Any) -> dict[str, Any]:
    """Run one phase in a process of its own, its progress shown as a bar."""
    task = progress.add_task(what, total=total)

    def update(done: int) -> None:
        progress.update(task, completed=min(done, total))

    result = run_isolated(function, *args, on_progress=update)
    progress.update(task, completed=total)
    return result
