"""`fishchips class ...` for the teacher and `fishchips join CODE` for a student (docs/classroom.md)."""

import json
import time
from pathlib import Path

import click

from fishchips.broker.embedded import default_data_dir
from fishchips.classroom.accounts import remove_student, reset_room
from fishchips.classroom.code import JoinCode
from fishchips.classroom.room import ROLES, RoomFile, student_names
from fishchips.classroom.student import await_rights, join_settings
from fishchips.classroom.teacher import Address, start_room, stop_room
from fishchips.cli import servers
from fishchips.cli.console import console, out
from fishchips.cli.options import nodes_choice, prefix_option
from fishchips.cli.shop import connected, run_role
from fishchips.events import RoleKind
from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.topics import Topics
from fishchips.roles.till import Tickets
from fishchips.shop import new_run_id
from fishchips.shop.keying import Keying

data_dir_option = servers.data_dir_option("the class's broker keeps its log and the room (default: the broker's own data dir)")


@click.group(name="class")
def classroom() -> None:
    """Teach a class: students join this machine's shop from their own laptops with `fishchips join`."""


@classroom.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="The address students reach this machine at; nothing listens beyond it."
)
@click.option("--kafka-port", type=click.IntRange(1, 65535), default=9094, show_default=True, help="The room's Kafka port on --host.")
@click.option(
    "--page-port",
    type=click.IntRange(1, 65535),
    default=8094,
    show_default=True,
    help="The room's page (the CA, the join codes, who holds what) on --host.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="The broker's local port on 127.0.0.1 (default: as it was).")
@click.option("--students", type=click.IntRange(1, 200), default=None, help="How many students: student-1 to student-N.")
@click.option("--names", "names_file", type=click.Path(path_type=Path), default=None, help="A file of students' names, one a line.")
@click.option(
    "--partitions", type=click.IntRange(1), default=12, show_default=True, help="Partitions of orders: how many preparers can hold one."
)
@nodes_choice("3: the room on a three-node cluster in the data dir; each node listens for the room, at --kafka-port and the two after it.")
@prefix_option
@data_dir_option
def start(
    host: str,
    kafka_port: int,
    page_port: int,
    port: int | None,
    students: int | None,
    names_file: Path | None,
    partitions: int,
    nodes: int,
    prefix: str,
    data_dir: Path | None,
) -> None:
    """Start the broker with the room's listener, a SCRAM user per student, and the room's page; print its address
    (yours with the teacher's token) and the join lines."""
    if students and names_file:
        raise click.UsageError("--students or --names, not both")
    began = time.monotonic()
    data = (data_dir or default_data_dir()).resolve()
    room = start_room(data, Address(host, kafka_port, page_port), student_names(students, names_file), prefix, partitions, port, nodes)
    console.print(
        f"[green]✓[/] the class is open on {host}: Kafka at port {kafka_port}{' to ' + str(kafka_port + 2) if nodes == 3 else ''}, "
        f"the page at port {page_port} "
        f"({len(room.students)} students, {time.monotonic() - began:.1f} s)",
        highlight=False,
    )
    console.print(
        f"the room's page: {room.page} for the students; yours, with the controls: [bold]{room.teachers_page}[/] (keep it to yourself)",
        highlight=False,
        soft_wrap=True,
    )
    for name, student in room.students.items():
        if not student.used:
            out.print(f"fishchips join {room.code(name).encode()}", highlight=False, soft_wrap=True)


@classroom.command(name="list")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: the room's address, the teacher's page, each student's name, role and join code."
)
@data_dir_option
def list_(as_json: bool, data_dir: Path | None) -> None:
    """Who is in the room: each student, what they joined as, and the join code of those who have not."""
    room = RoomFile((data_dir or default_data_dir()).resolve()).read()
    if room is None:
        raise click.ClickException("there is no room here: `fishchips class start --students N` makes one")
    students = [{"name": name, "role": s.role, "code": None if s.used else room.code(name).encode()} for name, s in room.students.items()]
    if as_json:
        listing = {"host": room.host, "kafka_port": room.kafka_port, "page_port": room.page_port, "teachers_page": room.teachers_page}
        out.print_json(json.dumps({**listing, "frozen": room.frozen, "students": students}))
        return
    for student in students:
        out.print(f"{student['name']:<20} {student['role'] or 'not joined: fishchips join ' + str(student['code'])}", highlight=False)


@classroom.command()
@click.argument("name")
@data_dir_option
def remove(name: str, data_dir: Path | None) -> None:
    """Remove a student: their user and ACLs are deleted, so their client is refused and leaves the group."""
    remove_student((data_dir or default_data_dir()).resolve(), name)
    console.print(f"[green]✓[/] {name} is removed from the class", highlight=False)


@classroom.command()
@data_dir_option
def reset(data_dir: Path | None) -> None:
    """Remove every student and forget the room, for the next class (the broker keeps running)."""
    removed = reset_room((data_dir or default_data_dir()).resolve())
    console.print(f"[green]✓[/] the room is empty ({removed} students removed)")


@classroom.command()
@data_dir_option
def stop(data_dir: Path | None) -> None:
    """Stop the room's page and the broker; the room is kept for the next `class start`."""
    stopped = stop_room((data_dir or default_data_dir()).resolve())
    console.print("[green]✓[/] the class is stopped" if stopped else "[yellow]•[/] the class was not running")


@click.command()
@click.argument("code")
@click.option(
    "--as", "role", type=click.Choice(ROLES), default="preparer", show_default=True, help="The role to play in the teacher's shop."
)
@click.option(
    "--name", default=None, help="Your name in the shop, after your user: USER.NAME (default: your user in the join code alone)."
)
def join(code: str, role: str, name: str | None) -> None:
    """Join your teacher's shop with the join code they gave you, and play a role in it until Ctrl-C."""
    joined = JoinCode.decode(code)
    topics = Topics(joined.prefix)
    # the role's name is in its transactional id: the broker lets a student use only ids that start with their user
    me = f"{joined.user}.{name}" if name else joined.user
    with connected(join_settings(joined, role)) as cluster:
        admin = clients.admin(cluster)
        await_rights(admin, topics)
        if role == "preparer":
            run_role(RoleKind.PREPARER, me, cluster, topics, 1, make_topics=False, work_seconds=0.4, speed=1.0)
        elif role == "till":
            run_role(
                RoleKind.TILL,
                me,
                cluster,
                topics,
                1,
                make_topics=False,
                number=1,
                tickets=Tickets(None),
                run_id=new_run_id(),
                keying=Keying.TILL,
                partitions=1,
            )
        else:
            start = end_offsets(admin, [topics.served]).get(topics.served, {})
            run_role(RoleKind.BOARD, me, cluster, topics, 1, make_topics=False, topic=topics.served, start=start, speed=1.0)

