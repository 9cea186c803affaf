"""What the room's page shows: each student, and under their name their members of the preparers' group.

All of it is Kafka's own view, read by the page's process once a second with the teacher's login:
- a student's preparer is a member whose client id is their user, or USER.NAME (`join --name`);
  the group's description gives its partitions;
- what each served is counted from `served`, where every record names its preparer in a header,
  read from the start by a consumer of the page's own that joins no group;
- how long a member has been in the group is counted from when the page first saw its member id:
  Kafka does not say when a member joined.
"""

import logging
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from fishchips.classroom.accounts import teacher_settings
from fishchips.classroom.room import RoomFile
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics

log = logging.getLogger(__name__)

LOOK_EVERY = 1.0  # seconds between two looks at the group and at what was served
TIMEOUT = 5.0


def student_of(client_id: str) -> str:
    """The student a member belongs to: a user name has no dot (room.NAME), so USER.NAME is USER's."""
    return client_id.split(".", 1)[0]


class RoomWatch:
    """The room's members and what they served, looked at once a second in a thread of the page's process."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.room_file = RoomFile(data)
        self._lock = threading.Lock()
        self._members: list[dict[str, object]] = []
        self._served: Counter[str] = Counter()  # preparer's name -> orders it served (committed)
        self._since: dict[str, float] = {}  # member id -> when the page first saw it in the group
        self._problem = "not looked at yet"
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="room-watch", daemon=True)
        self._admin: AdminClient | None = None
        self._reader: Consumer | None = None
        self._prefix = ""  # the shop the clients were made for: a room reset and started again may have another

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(10)

    def _watch(self) -> None:
        while not self._closed.is_set():
            try:
                self._look()
            except (FishchipsError, KafkaException) as exc:
                self._admin = None  # new clients at the next look: the broker may have been stopped and started again
                with self._lock:
                    self._problem = str(exc)
            self._closed.wait(LOOK_EVERY)
        if self._reader is not None:
            self._reader.close()

    def _look(self) -> None:
        room = self.room_file.read()
        if room is None:
            return
        topics = Topics(room.prefix)
        if self._admin is None or self._prefix != topics.prefix:  # one login, kept: each SCRAM login costs the broker work
            settings = teacher_settings(self.data)
            self._admin, self._reader = clients.admin(settings), self._new_reader(settings, topics)
            self._prefix = topics.prefix
            with self._lock:
                self._served.clear()
        group = topics.group("preparers")
        try:
            found = self._admin.describe_consumer_groups([group], request_timeout=TIMEOUT)[group].result().members
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                raise
            found = []  # no student has joined as a preparer yet
        now = time.time()
        seen = {m.member_id: self._since.get(m.member_id, now) for m in found}
        members = [
            {
                "name": m.client_id,
                "student": student_of(m.client_id),
                "partitions": sorted(tp.partition for tp in m.assignment.topic_partitions if tp.topic == topics.orders),
                "since": seen[m.member_id],
            }
            for m in sorted(found, key=lambda m: m.client_id)
        ]
        served = self._read_served()
        with self._lock:
            self._members, self._since, self._problem = members, seen, ""
            self._served.update(served)

    def _new_reader(self, settings: ConnectionSettings, topics: Topics) -> Consumer:
        """The page's own reader of served, assigned every partition from the start: it joins no group."""
        if self._reader is not None:
            self._reader.close()
        reader = clients.consumer(settings, f"fishchips-room-page-{uuid.uuid4().hex[:8]}")
        partitions = reader.list_topics(topics.served, timeout=TIMEOUT).topics[topics.served].partitions
        reader.assign([TopicPartition(topics.served, p, OFFSET_BEGINNING) for p in partitions])
        return reader

    def _read_served(self) -> Counter[str]:
        """What was served since the last look, by preparer (each served record names it in a header)."""
        served: Counter[str] = Counter()
        while self._reader is not None and (messages := self._reader.consume(1000, 0.1)):
            for message in messages:
                who = dict(message.headers() or []).get("preparer") if message.error() is None else None
                if isinstance(who, bytes):
                    served[who.decode(errors="replace")] += 1
        return served

    def to_json(self, teacher: bool) -> dict[str, object]:
        """The room as the page draws it; a student's join code only for the teacher (it carries their secret)."""
        room = self.room_file.read()
        with self._lock:
            members, served, problem = list(self._members), Counter(self._served), self._problem
        if room is None:
            return {"room": None, "students": [], "problem": problem}
        now = time.time()
        students = []
        for name, student in room.students.items():
            own = [
                {**m, "served": served[str(m["name"])], "seconds": round(now - float(str(m["since"])))}
                for m in members
                if m["student"] == name
            ]
            entry: dict[str, object] = {"name": name, "role": student.role, "members": own}
            if teacher and not student.used:
                entry["code"] = room.code(name).encode()
            students.append(entry)
        strangers = [m["name"] for m in members if m["student"] not in room.students]  # the teacher's own preparers, say
        return {
            "room": {"host": room.host, "kafka_port": room.kafka_port, "page_port": room.page_port, "prefix": room.prefix},
            "frozen": room.frozen,
            "teacher": teacher,
            "students": students,
            "others": strangers,
            "problem": problem,
        }

