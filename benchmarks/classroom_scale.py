"""A room at scale, measured: 30 or 60 students join as preparers on a 12-partition orders.

Usage: python benchmarks/classroom_scale.py [--students 30,60] [--host 127.0.0.2] [--stagger 0.2] [--out FILE]

For each room size it starts a class of its own (`fishchips class start` in a temporary data dir, the
room on --host, free ports), starts one `fishchips join CODE` process per student, --stagger seconds
apart, and reads Kafka's own view of the preparers' group (the teacher's admin client, every 0.2 s):

- join: seconds from a student's process starting to its member being in the group (median and
  slowest), and from the first start to the whole room in it;
- rebalance, under the consumer protocol (the room's): a student holding partitions leaves (Ctrl-C:
  the member leaves the group as it closes), then one is removed by the teacher (`class remove`: the
  member is refused at its next heartbeat and the broker drops it when its session ends, 6 s): seconds
  until every partition of orders is held by a member still in the group, and the one gone is out;
- the broker's RSS (resident memory) once the room is in, and its peak during the run;
- the page's CPU (the room's page process, which looks at the group and at served once a second),
  in per cent of one core, over --window seconds with the whole room in.

Every student is a real process on this one machine, so join times include the machine's own
load (60 Python processes starting on a laptop's cores); in a room each has a laptop of its own.
It prints one JSON object (and writes it to --out). Run it on a quiet machine: it is not in CI.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.classroom.page import RoomPage
from fishchips.kafka import clients
from fishchips.kafka.connect import local_settings
from fishchips.kafka.topics import Topics
from fishchips.services.local_server import free_port

PREFIX = "scale"
PARTITIONS = 12
LOOK = 0.2  # seconds between two looks at the group
LIMIT = 300.0  # seconds a room may take to join or settle before the run says it did not


def fishchips(*args: str) -> list[str]:
    return [sys.executable, "-m", "fishchips", *args]


class Room:
    """One class of `students`, in a temporary data dir, started and stopped by the real commands."""

    def __init__(self, host: str, students: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="fishchips-scale-"))
        self.data = self.folder / "broker"
        self.host, self.students = host, students
        self.ports = [str(free_port()) for _ in range(3)]
        self.joined: dict[str, subprocess.Popen[bytes]] = {}
        self._admin: AdminClient | None = None

    def start(self) -> list[str]:
        """Start the class; its join lines' codes."""
        command = ["class", "start", "--host", self.host, "--kafka-port", self.ports[0], "--page-port", self.ports[1], "--port", self.ports[2]]
        command += ["--students", str(self.students), "--partitions", str(PARTITIONS), "--prefix", PREFIX, "--data-dir", str(self.data)]
        result = subprocess.run(fishchips(*command), capture_output=True, text=True, timeout=300, check=True)
        return [line.split()[2] for line in result.stdout.splitlines() if line.startswith("fishchips join ")]

    def admin(self) -> AdminClient:
        """One client, kept: a client collected while its answer is on the way never answers (the first run waited for ever)."""
        if self._admin is None:
            broker = EmbeddedBroker(self.data)
            self._admin = clients.admin(local_settings(broker, broker.status()))
        return self._admin

    def group(self) -> dict[str, set[int]]:
        """Kafka's view: each member's client id (the student's user) and its partitions of orders."""
        group = Topics(PREFIX).group("preparers")
        try:
            description = self.admin().describe_consumer_groups([group], request_timeout=10)[group].result(timeout=30)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                raise
            return {}  # no student has joined yet
        return {m.client_id: {tp.partition for tp in m.assignment.topic_partitions} for m in description.members}

    def pid(self, server: EmbeddedBroker | RoomPage) -> int:
        state, running = server.found()
        assert state is not None and running, f"{server.title} is not running"
        return int(state.pid)

    def stop(self) -> None:
        for process in self.joined.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.joined.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(fishchips("class", "stop", "--data-dir", str(self.data)), capture_output=True, timeout=120)
        shutil.rmtree(self.folder, ignore_errors=True)


def last_line(log: Path) -> str:
    """The student's last words (three lines: the role's summary comes after the reason it stopped)."""
    lines = log.read_text(errors="replace").strip().splitlines()
    return " | ".join(lines[-3:]) if lines else "(nothing said)"


def settled(room: Room, gone: str) -> float:
    """Seconds until every partition is held by a member in the group, and `gone` is not in it."""
    began = time.monotonic()
    while time.monotonic() - began < LIMIT:
        members = room.group()
        if gone not in members and set().union(*members.values()) == set(range(PARTITIONS)):
            return round(time.monotonic() - began, 2)
        time.sleep(LOOK)
    return float("nan")


def holder(room: Room) -> str:
    return next(name for name, partitions in sorted(room.group().items()) if partitions)


def measure(host: str, students: int, stagger: float, window: float) -> dict[str, object]:
    room = Room(host, students)
    peak = 0
    try:
        codes = room.start()
        broker = psutil.Process(room.pid(EmbeddedBroker(room.data)))
        sampling = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not sampling.wait(0.5):
                peak = max(peak, broker.memory_info().rss)

        threading.Thread(target=sample, daemon=True).start()
        started: dict[str, float] = {}
        env = {**os.environ, "COLUMNS": "200"}
        for number, code in enumerate(codes, 1):
            name = f"student-{number}"
            started[name] = time.monotonic()
            with (room.folder / f"{name}.log").open("wb") as said:  # what a student who never joined said
                room.joined[name] = subprocess.Popen(fishchips("join", code), stdout=said, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
            time.sleep(stagger)
        first, seen = min(started.values()), dict[str, float]()
        while len(seen) < students and time.monotonic() - first < LIMIT:
            now = time.monotonic()
            for name in room.group():
                seen.setdefault(name, now - started[name])
            time.sleep(LOOK)
        whole_room = round(time.monotonic() - first, 2)
        never = {name: last_line(room.folder / f"{name}.log") for name in room.joined if name not in seen}
        joins = sorted(seen.values())
        rss_in = broker.memory_info().rss
        page = psutil.Process(room.pid(RoomPage(room.data)))
        page.cpu_percent()
        time.sleep(window)
        page_cpu = page.cpu_percent()
        leaving = holder(room)
        room.joined[leaving].send_signal(signal.SIGINT)
        left = settled(room, leaving)
        removed_one = holder(room)
        subprocess.run(fishchips("class", "remove", removed_one, "--data-dir", str(room.data)), capture_output=True, timeout=60, check=True)
        removed = settled(room, removed_one)
        sampling.set()
        return {
            "students": students,
            "in_the_group": len(seen),
            "never_joined": never,
            "join_seconds": {"median": round(statistics.median(joins), 2), "slowest": round(joins[-1], 2)} if joins else None,
            "whole_room_seconds": whole_room,
            "rebalance_seconds": {"a student leaves": left, "the teacher removes one": removed},
            "broker_rss_mb": {"room_in": round(rss_in / 2**20), "peak": round(max(peak, rss_in) / 2**20)},
            "page_cpu_percent": round(page_cpu, 1),
            "page_window_seconds": window,
            "load_average": os.getloadavg(),
        }
    finally:
        room.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", default="30,60", help="room sizes, comma-separated")
    parser.add_argument("--host", default="127.0.0.2", help="the room's address (any 127.x.y.z is this machine's loopback)")
    parser.add_argument("--stagger", type=float, default=0.2, help="seconds between two students' joins")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which the page's CPU is measured")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    figures = [measure(args.host, int(n), args.stagger, args.window) for n in args.students.split(",")]
    text = json.dumps({"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(), "rooms": figures}, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
