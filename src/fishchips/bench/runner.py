"""One benchmark run: every phase in order, each in its own process, with Rich progress."""

import os
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fishchips.bench import baseline, peer, shop_run, stage
from fishchips.bench.isolate import Phase, run_isolated
from fishchips.bench.plan import Plan
from fishchips.bench.report import BenchResult
from fishchips.kafka.settings import ConnectionSettings


def run_bench(settings: ConnectionSettings, plan: Plan, console: Console) -> BenchResult:
    """Ceiling, shop without and with transactions, both preparer stages, then latency at a fixed load."""
    peer.require_quixstreams()
    before = os.getloadavg()[0]
    columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:

        def phase(what: str, total: int, function: Phase, *args: Any) -> dict[str, Any]:
            task = progress.add_task(what, total=total)

            def update(done: int) -> None:
                progress.update(task, completed=min(done, total))

            result = run_isolated(function, settings, plan, *args, on_progress=update)
            progress.update(task, completed=total)
            return result

        n = plan.orders
        figures = {
            "baseline": phase(f"raw ceiling (best of {baseline.PASSES})", n * baseline.PASSES, baseline.raw_pipe),
            "shop": phase("shop, transactions off", n, shop_run.shop, False, 0.0, n),
            "shop_eos": phase("shop, transactions on", n, shop_run.shop, True, 0.0, n),
        }
        phase("tills fill the stages' orders", n, stage.fill)
        figures["shop_stage"] = phase("shop preparer stage", n, stage.run_stage, "shop", shop_run.shop_preparer)
        figures["peer"] = phase("Quix Streams preparer stage", n, stage.run_stage, "peer", peer.quix_preparer)
        rate = plan.latency_rate
        figures["latency"] = phase(f"latency at {rate:,.0f} orders/s", plan.latency_orders, shop_run.shop, False, rate, plan.latency_orders)
    return BenchResult(plan=plan, load_average=(before, os.getloadavg()[0]), **figures)
