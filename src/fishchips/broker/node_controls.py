"""Kill a node of the local three-node cluster (SIGKILL) and start it again: the views' broker controls
(with the tills' switch to acks=1, which only a cluster of replicas makes felt).

Only a cluster fishchips started can be struck: the EmbeddedCluster in the data dir, at the very
address the shop uses. fishchips knows its nodes' processes and how to start each again as itself.
On any other cluster (a single broker, a cluster of someone else's) the controls are absent, and
`reason` says why in one line.
"""

import os
import signal
from dataclasses import dataclass

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.errors import FishchipsError
from fishchips.waiting import until

DIES_WITHIN = 10.0  # seconds for a killed node's process to be gone


class NodeControlError(FishchipsError):
    """A broker control that cannot be done now (no node left to kill, none down to start)."""


@dataclass(frozen=True)
class NodeControls:
    cluster: EmbeddedCluster | None  # None: the shop's cluster is not one fishchips started
    reason: str = ""  # why there are no controls, for the views to show

    @classmethod
    def find(cls, bootstrap_servers: str | None, cluster: EmbeddedCluster | None = None) -> "NodeControls":
        """The controls for the cluster at `bootstrap_servers`, if it is the local one (by default the data dir's)."""
        cluster = cluster or EmbeddedCluster()
        if not cluster.exists():
            return cls(
                None,
                "this shop does not run on a cluster fishchips started: start it with --nodes 3 to kill and restart brokers "
                "and switch the tills to acks=1 (on one broker every write has one replica, so acks=1 and acks=all are the same)",
            )
        if set((bootstrap_servers or "").split(",")) != set(cluster.bootstrap_servers().split(",")):
            state = "running" if any(node.running for node in cluster.status()) else "stopped"
            return cls(
                None,
                f"this shop runs on {bootstrap_servers}, not on the three-node cluster in fishchips's data dir "
                f"({cluster.bootstrap_servers()}, {state}): fishchips kills only nodes of its own",
            )
        return cls(cluster)

    @property
    def available(self) -> bool:
        return self.cluster is not None

    def nodes(self) -> dict[int, EmbeddedBroker]:
        """Node id -> the node, for a cluster fishchips started; none otherwise."""
        if self.cluster is None:
            return {}
        return dict(zip(sorted(self.cluster.shape().ports), self.cluster.nodes(), strict=True))

    def kill(self, prefer: int | None = None) -> str:
        """SIGKILL one running node (`prefer`, if it runs: say, the leader the view shows); what was done, in words."""
        running = {node_id: node for node_id, node in self.nodes().items() if node.status().running}
        if len(running) <= 1:
            raise NodeControlError(self.reason or "only one node is left: with none, nothing would answer; restart the others first")
        node_id = prefer if prefer in running else min(running)
        node = running[node_id]
        state = node.status().state
        assert state is not None  # a running node has its state file
        os.kill(state.pid, signal.SIGKILL)
        if not until(lambda: not node.status().running, DIES_WITHIN):
            raise NodeControlError(f"broker {node_id} (pid {state.pid}) still runs {DIES_WITHIN:.0f} s after kill -9")
        left = len(running) - 1
        return f"kill -9 broker {node_id} (pid {state.pid}): {left} of {len(self.nodes())} nodes left; watch its leaders move"

    def restart(self) -> str:
        """Start every node that is down, as itself, without waiting: the views show it catch up."""
        down = {node_id: node for node_id, node in self.nodes().items() if not node.status().running}
        if not down:
            raise NodeControlError(self.reason or "every node is up: kill one first")
        for node in down.values():
            node.launch()  # on the port it had: each node's shape is fixed in cluster.json
        named = ", ".join(map(str, down))
        return f"broker {named} started again: watch it rejoin the in-sync replicas as it catches up"
