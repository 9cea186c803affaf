"""The shop itself at rush hour: tills -> orders -> preparers -> served, checked by the board.

`shop` runs a whole ShopFloor (every role a thread of one process, as in `fishchips run`);
`shop_preparer` is one food preparer alone in its process, for the stage-against-stage race
with the Quix Streams peer (see stage.py).
"""

import resource
import time
from typing import Any

from fishchips.bench.isolate import Report, peak_rss_mb
from fishchips.bench.plan import Plan
from fishchips.floor import ShopFloor, percentiles
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.preparer import FoodPreparer
from fishchips.shop import Menu

REPORT_EVERY = 0.25
WARM_UP_SECONDS = 1.0  # at a fixed load, latency is measured after this


def shop(
    settings: ConnectionSettings, plan: Plan, exactly_once: bool, orders_per_second: float, orders: int, report: Report
) -> dict[str, Any]:
    """Serve `orders` orders; orders_per_second 0 is the rush hour (the tills go as fast as they can)."""
    phase = ("eos" if exactly_once else "shop") + ("-paced" if orders_per_second else "")
    topics = Topics(plan.phase_prefix(phase))
    floor = ShopFloor(plan.scenario(orders_per_second), settings, topics, orders=orders, seed=plan.seed, exactly_once=exactly_once)
    floor.start()
    try:
        _serve_all(floor, report)
    finally:
        floor.stop()
    summary = floor.summary()
    used = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "exactly_once": exactly_once,
        "offered_per_s": orders_per_second or None,
        "taken": summary.taken,
        "served": summary.served,
        "duplicates": summary.duplicates,
        "missing": summary.missing,
        "dead_letters": summary.dead_letters,
        "seconds": summary.seconds,
        "orders_per_s": round(summary.orders_per_second, 1),
        "latency_ms": _steady(floor.board.latencies_ms, orders_per_second) if orders_per_second else summary.latency_ms,
        "latency_ms_from_start": summary.latency_ms,
        # CPU time of the whole process (Python and librdkafka's threads) per order: steadier than orders/s on a busy machine
        "cpu_us_per_order": round((used.ru_utime + used.ru_stime) / max(summary.served, 1) * 1e6, 1),
    }


def _steady(latencies_ms: list[float], orders_per_second: float) -> dict[str, float]:
    """Percentiles at a steady load: the first second's orders (in the order the board saw them) are left out, as
    they wait for the clients to connect (metadata, the producer id), which a shop open all day does once."""
    skip = min(round(orders_per_second * WARM_UP_SECONDS), len(latencies_ms) // 2)
    return percentiles(latencies_ms[skip:])


def _serve_all(floor: ShopFloor, report: Report) -> None:
    """Until the board has called every order taken; the full check (ShopFloor.all_served) runs only once it can pass."""
    assert floor.board is not None
    while True:
        if failures := floor.failures():
            raise RuntimeError("; ".join(failures))
        called = floor.board.counters["called"]
        report(called)
        if floor.tills_done() and called >= len(floor.taken) and floor.all_served():
            return
        time.sleep(REPORT_EVERY)


def shop_preparer(settings: ConnectionSettings, topics: Topics, name: str, done: Any, results: Any) -> None:
    """One FoodPreparer in this process until `done` is set; then its peak memory goes to `results`."""
    role = FoodPreparer(name, settings, topics, Menu.load())
    role.start()
    while not done.wait(0.2) and role.running:
        pass
    role.stop()
    results.put((name, peak_rss_mb(), None if role.failure is None else str(role.failure)))
