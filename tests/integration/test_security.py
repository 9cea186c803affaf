"""TLS, SASL and per-role ACLs against a real broker of this module's own, started with the real command.

The broker starts with --tls; the SASL tests restart the same data dir with --sasl (which keeps
the TLS listener), so they also prove that turning SASL on keeps the data. Bad certificates and
credentials go through the real `fishchips` command: one line, exit code 1, within 10 s.
The last tests restart it: started by a command (as it was last time), then with --plaintext.
"""

import datetime
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ListConsumerGroupsResult,
    ResourcePatternType,
    ResourceType,
)
from tests.conftest import wait_for

from fishchips.broker import certs
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.broker.users import ADMIN, ROLE_USERS
from fishchips.kafka import clients
from fishchips.kafka.acls import open_shop
from fishchips.kafka.connect import local_settings
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.ledger import check
from fishchips.roles.board import Board
from fishchips.roles.context import ShopContext
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.role import Refused, Role
from fishchips.roles.till import Tickets, Till
from fishchips.services.local_server import free_port
from fishchips.shop import Menu, new_run_id
from fishchips.stores.books import open_books
from fishchips.tally import Tally

pytestmark = pytest.mark.kafka

FAST = 10.0  # seconds: the most a refused connection may take to be explained
START = 150.0  # seconds a broker start may take on a loaded CI machine: the command's own 60 s default has been too short
KEPT_TOPIC = "written-before-sasl"
KEPT = [f"kept {i}".encode() for i in range(5)]


