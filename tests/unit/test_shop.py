"""The shop without Kafka: the talk's examples, plus properties for the edges."""

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from fishchips.shop import (
    MAX_NUMBER,
    Action,
    InvalidOrder,
    Menu,
    MenuError,
    MenuItem,
    Order,
    OrderGenerator,
    cook,
    describe_part,
    format_pence,
    item_counts,
    new_order_id,
    new_run_id,
    preparer_action,
)

MENU = Menu(
    MappingProxyType(
        {
            "cod": MenuItem("cod", 650, needs_cook=False),
            "plaice": MenuItem("plaice", 750, needs_cook=True),
            "chips": MenuItem("chips", 300, needs_cook=False),
        }
    )
)

menu_items = st.sampled_from(sorted(MENU.items))
some_parts = st.lists(st.lists(menu_items, min_size=1, max_size=6).map(tuple), min_size=1, max_size=20)
some_orders = st.builds(
    Order,
    order=st.integers(min_value=0, max_value=MAX_NUMBER),
    till=st.integers(min_value=1, max_value=MAX_NUMBER),
    parts=some_parts.map(tuple),
    id=st.text(min_size=1, max_size=200),
    placed_at=st.floats(allow_nan=False, allow_infinity=False),
    ready=st.booleans(),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
)


def order_of(*parts: tuple[str, ...], ready: bool = False) -> Order:
    return Order(271, 3, parts, "run-3-271", 1.5, ready)


def valid_message(**changes: Any) -> dict[str, Any]:
    message = {
        "order": 271,
        "till": 3,
        "parts": [["cod", "chips"], ["chips", "chips"]],
        "ready": False,
        "id": "run-3-271",
        "placed_at": 1.5,
    }
    return message | changes


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()


# --- the message on the topic ---------------------------------------------------------


def test_to_json_is_the_talks_shape() -> None:
    assert json.loads(order_of(("cod", "chips"), ("chips", "chips")).to_json()) == valid_message()


@given(some_orders)
def test_json_round_trip(order: Order) -> None:
    assert Order.from_json(order.to_json(), MENU) == order


def test_unknown_fields_are_ignored_so_the_shape_can_grow() -> None:
    message = encode(valid_message(extra="new field"))
    assert Order.from_json(message, MENU) == order_of(("cod", "chips"), ("chips", "chips"))


def without(field: str) -> bytes:
    message = valid_message()
    del message[field]
    return encode(message)


INVALID = [
    (None, "empty"),
    (b"", "empty"),
    (encode(valid_message()) + b" " * 64 * 1024, "too big"),
    (b'{"order": "\xff"}', "UTF-8"),
    (b"not json", "JSON"),
    (b"[" * 60_000, "JSON"),
    (b"[271]", "object"),
    *[(without(field), field) for field in valid_message()],
    (encode(valid_message(order=True)), "order"),
    (encode(valid_message(order="271")), "order"),
    (encode(valid_message(order=2.5)), "order"),
    (encode(valid_message(order=-1)), "order"),
    (encode(valid_message(till=0)), "till"),
    (encode(valid_message(till=False)), "till"),
    (encode(valid_message(parts=[])), "parts"),
    (encode(valid_message(parts="cod")), "parts"),
    (encode(valid_message(parts=[["chips"]] * 21)), "parts"),
    (encode(valid_message(parts=[["cod"], []])), "parts[1]"),
    (encode(valid_message(parts=[["cod"], "chips"])), "parts[1]"),
    (encode(valid_message(parts=[["chips"] * 7])), "parts[0]"),
    (
        encode(valid_message(parts=[["cod"], ["haddock"]])),
        "parts[1][0]: unknown item 'haddock'",
    ),
    (encode(valid_message(parts=[[1]])), "parts[0][0]"),
    (encode(valid_message(parts=[[["cod"]]])), "parts[0][0]"),
    (encode(valid_message(ready="false")), "ready"),
    (encode(valid_message(id="")), "id"),
    (encode(valid_message(id="x" * 201)), "id"),
    (encode(valid_message(id=5)), "id"),
    (encode(valid_message(placed_at="1.5")), "placed_at"),
    (encode(valid_message(placed_at=True)), "placed_at"),
    (encode(valid_message(placed_at=None)), "placed_at"),
    (encode(valid_message(placed_at=float("nan"))), "placed_at"),
    (encode(valid_message(placed_at=float("inf"))), "placed_at"),
    (encode(valid_message(placed_at=10**400)), "placed_at"),
]


