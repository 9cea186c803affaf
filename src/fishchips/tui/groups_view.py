"""The preparers' groups as the app shows them side by side: each member with the orders it served.

In demo6 the consumer group's four members share two partitions, so two of them serve nothing; the
share group's four members all serve, because the broker lends each order to whichever member asks.
Below them, the share group's records in flight: who holds each one's lock and its delivery count, as the
members themselves say (fishchips/lending.py says why Kafka cannot), and the records lent out again.
"""

from rich.text import Text

from fishchips.floor import PreparerGroup
from fishchips.lending import Loan, Relent


def render_groups(groups: list[PreparerGroup], loans: list[Loan], relent: list[Relent]) -> Text:
    text = Text()
    for group in groups:
        text.append(f"{group.kind} {group.name}\n", style="bold")
        for member, served in group.served.items():
            text.append(f"  {member:<18} ").append(f"{served} served\n" if served else "idle\n", style="green" if served else "yellow")
        if not group.served:
            text.append("  no members\n", style="dim")
    if any(group.kind == "share group" for group in groups):
        render_lending(text, loans, relent)
    text.rstrip()
    return text


def render_lending(text: Text, loans: list[Loan], relent: list[Relent]) -> None:
    text.append("records in flight (as the members say)\n", style="bold")
    for loan in loans:
        text.append(f"  p{loan.partition}@{loan.offset:<6} {loan.holder:<18} ")
        text.append(f"delivery {loan.delivery}", style="bold red" if loan.delivery > 1 else "")
        text.append(f" {loan.state}\n" if loan.state != "held" else "\n", style="yellow")
    if not loans:
        text.append("  none held just now\n", style="dim")
    if relent:
        text.append("lent again\n", style="bold")
    for again in relent:
        done = f"{again.outcome} order {again.order}" if again.order is not None else again.outcome or "holds it"
        text.append(
            f"  p{again.partition}@{again.offset:<6} delivery {again.delivery}: {again.before or '?'} {again.back} → {again.holder}, {done}\n"
        )
