"""`fishchips cabinet ...`: the hot cabinet's Redis, and the cod, chips and plaice in it."""

import json
from pathlib import Path

import click
from rich.table import Table

from fishchips.cli import servers
from fishchips.cli.console import console, out
from fishchips.cli.options import prefix_option, redis_option
from fishchips.errors import FishchipsError
from fishchips.services.redis_server import LocalRedis, RedisAlreadyRunning, RedisNotInstalled, find_redis_server, redis_url
from fishchips.stores.cabinet import Cabinet, CabinetState, cooked_words

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group()
def cabinet() -> None:
    """The hot cabinet: cod, chips and plaice in Redis, taken by the preparers and stocked by the cook."""


def start_redis(port: int | None, data_dir: Path | None) -> servers.Started:
    """Start the local redis-server (append-only, so the cabinet survives a restart)."""
    status = LocalRedis(data_dir).start(port=port)
    return servers.Started(str(status.url), data=status.data_dir)


def redis_status(data_dir: Path | None) -> servers.Record:
    """Say whether the local redis-server runs, and where."""
    server = LocalRedis(data_dir)
    current = server.status()
    try:
        installed, missing = str(find_redis_server()), None
    except RedisNotInstalled as not_installed:
        installed, missing = None, str(not_installed)
    state = current.state if current.running else None
    return {
        "running": current.running,
        "url": current.url if current.running else None,
        "pid": state.pid if state else None,
        "version": state.version if state else None,
        "data_dir": current.data_dir,
        "log": server.log_file,
        "redis_server": installed,
        "missing": missing,
    }


servers.ServerCommands(
    title="Redis",
    server=LocalRedis,
    start=start_redis,
    status=redis_status,
    stop_help="Stop the local redis-server; the cabinet's stock stays in its append-only file.",
    keeps="the local Redis keeps its files (default: <data dir>/redis)",
    port="the one it had last time, else a free one",
    already=(RedisAlreadyRunning,),
).add_to(cabinet)


@cabinet.command()
@redis_option
@prefix_option
@json_option
def stock(redis_flag: str | None, prefix: str, as_json: bool) -> None:
    """Show the cabinet: portions in stock, cooked and served, batches, trips to the cook."""
    _show(_state(redis_flag, prefix), prefix, as_json)


@cabinet.command()
@click.argument("portions", nargs=-1, metavar="[ITEM=PORTIONS]...")
@redis_option
@prefix_option
@json_option
def restock(portions: tuple[str, ...], redis_flag: str | None, prefix: str, as_json: bool) -> None:
    """Restock by hand: cod and chips up to their par, or add the portions given (e.g. plaice=2 cod=5)."""
    amounts = parse_portions(portions)
    url = redis_url(redis_flag)
    cabinet = Cabinet(url, prefix)
    try:
        if amounts:
            cabinet.restock(amounts)
            added = amounts
        else:
            added = cabinet.top_up(only_when_low=False)
        state = cabinet.state()
    finally:
        cabinet.close()
    if as_json:
        out.print_json(json.dumps({"prefix": prefix, "added": added, **state.to_json()}))
        return
    console.print(f"[green]✓[/] cooked {cooked_words(added)}", highlight=False)
    _show(state, prefix, as_json=False)


def parse_portions(words: tuple[str, ...]) -> dict[str, int]:
    """Words like "cod=5" -> {"cod": 5}; a malformed word is one line naming it (the cabinet checks the items)."""
    amounts: dict[str, int] = {}
    for word in words:
        item, equals, count = word.partition("=")
        if not equals or not item or not count.strip().isdigit():
            raise FishchipsError(f"restock: expected ITEM=PORTIONS such as cod=5, got {word!r}")
        amounts[item] = amounts.get(item, 0) + int(count)
    return amounts


def _state(flag: str | None, prefix: str) -> CabinetState:
    cabinet = Cabinet(redis_url(flag), prefix)
    try:
        return cabinet.state()
    finally:
        cabinet.close()


def _show(state: CabinetState, prefix: str, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps({"prefix": prefix, **state.to_json()}))
        return
    table = Table(title=f"the hot cabinet of {prefix}", title_justify="left")
    for column in ("item", "in stock", "cooked", "served"):
        table.add_column(column, justify="left" if column == "item" else "right")
    for item, count in state.stock.items():
        table.add_row(item, str(count), str(state.cooked[item]), str(state.served[item]))
    out.print(table)
    balance = "[green]stock = cooked - served[/]" if state.balanced else "[red]stock ≠ cooked - served[/]"
    out.print(
        f"{state.orders_taken} orders taken, {state.cooked_batches} batches cooked, {state.trips_to_cook} trips to the cook; {balance}",
        highlight=False,
    )
