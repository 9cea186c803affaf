"""The student's side of `fishchips join`: from a join code to connection settings for the teacher's broker.

Three steps, each failing in one line: fetch the room's CA from the teacher's page (not yet trusted,
so TLS is not verified for this one request), trust it only if its fingerprint is the join code's,
then exchange the one-time secret for a password over HTTPS verified with that CA. The CA is kept in
the cache dir, the only file written; the password lives in the process alone.
"""

import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.broker.users import MECHANISM
from fishchips.classroom.code import JoinCode, JoinError, ca_fingerprint
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.paths import cache_dir
from fishchips.waiting import until

TIMEOUT = 5.0  # seconds: a teacher who does not answer by then is not reachable from here
RIGHTS_TIMEOUT = 15.0  # seconds for the student's rights to reach every broker: they take milliseconds


def _request(code: JoinCode, path: str, context: ssl.SSLContext, body: dict[str, str] | None = None) -> bytes:
    url = f"https://{code.host}:{code.page_port}{path}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        try:
            reason = str(json.loads(exc.read())["error"])
        except (ValueError, KeyError, TypeError):
            reason = f"the teacher's page answered {exc.code} {exc.reason}"
        raise JoinError(reason) from None
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", None) or exc
        raise JoinError(
            f"cannot reach your teacher's page at {code.host}:{code.page_port} ({why}): "
            "check you are on the room's network and the class is started"
        ) from None


def fetch_ca(code: JoinCode) -> Path:
    """The room's CA, checked against the join code's fingerprint and kept in the cache dir: its folder."""
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE  # the fingerprint below is the check
    ca = _request(code, "/ca.pem", unverified)
    if ca_fingerprint(ca) != code.fingerprint:
        raise JoinError(
            f"the certificate at {code.host}:{code.page_port} is not your teacher's (its fingerprint is not the join code's): "
            "do not join, and tell your teacher"
        )
    folder = cache_dir() / "classroom" / code.fingerprint
    folder.mkdir(parents=True, exist_ok=True)
    # written whole, then renamed into place: another join on this machine may be reading it (an empty file was read
    # as "no certificate" by 5 of 60 students joining at once on one machine)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="ca.", suffix=".tmp", delete=False) as written:
        written.write(ca)
    os.replace(written.name, folder / "ca.pem")
    return folder


def join_settings(code: JoinCode, role: str) -> ConnectionSettings:
    """Connection settings for the teacher's room listener, as the student's own user, TLS verified with the room's CA."""
    certs = fetch_ca(code)
    verified = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    answer = _request(code, "/join", verified, {"user": code.user, "secret": code.secret, "role": role})
    return ConnectionSettings(
        bootstrap_servers=f"{code.host}:{code.kafka_port}",
        security_protocol="SASL_SSL",
        certs_dir=certs,
        sasl_mechanism=MECHANISM,
        username=code.user,
        password=str(json.loads(answer)["password"]),
    )


def await_rights(admin: AdminClient, topics: Topics, timeout: float = RIGHTS_TIMEOUT) -> None:
    """Wait until every broker that leads a partition of the shop lets this student see it.

    The teacher's page hands out the password once the broker it asked shows the student's new ACLs. On a
    three-node room each broker applies them from KRaft's metadata log in its own time, and one a moment
    behind hides the shop's topics from the student (whose preparer, in a test, then tried to create them and
    was refused: a student's role now never creates topics). Listing the end offsets asks each partition's
    leader; the ACLs of one grant are one batch in that log, so a broker that lets the student see a topic
    applies all of the student's rules. A broker that leads none of the shop's partitions is not asked.
    """
    names = [topics.orders, topics.cook, topics.served, topics.dead_letters]

    def seen_by_every_leader() -> bool:
        try:  # a broker leaves out a topic the user may not describe; a leader still catching up refuses its partitions
            return end_offsets(admin, names).keys() == set(names)
        except KafkaException:  # refused, or a slow answer: ask again
            return False

    if not until(seen_by_every_leader, timeout):
        raise JoinError(
            f"the teacher's shop ({', '.join(names)}) is still hidden from you after {timeout:.0f} s: "
            "ask your teacher to check the class is started (`fishchips class list`), and for a new join code"
        )
