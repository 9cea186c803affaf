"""Share groups (KIP-932, "queues for Kafka"): setting one up, and reading Kafka's own view of it.

A share group's settings live on the broker, as configs of a GROUP resource: where a new group starts
reading, how long a member may hold a record, how often a record may be delivered before it is archived,
and the dead-letter topic archived records are copied to (KIP-1191, in Kafka 4.4). They are set with the
admin API's incremental_alter_configs, the same call as for a topic's configs.

The group's view (state, members, the partitions they take from, start offset and lag) is read by running
Kafka's own `kafka-share-groups.sh --describe` (class ShareGroupCommand) from the broker's jars, with the
broker's Java. Chosen over speaking the protocol because the Python admin client (confluent-kafka 2.16) has
no share-group calls, and speaking it ourselves means encoding ShareGroupDescribe and
DescribeShareGroupOffsets requests byte by byte (flexible versions, tagged fields): hundreds of lines no
learner should have to read, and a second copy of what Kafka's tool already does. The price is a JVM start
per question (2-5 s here), so the three questions (--state, --members, --offsets) are asked side by side.
"""

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from fishchips.broker.jars import ensure_jars
from fishchips.broker.java import find_java
from fishchips.errors import FishchipsError
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics
from fishchips.paths import cache_dir
from fishchips.waiting import until

TIMEOUT = 15.0  # an admin call, or waiting for a new setting to show
TOOL_TIMEOUT = 60.0  # one run of the tool: a JVM start on a busy 2-core machine, then a few requests
TOOL = "org.apache.kafka.tools.consumer.group.ShareGroupCommand"  # what kafka-share-groups.sh runs
# a short-lived tool: compile quickly rather than well, and keep the heap small; starts in half the time
JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m")

# the group configs (KIP-932, KIP-1191); each is bounded by a broker setting, e.g. the lock by
# group.share.min/max.record.lock.duration.ms (15-60 s by default)
AUTO_OFFSET_RESET = "share.auto.offset.reset"
LOCK_DURATION_MS = "share.record.lock.duration.ms"
DELIVERY_COUNT_LIMIT = "share.delivery.count.limit"
DEAD_LETTER_TOPIC = "errors.deadletterqueue.topic.name"
# a topic takes a share group's dead letters only if it says so itself
DEAD_LETTER_ENABLE = "errors.deadletterqueue.group.enable"


class ShareGroupError(FishchipsError):
    """A share group could not be set up, or its view could not be read."""


@dataclass(frozen=True)
class ShareGroupSettings:
    """What a share group is told; None keeps the broker's default."""

    auto_offset_reset: str = "earliest"  # a new group serves every order already waiting, like the shop's consumer groups
    lock_duration_ms: int | None = None  # how long a member may hold a record before it goes back (broker default 30 s)
    delivery_count_limit: int | None = None  # deliveries before a record is archived (broker default 5)
    dead_letter_topic: str | None = None  # where archived records are copied; its name must start with "dlq."

    def configs(self) -> dict[str, str]:
        wanted = {
            AUTO_OFFSET_RESET: self.auto_offset_reset,
            LOCK_DURATION_MS: self.lock_duration_ms,
            DELIVERY_COUNT_LIMIT: self.delivery_count_limit,
            DEAD_LETTER_TOPIC: self.dead_letter_topic,
        }
        return {name: str(value) for name, value in wanted.items() if value is not None}


def configure(admin: AdminClient, group: str, settings: ShareGroupSettings) -> None:
    """Give the group its settings, and return once the broker reports them.

    A group needs no creating: it exists once a member joins or a setting is made. The broker applies a
    setting a moment after the call returns, so a member that joined at once could still get the old one.
    """
    wanted = settings.configs()
    _alter(admin, ResourceType.GROUP, group, wanted)
    if not until(lambda: wanted.items() <= group_configs(admin, group).items(), TIMEOUT):
        raise ShareGroupError(f"the broker did not show the settings of share group {group} within {TIMEOUT:.0f} s")


def group_configs(admin: AdminClient, group: str) -> dict[str, str]:
    """Every config of a group, with the broker's defaults filled in."""
    resource = ConfigResource(ResourceType.GROUP, group)
    try:
        entries = admin.describe_configs([resource], request_timeout=TIMEOUT)[resource].result()
    except KafkaException as exc:
        raise ShareGroupError(f"cannot read the settings of group {group}: {exc.args[0].str()}") from None
    return {name: entry.value for name, entry in entries.items()}