@pytest.mark.parametrize(("data", "mentions"), INVALID)
def test_invalid_orders_say_what_is_wrong(data: bytes | None, mentions: str) -> None:
    with pytest.raises(InvalidOrder) as caught:
        Order.from_json(data, MENU)
    assert mentions in caught.value.reason
    assert "\n" not in caught.value.reason


@given(st.binary())
def test_any_bytes_are_an_order_or_invalid(data: bytes) -> None:
    try:
        Order.from_json(data, MENU)
    except InvalidOrder as error:
        assert error.reason


@given(st.sampled_from(sorted(valid_message())), json_values)
def test_any_field_value_is_accepted_or_rejected_by_name(field: str, value: object) -> None:
    try:
        order = Order.from_json(encode(valid_message(**{field: value})), MENU)
    except InvalidOrder as error:
        assert error.reason.startswith(field)
    else:
        assert Order.from_json(order.to_json(), MENU) == order


# --- saying it out loud --------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "said"),
    [
        (("cod", "chips"), "cod & chips"),
        (("chips", "chips"), "large chips"),
        (("plaice", "chips", "chips"), "plaice & large chips"),
        (("cod",), "cod"),
        (("chips",), "chips"),
        (("cod", "cod"), "2 cod"),
        (("chips", "chips", "chips"), "3 chips"),
        (("chips", "cod", "chips"), "large chips & cod"),
    ],
)
def test_describe_part(part: tuple[str, ...], said: str) -> None:
    assert describe_part(part) == said


def test_describe_order() -> None:
    order = order_of(("cod", "chips"), ("chips", "chips"))
    assert order.describe() == "271: cod & chips, large chips"


# --- ids ------------------------------------------------------------------------------


def test_order_ids_combine_run_till_and_number() -> None:
    assert new_order_id("a1b2c3", 3, 271) == "a1b2c3-3-271"


def test_run_ids_are_short_random_hex() -> None:
    first, second = new_run_id(), new_run_id()
    assert len(first) == 12
    int(first, 16)
    assert first != second


# --- the menu -------------------------------------------------------------------------


def test_price_counts_every_portion() -> None:
    assert MENU.price([("cod", "chips"), ("chips", "chips")]) == 650 + 3 * 300
    assert MENU.price([("chips", "chips")]) == 2 * MENU.price([("chips",)])


@given(some_parts)
def test_price_is_the_sum_of_item_counts(order_parts: list[tuple[str, ...]]) -> None:
    counts = item_counts(order_parts)
    assert MENU.price(order_parts) == sum(MENU.items[name].price * n for name, n in counts.items())


def test_item_counts_counts_portions() -> None:
    assert item_counts([("cod", "chips"), ("chips", "chips")]) == {"cod": 1, "chips": 3}


def test_menu_contains_only_its_items() -> None:
    assert "cod" in MENU
    assert "haddock" not in MENU
    assert ["cod"] not in MENU


def test_packaged_menu() -> None:
    menu = Menu.load()
    assert {name: item.price for name, item in menu.items.items()} == {
        "cod": 650,
        "plaice": 750,
        "chips": 300,
    }
    assert [name for name, item in menu.items.items() if item.needs_cook] == ["plaice"]
    assert {name: item.par for name, item in menu.items.items()} == {"cod": 10, "plaice": 0, "chips": 20}


