"""The preparer stage alone, shop against peer: the same orders, the same broker, the same processes.

The tills fill one orders topic first. Then each stage (the shop's FoodPreparer, or the
Quix Streams port) runs as M processes of one consumer group, reading that topic from its
start and writing its own served topic. Those served topics stamp each record with the
broker's append time (LogAppendTime), so both stages are timed by the broker's clock from
their first served order to their last, whatever timestamps the writers set.

Both groups rebalance the same way (RACE_PROTOCOL): Quix Streams forces the `range` assignor,
which only the classic protocol has, so the shop's preparers join as classic-eager members too.
"""

import functools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, ConsumerGroupState, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from fishchips.bench.isolate import Report
from fishchips.bench.plan import Plan
from fishchips.kafka import clients
from fishchips.kafka.inspect import end_offsets
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import TIMEOUT, Topics, ensure_topics
from fishchips.roles.context import ShopContext
from fishchips.roles.till import Tickets, Till
from fishchips.shop import new_run_id
from fishchips.spawning import spawn
from fishchips.waiting import until

REPORT_EVERY = 0.25
SETTLE_WITHIN = 60.0  # seconds for every worker to be in the stage's group, as they join at once on a busy machine
RACE_PROTOCOL = GroupProtocol.CLASSIC_EAGER  # the peer's (quixstreams forces partition.assignment.strategy=range): like for like
Worker = Callable[..., None]  # worker(settings, topics, name, done, results): serves until `done` is set


@dataclass(frozen=True)
class StageTopics(Topics):
    """A stage's own topic names, except that orders come from the one shared, pre-filled topic."""

    source: str = ""

    @property
    def orders(self) -> str:
        return self.source


def stage_topics(plan: Plan) -> Topics:
    return Topics(plan.phase_prefix("stage"))


def fill(settings: ConnectionSettings, plan: Plan, report: Report) -> dict[str, Any]:
    """The tills write plan.orders orders to the stage's orders topic, as fast as they can."""
    topics = stage_topics(plan)
    ensure_topics(clients.admin(settings), {topics.orders: plan.partitions})
    return {"orders": take_orders(settings, plan, topics, report), "topic": topics.orders}


def take_orders(settings: ConnectionSettings, plan: Plan, topics: Topics, report: Report) -> int:
    """plan.tills tills write plan.orders orders to `topics.orders`, as fast as they can; how many they took."""
    tickets, run_id = Tickets(plan.orders), new_run_id()
    scenario = plan.scenario()
    context = ShopContext(settings, topics, wanted=frozenset())  # nobody listens: the tills build no events
    tills = [
        Till(
            f"till-{n}",
            context,
            number=n,
            tickets=tickets,
            run_id=run_id,
            keying=scenario.keying,
            partitions=plan.partitions,
            orders_per_second=0,
            seed=plan.seed,
        )
        for n in range(1, plan.tills + 1)
    ]
    for till in tills:
        till.start()
    while any(till.running for till in tills):
        report(sum(till.counters["took"] for till in tills))
        time.sleep(REPORT_EVERY)
    if failures := [f"{till.name}: {till.failure}" for till in tills if till.failure]:
        raise RuntimeError("; ".join(failures))
    taken = sum(till.counters["took"] for till in tills)
    if taken != plan.orders:
        raise RuntimeError(f"the tills took {taken} orders of {plan.orders}")
    return taken


def run_stage(
    settings: ConnectionSettings, plan: Plan, name: str, worker: Worker, preparers: int | None = None, *, report: Report
) -> dict[str, Any]:
    """M workers serve the filled orders topic; orders/s between the first and last record on their served topic."""
    topics = stage_topics(plan)
    members = preparers or plan.preparers
    own = Topics(plan.phase_prefix(f"stage-{name}-{members}"))
    admin = clients.admin(settings)
    appended = {"message.timestamp.type": "LogAppendTime"}
    create(admin, [NewTopic(own.served, plan.partitions, 1, config=appended), NewTopic(own.dead_letters, 1, 1)])
    names = [f"{name}-{n}" for n in range(1, members + 1)]
    # A member still joining when the others stop catches them mid-rebalance: a commit made in that moment is refused
    # (REBALANCE_IN_PROGRESS), and Quix Streams stops on it. With few orders the first members can serve them all
    # before the last has joined, so the workers stop only once every one is in a settled group.
    settled = functools.partial(_settled, admin, own.prefix, members)
    return serve(settings, worker, StageTopics(own.prefix, source=topics.orders), names, plan.orders, report, settled=settled)


