"""The room: who the students are, their one-time secrets and passwords, kept in the broker's data dir.

The file is read and written only under a lock (fcntl), since two processes change it: the teacher's
commands (start, remove, reset) and the room's page, which marks a secret used when a student claims it.
It holds passwords, so only the teacher's user may read it (mode 0600).
"""

import fcntl
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from fishchips.broker.users import ADMIN, ROLE_USERS
from fishchips.classroom.code import JoinCode, JoinError
from fishchips.errors import FishchipsError

ROLES = ("preparer", "till", "board")  # what a student may join as
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")  # a student's name is their SCRAM user: no spaces, nothing odd
USED = "this join code was already used: ask your teacher for a new one"
FROZEN = "your teacher has frozen the room for a demonstration: run the same line again once it is thawed"


class Student(msgspec.Struct):
    secret: str
    password: str
    role: str | None = None  # what they joined as, once they claimed their secret

    @property
    def used(self) -> bool:
        return self.role is not None


class Room(msgspec.Struct):
    host: str
    kafka_port: int
    page_port: int
    fingerprint: str
    prefix: str
    students: dict[str, Student] = {}
    # the teacher's key to the page's controls (remove, freeze, reset): printed by `class start` in the page's address
    token: str = ""
    frozen: bool = False  # for a demonstration: no one joins the group until the teacher thaws the room

    @property
    def page(self) -> str:
        """The room's page as the students open it: watching needs nothing."""
        return f"https://{self.host}:{self.page_port}/"

    @property
    def teachers_page(self) -> str:
        """The page with the teacher's token: the controls work only from there."""
        return f"{self.page}?token={self.token}"

    def code(self, name: str) -> JoinCode:
        student = self.students[name]
        return JoinCode(self.host, self.kafka_port, self.page_port, name, student.secret, self.fingerprint, self.prefix)


def new_student() -> Student:
    return Student(secrets.token_urlsafe(12), secrets.token_urlsafe(18))


def new_token() -> str:
    return secrets.token_urlsafe(16)


def student_names(count: int | None, names_file: Path | None) -> list[str]:
    """student-1..student-N, or the names in a file (one a line), each checked to be a usable user name."""
    if names_file is None:
        return [f"student-{n}" for n in range(1, (count or 0) + 1)]
    try:
        names = [line.strip() for line in names_file.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise FishchipsError(f"cannot read the names in {names_file}: {exc}") from None
    for name in names:
        if not NAME.fullmatch(name) or name in (ADMIN, *ROLE_USERS):
            raise FishchipsError(
                f"{name!r} in {names_file} cannot be a student's name: use letters, digits, - and _ (up to 32), and not {ADMIN} or a role's name"
            )
    if len(set(names)) != len(names):
        raise FishchipsError(f"{names_file} names a student twice: each name is a user of its own")
    return names


class RoomFile:
    """The room's file in the broker's data dir, changed only under its lock."""

    def __init__(self, data: Path) -> None:
        self.path = data / "room.json"
        self._lock = data / "room.lock"

    def read(self) -> Room | None:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=Room)
        except FileNotFoundError:
            return None
        except (OSError, msgspec.DecodeError) as exc:
            raise FishchipsError(f"cannot read the room in {self.path} ({exc}): `fishchips class reset` makes a new one") from None

    @contextmanager
    def changing(self) -> Iterator[Room | None]:
        """The room (None if there is none) while holding the lock; what the block leaves in it is written back."""
        with self._lock.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            room = self.read()
            yield room
            if room is not None:
                self.write(room)

    def write(self, room: Room) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(msgspec.json.encode(room))

    def delete(self) -> None:
        with self._lock.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.path.unlink(missing_ok=True)

    def freeze(self, frozen: bool) -> None:
        """Freeze the room (no claim is granted) or thaw it."""
        with self.changing() as room:
            if room is None:
                raise FishchipsError("there is no room here: `fishchips class start --students N` makes one")
            room.frozen = frozen

    def claim(self, user: str, secret: str, role: str) -> tuple[Room, str]:
        """Exchange a student's one-time secret for their password, once; the room and the password."""
        if role not in ROLES:
            raise JoinError(f"a student joins as one of {', '.join(ROLES)}, not {role!r}")
        with self.changing() as room:
            student = room.students.get(user) if room else None
            if room is None or student is None or not hmac.compare_digest(student.secret, secret):
                raise JoinError("your teacher's room does not know this join code: ask your teacher for a new one")
            if student.used:
                raise JoinError(USED)
            if room.frozen:  # the secret stays unused: the same code works once the teacher thaws the room
                raise JoinError(FROZEN)
            student.role = role
            return room, student.password
