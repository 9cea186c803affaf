"""Run `fishchips bench` for each configuration and write docs/performance.md's results, with one PNG plot each.

Usage: python benchmarks/rush_hour.py -b HOST:PORT [--orders 200000] [--quiet-load 1.0] [--wait-minutes 20]

Needs the bench extra (pip install -e '.[bench]'). Each configuration takes a few minutes
at the default size. The figures are only as steady as the CPU is free, so the script
first waits (up to --wait-minutes) for the 1-minute load average to fall below
--quiet-load, and records the load it ran at.
"""

import argparse
import json
import os
import re
import time
from pathlib import Path

from matplotlib.figure import Figure  # no pyplot: a figure drawn straight to a file needs no display
from rich.console import Console

from fishchips.bench.plan import Plan
from fishchips.bench.report import BenchResult
from fishchips.bench.runner import run_bench
from fishchips.kafka.settings import ConnectionSettings

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "benchmarks" / "results.json"
CONFIGURATIONS = [(6, 3)]  # (partitions, preparers); each run also measures the shop and the stages at 1, 3 and 6 preparers
START, END = "<!-- results:start -->", "<!-- results:end -->"
console = Console(stderr=True)


def wait_for_quiet(limit: float, minutes: float) -> float:
    """The 1-minute load average once it is below limit, or whatever it is after `minutes`."""
    deadline = time.monotonic() + minutes * 60
    load = os.getloadavg()[0]
    while load >= limit and time.monotonic() < deadline:
        console.print(f"load average {load:.2f} >= {limit}: waiting for a quieter machine", highlight=False)
        time.sleep(30)
        load = os.getloadavg()[0]
    return load


def plot(result: BenchResult, path: Path) -> None:
    """Throughput beside the ceiling, and latency at the fixed load."""
    figures = result.to_json()
    fig = Figure(figsize=(11, 4))
    speed, latency = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    names = ["raw ceiling", "two-hop\npipe", "shop", "shop\ntransactions", "shop\nthreads", "shop\npreparer stage", "Quix Streams\npreparer stage"]
    keys = [
        "baseline_msgs_per_s",
        "pipe_orders_per_s",
        "shop_orders_per_s",
        "shop_eos_orders_per_s",
        "shop_threads_orders_per_s",
        "shop_stage_orders_per_s",
        "peer_orders_per_s",
    ]
    values = [figures[key] for key in keys]
    colours = ["#888888", "#aaaaaa", "#1f77b4", "#1f77b4", "#6baed6", "#2ca02c", "#ff7f0e"]
    bars = speed.bar(names, values, color=colours)
    speed.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8)
    speed.set_ylabel("messages or orders per second")
    speed.set_title("Throughput (higher is better)")
    speed.tick_params(axis="x", labelsize=8)
    percentiles = figures["latency_ms"]
    bars = latency.bar(list(percentiles), list(percentiles.values()), color="#9467bd")
    latency.bar_label(bars, labels=[f"{v:,.1f}" for v in percentiles.values()], fontsize=8)
    latency.set_ylabel("ms, order taken -> served")
    latency.set_title(f"Latency at {figures['latency_offered_per_s']:,.0f} orders/s (lower is better)")
    fig.suptitle(f"{result.plan.orders:,} orders, {result.plan.partitions} partitions, {result.plan.preparers} preparers")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def section(results: list[BenchResult], loads: list[float]) -> str:
    """The generated part of docs/performance.md."""
    parts = [f"Run on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs; `python benchmarks/rush_hour.py` wrote this section.", ""]
    for result, load in zip(results, loads, strict=True):
        plan = result.plan
        image = f"performance-{plan.partitions}p-{plan.preparers}m.png"
        before, after = result.load_average
        parts += [
            f"### {plan.partitions} partitions, {plan.preparers} preparers, {plan.tills} tills, {plan.orders:,} orders",
            "",
            f"1-minute load average: {load:.2f} when the script checked, {before:.2f} at the start of the run, {after:.2f} at its end.",
            "",
            result.markdown(),
            "",
            f"![{plan.partitions} partitions, {plan.preparers} preparers]({image})",
            "",
        ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-b", "--bootstrap-servers", required=True, help="the broker to measure on (e.g. from `fishchips broker start`)")
    parser.add_argument("--orders", type=int, default=Plan.orders)
    parser.add_argument("--quiet-load", type=float, default=1.0, help="wait until the 1-minute load average is below this")
    parser.add_argument("--wait-minutes", type=float, default=20.0, help="but no longer than this")
    args = parser.parse_args()
    settings = ConnectionSettings(bootstrap_servers=args.bootstrap_servers)
    results, loads = [], []
    for partitions, preparers in CONFIGURATIONS:
        loads.append(wait_for_quiet(args.quiet_load, args.wait_minutes))
        result = run_bench(settings, Plan(orders=args.orders, partitions=partitions, preparers=preparers), console)
        console.print(result.table())
        plot(result, DOC.parent / f"performance-{partitions}p-{preparers}m.png")
        results.append(result)
    RESULTS.write_text(json.dumps([{**r.to_json(), "load_checked": load} for r, load in zip(results, loads, strict=True)], indent=2) + "\n")
    text = DOC.read_text()
    DOC.write_text(re.sub(f"{START}.*{END}", lambda _: f"{START}\n{section(results, loads)}\n{END}", text, flags=re.DOTALL))
    console.print(f"wrote {DOC.relative_to(ROOT)}, its plots and {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
