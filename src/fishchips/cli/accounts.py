"""The books from the command line: run the accountant, and print what it booked."""

import json
from collections.abc import Mapping
from typing import Any

import click
from rich.table import Table

from fishchips.cli.console import console, out
from fishchips.cli.options import connection_options, group_protocol_option, prefix_option
from fishchips.cli.shop import FLUSH_SECONDS, connected, printer, until_interrupted
from fishchips.kafka import clients
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.roles.accountant import Accountant
from fishchips.roles.context import ShopContext
from fishchips.shop import Menu, format_pence
from fishchips.stores.books import BooksSummary, Figures, open_books

db_option = click.option(
    "--db", "db_url", metavar="URL", help="The books: postgresql://user@host/db, sqlite:///path or a file [default: books.sqlite in the data dir]."
)


@click.command()
@db_option
@click.option("--from-beginning", is_flag=True, help="Read every served order ever again, whatever the books say (none counts twice).")
@click.option(
    "--until-idle",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop once caught up and nothing new was served for this long (default: run until Ctrl-C).",
)
@click.option("--partitions", type=click.IntRange(1), default=3, show_default=True, help="Partitions of the topics, if they must be created.")
@group_protocol_option
@prefix_option
@connection_options
def accounts(
    settings: ConnectionSettings,
    db_url: str | None,
    from_beginning: bool,
    until_idle: float | None,
    partitions: int,
    group_protocol: GroupProtocol,
    prefix: str,
) -> None:
    """Run the accountant: its own consumer group books every served order into the database."""
    with open_books(db_url, prefix) as books:  # a wrong URL or a database that is down: one line now, not a failed role later
        where = books.where
    topics = Topics(prefix)
    with connected(settings) as cluster:
        ensure_topics(clients.admin(cluster), topics.partitions(partitions))
        show = printer()
        role = Accountant("accountant", ShopContext(cluster, topics, group_protocol=group_protocol, listener=show), db=db_url, from_beginning=from_beginning)
        with until_interrupted() as interrupted:
            role.start()
            while role.running and not interrupted.is_set() and not (until_idle and role.idle_for() >= until_idle):
                interrupted.wait(0.2)
            role.stop()
    show.flush(FLUSH_SECONDS)
    done = ", ".join(f"{kind} {n}" for kind, n in sorted(role.counters.items())) or "nothing new"
    console.print(f"accountant: {done}; books in {where}", highlight=False)
    if role.failure is not None:
        raise SystemExit(1)


@click.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the books as one JSON object.")
@prefix_option
def report(db_url: str | None, as_json: bool, prefix: str) -> None:
    """Print the books: orders, takings and portions, per till and per hour, and the rejected events."""
    with open_books(db_url, prefix) as books:
        summary = books.summary()
        where = books.where
    menu_items = list(Menu.load().items)
    if as_json:
        out.print_json(json.dumps({"db": where, **books_json(summary, menu_items)}))
        return
    out.print(totals_table(summary, menu_items, where))
    for title, key, figures in (("per till", "till", summary.by_till), ("per hour", "hour (UTC)", summary.by_hour)):
        if figures:
            out.print(breakdown_table(title, key, figures, menu_items))
    if summary.rejections:
        table = Table(title="rejected events")
        table.add_column("reason")
        table.add_column("events", justify="right")
        for reason, count in summary.rejections.items():
            table.add_row(reason, str(count))
        out.print(table)


def with_every_item(items: Mapping[str, int], menu_items: list[str]) -> dict[str, int]:
    """Portions per item, the menu's items first and at 0 if none were sold."""
    return {**dict.fromkeys(menu_items, 0), **items}


def figures_json(figures: Figures, menu_items: list[str]) -> dict[str, Any]:
    return {"orders": figures.orders, "takings_pence": figures.takings_pence, "items": with_every_item(figures.items, menu_items)}


def books_json(summary: BooksSummary, menu_items: list[str]) -> dict[str, Any]:
    return {
        "orders": summary.orders,
        "takings": format_pence(summary.takings_pence),
        "takings_pence": summary.takings_pence,
        "items": with_every_item(summary.items, menu_items),
        "rejected": summary.rejected,
        "rejections": summary.rejections,
        "by_till": {str(till): figures_json(f, menu_items) for till, f in summary.by_till.items()},
        "by_hour": {hour: figures_json(f, menu_items) for hour, f in summary.by_hour.items()},
    }


def totals_table(summary: BooksSummary, menu_items: list[str], where: str) -> Table:
    table = Table(title=f"the books ({where})")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("orders", str(summary.orders))
    table.add_row("takings", format_pence(summary.takings_pence))
    for item, portions in with_every_item(summary.items, menu_items).items():
        table.add_row(f"{item} (portions)", str(portions))
    table.add_row("rejected events", str(summary.rejected))
    return table


def breakdown_table(title: str, key: str, figures: Mapping[Any, Figures], menu_items: list[str]) -> Table:
    items = list(with_every_item({name: 0 for f in figures.values() for name in f.items}, menu_items))
    table = Table(title=title)
    table.add_column(key)
    for column in ("orders", "takings", *items):
        table.add_column(column, justify="right")
    for key, f in figures.items():
        table.add_row(str(key), str(f.orders), format_pence(f.takings_pence), *(str(f.items.get(item, 0)) for item in items))
    return table

