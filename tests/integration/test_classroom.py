"""The classroom across "machines": the teacher's broker and page on 127.0.0.2, each student a `fishchips join` process.

Linux routes all of 127.0.0.0/8 to the loopback, so 127.0.0.2 stands for the teacher's laptop: nothing of
the room listens on 127.0.0.1 but the broker's local port. The module starts its own class with the real
command, and the refusals are proven with plain confluent-kafka clients holding a student's credentials.
"""

import json
import logging
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)
from playwright.sync_api import sync_playwright
from tests.conftest import wait_for
from tests.integration.test_web_browser import CHROMIUM_FLAGS, chromium

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.broker.jars import libs_dir
from fishchips.broker.java import find_java
from fishchips.classroom.accounts import teacher_settings
from fishchips.classroom.code import JoinCode, JoinError
from fishchips.classroom.student import TIMEOUT, await_rights, join_settings
from fishchips.kafka import clients
from fishchips.kafka.acls import every_acl_of, shown
from fishchips.kafka.connect import local_settings
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.ledger import check, read_orders
from fishchips.services.local_server import free_port
from fishchips.shop import Menu

pytestmark = pytest.mark.kafka

TEACHER = "127.0.0.2"
PREFIX = "classroom"
FAST = TIMEOUT + 5.0  # seconds: the most an unreachable teacher may add to a refused join before it says so
STUDENTS = 14  # student-5 to -8 for the three roles and the refusals, student-9 to -14 for six preparers


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
    def __init__(self, data: Path, kafka_port: int, page_port: int) -> None:
        self.data = data
        self.kafka_port, self.page_port = kafka_port, page_port
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


def on_page(room: Room, path: str, body: dict[str, object] | None = None, token: str = "") -> tuple[int, dict[str, object]]:
    """A request to the room's page over HTTPS, verified with the room's CA; its status and its JSON."""
    url = f"https://{TEACHER}:{room.page_port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"X-Fishchips-Token": token} if token else {})}
    context = ssl.create_default_context(cafile=str(room.broker.tls_files.ca))
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=30, context=context) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def teachers_token(room: Room) -> str:
    return str(room.listing()["teachers_page"]).split("?token=")[1]


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    """`fishchips class start` on 127.0.0.2 for fourteen students; `fishchips class stop` at the end, whatever happens."""
    data = tmp_path_factory.mktemp("classroom") / "broker"
    ports = [str(free_port()) for _ in range(3)]
    start = ["class", "start", "--host", TEACHER, "--kafka-port", ports[0], "--page-port", ports[1], "--port", ports[2]]
    try:
        result = fishchips(
            [*start, "--students", str(STUDENTS), "--partitions", "12", "--prefix", PREFIX, "--data-dir", str(data)], timeout=180
        )
        assert result.returncode == 0, result.stderr
        assert len([line for line in result.stdout.splitlines() if line.startswith("fishchips join ")]) == STUDENTS
        yield Room(data, int(ports[0]), int(ports[1]))
    finally:
        stopped = fishchips(["class", "stop", "--data-dir", str(data)])
        assert stopped.returncode == 0, stopped.stderr
    assert not EmbeddedBroker(data).status().running


def test_a_bad_code_is_one_line(room: Room) -> None:
    one_line(fishchips(["join", "not-a-code"]), "this is not a join code")


