"""The room's file: a frozen room grants no claim and keeps the secret good; a claim is granted once."""

from pathlib import Path

import pytest

from fishchips.classroom.code import JoinError
from fishchips.classroom.panel import student_of
from fishchips.classroom.room import FROZEN, USED, Room, RoomFile, new_student


def test_a_frozen_room_grants_no_claim_and_the_code_stays_good(tmp_path: Path) -> None:
    room_file = RoomFile(tmp_path)
    room_file.write(Room("127.0.0.2", 9094, 8094, "f", "shop", {"ann": new_student()}, token="t"))
    secret = room_file.read().students["ann"].secret  # type: ignore[union-attr]
    room_file.freeze(True)
    with pytest.raises(JoinError, match=FROZEN):
        room_file.claim("ann", secret, "preparer")
    room_file.freeze(False)
    _, password = room_file.claim("ann", secret, "preparer")
    assert password == room_file.read().students["ann"].password  # type: ignore[union-attr]
    with pytest.raises(JoinError, match=USED):
        room_file.claim("ann", secret, "preparer")


def test_a_member_belongs_to_the_user_before_its_name() -> None:
    assert student_of("ann") == "ann"
    assert student_of("ann.left-laptop") == "ann"
