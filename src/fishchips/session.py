"""One shop session, the same for both views: the browser page and the terminal app.

A view shows one shop at a time, but over its life opens many: a scenario step closes one
floor and opens the next, at the speed the user chose. The session keeps what outlives a
floor (the scenario, the speed, the connection) and the Kafka watcher both views look at
Kafka through, once a second: a process of its own (kafka/watcher.py says why).
"""

import threading
from collections.abc import Callable

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.node_controls import NodeControlError, NodeControls
from fishchips.events import Listener
from fishchips.floor import ShopFloor
from fishchips.kafka.connect import connect
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.replication import ReplicationView
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.kafka.watcher import KafkaWatcher, Question, Sight
from fishchips.roles.accountant import Accountant
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.till import ACKS
from fishchips.scenarios import SCENARIOS, Scenario

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def next_speed(speed: float, step: int) -> float:
    """One step along SPEEDS; a speed off the list restarts at x1."""
    index = SPEEDS.index(speed) + step if speed in SPEEDS else 1
    return SPEEDS[min(max(index, 0), len(SPEEDS) - 1)]


def next_scenario(name: str) -> str:
    """The scenario after `name`, round to the first again."""
    names = list(SCENARIOS)
    return names[(names.index(name) + 1) % len(names)]


class ShopSession:
    """The shop a view shows: opened, stepped and closed here; its events go to the view's listener."""

    def __init__(
        self,
        scenario: Scenario,
        settings: ConnectionSettings,
        topics: Topics,
        listener: Listener,
        speed: float = 1.0,
        books: str | None = None,  # where the accountant keeps the books (None: the default file)
        group_protocol: GroupProtocol = GroupProtocol.CONSUMER,
        redis: str | None = None,  # the hot cabinet's Redis, for demo5 (None: REDIS_URL, else the local redis-server)
        local_cluster: EmbeddedCluster | None = None,  # the three-node cluster fishchips started (None: the data dir's)
    ) -> None:
        self.scenario = scenario
        self.local_cluster = local_cluster
        self.settings = settings
        self.topics = topics
        self.listener = listener
        self.speed = speed
        self.books = books
        self.group_protocol = group_protocol
        self.redis = redis
        self.floor: ShopFloor | None = None
        self._lock = threading.Lock()  # the floor is handed over under it: opened, or closed before it could be
        self._generation = 0  # every close counts one: an open that began before it opens nothing
        self._watcher: KafkaWatcher | None = None
        self.nodes = NodeControls(None, "the shop is not open yet")  # the broker controls, found once connected
        self.replication: ReplicationView | None = None  # the last look at the brokers and replicas

    @property
    def generation(self) -> int:
        """How many closes so far: an open asked for now, run later, opens nothing if a close came between."""
        return self._generation

    def open(self, notice: Callable[[str], None], generation: int | None = None) -> ShopFloor | None:
        """Connect (starting the embedded broker if need be) and open the scenario's floor; blocks, so call it from
        a thread. None if the session was closed since `generation` (default: now). FishchipsError if Kafka cannot be reached."""
        with self._lock:
            generation, scenario = self._generation if generation is None else generation, self.scenario
        cluster = connect(self.settings, notice=lambda phase: notice(f"embedded broker: {phase}…"))
        nodes = NodeControls.find(cluster.settings.bootstrap_servers, self.local_cluster)
        # on a cluster whose nodes the views kill, each role runs in a process of its own: librdkafka may abort
        # the process whose client meets a broker's death (chaos.md), and that must not be the page's or the app's
        floor = ShopFloor(
            scenario, cluster.settings, self.topics, listener=self.listener, speed=self.speed, group_protocol=self.group_protocol, redis=self.redis,
            processes=nodes.available,
        )
        with self._lock:
            if generation != self._generation:
                return None  # closed while connecting
            self.settings = cluster.settings
            self.nodes = nodes
            self.floor = floor
        floor.start()  # a close from now on closes this floor, which then starts nothing more
        floor.add_accountant(self.books)
        return floor

    def close(self) -> None:
        """Close the open floor (every role leaves its group) and end the watcher; an open under way opens nothing."""
        with self._lock:
            self._generation += 1
            floor, self.floor = self.floor, None
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()
        if floor is not None:
            floor.close()

    def step_scenario(self, name: str) -> Scenario:
        """Close the shop and make `name` the scenario to open next."""
        self.close()
        self.scenario = SCENARIOS[name]
        return self.scenario

    def step_speed(self, step: int) -> float:
        """One step faster (+1) or slower (-1), for the open floor and every one opened after."""
        self.speed = next_speed(self.speed, step)
        if (floor := self.floor) is not None:
            floor.set_speed(self.speed)
        return self.speed

    def look(self, topics: list[str], groups: list[str]) -> Sight:
        """Kafka's own view of these topics and groups, and of the brokers, the shop's replicas, its groups'
        coordinators and its transactions': the watcher's latest look (it starts one if none runs)."""
        floor = self.floor
        # an exactly-once role's transactional id is its group's name and its own (roles/base.py)
        transactional = tuple(
            f"{self.topics.group(role.group_role)}.{view.name}"
            for view in (floor.roles() if floor is not None else [])
            for role in (FoodPreparer, Cook)
            if view.kind == role.kind and view.running
        )
        question = Question(
            tuple(topics),
            tuple(groups),
            replicated=(self.topics.orders, self.topics.cook, self.topics.served),
            coordinated=tuple(self.topics.group(role.group_role) for role in (FoodPreparer, Cook, Accountant)),
            transactional=transactional,
            expected_nodes=tuple(self.nodes.nodes()),
        )
        with self._lock:
            if self._watcher is None:
                self._watcher = KafkaWatcher(self.settings)
            watcher = self._watcher
        sight = watcher.look(question)
        self.replication = sight.replication
        return sight

    def toggle_acks(self) -> str:
        """Switch the open shop's tills between acks=all and acks=1 (on a cluster fishchips started); what that means, in words."""
        floor = self.floor
        if not self.nodes.available or floor is None:
            raise NodeControlError(self.nodes.reason or "the shop is not open yet")
        acks = "1" if floor.acks == "all" else "all"
        floor.set_acks(acks)
        return f"the tills write with {ACKS[acks]}"

    def kill_broker(self, view: ReplicationView | None = None) -> str:
        """SIGKILL a node of the local cluster: the leader of the orders' first partition (as `view` has it, by default
        the watcher's last look), so its leaders visibly move."""
        view = view or self.replication
        leader = next((p.leader for p in view.partitions if p.topic == self.topics.orders), None) if view is not None else None
        return self.nodes.kill(prefer=leader)
