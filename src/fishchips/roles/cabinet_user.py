"""What a role that uses the hot cabinet shares: waiting out a Redis that is away, outside any transaction.

A Kafka transaction must not stay open while Redis is down (the broker would abort it after its
timeout, and the role would fail): so the role waits before it begins a batch, and a cabinet that
goes away mid-batch undoes the batch (roles.consuming), which is read again once the cabinet answers.
Nothing of an undone batch was committed, and a take or a trip done before the reply was lost is
refused the second time (stores.cabinet), so waiting and trying again never serves twice.
"""

import logging

from fishchips.events import Kind
from fishchips.roles.consuming import ConsumingRole
from fishchips.stores.cabinet import Cabinet, CabinetUnavailable, patiently

log = logging.getLogger(__name__)


class CabinetUser(ConsumingRole):
    @property
    def cabinet(self) -> Cabinet | None:
        """The shop's hot cabinet, or None in a shop without one (demo1-4)."""
        return self.context.cabinet

    def ready_for_batch(self) -> bool:
        if self.cabinet is None:
            return True
        try:
            patiently(self.cabinet.ping, self._stopping, self.waiting)
        except CabinetUnavailable:  # stopping while Redis is away: the batch stays in Kafka for whoever comes next
            return False
        return True

    def waiting(self, reason: str) -> None:
        """Say on screen (and in the log) why nothing moves."""
        log.warning("%s is waiting for the cabinet: %s", self.name, reason)
        self.emit(Kind.WAITING, detail=f"for the cabinet: {reason}")
