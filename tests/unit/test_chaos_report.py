"""`fishchips chaos --json`: the report as one JSON object, parsed back (built by hand: no broker, no Redis)."""

import json
from collections import Counter

from fishchips.chaos import ChaosReport
from fishchips.cli.chaos import report_json
from fishchips.ledger import CabinetFigures, Ledger


def test_the_report_with_the_cabinet_is_one_json_object() -> None:
    ledger = Ledger(
        taken=3, served=3, lost=0, served_twice=0, plaice=2, cooked=2, cooked_twice=0, never_taken=0, unreadable=0, takings_pence=900
    )
    report = ChaosReport(1, 3, kills=Counter({"preparer-1": 2, "cook-1": 1}), ledger=ledger, books_orders=3, books_takings_pence=900)
    report.cabinet = CabinetFigures({"chips": 4, "cod": 1, "plaice": 0}, cooked_batches=5, trips_to_cook=3)

    parsed = json.loads(json.dumps(report_json(report)))

    assert parsed["kills"] == {"preparer-1": 2, "cook-1": 1}
    assert parsed["cabinet"] == {"stock": {"chips": 4, "cod": 1, "plaice": 0}, "cooked_batches": 5, "trips_to_cook": 3, "differences": []}
    assert parsed["ledger"]["served"] == 3 and parsed["ok"] is True


def test_a_cabinet_that_disagrees_fails_the_report() -> None:
    ledger = Ledger(
        taken=1, served=1, lost=0, served_twice=0, plaice=0, cooked=0, cooked_twice=0, never_taken=0, unreadable=0, takings_pence=300
    )
    report = ChaosReport(1, 1, ledger=ledger, books_orders=1, books_takings_pence=300)
    report.cabinet = CabinetFigures(
        {"chips": 0, "cod": 0, "plaice": 0}, 0, 0, ["cod: 1 portions taken from the cabinet, 0 served on Kafka"]
    )
    assert report_json(report)["ok"] is False
