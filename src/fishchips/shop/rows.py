"""A served order as one flat table row, and as JSON that carries its own schema.

That is the record Kafka Connect's JsonConverter reads with `schemas.enable=true` (the talk's
demo5): `{"schema": ..., "payload": ...}`. The schema lets the JDBC sink create and fill the
table with no code of ours on the database side. Flat, because a table row is flat.
"""

import json
import re
from typing import Any

from fishchips.shop.menu import Menu
from fishchips.shop.order import Order
from fishchips.shop.rules import item_counts

TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"  # Connect's logical type: epoch milliseconds, a TIMESTAMP column
FIXED = (("id", "string"), ("number", "int64"), ("till", "int64"))
PRICE = ("price_pence", "int64")
TIMES = ("placed_at", "served_at")


def item_column(name: str) -> str:
    """A menu item's count column: its name, made a plain SQL identifier."""
    return re.sub(r"\W", "_", name)


def served_row(order: Order, menu: Menu, served_at: float) -> dict[str, Any]:
    """One row per order: who took it, how many of each item, what it cost, when placed and served."""
    counts = item_counts(order.parts)
    return {
        "id": order.id,
        "number": order.order,
        "till": order.till,
        **{item_column(name): counts.get(name, 0) for name in menu.items},
        "price_pence": menu.price(order.parts),
        "placed_at": round(order.placed_at * 1000),
        "served_at": round(served_at * 1000),
    }


def row_schema(menu: Menu) -> dict[str, Any]:
    """The Connect schema of served_row's rows: a struct of required fields."""
    fields = [{"field": name, "type": kind, "optional": False} for name, kind in FIXED]
    fields += [{"field": item_column(name), "type": "int32", "optional": False} for name in menu.items]
    fields.append({"field": PRICE[0], "type": PRICE[1], "optional": False})
    fields += [{"field": name, "type": "int64", "optional": False, "name": TIMESTAMP, "version": 1} for name in TIMES]
    return {"type": "struct", "name": "fishchips.ServedOrder", "optional": False, "fields": fields}


def with_schema(row: dict[str, Any], schema: dict[str, Any]) -> bytes:
    """The JSON envelope Connect's JsonConverter expects when schemas are enabled."""
    return json.dumps({"schema": schema, "payload": row}, separators=(",", ":")).encode()
