"""Every shipped lesson played headless by `fishchips learn --check` against the session's real broker,
its --json parsed; a teacher's own lesson file; the course listed; progress remembered."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import THREE_NODES_HOME

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.kafka.settings import ConnectionSettings
from fishchips.learn.lesson import find, load, shipped

CHECK_TIMEOUT = 180.0  # a lesson that hangs fails the test, it does not hold up the suite
CONNECT_LESSON = "14-kafka-connect"  # played in test_connect.py, beside the run's one Connect worker


def fishchips(args: list[str], data: Path, stdin: str = "", redis: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a data dir of its own; a shop with the hot cabinet uses the run's Redis (REDIS_URL), never one of its own."""
    env = {**os.environ, "FISHCHIPS_DATA_DIR": str(data), "COLUMNS": "300"} | ({"REDIS_URL": redis} if redis else {})
    command = [sys.executable, "-m", "fishchips", *args]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=CHECK_TIMEOUT, env=env)


def on_kafka(kafka: ConnectionSettings, prefix: str) -> list[str]:
    return ["-b", str(kafka.bootstrap_servers), "--prefix", prefix]


NODES = {name: load(path).nodes for name, path in shipped().items()}  # a lesson that kills a broker runs on three


def passed_every_step(result: subprocess.CompletedProcess[str], lesson: str) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    [report] = json.loads(result.stdout)
    assert report["lesson"] == lesson and report["passed"]
    assert all(step["passed"] and step["seconds"] >= 0 for step in report["steps"])
    assert [step["step"] for step in report["steps"]] == list(range(1, len(report["steps"]) + 1))
    print(f"\n{lesson}: steps {[step['seconds'] for step in report['steps']]} s")  # shown with -s: the durations the docs quote


@pytest.mark.parametrize("lesson", [name for name, nodes in NODES.items() if nodes == 1 and name != CONNECT_LESSON])
def test_each_lesson_passes_its_checks_against_kafka(
    kafka: ConnectionSettings, prefix: str, tmp_path: Path, lesson: str, request: pytest.FixtureRequest
) -> None:
    redis = request.getfixturevalue("redis_url") if find(lesson).scenario == "demo5" else None  # started only if a lesson needs it
    passed_every_step(fishchips(["learn", "--check", lesson, "--json", *on_kafka(kafka, prefix)], tmp_path, redis=redis), lesson)


@pytest.mark.slow  # it kills a node of the session's cluster, and starts it again
@pytest.mark.parametrize("lesson", [name for name, nodes in NODES.items() if nodes == 3])
def test_each_lesson_that_kills_a_broker_passes_its_checks_on_the_three_node_cluster(three_nodes: EmbeddedCluster, prefix: str, lesson: str) -> None:
    """As a learner runs it: no address, so the data dir's three-node cluster (the session's); the lesson restarts the node it kills."""
    passed_every_step(fishchips(["learn", "--check", lesson, "--json", "--prefix", prefix], THREE_NODES_HOME), lesson)
    assert all(node.running for node in three_nodes.status())


def test_a_lesson_that_kills_a_broker_given_one_broker_says_so_in_one_line(kafka: ConnectionSettings, prefix: str, tmp_path: Path) -> None:
    three = next(name for name, nodes in NODES.items() if nodes == 3)

    result = fishchips(["learn", "--check", three, *on_kafka(kafka, prefix)], tmp_path)

    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.startswith(f"✗ {three} needs 3 nodes, one of which it kills: leave out --bootstrap-servers"), result.stderr
    assert result.stderr.count("\n") == 1 and result.stdout == ""  # refused before any shop opened
    elsewhere = fishchips(["learn", "--check", "1", "--nodes", "3", *on_kafka(kafka, prefix)], tmp_path)
    assert elsewhere.returncode == 1 and "✗ --nodes 3 runs fishchips's own three-node cluster: leave out --bootstrap-servers" in elsewhere.stderr


