"""The shop itself at rush hour: tills -> orders -> preparers -> served, checked by the board.

`shop` runs a whole ShopFloor, every role a process of its own (as `fishchips run --processes`)
or every role a thread of one process (as the live app); `shop_preparer` is one food preparer
alone in its process, for the stage-against-stage race with the Quix Streams peer (see stage.py).
"""

import resource
import time
from typing import Any

from fishchips.bench.isolate import Report, peak_rss_mb
from fishchips.bench.plan import Plan
from fishchips.floor import ShopFloor
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.context import ShopContext
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.role import Role

REPORT_EVERY = 0.25
WARM_UP_SECONDS = 1.0  # at a fixed load, latency is measured after this


def shop(
    settings: ConnectionSettings,
    plan: Plan,
    exactly_once: bool,
    orders_per_second: float,
    orders: int,
    processes: bool = True,
    preparers: int | None = None,
    *,
    report: Report,
) -> dict[str, Any]:
    """Serve `orders` orders; orders_per_second 0 is the rush hour (the tills go as fast as they can)."""
    scenario = plan.scenario(orders_per_second, preparers)
    phase = f"{'eos' if exactly_once else 'shop'}-{'p' if processes else 't'}{scenario.preparers}" + ("-paced" if orders_per_second else "")
    floor = ShopFloor(
        scenario,
        settings,
        Topics(plan.phase_prefix(phase)),
        orders=orders,
        seed=plan.seed,
        exactly_once=exactly_once,
        processes=processes,
        group_protocol=plan.group_protocol,
    )
    floor.start()
    try:
        _serve_all(floor, report)
    finally:
        floor.close()
    summary = floor.summary()
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]  # children: once they are reaped
    cpu = sum(u.ru_utime + u.ru_stime for u in used)
    return {
        "processes": processes,
        "preparers": scenario.preparers,
        "exactly_once": exactly_once,
        "offered_per_s": orders_per_second or None,
        "taken": summary.taken,
        "served": summary.served,
        "duplicates": summary.duplicates,
        "missing": summary.missing,
        "dead_letters": summary.dead_letters,
        "seconds": summary.seconds,
        "orders_per_s": round(summary.orders_per_second, 1),
        "latency_ms": _steady(floor, orders_per_second) if orders_per_second else summary.latency_ms,
        "latency_ms_from_start": summary.latency_ms,
        # CPU time of every process of the shop (Python and librdkafka's threads) per order: steadier than orders/s on a busy machine
        "cpu_us_per_order": round(cpu / max(summary.served, 1) * 1e6, 1),
        # the largest peak of any one process: this one (the floor) or a role's
        "peak_rss_mb": round(max(u.ru_maxrss for u in used) / 1024, 1),
    }


def _steady(floor: ShopFloor, orders_per_second: float) -> dict[str, float]:
    """Percentiles at a steady load: the first second's orders (in the order the board saw them) are left out, as
    they wait for the clients to connect (metadata, the producer id), which a shop open all day does once."""
    skip = min(round(orders_per_second * WARM_UP_SECONDS), len(floor.tally.latencies_ms) // 2)
    return floor.tally.latency_percentiles(skip)


def _serve_all(floor: ShopFloor, report: Report) -> None:
    """Until the board has called every order taken; the full check (ShopFloor.all_served) runs only once it can pass."""
    while True:
        if failures := floor.failures():
            raise RuntimeError("; ".join(failures))
        report(floor.tally.called)
        if floor.all_served():
            return
        time.sleep(REPORT_EVERY)


def shop_preparer(settings: ConnectionSettings, topics: Topics, name: str, done: Any, results: Any, work_seconds: float = 0.0) -> None:
    """One FoodPreparer in this process until `done` is set; then its peak memory goes to `results`."""
    # at-least-once, as the Quix Streams peer and a share group are: the race is the stage's work, not the guarantee's
    serve_until_done(
        FoodPreparer(name, ShopContext(settings, topics, exactly_once=False, wanted=frozenset()), work_seconds=work_seconds), done, results
    )


def serve_until_done(role: Role, done: Any, results: Any) -> None:
    """Run the role until `done` is set (or it ends); then its name, this process's peak memory and any failure go to `results`."""
    role.start()
    while not done.wait(0.2) and role.running:
        pass
    role.stop()
    results.put((role.name, peak_rss_mb(), None if role.failure is None else str(role.failure)))
