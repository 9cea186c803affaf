"""The Kafka watcher: a small process of its own that looks at Kafka once a second for the views.

Why a process: librdkafka 2.16 now and then aborts (SIGABRT) a process whose client meets a
broker's death or restart (docs/chaos.md), and the views kill brokers on purpose. So the admin
client the views look through lives here: an abort ends only the watcher. The session sees its
pipe close, says "Kafka's view: reconnecting" and starts a new watcher at its next look, and
the page or the app carries on.

The session sends a Question (what to look at); the watcher answers each second with a Sight
(Kafka's view of the shop and of its replicas), as msgpack over a pipe, like a role's events.
"""

import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess

import msgspec
from confluent_kafka.admin import AdminClient

from fishchips import logfile
from fishchips.errors import FishchipsError
from fishchips.kafka import clients
from fishchips.kafka.inspect import ClusterView, snapshot
from fishchips.kafka.replication import ReplicationView, read_replication
from fishchips.kafka.settings import ConnectionSettings
from fishchips.spawning import spawn

LOOK_EVERY = 1.0  # seconds between two looks at Kafka's own view
FIRST_LOOK = 30.0  # the most a view waits for a new watcher's first answer: its start and one look with a node down
RECONNECTING = "Kafka's view: reconnecting"
STARTING = "Kafka's view: not read yet"


class Question(msgspec.Struct, frozen=True):
    """What to look at: the view's topics and groups; the topics whose replicas and the groups and
    transactional ids whose coordinators to show; the nodes the cluster should have."""

    topics: tuple[str, ...]
    groups: tuple[str, ...]
    replicated: tuple[str, ...]
    coordinated: tuple[str, ...]
    transactional: tuple[str, ...]
    expected_nodes: tuple[int, ...]


class Sight(msgspec.Struct, frozen=True):
    """One look: Kafka's view of the shop (None if it could not be read: `problem` says why) and of its replication."""

    kafka: ClusterView | None
    problem: str
    replication: ReplicationView


def no_sight(problem: str) -> Sight:
    return Sight(None, problem, ReplicationView((), None, (), (), problem))


def look(admin: AdminClient, question: Question) -> Sight:
    """Both views, through one admin client; a cluster away gives a Sight that says so."""
    try:
        kafka, problem = snapshot(admin, question.topics, question.groups), ""
    except FishchipsError as exc:
        kafka, problem = None, str(exc)
    replication = read_replication(admin, question.replicated, question.coordinated, question.transactional, question.expected_nodes)
    return Sight(kafka, problem, replication)


def look_once(settings: ConnectionSettings, question: Question) -> Sight:
    """One look through a client made for it: a lesson's check on a cluster whose nodes die calls it in a process of
    its own (spawning.apart), so its metadata is fresh and no abort reaches the caller."""
    return look(clients.admin(settings), question)


def main(settings: ConnectionSettings, questions: Connection, sights: Connection, log: logfile.LogTarget) -> None:
    """The watcher's process (multiprocessing, spawn): look, send home, wait a second or a new question; end when the session goes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the session decides when it stops
    logfile.log_to(*log)
    admin = clients.admin(settings)
    decode = msgspec.msgpack.Decoder(Question).decode
    encode = msgspec.msgpack.Encoder().encode
    try:
        question = decode(questions.recv_bytes())
        while True:
            sights.send_bytes(encode(look(admin, question)))
            if questions.poll(LOOK_EVERY):  # a new question, or the session's end of the pipe closed
                question = decode(questions.recv_bytes())
    except (EOFError, OSError):
        return


class KafkaWatcher:
    """The session's side: starts the watcher, tells it what to look at, keeps its latest Sight, and
    starts a new watcher at the next look after one died."""

    def __init__(self, settings: ConnectionSettings) -> None:
        self.settings = settings
        self._process: SpawnProcess | None = None
        self._reader: threading.Thread | None = None  # reads its sights, and reaps it when it ends
        self._questions: Connection | None = None  # None: no watcher runs
        self._asked: Question | None = None
        self._latest: Sight | None = None
        self._changed = threading.Condition()

    @property
    def pid(self) -> int | None:
        """The watcher's process, while one runs."""
        return self._process.pid if self._process is not None and self._questions is not None else None

    def look(self, question: Question) -> Sight:
        """The latest Sight (waiting for the first one only); asks `question` from now on."""
        with self._changed:
            if self._questions is None:
                self._start()
            if question != self._asked and self._questions is not None:
                self._asked = question
                self._questions.send_bytes(msgspec.msgpack.encode(question))
            self._changed.wait_for(lambda: self._latest is not None, FIRST_LOOK)
            return self._latest or no_sight(STARTING)

    def close(self) -> None:
        """End the watcher at once: it holds nothing worth a goodbye, and a look may take seconds with a node down."""
        with self._changed:
            questions, self._questions, process, reader = self._questions, None, self._process, self._reader
        if questions is not None and process is not None and reader is not None:
            questions.close()
            process.terminate()
            reader.join()  # the reader reaps it: two threads waiting on one child race (runtime/handles.py)

    def _start(self) -> None:
        questions_in, self._questions = spawn().Pipe(duplex=False)
        sights_in, sights_out = spawn().Pipe(duplex=False)
        self._asked = None
        self._process = spawn().Process(
            target=main, args=(self.settings, questions_in, sights_out, logfile.current()), name="kafka-watcher", daemon=True
        )
        self._process.start()
        questions_in.close()  # the watcher holds the other ends now: each side sees EOF when the other ends
        sights_out.close()
        self._reader = threading.Thread(target=self._read, args=(sights_in, self._process), name="kafka-watcher-sights", daemon=True)
        self._reader.start()

    def _read(self, sights: Connection, process: SpawnProcess) -> None:
        decode = msgspec.msgpack.Decoder(Sight).decode
        while True:
            try:
                sight = decode(sights.recv_bytes())
            except (EOFError, OSError):
                break
            with self._changed:
                self._latest = sight
                self._changed.notify_all()
        sights.close()
        process.join()
        with self._changed:
            if self._process is process and self._questions is not None:  # it died: not closed by the session
                self._latest = no_sight(RECONNECTING)
                self._questions.close()
                self._questions = None
                self._changed.notify_all()
