"""The hot cabinet against a real redis-server: all or nothing, never twice, never below zero."""

import random
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import wait_for

from fishchips.services.local_server import free_port
from fishchips.services.redis_server import LocalRedis
from fishchips.shop import Menu, Order
from fishchips.shop.kitchen import portions
from fishchips.stores.cabinet import Cabinet, CabinetError, CabinetUnavailable, Outcome, Take, keep_stocked, patiently

MENU = Menu.load()


def order(*parts: tuple[str, ...], order_id: str | None = None) -> Order:
    return Order(order=1, till=1, parts=parts, id=order_id or uuid.uuid4().hex, placed_at=0.0)


@pytest.fixture
def cabinet(redis_url: str, prefix: str) -> Iterator[Cabinet]:
    """A fresh shop's cabinet (the prefix is new per test), on the session's Redis."""
    cabinet = Cabinet(redis_url, prefix, MENU)
    yield cabinet
    cabinet.close()


def test_a_new_cabinet_is_empty_and_balanced(cabinet: Cabinet) -> None:
    state = cabinet.state()
    assert state.stock == {"chips": 0, "cod": 0, "plaice": 0}
    assert (state.cooked_batches, state.trips_to_cook, state.orders_taken) == (0, 0, 0)
    assert state.balanced


def test_a_take_is_all_or_nothing(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 1, "chips": 1})
    take = cabinet.take(order(("cod", "chips"), ("chips", "chips")))  # 3 chips, the cabinet has 1

    assert take.outcome is Outcome.SHORT
    assert take.short == {"chips": 2}
    assert not take.may_serve
    state = cabinet.state()
    assert state.stock == {"chips": 1, "cod": 1, "plaice": 0}  # the cod was not taken either
    assert state.orders_taken == 0


def test_a_take_takes_every_portion_once(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 2, "chips": 5, "plaice": 1})
    supper = order(("cod", "chips"), ("chips", "chips"), ("plaice",))

    assert cabinet.take(supper).outcome is Outcome.TAKEN
    state = cabinet.state()
    assert state.stock == {"chips": 2, "cod": 1, "plaice": 0}
    assert state.served == {"chips": 3, "cod": 1, "plaice": 1}
    assert state.orders_taken == 1
    assert state.balanced


def test_a_retried_order_is_refused_as_already_taken(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 5, "chips": 5})
    supper = order(("cod", "chips"))
    assert cabinet.take(supper).outcome is Outcome.TAKEN

    again = cabinet.take(supper)  # a preparer that crashed after taking, and is handed the order again

    assert again.outcome is Outcome.ALREADY_TAKEN
    assert again.may_serve
    assert cabinet.state().stock == {"chips": 4, "cod": 4, "plaice": 0}
    assert cabinet.state().orders_taken == 1


def test_a_short_order_can_be_taken_once_the_cook_has_been(cabinet: Cabinet) -> None:
    fish = order(("plaice", "chips"), ("cod",))
    assert cabinet.take(fish).short == {"chips": 1, "cod": 1, "plaice": 1}

    cooking = cabinet.cook_for(fish, trip="cook:0:0")

    assert cooking.cooked == {"chips": 20, "cod": 10, "plaice": 1}  # plaice to order, cod and chips to par
    assert cabinet.take(fish).outcome is Outcome.TAKEN
    state = cabinet.state()
    assert state.stock == {"chips": 19, "cod": 9, "plaice": 0}
    assert (state.cooked_batches, state.trips_to_cook) == (3, 1)
    assert state.balanced


def test_a_retried_trip_to_the_cook_cooks_nothing_twice(cabinet: Cabinet) -> None:
    fish = order(("plaice",), ("plaice",))
    first = cabinet.cook_for(fish, trip="cook:0:7")
    again = cabinet.cook_for(fish, trip="cook:0:7")  # the cook crashed before Kafka committed; its successor redoes the trip

    assert first.cooked == {"plaice": 2}
    assert again.already
    assert again.cooked == {}
    state = cabinet.state()
    assert (state.stock["plaice"], state.cooked_batches, state.trips_to_cook) == (2, 1, 1)

    cabinet.take(order(("plaice",)))  # someone else's order took one in between
    next_trip = cabinet.cook_for(fish, trip="cook:0:9")  # the same order, back for a second trip
    assert next_trip.cooked == {"plaice": 1}
    assert cabinet.state().trips_to_cook == 2


def test_a_trip_cooks_only_what_the_cabinet_lacks(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 3, "chips": 30})
    cooking = cabinet.cook_for(order(("plaice", "chips"), ("cod", "chips")), trip="cook:1:0")
    assert cooking.cooked == {"plaice": 1}
    assert cabinet.state().stock == {"chips": 30, "cod": 3, "plaice": 1}


