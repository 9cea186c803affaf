"""A bench run deletes what it made even when it fails: the topics and groups under its prefix."""

import pytest
from tests.conftest import wait_for

from fishchips.bench.cleanup import leaving_nothing
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics

pytestmark = pytest.mark.kafka


def under(kafka: ConnectionSettings, prefix: str) -> tuple[set[str], set[str]]:
    """The topics and the consumer groups on the broker whose names start with prefix."""
    admin = clients.admin(kafka)
    topics = {name for name in admin.list_topics(timeout=10).topics if name.startswith(prefix)}
    groups = {listing.group_id for listing in admin.list_consumer_groups(request_timeout=10).result().valid}
    return topics, {group for group in groups if group.startswith(prefix)}


def test_a_run_that_fails_leaves_none_of_its_topics_or_groups(kafka: ConnectionSettings, prefix: str) -> None:
    orders, served, group = f"{prefix}-shop.orders", f"{prefix}-pipe.served", f"{prefix}-shop.board"
    with pytest.raises(RuntimeError, match="a phase failed"), leaving_nothing(kafka, prefix):
        ensure_topics(clients.admin(kafka), {orders: 2, served: 2})
        member = clients.consumer(kafka, group)  # a group that had a member, as each phase's roles leave one
        member.subscribe([orders])

        def joined() -> bool:
            member.consume(1, 0.2)  # the member joins its group inside consume
            return bool(member.assignment())

        wait_for(joined, 60)
        member.close()
        wait_for(lambda: under(kafka, prefix) == ({orders, served}, {group}), 30)
        raise RuntimeError("a phase failed")

    assert under(kafka, prefix) == (set(), set())
