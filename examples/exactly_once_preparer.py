"""A preparer in a Kafka transaction: each order served exactly once.

The Kafka idea: read, process, write, all in one transaction. The served orders *and* the
consumer group's new offsets are committed together, or not at all: an order can no longer
be served but left uncommitted, so a restart never serves it twice. Readers that ask for
isolation.level=read_committed see only committed transactions.

Run it after the till:

    python examples/till.py -n 10
    python examples/exactly_once_preparer.py
"""

import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer

from arguments import parser
from fishchips.kafka.topics import Topics
from fishchips.roles.records import place


def main() -> int:
    args = parser(__doc__).parse_args()
    topics = Topics(args.prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": topics.group("example-preparers"),  # preparer.py's group: run both, and they share the partitions
            "enable.auto.commit": False,  # offsets are committed by the producer's transaction, never on their own
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",  # never read another transaction's orders unless it committed
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            # a transactional producer is idempotent with acks=all; the id names it to the broker. Here unique per run:
            # a zombie of an old member is fenced by the group generation that send_offsets_to_transaction carries
            "transactional.id": f"{topics.prefix}.example-preparer-{uuid.uuid4().hex[:8]}",
            "transaction.timeout.ms": 10000,  # a transaction left open by a crash is aborted by the broker after 10 s
        }
    )
    consumer.subscribe([topics.orders])
    served, last_seen = 0, time.monotonic()
    try:
        producer.init_transactions(30)  # register with the broker's transaction coordinator
        while served != args.orders and time.monotonic() - last_seen < args.idle:
            wanted = 100 if args.orders is None else min(100, args.orders - served)
            messages = [m for m in consumer.consume(wanted, 1.0) if m.error() is None]  # librdkafka retries what errors say
            if not messages:
                continue
            last_seen = time.monotonic()
            producer.begin_transaction()
            for message in messages:  # the served order is the order, on the same partition number
                topic, partition, offset = place(message)
                producer.produce(topics.served, key=message.key(), value=message.value(), partition=partition)
                print(f"serving {topic}[{partition}] at offset {offset}")
            # the group's next offsets, in the same transaction as the served orders
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()), consumer.consumer_group_metadata())
            producer.commit_transaction()
            served += len(messages)
            print(f"committed a transaction of {len(messages)} served orders, {served} in all")
    except KafkaException as error:  # nothing of this batch is visible, and its offsets are not committed
        if error.args[0].txn_requires_abort():
            producer.abort_transaction()
        sys.exit(f"exactly_once_preparer: aborted: {error.args[0].str()}; run again to carry on from the committed offsets")
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
