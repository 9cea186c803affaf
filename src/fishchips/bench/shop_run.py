"""The shop itself at rush hour: tills -> orders -> preparers -> served, checked by the board.

`shop` runs a whole ShopFloor, every role a process of its own (as `fishchips run --processes`)
or every role a thread of one process (as the live app); `shop_preparer` is one food preparer
alone in its process, for the stage-against-stage race with the Quix Streams peer (see stage.py).
"""

import resource
import time
from typing import Any

import psutil

from fishchips.bench.isolate import Report, peak_rss_mb
from fishchips.bench.plan import Plan
from fishchips.bench.stage import RACE_PROTOCOL
from fishchips.floor import ShopFloor
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.context import ShopContext
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.role import Role

REPORT_EVERY = 0.25
READY_EVERY = 0.01  # how often to look for the first order called: the CPU used until then is the start-up's


def shop(
    settings: ConnectionSettings,
    plan: Plan,
    exactly_once: bool,
    orders_per_second: float,
    orders: int,
    processes: bool = True,
    preparers: int | None = None,
    protocol: GroupProtocol | None = None,
    *,
    report: Report,
) -> dict[str, Any]:
    """Serve `orders` orders; orders_per_second 0 is the rush hour (the tills go as fast as they can).
    The groups rebalance the plan's way unless `protocol` says another."""
    scenario = plan.scenario(orders_per_second, preparers)
    protocol = protocol or plan.group_protocol
    phase = f"{'eos' if exactly_once else 'shop'}-{'p' if processes else 't'}{scenario.preparers}-{protocol}"
    phase += f"-paced{orders_per_second:.0f}" if orders_per_second else ""
    floor = ShopFloor(
        scenario,
        settings,
        Topics(plan.phase_prefix(phase)),
        orders=orders,
        seed=plan.seed,
        exactly_once=exactly_once,
        processes=processes,
        group_protocol=protocol,
    )
    floor.start()
    try:
        cpu_at_ready, called_at_ready = _serve_all(floor, report)
    finally:
        floor.close()
    summary = floor.summary()
    cpu = _cpu_seconds()  # every role's process is reaped by now
    return {
        "processes": processes,
        "preparers": scenario.preparers,
        "exactly_once": exactly_once,
        "group_protocol": protocol,
        "offered_per_s": orders_per_second or None,
        "taken": summary.taken,
        "served": summary.served,
        "duplicates": summary.duplicates,
        "missing": summary.missing,
        "dead_letters": summary.dead_letters,
        "seconds": summary.seconds,
        "orders_per_s": round(summary.orders_per_second, 1),
        # at a fixed load, only orders placed once the shop was ready: a shop open all day has started once
        "latency_ms": floor.tally.latency_percentiles(after_ready=True) if orders_per_second else summary.latency_ms,
        "latency_ms_from_start": summary.latency_ms,
        "ready_s": summary.ready_seconds,
        # CPU time of every process of the shop (Python and librdkafka's threads) per order called once the shop was
        # ready: steadier than orders/s on a busy machine; the start-up's (imports, joins, connections) apart
        "cpu_us_per_order": round((cpu - cpu_at_ready) / max(summary.served - called_at_ready, 1) * 1e6, 1),
        "startup_cpu_s": round(cpu_at_ready, 2),
        # the largest peak of any one process: this one (the floor) or a role's
        "peak_rss_mb": round(max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024, 1),
    }


def _serve_all(floor: ShopFloor, report: Report) -> tuple[float, int]:
    """Until the board has called every order taken; the full check (ShopFloor.all_served) runs only once it can pass.
    Returns the shop's CPU seconds and the orders called when the first was: the shop's start-up, to be told apart."""
    at_ready: tuple[float, int] | None = None
    while True:
        if failures := floor.failures():
            raise RuntimeError("; ".join(failures))
        called = floor.tally.called
        if at_ready is None and floor.tally.ready_at is not None:
            at_ready = (_cpu_seconds(), called)
        report(called)
        if floor.all_served():
            return at_ready or (_cpu_seconds(), called)
        time.sleep(REPORT_EVERY if at_ready else READY_EVERY)


def _cpu_seconds() -> float:
    """User and system CPU so far of this process and of every process it started, running or reaped."""
    used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]  # children: once reaped
    total = sum(u.ru_utime + u.ru_stime for u in used)
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:  # reaped meanwhile: counted by RUSAGE_CHILDREN from then on, or too late to matter
            continue
        total += times.user + times.system
    return total


def shop_preparer(
    settings: ConnectionSettings,
    topics: Topics,
    name: str,
    done: Any,
    results: Any,
    work_seconds: float = 0.0,
    group_protocol: GroupProtocol = RACE_PROTOCOL,
) -> None:
    """One FoodPreparer in this process until `done` is set; then its peak memory goes to `results`."""
    # at-least-once, as the Quix Streams peer and a share group are: the race is the stage's work, not the guarantee's;
    # classic-eager by default, as the Quix Streams peer is (bench/stage.py RACE_PROTOCOL)
    context = ShopContext(settings, topics, exactly_once=False, group_protocol=group_protocol, wanted=frozenset())
    serve_until_done(FoodPreparer(name, context, work_seconds=work_seconds), done, results)


def serve_until_done(role: Role, done: Any, results: Any) -> None:
    """Run the role until `done` is set (or it ends); then its name, this process's peak memory and any failure go to `results`."""
    role.start()
    while not done.wait(0.2) and role.running:
        pass
    role.stop()
    results.put((role.name, peak_rss_mb(), None if role.failure is None else str(role.failure)))
