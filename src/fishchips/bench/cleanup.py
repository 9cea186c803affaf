"""Leaving nothing behind: when a bench run ends, however it ends, its topics and groups are deleted.

Every phase names its topics and consumer groups under the run's prefix (Plan.prefix), so
what the run made is exactly what starts with it. Left behind, they pile up: a run made
about 40 topics, and a broker holding a few runs' worth took twice as long to start.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from fishchips.bench.isolate import BenchFailed
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import TIMEOUT
from fishchips.waiting import until

EMPTYING_SECONDS = 20.0  # a member killed mid-run is dropped from its group when its 6-s session times out


@contextmanager
def leaving_nothing(settings: ConnectionSettings, prefix: str) -> Iterator[None]:
    """Run the body; then, even after a failure or Ctrl-C, delete every topic and group whose name starts with prefix."""
    try:
        yield
    finally:
        remove_everything_under(settings, prefix)


def remove_everything_under(settings: ConnectionSettings, prefix: str) -> None:
    """Delete the topics and groups under prefix, and return once the broker no longer lists any."""
    admin = clients.admin(settings)
    try:
        if topics := _topics_under(admin, prefix):
            for future in admin.delete_topics(topics, operation_timeout=TIMEOUT, request_timeout=TIMEOUT).values():
                future.result()
        topics_gone = until(lambda: not _topics_under(admin, prefix), TIMEOUT)
        groups_gone = until(lambda: not _delete_groups_under(admin, prefix), EMPTYING_SECONDS, every=0.5)
    except KafkaException as exc:
        raise BenchFailed(f"could not remove the run's topics and groups ({prefix}*): {exc.args[0].str()}") from None
    if not (topics_gone and groups_gone):
        raise BenchFailed(f"the run's topics or groups ({prefix}*) are still on the broker {EMPTYING_SECONDS:.0f} s after it ended")


def _topics_under(admin: AdminClient, prefix: str) -> list[str]:
    return [name for name in admin.list_topics(timeout=TIMEOUT).topics if name.startswith(prefix)]


def _delete_groups_under(admin: AdminClient, prefix: str) -> list[str]:
    """Delete every group under prefix; return those that could not be yet, as a member is still in them."""
    listed = admin.list_consumer_groups(request_timeout=TIMEOUT).result().valid
    groups = [listing.group_id for listing in listed if listing.group_id.startswith(prefix)]
    if not groups:
        return []
    busy = []
    for group, future in admin.delete_consumer_groups(groups, request_timeout=TIMEOUT).items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() == KafkaError.NON_EMPTY_GROUP:
                busy.append(group)
            elif exc.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:  # gone already: what was wanted
                raise
    return busy
