"""The hot cabinet as the app shows it: a bar per item, and what the cook has done since the shop opened."""

from rich.text import Text

from fishchips.shop import Menu
from fishchips.stores.cabinet import CabinetState

WIDTH = 20  # characters of a full bar


def bar(count: int, full: int) -> str:
    """A bar of `count` out of `full` portions (an item without a par is measured against what it holds)."""
    filled = round(WIDTH * min(count, full) / full) if full > 0 else 0
    return "█" * filled + "░" * (WIDTH - filled)


def render_cabinet(state: CabinetState | None, since: CabinetState | None, menu: Menu | None, error: str = "") -> Text:
    text = Text("the hot cabinet\n", style="bold")
    if error:
        return text.append(f"✗ {error}", style="bold red")
    if state is None:
        return text.append("…", style="dim")
    for item, count in state.stock.items():
        par = menu.items[item].par if menu is not None and item in menu.items else 0
        full = max(par, count, 1)
        style = "red" if count == 0 else "yellow" if par and count * 2 <= par else "green"
        text.append(f"{item:<7} ").append(bar(count, full), style=style).append(f" {count}" + (f"/{par}" if par else "") + "\n")
    run = state.since(since) if since is not None else state
    text.append(f"trips to the cook {run.trips_to_cook} · batches cooked {run.cooked_batches} · orders taken {run.orders_taken}")
    return text
