"""A lesson followed on a shop that people drive (the page): the step they are at, and Kafka's verdict on it.

Headless, the player plays a step in one go: look, press, wait. Here the learner presses the
step's action (the page's own control), so the follower cuts the step at the same joints: the
look as the step begins, the press (whoever makes it), then the same check, asked again in the
background until Kafka agrees. Every tab shows this one follower's step: a classroom follows
the teacher's. Where it is left is remembered, as `fishchips learn` remembers it.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fishchips.errors import FishchipsError
from fishchips.learn import progress
from fishchips.learn.checks import Kafka
from fishchips.learn.lesson import Step
from fishchips.learn.player import CHECK_EVERY, Player, verdict

State = Literal["waiting", "checking", "passed", "failed"]  # for the press, for Kafka, ✓, ✗ (not within the step's time)


@dataclass(frozen=True)
class Mark:
    """A step's verdict as the page shows it."""

    state: State
    said: str  # what Kafka said at the last look, or what the step waits for


class Follower:
    """The step a live shop's lesson is at, its verdict asked of Kafka every CHECK_EVERY seconds in a thread of its own."""

    def __init__(self, player: Player, changed: Callable[[], None]) -> None:
        self.player = player
        self.lesson = player.lesson
        self._changed = changed  # a mark moved: the page redraws
        self._lock = threading.Lock()
        self.index = min(progress.steps_reached().get(self.lesson.name, 0), len(self.lesson.steps) - 1)  # where it was left
        self._visit = 0  # counts every move to a step: a look begun before a move is not marked after it
        self._kafka: Kafka | None = None  # the look as the step began (None: not taken yet)
        self._since = 0.0  # when the check's time began: the press, or the look for a step with nothing to press
        self._pressed = False
        self.marks: dict[int, Mark] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    def start(self) -> None:
        """Follow from now on (the shop is open); again after a close does nothing."""
        if self._thread is None and not self._stopping.is_set():
            self._thread = threading.Thread(target=self._follow, name="lesson-follow", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        self.player.release()

    def go(self, number: int) -> str:
        """Move to step `number` (from 1), or play the one it is at again: its verdict is asked afresh."""
        if not 1 <= number <= len(self.lesson.steps):
            raise FishchipsError(f"{self.lesson.name} has steps 1 to {len(self.lesson.steps)}, not {number}")
        kafka = self.player.begin()
        with self._lock:
            self.index, self._visit, self._kafka = number - 1, self._visit + 1, kafka
            self._since, self._pressed = time.monotonic(), False
            self.marks.pop(self.index, None)
        progress.remember(self.lesson.name, self.index)
        self._changed()
        return f"step {number} of {len(self.lesson.steps)}: {self.step.text}"

    def pressed(self, action: str) -> None:
        """A control was pressed (on the page, by anyone): if it is the step's action, its check's time begins."""
        with self._lock:
            if self.step.action == action and not self._pressed:
                self._since, self._pressed = time.monotonic(), True

    def act(self) -> str:
        """Press the step's action the lesson's own way (for one the page has no control for)."""
        with self._lock:
            kafka, step = self._kafka, self.step
        if kafka is None:
            raise FishchipsError("the lesson has not looked at Kafka yet: press it again in a moment")
        said = self.player.act(kafka, step)
        self.pressed(str(step.action))
        return said

    def _follow(self) -> None:
        while not self._stopping.wait(CHECK_EVERY):
            try:
                self._look()
            except FishchipsError:
                continue  # the shop between two scenarios, Kafka away a moment: look again next time

    def _look(self) -> None:
        """One look: take the step's first look if it has none, else ask its check (until it has passed)."""
        with self._lock:
            visit, kafka, step, since, pressed = self._visit, self._kafka, self.step, self._since, self._pressed
            done = self.marks.get(self.index, Mark("waiting", "")).state == "passed"
        if kafka is None or kafka.floor is not self.player.session.floor:  # not looked yet, or another shop opened since
            kafka = self.player.begin()
            with self._lock:
                if visit == self._visit:
                    self._kafka, self._since = kafka, time.monotonic()
            return
        if done:
            return
        if step.action is not None and not pressed:
            self._mark(visit, Mark("waiting", f"press {step.action}"))
            return
        seen = verdict(kafka, step)
        late = time.monotonic() - since > step.within
        self._mark(visit, Mark("passed" if seen.passed else "failed" if late else "checking", seen.said))

    def _mark(self, visit: int, mark: Mark) -> None:
        with self._lock:
            if visit != self._visit or self.marks.get(self.index) == mark:
                return
            self.marks[self.index] = mark
        self._changed()

    def to_json(self) -> dict[str, object]:
        """The lesson as the page draws it: every step, each with its mark, and the one it is at."""
        with self._lock:
            marks = dict(self.marks)
            index = self.index
        lesson = self.lesson
        steps = [
            {"text": s.text, "watch": s.watch, "action": s.action, "key": s.key, "check": s.check, "hint": s.hint}
            | ({"mark": marks[i].state, "said": marks[i].said} if i in marks else {"mark": "", "said": ""})
            for i, s in enumerate(lesson.steps)
        ]
        return {"name": lesson.name, "title": lesson.title, "example": lesson.example, "docs": lesson.docs, "step": index + 1, "steps": steps}
