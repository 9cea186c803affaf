"""Recovery beside the loop: calls that may never return are bounded, and clients are renewed after a fatal error.

Kafka's client documentation prescribes renewal for a fatal producer error (fenced, an invalid
transaction state): the producer is unusable and must be replaced. The new producer's
init_transactions fences the old one and aborts its open transaction; the new consumer joins
the group and reads from the last committed offsets. So a role carries on in its own process,
from the last commit, without the seconds a restarted process would cost.
"""

import logging
import threading
import time
from collections.abc import Callable

from fishchips.errors import FishchipsError
from fishchips.kafka import clients

log = logging.getLogger(__name__)

# seconds a role waits out an unreachable broker before it gives up: long enough for a broker's restart
# or a leader's election, short enough that a shop whose broker is gone for good says so
RETRY_FOR = 120.0
# librdkafka's transactional calls can block past their timeout (docs/chaos.md): this long past it, the clients are renewed.
# A call that times out by itself returns about 1.2 s past its timeout (6.2 s for 5 s); one caught in librdkafka's
# coordinator request never does. At 3 s past, those waits made the tail of a one-node recovery (docs/chaos.md).
STUCK_AFTER = clients.CALL_TIMEOUT + 1.5
RENEW_PAUSE = 0.5  # seconds between two renewals of a role's clients, so a broker that is down is not hammered


class Stuck(FishchipsError):
    """A Kafka call did not come back: its clients are given up and the role carries on with new ones."""


def bounded(call: Callable[[], object], seconds: float = STUCK_AFTER) -> None:
    """Run a call that should time out by itself, but may not.

    librdkafka's coordinator requests ignore their timeout while the coordinator's broker is
    down (librdkafka issue 5456; scripts/txn_offsets_after_restart.py shows it): a
    send_offsets_to_transaction made while a broker is dead returns only when that broker is
    back, and on a cluster, where the dead node leaves the metadata, possibly much later
    (issue 5511). A role that holds its partitions and does nothing meanwhile is worse than one
    that gives its clients up and carries on with new ones from the last commit.
    """
    outcome: list[BaseException | None] = []
    worker = threading.Thread(target=lambda: outcome.append(_caught(call)), daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise Stuck(f"a Kafka call did not return within {seconds:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]


def _caught(call: Callable[[], object]) -> BaseException | None:
    try:
        call()
    except BaseException as exc:  # handed back to the role's thread, which raises it there
        return exc
    return None


class Renewals:
    """A role's renewals of its clients: for a fault that passes, so RETRY_FOR s of them with no batch done is a failure."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.batches = -1  # batches done at the first renewal of this fault; none yet
        self.deadline = 0.0

    def renew(self, batches: int, cause: BaseException) -> None:
        """Note one renewal after `cause`, with `batches` done so far; raise once renewing no longer helps."""
        log.warning("%s: new Kafka clients carry on from the last commit, after: %s", self.name, cause)
        if batches != self.batches:  # work was done since the last renewal: a new fault, a new budget
            self.batches, self.deadline = batches, time.monotonic() + RETRY_FOR
        elif time.monotonic() > self.deadline:
            raise FishchipsError(f"{self.name}: Kafka clients renewed for {RETRY_FOR:.0f} s without a batch done")
