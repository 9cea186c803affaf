"""The shop's share group: its name and the settings the broker keeps for it (demo6, roles/share_preparer.py).

Apart from the preparer itself, so that the floor can set the group up without importing the share
consumer: the bench's own virtualenv (Quix Streams pins confluent-kafka below 2.13) has none.
"""

from confluent_kafka.admin import AdminClient

from fishchips.kafka.share_groups import ShareGroupSettings, configure
from fishchips.kafka.topics import Topics

GROUP_ROLE = "share-preparers"  # the share group, under the topics' prefix
# the broker's floor is 1 s here (broker/embedded.py): a killed member's orders come back after 5 s, on stage
LOCK_MS = 5000
# deliveries before a record is archived (Kafka's default, said here so that the members know it: share_preparer.py)
DELIVERY_LIMIT = 5
SETTINGS = ShareGroupSettings(auto_offset_reset="earliest", lock_duration_ms=LOCK_MS, delivery_count_limit=DELIVERY_LIMIT)


def share_group(topics: Topics) -> str:
    return topics.group(GROUP_ROLE)


def set_up_share_group(admin: AdminClient, topics: Topics) -> None:
    """Where the group starts and how long a lock lasts are the group's settings, kept by the broker."""
    configure(admin, share_group(topics), SETTINGS)
