"""The replication checks of lesson 12 read Kafka's metadata as the cluster gives it; here, as it gives it at each moment
of a broker's death: whole, killed but not yet fenced, fenced (leaders moved, ISR shrunk), back. No I/O."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.events import ignore
from fishchips.floor import ShopFloor
from fishchips.kafka.inspect import ClusterView
from fishchips.kafka.replication import Broker, PartitionReplicas, ReplicationView
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.learn.checks import Kafka, TopicReplicas, isr_shrank, leaders_moved, replicas_in_sync
from fishchips.learn.lesson import LessonError, find
from fishchips.learn.player import refuse_unless_killable
from fishchips.scenarios import SCENARIOS
from fishchips.session import ShopSession

TOPICS = Topics("t")
ORDERS = TopicReplicas("orders")


@dataclass(frozen=True)
class Seen:
    """Eyes that see one replication view: the cluster at one moment."""

    seen: ReplicationView

    def view(self) -> ClusterView:
        raise AssertionError("a replication check reads the replication view only")

    def replication(self) -> ReplicationView:
        return self.seen


def cluster(up: tuple[int, ...], leaders: tuple[int | None, ...], in_sync: tuple[tuple[int, ...], ...]) -> Kafka:
    brokers = tuple(Broker(node, node in up, f"127.0.0.1:{9000 + node}" if node in up else "") for node in (1, 2, 3))
    partitions = tuple(
        PartitionReplicas(TOPICS.orders, number, leader, (1, 2, 3), isr) for number, (leader, isr) in enumerate(zip(leaders, in_sync, strict=True))
    )
    session = ShopSession(SCENARIOS["demo3"], ConnectionSettings(), TOPICS, ignore)
    view = ReplicationView(brokers, 2, partitions, ())
    return Kafka(session, cast(ShopFloor, None), Seen(view), before=cast(Any, None))


WHOLE = cluster((1, 2, 3), (1, 2, 3), ((1, 2, 3),) * 3)
KILLED_NOT_FENCED = cluster((1, 2, 3), (1, 2, 3), ((1, 2, 3),) * 3)  # a node killed is listed until the controllers fence it
FENCED = cluster((2, 3), (2, 2, 3), ((2, 3),) * 3)
LEADERS_MOVED_ISR_NOT_YET = cluster((2, 3), (2, 2, 3), ((1, 2, 3), (2, 3), (2, 3)))


def test_a_whole_cluster_is_in_sync_and_nothing_moved() -> None:
    assert replicas_in_sync(WHOLE, ORDERS).passed
    assert not leaders_moved(WHOLE, ORDERS).passed and not isr_shrank(WHOLE, ORDERS).passed
    assert replicas_in_sync(WHOLE, ORDERS).said == (
        "every broker up; p0: leader 1, in sync 1,2,3 of 1,2,3, p1: leader 2, in sync 1,2,3 of 1,2,3, p2: leader 3, in sync 1,2,3 of 1,2,3"
    )


def test_until_it_is_fenced_a_killed_broker_still_leads() -> None:
    assert not leaders_moved(KILLED_NOT_FENCED, ORDERS).passed


def test_fenced_its_leaders_moved_and_the_isr_shrank() -> None:
    moved = leaders_moved(FENCED, ORDERS)
    assert moved.passed and moved.said.startswith("broker 1 down; p0: leader 2, in sync 2,3 of 1,2,3")
    assert isr_shrank(FENCED, ORDERS).passed
    assert not replicas_in_sync(FENCED, ORDERS).passed


def test_the_isr_has_shrunk_only_when_the_dead_broker_is_in_none() -> None:
    assert leaders_moved(LEADERS_MOVED_ISR_NOT_YET, ORDERS).passed
    assert not isr_shrank(LEADERS_MOVED_ISR_NOT_YET, ORDERS).passed


def test_an_offline_partition_has_not_moved() -> None:
    assert not leaders_moved(cluster((2, 3), (None, 2, 3), ((1,), (2, 3), (2, 3))), ORDERS).passed


def test_a_lesson_that_kills_a_broker_is_refused_on_a_cluster_fishchips_did_not_start(tmp_path: Path) -> None:
    elsewhere = ConnectionSettings(bootstrap_servers="127.0.0.1:9092")
    with pytest.raises(LessonError) as refused:
        refuse_unless_killable(find("12"), elsewhere, EmbeddedCluster(tmp_path / "cluster"))
    assert str(refused.value).startswith("12-replication needs 3 nodes, one of which it kills: leave out --bootstrap-servers")
    assert "\n" not in str(refused.value) and str(refused.value).endswith("not on 127.0.0.1:9092")
    refuse_unless_killable(find("1"), elsewhere, EmbeddedCluster(tmp_path / "cluster"))  # one broker is all lesson 1 needs
