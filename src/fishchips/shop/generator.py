"""Pretend customers: random but repeatable orders, for demos and load tests."""

import random

from fishchips.shop.menu import Menu
from fishchips.shop.order import Part

FISH_SUPPER_SHARE = 0.6  # a fish with chips
CHIPS_SHARE = 0.25  # just chips; the rest order a large chips


class OrderGenerator:
    """Seeded random orders: the same seed gives the same orders."""

    def __init__(self, menu: Menu, seed: int | None = None, plaice_share: float = 0.3) -> None:
        if not 0 <= plaice_share <= 1:
            raise ValueError(f"plaice_share must be 0 to 1, got {plaice_share}")
        wanted = ["cod", "chips"] + (["plaice"] if plaice_share > 0 else [])
        if missing := [name for name in wanted if name not in menu]:
            raise ValueError(f"the menu has no {', '.join(missing)}")
        self._random = random.Random(seed)
        self._plaice_share = plaice_share

    def parts(self) -> tuple[Part, ...]:
        """One customer's order: one to three parts."""
        return tuple(self._part() for _ in range(self._random.randint(1, 3)))

    def _part(self) -> Part:
        roll = self._random.random()
        if roll < FISH_SUPPER_SHARE:
            fish = "plaice" if self._random.random() < self._plaice_share else "cod"
            return (fish, "chips")
        if roll < FISH_SUPPER_SHARE + CHIPS_SHARE:
            return ("chips",)
        return ("chips", "chips")