def fishchips(args: list[str], env: dict[str, str] | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """The real command, wide so that a message stays on one line."""
    return subprocess.run(
        [sys.executable, "-m", "fishchips", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def start_broker(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`fishchips broker start ARGS`, waiting as long as a loaded machine needs."""
    return fishchips(["broker", "start", *args, "--timeout", str(START)], timeout=START + 30)


def lines_with(result: subprocess.CompletedProcess[str], text: str) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if text in line]


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


@dataclass(frozen=True)
class Secured:
    """The module's broker and the ways in."""

    broker: EmbeddedBroker

    @property
    def client_certs(self) -> Path:
        return self.broker.tls_files.client_dir

    @property
    def plaintext(self) -> ConnectionSettings:
        """The local port as an open broker has it: no login."""
        return ConnectionSettings(bootstrap_servers=self.broker.status().bootstrap_servers)

    @property
    def local(self) -> ConnectionSettings:
        """The local port as fishchips's own commands find it: on a SASL broker, with the admin's login."""
        return local_settings(self.broker, self.broker.status())

    @property
    def tls(self) -> ConnectionSettings:
        return ConnectionSettings(bootstrap_servers=self.broker.status().tls_bootstrap, certs_dir=self.client_certs)

    def sasl(self, user: str, password: str | None = None) -> ConnectionSettings:
        return ConnectionSettings(
            bootstrap_servers=self.broker.status().sasl_bootstrap,
            certs_dir=self.client_certs,
            username=user,
            password=password or self.broker.passwords()[user],
        )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """This module's broker, started with `fishchips broker start --tls`; stopped at the end, whatever happens."""
    broker = EmbeddedBroker(tmp_path_factory.mktemp("secure") / "broker")
    try:
        result = start_broker(["--tls", "--port", str(free_port()), "--data-dir", str(broker.data)])
        assert result.returncode == 0, result.stderr
        assert lines_with(result, f"--certs-dir {broker.tls_files.client_dir}"), result.stderr
        yield Secured(broker)
    finally:
        broker.stop()
    assert not broker.status().running


@pytest.fixture(scope="module")
def with_sasl(secured: Secured) -> Secured:
    """The same data dir, with events written over PLAINTEXT, restarted with `fishchips broker start --sasl`."""
    plaintext = secured.plaintext
    ensure_topics(clients.admin(plaintext), {KEPT_TOPIC: 1})
    producer = clients.producer(plaintext)
    for value in KEPT:
        producer.produce(KEPT_TOPIC, value)
    assert producer.flush(15) == 0
    tls_port = secured.broker.status().tls_bootstrap
    assert secured.broker.stop()
    result = start_broker(["--sasl", "--data-dir", str(secured.broker.data)])
    assert result.returncode == 0, result.stderr
    status = secured.broker.status()
    assert status.sasl_bootstrap and status.tls_bootstrap == tls_port  # the folder handed out still fits the same port
    return secured


@pytest.fixture
def shop(with_sasl: Secured, prefix: str) -> Topics:
    """A fresh shop prefix whose topics exist and whose roles' users have their ACLs."""
    topics = Topics(prefix)
    assert open_shop(clients.admin(with_sasl.local), topics, partitions=3) > 0
    return topics


@pytest.fixture(scope="module")
def bad_certs(secured: Secured, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Certificate folders that must be turned away, each in the layout managed services use."""
    base = tmp_path_factory.mktemp("bad-certs")
    ours = certs.load_issuer(secured.broker.tls_files)
    stranger = certs.new_issuer("a CA nobody here trusts")
    yesterday = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    folders = {
        "untrusted-ca": certs.write_client_files(base / "untrusted-ca", stranger.cert, *certs.issue(ours, certs.CLIENT_NAME)),
        "untrusted-client": certs.write_client_files(base / "untrusted-client", ours.cert, *certs.issue(stranger, certs.CLIENT_NAME)),
        "expired": certs.write_client_files(base / "expired", ours.cert, *certs.issue(ours, certs.CLIENT_NAME, not_valid_after=yesterday)),
    }
    folders["no-key"] = Path(shutil.copytree(secured.client_certs, base / "no-key"))
    (folders["no-key"] / "service.key").unlink()
    return folders


def run_role(role: Role, seconds: float = 20.0) -> Role:
    """Start a role and wait (polling, with a deadline) until it stops by itself; then stop it anyway."""
    role.start()
    deadline = time.monotonic() + seconds
    while role.running and time.monotonic() < deadline:
        time.sleep(0.05)
    role.stop()
    return role


# --- TLS ------------------------------------------------------------------------------------------


def test_tls_round_trip_with_the_client_files(secured: Secured) -> None:
    folder = secured.client_certs
    assert sorted(p.name for p in folder.iterdir()) == ["ca.pem", "service.cert", "service.key"]
    assert stat.S_IMODE((folder / "service.key").stat().st_mode) == 0o600

    result = fishchips(["doctor", "-b", str(secured.tls.bootstrap_servers), "--certs-dir", str(folder)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_with(result, f"✓ broker: cluster at {secured.tls.bootstrap_servers} answers")
    assert lines_with(result, "✓ round trip: produced and consumed one event")
    status = fishchips(["broker", "status", "--data-dir", str(secured.broker.data)])
    rows = {line.split()[0]: line.split()[-1] for line in status.stdout.splitlines() if line.split()}
    assert rows["tls"] == secured.tls.bootstrap_servers
    assert rows["client"] == str(folder)  # the "client certs" row


def run_demo4(env: dict[str, str], prefix: str) -> dict[str, object]:
    result = fishchips(["run", "demo4", "--orders", "40", "--speed", "40", "--seed", "3", "--json", "--prefix", prefix], env, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["taken"] == summary["served"] == 40
    assert (summary["missing"], summary["duplicates"]) == (0, 0)
    assert summary["cooked"] > 0
    return summary


def test_demo4_over_tls(secured: Secured, prefix: str) -> None:
    run_demo4({"KAFKA_BOOTSTRAP_SERVERS": str(secured.tls.bootstrap_servers), "KAFKA_CERTS_DIR": str(secured.client_certs)}, prefix)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("untrusted-ca", "not signed by the ca.pem in --certs-dir"),
        ("untrusted-client", "the broker refused the client certificate"),
        ("expired", "service.cert expired on"),
        ("no-key", "service.key is missing"),
        ("plaintext", "this port wants TLS or SASL"),
    ],
)
def test_a_bad_certificate_is_one_line_within_10_s(secured: Secured, bad_certs: dict[str, Path], case: str, expected: str) -> None:
    certs_dir = ["--certs-dir", str(bad_certs[case])] if case in bad_certs else []
    began = time.monotonic()
    result = fishchips(["doctor", "-b", str(secured.tls.bootstrap_servers), *certs_dir], timeout=30)
    elapsed = time.monotonic() - began

    assert result.returncode == 1
    no_traceback(result)
    broker_lines = lines_with(result, "✗ broker:")
    assert len(broker_lines) == 1, result.stdout
    assert expected in broker_lines[0]
    assert elapsed < FAST, f"{case}: {elapsed:.1f} s"


def test_the_broker_itself_refuses_an_expired_client_certificate(secured: Secured, bad_certs: dict[str, Path]) -> None:
    """fishchips spots the expired certificate before connecting; without that check, the broker says no."""
    folder = bad_certs["expired"]
    errors: list[KafkaError] = []
    admin = AdminClient(
        {
            "bootstrap.servers": secured.tls.bootstrap_servers,
            "security.protocol": "SSL",
            "ssl.ca.location": str(folder / "ca.pem"),
            "ssl.certificate.location": str(folder / "service.cert"),
            "ssl.key.location": str(folder / "service.key"),
            "error_cb": errors.append,
            "logger": logging.getLogger("fishchips.tests.expired"),  # to the log, not the test's output
        }
    )
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=3)
    admin.poll(0)
    assert any("alert" in error.str() for error in errors), [error.str() for error in errors]


# --- SASL and ACLs ---------------------------------------------------------------------------------


def test_turning_sasl_on_keeps_the_data(with_sasl: Secured) -> None:
    consumer = clients.consumer(with_sasl.sasl("admin"), f"kept-{uuid.uuid4().hex[:8]}")
    try:
        consumer.assign([TopicPartition(KEPT_TOPIC, 0, OFFSET_BEGINNING)])
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(got) < len(KEPT) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                got.append(message.value())
    finally:
        consumer.close()
    assert got == KEPT


def exported(line: str) -> dict[str, str]:
    """One `export NAME=value ...` line of `fishchips broker users`, as an environment."""
    assert line.startswith("export ")
    return dict(pair.split("=", 1) for pair in line.removeprefix("export ").split())


def user_env(secured: Secured, user: str) -> dict[str, str]:
    """The environment `fishchips broker users --user NAME` prints."""
    result = fishchips(["broker", "users", "--user", user, "--data-dir", str(secured.broker.data)])
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    return exported(line)


def every_user_env(secured: Secured) -> dict[str, dict[str, str]]:
    """The environments `fishchips broker users` prints, a line per user, by user name."""
    result = fishchips(["broker", "users", "--data-dir", str(secured.broker.data)])
    assert result.returncode == 0, result.stderr
    return {env["KAFKA_USERNAME"]: env for env in map(exported, result.stdout.splitlines())}


def test_sasl_round_trip_with_credentials_from_the_environment(with_sasl: Secured) -> None:
    env = user_env(with_sasl, "admin")
    assert env["KAFKA_USERNAME"] == "admin" and env["KAFKA_PASSWORD"] == with_sasl.broker.passwords()["admin"]
    assert stat.S_IMODE(with_sasl.broker.passwords_file.stat().st_mode) == 0o600

    result = fishchips(["doctor"], env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert lines_with(result, f"✓ broker: cluster at {env['KAFKA_BOOTSTRAP_SERVERS']} answers")
    assert lines_with(result, "✓ round trip: produced and consumed one event")


def role_process(login: dict[str, str], args: list[str]) -> subprocess.Popen[str]:
    """A role as its own `fishchips` process, logged in with one user's environment from `broker users`."""
    env = {**os.environ, "COLUMNS": "400", **login}
    command = [sys.executable, "-m", "fishchips", *args]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_demo4_over_sasl_runs_each_role_as_its_own_user(with_sasl: Secured, shop: Topics, tmp_path: Path) -> None:
    """demo4's shop as separate processes, each logged in as its role's user (not the admin): only the ACLs let them work.
    The admin reads the ledger afterwards; the accountant's books agree with it."""
    logins = every_user_env(with_sasl)
    assert set(logins) == {ADMIN, *ROLE_USERS}
    books = f"sqlite:///{tmp_path / 'books.sqlite'}"
    on_shop = ["--prefix", shop.prefix]
    workers = [
        role_process(logins["preparer"], ["preparer", "--name", "preparer-1", "--speed", "40", *on_shop]),
        role_process(logins["cook"], ["cook", "--name", "cook-1", "--speed", "40", *on_shop]),
    ]
    try:
        till = fishchips(["till", "--orders", "40", "--rate", "0", "--plaice-share", "0.5", *on_shop], logins["till"])
        assert till.returncode == 0, till.stdout + till.stderr
        wait_for(lambda: check(with_sasl.local, shop).served == 40 or any(worker.poll() is not None for worker in workers), 60, every=1.0)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)  # Ctrl-C: each closes and leaves its group
        errors = [worker.communicate(timeout=30)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors
    ledger = check(with_sasl.local, shop)
    assert (ledger.taken, ledger.served, ledger.lost, ledger.served_twice, ledger.never_taken) == (40, 40, 0, 0, 0)
    assert ledger.cooked == ledger.plaice > 0 and ledger.cooked_twice == 0

    accountant = fishchips(["accounts", "--db", books, "--until-idle", "1", *on_shop], logins["accountant"])
    assert accountant.returncode == 0, accountant.stdout + accountant.stderr
    with open_books(books, shop.prefix) as booked:
        summary = booked.summary()
    assert (summary.orders, summary.takings_pence) == (40, ledger.takings_pence)


def test_a_wrong_password_is_one_line_within_10_s(with_sasl: Secured, prefix: str) -> None:
    env = {**user_env(with_sasl, "till"), "KAFKA_PASSWORD": "not-the-password"}
    began = time.monotonic()
    result = fishchips(["run", "demo4", "--orders", "5", "--prefix", prefix], env, timeout=30)
    elapsed = time.monotonic() - began

    assert result.returncode == 1
    no_traceback(result)
    errors = lines_with(result, "✗")
    assert len(errors) == 1, result.stderr
    assert "SASL authentication" in errors[0]
    assert "check the username and password" in errors[0]
    assert elapsed < FAST, f"{elapsed:.1f} s"


def test_no_login_at_the_local_port_is_one_line_within_10_s(with_sasl: Secured) -> None:
    began = time.monotonic()
    result = fishchips(["doctor", "-b", str(with_sasl.local.bootstrap_servers)], timeout=30)
    elapsed = time.monotonic() - began

    assert result.returncode == 1
    no_traceback(result)
    broker_lines = lines_with(result, "✗ broker:")
    assert len(broker_lines) == 1, result.stdout
    assert "turned us away" in broker_lines[0] and "this port wants a SASL login" in broker_lines[0]
    assert elapsed < FAST, f"{elapsed:.1f} s"


def test_every_role_does_its_work_with_its_own_user(with_sasl: Secured, shop: Topics) -> None:
    """The ACLs are enough: a till, a preparer, a cook and the board, each as its own user, serve every order."""
    menu = Menu.load()
    run_id = new_run_id()
    tally = Tally(run_id)

    def as_user(user: str) -> ShopContext:
        return ShopContext(with_sasl.sasl(user), shop, menu, listener=tally.record)

    board = Board("board", as_user("board"), topic=shop.served).start()
    roles: list[Role] = [
        board,
        FoodPreparer("preparer-1", as_user("preparer")).start(),
        Cook("cook-1", as_user("cook")).start(),
    ]
    till = Till("till-1", as_user("till"), 1, Tickets(20), run_id, partitions=3, orders_per_second=0, plaice_share=0.5)
    roles.append(till.start())
    try:
        wait_for(lambda: tally.served >= 20 or any(role.failure for role in roles), 30)
    finally:
        for role in roles:
            role.stop()
    assert [role.failure for role in roles] == [None] * len(roles)
    assert till.counters["took"] == 20
    assert (tally.taken, tally.served, tally.twice) == (20, 20, 0)
    assert roles[2].counters["cooked"] > 0


def test_a_till_cannot_read_orders(with_sasl: Secured, shop: Topics) -> None:
    menu = Menu.load()
    as_till = with_sasl.sasl("till")
    began = time.monotonic()
    preparer = run_role(FoodPreparer("preparer-1", ShopContext(as_till, shop, menu, exactly_once=False)))
    assert isinstance(preparer.failure, Refused)
    assert str(preparer.failure).startswith(f"preparer-1 (user till) is not allowed to use the consumer group {shop.group('preparers')}")

    # even given the preparers' group, the till may not read the orders themselves
    admin = clients.admin(with_sasl.local)
    group = AclBinding(
        ResourceType.GROUP,
        shop.group("preparers"),
        ResourcePatternType.LITERAL,
        "User:till",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    admin.create_acls([group])[group].result()
    preparer = run_role(FoodPreparer("preparer-2", ShopContext(as_till, shop, menu, exactly_once=False)))
    assert isinstance(preparer.failure, Refused)
    assert str(preparer.failure).startswith(f"preparer-2 (user till) is not allowed to read topic {shop.orders}")
    assert "Topic authorization failed" in str(preparer.failure)
    assert time.monotonic() - began < 2 * FAST


@pytest.mark.parametrize("user", ["preparer", "accountant"])
def test_a_preparer_and_the_accountant_cannot_write_orders(with_sasl: Secured, shop: Topics, user: str) -> None:
    till = Till("till-1", ShopContext(with_sasl.sasl(user), shop), 1, Tickets(3), new_run_id(), partitions=3, orders_per_second=0)
    run_role(till)
    assert isinstance(till.failure, Refused)
    assert str(till.failure).startswith(f"till-1 (user {user}) is not allowed to write to topic {shop.orders}: ")
    assert str(till.failure).endswith("Broker: Topic authorization failed")
    assert till.counters["took"] == 0


def test_a_refused_role_process_says_so_in_one_line(with_sasl: Secured, shop: Topics) -> None:
    env = user_env(with_sasl, "preparer")
    began = time.monotonic()
    result = fishchips(["till", "--orders", "3", "--rate", "0", "--prefix", shop.prefix], env, timeout=30)
    elapsed = time.monotonic() - began

    assert result.returncode == 1
    no_traceback(result)
    refusals = lines_with(result, "is not allowed to")
    assert len(refusals) == 1, result.stdout + result.stderr
    assert f"till-1 (user preparer) is not allowed to write to topic {shop.orders}" in refusals[0]
    assert elapsed < FAST, f"{elapsed:.1f} s"


def test_a_command_on_the_local_broker_logs_in_as_the_user_named(with_sasl: Secured, shop: Topics) -> None:
    """No address, only --username: the local port, with that user's password from the data dir, and its ACLs."""
    as_default = {"FISHCHIPS_DATA_DIR": str(with_sasl.broker.data.parent)}
    result = fishchips(["till", "--username", "preparer", "--orders", "3", "--rate", "0", "--prefix", shop.prefix], as_default)

    assert result.returncode == 1
    no_traceback(result)
    refusals = lines_with(result, "is not allowed to")
    assert len(refusals) == 1, result.stdout + result.stderr
    assert f"till-1 (user preparer) is not allowed to write to topic {shop.orders}" in refusals[0]


def test_grant_opens_another_prefix_for_the_roles(with_sasl: Secured, prefix: str) -> None:
    result = fishchips(["broker", "grant", "--prefix", prefix, "--partitions", "2", "--data-dir", str(with_sasl.broker.data)])
    assert result.returncode == 0, result.stderr
    topics = Topics(prefix)
    listed = clients.admin(with_sasl.sasl("till")).list_topics(timeout=10).topics
    assert {topics.orders, topics.cook, topics.served, topics.dead_letters} <= set(listed)  # the till may see them, not create them
    assert len(listed[topics.orders].partitions) == 2


# --- nothing open to strangers ---------------------------------------------------------------------

SHORT = 3.0  # seconds each refused attempt is given: a refusal may also look like a broker that never answers
ANY_ACL = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
REFUSED_WRITES = "refused-writes"
QUIET = {"logger": logging.getLogger("fishchips.tests.refused")}  # the refused clients' complaints go to the log


def _answered(call: Callable[[], object]) -> bool:
    try:
        call()
    except KafkaException:
        return False
    return True


def _all_listed(groups: ListConsumerGroupsResult) -> None:
    """Listing groups does not raise when no broker answers: it returns the errors with what it did list."""
    if groups.errors:
        raise KafkaException(groups.errors[0])


def what_got_through(config: dict[str, str]) -> dict[str, bool]:
    """Try everything a stranger would, at once: produce, consume, list topics, consumer groups and ACLs."""
    admin = AdminClient({**config, **QUIET})
    groups = admin.list_consumer_groups(request_timeout=SHORT)
    acls = admin.describe_acls(ANY_ACL, request_timeout=SHORT)
    delivered: list[bool] = []
    producer = Producer({**config, **QUIET, "message.timeout.ms": str(int(SHORT * 1000))})
    producer.produce(REFUSED_WRITES, b"from a stranger", on_delivery=lambda err, msg: delivered.append(err is None))
    got = {"list topics": _answered(lambda: admin.list_topics(timeout=SHORT))}
    consumer = Consumer({**config, **QUIET, "group.id": f"stranger-{uuid.uuid4().hex[:8]}", "enable.auto.commit": "false"})
    try:
        consumer.assign([TopicPartition(KEPT_TOPIC, 0, OFFSET_BEGINNING)])
        deadline, read = time.monotonic() + SHORT, False
        while not read and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            read = message is not None and not message.error()
    finally:
        consumer.close()
    producer.flush(SHORT + 5)
    got.update(
        {
            "consume": read,
            "produce": delivered == [True],
            "list groups": _answered(lambda: _all_listed(groups.result())),
            "describe ACLs": _answered(acls.result),
        }
    )
    return got


def strangers(secured: Secured) -> dict[str, dict[str, str]]:
    """Every way in without the right login: PLAINTEXT on each port, TLS without a certificate, a wrong password."""
    state = secured.broker.status().state
    assert state is not None
    port = {"local": state.port, "tls": state.ssl_port, "sasl_ssl": state.sasl_port, "controller": state.controller_port}
    ca = {"ssl.ca.location": str(secured.client_certs / "ca.pem")}
    wrong = {"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "admin", "sasl.password": "not-the-password"}
    ways = {
        "local/plaintext": ("local", {"security.protocol": "PLAINTEXT"}),
        "local/wrong password": ("local", {"security.protocol": "SASL_PLAINTEXT", **wrong}),
        "tls/plaintext": ("tls", {"security.protocol": "PLAINTEXT"}),
        "tls/no certificate": ("tls", {"security.protocol": "SSL", **ca}),
        "sasl_ssl/plaintext": ("sasl_ssl", {"security.protocol": "PLAINTEXT"}),
        "sasl_ssl/no sasl": ("sasl_ssl", {"security.protocol": "SSL", **ca}),
        "sasl_ssl/wrong password": ("sasl_ssl", {"security.protocol": "SASL_SSL", **ca, **wrong}),
        "controller/plaintext": ("controller", {"security.protocol": "PLAINTEXT"}),
        "controller/no certificate": ("controller", {"security.protocol": "SSL", **ca}),
    }
    return {name: {"bootstrap.servers": f"127.0.0.1:{port[where]}", **config} for name, (where, config) in ways.items()}


def test_a_stranger_is_refused_everywhere_on_a_sasl_broker(with_sasl: Secured) -> None:
    ensure_topics(clients.admin(with_sasl.local), {REFUSED_WRITES: 1})
    local = with_sasl.local.client_config()
    ways = {"local/admin (the control)": local, **strangers(with_sasl)}

    with ThreadPoolExecutor(len(ways)) as pool:  # all at once: each refusal may take its whole SHORT
        outcomes = dict(zip(ways, pool.map(what_got_through, ways.values()), strict=True))

    control = outcomes.pop("local/admin (the control)")
    assert all(control.values()), control  # the same attempts do get through with the login
    assert {name: [op for op, ok in got.items() if ok] for name, got in outcomes.items()} == {name: [] for name in outcomes}
    written = [message.value() for message in read_to_end(with_sasl.local, REFUSED_WRITES)]
    assert written == [b"from a stranger"]  # the control's one event, and nothing from anyone else


@pytest.mark.slow
def test_a_command_that_starts_the_broker_starts_it_with_sasl_again(with_sasl: Secured) -> None:
    broker = with_sasl.broker
    before = broker.status().state
    assert before is not None and broker.stop()

    # with the module's data dir as the default one, `dlq` finds the broker stopped and starts it
    result = fishchips(["dlq", "--json"], {"FISHCHIPS_DATA_DIR": str(broker.data.parent)}, timeout=150)

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []  # it read the (empty) dead letters, logged in as admin
    after = broker.status()
    assert after.running and after.state is not None and after.state.pid != before.pid
    assert (after.state.sasl, after.state.plaintext, after.state.local_protocol) == (True, False, "SASL_PLAINTEXT")
    assert (after.state.port, after.state.ssl_port, after.state.sasl_port) == (before.port, before.ssl_port, before.sasl_port)
    local_stranger = strangers(with_sasl)["local/plaintext"]
    with pytest.raises(KafkaException):
        AdminClient({**local_stranger, **QUIET}).list_topics(timeout=SHORT)


@pytest.mark.slow
def test_plaintext_keeps_the_local_port_open_and_warns(with_sasl: Secured) -> None:
    """Last in the module: it leaves the broker with its local port open."""
    broker = with_sasl.broker
    assert broker.stop()

    result = start_broker(["--sasl", "--plaintext", "--data-dir", str(broker.data)])

    assert result.returncode == 0, result.stderr
    warnings = lines_with(result, "warning:")
    assert len(warnings) == 1, result.stderr
    assert "takes anyone on this machine unauthenticated, as a super user" in warnings[0]
    status = fishchips(["broker", "status", "--data-dir", str(broker.data)])
    assert lines_with(status, "PLAINTEXT, no login")
    anyone = AdminClient({"bootstrap.servers": str(broker.status().bootstrap_servers), **QUIET})
    assert KEPT_TOPIC in anyone.list_topics(timeout=10).topics
    assert anyone.describe_acls(ANY_ACL, request_timeout=10).result()  # a super user: it sees the roles' ACLs
    sasl_stranger = strangers(with_sasl)["sasl_ssl/plaintext"]
    with pytest.raises(KafkaException):  # only the local port is open
        AdminClient({**sasl_stranger, **QUIET}).list_topics(timeout=SHORT)
