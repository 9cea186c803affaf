"""The teacher's side: start the room (broker or three-node cluster, students, page), stop it.

The room lives in the broker's data dir (room.py), so the commands find it again, and a room
stopped at lunch starts again with the same students, codes and passwords.
"""

import socket
from dataclasses import dataclass
from pathlib import Path

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.classroom.accounts import add_users, teacher_admin
from fishchips.classroom.code import ca_fingerprint
from fishchips.classroom.page import RoomPage
from fishchips.classroom.room import Room, RoomFile, new_student, new_token
from fishchips.errors import FishchipsError
from fishchips.kafka.acls import open_shop
from fishchips.kafka.topics import Topics


@dataclass(frozen=True)
class Address:
    """Where the room listens: the teacher's address, the broker's room port and the page's port."""

    host: str
    kafka_port: int
    page_port: int


def _check_free(host: str, port: int) -> None:
    """Bind once, to say clearly why the broker or the page could not listen there."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise FishchipsError(
                f"cannot listen on {host}:{port} ({exc.strerror}): check --host is this machine's address and the port is free"
            ) from None


def start_broker(data: Path, address: Address, port: int | None, nodes: int) -> None:
    """The broker (or the three-node cluster) with SASL and the room's listener; one already running must have it too."""
    cluster, broker = EmbeddedCluster(data), EmbeddedBroker(data)
    if (nodes == 3) != cluster.exists() and (cluster.exists() or broker.read_state() is not None):
        raise FishchipsError(
            f"{data} holds a {'three-node cluster' if cluster.exists() else 'broker of one node'}: "
            f"start the class with --nodes {3 if cluster.exists() else 1}, or choose another --data-dir"
        )
    rooms = [(address.host, address.kafka_port + node) for node in range(nodes)]  # node N's room listener: the room's port + N-1
    running = [status for status in (cluster.status() if nodes == 3 else [broker.status()]) if status.running and status.state]
    if running:
        if any(tuple(status.state.room or ()) not in rooms for status in running if status.state):
            raise FishchipsError(
                f"the broker in {data} is running without a listener on {address.host}:{address.kafka_port}: "
                "stop it (`fishchips class stop`) and start the class again"
            )
        if len(running) == nodes:
            return
    if not running:
        for room in rooms:
            _check_free(*room)
    if nodes == 3:
        cluster.start(port=port, timeout=180, sasl=True, room=rooms[0])
    else:
        broker.start(port=port, timeout=120, sasl=True, room=rooms[0])


def start_room(
    data: Path, address: Address, names: list[str], prefix: str, partitions: int, port: int | None = None, nodes: int = 1
) -> Room:
    """Start (or start again) the class; a new room gets a student per name, an existing one keeps its students."""
    room_file, broker, page = RoomFile(data), EmbeddedBroker(data), RoomPage(data)
    existing = room_file.read()
    if existing and names:
        raise FishchipsError("this room already has its students: `fishchips class reset` first for a new class")
    if not existing and not names:
        raise FishchipsError("say who is coming: --students N or --names FILE")
    if existing and (existing.host, existing.kafka_port, existing.page_port) != (address.host, address.kafka_port, address.page_port):
        raise FishchipsError(
            f"this room listens on {existing.host}:{existing.kafka_port} (page {existing.page_port}): "
            "start it with those, or `fishchips class reset` first"
        )
    if not page.found()[1]:
        _check_free(address.host, address.page_port)
    start_broker(data, address, port, nodes)
    fingerprint = ca_fingerprint(broker.tls_files.ca.read_bytes())
    room = existing or Room(
        address.host, address.kafka_port, address.page_port, fingerprint, prefix, {name: new_student() for name in names}
    )
    room.fingerprint = fingerprint
    room.token = room.token or new_token()
    admin = teacher_admin(data)
    open_shop(admin, Topics(room.prefix), partitions)
    add_users(admin, {name: student.password for name, student in room.students.items()})
    room_file.write(room)
    page.start(address.host, address.page_port)
    return room


def stop_room(data: Path) -> bool:
    """Stop the page and the broker (the room is kept for the next start); True if anything ran."""
    page_ran = RoomPage(data).stop()
    servers_ran = EmbeddedCluster(data).stop() > 0 or EmbeddedBroker(data).stop()  # a data dir holds one or the other
    return servers_ran or page_ran
