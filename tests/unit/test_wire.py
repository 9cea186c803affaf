"""The wire format: msgspec's fast check keeps every reason, bound and shape of the careful one."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.bad_inputs import CORPUS, GOOD, REASONS

from fishchips.shop import MAX_NUMBER, InvalidOrder, Menu, Order
from fishchips.shop.order import _check

MENU = Menu.load()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),  # NaN and Infinity too: json.dumps writes them
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
MISSING = object()
# the values on either side of each rule, which arbitrary JSON rarely hits
EDGES = [
    *("", "x" * 200, "x" * 201, -1, 0, 1, 1.0, True, None, MAX_NUMBER, MAX_NUMBER + 1, 10**400, 1e400, float("nan"), MISSING),
    *([], [[]], [["cod"]] * 20, [["cod"]] * 21, [["chips"] * 6], [["chips"] * 7], [["haddock"]], [["cod"], [1]]),
]


def message(field: str, value: object, extra: dict[str, object]) -> bytes:
    """The good order with one field changed (or left out), and perhaps some fields no reader knows."""
    fields = {**GOOD, field: value, **extra}
    return json.dumps({name: v for name, v in fields.items() if v is not MISSING}).encode()


messages = st.builds(
    message,
    st.sampled_from(sorted(GOOD)),
    st.sampled_from(EDGES) | json_values,
    st.dictionaries(st.text(max_size=5), json_values, max_size=2),
)


def reason(data: bytes | None) -> str:
    with pytest.raises(InvalidOrder) as caught:
        Order.from_json(data, MENU)
    return caught.value.reason


def careful_reason(data: bytes | None) -> str | None:
    try:
        _check(data, MENU)
    except InvalidOrder as invalid:
        return invalid.reason
    return None


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_bad_input_keeps_its_reason(name: str) -> None:
    assert reason(CORPUS[name][1]) == REASONS[name]


def test_the_reasons_cover_the_whole_corpus() -> None:
    assert set(REASONS) == set(CORPUS)


def assert_the_fast_check_agrees_with_the_careful_one(data: bytes) -> None:
    careful = careful_reason(data)
    try:
        Order.from_json(data, MENU)
    except InvalidOrder as invalid:
        # only JSON the standard library tolerates (NaN, an unpaired surrogate, a repeated key) is refused by msgspec alone
        assert invalid.reason == careful or (careful is None and invalid.reason.startswith("value: refused by the strict decoder ("))
    else:
        assert careful is None


@pytest.mark.parametrize("field", sorted(GOOD))
@pytest.mark.parametrize("value", EDGES, ids=lambda value: "missing" if value is MISSING else repr(value)[:24])
def test_the_fast_check_agrees_with_the_careful_one_at_every_edge(field: str, value: object) -> None:
    assert_the_fast_check_agrees_with_the_careful_one(message(field, value, {}))


@given(st.one_of(messages, st.binary(max_size=200)))
def test_the_fast_check_agrees_with_the_careful_one_on_any_message(data: bytes) -> None:
    assert_the_fast_check_agrees_with_the_careful_one(data)


@pytest.mark.parametrize("field", ["order", "till"])
def test_numbers_are_bounded_as_the_books_keep_them(field: str) -> None:
    largest = json.dumps({**GOOD, field: MAX_NUMBER}).encode()
    assert getattr(Order.from_json(largest, MENU), field) == MAX_NUMBER
    too_big = json.dumps({**GOOD, field: MAX_NUMBER + 1}).encode()
    assert reason(too_big) == f"{field}: must be at most 2147483647, got 2147483648"


def test_json_only_the_standard_library_tolerates_is_refused_on_the_wire() -> None:
    nan_beside = json.dumps({**GOOD, "note": float("nan")}).encode()
    assert reason(nan_beside).startswith("value: refused by the strict decoder (JSON is malformed")
    lone_surrogate = json.dumps({**GOOD, "id": "x\udc80"}).encode()  # no database can store it, and msgspec cannot write it again
    assert reason(lone_surrogate).startswith("value: refused by the strict decoder (JSON is malformed")


def test_the_wire_keeps_the_talks_key_order_compactly() -> None:
    order = Order(271, 3, (("cod", "chips"),), "run-3-271", 1.5)
    assert order.to_json() == b'{"order":271,"till":3,"parts":[["cod","chips"]],"ready":false,"id":"run-3-271","placed_at":1.5}'


@given(st.text(min_size=1, max_size=200))
def test_any_id_round_trips_and_old_readers_read_it(id: str) -> None:
    order = Order(1, 1, (("cod",),), id, 0.0, ready=True)
    data = order.to_json()
    message: dict[str, Any] = json.loads(data.decode("utf-8"))  # how a reader of the old format reads it
    assert message["id"] == id
    assert Order.from_json(data, MENU) == order