def test_load_a_menu_file(tmp_path: Path) -> None:
    path = tmp_path / "menu.toml"
    path.write_text("[items.chips]\nprice = 250\n")
    assert Menu.load(path).items == {"chips": MenuItem("chips", 250, needs_cook=False)}


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("[items.cod\nprice = 650", "line"),
        ("", "[items]"),
        ("[items]", "[items]"),
        ("[prices.cod]\nprice = 650", "[items]"),
        ("[items.cod]\nneeds_cook = false", "items.cod"),
        ("[items.cod]\nprice = '650'", "items.cod.price"),
        ("[items.cod]\nprice = 6.50", "items.cod.price"),
        ("[items.cod]\nprice = true", "items.cod.price"),
        ("[items.cod]\nprice = -1", "items.cod.price"),
        ("[items.cod]\nprice = 650\nneeds_cook = 'no'", "items.cod.needs_cook"),
        ("[items.cod]\nprice = 650\nnedds_cook = true", "nedds_cook"),
        ("[items.cod]\nprice = 650\npar = -1", "items.cod.par"),
        ("[items.cod]\nprice = 650\npar = 2.5", "items.cod.par"),
        ("[items.cod]\nprice = 650\npar = true", "items.cod.par"),
        ("items.cod = 650", "items.cod"),
    ],
)
def test_bad_menu_file_names_the_file_and_problem(tmp_path: Path, text: str, mentions: str) -> None:
    path = tmp_path / "bad-menu.toml"
    path.write_text(text)
    with pytest.raises(MenuError) as caught:
        Menu.load(path)
    assert str(path) in str(caught.value)
    assert mentions in str(caught.value)


def test_missing_menu_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(MenuError) as caught:
        Menu.load(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("pence", "shown"),
    [(1234, "£12.34"), (650, "£6.50"), (5, "£0.05"), (0, "£0.00"), (-250, "-£2.50")],
)
def test_format_pence(pence: int, shown: str) -> None:
    assert format_pence(pence) == shown


# --- pretend customers ----------------------------------------------------------------


def take(generator: OrderGenerator, n: int = 50) -> list[tuple[tuple[str, ...], ...]]:
    return [generator.parts() for _ in range(n)]


def test_same_seed_same_orders() -> None:
    assert take(OrderGenerator(MENU, seed=42)) == take(OrderGenerator(MENU, seed=42))


def test_different_seeds_differ() -> None:
    assert take(OrderGenerator(MENU, seed=1)) != take(OrderGenerator(MENU, seed=2))


@given(st.integers(), st.floats(min_value=0, max_value=1))
def test_generated_orders_are_valid(seed: int, plaice_share: float) -> None:
    for number, order_parts in enumerate(take(OrderGenerator(MENU, seed, plaice_share), 10)):
        assert 1 <= len(order_parts) <= 3
        assert set(item_counts(order_parts)) <= set(MENU.items)
        order = Order(number, 1, order_parts, new_order_id("run", 1, number), 0.0)
        assert Order.from_json(order.to_json(), MENU) == order


@given(st.integers())
def test_no_plaice_when_share_is_zero(seed: int) -> None:
    generated = take(OrderGenerator(MENU, seed, plaice_share=0))
    assert "plaice" not in item_counts(part for order_parts in generated for part in order_parts)


def test_only_plaice_when_share_is_one() -> None:
    generated = take(OrderGenerator(MENU, seed=7, plaice_share=1), 200)
    counts = item_counts(part for order_parts in generated for part in order_parts)
    assert counts["cod"] == 0
    assert counts["plaice"] > 0


def test_generator_refuses_a_menu_without_its_fish() -> None:
    no_plaice = Menu({name: item for name, item in MENU.items.items() if name != "plaice"})
    with pytest.raises(ValueError, match="plaice"):
        OrderGenerator(no_plaice)
    assert take(OrderGenerator(no_plaice, seed=1, plaice_share=0), 1)


# --- the food preparer and the cook ---------------------------------------------------


def test_plaice_not_ready_goes_to_the_cook() -> None:
    assert preparer_action(order_of(("plaice", "chips")), MENU) is Action.COOK


def test_plaice_ready_is_served() -> None:
    assert preparer_action(order_of(("plaice", "chips"), ready=True), MENU) is Action.SERVE


def test_no_plaice_is_served_from_the_hot_cabinet() -> None:
    assert preparer_action(order_of(("cod", "chips"), ("chips", "chips")), MENU) is Action.SERVE


@given(some_orders)
def test_cook_marks_ready_and_changes_nothing_else(order: Order) -> None:
    cooked = cook(order)
    assert cooked.ready
    assert replace(cooked, ready=order.ready) == order
    assert preparer_action(cooked, MENU) is Action.SERVE
