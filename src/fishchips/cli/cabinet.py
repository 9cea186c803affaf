"""`fishchips cabinet ...`: the hot cabinet's Redis, and the cod, chips and plaice in it."""

import json
from pathlib import Path

import click
from rich.table import Table

from fishchips.cli import servers
from fishchips.cli.console import console, out, status_table
from fishchips.cli.options import prefix_option, redis_option
from fishchips.errors import FishchipsError
from fishchips.services.redis_server import LocalRedis, RedisAlreadyRunning, RedisNotInstalled, find_redis_server, redis_url
from fishchips.stores.cabinet import Cabinet, CabinetState, cooked_words

REDIS_KEEPS = "the local Redis keeps its files (default: <data dir>/redis)"
data_dir_option = servers.data_dir_option(REDIS_KEEPS)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@click.group()
def cabinet() -> None:
    """The hot cabinet: cod, chips and plaice in Redis, taken by the preparers and stocked by the cook."""


@cabinet.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default: the one it had last time, or a free one).")
@data_dir_option
def start(port: int | None, data_dir: Path | None) -> None:
    """Start the local redis-server (append-only, so the cabinet survives a restart)."""
    try:
        status = LocalRedis(data_dir).start(port=port)
    except RedisAlreadyRunning as already:
        console.print(f"[yellow]•[/] {already}")
        return
    console.print(f"[green]✓[/] Redis is ready at [bold]{status.url}[/] (data: {status.data_dir})", highlight=False)


@cabinet.command()
@data_dir_option
def stop(data_dir: Path | None) -> None:
    """Stop the local redis-server; the cabinet's stock stays in its append-only file."""
    console.print("[green]✓[/] stopped Redis" if LocalRedis(data_dir).stop() else "Redis was not running")


@cabinet.command()
@data_dir_option
@json_option
def status(data_dir: Path | None, as_json: bool) -> None:
    """Say whether the local redis-server runs, and where."""
    server = LocalRedis(data_dir)
    current = server.status()
    try:
        installed = str(find_redis_server())
    except RedisNotInstalled as missing:
        installed = None
        reason = str(missing)
    state = current.state if current.running else None
    report = {
        "running": current.running,
        "url": current.url if current.running else None,
        "pid": state.pid if state else None,
        "version": state.version if state else None,
        "data_dir": str(current.data_dir),
        "log": str(server.log_file),
        "redis_server": installed,
    }
    if as_json:
        out.print_json(json.dumps(report))
        return
    rows = [(what.replace("_", " "), report[what]) for what in ("url", "pid", "version", "data_dir", "log")]
    out.print(status_table(current.running, [*rows, ("redis-server", installed or f"[red]{reason}[/]")]))


servers.add_logs(cabinet, LocalRedis, REDIS_KEEPS)


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