def test_a_lesson_that_kafka_does_not_agree_to_fails_naming_the_step_and_hint(
    kafka: ConnectionSettings, prefix: str, tmp_path: Path
) -> None:
    own = tmp_path / "impossible.toml"
    own.write_text(
        'title = "Three preparers in a shop of one"\nscenario = "demo1"\nexample = "examples/preparer.py"\ndocs = "docs/design.md"\n\n'
        '[[steps]]\ntext = "There is one preparer."\nwatch = "preparers"\ncheck = "group_members"\nwithin = 3\n'
        'hint = "nobody added two more"\n[steps.params]\ngroup = "preparers"\ncount = 3\n'
    )

    result = fishchips(["learn", "--check", "--file", str(own), "--json", *on_kafka(kafka, prefix)], tmp_path)

    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    [report] = json.loads(result.stdout)
    assert not report["passed"] and report["steps"][0]["said"] == "preparers has 1 members"
    [line] = [line for line in result.stderr.splitlines() if line.startswith("✗")]
    assert "impossible step 1: group_members did not pass" in line and "nobody added two more" in line


def test_a_bad_lesson_file_is_refused_with_its_line(tmp_path: Path) -> None:
    own = tmp_path / "typo.toml"
    own.write_text(
        'title = "t"\nscenario = "demo1"\nexample = "e"\ndocs = "d"\n\n[[steps]]\ntext = "x"\nwatch = "lag"\naction = "add_tills"\n'
    )

    result = fishchips(["learn", "--check", "--file", str(own)], tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip().startswith("✗ typo.toml:9: step 1: unknown action 'add_tills'"), result.stderr


def test_the_course_is_listed_and_a_learner_goes_on_where_they_left(kafka: ConnectionSettings, prefix: str, tmp_path: Path) -> None:
    listed = json.loads(fishchips(["learn", "--json"], tmp_path).stdout)
    assert [lesson["name"] for lesson in listed] == list(shipped())
    assert listed[0]["reached"] == 0
    assert {lesson["name"]: lesson["nodes"] for lesson in listed} == NODES

    # step 1 played, `n` to step 2, played, `b` back to step 1, played again, `n`, played, `q`
    played = fishchips(["learn", "1", "--speed", "4", *on_kafka(kafka, prefix)], tmp_path, stdin="n\nb\nn\nq\n")

    assert played.returncode == 0, played.stdout + played.stderr
    assert played.stderr.count("✓ Kafka agrees") == 4, played.stderr
    assert "left at step 2" in played.stderr
    listed = json.loads(fishchips(["learn", "--json"], tmp_path).stdout)
    assert listed[0]["reached"] == 1
    assert "step 2 of 3" in fishchips(["learn", "1", "--speed", "4", *on_kafka(kafka, prefix)], tmp_path, stdin="q\n").stderr


def test_a_missing_lesson_file_or_a_lesson_named_twice_is_one_line(tmp_path: Path) -> None:
    missing = fishchips(["learn", "--file", str(tmp_path / "nowhere.toml")], tmp_path)
    both = fishchips(["learn", "1", "--file", str(tmp_path / "nowhere.toml")], tmp_path)
    unknown = fishchips(["learn", "99"], tmp_path)

    assert missing.returncode == 1 and missing.stderr.startswith(f"✗ {tmp_path / 'nowhere.toml'}: cannot read it"), missing.stderr
    assert both.returncode == 2 and "name a lesson or give --file, not both" in both.stderr
    assert unknown.returncode == 1 and unknown.stderr.startswith("✗ no lesson '99': choose one of 01-producer-topic-offset"), unknown.stderr
    for result in (missing, both, unknown):
        assert "Traceback" not in result.stdout + result.stderr


def test_a_fresh_run_shop_learn_opens_lesson_1(kafka: ConnectionSettings, test_home: Path) -> None:
    """`./run-shop.sh learn` as a newcomer types it: the data dir's broker (the session's: it says it runs already), then
    lesson 1's first step, checked against it; `q` ends it."""
    script = Path(__file__).parents[2] / "run-shop.sh"
    env = {**os.environ, "FISHCHIPS_DATA_DIR": str(test_home), "EXTRAS": "dev", "COLUMNS": "300"}  # dev: the venv the suite runs in

    result = subprocess.run([str(script), "learn"], input="q\n", capture_output=True, text=True, timeout=CHECK_TIMEOUT, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "A producer, a topic, an offset" in result.stderr and "step 1 of 3" in result.stderr
    assert "step 1: ✓ Kafka agrees" in result.stderr, result.stderr
