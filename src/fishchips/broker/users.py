"""The SASL/SCRAM users of the embedded broker: a user per role of the shop, and an admin.

Passwords are made once and kept in the data dir, readable only by this user, so the
environment lines printed today still work after a restart. The users are (re)written
with the Admin API on every SASL start: that works on a data dir formatted long before
SASL was turned on, so switching an existing broker to SASL keeps its data.
"""

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from fishchips.errors import FishchipsError

ADMIN = "admin"  # a super user: may do anything, as the whole shop in one process needs
ROLE_USERS = ("till", "preparer", "cook", "board", "accountant")  # each limited by ACLs to its role's work
MECHANISM = "SCRAM-SHA-512"
ITERATIONS = 8192  # SCRAM's cost per login; Kafka's minimum is 4096


def read_passwords(path: Path) -> dict[str, str]:
    """The users' passwords, made (and saved with mode 0600) the first time they are asked for."""
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        stored = {}
    except (OSError, ValueError) as exc:
        raise FishchipsError(f"cannot read the broker's passwords in {path} ({exc}): delete it to make new ones") from exc
    wanted = {name: stored.get(name) or secrets.token_urlsafe(18) for name in (ADMIN, *ROLE_USERS)}
    if wanted != stored:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(wanted, f, indent=2)
        path.chmod(0o600)
    return wanted


def create_scram_users(admin: AdminClient, passwords: Mapping[str, str], timeout: float = 15.0) -> None:
    """Create or update each user's SCRAM credentials (an admin request, so over a super user's connection)."""
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS)
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(name, info, password.encode()) for name, password in passwords.items()
    ]
    for name, future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout).items():
        try:
            future.result()
        except KafkaException as exc:
            raise FishchipsError(f"cannot create the SASL user {name}: {exc.args[0].str()}") from None
