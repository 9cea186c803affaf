"""The brokers as Kafka sees them, as Rich text: each broker up or down, every partition's leader,
replicas and in-sync replicas, and who coordinates each group and transaction.

Everything comes from kafka/replication.py (the cluster's metadata and admin API). The leader is
marked with a star, and a replica out of sync is greyed: it may not lead, and acks=all does not wait for it.
"""

from rich.text import Text

from fishchips.kafka.replication import PartitionReplicas, ReplicationView


def short(name: str) -> str:
    """fishchips.orders -> orders: the prefix is the same on every row."""
    return name.rsplit(".", 1)[-1]


def replicas(partition: PartitionReplicas) -> Text:
    """The replicas in order, the leader starred and bold, one out of sync greyed."""
    text = Text()
    for node in partition.replicas:
        style = "dim strike" if node in partition.out_of_sync else ("bold green" if node == partition.leader else "")
        text.append(f"{node}{'*' if node == partition.leader else ''} ", style=style)
    return text


def render_replication(view: ReplicationView, served_ago: float | None, no_controls: str) -> Text:
    """The view; `served_ago`: seconds since an order was last served (None: none yet); `no_controls`: why x, b and a are absent, or ""."""
    text = Text("brokers ", style="bold")
    if not view.answered:
        return text.append(view.problem, style="red")
    for broker in view.brokers:
        text.append(f"{broker.node} {'up' if broker.up else 'DOWN'}  ", style="green" if broker.up else "bold red")
    text.append(f"\nunder-replicated {view.under_replicated}", style="yellow" if view.under_replicated else "")
    text.append(f" · offline {view.offline}", style="bold red" if view.offline else "")
    if served_ago is not None:
        text.append(f" · last served {served_ago:.0f} s ago", style="red" if served_ago > 5 else "")
    text.append("\n* leader · greyed: out of sync\n", style="dim")
    for p in view.partitions:
        text.append(f"{short(p.topic)}/{p.partition} ")
        text.append(replicas(p) if p.leader is not None else Text("offline: no leader ", style="bold red"))
        text.append(f" isr {','.join(map(str, p.in_sync)) or '-'}\n", style="dim")
    for c in view.coordinators:
        where = str(c.node) if c.node is not None else f"none ({c.problem})"
        text.append(f"{c.kind} {short(c.name)}: coordinator {where}\n", style="cyan")
    if no_controls:
        text.append(f"x/b/a (kill, restart a broker, tills acks=1) are off: {no_controls}", style="dim")
    return text