def serve(
    settings: ConnectionSettings,
    worker: Worker,
    topics: Topics,
    names: list[str],
    orders: int,
    report: Report,
    ready: Callable[[], None] = lambda: None,
    settled: Callable[[], bool] = lambda: True,
) -> dict[str, Any]:
    """One worker process per name serves `orders` orders from topics.orders onto topics.served (LogAppendTime), once
    `ready()` has returned (it may wait for the group, or write the orders); orders/s between the first and last served.
    The workers stop once `settled()` holds as well (see run_stage)."""
    processes = spawn()
    results, done = processes.Queue(), processes.Event()
    workers = [processes.Process(target=worker, args=(settings, topics, name, done, results)) for name in names]
    for process in workers:
        process.start()
    admin = clients.admin(settings)
    try:
        ready()
        while (served := _served(settings, admin, topics.served, orders)) < orders:
            if dead := [p for p in workers if not p.is_alive()]:
                raise RuntimeError(f"{len(dead)} worker(s) stopped early (exit code {dead[0].exitcode})")
            report(served)
            time.sleep(REPORT_EVERY)
        report(served)
        if not until(settled, SETTLE_WITHIN, every=REPORT_EVERY):
            raise RuntimeError(f"the workers' group did not settle with its {len(names)} members in {SETTLE_WITHIN:g} s")
        done.set()  # each worker stops cleanly, leaves the group and reports
        finals = [results.get(timeout=60) for _ in workers]
    finally:
        done.set()
        for process in workers:
            process.join(30)
            if process.is_alive():
                process.kill()
    if failures := [f"{who}: {failure}" for who, _, failure in finals if failure]:
        raise RuntimeError("; ".join(failures))
    ids, by_preparer, first_ms, last_ms = read_served(settings, topics.served)
    return {
        "served": sum(ids.values()),
        "distinct": len(ids),
        "duplicates": sum(count - 1 for count in ids.values()),
        "missing": orders - len(ids),
        "busy_members": len(by_preparer),  # workers that served at least one order
        "seconds": round((last_ms - first_ms) / 1000, 3),
        "orders_per_s": round(len(ids) / max(last_ms - first_ms, 1) * 1000, 1),
        "worker_peak_rss_mb": max(rss for _, rss, _ in finals),
    }


def _served(settings: ConnectionSettings, admin: AdminClient, topic: str, orders: int) -> int:
    """Orders served so far. The records on `served` count them until there are as many as orders; from then on the
    distinct orders among them do: a share group may serve an order twice, and its race ends once every order is served."""
    written = sum(end_offsets(admin, [topic]).get(topic, {}).values())
    return written if written < orders else len(read_served(settings, topic)[0])


def _settled(admin: AdminClient, prefix: str, members: int) -> bool:
    """The stage's one group (named from its own prefix) is stable, with every worker a member."""
    groups = [g.group_id for g in admin.list_consumer_groups(request_timeout=TIMEOUT).result().valid if g.group_id.startswith(f"{prefix}.")]
    descriptions = (
        [future.result() for future in admin.describe_consumer_groups(groups, request_timeout=TIMEOUT).values()] if groups else []
    )
    return any(d.state == ConsumerGroupState.STABLE and len(d.members) == members for d in descriptions)


def create(admin: AdminClient, topics: list[NewTopic]) -> None:
    """Create topics and wait until each partition has a leader (a new topic is not writable before)."""
    for future in admin.create_topics(topics, operation_timeout=TIMEOUT).values():
        future.result()

    def led() -> bool:
        listed = admin.list_topics(timeout=TIMEOUT).topics
        return all(t.topic in listed and all(p.leader >= 0 for p in listed[t.topic].partitions.values()) for t in topics)

    if until(led, TIMEOUT, every=0.05):
        return
    raise RuntimeError(f"the topics {', '.join(t.topic for t in topics)} have no leader after {TIMEOUT:.0f} s")


def read_served(settings: ConnectionSettings, topic: str) -> tuple[Counter[str], Counter[str], int, int]:
    """Every order id on a topic, the orders each preparer served (its `preparer` header), and the first and last
    record's timestamps (ms)."""
    ends = end_offsets(clients.admin(settings), [topic])[topic]
    overrides: dict[str, Any] = {"client.id": "bench-check"}
    consumer = clients.consumer(settings, f"{topic}.check", **overrides)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p, end in ends.items() if end > 0])
    ids: Counter[str] = Counter()
    by_preparer: Counter[str] = Counter()
    first_ms, last_ms = 2**63, 0
    positions = dict.fromkeys(ends, 0)
    deadline = time.monotonic() + 120
    while any(positions[p] < end for p, end in ends.items()) and time.monotonic() < deadline:
        for message in consumer.consume(1000, 0.5):
            error, partition, offset, value = message.error(), message.partition(), message.offset(), message.value()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(error.str())
                continue
            if partition is None or offset is None or value is None:
                raise RuntimeError(f"{topic}: a record with no partition, offset or value")  # the bench's own tills write none
            positions[partition] = offset + 1
            ids[json.loads(value)["id"]] += 1
            preparer = dict(message.headers() or []).get("preparer") or b""
            by_preparer[preparer if isinstance(preparer, str) else preparer.decode()] += 1
            _, stamp = message.timestamp()
            first_ms, last_ms = min(first_ms, stamp), max(last_ms, stamp)
    consumer.close()
    return ids, by_preparer, first_ms, last_ms
