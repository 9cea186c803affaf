"""The classroom across "machines": the teacher's broker and page on 127.0.0.2, each student a `fishchips join` process.

Linux routes all of 127.0.0.0/8 to the loopback, so 127.0.0.2 stands for the teacher's laptop: nothing of
the room listens on 127.0.0.1 but the broker's local port. The module starts its own class with the real
command, and the refusals are proven with plain confluent-kafka clients holding a student's credentials.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, AdminClient, NewTopic, ResourcePatternType, ResourceType
from tests.conftest import wait_for

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.classroom.code import JoinCode
from fishchips.classroom.student import join_settings
from fishchips.kafka.connect import local_settings
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.services.local_server import free_port

pytestmark = pytest.mark.kafka

TEACHER = "127.0.0.2"
PREFIX = "classroom"
FAST = 10.0  # seconds: the most a refused join may take to say so


def fishchips(args: list[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fishchips", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "400"},
        stdin=subprocess.DEVNULL,
    )


def one_line(result: subprocess.CompletedProcess[str], text: str) -> None:
    """Refused: exit code 1, no traceback, and the reason in one line."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert [line for line in output.splitlines() if text in line], output


class Room:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.broker = EmbeddedBroker(data)

    def listing(self) -> dict[str, object]:
        result = fishchips(["class", "list", "--json", "--data-dir", str(self.data)])
        assert result.returncode == 0, result.stderr
        listing: dict[str, object] = json.loads(result.stdout)
        return listing

    def code(self, name: str) -> str:
        students = self.listing()["students"]
        assert isinstance(students, list)
        return str(next(s["code"] for s in students if s["name"] == name))

    @property
    def teacher(self) -> ConnectionSettings:
        return local_settings(self.broker, self.broker.status())


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """`fishchips class start` on 127.0.0.2 for eight students; `fishchips class stop` at the end, whatever happens."""
    data = tmp_path_factory.mktemp("classroom") / "broker"
    ports = [str(free_port()) for _ in range(3)]
    start = ["class", "start", "--host", TEACHER, "--kafka-port", ports[0], "--page-port", ports[1], "--port", ports[2]]
    try:
        result = fishchips([*start, "--students", "8", "--partitions", "12", "--prefix", PREFIX, "--data-dir", str(data)], timeout=180)
        assert result.returncode == 0, result.stderr
        assert len([line for line in result.stdout.splitlines() if line.startswith("fishchips join ")]) == 8
        yield Room(data)
    finally:
        stopped = fishchips(["class", "stop", "--data-dir", str(data)])
        assert stopped.returncode == 0, stopped.stderr
    assert not EmbeddedBroker(data).status().running


def test_a_bad_code_is_one_line(room: Room) -> None:
    one_line(fishchips(["join", "not-a-code"]), "this is not a join code")


def test_an_unreachable_teacher_is_one_line_within_seconds(room: Room) -> None:
    code = JoinCode.decode(room.code("student-8"))
    began = time.monotonic()
    one_line(fishchips(["join", msgspec.structs.replace(code, page_port=free_port()).encode()]), "cannot reach your teacher's page")
    assert time.monotonic() - began < FAST


def test_a_ca_that_is_not_the_teachers_is_refused(room: Room) -> None:
    code = JoinCode.decode(room.code("student-8"))
    one_line(fishchips(["join", msgspec.structs.replace(code, fingerprint="A" * 43).encode()]), "is not your teacher's")


QUIET = {"logger": logging.getLogger("fishchips.tests.classroom")}  # the refused clients' complaints go to the log


