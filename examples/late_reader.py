"""A late reader: a brand-new consumer group reads the shop's whole past.

The Kafka idea: Kafka keeps the log, not just the latest events. Reading does not remove
anything, and each group keeps its own position. A group Kafka has never seen has no
committed offset, so auto.offset.reset says where it starts: "earliest" is the first order
the log still holds. Run it as often as you like: each run is a new group and starts again.

Run it after the till:

    python examples/till.py -n 10
    python examples/late_reader.py
"""

import sys
import time
import uuid

from confluent_kafka import Consumer

from arguments import parser
from fishchips.kafka.topics import Topics
from fishchips.shop import InvalidOrder, Menu, Order


def main() -> int:
    args = parser(__doc__).parse_args()
    topics, menu = Topics(args.prefix), Menu.load()
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": f"{topics.prefix}.example-late-reader-{uuid.uuid4().hex[:8]}",  # a group Kafka has never seen
            "auto.offset.reset": "earliest",  # ... so it starts at the first order kept ("latest": only new ones)
            "enable.auto.commit": False,  # nothing to remember: the next run is a new group anyway
        }
    )
    consumer.subscribe([topics.orders])
    read, last_seen = 0, time.monotonic()
    try:
        while read != args.orders and time.monotonic() - last_seen < args.idle:
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            last_seen, read = time.monotonic(), read + 1
            try:
                said = Order.from_json(message.value(), menu).describe()
            except InvalidOrder as invalid:
                said = f"not an order ({invalid.reason})"
            print(f"{message.topic()}[{message.partition()}] at offset {message.offset()}: {said}")
    finally:
        consumer.close()
    print(f"read {read} events from the first offset the log kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
