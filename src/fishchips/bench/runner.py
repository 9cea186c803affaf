"""One benchmark run: every phase in order, each in its own process, with Rich progress."""

import os
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fishchips.bench import baseline, peer, pipe, shop_run, stage
from fishchips.bench.isolate import Phase, run_isolated
from fishchips.bench.plan import Plan
from fishchips.bench.report import BenchResult
from fishchips.kafka.settings import ConnectionSettings


def run_bench(settings: ConnectionSettings, plan: Plan, console: Console) -> BenchResult:
    """Ceilings, the shop (processes, without and with transactions; threads; at each preparer count),
    both preparer stages at each count, then latency at each fixed load."""
    peer.require_quixstreams()
    before = os.getloadavg()[0]
    columns = (TextColumn("{task.description:<38}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:

        def phase(what: str, total: int, function: Phase, *args: Any) -> dict[str, Any]:
            task = progress.add_task(what, total=total)

            def update(done: int) -> None:
                progress.update(task, completed=min(done, total))

            result = run_isolated(function, settings, plan, *args, on_progress=update)
            progress.update(task, completed=total)
            return result

        n = plan.orders
        figures: dict[str, Any] = {
            "baseline": phase(f"raw ceiling (best of {baseline.PASSES})", n * baseline.PASSES, baseline.raw_pipe),
            "pipe": phase("two-hop pipe ceiling (processes)", n, pipe.two_hops),
            "shop": phase(f"shop, processes, {plan.preparers} preparers", n, shop_run.shop, False, 0.0, n),
            "shop_eos": phase("shop, processes, transactions on", n, shop_run.shop, True, 0.0, n),
            "shop_threads": phase("shop, threads of one process", n, shop_run.shop, False, 0.0, n, False),
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
            rate: phase(f"latency at {rate:,.0f} orders/s", plan.latency_orders(rate), shop_run.shop, False, rate, plan.latency_orders(rate))
            for rate in plan.latency_rates
        }
    return BenchResult(plan=plan, load_average=(before, os.getloadavg()[0]), **figures)
