"""The pure parts of lessons 14 and 15: the sink's database read back from its configuration, and the hot
cabinet's accounts held against Kafka's (a second take, an order served untaken or twice, each caught)."""

from collections import Counter

import pytest

from fishchips.kafka.connect_worker import ConnectNames, database_url, sink_config
from fishchips.kafka.topics import Topics
from fishchips.learn.checks import took_once
from fishchips.stores.cabinet import CabinetState

ITEMS = ("chips", "cod", "plaice")


@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:5432/fishchips", "postgresql://shop:s%40cret@db.example:6543/books"],
)
def test_the_sinks_database_is_read_back_from_its_configuration(url: str) -> None:
    assert database_url(sink_config(ConnectNames(Topics("t")), url)) == url


def cabinet(stock: dict[str, int], cooked: dict[str, int], served: dict[str, int], orders_taken: int) -> CabinetState:
    def whole(counts: dict[str, int]) -> dict[str, int]:
        return {item: counts.get(item, 0) for item in ITEMS}

    return CabinetState(whole(stock), whole(cooked), whole(served), cooked_batches=1, trips_to_cook=0, orders_taken=orders_taken)


ASKED = {"r-1-1": {"cod": 1, "chips": 2}, "r-1-2": {"chips": 1}, "r-1-3": {"cod": 1}}
GOOD = cabinet({"cod": 8, "chips": 17}, {"cod": 10, "chips": 20}, {"cod": 2, "chips": 3}, orders_taken=3)


def test_each_order_served_took_its_portions_once() -> None:
    verdict = took_once(GOOD, GOOD, set(ASKED), ASKED, Counter({"r-1-1": 1, "r-1-2": 1}), at_least=3)
    assert verdict.passed, verdict.said
    assert verdict.said.startswith("3 orders took from the cabinet, 3 takes counted, 5 portions given out, 5 as those orders ask; 2 served")


@pytest.mark.parametrize(
    ("now", "served", "at_least", "wrong"),
    [
        # a retried order took its portions again: one more take counted and one more cod given out than the orders ask
        (cabinet({"cod": 7, "chips": 17}, {"cod": 10, "chips": 20}, {"cod": 3, "chips": 3}, 4), Counter({"r-1-1": 1}), 1, "4 takes counted"),
        (GOOD, Counter({"r-1-1": 2}), 1, "1 twice"),  # served twice on Kafka
        (GOOD, Counter({"r-1-9": 1}), 1, "1 without a take"),  # served with no take recorded
        (cabinet({"cod": 9, "chips": 17}, {"cod": 10, "chips": 20}, {"cod": 2, "chips": 3}, 3), Counter(), 1, "cod: 9 in stock"),
        (GOOD, Counter(), 4, "3 orders took"),  # fewer than the step asks for
    ],
)
def test_a_second_take_or_an_order_served_untaken_or_twice_fails(now: CabinetState, served: Counter[str], at_least: int, wrong: str) -> None:
    verdict = took_once(now, now, set(ASKED), ASKED, served, at_least)
    assert not verdict.passed and wrong in verdict.said, verdict.said
