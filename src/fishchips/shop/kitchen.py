"""The hot cabinet's arithmetic: what an order takes from it, and what the cook puts back.

Pure functions, no Redis: the cabinet's Lua scripts apply these numbers atomically, and
the numbers themselves are tested here in milliseconds.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fishchips.shop.menu import Menu
from fishchips.shop.order import Order
from fishchips.shop.rules import item_counts

LOW_SHARE = 0.5  # the cook's timer tops an item up once it is down to half its par or less


@dataclass(frozen=True)
class Batch:
    """Cook `item` back up to `up_to` portions, if the cabinet then holds fewer than `below`.

    A condition, not an amount: the cabinet checks it against the stock at the moment it
    cooks, inside the same atomic script, so a take in between cannot make the cook overshoot.
    """

    item: str
    below: int
    up_to: int


def portions(parts: Iterable[Sequence[str]], menu: Menu) -> dict[str, int]:
    """Portions per item an order takes from the cabinet.

    Every item of every part is one portion, exactly as the menu prices it: a large chips
    ("chips", "chips") takes two portions of chips, and costs two. Plaice is in the cabinet
    too: the cook cooks it to order and puts it there, and the preparer takes it with the rest.
    """
    counts = item_counts(parts)
    if unknown := sorted(name for name in counts if name not in menu):
        raise ValueError(f"not on the menu: {', '.join(unknown)}")
    return dict(sorted(counts.items()))


def served_portions(orders: Iterable[Order], menu: Menu) -> dict[str, int]:
    """Portions per item that a list of served orders took, each order once however often it appears.

    The ledger's side of the cabinet check: what Kafka's `served` topic says left the cabinet.
    """
    total: Counter[str] = Counter({name: 0 for name in menu.items})
    seen: set[str] = set()
    for order in orders:
        if order.id not in seen:
            seen.add(order.id)
            total.update(portions(order.parts, menu))
    return dict(sorted(total.items()))


def batches_for_order(needed: Mapping[str, int], menu: Menu) -> list[Batch]:
    """A trip to the cook: each item the cabinet holds too few of for this order is cooked.

    An item with a par (cod, chips) gets a batch back up to its par, or to what the order
    needs if that is more; an item without one (plaice) is cooked to order: just enough.
    """
    return [Batch(item, below=count, up_to=max(menu.items[item].par, count)) for item, count in sorted(needed.items()) if count > 0]


def batches_to_par(menu: Menu, only_when_low: bool) -> list[Batch]:
    """Batches that bring each item with a par back up to it.

    only_when_low: the cook's timer, which cooks an item once it is down to LOW_SHARE of its
    par or less; otherwise (a restock by hand) anything under par is topped up.
    """
    return [
        Batch(item.name, below=int(item.par * LOW_SHARE) + 1 if only_when_low else item.par, up_to=item.par)
        for item in sorted(menu.items.values(), key=lambda item: item.name)
        if item.par > 0
    ]
