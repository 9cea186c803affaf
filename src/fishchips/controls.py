"""The shop's controls, one list for the terminal app and the page, so a key means the same in both.

Each control names an action (the app's `action_<name>`, the page's `POST /control/<name>`),
its key, a short label for the app's footer, a longer one for the page's button, and the Kafka
idea it shows, in one sentence (the app's command palette, the page's tooltip).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    key: str
    name: str
    label: str  # the app's footer: a word or two
    button: str  # the page's button
    idea: str
    on_page: bool = True  # the page offers it too (some need a terminal: a process of its own, quitting)


CONTROLS = (
    Control("t", "add_till", "Till", "Add till", "Another producer writes to the same topic: a topic takes writes from any number of producers."),
    Control("p", "add_preparer", "Prep+", "Add preparer", "A new member joins the consumer group: Kafka rebalances, sharing the partitions out again."),
    Control(
        "P",
        "add_preparer_process",
        "Prep+ process",
        "Add preparer process",
        "A member in a process of its own joins the same group: a group's members can be anywhere.",
        on_page=False,
    ),
    Control("s", "stop_preparer", "Prep-", "Stop preparer", "A member leaves the group: its partitions move to the others, who carry on from the committed offsets."),
    Control(
        "S",
        "stop_share_preparer",
        "Share-",
        "Stop share preparer",
        "A share group's member stops and RELEASEs the orders it holds: another member takes them at once, delivery count 2,"
        " not waiting for their locks to run out.",
    ),
    Control("l", "late_consumer", "Late", "Late consumer", "A consumer outside the group reads from offset 0: the log keeps every event, so the past can be replayed."),
    Control("c", "toggle_cook", "Cook", "Pause cook", "A paused consumer still holds its partition, so its lag grows until it resumes."),
    Control(
        "g",
        "next_protocol",
        "Protocol",
        "Next protocol",
        "The preparers' group rebalances another way: classic eager, classic cooperative, or Kafka 4's consumer protocol.",
        on_page=False,
    ),
    Control("r", "restock", "Restock", "Restock", "The hot cabinet (demo5) is restocked to par by hand: state outside Kafka, kept by Redis."),
    Control("f", "faster", "Fast", "Faster", "Producers write faster than consumers read: the lag per partition is the gap."),
    Control("d", "slower", "Slow", "Slower", "Slower producers let the consumers catch up: the lag falls back to zero."),
    Control(
        "x",
        "kill_broker",
        "Kill broker",
        "Kill a broker",
        "A broker dies (kill -9): its partitions get new leaders from the in-sync replicas, and the ISR shrinks.",
    ),
    Control(
        "b",
        "restart_broker",
        "Restart broker",
        "Restart broker",
        "The dead broker starts again: it fetches what it missed from the leaders, and rejoins the ISR once caught up.",
    ),
    Control(
        "a",
        "toggle_acks",
        "acks",
        "Tills acks=1 / all",
        "acks=1: the leader alone acknowledges a till's order, so writes go on with one node up; "
        "but an order acknowledged by one broker is lost if that broker dies before the followers copy it.",
    ),
    Control("n", "next_scenario", "Next", "Next scenario", "A new shop: the same roles, a different topic layout and group sizes."),
    Control("q", "quit", "Quit", "Quit", "Every client leaves its group before the shop closes, so nothing waits for a timeout.", on_page=False),
)
PAGE_CONTROLS = {control.name: control for control in CONTROLS if control.on_page}
# only on a cluster fishchips started: elsewhere the views leave them out, and say why (broker/node_controls.py)
BROKER_CONTROLS = ("kill_broker", "restart_broker", "toggle_acks")
SHARE_CONTROLS = ("stop_share_preparer",)  # only in a shop with a share group (demo6)
