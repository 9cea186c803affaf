"""benchmarks/rebalance.py's arithmetic: who owns what after the members' reports, and the figures of one change."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from fishchips.kafka.protocols import GroupProtocol


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "rebalance.py"
    spec = importlib.util.spec_from_file_location("rebalance_bench", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def events(bench: ModuleType, *lines: str) -> list:
    """'at member kind detail' lines, as the member processes print them."""
    made = []
    for line in lines:
        at, member, kind, detail = [*line.split(" ", 3), ""][:4]
        made.append(bench.Event(float(at), member, kind, detail))
    return made


def test_eager_lists_replace_and_incremental_lists_add_up_to_the_same_owners(bench: ModuleType) -> None:
    eager = events(bench, "1 m1 A 0,1,2,3,4,5", "5 m1 R 0,1,2,3,4,5", "5.1 m1 A 0,1,2", "5.1 m2 A 3,4,5")
    incremental = events(bench, "1 m1 A 0,1,2,3,4,5", "5 m1 R 3,4,5", "5.1 m1 A ", "6 m2 A 3,4,5")
    expected = {0: "m1", 1: "m1", 2: "m1", 3: "m2", 4: "m2", 5: "m2"}
    assert bench.ownership(eager) == (expected, 5.1)
    assert bench.ownership(incremental) == (expected, 6.0)  # an empty assignment changes nobody's partitions


def test_a_killed_member_owns_nothing_from_the_kill(bench: ModuleType) -> None:
    reports = events(bench, "1 m1 A 0,1,2", "1 m2 A 3,4,5", "10 m2 K")
    owners, last_change = bench.ownership(reports)
    assert owners == {0: "m1", 1: "m1", 2: "m1", 3: None, 4: None, 5: None}
    assert last_change == 10.0
    assert bench.ownership(reports, until=9)[0][3] == "m2"


def test_the_figures_of_a_kill(bench: ModuleType) -> None:
    group = bench.Group("127.0.0.1:1", "orders", GroupProtocol.CONSUMER, "sync", 0, "g")
    group.events.extend(
        events(
            bench,
            "1 m1 A 0,1,2",
            "1 m2 A 3,4,5",
            "10 m2 K",
            "12 m1 M 0:7 1:8 0:7",  # the kept partitions are served meanwhile; an order read twice counts once
            "11 m1 E STALE_MEMBER_EPOCH",
            "15 m1 M 3:1",  # a moved partition's order: not counted for the kept ones
            "20 m1 A 3,4,5",
        )
    )
    figures = bench.measure(group, "kill -9", 2, 10.0, True, 1.0)  # 1 order per second offered to each partition
    assert figures.settled_s == 10.0
    assert figures.unowned_partition_s == 30.0  # 3 partitions for 10 s
    assert (figures.moved, figures.kept) == (3, 3)
    assert (figures.kept_served, figures.kept_offered) == (2, 30)
    assert figures.commit_errors == "STALE_MEMBER_EPOCH x1"