def test_a_students_credentials_do_only_a_preparers_work(room: Room) -> None:
    """Plain confluent-kafka with student-8's credentials, as any program on their laptop could use them."""
    settings = join_settings(JoinCode.decode(room.code("student-8")), "preparer").client_config()
    topics = Topics(PREFIX)

    admin = AdminClient({**settings, **QUIET})
    with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
        admin.create_topics([NewTopic(f"{PREFIX}.mine", 1, 1)], request_timeout=10)[f"{PREFIX}.mine"].result()
    with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
        admin.delete_topics([topics.orders], request_timeout=10)[topics.orders].result()
    acl = AclBinding(ResourceType.TOPIC, "*", ResourcePatternType.LITERAL, "User:student-8", "*", AclOperation.ALL, AclPermissionType.ALLOW)
    with pytest.raises(KafkaException, match="AUTHORIZATION_FAILED"):
        admin.create_acls([acl], request_timeout=10)[acl].result()

    errors: list[str] = []
    producer = Producer({**settings, **QUIET, "error_cb": lambda e: errors.append(e.name())})
    producer.produce(topics.orders, b"not allowed", on_delivery=lambda err, msg: errors.append(err.name() if err else "delivered"))
    producer.flush(15)
    assert "TOPIC_AUTHORIZATION_FAILED" in errors, errors

    consumer = Consumer({**settings, **QUIET, "group.id": "another-group", "auto.offset.reset": "earliest"})
    consumer.subscribe([topics.served])
    try:
        refused = ""
        deadline = time.monotonic() + 15
        while not refused and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error():
                refused = message.error().name()
        assert refused in ("GROUP_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED"), refused
    finally:
        consumer.close()

    # a transaction's id is <group>.<role's name>: a student may use their own, never a teacher's or another's
    group = topics.group("preparers")
    for transactional_id, allowed in [("student-8", True), ("student-8.ann", True), ("preparer-1", False), ("student-80", False)]:
        producer = Producer({**settings, **QUIET, "transactional.id": f"{group}.{transactional_id}"})
        if allowed:
            producer.init_transactions(15)
        else:
            with pytest.raises(KafkaException, match="TRANSACTIONAL_ID_AUTHORIZATION_FAILED"):
                producer.init_transactions(15)


def joining(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fishchips", "join", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "400"},
        stdin=subprocess.DEVNULL,
    )


def test_students_take_serve_and_watch_orders_and_a_removed_one_is_stopped(room: Room) -> None:
    """student-5 watches (--as board), student-6 takes orders (--as till), student-7 serves them under the
    name they chose (--as preparer --name ann): each served record names its preparer. Then the teacher
    removes student-7, whose next request is refused: the preparer stops with one line."""
    topics = Topics(PREFIX)
    board = joining(room.code("student-5"), "--as", "board")
    till = joining(room.code("student-6"), "--as", "till")
    preparer = joining(room.code("student-7"), "--as", "preparer", "--name", "ann")
    students = [board, till, preparer]
    try:

        def served_by_ann() -> bool:
            assert all(p.poll() is None for p in students), [p.communicate()[0] for p in students if p.poll() is not None]
            return any(dict(m.headers() or []).get("preparer") == b"student-7.ann" for m in read_to_end(room.teacher, topics.served))

        wait_for(served_by_ann, 90, every=1)
        removed = fishchips(["class", "remove", "student-7", "--data-dir", str(room.data)])
        assert removed.returncode == 0 and "student-7 is removed" in removed.stderr, removed.stderr
        output = preparer.communicate(timeout=60)[0]
        assert preparer.returncode == 1 and "Traceback" not in output, output
        assert "not allowed" in output or "authori" in output.lower(), output
    finally:
        for student in students:
            if student.poll() is None:
                student.send_signal(signal.SIGINT)
    for student in (board, till):
        output = student.communicate(timeout=30)[0]
        assert student.returncode == 0, output


def test_a_started_room_keeps_its_students(room: Room, tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("ada\ngrace\n")
    state = room.listing()
    again = ["class", "start", "--host", TEACHER, "--kafka-port", str(state["kafka_port"]), "--page-port", str(state["page_port"])]
    one_line(fishchips([*again, "--names", str(names), "--data-dir", str(room.data)]), "this room already has its students")
    both = fishchips([*again, "--names", str(names), "--students", "2", "--data-dir", str(room.data)])
    assert both.returncode == 2 and "--students or --names, not both" in both.stderr


def test_reset_empties_the_room(room: Room) -> None:
    shown = fishchips(["class", "list", "--data-dir", str(room.data)])
    assert shown.returncode == 0 and "student-8" in shown.stdout, shown.stderr
    result = fishchips(["class", "reset", "--data-dir", str(room.data)])
    assert result.returncode == 0, result.stderr
    listing = fishchips(["class", "list", "--json", "--data-dir", str(room.data)])
    assert listing.returncode == 1 and "there is no room here" in listing.stderr
