"""The hot cabinet's arithmetic, without Redis: what an order takes, what the cook cooks, how the cabinet is checked."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fishchips.shop import Menu, Order
from fishchips.shop.kitchen import Batch, batches_for_order, batches_to_par, portions, served_portions
from fishchips.stores.cabinet import CabinetState

MENU = Menu.load()  # cod par 10, chips par 20, plaice cooked to order
items = st.sampled_from(sorted(MENU.items))
some_parts = st.lists(st.lists(items, min_size=1, max_size=6).map(tuple), min_size=1, max_size=20)


def test_a_large_chips_takes_two_portions_as_it_costs_two() -> None:
    parts = [("cod", "chips"), ("chips", "chips"), ("plaice",)]
    assert portions(parts, MENU) == {"chips": 3, "cod": 1, "plaice": 1}
    assert MENU.price(parts) == sum(MENU.items[name].price * count for name, count in portions(parts, MENU).items())


@given(some_parts)
def test_portions_count_every_item_of_every_part(parts: list[tuple[str, ...]]) -> None:
    taken = portions(parts, MENU)
    assert sum(taken.values()) == sum(len(part) for part in parts)
    assert all(count > 0 for count in taken.values())


def test_an_item_off_the_menu_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="not on the menu: haddock"):
        portions([("haddock", "chips")], MENU)


def test_a_trip_cooks_plaice_to_order_and_cod_and_chips_to_par() -> None:
    assert batches_for_order({"plaice": 2, "cod": 1, "chips": 3}, MENU) == [
        Batch("chips", below=3, up_to=20),
        Batch("cod", below=1, up_to=10),
        Batch("plaice", below=2, up_to=2),
    ]


def test_an_order_bigger_than_the_par_is_cooked_for_in_full() -> None:
    assert batches_for_order({"cod": 12}, MENU) == [Batch("cod", below=12, up_to=12)]


@given(st.dictionaries(items, st.integers(min_value=0, max_value=120)))
def test_after_a_trip_the_cabinet_holds_enough_for_the_order(needed: dict[str, int]) -> None:
    for batch in batches_for_order(needed, MENU):
        assert batch.up_to >= batch.below == needed[batch.item] > 0


def test_the_timer_cooks_only_what_is_down_to_half_its_par() -> None:
    assert batches_to_par(MENU, only_when_low=True) == [Batch("chips", below=11, up_to=20), Batch("cod", below=6, up_to=10)]


def test_a_restock_by_hand_tops_up_anything_under_par_and_no_plaice() -> None:
    assert batches_to_par(MENU, only_when_low=False) == [Batch("chips", below=20, up_to=20), Batch("cod", below=10, up_to=10)]


def test_served_portions_count_each_order_once_and_every_item() -> None:
    def served(order_id: str, *parts: tuple[str, ...]) -> Order:
        return Order(1, 1, parts, order_id, 0.0)

    orders = [served("a", ("cod", "chips")), served("b", ("chips", "chips")), served("a", ("cod", "chips"))]  # "a" served twice
    assert served_portions(orders, MENU) == {"chips": 3, "cod": 1, "plaice": 0}


def test_a_cabinet_that_balances_with_kafka_has_no_differences() -> None:
    state = CabinetState(
        stock={"chips": 17, "cod": 9, "plaice": 0},
        cooked={"chips": 20, "cod": 10, "plaice": 1},
        served={"chips": 3, "cod": 1, "plaice": 1},
        cooked_batches=3,
        trips_to_cook=1,
        orders_taken=2,
    )
    assert state.balanced
    assert state.differences({"chips": 3, "cod": 1, "plaice": 1}) == []
    assert state.differences({"chips": 3, "cod": 2, "plaice": 1}) == ["cod: 1 portions taken from the cabinet, 2 served on Kafka"]
    lost = CabinetState({**state.stock, "cod": 8}, state.cooked, state.served, 3, 1, 2)
    assert not lost.balanced
    assert lost.differences({"chips": 3, "cod": 1, "plaice": 1}) == ["cod: 8 in stock, but 10 cooked - 1 served = 9"]