def timed(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    return fishchips(args), time.monotonic() - began


def test_an_unreachable_teacher_is_one_line_within_seconds(room: Room) -> None:
    """No hang: at most the join's own timeout longer than a refusal that needs no network. Measured against that
    refusal, not the clock alone: on a loaded machine starting Python itself took 11 s (load average 18 on 2 cores)."""
    code = JoinCode.decode(room.code("student-8"))
    _, offline = timed(["join", "not-a-code"])
    result, unreachable = timed(["join", msgspec.structs.replace(code, page_port=free_port()).encode()])
    one_line(result, "cannot reach your teacher's page")
    assert unreachable - offline < FAST, (unreachable, offline)


def test_a_ca_that_is_not_the_teachers_is_refused(room: Room) -> None:
    code = JoinCode.decode(room.code("student-8"))
    one_line(fishchips(["join", msgspec.structs.replace(code, fingerprint="A" * 43).encode()]), "is not your teacher's")


QUIET = {"logger": logging.getLogger("fishchips.tests.classroom")}  # the refused clients' complaints go to the log


def test_a_students_credentials_do_only_a_preparers_work(room: Room, tmp_path: Path) -> None:
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
    # nor read the rules (the answer holds none, not even their own), nor take another's away, nor read or change another's login
    assert admin.describe_acls(every_acl_of("User:student-1"), request_timeout=10).result() == []
    assert admin.describe_acls(every_acl_of("User:student-8"), request_timeout=10).result() == []
    assert shown(clients.admin(room.teacher), ["User:student-8"])  # while the teacher sees them
    # (Kafka's own tools for these: confluent-kafka 2.16 aborted the test's process on a refused DescribeUserScramCredentials)
    refused_by_kafkas_own_tools(room, settings, tmp_path)

    errors: list[str] = []
    producer = Producer({**settings, **QUIET, "error_cb": lambda e: errors.append(e.name())})
    producer.produce(topics.orders, b"not allowed", on_delivery=lambda err, msg: errors.append(err.name() if err else "delivered"))
    producer.flush(15)
    assert "TOPIC_AUTHORIZATION_FAILED" in errors, errors

    # nor read what the board reads, nor read orders outside the preparers' group (where the teacher sees them)
    for topic, group in [(topics.served, "another-group"), (topics.orders, "student-8s-own")]:
        consumer = Consumer({**settings, **QUIET, "group.id": group, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        try:
            refused = ""
            deadline = time.monotonic() + 15
            while not refused and time.monotonic() < deadline:
                message = consumer.poll(0.5)
                if message is not None and message.error():
                    refused = message.error().name()
            assert refused in ("GROUP_AUTHORIZATION_FAILED", "TOPIC_AUTHORIZATION_FAILED"), (topic, refused)
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


def test_a_student_plays_once_every_leader_lets_them_see_the_shop(room: Room) -> None:
    """`join` waits until each broker leading a partition of the shop shows it to the student (on three nodes each applies
    the student's new ACLs in its own time): the teacher's shop shows at once, a shop the student has no rights in never."""
    admin = clients.admin(join_settings(JoinCode.decode(room.code("student-2")), "till"))
    await_rights(admin, Topics(PREFIX), timeout=30)
    started = time.monotonic()
    with pytest.raises(JoinError, match=r"the teacher's shop \(another-shop.orders, .*\) is still hidden from you after 2 s"):
        await_rights(admin, Topics("another-shop"), timeout=2)
    assert time.monotonic() - started < FAST


def refused_by_kafkas_own_tools(room: Room, settings: dict[str, str], folder: Path) -> None:
    """Kafka's own command-line tools, from the broker's jars, with the student's login: each refused.
    They take another student's rules away, read and change another student's SCRAM login, and write an order."""
    login = folder / "student.properties"
    login.write_text(
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nssl.truststore.type=PEM\ndefault.api.timeout.ms=120000\n"
        f"ssl.truststore.location={settings['ssl.ca.location']}\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{settings["sasl.username"]}" password="{settings["sasl.password"]}";\n'
    )
    admin = ["--bootstrap-server", settings["bootstrap.servers"], "--command-config", str(login)]
    users = ["--entity-type", "users", "--entity-name", "student-1"]
    orders = Topics(PREFIX).orders
    tools = {
        "remove another's ACLs": ["AclCommand", *admin, "--remove", "--force", "--allow-principal", "User:student-1", "--topic", orders],
        "read another's login": ["ConfigCommand", *admin, "--describe", *users],
        "change another's login": ["ConfigCommand", *admin, "--alter", *users, "--add-config", "SCRAM-SHA-512=[password=taken-over]"],
        "write an order": ["ConsoleProducer", admin[0], admin[1], "--producer.config", str(login), "--topic", orders, "--sync"],
    }
    java, classpath = str(find_java().path), f"{libs_dir(room.broker.cache)}/*"
    for what, (tool, *args) in tools.items():  # one after another: four JVMs at once time out on a loaded 2-core machine
        command = [java, "-cp", classpath, f"org.apache.kafka.tools.{tool}", *args]
        output = subprocess.run(command, input='{"not": "an order"}\n', stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180).stdout
        said = next((line for line in output.splitlines() if "Exception" in line), output[-800:])
        assert "AuthorizationException" in said, (what, said)  # ClusterAuthorizationException, or TopicAuthorizationException


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


def holders(room: Room) -> dict[str, set[int]]:
    """Kafka's own view of the preparers' group: each member (its client id is the student's user) and its partitions of orders."""
    topics = Topics(PREFIX)
    group = topics.group("preparers")
    admin = clients.admin(room.teacher)  # held while its answer comes: a client collected first never answers
    try:
        members = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=30).members
    except KafkaException as exc:
        assert exc.args[0].code() == KafkaError.GROUP_ID_NOT_FOUND, exc  # no member yet, if this test runs alone
        return {}
    return {m.client_id: {tp.partition for tp in m.assignment.topic_partitions if tp.topic == topics.orders} for m in members}


def logged(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`fishchips ARGS` with its output in a file. Not a pipe: one that nobody reads fills up (64 KiB), and a role that
    blocks writing its lines stops polling Kafka, so after max.poll.interval.ms its member leaves the group for good."""
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "fishchips", *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "COLUMNS": "400"},
            stdin=subprocess.DEVNULL,
        )


def teachers_till(teacher: ConnectionSettings, orders: int, log: Path) -> subprocess.Popen[bytes]:
    """`fishchips till` on the teacher's machine, logged in as the teacher over the broker's local port."""
    login = {
        "KAFKA_BOOTSTRAP_SERVERS": str(teacher.bootstrap_servers),
        "KAFKA_SECURITY_PROTOCOL": str(teacher.security_protocol),
        "KAFKA_SASL_MECHANISM": str(teacher.sasl_mechanism),
        "KAFKA_USERNAME": str(teacher.username),
        "KAFKA_PASSWORD": str(teacher.password),
    }
    # no plaice: the room has no cook, so an order with plaice would wait on the cook topic for ever
    command = ["till", "--orders", str(orders), "--rate", "4", "--keying", "none", "--plaice-share", "0", "--prefix", PREFIX]
    return logged(command, log, login)


@pytest.mark.timeout(600)  # seven processes of its own: on a loaded 2-core machine each starts in seconds
def test_six_students_share_the_partitions_and_a_removed_ones_move(room: Room, tmp_path: Path) -> None:
    """Six `fishchips join` processes as preparers: the group gives each at least one of orders' twelve partitions.
    The teacher removes one: its partitions go to the other five. Meanwhile the teacher's till takes orders, and
    each one is served once (the ledger reads every topic from its start: earlier tests' orders too)."""
    names = [f"student-{n}" for n in range(9, 15)]
    menu, topics = Menu.load(), Topics(PREFIX)
    before = {order.id for order in read_orders(room.teacher, topics.orders, menu)[0]}  # earlier tests' orders
    students = {name: logged(["join", room.code(name), "--as", "preparer"], tmp_path / f"{name}.log") for name in names}
    till = teachers_till(room.teacher, 120, tmp_path / "till.log")

    def said(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")

    def in_the_group(expected: list[str]) -> bool:
        """Every one of them still running and in the group with a partition or more, and every partition held."""
        assert all(students[n].poll() is None for n in expected), {n: said(n) for n in expected if students[n].poll() is not None}
        held = holders(room)
        return set(held) == set(expected) and all(held.values()) and set().union(*held.values()) == set(range(12))

    try:
        wait_for(lambda: in_the_group(names), 180, every=1)
        gone, others = names[0], names[1:]
        taken_from = holders(room)[gone]
        removed = fishchips(["class", "remove", gone, "--data-dir", str(room.data)])
        assert removed.returncode == 0, removed.stderr
        assert students[gone].wait(timeout=60) == 1 and "not allowed" in said(gone), said(gone)
        wait_for(lambda: in_the_group(others), 90, every=1)
        assert taken_from <= set().union(*holders(room).values())
        assert till.wait(timeout=180) == 0, said("till")

        def all_served_once() -> bool:
            """The till's orders each served once; nothing anywhere served twice or served without being taken."""
            ledger = check(room.teacher, topics)
            assert ledger.served_twice == ledger.never_taken == 0, ledger
            taken = {order.id for order in read_orders(room.teacher, topics.orders, menu)[0]} - before
            served = Counter(order.id for order in read_orders(room.teacher, topics.served, menu)[0])
            return len(taken) == 120 and all(served[order_id] == 1 for order_id in taken)

        wait_for(all_served_once, 120, every=2)

        def on_the_page() -> bool:  # each student's member under their name, its partitions and what it served
            shown = {str(s["name"]): s["members"] for s in on_page(room, "/api/room")[1]["students"]}
            members = [m for name in others for m in shown[name]]
            return {m["name"] for m in members} == set(others) and all(m["partitions"] and m["served"] > 0 for m in members)

        wait_for(on_the_page, 30, every=1)
    finally:
        for process in [*students.values(), till]:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in [*students.values(), till]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_page_shows_the_room_and_only_the_teachers_token_presses_its_controls(room: Room) -> None:
    """Anyone on the room's network sees the room, without the join codes (each carries a secret); only a request
    with the teacher's token may remove, freeze or reset. A frozen room grants no join, and its code stays good."""
    status, seen = on_page(room, "/api/room")
    assert status == 200 and seen["teacher"] is False, seen
    students = {str(s["name"]): s for s in seen["students"]}
    assert "student-4" in students and not any("code" in s for s in students.values()), seen
    token = teachers_token(room)
    status, as_teacher = on_page(room, "/api/room", token=token)
    assert status == 200 and as_teacher["teacher"] is True
    assert {str(s["name"]) for s in as_teacher["students"] if "code" in s} >= {"student-1", "student-4"}

    # a student's refusal: without the token, or with something else (their own secret, say), each control is refused
    student_4 = JoinCode.decode(room.code("student-4"))
    for path, body in [("/api/room/remove", {"name": "student-4"}), ("/api/room/freeze", {"frozen": True}), ("/api/room/reset", {})]:
        for guess in ("", student_4.secret):
            status, refused = on_page(room, path, body, token=guess)
            assert status == 403 and "only the teacher" in str(refused["error"]), (path, refused)
    assert "student-4" in {s["name"] for s in room.listing()["students"]}

    status, done = on_page(room, "/api/room/freeze", {"frozen": "yes"}, token=token)
    assert status == 409 and "frozen" in str(done["error"]), done
    status, done = on_page(room, "/api/room/freeze", {"frozen": True}, token=token)
    assert status == 200 and "frozen" in str(done["done"]) and room.listing()["frozen"] is True, done
    try:
        one_line(fishchips(["join", room.code("student-4")]), "frozen the room")
    finally:
        status, done = on_page(room, "/api/room/freeze", {"frozen": False}, token=token)
    assert status == 200 and room.listing()["frozen"] is False, done
    assert room.code("student-4") != "None"  # not used up: the same line joins once the room is thawed
    status, refused = on_page(room, "/api/room/remove", {"name": "nobody"}, token=token)
    assert status == 409 and "no student 'nobody'" in str(refused["error"]), refused


def test_the_teacher_removes_a_student_on_the_page_in_chromium(room: Room, tmp_path: Path) -> None:
    """The room in Chromium: student-3's preparer under their name with every partition of orders (alone in the group),
    what it served and its time in the group; a student's tab has no controls; the teacher's "remove" stops it."""
    preparer = joining(room.code("student-3"), "--as", "preparer")
    base = f"https://{TEACHER}:{room.page_port}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
            try:
                context = browser.new_context(ignore_https_errors=True)  # the room's CA is not the browser's: the test trusts it
                teacher, student = context.new_page(), context.new_page()
                teacher.goto(base + "?token=" + teachers_token(room))
                student.goto(base)
                card = teacher.locator('article[data-student="student-3"]')
                wait_for(lambda: card.locator(".partition").count() == 12, 90, every=0.5)  # alone in the group: all of orders
                assert "joined as preparer" in card.inner_text() and "in the group" in card.inner_text()
                student.locator('article[data-student="student-3"] .partition').first.wait_for(timeout=10_000)
                assert not student.locator("#controls").is_visible() and student.locator("button.remove").count() == 0
                assert "fishchips join" not in student.inner_text("body")  # the codes are the teacher's to hand out
                assert "fishchips join" in teacher.inner_text("body")
                teacher.screenshot(path=str(tmp_path / "room-page.png"))
                card.locator("button.remove").click()
                teacher.locator("#said", has_text="student-3 is removed").wait_for(timeout=30_000)
                teacher.locator('article[data-student="student-3"]').wait_for(state="detached", timeout=10_000)
            finally:
                browser.close()
        output = preparer.communicate(timeout=60)[0]
        assert preparer.returncode == 1 and "not allowed" in output, output
    finally:
        if preparer.poll() is None:
            preparer.send_signal(signal.SIGINT)
            preparer.communicate(timeout=30)


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


def test_the_page_resets_the_room(room: Room) -> None:
    """After `class reset`, a new class of two; the teacher's "reset" on the page removes them and forgets the room."""
    data = str(room.data)
    again = ["--kafka-port", str(room.kafka_port), "--page-port", str(room.page_port)]
    started = fishchips(["class", "start", "--host", TEACHER, *again, "--students", "2", "--prefix", PREFIX, "--data-dir", data])
    assert started.returncode == 0, started.stderr
    status, done = on_page(room, "/api/room/reset", {}, token=teachers_token(room))
    assert status == 200 and "2 students removed" in str(done["done"]), done
    listing = fishchips(["class", "list", "--json", "--data-dir", data])
    assert listing.returncode == 1 and "there is no room here" in listing.stderr


@pytest.mark.timeout(600)
def test_a_room_on_three_nodes_serves_each_order_once_with_leaders_on_every_node(tmp_path: Path) -> None:
    """`class start --nodes 3`: three nodes, each with the room's listener (its port, and the two after it), one CA and one
    set of users. orders' partitions are led by all three nodes, so a student's client, given one address, reaches each
    of them on the teacher's address. Two students serve the teacher's orders, each once; `class stop` stops every node."""
    data = tmp_path / "room3"
    host = "127.0.0.3"  # a third "machine": the module's room listens on 127.0.0.2
    kafka_port, page_port, port = free_port(), free_port(), free_port()
    start = ["class", "start", "--nodes", "3", "--host", host, "--kafka-port", str(kafka_port), "--page-port", str(page_port)]
    try:
        started = fishchips([*start, "--port", str(port), "--students", "2", "--prefix", PREFIX, "--data-dir", str(data)], timeout=240)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"Kafka at port {kafka_port} to {kafka_port + 2}" in started.stderr, started.stderr
        codes = [line.split()[-1] for line in started.stdout.splitlines() if line.startswith("fishchips join ")]
        teacher = teacher_settings(data)
        leaders = {p.leader for p in clients.admin(teacher).list_topics(Topics(PREFIX).orders, timeout=30).topics[Topics(PREFIX).orders].partitions.values()}
        assert leaders == {1, 2, 3}, leaders
        students = [logged(["join", code, "--as", "preparer"], tmp_path / f"student-{n}.log") for n, code in enumerate(codes, 1)]
        till = teachers_till(teacher, 40, tmp_path / "till.log")
        try:
            assert till.wait(timeout=120) == 0, (tmp_path / "till.log").read_text()
            menu, topics = Menu.load(), Topics(PREFIX)

            def served_once() -> bool:
                assert all(s.poll() is None for s in students), [(tmp_path / f"student-{n}.log").read_text() for n in (1, 2)]
                served = Counter(order.id for order in read_orders(teacher, topics.served, menu)[0])
                return len(served) == 40 and set(served.values()) == {1}

            wait_for(served_once, 120, every=1)
        finally:
            for student in students:
                student.send_signal(signal.SIGINT)
            for student in students:
                student.wait(timeout=30)
        assert all(student.returncode == 0 for student in students)
    finally:
        stopped = fishchips(["class", "stop", "--data-dir", str(data)])
        assert stopped.returncode == 0, stopped.stderr
    assert not any(status.running for status in EmbeddedCluster(data).status())
