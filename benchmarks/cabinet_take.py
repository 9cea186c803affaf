"""What one order's take from the hot cabinet costs: the Lua script by EVALSHA, against a real redis-server.

Usage: python benchmarks/cabinet_take.py [--redis URL] [--orders 20000] [--threads 4]
Without --redis it starts a redis-server of its own (append-only, as fishchips runs it) in a
temporary dir, and stops it at the end. Prints microseconds per call and calls per second.
"""

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from fishchips.services.redis_server import LocalRedis
from fishchips.shop import Menu, Order
from fishchips.stores.cabinet import Cabinet, Outcome

REPEATS = 5


def order() -> Order:
    """A typical order: cod and chips, and a large chips (1 cod, 3 chips)."""
    return Order(271, 1, (("cod", "chips"), ("chips", "chips")), uuid.uuid4().hex, time.time())


def per_call_us(calls: int, step: Callable[[], object]) -> float:
    """Median over REPEATS runs of `calls` calls, one after another on one connection."""
    runs = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        for _ in range(calls):
            step()
        runs.append((time.perf_counter() - began) / calls * 1e6)
    return statistics.median(runs)


def threaded_per_second(cabinet: Cabinet, orders: int, threads: int) -> float:
    """Takes per second with `threads` preparers taking at once from the same cabinet."""
    batches = [[order() for _ in range(orders // threads)] for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def preparer(mine: list[Order]) -> None:
        start.wait()
        for each in mine:
            assert cabinet.take(each).outcome is Outcome.TAKEN

    workers = [threading.Thread(target=preparer, args=(batch,)) for batch in batches]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return sum(map(len, batches)) / (time.perf_counter() - began)


def measure(url: str, orders: int, threads: int) -> None:
    cabinet = Cabinet(url, f"bench-{uuid.uuid4().hex[:8]}", Menu.load())
    cabinet.restock({"cod": orders * (REPEATS + 2), "chips": 3 * orders * (REPEATS + 2)})
    server = cabinet._redis  # the benchmark may look behind the cabinet: PING and Redis's own statistics
    rows = [("PING (a round trip, for scale)", per_call_us(orders, server.ping))]
    server.config_resetstat()
    rows.append(("take: taken (EVALSHA, 2 items, id recorded)", per_call_us(orders, lambda: cabinet.take(order()))))
    inside = server.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]
    repeat = order()
    cabinet.take(repeat)
    rows.append(("take: already taken (a retried order)", per_call_us(orders, lambda: cabinet.take(repeat))))
    rows.append(("stock read (MULTI: 2 HGETALL)", per_call_us(orders, cabinet.state)))
    for what, us in rows:
        print(f"{what:<48} {us:7.1f} us  {1e6 / us:9,.0f} /s")
    print(f"{'take: inside redis-server (the script alone)':<48} {inside:7.1f} us")
    print(f"{f'take: taken, {threads} threads at once':<48} {'':>10} {threaded_per_second(cabinet, orders, threads):9,.0f} /s")
    state = cabinet.state()
    assert state.balanced, state
    cabinet.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", help="A Redis to measure against (default: a redis-server of its own).")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if args.redis:
        measure(args.redis, args.orders, args.threads)
        return
    with tempfile.TemporaryDirectory(prefix="fishchips-bench-redis-") as folder:
        server = LocalRedis(Path(folder))
        status = server.start()
        assert status.url
        try:
            print(f"redis-server {status.state.version if status.state else '?'} at {status.url}, append-only")
            measure(status.url, args.orders, args.threads)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
