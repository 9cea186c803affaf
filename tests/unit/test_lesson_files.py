"""Lesson files: every shipped one reads; a mistake in one is a one-line error naming the file and its line."""

from pathlib import Path

import pytest

from fishchips.controls import CONTROLS
from fishchips.learn.actions import ACTIONS, CONTROL_ACTIONS
from fishchips.learn.checks import CHECKS
from fishchips.learn.lesson import WATCH, LessonError, find, parse, shipped
from fishchips.learn.lines import line_of

TOP = 'title = "Keys"\nscenario = "demo2"\nexample = "examples/till.py"\ndocs = "docs/design.md"\n'  # lines 1-4
STEP = (
    '\n[[steps]]\ntext = "Three orders with one key."\nwatch = "partitions"\naction = "take_order"\nkey = "cod"\n'
    'check = "same_key_same_partition"\nhint = "look again"\n[steps.params]\nkey = "cod"\nat_least = 3\n'
)  # lines 5-15 after TOP: [[steps]] on 6, action on 9, check on 11, [steps.params] on 13, key on 14, at_least on 15


def refused(text: str) -> str:
    with pytest.raises(LessonError) as error:
        parse(text, "my-lesson.toml", "my-lesson")
    assert "\n" not in str(error.value)
    return str(error.value)


def test_every_shipped_lesson_reads() -> None:
    for name in shipped():
        lesson = find(name)
        assert lesson.name == name and lesson.steps
        assert lesson.example.startswith("examples/") and lesson.docs.startswith("docs/")


def test_a_lesson_is_found_by_its_number() -> None:
    assert find("2").name == "02-partitions-and-keys"
    assert find("02").name == "02-partitions-and-keys"


def test_an_unknown_lesson_names_the_course() -> None:
    with pytest.raises(LessonError, match="no lesson 'ninety': choose one of 01-producer-topic-offset"):
        find("ninety")


def test_a_good_lesson_parses() -> None:
    lesson = parse(TOP + STEP, "my-lesson.toml", "my-lesson")
    assert lesson.steps[0].action == "take_order" and lesson.steps[0].params == {"key": "cod", "at_least": 3}


def test_the_lesson_actions_of_the_controls_are_named_as_in_controls_py() -> None:
    assert set(CONTROL_ACTIONS) <= {control.name for control in CONTROLS}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (
            TOP + STEP.replace('"take_order"', '"take_orders"'),
            "my-lesson.toml:9: step 1: unknown action 'take_orders': choose one of add_till",
        ),
        (
            TOP + STEP.replace('"same_key_same_partition"', '"same_key"'),
            "my-lesson.toml:11: step 1: unknown check 'same_key': choose one of",
        ),
        (TOP + STEP.replace('"partitions"', '"screen"'), "my-lesson.toml:8: step 1: unknown area to watch 'screen'"),
        (TOP + STEP.replace('text = "Three orders with one key."\n', ""), "my-lesson.toml:6: Object missing required field `text`"),
        (
            TOP + STEP.replace("at_least = 3", 'at_least = "three"'),
            "my-lesson.toml:15: step 1: same_key_same_partition: Expected `int`, got `str`",
        ),
        (
            TOP + STEP.replace("at_least = 3", "at_most = 3"),
            "my-lesson.toml:15: step 1: same_key_same_partition: Object contains unknown field `at_most`",
        ),
        (
            TOP + STEP.replace('key = "cod"\nat_least', 'key = "cod"\ngroup = 1\nat_least'),
            "my-lesson.toml:15: step 1: same_key_same_partition: Object contains unknown",
        ),
        (TOP + STEP.replace('hint = "look again"\n', ""), "my-lesson.toml:11: step 1: a step with a check needs a hint"),
        (TOP + STEP.replace('key = "cod"\ncheck', "check"), "my-lesson.toml:9: step 1: take_order needs a key"),
        (TOP + STEP + STEP.replace('text = "Three', 'txt = "Three'), "my-lesson.toml:18: Object contains unknown field `txt`"),
        (TOP.replace('"demo2"', '"demo9"') + STEP, "my-lesson.toml:2: unknown scenario 'demo9': choose one of demo1"),
        (TOP.replace('docs = "docs/design.md"\n', "") + STEP, "my-lesson.toml:1: Object missing required field `docs`"),
        (TOP.replace('title = "Keys"', "title = 3") + STEP, "my-lesson.toml:1: Expected `str`, got `int`"),
        (TOP + STEP.replace('watch = "partitions"', "watch = partitions"), "my-lesson.toml:8: not TOML"),
        # what kills a broker, or reads what only a broker's death shows, needs a lesson on three nodes
        (TOP + STEP.replace('"take_order"', '"kill_broker"'), "my-lesson.toml:9: step 1: kill_broker needs a lesson on three nodes"),
        (TOP + STEP.replace('"same_key_same_partition"', '"leaders_moved"'), "my-lesson.toml:11: step 1: leaders_moved needs a lesson on three"),
        (TOP + "nodes = 2\n" + STEP, "my-lesson.toml:5: Invalid enum value 2"),
    ],
)
def test_a_bad_lesson_is_refused_naming_its_line(text: str, error: str) -> None:
    assert refused(text).startswith(error)


def test_line_of_finds_a_key_in_the_nth_step_and_its_params() -> None:
    text = TOP + STEP + STEP
    assert line_of(text, ("scenario",)) == 2
    assert line_of(text, ("steps", 1)) == 17
    assert line_of(text, ("steps", 1, "check")) == 22
    assert line_of(text, ("steps", 1, "params", "at_least")) == 26
    assert line_of(text, ("steps", 5, "check")) == 1  # no such step: the start of the file


def test_docs_name_every_action_and_check() -> None:
    page = (Path(__file__).parents[2] / "docs" / "lessons.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in page for name in [*ACTIONS, *CHECKS, *WATCH])
