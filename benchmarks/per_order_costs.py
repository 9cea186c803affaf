"""The Python work every order costs the shop, step by step, without Kafka: the floor under the shop's CPU per order.

Usage: python benchmarks/per_order_costs.py   (best of 20 repeats; prints microseconds per call)
"""

import time
import timeit
from collections.abc import Callable

from fishchips.events import ShopEvent
from fishchips.shop import Menu, Order, OrderGenerator, new_order_id, preparer_action

CALLS = 20_000


def best_us(step: Callable[[], object]) -> float:
    return min(timeit.repeat(step, number=CALLS, repeat=20)) / CALLS * 1e6


def main() -> None:
    menu = Menu.load()
    generator = OrderGenerator(menu, 7, plaice_share=0.0)
    order = Order(271, 1, (("cod", "chips"), ("chips", "chips")), new_order_id("0123456789ab", 1, 271), time.time())
    wire = order.to_json()
    steps: list[tuple[str, int, Callable[[], object]]] = [
        ("till: a customer's parts", 1, generator.parts),
        ("till: Order(...)", 1, lambda: Order(271, 1, order.parts, order.id, order.placed_at)),
        ("till: Order.to_json", 1, order.to_json),
        ("preparer, board: Order.from_json (strict check)", 2, lambda: Order.from_json(wire, menu)),
        ("preparer: preparer_action", 1, lambda: preparer_action(order, menu)),
        ("till, preparer, board: ShopEvent(...) for the floor", 3, lambda: ShopEvent("preparer-1", "served", order, "t", 0, 1)),
    ]
    total = 0.0
    for what, times, step in steps:
        cost = best_us(step)
        total += cost * times
        print(f"{what:<52} {cost:6.2f} us x {times}")
    print(f"{'per order, before any Kafka call':<52} {total:6.2f} us")


if __name__ == "__main__":
    main()
