"""Playing a lesson beside a running shop: each step's action pressed, then its check polled until Kafka agrees.

The player plays a lesson on a ShopSession (the one object the page and the terminal app open
shops with): its own, headless, or the page's (follow.py). Its checks read Kafka through the
player's own admin client, asked afresh each time (the views' watcher answers once a second,
which is too late for a check).
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
    """One lesson's steps played on a shop session, in any order, any number of times.

    A step is played at three joints: `begin` (Kafka as the step begins: what its checks compare
    with), `act` (its action pressed), `verdict` (its check, once). `play` does all three at once,
    headless; the page (follow.py) lets the learner press the action, and asks for verdicts itself.
    """

    def __init__(self, lesson: Lesson, session: ShopSession) -> None:
        self.lesson = lesson
        self.session = session
        self._admin: AdminClient | None = None  # made once the session has found (or started) the broker

    @classmethod
    def own_shop(cls, lesson: Lesson, settings: ConnectionSettings, topics: Topics, speed: float) -> "Player":
        """A player with a shop of its own, in the lesson's scenario (the shop `fishchips learn` plays on)."""
        return cls(lesson, ShopSession(SCENARIOS[lesson.scenario], settings, topics, ignore, speed=speed))

    def open(self, notice: Callable[[str], None]) -> ShopFloor:
        """Open the lesson's shop (starting the embedded broker if need be, saying so to `notice`)."""
        floor = self.session.open(notice)
        if floor is None:
            raise FishchipsError("the lesson's shop closed as it opened")
        return floor

    def close(self) -> None:
        self.session.close()

    def begin(self) -> Kafka:
        """Kafka as a step begins, on the shop open now: what the step's check reads, and compares with."""
        floor = self.session.floor
        if floor is None:
            raise FishchipsError("the lesson's shop is not open")
        if self._admin is None:
            self._admin = clients.admin(self.session.settings)
        return Kafka(self.session, floor, self._admin, before=look(self._admin, self.session.topics))

    def act(self, kafka: Kafka, step: Step) -> str:
        """Press the step's action (`times` times); what happened, in words ("" for a step without one)."""
        if step.action is None:
            return ""
        return "; ".join(ACTIONS[step.action](Shop(self.session, kafka.floor), step.key) for _ in range(step.times))

    def play(self, index: int) -> StepResult:
        """Play step `index` (from 0): look at Kafka, press the action, then wait for the check."""
        step = self.lesson.steps[index]
        began = time.monotonic()
        kafka = self.begin()
        did = self.act(kafka, step)
        last = [Verdict(False, "Kafka has not answered yet")]

        def agrees() -> bool:
            last[0] = verdict(kafka, step)
            return last[0].passed

        until(agrees, timeout=step.within, every=CHECK_EVERY)
        return StepResult(index + 1, did, step.check, last[0].passed, last[0].said, round(time.monotonic() - began, 2), step.hint)


def verdict(kafka: Kafka, step: Step) -> Verdict:
    """The step's check, asked once; a step without a check passes, and Kafka away a moment has not agreed yet."""
    if step.check is None:
        return Verdict(True, "")
    try:
        result: Verdict = CHECKS[step.check].run(kafka, params(step))
    except FishchipsError as exc:
        return Verdict(False, str(exc))
    return result