def make_dead_letter_topic(admin: AdminClient, topic: str) -> None:
    """A one-partition topic that share groups may copy their archived records to (KIP-1191)."""
    ensure_topics(admin, {topic: 1})
    _alter(admin, ResourceType.TOPIC, topic, {DEAD_LETTER_ENABLE: "true"})


def _alter(admin: AdminClient, kind: ResourceType, name: str, configs: Mapping[str, str]) -> None:
    entries = [ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET) for key, value in configs.items()]
    resource = ConfigResource(kind, name, incremental_configs=entries)
    try:
        admin.incremental_alter_configs([resource], request_timeout=TIMEOUT)[resource].result()
    except KafkaException as exc:  # the broker says which value is out of range, e.g. a lock under 15 s
        raise ShareGroupError(f"cannot configure {kind.name.lower()} {name}: {exc.args[0].str()}") from None


@dataclass(frozen=True)
class ShareMember:
    """One member, as `--members` shows it: any number of members may take from the same partition."""

    member_id: str
    host: str
    client_id: str
    partitions: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ShareGroupView:
    """A share group as `kafka-share-groups.sh --describe` shows it."""

    name: str
    state: str  # Empty, Stable or Dead
    members: tuple[ShareMember, ...]
    start_offsets: dict[tuple[str, int], int]  # (topic, partition) -> the first offset not yet done with
    lag: dict[tuple[str, int], int]  # (topic, partition) -> records not yet acknowledged for good

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


def describe(settings: ConnectionSettings, group: str) -> ShareGroupView:
    """The group's state, members and offsets, from Kafka's own tool (the three questions asked at once)."""
    config = settings.client_config()
    if config["security.protocol"] != "PLAINTEXT":  # the Java client would want its own TLS and SASL settings
        raise ShareGroupError(f"the share group view speaks PLAINTEXT only for now, not {config['security.protocol']}")
    java, libs = find_java(), ensure_jars(cache_dir())
    tool = [str(java.path), *JVM_FLAGS, "-cp", f"{libs}/*", TOOL]
    base = [*tool, "--bootstrap-server", config["bootstrap.servers"], "--describe", "--group", group]
    runs = {
        question: subprocess.Popen([*base, question], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for question in ("--state", "--members", "--offsets")
    }
    tables = {question: _table(process, group) for question, process in runs.items()}
    state = tables["--state"]
    if not state:
        raise ShareGroupError(f"kafka-share-groups.sh shows no share group {group}")
    members = tuple(_member(row) for row in tables["--members"])
    offsets = [(row[1], int(row[2]), _number(row[3]), _number(row[4])) for row in tables["--offsets"]]
    return ShareGroupView(
        name=group,
        state=state[0][-2],  # GROUP, COORDINATOR (ID) (two words), STATE, #MEMBERS
        members=tuple(sorted(members, key=lambda member: member.client_id)),
        start_offsets={(topic, partition): start for topic, partition, start, _ in offsets if start is not None},
        lag={(topic, partition): lag for topic, partition, _, lag in offsets if lag is not None},
    )


def _table(process: "subprocess.Popen[str]", group: str) -> list[list[str]]:
    """The rows of the tool's table for this group, each split into its columns; a clear error if it failed."""
    try:
        out, err = process.communicate(timeout=TOOL_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise ShareGroupError(f"kafka-share-groups.sh did not answer within {TOOL_TIMEOUT:.0f} s") from None
    # the tool exits 0 even when it fails, and says why on a line of its own starting "Error:"
    said = [line for line in (out + err).splitlines() if line.startswith("Error:")]
    if "GroupIdNotFoundException" in out + err:
        raise ShareGroupError(f"there is no share group {group}: a share group exists once a member has joined it")
    if process.returncode != 0 or said:
        last = (said or err.strip().splitlines() or ["no output"])[-1]
        raise ShareGroupError(f"kafka-share-groups.sh failed: {last.removeprefix('Error: ')}")
    return [line.split() for line in out.splitlines() if line.split()[:1] == [group]]


def _member(row: list[str]) -> ShareMember:
    """GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS ASSIGNMENT, where ASSIGNMENT reads like orders:0,1;served:0."""
    _, member_id, host, client_id, _count, *assignment = row
    partitions = []
    for topic_partitions in "".join(assignment).split(";"):
        topic, _, numbers = topic_partitions.rpartition(":")
        partitions += [(topic, int(number)) for number in numbers.split(",") if number.isdigit()]
    return ShareMember(member_id, host.lstrip("/"), client_id, tuple(sorted(partitions)))


def _number(cell: str) -> int | None:
    """A number the tool printed, or None for its "-" (a partition the group has not started on)."""
    return int(cell) if cell.lstrip("-").isdigit() else None
