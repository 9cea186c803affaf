"""Playing a lesson beside a running shop: each step's action pressed, then its check polled until Kafka agrees.

The player opens the lesson's scenario through a ShopSession (the one object the page and the
terminal app open shops with); its checks read Kafka through the player's own admin client, asked afresh
each time (the views' watcher answers once a second, which is too late for a check).
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka.admin import AdminClient

from fishchips.errors import FishchipsError
from fishchips.events import ignore
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.learn.actions import ACTIONS, Shop
from fishchips.learn.checks import CHECKS, Kafka, Verdict, look
from fishchips.learn.lesson import Lesson, Step, params
from fishchips.scenarios import SCENARIOS
from fishchips.session import ShopSession
from fishchips.waiting import until

CHECK_EVERY = 0.25  # seconds between two looks at Kafka while a check waits


@dataclass(frozen=True)
class StepResult:
    """One step played: what was done, whether Kafka agreed in time, and how long it took."""

    number: int  # from 1
    did: str  # what the action did, in words ("" without one)
    check: str | None
    passed: bool
    said: str  # what Kafka said at the last look
    seconds: float
    hint: str

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.number,
            "did": self.did,
            "check": self.check,
            "passed": self.passed,
            "said": self.said,
            "seconds": self.seconds,
        }


class Player:
    """One lesson's shop, opened once; its steps played in any order, any number of times."""

    def __init__(self, lesson: Lesson, settings: ConnectionSettings, topics: Topics, speed: float) -> None:
        self.lesson = lesson
        self.session = ShopSession(SCENARIOS[lesson.scenario], settings, topics, ignore, speed=speed)
        self._admin: AdminClient | None = None  # made once the session has found (or started) the broker

    def open(self, notice: Callable[[str], None]) -> ShopFloor:
        """Open the lesson's shop (starting the embedded broker if need be, saying so to `notice`)."""
        floor = self.session.open(notice)
        if floor is None:
            raise FishchipsError("the lesson's shop closed as it opened")
        self._admin = clients.admin(self.session.settings)
        return floor

    def close(self) -> None:
        self.session.close()

    def play(self, index: int) -> StepResult:
        """Play step `index` (from 0): look at Kafka, press the action, then wait for the check."""
        step, floor = self.lesson.steps[index], self.session.floor
        if floor is None or self._admin is None:
            raise FishchipsError("the lesson's shop is not open")
        began = time.monotonic()
        kafka = Kafka(self.session, floor, self._admin, before=look(self._admin, self.session.topics))
        did = "; ".join(ACTIONS[step.action](Shop(self.session, floor), step.key) for _ in range(step.times)) if step.action else ""
        verdict = self._wait(kafka, step)
        return StepResult(index + 1, did, step.check, verdict.passed, verdict.said, round(time.monotonic() - began, 2), step.hint)

    def _wait(self, kafka: Kafka, step: Step) -> Verdict:
        """The check's verdict once it passes, or its last one after `within` s; a step without a check passes."""
        if step.check is None:
            return Verdict(True, "")
        check, arguments = CHECKS[step.check], params(step)
        last = [Verdict(False, "Kafka has not answered yet")]

        def agrees() -> bool:
            try:
                last[0] = check.run(kafka, arguments)
            except FishchipsError as exc:  # Kafka away a moment: not agreed yet
                last[0] = Verdict(False, str(exc))
            return last[0].passed

        until(agrees, timeout=step.within, every=CHECK_EVERY)
        return last[0]
