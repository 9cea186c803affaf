"""The accountant's pure parts: what an order adds to the books, which hour it falls in, which database a URL means."""

from pathlib import Path

import pytest

from fishchips.cli.accounts import books_json
from fishchips.roles.accountant import entry_for, hour_of
from fishchips.shop import InvalidOrder, Menu, Order
from fishchips.stores.books import BooksError, BooksSummary, Figures, Position, open_books

MENU = Menu.load()


def test_an_entry_charges_every_portion_at_the_menus_prices() -> None:
    order = Order(271, 3, (("cod", "chips"), ("chips", "chips"), ("plaice",)), "run-3-271", 1_700_000_000.5, ready=True)
    entry = entry_for(order, MENU, Position("fishchips.served", 2, 40))
    assert entry.items == {"cod": 1, "chips": 3, "plaice": 1}  # a large chips is two portions
    assert entry.takings_pence == 650 + 3 * 300 + 750
    assert (entry.order_id, entry.till, entry.number, entry.hour, entry.where.offset) == ("run-3-271", 3, 271, "2023-11-14 22:00", 40)


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (Order(2**31, 1, (("cod",),), "run-1-x", 0.0), "order: too big for the books"),
        (Order(1, 2**40, (("cod",),), "run-x-1", 0.0), "till: too big for the books"),
        (Order(1, 1, (("cod",),), "run\x00", 0.0), "id: contains a NUL"),
        (Order(1, 1, (("cod",),), "run\ud800", 0.0), "id: contains an unpaired surrogate"),
        (Order(1, 1, (("cod",),), "run-1-1", 1e300), "placed_at: not a time"),
    ],
)
def test_a_valid_order_no_database_could_hold_is_refused_with_a_reason(order: Order, reason: str) -> None:
    with pytest.raises(InvalidOrder, match=reason):
        entry_for(order, MENU, Position("fishchips.served", 0, 0))


def test_the_hour_is_utc_so_a_replay_anywhere_files_an_order_in_the_same_hour() -> None:
    assert hour_of(1_700_000_000.0) == "2023-11-14 22:00"
    assert hour_of(1_700_002_799.9) == "2023-11-14 22:00"
    assert hour_of(1_700_002_800.0) == "2023-11-14 23:00"


@pytest.mark.parametrize("url", ["mysql://shop@127.0.0.1/books", "sqlite://books.sqlite"])
def test_an_unknown_database_url_is_refused_with_what_to_give(url: str) -> None:
    with pytest.raises(BooksError, match="give postgresql://"):
        open_books(url)


def test_a_sqlite_url_and_a_plain_path_are_the_same_books(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "books.sqlite"
    with open_books(f"sqlite:///{path}") as books:
        assert books.where == str(path)
        with books.transaction():
            books.advance("t.served", 0, 5)
    with open_books(str(path)) as books:
        assert books.offsets("t.served") == {0: 5}


def test_the_json_report_names_every_menu_item_even_unsold() -> None:
    figures = Figures(2, 1600, {"cod": 2})
    summary = BooksSummary(2, 1600, {"cod": 2}, 1, {"value: not JSON": 1}, {1: figures}, {"2023-11-14 22:00": figures})
    printed = books_json(summary, list(MENU.items))
    assert printed["items"] == {"cod": 2, "plaice": 0, "chips": 0}
    assert (printed["orders"], printed["takings"], printed["takings_pence"], printed["rejected"]) == (2, "£16.00", 1600, 1)
    assert printed["by_till"]["1"] == {"orders": 2, "takings_pence": 1600, "items": {"cod": 2, "plaice": 0, "chips": 0}}
