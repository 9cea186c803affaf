"""Kafka's view of the shop as Rich renderables: partitions with their end offsets, and
consumer groups with members, assignments, committed offsets and lag.

Everything here comes from the cluster's admin API (kafka/inspect.py), never from the
shop's own counters, so what you see is what Kafka itself says.
"""

from rich.console import Group
from rich.table import Table
from rich.text import Text

from fishchips.kafka.inspect import ClusterView

BAR_WIDTH = 10


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> Text:
    filled = round(width * value / largest) if largest else 0
    return Text("█" * filled + "·" * (width - filled), style="cyan")


def short(topic: str) -> str:
    """fishchips.orders -> orders: the prefix is the same on every row."""
    return topic.rsplit(".", 1)[-1]


def topics_table(view: ClusterView) -> Table:
    table = Table(title="topics: end offsets", title_justify="left", expand=True, box=None, padding=(0, 1))
    table.add_column("topic")
    table.add_column("p", justify="right")
    table.add_column("end", justify="right")
    table.add_column("", no_wrap=True)
    largest = max((end for partitions in view.end_offsets.values() for end in partitions.values()), default=0)
    for topic, partitions in view.end_offsets.items():
        for partition, end in sorted(partitions.items()):
            table.add_row(short(topic) if partition == 0 else "", str(partition), str(end), bar(end, largest))
    return table


def group_table(view: ClusterView, group: str) -> Table:
    described = view.groups[group]
    lag_style = "red" if described.total_lag > 10 else "green"
    protocol = described.group_type + (f" ({described.assignor})" if described.assignor else "")
    title = Text.assemble(
        f"group {short(group)} ",
        (described.state.lower(), "dim"),
        " · ",
        (protocol.lower(), "magenta"),
        " · lag ",
        (str(described.total_lag), f"bold {lag_style}"),
    )
    table = Table(title=title, title_justify="left", expand=True, box=None, padding=(0, 1))
    table.add_column("member")
    table.add_column("holds")
    table.add_column("committed", justify="right")
    table.add_column("lag", justify="right")
    for member in described.members:
        held = [(t, p) for t, p in member.partitions]
        committed = sum(described.committed.get(tp, 0) for tp in held)
        lag = sum(described.lag.get(tp, 0) for tp in held)
        table.add_row(member.client_id, ",".join(str(p) for _, p in held) or "-", str(committed), str(lag))
    if not described.members:
        table.add_row(Text("no members", style="dim"), "", "", "")
    return table


def render(view: ClusterView) -> Group:
    return Group(topics_table(view), *(group_table(view, group) for group in view.groups))
