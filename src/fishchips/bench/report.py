"""The figures of one benchmark run: one JSON object, a Rich table for the terminal, a Markdown table for the docs."""

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import JustifyMethod
from rich.table import Table

from fishchips.bench.plan import Plan
from fishchips.kafka.protocols import GroupProtocol


@dataclass(frozen=True)
class BenchResult:
    plan: Plan
    baseline: dict[str, Any]  # raw produce + consume
    pipe: dict[str, Any]  # the two-hop pipe of processes: the least work a shop must do
    shop: dict[str, Any]  # processes, transactions off
    shop_eos: dict[str, Any]  # processes, transactions on
    shop_threads: dict[str, Any]  # every role a thread of one process, transactions off
    shop_short: dict[str, Any]  # processes, transactions off, over a quarter of the orders (Plan.short_orders)
    scaling: dict[int, dict[str, Any]]  # preparers -> the shop (processes, transactions off)
    stages: dict[int, dict[str, dict[str, Any]]]  # preparers -> {"shop": the shop's preparers alone, "peer": Quix Streams'}
    latency: dict[GroupProtocol, dict[float, dict[str, Any]]]  # protocol -> offered orders/s -> the shop at that fixed load
    load_average: tuple[float, float]  # 1-minute load average before and after the run

    def _shops(self) -> list[dict[str, Any]]:
        paced = [run for runs in self.latency.values() for run in runs.values()]
        return [self.shop, self.shop_eos, self.shop_threads, self.shop_short, *self.scaling.values(), *paced]

    def _ready_s(self, protocol: GroupProtocol) -> float:
        """From the floor's start to its first order called, at the lowest fixed load (the shop least busy)."""
        runs = self.latency[protocol]
        return float(runs[min(runs)]["ready_s"])

    def _by_orders(self) -> dict[int, dict[str, Any]]:
        """The shop (processes, transactions off) over a quarter of the orders, then over all of them."""
        return {self.plan.short_orders: self.shop_short, self.plan.orders: self.shop}

    @property
    def ok(self) -> bool:
        """Every phase served every order exactly once."""
        stages = [run for pair in self.stages.values() for run in pair.values()]
        return all(run["missing"] == 0 and run["duplicates"] == 0 for run in [*self._shops(), *stages])

    def to_json(self) -> dict[str, Any]:
        ceiling = self.baseline["msgs_per_s"]
        own = self.latency[self.plan.group_protocol]
        first_rate = min(own)
        stage_ratios = {str(n): ratio(pair["shop"]["orders_per_s"], pair["peer"]["orders_per_s"]) for n, pair in self.stages.items()}
        return {
            "ok": self.ok,
            "baseline_msgs_per_s": ceiling,
            "pipe_orders_per_s": self.pipe["orders_per_s"],
            "shop_orders_per_s": self.shop["orders_per_s"],
            "shop_eos_orders_per_s": self.shop_eos["orders_per_s"],
            "shop_threads_orders_per_s": self.shop_threads["orders_per_s"],
            "shop_stage_orders_per_s": self.stages[self.plan.preparers]["shop"]["orders_per_s"]
            if self.plan.preparers in self.stages
            else self.stages[min(self.stages)]["shop"]["orders_per_s"],
            "peer_orders_per_s": self.stages[self.plan.preparers]["peer"]["orders_per_s"]
            if self.plan.preparers in self.stages
            else self.stages[min(self.stages)]["peer"]["orders_per_s"],
            "ratio_to_baseline": ratio(self.shop["orders_per_s"], ceiling),
            "ratio_eos_to_baseline": ratio(self.shop_eos["orders_per_s"], ceiling),
            "ratio_to_pipe": ratio(self.shop["orders_per_s"], self.pipe["orders_per_s"]),
            "ratio_eos_to_pipe": ratio(self.shop_eos["orders_per_s"], self.pipe["orders_per_s"]),
            "ratio_to_peer": stage_ratios.get(str(self.plan.preparers), stage_ratios[str(min(self.stages))]),
            "ratio_to_peer_by_preparers": stage_ratios,
            "shop_orders_per_s_by_preparers": {str(n): run["orders_per_s"] for n, run in self.scaling.items()},
            # latency after ready, and the time to ready, under the plan's group protocol; then under each
            "latency_ms": own[first_rate]["latency_ms"],
            "latency_offered_per_s": first_rate,
            "latency_ms_by_rate": _by_rate(own),
            "ready_s": self._ready_s(self.plan.group_protocol),
            "latency_ms_by_protocol": {str(protocol): _by_rate(runs) for protocol, runs in self.latency.items()},
            "ready_s_by_protocol": {str(protocol): self._ready_s(protocol) for protocol in self.latency},
            "peak_rss_mb": max(run["peak_rss_mb"] for run in self._shops()),  # the largest of any one process
            "cpu_us_per_order": self.shop["cpu_us_per_order"],  # once ready
            "startup_cpu_s": self.shop["startup_cpu_s"],
            # the same shop over a quarter of the orders and over all of them: what grows with the run shows here
            "cpu_us_per_order_by_orders": {str(n): run["cpu_us_per_order"] for n, run in self._by_orders().items()},
            "peak_rss_mb_by_orders": {str(n): run["peak_rss_mb"] for n, run in self._by_orders().items()},
            "message_bytes": self.baseline["message_bytes"],
            "plan": asdict(self.plan),
            "cpus": os.cpu_count(),
            "load_average": list(self.load_average),
            "phases": {
                "baseline": self.baseline,
                "pipe": self.pipe,
                "shop": self.shop,
                "shop_eos": self.shop_eos,
                "shop_threads": self.shop_threads,
                "shop_short": self.shop_short,
                "scaling": {str(n): run for n, run in self.scaling.items()},
                "stages": {str(n): pair for n, pair in self.stages.items()},
                "latency": {str(protocol): {f"{rate:.0f}": run for rate, run in runs.items()} for protocol, runs in self.latency.items()},
            },
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(what, figure, note) in the order the issue asks for them."""
        figures = self.to_json()
        rows = [
            (
                "raw ceiling (produce + consume, best of 3 passes)",
                f"{figures['baseline_msgs_per_s']:,.0f} msgs/s",
                f"{figures['message_bytes']:.0f}-byte orders",
            ),
            ("two-hop pipe ceiling (processes)", f"{figures['pipe_orders_per_s']:,.0f} orders/s", f"{self.plan.preparers} preparers"),
            (
                "shop, processes, transactions off",
                f"{figures['shop_orders_per_s']:,.0f} orders/s",
                f"{figures['ratio_to_baseline']:.1%} of the raw ceiling, {figures['ratio_to_pipe']:.0%} of the pipe",
            ),
            (
                "shop, processes, transactions on",
                f"{figures['shop_eos_orders_per_s']:,.0f} orders/s",
                f"{figures['ratio_eos_to_baseline']:.1%} of the raw ceiling, {figures['ratio_eos_to_pipe']:.0%} of the pipe",
            ),
            ("shop, threads of one process", f"{figures['shop_threads_orders_per_s']:,.0f} orders/s", "transactions off"),
        ]
        rows += [(f"shop, {n} preparer(s)", f"{run['orders_per_s']:,.0f} orders/s", "processes") for n, run in self.scaling.items()]
        rows += [
            (
                f"preparer stage x{n}: shop / Quix Streams",
                f"{pair['shop']['orders_per_s']:,.0f} / {pair['peer']['orders_per_s']:,.0f} orders/s",
                f"ratio {figures['ratio_to_peer_by_preparers'][str(n)]:.2f}",
            )
            for n, pair in self.stages.items()
        ]
        rows += [
            (
                f"latency at {rate:,.0f} orders/s, {protocol}",
                "p50 {p50} / p95 {p95} / p99 {p99} ms".format(**run["latency_ms"]),
                "order taken -> served, once ready",
            )
            for protocol, runs in self.latency.items()
            for rate, run in runs.items()
        ]
        rows += [
            (f"time to ready, {protocol}", f"{seconds:.1f} s", "start -> every member joined and the first order served")
            for protocol, seconds in figures["ready_s_by_protocol"].items()
        ]
        rows += [
            ("peak memory, any one process", f"{figures['peak_rss_mb']:.0f} MB", "the floor or a role"),
            (
                "CPU per order, every process",
                f"{figures['cpu_us_per_order']:.0f} µs",
                f"shop, processes, transactions off, once ready; start-up {figures['startup_cpu_s']:.1f} s of CPU",
            ),
        ]
        rows += [
            (
                f"shop over {int(orders):,} orders",
                f"{figures['cpu_us_per_order_by_orders'][orders]:.0f} µs, {figures['peak_rss_mb_by_orders'][orders]:.0f} MB",
                "CPU per order once ready, and the peak of any one process",
            )
            for orders in figures["cpu_us_per_order_by_orders"]
        ]
        return rows

    def table(self) -> Table:
        verdict = "[green]every order served once[/]" if self.ok else "[red]orders missing or doubled[/]"
        table = Table(
            title=f"Rush hour: {self.plan.orders:,} orders, {self.plan.partitions} partitions, {self.plan.preparers} preparers: {verdict}"
        )
        columns: tuple[tuple[str, JustifyMethod], ...] = (("what", "left"), ("figure", "right"), ("", "left"))
        for column, justify in columns:
            table.add_column(column, justify=justify)
        for row in self.rows():
            table.add_row(*row)
        return table

    def markdown(self) -> str:
        lines = ["| what | figure | |", "|---|---:|---|"]
        lines += [f"| {what} | {figure} | {note} |" for what, figure, note in self.rows()]
        return "\n".join(lines)


def _by_rate(runs: dict[float, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Offered orders/s -> p50, p95 and p99 (ms)."""
    return {f"{rate:.0f}": run["latency_ms"] for rate, run in runs.items()}


def ratio(part: float, whole: float) -> float:
    """part / whole, rounded; 0.0 rather than a division error or infinity when whole is 0."""
    value = part / whole if whole else 0.0
    return round(value, 4) if math.isfinite(value) else 0.0


@dataclass(frozen=True)
class ShareBenchResult:
    """`bench --share`: a share group against a consumer group of the same size, at each preparer count."""

    plan: Plan
    work_ms: float  # each preparer's time per order
    races: dict[int, dict[str, dict[str, Any]]]  # preparers -> {"share": its race, "consumer": the consumer group's}
    load_average: tuple[float, float]

    @property
    def ok(self) -> bool:
        """Every race served every order; each consumer group once. A share group promises at least once: an order whose
        lock ran out is served again (counted in its race's duplicates, and `share_duplicates`), never lost."""
        served = all(run["missing"] == 0 for pair in self.races.values() for run in pair.values())
        return served and all(pair["consumer"]["duplicates"] == 0 for pair in self.races.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "orders": self.plan.orders,
            "partitions": self.plan.partitions,
            "work_ms": self.work_ms,
            "orders_per_s": {
                kind: {str(n): pair[kind]["orders_per_s"] for n, pair in self.races.items()} for kind in ("share", "consumer")
            },
            "busy_members": {
                kind: {str(n): pair[kind]["busy_members"] for n, pair in self.races.items()} for kind in ("share", "consumer")
            },
            "share_duplicates": {str(n): pair["share"]["duplicates"] for n, pair in self.races.items()},
            "ratio_share_to_consumer": {
                str(n): ratio(pair["share"]["orders_per_s"], pair["consumer"]["orders_per_s"]) for n, pair in self.races.items()
            },
            "cpus": os.cpu_count(),
            "load_average": list(self.load_average),
            "races": {str(n): pair for n, pair in self.races.items()},
        }

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(preparers, share group, consumer group, share / consumer) per preparer count."""
        return [
            (
                str(n),
                f"{pair['share']['orders_per_s']:,.0f} orders/s ({pair['share']['busy_members']} busy"
                + (f", {pair['share']['duplicates']} served twice)" if pair["share"]["duplicates"] else ")"),
                f"{pair['consumer']['orders_per_s']:,.0f} orders/s ({pair['consumer']['busy_members']} busy)",
                f"{ratio(pair['share']['orders_per_s'], pair['consumer']['orders_per_s']):.2f}",
            )
            for n, pair in self.races.items()
        ]

    def table(self) -> Table:
        verdict = "[green]every order served once[/]" if self.ok else "[red]orders missing or doubled[/]"
        title = f"Share group against consumer group: {self.plan.orders:,} orders, {self.plan.partitions} partitions, {self.work_ms:g} ms an order: {verdict}"
        table = Table(title=title)
        for column in ("preparers", "share group", "consumer group", "share / consumer"):
            table.add_column(column, justify="left" if column == "preparers" else "right")
        for row in self.rows():
            table.add_row(*row)
        return table
