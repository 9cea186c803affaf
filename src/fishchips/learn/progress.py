"""A learner's progress: the step each lesson was left at, kept in the data dir between runs."""

import json
from pathlib import Path

from fishchips.paths import data_dir


def _file() -> Path:
    return data_dir() / "lessons.json"


def steps_reached() -> dict[str, int]:
    """Each lesson's step to go on from (0: the first), by the lesson's name; {} before any (or if unreadable)."""
    try:
        reached = json.loads(_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(name): step for name, step in reached.items() if isinstance(step, int)} if isinstance(reached, dict) else {}


def remember(lesson: str, step: int) -> None:
    reached = steps_reached() | {lesson: step}
    _file().parent.mkdir(parents=True, exist_ok=True)
    _file().write_text(json.dumps(reached, indent=2), encoding="utf-8")
