"""A local Kafka cluster of three nodes: each its own process, ports and data dir, one KRaft quorum.

Each node is a broker and a controller, so any one can die and the other two carry on:
the quorum keeps a majority, and topics with three replicas and min.insync.replicas=2
keep taking writes. The cluster's shape (node ids, ports, cluster id) is fixed once in
cluster.json, so a node restarted after a crash comes back as itself.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.broker.embedded import (
    BrokerError,
    BrokerStatus,
    EmbeddedBroker,
    Quorum,
    new_cluster_id,
    quiet_log,
)
from fishchips.broker.jars import Progress
from fishchips.paths import data_dir
from fishchips.services.local_server import free_port, port_taken
from fishchips.waiting import until

CLUSTER_PORT = 9192  # the nodes listen on 9192, 9193, 9194: beside, not on, the single broker's 9092


def default_cluster_dir() -> Path:
    return data_dir() / "cluster"


@dataclass(frozen=True)
class ClusterShape:
    cluster_id: str
    ports: dict[int, int]  # node id -> client port
    controller_ports: dict[int, int]  # node id -> controller port


class EmbeddedCluster:
    def __init__(self, data: Path | None = None, nodes: int = 3, cache: Path | None = None) -> None:
        self.data = (data or default_cluster_dir()).resolve()
        self.size = nodes
        self.cache = cache

    @property
    def shape_file(self) -> Path:
        return self.data / "cluster.json"

    def exists(self) -> bool:
        return self.shape_file.is_file()

    def shape(self, port: int | None = None) -> ClusterShape:
        """The cluster's fixed shape: read from cluster.json, or chosen now (ports from `port` up) and saved."""
        if self.exists():
            raw = json.loads(self.shape_file.read_text())
            return ClusterShape(raw["cluster_id"], _int_keys(raw["ports"]), _int_keys(raw["controller_ports"]))
        base = port or CLUSTER_PORT
        ports = {node: base + node - 1 for node in range(1, self.size + 1)}
        taken = [p for p in ports.values() if port_taken(p)]
        if taken:
            raise BrokerError(f"port {taken[0]} on 127.0.0.1 is taken by another program: choose other ports with --port")
        shape = ClusterShape(new_cluster_id(), ports, {node: free_port() for node in ports})
        self.data.mkdir(parents=True, exist_ok=True)
        self.shape_file.write_text(
            json.dumps({"cluster_id": shape.cluster_id, "ports": shape.ports, "controller_ports": shape.controller_ports})
        )
        return shape

    def nodes(self) -> list[EmbeddedBroker]:
        shape = self.shape()
        return [
            EmbeddedBroker(self.data / f"node-{node}", self.cache, Quorum(node, shape.controller_ports, shape.cluster_id), keys=self.data)
            for node in sorted(shape.ports)
        ]

    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.shape().ports.values())

    def start(
        self,
        port: int | None = None,
        timeout: float = 120.0,
        progress: Progress | None = None,
        on_phase: Callable[[str], None] | None = None,
        sasl: bool = False,
        room: tuple[str, int] | None = None,
    ) -> list[BrokerStatus]:
        """Start every node that is not running, then wait until the cluster is whole (see await_whole).

        sasl and room as for one broker (EmbeddedBroker.start); a classroom's room listener is on every node,
        at the room's port and the two after it, so a student's client reaches each partition's leader."""
        shape = self.shape(port)
        launched = [
            (node, node.launch(port, progress, on_phase, tls=sasl, sasl=sasl, room=(room[0], room[1] + index) if room else None))
            for index, (node, port) in enumerate(zip(self.nodes(), shape.ports.values(), strict=True))
            if not node.status().running
        ]
        deadline = time.monotonic() + timeout
        for node, state in launched:
            node.await_ready(state, deadline, on_phase)
        if on_phase:
            on_phase("waiting for every node to join the cluster")
        self.await_whole(deadline)
        return self.status()

    def await_whole(self, deadline: float) -> None:
        """Return once the controllers have registered every node and every partition has all its replicas in sync.

        One node answering is only the first sign of life: a client then sees one broker, and a topic's
        partitions are led by the nodes that came up first until the others catch up.
        """
        size = len(self.shape().ports)
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers(), **self.local_login()}, logger=quiet_log)
        seen = "no node answered"

        def whole() -> bool:
            nonlocal seen
            try:
                registered = len(admin.describe_cluster(request_timeout=2).result().nodes)
                partitions = [p for topic in admin.list_topics(timeout=2).topics.values() for p in topic.partitions.values()]
            except KafkaException:
                return False
            lagging = sum(set(p.isrs) != set(p.replicas) for p in partitions)
            seen = f"{registered} of {size} nodes registered, {lagging} partitions not fully in sync"
            return registered == size and not lagging

        if not until(whole, max(deadline - time.monotonic(), 0), every=0.2):
            raise BrokerError(
                f"the cluster at {self.bootstrap_servers()} did not come together in time ({seen}); see the logs in {self.data}"
            )

    def local_login(self) -> dict[str, str]:
        """What the nodes' local ports want beyond their addresses: nothing, or on a SASL cluster the admin's login."""
        node = self.nodes()[0]
        state = node.read_state()
        return node.local_login(state) if state else {}

    def status(self) -> list[BrokerStatus]:
        return [node.status() for node in self.nodes()] if self.exists() else []

    def stop(self) -> int:
        """Stop every node at once (one by one, the last would wait for a quorum that is gone); how many ran."""
        if not self.exists():
            return 0
        stopping = [(node, pid) for node in self.nodes() if (pid := node.terminate()) is not None]
        for node, pid in stopping:
            node.finish_stopping(pid)
        return len(stopping)


def _int_keys(mapping: dict[str, int]) -> dict[int, int]:
    """JSON object keys are strings; node ids are numbers."""
    return {int(key): value for key, value in mapping.items()}
