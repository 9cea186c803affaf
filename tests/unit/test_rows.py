"""A served order as a flat row, and the JSON-with-schema envelope Kafka Connect's JsonConverter reads."""

import json

from fishchips.shop import Menu, Order
from fishchips.shop.rows import TIMESTAMP, item_column, row_schema, served_row, with_schema

MENU = Menu.load()
ORDER = Order(271, 2, (("cod", "chips", "chips"), ("plaice",), ("chips",)), "run-2-271", 1_700_000_000.25, ready=True)


def test_a_row_counts_each_item_and_prices_the_order() -> None:
    row = served_row(ORDER, MENU, served_at=1_700_000_042.5)
    assert row == {
        "id": "run-2-271",
        "number": 271,
        "till": 2,
        "cod": 1,
        "plaice": 1,
        "chips": 3,
        "price_pence": 650 + 750 + 3 * 300,
        "placed_at": 1_700_000_000_250,
        "served_at": 1_700_000_042_500,
    }
    assert row["price_pence"] == MENU.price(ORDER.parts)


def test_every_menu_item_has_a_column_even_when_not_ordered() -> None:
    row = served_row(Order(1, 1, (("chips",),), "x", 0.0), MENU, 0.0)
    assert {name: row[name] for name in MENU.items} == {"cod": 0, "plaice": 0, "chips": 1}


def test_the_schema_names_every_field_of_the_row_in_order_with_timestamps() -> None:
    schema = row_schema(MENU)
    row = served_row(ORDER, MENU, 0.0)
    assert schema["type"] == "struct"
    assert [field["field"] for field in schema["fields"]] == list(row)
    assert all(field["optional"] is False for field in schema["fields"])
    times = {field["field"]: field for field in schema["fields"] if field.get("name") == TIMESTAMP}
    assert set(times) == {"placed_at", "served_at"} and {field["type"] for field in times.values()} == {"int64"}


def test_the_envelope_is_schema_and_payload() -> None:
    envelope = json.loads(with_schema(served_row(ORDER, MENU, 0.0), row_schema(MENU)))
    assert set(envelope) == {"schema", "payload"}
    assert envelope["payload"]["id"] == "run-2-271"


def test_item_names_become_plain_column_names() -> None:
    assert item_column("mushy peas") == "mushy_peas"
    assert item_column("cod") == "cod"
