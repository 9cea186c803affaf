"""Playing a lesson beside a running shop: each step's action pressed, then its check polled until Kafka agrees.

The player plays a lesson on a ShopSession (the one object the page and the terminal app open
shops with): its own, headless, or the page's (follow.py). Its checks read Kafka through the
player's own admin client, asked afresh each time (the views' watcher answers once a second,
which is too late for a check). On a cluster whose nodes the lesson kills, a client in this
process could be aborted by librdkafka as it meets the dead node (docs/chaos.md), so there the
checks look from a process of their own, new for each look (ApartEyes).
"""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka.admin import AdminClient

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.node_controls import NodeControls
from fishchips.errors import FishchipsError
from fishchips.events import ignore
from fishchips.floor import ShopFloor
from fishchips.kafka import clients
from fishchips.kafka.inspect import ClusterView
from fishchips.kafka.replication import ReplicationView, read_replication
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.kafka.watcher import Question, Sight, look_once
from fishchips.learn.actions import ACTIONS, Shop
from fishchips.learn.checks import CHECKS, Eyes, Kafka, Verdict, group_names, look, topic_names
from fishchips.learn.lesson import Lesson, LessonError, Step, params
from fishchips.scenarios import SCENARIOS
from fishchips.session import ShopSession
from fishchips.spawning import Kept
from fishchips.waiting import until

CHECK_EVERY = 0.25  # seconds between two looks at Kafka while a check waits
R = TypeVar("R")
BEGIN_WITHIN = 30.0  # seconds Kafka's view has to answer as a step begins


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


def refuse_unless_killable(lesson: Lesson, settings: ConnectionSettings, local_cluster: EmbeddedCluster | None = None) -> None:
    """A lesson that kills a broker runs only on the three-node cluster fishchips started: elsewhere, one line says so."""
    where = settings.bootstrap_servers
    if lesson.nodes > 1 and not NodeControls.find(where, local_cluster).available:
        raise LessonError(
            f"{lesson.name} needs {lesson.nodes} nodes, one of which it kills: leave out --bootstrap-servers "
            f"and it runs on fishchips's own three-node cluster (`fishchips broker start --nodes 3`), not on {where or 'one broker'}"
        )


@dataclass(frozen=True)
class AdminEyes:
    """Kafka seen through an admin client in this process: on a broker, or a cluster no lesson kills a node of."""

    admin: AdminClient
    topics: Topics

    def view(self) -> ClusterView:
        return look(self.admin, self.topics)

    def replication(self) -> ReplicationView:
        return read_replication(self.admin, topic_names(self.topics))

    def run(self, call: Callable[[], R]) -> R:
        return call()

    def close(self) -> None:
        pass


class ApartEyes:
    """Kafka seen from a process of its own, through a client made for each look: on a cluster whose nodes the lesson
    kills. Its metadata is fresh (a client that lived through the kill asks the dead leader until it learns better,
    10 s and more), and librdkafka's abort, if it comes, ends that process only (docs/chaos.md)."""

    def __init__(self, session: ShopSession) -> None:
        self.session = session
        self._kept = Kept()

    def _sight(self, topics: list[str], groups: list[str]) -> Sight:
        shop = self.session.topics
        question = Question(tuple(topics), tuple(groups), (shop.orders, shop.cook, shop.served), (), (), tuple(self.session.nodes.nodes()))
        return self._kept(functools.partial(look_once, self.session.settings, question))

    def view(self) -> ClusterView:
        sight = self._sight(topic_names(self.session.topics), group_names(self.session.topics))
        if sight.kafka is None:
            raise FishchipsError(sight.problem)
        return sight.kafka

    def replication(self) -> ReplicationView:
        return self._sight([], []).replication  # the brokers and replicas only: no offsets asked of a dead leader

    def run(self, call: Callable[[], R]) -> R:
        return self._kept(call)

    def close(self) -> None:
        self._kept.close()


class Player:
    """One lesson's steps played on a shop session, in any order, any number of times.

    A step is played at three joints: `begin` (Kafka as the step begins: what its checks compare
    with), `act` (its action pressed), `verdict` (its check, once). `play` does all three at once,
    headless; the page (follow.py) lets the learner press the action, and asks for verdicts itself.
    """

    def __init__(self, lesson: Lesson, session: ShopSession) -> None:
        self.lesson = lesson
        self.session = session
        self._eyes: AdminEyes | ApartEyes | None = None  # found once the session has found (or started) the broker

    @classmethod
    def own_shop(cls, lesson: Lesson, settings: ConnectionSettings, topics: Topics, speed: float) -> "Player":
        """A player with a shop of its own, in the lesson's scenario (the shop `fishchips learn` plays on)."""
        return cls(lesson, ShopSession(SCENARIOS[lesson.scenario], settings, topics, ignore, speed=speed))

    def open(self, notice: Callable[[str], None]) -> ShopFloor:
        """Open the lesson's shop (starting the embedded broker if need be, saying so to `notice`); a lesson that kills a
        broker is refused in one line unless its shop runs on the three-node cluster fishchips started."""
        refuse_unless_killable(self.lesson, self.session.settings, self.session.local_cluster)
        floor = self.session.open(notice)
        if floor is None:
            raise FishchipsError("the lesson's shop closed as it opened")
        return floor

    def close(self) -> None:
        self.session.close()
        self.release()

    def release(self) -> None:
        """Let go of the eyes (the process they keep, on three nodes); the next step finds them again."""
        eyes, self._eyes = self._eyes, None
        if eyes is not None:
            eyes.close()

    def begin(self) -> Kafka:
        """Kafka as a step begins, on the shop open now: what the step's check reads, and compares with."""
        floor = self.session.floor
        if floor is None:
            raise FishchipsError("the lesson's shop is not open")
        if self._eyes is None:
            killable = self.session.nodes.available
            self._eyes = ApartEyes(self.session) if killable else AdminEyes(clients.admin(self.session.settings), self.session.topics)
        return Kafka(self.session, floor, self._eyes, before=self._before(self._eyes))

    @staticmethod
    def _before(eyes: Eyes) -> ClusterView:
        """Kafka as the step begins; with a broker just killed, asked again until it answers (a moment, once its leaders moved)."""
        seen: list[ClusterView] = []
        said = ["Kafka has not answered yet"]

        def answered() -> bool:
            try:
                seen.append(eyes.view())
            except FishchipsError as exc:
                said[0] = str(exc)
            return bool(seen)

        if not until(answered, timeout=BEGIN_WITHIN, every=CHECK_EVERY):
            raise FishchipsError(f"Kafka's view could not be read within {BEGIN_WITHIN:.0f} s: {said[0]}")
        return seen[0]

    def act(self, kafka: Kafka, step: Step) -> str:
        """Press the step's action (`times` times); what happened, in words ("" for a step without one)."""
        if step.action is None:
            return ""
        return "; ".join(ACTIONS[step.action](Shop(self.session, kafka.floor, kafka.eyes), step.key) for _ in range(step.times))

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
