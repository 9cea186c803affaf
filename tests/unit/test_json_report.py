"""Reports printed with --json: any dataclass report becomes JSON that parses back to the same figures."""

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from fishchips.cli.console import jsonable


@dataclass
class Inner:
    where: Path
    by_node: dict[int, float]


@dataclass
class Report:
    kills: Counter[str] = field(default_factory=Counter)
    inner: Inner | None = None
    seeds: tuple[int, ...] = ()


def test_asdict_turns_a_counter_into_tuple_keys() -> None:
    """The cause of `fishchips chaos --json` dying at the end: why the reports do not go through asdict."""
    with pytest.raises(TypeError, match="not tuple"):
        json.dumps(asdict(Report(Counter({"cook": 2}))))


def test_a_report_with_a_counter_and_a_nested_dataclass_is_json() -> None:
    report = Report(Counter({"cook": 2, "preparer-1": 1}), Inner(Path("/tmp/x"), {1: 0.5, 3: 2.0}), (1, 2))

    assert json.loads(json.dumps(jsonable(report))) == {
        "kills": {"cook": 2, "preparer-1": 1},
        "inner": {"where": "/tmp/x", "by_node": {"1": 0.5, "3": 2.0}},
        "seeds": [1, 2],
    }
