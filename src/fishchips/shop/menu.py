"""The menu: what the shop sells, what it costs, and what must be cooked to order."""

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any


class MenuError(ValueError):
    """A menu file we cannot use; the message names the file and the problem."""


@dataclass(frozen=True)
class MenuItem:
    """One thing on the menu, priced in whole pence so sums never round."""

    name: str
    price: int  # pence, per portion
    needs_cook: bool  # plaice is cooked to order; cod and chips wait in the hot cabinet
    par: int = 0  # portions the cook keeps in the hot cabinet, cooked in batches; 0: cooked only to order


@dataclass(frozen=True)
class Menu:
    """Everything the shop sells, by name."""

    items: Mapping[str, MenuItem]

    @functools.cached_property
    def cooked_to_order(self) -> frozenset[str]:
        """The items a preparer cannot serve from the hot cabinet: asked of every order, so a set, made once."""
        return frozenset(name for name, item in self.items.items() if item.needs_cook)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as a plain dict (a read-only view cannot be), so a role in another process gets the same menu."""
        return (_menu_of, (dict(self.items),))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.items

    def price(self, parts: Sequence[Sequence[str]]) -> int:
        """Total in pence: every portion is charged, so a large chips costs two chips."""
        return sum(self.items[name].price for part in parts for name in part)

    @classmethod
    def load(cls, path: Path | None = None) -> "Menu":
        """Read a menu file; without a path, the menu packaged with the shop."""
        source = path or resources.files("fishchips.shop") / "menu.toml"
        try:
            table = tomllib.loads(source.read_text(encoding="utf-8"))
            return cls(MappingProxyType(_items_from(table)))
        except (OSError, ValueError) as error:  # unreadable, not TOML, or not a menu
            raise MenuError(f"menu {source}: {error}") from error


def _menu_of(items: dict[str, MenuItem]) -> Menu:
    return Menu(MappingProxyType(items))


def _items_from(table: dict[str, Any]) -> dict[str, MenuItem]:
    """Check the parsed TOML strictly, so a typo fails at start-up, not mid-service."""
    entries = table.get("items")
    if set(table) != {"items"} or not isinstance(entries, dict) or not entries:
        raise MenuError("expected a single non-empty [items] table")
    items = {}
    for name, entry in entries.items():
        if not name.strip():
            raise MenuError("an item has an empty name")
        if not isinstance(entry, dict) or "price" not in entry:
            raise MenuError(f"items.{name}: expected a table with a price")
        if unknown := set(entry) - {"price", "needs_cook", "par"}:
            raise MenuError(f"items.{name}: unknown keys {sorted(unknown)}")
        price, needs_cook, par = entry["price"], entry.get("needs_cook", False), entry.get("par", 0)
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise MenuError(f"items.{name}.price: expected pence >= 0, got {price!r}")
        if not isinstance(needs_cook, bool):
            raise MenuError(f"items.{name}.needs_cook: expected a boolean")
        if isinstance(par, bool) or not isinstance(par, int) or par < 0:
            raise MenuError(f"items.{name}.par: expected portions >= 0, got {par!r}")
        items[name] = MenuItem(name, price, needs_cook, par)
    return items


def format_pence(pence: int) -> str:
    """Show pence the way the till does: 1234 -> "£12.34"."""
    pounds, rest = divmod(abs(pence), 100)
    sign = "-" if pence < 0 else ""
    return f"{sign}£{pounds}.{rest:02d}"
