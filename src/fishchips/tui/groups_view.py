"""The preparers' groups as the app shows them side by side: each member with the orders it served.

In demo6 the consumer group's four members share two partitions, so two of them serve nothing; the
share group's four members all serve, because the broker lends each order to whichever member asks.
"""

from rich.text import Text

from fishchips.floor import PreparerGroup


def render_groups(groups: list[PreparerGroup]) -> Text:
    text = Text()
    for group in groups:
        text.append(f"{group.kind} {group.name}\n", style="bold")
        for member, served in group.served.items():
            text.append(f"  {member:<18} ").append(f"{served} served\n" if served else "idle\n", style="green" if served else "yellow")
        if not group.served:
            text.append("  no members\n", style="dim")
    text.rstrip()
    return text
