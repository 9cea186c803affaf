"""The figures of one benchmark run: one JSON object, a Rich table for the terminal, a Markdown table for the docs."""

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import JustifyMethod
from rich.table import Table

from fishchips.bench.plan import Plan


@dataclass(frozen=True)
class BenchResult:
    plan: Plan
    baseline: dict[str, Any]  # raw produce + consume
    shop: dict[str, Any]  # transactions off
    shop_eos: dict[str, Any]  # transactions on
    shop_stage: dict[str, Any]  # the shop's preparers alone, against...
    peer: dict[str, Any]  # ...the Quix Streams preparers alone
    latency: dict[str, Any]  # the shop at a fixed offered load
    load_average: tuple[float, float]  # 1-minute load average before and after the run

    @property
    def ok(self) -> bool:
        """Every phase served every order exactly once."""
        runs = [self.shop, self.shop_eos, self.shop_stage, self.peer, self.latency]
        return all(run["missing"] == 0 and run["duplicates"] == 0 for run in runs)

    def to_json(self) -> dict[str, Any]:
        ceiling = self.baseline["msgs_per_s"]
        return {
            "ok": self.ok,
            "baseline_msgs_per_s": ceiling,
            "shop_orders_per_s": self.shop["orders_per_s"],
            "shop_eos_orders_per_s": self.shop_eos["orders_per_s"],
            "shop_stage_orders_per_s": self.shop_stage["orders_per_s"],
            "peer_orders_per_s": self.peer["orders_per_s"],
            "ratio_to_baseline": ratio(self.shop["orders_per_s"], ceiling),
            "ratio_eos_to_baseline": ratio(self.shop_eos["orders_per_s"], ceiling),
            "ratio_to_peer": ratio(self.shop_stage["orders_per_s"], self.peer["orders_per_s"]),
            "latency_ms": self.latency["latency_ms"],
            "latency_offered_per_s": self.latency["offered_per_s"],
            "peak_rss_mb": self.shop["peak_rss_mb"],
            "message_bytes": self.baseline["message_bytes"],
            "plan": asdict(self.plan),
            "cpus": os.cpu_count(),
            "load_average": list(self.load_average),
            "phases": {
                "baseline": self.baseline,
                "shop": self.shop,
                "shop_eos": self.shop_eos,
                "shop_stage": self.shop_stage,
                "peer": self.peer,
                "latency": self.latency,
            },
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(what, figure, note) in the order the issue asks for them."""
        figures = self.to_json()
        latency = figures["latency_ms"]
        return [
            (
                "raw ceiling (produce + consume, best of 3 passes)",
                f"{figures['baseline_msgs_per_s']:,.0f} msgs/s",
                f"{figures['message_bytes']:.0f}-byte orders",
            ),
            (
                "shop, transactions off",
                f"{figures['shop_orders_per_s']:,.0f} orders/s",
                f"{figures['ratio_to_baseline']:.1%} of the ceiling",
            ),
            (
                "shop, transactions on",
                f"{figures['shop_eos_orders_per_s']:,.0f} orders/s",
                f"{figures['ratio_eos_to_baseline']:.1%} of the ceiling",
            ),
            ("shop preparer stage", f"{figures['shop_stage_orders_per_s']:,.0f} orders/s", f"{self.plan.preparers} processes"),
            (
                "Quix Streams preparer stage",
                f"{figures['peer_orders_per_s']:,.0f} orders/s",
                f"shop stage / peer = {figures['ratio_to_peer']:.2f}",
            ),
            (
                f"latency at {self.latency['offered_per_s']:,.0f} orders/s",
                f"p50 {latency['p50']} / p95 {latency['p95']} / p99 {latency['p99']} ms",
                "order taken -> served",
            ),
            ("peak memory, shop process", f"{figures['peak_rss_mb']:.0f} MB", f"transactions on: {self.shop_eos['peak_rss_mb']:.0f} MB"),
        ]

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


def ratio(part: float, whole: float) -> float:
    """part / whole, rounded; 0.0 rather than a division error or infinity when whole is 0."""
    value = part / whole if whole else 0.0
    return round(value, 4) if math.isfinite(value) else 0.0