def test_the_timer_tops_up_only_what_runs_low(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 5, "chips": 11})  # cod at half its par of 10; chips above half its par of 20
    assert cabinet.top_up() == {"cod": 5}
    assert cabinet.top_up() == {}
    assert cabinet.top_up(only_when_low=False) == {"chips": 9}
    state = cabinet.state()
    assert state.stock == {"chips": 20, "cod": 10, "plaice": 0}
    assert state.trips_to_cook == 0  # the timer is not a trip
    assert state.balanced


def test_the_cooks_timer_keeps_the_cabinet_stocked(cabinet: Cabinet) -> None:
    stopping = threading.Event()
    batches: list[dict[str, int]] = []
    timer = threading.Thread(target=keep_stocked, args=(cabinet, 0.05, stopping, batches.append))
    timer.start()
    try:
        wait_for(lambda: cabinet.state().stock == {"chips": 20, "cod": 10, "plaice": 0}, timeout=10)
        cabinet.take(order(*[("cod", "chips")] * 6))  # down to 4 cod: low, and topped up again
        wait_for(lambda: cabinet.state().stock["cod"] == 10, timeout=10)
    finally:
        stopping.set()
        timer.join(timeout=10)
    assert not timer.is_alive()
    assert batches == [{"chips": 20, "cod": 10}, {"cod": 6}]  # chips, at 14, were not low
    assert cabinet.state().balanced


