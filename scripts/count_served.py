"""Count the served topic independently of fishchips, from what Kafka's console consumer prints.

Reads lines `Partition:P<TAB>Offset:O<TAB>VALUE` (the console consumer with print.partition and
print.offset; anything else it prints, such as its own log lines, is ignored). An event is an order
if its value is a JSON object with a string id and parts made of the menu's items; each order id
counts once; portions per item; takings at the prices in the menu file. Prints one JSON object.

    ... | python3 scripts/count_served.py > count.json
    python3 scripts/count_served.py --compare report.json count.json   # exit 1 if they differ
"""

import json
import sys
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

MENU = Path(__file__).resolve().parents[1] / "src" / "fishchips" / "shop" / "menu.toml"
COMPARED = ("orders", "takings_pence", "items", "rejected")


def order_parts(value: str, prices: dict[str, int]) -> tuple[str, list[list[str]]] | None:
    """The id and parts of an order, or None if the value is not one."""
    try:
        order = json.loads(value)
    except ValueError:
        return None
    if not isinstance(order, dict) or not isinstance(order.get("id"), str) or not isinstance(order.get("parts"), list):
        return None
    parts = order["parts"]
    if not parts or not all(isinstance(part, list) and part and all(item in prices for item in part) for part in parts):
        return None
    return order["id"], parts


def count(lines: Iterable[str]) -> dict[str, object]:
    prices = {name: entry["price"] for name, entry in tomllib.loads(MENU.read_text())["items"].items()}
    events, ids, items, takings, rejected = set(), set(), Counter(), 0, 0
    for line in lines:
        fields = line.rstrip("\n").split("\t", 2)
        if len(fields) != 3 or not fields[0].startswith("Partition:") or not fields[1].startswith("Offset:"):
            continue
        events.add((fields[0], fields[1]))
        found = order_parts(fields[2], prices)
        if found is None:
            rejected += 1
        elif found[0] not in ids:
            ids.add(found[0])
            for part in found[1]:
                items.update(part)
                takings += sum(prices[item] for item in part)
    return {"events": len(events), "orders": len(ids), "takings_pence": takings, "items": {n: items[n] for n in prices}, "rejected": rejected}


def compare(report_path: str, count_path: str) -> int:
    report, counted = (json.loads(Path(path).read_text()) for path in (report_path, count_path))
    books = {key: report[key] for key in COMPARED}
    console = {key: counted[key] for key in COMPARED}
    print("fishchips report --json:", json.dumps(books))
    print(f"console consumer ({counted['events']} events):", json.dumps(console))
    print("the books match the topic" if books == console else "THE BOOKS DIFFER FROM THE TOPIC")
    return 0 if books == console else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    print(json.dumps(count(sys.stdin)))
