"""The shop itself: menu, orders and rules, in pure Python with no Kafka in sight."""

from fishchips.shop.generator import OrderGenerator
from fishchips.shop.menu import Menu, MenuError, MenuItem, format_pence
from fishchips.shop.order import (
    MAX_NUMBER,
    InvalidOrder,
    Order,
    Part,
    describe_part,
    new_order_id,
    new_run_id,
)
from fishchips.shop.rules import Action, cook, item_counts, preparer_action

__all__ = [
    "MAX_NUMBER",
    "Action",
    "InvalidOrder",
    "Menu",
    "MenuError",
    "MenuItem",
    "Order",
    "OrderGenerator",
    "Part",
    "cook",
    "describe_part",
    "format_pence",
    "item_counts",
    "new_order_id",
    "new_run_id",
    "preparer_action",
]