def test_concurrent_takers_never_take_more_than_the_stock(cabinet: Cabinet) -> None:
    stock = {"cod": 40, "chips": 90, "plaice": 15}
    cabinet.restock(stock)
    taken: list[Order] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def preparer(seed: int) -> None:
        rolls = random.Random(seed)
        start.wait()
        for _ in range(40):
            fish = order(*[tuple(rolls.choices(["cod", "chips", "plaice"], k=rolls.randint(1, 3))) for _ in range(rolls.randint(1, 2))])
            if cabinet.take(fish).outcome is Outcome.TAKEN:
                with lock:
                    taken.append(fish)

    threads = [threading.Thread(target=preparer, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    served: Counter[str] = Counter()
    for fish in taken:
        served.update(portions(fish.parts, MENU))
    state = cabinet.state()
    assert taken, "no order was ever taken"
    assert all(served[item] <= stock[item] for item in stock)
    assert state.stock == {item: stock[item] - served[item] for item in sorted(stock)}
    assert all(count >= 0 for count in state.stock.values())
    assert state.orders_taken == len(taken)
    assert state.balanced


def test_one_order_raced_by_many_preparers_is_taken_once(cabinet: Cabinet) -> None:
    cabinet.restock({"cod": 10, "chips": 10})
    supper = order(("cod", "chips"))
    outcomes: list[Outcome] = []
    start = threading.Barrier(12)

    def preparer() -> None:
        start.wait()
        outcomes.append(cabinet.take(supper).outcome)

    threads = [threading.Thread(target=preparer) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(outcomes) == {Outcome.TAKEN: 1, Outcome.ALREADY_TAKEN: 11}
    assert cabinet.state().stock == {"chips": 9, "cod": 9, "plaice": 0}


def test_a_restock_of_something_off_the_menu_is_refused(cabinet: Cabinet) -> None:
    with pytest.raises(CabinetError, match="not on the menu: haddock"):
        cabinet.restock({"haddock": 1})
    with pytest.raises(CabinetError, match="at least 1: cod"):
        cabinet.restock({"cod": -3})  # a negative restock would be a take that skips the script's checks
    assert cabinet.state().stock == {"chips": 0, "cod": 0, "plaice": 0}


def test_redis_stopped_mid_run_is_unavailable_then_the_cabinet_comes_back(own_server: LocalRedis, prefix: str) -> None:
    url = own_server.status().url
    assert url
    cabinet = Cabinet(url, prefix, MENU)
    cabinet.restock({"cod": 3, "chips": 3})
    assert cabinet.take(order(("cod", "chips"))).outcome is Outcome.TAKEN
    own_server.stop()

    waiting = order(("cod", "chips"))
    with pytest.raises(CabinetUnavailable, match=f"Redis at {url} is not answering"):
        cabinet.take(waiting)
    with pytest.raises(CabinetUnavailable):
        cabinet.ping()

    assert own_server.start().url == url  # the same port again, so the cabinet's address still holds
    cabinet.ping()
    # the append-only file kept the stock, and the script (gone from the new server's cache) is loaded again
    assert cabinet.take(waiting).outcome is Outcome.TAKEN
    state = cabinet.state()
    assert state.stock == {"chips": 1, "cod": 1, "plaice": 0}
    assert state.orders_taken == 2
    assert state.balanced
    cabinet.close()


def test_a_cabinet_at_a_dead_address_is_unavailable(prefix: str) -> None:
    cabinet = Cabinet(f"redis://127.0.0.1:{free_port()}/0", prefix, MENU)
    with pytest.raises(CabinetUnavailable, match="Connection refused"):
        cabinet.state()


def test_a_preparer_waits_out_an_outage_and_then_takes(own_server: LocalRedis, prefix: str) -> None:
    url = own_server.status().url
    assert url
    cabinet = Cabinet(url, prefix, MENU)
    cabinet.restock({"cod": 1, "chips": 1})
    own_server.stop()
    reasons: list[str] = []
    result: list[Take] = []
    supper, stopping = order(("cod", "chips")), threading.Event()
    waiting = threading.Thread(target=lambda: result.append(patiently(lambda: cabinet.take(supper), stopping, reasons.append)))
    waiting.start()
    try:
        wait_for(lambda: len(reasons) >= 2, timeout=15)  # it keeps trying, and says why each time
        assert not result  # nothing served meanwhile
        own_server.start()
        wait_for(lambda: result, timeout=30)
    finally:
        stopping.set()  # a failed check must not leave the thread waiting forever
        waiting.join(timeout=10)

    assert [take.outcome for take in result] == [Outcome.TAKEN]
    assert all("is not answering" in reason for reason in reasons)
    assert cabinet.state().stock == {"chips": 0, "cod": 0, "plaice": 0}
    cabinet.close()


def test_a_stopping_role_gives_up_waiting(own_server: LocalRedis, prefix: str) -> None:
    url = own_server.status().url
    assert url
    cabinet = Cabinet(url, prefix, MENU)
    own_server.stop()
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(CabinetUnavailable):
        patiently(cabinet.state, stopping)


def test_starters_at_once_share_one_server(tmp_path: Path) -> None:
    """Two preparer processes that both find no Redis must not start two on one data dir."""
    pids: list[int] = []
    start = threading.Barrier(4)

    def starter() -> None:
        start.wait()
        status = LocalRedis(tmp_path / "redis").ensure_running()
        assert status.state
        pids.append(status.state.pid)

    threads = [threading.Thread(target=starter) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(pids) == 4
        assert len(set(pids)) == 1
    finally:
        assert LocalRedis(tmp_path / "redis").stop()


some_parts = st.lists(st.lists(st.sampled_from(["cod", "chips", "plaice"]), min_size=1, max_size=4).map(tuple), min_size=1, max_size=3)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("take"), some_parts, st.sampled_from("abcdef")),  # few ids: retakes happen
        st.tuples(st.just("trip"), some_parts, st.sampled_from("uvwxyz")),
        st.tuples(st.just("restock"), st.sampled_from(["cod", "chips", "plaice"]), st.integers(1, 5)),
        st.tuples(st.just("top-up"), st.booleans(), st.none()),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(operations)
def test_any_sequence_keeps_the_promises(redis_url: str, steps: list[tuple[str, Any, Any]]) -> None:
    """Whatever happens in whatever order: never below zero, all or nothing, once per order, always balanced."""
    cabinet = Cabinet(redis_url, f"h{uuid.uuid4().hex[:8]}", MENU)
    taken_ids: set[str] = set()
    try:
        for kind, first, second in steps:
            before = cabinet.state().stock
            if kind == "take":
                fish = order(*first, order_id=second)
                wanted = portions(fish.parts, MENU)
                take = cabinet.take(fish)
                after = cabinet.state().stock
                if take.outcome is Outcome.TAKEN:
                    assert fish.id not in taken_ids
                    taken_ids.add(fish.id)
                    assert after == {item: before[item] - wanted.get(item, 0) for item in before}
                elif take.outcome is Outcome.ALREADY_TAKEN:
                    assert fish.id in taken_ids
                    assert after == before
                else:
                    assert take.short == {item: count - before[item] for item, count in wanted.items() if count > before[item]}
                    assert after == before
            elif kind == "trip":
                fish = order(*first)
                if not cabinet.cook_for(fish, trip=second).already:
                    after = cabinet.state().stock
                    assert all(after[item] >= count for item, count in portions(fish.parts, MENU).items())
            elif kind == "restock":
                cabinet.restock({first: second})
            else:
                cabinet.top_up(only_when_low=first)
            state = cabinet.state()
            assert all(count >= 0 for count in state.stock.values())
            assert state.balanced
            assert state.orders_taken == len(taken_ids)
    finally:
        cabinet.close()
