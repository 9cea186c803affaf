"""A lesson file, read and checked: its schema, and a one-line error naming the file and line of a mistake.

tomllib reads the file, msgspec converts it strictly to `Lesson` (a missing or unknown key, a
number for a word), and then each step's names are checked against the fixed lists: the
actions (actions.py), the checks (checks.py) with their parameters, and the areas to watch.
"""

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import msgspec

from fishchips.errors import FishchipsError
from fishchips.learn.actions import ACTIONS, THREE_NODE_ACTIONS
from fishchips.learn.checks import CHECKS
from fishchips.learn.lines import line_of
from fishchips.scenarios import SCENARIOS

# the named areas of the screen a step points at (the page and the terminal app show each)
WATCH = (
    "tills", "orders", "partitions", "preparers", "lag", "cook", "board", "late_reader", "dead_letters", "kafka", "brokers", "groups", "cabinet",
)


class LessonError(FishchipsError):
    """A lesson file that cannot be played: the message names the file and the line."""


class Step(msgspec.Struct, forbid_unknown_fields=True):
    text: str  # what is about to happen, and why it matters
    watch: str  # one of WATCH
    action: str | None = None  # one of ACTIONS: the lesson presses it
    times: int = 1  # how often it presses it
    key: str = ""  # the order's key, for take_order
    check: str | None = None  # one of CHECKS
    params: dict[str, Any] = {}
    within: float = 30.0  # seconds the check has to pass
    hint: str = ""  # said if it does not


class Lesson(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    scenario: str  # the shop it runs in (scenarios.py)
    example: str  # the file in examples/ that does what it shows
    docs: str  # the docs page to read next
    steps: list[Step]
    nodes: Literal[1, 3] = 1  # 3: it kills a broker, so it runs on fishchips's three-node cluster (its checks of replication need it)
    name: str = ""  # the file's stem, filled in on loading


def shipped() -> dict[str, Path]:
    """The lessons in the package, by name (the file's stem), in course order."""
    folder = resources.files("fishchips") / "lessons"
    return {
        Path(item.name).stem: Path(str(item))
        for item in sorted(folder.iterdir(), key=lambda item: item.name)
        if item.name.endswith(".toml")
    }


def find(name: str) -> Lesson:
    """A shipped lesson by name, or by its number (`3` for 03-...)."""
    lessons = shipped()
    matches = [n for n in lessons if n == name or n.split("-")[0].lstrip("0") == name.lstrip("0")]
    if len(matches) != 1:
        raise LessonError(f"no lesson {name!r}: choose one of {', '.join(lessons)}")
    return load(lessons[matches[0]])


def load(path: Path) -> Lesson:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LessonError(f"{path}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LessonError(f"{path}: cannot read it: not UTF-8 text") from None
    return parse(text, path.name, path.stem)


def parse(text: str, where: str, name: str) -> Lesson:
    """The lesson in `text`, checked; LessonError "where:line: what is wrong" if it is not a lesson."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise LessonError(f"{where}:{line.group(1) if line else 1}: not TOML: {exc}") from None
    try:
        lesson = msgspec.convert(data, Lesson, strict=True)
    except msgspec.ValidationError as exc:
        message, path = _where(str(exc))
        raise LessonError(f"{where}:{line_of(text, path)}: {message}") from None
    lesson.name = name
    if lesson.scenario not in SCENARIOS:
        raise LessonError(
            f"{where}:{line_of(text, ('scenario',))}: unknown scenario {lesson.scenario!r}: choose one of {', '.join(SCENARIOS)}"
        )
    for number, step in enumerate(lesson.steps):
        for problem, key in _problems(step, lesson.nodes):
            raise LessonError(f"{where}:{line_of(text, ('steps', number, *key))}: step {number + 1}: {problem}")
    return lesson


def _problems(step: Step, nodes: int) -> list[tuple[str, tuple[str, ...]]]:
    """What is wrong with a step's names, each with the key it is at (the first is reported)."""
    problems: list[tuple[str, tuple[str, ...]]] = []
    if step.action in THREE_NODE_ACTIONS and nodes < 3:
        problems.append((f"{step.action} needs a lesson on three nodes: add `nodes = 3` at its top", ("action",)))
    if step.watch not in WATCH:
        problems.append((f"unknown area to watch {step.watch!r}: choose one of {', '.join(WATCH)}", ("watch",)))
    if step.action is not None and step.action not in ACTIONS:
        problems.append((f"unknown action {step.action!r}: choose one of {', '.join(ACTIONS)}", ("action",)))
    if step.action == "take_order" and not step.key:
        problems.append(("take_order needs a key", ("action",)))
    if step.check is None:
        return problems
    if step.check not in CHECKS:
        return [*problems, (f"unknown check {step.check!r}: choose one of {', '.join(CHECKS)}", ("check",))]
    if CHECKS[step.check].nodes > nodes:
        problems.append((f"{step.check} needs a lesson on three nodes: add `nodes = 3` at its top", ("check",)))
    if not step.hint:
        problems.append(("a step with a check needs a hint, said if it does not pass", ("check",)))
    try:
        msgspec.convert(step.params, CHECKS[step.check].params, strict=True)
    except msgspec.ValidationError as exc:
        message, path = _where(str(exc))
        problems.append((f"{step.check}: {message}", ("params", *(str(part) for part in path))))
    return problems


def _where(error: str) -> tuple[str, tuple[str | int, ...]]:
    """msgspec's "what - at `$.steps[1].text`" as the message and the path (an unknown field's name ends it)."""
    message, _, at = error.partition(" - at `$")
    path: list[str | int] = [int(part) if part.isdigit() else part for part in re.findall(r"\w+", at)]
    if unknown := re.search(r"unknown field `(\w+)`", message):
        path.append(unknown.group(1))
    return message, tuple(path)


def params(step: Step) -> msgspec.Struct:
    """The step's check parameters as its check's Struct (parse has checked they convert)."""
    assert step.check is not None
    converted: msgspec.Struct = msgspec.convert(step.params, CHECKS[step.check].params, strict=True)
    return converted
