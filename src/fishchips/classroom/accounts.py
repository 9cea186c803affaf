"""The students on the broker: their SCRAM users and their ACLs, made and removed by the teacher's admin login
(`class remove` and `class reset`, or the page's buttons).

A student's user has no ACL until they claim their join code: then they get exactly the rules of the
role they joined as (kafka/acls.py), so only a till may write orders. Removing a student deletes both,
and the broker checks ACLs on every request, so their running client is refused at its next one.
"""

from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ScramMechanism, UserScramCredentialDeletion

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.broker.users import create_scram_users
from fishchips.classroom.room import RoomFile
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.acls import TIMEOUT, create_acls, every_acl_of, user_acls
from fishchips.kafka.connect import local_settings
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics


def teacher_settings(data: Path) -> ConnectionSettings:
    """The teacher's login on the room's broker (or three-node cluster, `class start --nodes 3`), over the local ports."""
    cluster = EmbeddedCluster(data)
    if cluster.exists():
        running = [(node, status) for node, status in zip(cluster.nodes(), cluster.status(), strict=True) if status.running]
        if running:
            node, status = running[0]
            return local_settings(node, status).with_bootstrap(cluster.bootstrap_servers())
    else:
        broker = EmbeddedBroker(data)
        status = broker.status()
        if status.running:
            return local_settings(broker, status)
    raise FishchipsError(f"the class's broker in {data} is not running: `fishchips class start` first")


def teacher_admin(data: Path) -> AdminClient:
    """An admin client on the room's broker, logged in as its admin."""
    return clients.admin(teacher_settings(data))


def add_users(admin: AdminClient, passwords: dict[str, str]) -> None:
    if passwords:
        create_scram_users(admin, passwords)


def admit(admin: AdminClient, user: str, role: str, prefix: str) -> None:
    """Let the student's user do one role's work in the shop, and nothing else."""
    create_acls(admin, user_acls(user, role, Topics(prefix)))


def remove_user(admin: AdminClient, user: str) -> None:
    """Delete the user's ACLs and SCRAM credentials (a user the broker never had is no error)."""
    deletion = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
    futures = [
        *admin.delete_acls([every_acl_of(f"User:{user}")], request_timeout=TIMEOUT).values(),
        *admin.alter_user_scram_credentials([deletion], request_timeout=TIMEOUT).values(),
    ]
    for future in futures:
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].name() != "RESOURCE_NOT_FOUND":
                raise FishchipsError(f"cannot remove the user {user}: {exc.args[0].str()}") from None


def remove_student(data: Path, name: str) -> None:
    """Delete the student's user and ACLs and forget them: their client is refused from its next request."""
    room_file = RoomFile(data)
    with room_file.changing() as room:
        if room is None or name not in room.students:
            raise FishchipsError(f"there is no student {name!r} in this room: `fishchips class list` shows who is")
        remove_user(teacher_admin(data), name)
        del room.students[name]


def reset_room(data: Path) -> int:
    """Remove every student from the broker and forget the room; how many there were."""
    room_file = RoomFile(data)
    room = room_file.read()
    if room is None:
        return 0
    admin = teacher_admin(data)
    for name in room.students:
        remove_user(admin, name)
    room_file.delete()
    return len(room.students)
