"""`fishchips bench --share`: a share group against a consumer group of the same size, on the same few partitions.

A consumer group gives each partition to one member, so on 2 partitions at most 2 of its members work, however
many join; a share group lends each order to any member, so all of them can. Each race: N preparer processes of
one kind join a group of their own, the group is seen whole in Kafka's own view, then the tills write the orders,
and orders/s is taken between the first and the last order on the race's served topic by the broker's clock
(LogAppendTime), as the preparer stages are (stage.py). Each preparer spends `work_ms` on an order (a wait, as
at the demo's pace): the fryer, which is where more members help.

The share preparer needs confluent-kafka's ShareConsumer (2.13 or newer). The bench's own virtualenv
(.venv-bench: Quix Streams pins confluent-kafka below 2.13) has none, so `--share` is refused there in one
line before anything starts, and the share preparer is imported only in its own worker process.
"""

import functools
import importlib.metadata
from typing import Any

import confluent_kafka
from confluent_kafka.admin import NewTopic

from fishchips.bench.isolate import BenchFailed, Report
from fishchips.bench.pipe import group_has
from fishchips.bench.plan import Plan
from fishchips.bench.shop_run import serve_until_done, shop_preparer
from fishchips.bench.stage import create, serve, take_orders
from fishchips.kafka import clients
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.share_groups import ShareGroupError, describe
from fishchips.kafka.topics import Topics
from fishchips.roles.context import ShopContext
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.share_group import set_up_share_group, share_group
from fishchips.waiting import until

KINDS = ("share", "consumer")  # the share group, and a consumer group of the same size
JOIN_SECONDS = 90.0  # a share group's member is slow to join: heartbeats every 5 s at the least (docs/share-groups.md)


def require_share_consumer() -> None:
    """Fail early, in one line, where confluent-kafka has no ShareConsumer (the bench's own virtualenv)."""
    if not hasattr(confluent_kafka, "ShareConsumer"):
        version = importlib.metadata.version("confluent-kafka")
        raise BenchFailed(
            f"bench --share needs confluent-kafka 2.13 or newer (its ShareConsumer); this Python has {version}: "
            "run it from the shop's own .venv, not .venv-bench"
        )


def race(settings: ConnectionSettings, plan: Plan, kind: str, members: int, work_ms: float, *, report: Report) -> dict[str, Any]:
    """`members` preparers of one kind serve plan.orders orders; orders/s between the first and last served."""
    topics = Topics(plan.phase_prefix(f"{kind}-{members}"))
    admin = clients.admin(settings)
    appended = {"message.timestamp.type": "LogAppendTime"}
    create(admin, [NewTopic(topics.orders, plan.partitions, 1), NewTopic(topics.served, plan.partitions, 1, config=appended)])
    create(admin, [NewTopic(topics.dead_letters, 1, 1)])
    if kind == "share":
        set_up_share_group(admin, topics)  # from the earliest order, a 5 s lock
    work = work_ms / 1000
    # the consumer group under Kafka 4's consumer protocol, the share group's sibling (both KIP-848's coordinator)
    consumers = functools.partial(shop_preparer, work_seconds=work, group_protocol=GroupProtocol.CONSUMER)
    worker = functools.partial(share_preparer, work_seconds=work) if kind == "share" else consumers

    def ready() -> None:
        """The group whole in Kafka's own view; then the tills write the orders, as fast as they can."""
        if not until(lambda: _whole(settings, topics, kind, members, plan.partitions), JOIN_SECONDS, every=0.5):
            raise RuntimeError(f"the {kind} group did not have its {members} members within {JOIN_SECONDS:.0f} s")
        take_orders(settings, plan, topics, lambda taken: None)

    names = [f"{kind}-{n}" for n in range(1, members + 1)]
    return {"kind": kind, "members": members, **serve(settings, worker, topics, names, plan.orders, report, ready)}


def _whole(settings: ConnectionSettings, topics: Topics, kind: str, members: int, partitions: int) -> bool:
    """Every member has joined and has partitions to take from, in Kafka's own view of the group."""
    if kind == "consumer":
        return group_has(settings, topics.group(FoodPreparer.group_role), members, partitions)
    try:
        view = describe(settings, share_group(topics))
    except ShareGroupError:  # no such group until a member has joined it
        return False
    return len(view.members) == members and all(member.partitions for member in view.members)


def share_preparer(settings: ConnectionSettings, topics: Topics, name: str, done: Any, results: Any, work_seconds: float = 0.0) -> None:
    """One SharePreparer in this process until `done` is set; then its peak memory goes to `results`."""
    from fishchips.roles.share_preparer import SharePreparer  # only here: see the module's docstring

    serve_until_done(SharePreparer(name, ShopContext(settings, topics, wanted=frozenset()), work_seconds=work_seconds), done, results)
