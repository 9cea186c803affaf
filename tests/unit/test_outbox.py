"""A role process's outbox: its events go home in batches, and a full one makes the role wait for the floor."""

import threading
from collections import Counter
from multiprocessing import Pipe

from fishchips.events import Kind, RoleKind, ShopEvent
from fishchips.runtime import child


def test_a_full_outbox_holds_the_role_until_its_batch_has_gone_so_no_batch_outgrows_it() -> None:
    home, away = Pipe(duplex=False)
    batches: list[int] = []

    def read_two_batches() -> None:  # the floor's side: a pipe holds only so much until it is read
        for _ in range(2):
            events, _ = child.decode(home.recv_bytes())
            batches.append(len(events))

    reader = threading.Thread(target=read_two_batches, daemon=True)
    reader.start()
    outbox = child.Outbox(away, Counter(took=1))
    event = ShopEvent("till-1", RoleKind.TILL, Kind.TOOK)
    for _ in range(child.MAX_WAITING):
        outbox.add(event)
    added = threading.Event()

    def add_one_more() -> None:
        outbox.add(event)
        added.set()

    threading.Thread(target=add_one_more, daemon=True).start()

    assert not added.wait(0.5)  # the role waits ...
    outbox.send()
    assert added.wait(10)  # ... until the batch has gone home
    outbox.send()
    reader.join(10)
    assert batches == [child.MAX_WAITING, 1]
