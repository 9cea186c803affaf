"""The replication view's pure parts: where Kafka keeps an id, and what a view counts and prints."""

from fishchips.kafka.replication import Broker, Coordinator, PartitionReplicas, ReplicationView, coordinator_partition, render


def test_coordinator_partition_uses_javas_string_hash() -> None:
    assert coordinator_partition("hello", 1 << 30) == 99162322  # "hello".hashCode() in Java
    assert coordinator_partition("", 50) == 0
    assert coordinator_partition("polygenelubricants", 50) == 0  # hashCode() is Integer.MIN_VALUE: Utils.abs gives 0


def test_a_view_counts_partitions_behind_and_offline() -> None:
    view = ReplicationView(
        (Broker(1, True, "127.0.0.1:9192"), Broker(2, False, "")),
        1,
        (PartitionReplicas("o", 0, 1, (1, 2), (1,)), PartitionReplicas("o", 1, None, (2,), (2,))),
        (Coordinator("group", "g", None, "Kafka answered COORDINATOR_NOT_AVAILABLE"),),
    )
    assert (view.under_replicated, view.offline) == (1, 1)
    assert view.partitions[0].out_of_sync == (2,)
    assert view.to_json()["partitions"][0] == {
        "topic": "o",
        "partition": 0,
        "leader": 1,
        "replicas": [1, 2],
        "in_sync": [1],
        "out_of_sync": [2],
    }
    assert render(view).splitlines() == [
        "brokers: 1 up, 2 DOWN; named controller 1",
        "partitions: 2, under-replicated 1, offline 1",
        "o/0: leader 1  replicas 1,2  in sync 1  out of sync 2",
        "o/1: leader none (offline)  replicas 2  in sync 2",
        "group g: coordinator none (Kafka answered COORDINATOR_NOT_AVAILABLE)",
    ]
