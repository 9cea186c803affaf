"""`fishchips learn`: Kafka learnt in the shop, a lesson at a time, each step checked against the broker.

With no lesson it lists the course; with one it plays it beside a running shop, a step at a time
(n next, b back, r retry, q quit), remembering where the learner got to. `--check` plays lessons
headless and fails, naming the step and its hint, if Kafka does not agree in time.
"""

import json
from pathlib import Path

import click
from rich.prompt import Prompt
from rich.table import Table

from fishchips.cli.console import BrokerProgress, console, out
from fishchips.cli.options import connection_options, nodes_option, prefix_option
from fishchips.cli.shop import local_cluster
from fishchips.errors import FishchipsError
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.learn import progress
from fishchips.learn.lesson import Lesson, find, load, shipped
from fishchips.learn.player import Player, StepResult, refuse_unless_killable

CHECK_SPEED = 4.0  # headless, the shop runs this much faster: each lesson well under a minute


@click.command()
@click.argument("lesson", required=False)
@click.option("--file", "lesson_file", type=click.Path(path_type=Path, dir_okay=False), help="A lesson file of your own (TOML).")
@click.option("--check", "headless", is_flag=True, help="Play headless, pressing the lesson's own controls; fail if a check does not pass.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the lessons, or with --check each step's result and duration.")
@click.option("--speed", type=float, help=f"The shop's speed [default: 1, with --check {CHECK_SPEED:g}].")
@nodes_option
@prefix_option
@connection_options
def learn(
    settings: ConnectionSettings,
    lesson: str | None,
    lesson_file: Path | None,
    headless: bool,
    as_json: bool,
    speed: float | None,
    prefix: str,
    nodes: int,
) -> None:
    """Learn Kafka step by step in the shop: list the lessons, play one, or check them against the broker."""
    if lesson and lesson_file:
        raise click.UsageError("name a lesson or give --file, not both")
    lessons = [load(lesson_file)] if lesson_file else [find(lesson)] if lesson else None
    if headless:
        check(lessons or [load(path) for path in shipped().values()], settings, Topics(prefix), speed or CHECK_SPEED, as_json, nodes)
    elif lessons:
        teach(lessons[0], on_nodes(lessons[0], settings, nodes), Topics(prefix), speed or 1.0)
    else:
        list_lessons(as_json)


def on_nodes(lesson: Lesson, settings: ConnectionSettings, nodes: int) -> ConnectionSettings:
    """Where the lesson's shop runs: with --nodes 3, or for a lesson that kills a broker unless told another cluster,
    fishchips's three-node cluster (started if need be); else where the settings say (Player.open refuses a lesson
    that kills a broker on a cluster fishchips did not start)."""
    if nodes == 3 or (lesson.nodes == 3 and settings.embedded):
        with BrokerProgress() as progress:
            return local_cluster(settings, progress)
    return settings


def list_lessons(as_json: bool) -> None:
    reached = progress.steps_reached()
    rows = [(lesson, reached.get(lesson.name, 0)) for lesson in map(load, shipped().values())]
    if as_json:
        listed = [{"name": one.name, "title": one.title, "steps": len(one.steps), "nodes": one.nodes, "reached": step} for one, step in rows]
        out.print_json(json.dumps(listed))
        return
    table = Table(title="fishchips learn LESSON (a name or its number)")
    for column in ("lesson", "title", "steps", "nodes", "reached"):
        table.add_column(column)
    for lesson, step in rows:
        table.add_row(lesson.name, lesson.title, str(len(lesson.steps)), str(lesson.nodes), f"step {step + 1}" if step else "")
    out.print(table)


def check(lessons: list[Lesson], settings: ConnectionSettings, topics: Topics, speed: float, as_json: bool, nodes: int = 1) -> None:
    """Play each lesson headless; after all, exit 1 naming the first step Kafka did not agree to."""
    plays = [(lesson, on_nodes(lesson, settings, nodes)) for lesson in lessons]
    for lesson, where in plays:  # before any is played: a course that cannot run whole says so at once
        refuse_unless_killable(lesson, where)
    reports, failed = [], []
    for lesson, where in plays:
        results = play_all(lesson, where, topics, speed)
        reports.append({"lesson": lesson.name, "passed": all(r.passed for r in results), "steps": [r.to_json() for r in results]})
        failed += [(lesson, result) for result in results if not result.passed][:1]
    if as_json:
        out.print_json(json.dumps(reports))
    if failed:
        lesson, result = failed[0]
        raise FishchipsError(f"{lesson.name} step {result.number}: {result.check} did not pass ({result.said}): {result.hint}")


def play_all(lesson: Lesson, settings: ConnectionSettings, topics: Topics, speed: float) -> list[StepResult]:
    """Every step in order, stopping at the first Kafka did not agree to."""
    console.print(f"[bold]{lesson.name}[/]: {lesson.title}", highlight=False)
    player = Player.own_shop(lesson, settings, topics, speed)
    results: list[StepResult] = []
    try:
        player.open(notice)
        for index in range(len(lesson.steps)):
            results.append(result := player.play(index))
            say(result)
            if not result.passed:
                break
    finally:
        player.close()
    return results


def notice(said: str) -> None:
    console.print(f"[dim]{said}[/]", highlight=False)


def say(result: StepResult) -> None:
    mark = "[green]✓ Kafka agrees[/]" if result.passed else f"[red]✗ not within time[/] ({result.hint})"
    did = f"{result.did}; " if result.did else ""
    console.print(f"  step {result.number}: {did}{mark}: {result.said} [dim]{result.seconds:.1f} s[/]", highlight=False)


def teach(lesson: Lesson, settings: ConnectionSettings, topics: Topics, speed: float) -> None:
    """A step at a time: read it, see it happen, see Kafka agree; then n, b, r or q. Where it stops is remembered."""
    console.print(f"[bold]{lesson.title}[/]  (the code: {lesson.example}; read next: {lesson.docs})", highlight=False)
    player = Player.own_shop(lesson, settings, topics, speed)
    index = min(progress.steps_reached().get(lesson.name, 0), len(lesson.steps) - 1)
    try:
        player.open(notice)
        while True:
            step = lesson.steps[index]
            console.print(f"\n[bold]step {index + 1} of {len(lesson.steps)}[/]  [cyan]watch: {step.watch}[/]\n{step.text}", highlight=False)
            say(player.play(index))
            try:
                choice = Prompt.ask("[n]ext, [b]ack, [r]etry or [q]uit", choices=["n", "b", "r", "q"], default="n", console=console)
            except EOFError:
                choice = "q"
            if choice == "q" or (choice == "n" and index == len(lesson.steps) - 1):
                break
            index = {"n": index + 1, "b": max(index - 1, 0), "r": index}[choice]
            progress.remember(lesson.name, index)
    finally:
        player.close()
    console.print(
        f"[green]{lesson.name}: done[/]"
        if index == len(lesson.steps) - 1
        else f"left at step {index + 1}: `fishchips learn {lesson.name}` goes on"
    )
