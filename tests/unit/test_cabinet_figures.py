"""The cabinet's figures as a run and the app show them: pure arithmetic, no Redis."""

from fishchips.shop import Menu
from fishchips.stores.cabinet import CabinetState
from fishchips.tui.cabinet_view import WIDTH, bar, render_cabinet

MENU = Menu.load()


def state(stock: dict[str, int], cooked: dict[str, int], served: dict[str, int], batches: int, trips: int, taken: int) -> CabinetState:
    return CabinetState(stock, cooked, served, batches, trips, taken)


START = state({"chips": 5, "cod": 2, "plaice": 0}, {"chips": 25, "cod": 12, "plaice": 3}, {"chips": 20, "cod": 10, "plaice": 3}, 4, 3, 9)
END = state({"chips": 18, "cod": 9, "plaice": 0}, {"chips": 45, "cod": 22, "plaice": 5}, {"chips": 27, "cod": 13, "plaice": 5}, 7, 5, 12)


def test_a_runs_figures_are_what_changed_since_its_start() -> None:
    run = END.since(START)
    assert (run.cooked, run.served) == ({"chips": 20, "cod": 10, "plaice": 2}, {"chips": 7, "cod": 3, "plaice": 2})
    assert (run.cooked_batches, run.trips_to_cook, run.orders_taken) == (3, 2, 3)
    assert run.differences({"chips": 7, "cod": 3, "plaice": 2}) == []


def test_a_run_that_served_what_the_cabinet_did_not_count_is_a_difference() -> None:
    assert END.since(START).differences({"chips": 8, "cod": 3, "plaice": 2}) == [
        "chips: 7 portions taken from the cabinet, 8 served on Kafka"
    ]


def test_an_unbalanced_cabinet_names_the_item() -> None:
    broken = state({"chips": 1, "cod": 0, "plaice": 0}, {"chips": 2, "cod": 0, "plaice": 0}, {"chips": 2, "cod": 0, "plaice": 0}, 1, 0, 1)
    assert broken.unbalanced() == ["chips: 1 in stock, but 2 cooked - 2 served = 0"]
    assert END.unbalanced() == []


def test_a_bar_fills_in_proportion_and_never_overflows() -> None:
    assert bar(10, 10) == "█" * WIDTH
    assert bar(5, 10) == "█" * (WIDTH // 2) + "░" * (WIDTH // 2)
    assert bar(0, 10) == "░" * WIDTH
    assert bar(30, 20) == "█" * WIDTH


def test_the_panel_shows_each_item_against_its_par_and_the_runs_trips() -> None:
    shown = render_cabinet(END, START, MENU).plain
    assert "cod     " + bar(9, 10) + " 9/10" in shown
    assert "plaice  " + bar(0, 1) + " 0\n" in shown  # cooked to order: no par
    assert shown.endswith("trips to the cook 2 · batches cooked 3 · orders taken 3")
    assert "✗ Redis is away" in render_cabinet(None, None, MENU, "Redis is away").plain
