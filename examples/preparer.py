"""A food preparer: a consumer-group member that commits only after its work is done.

The Kafka idea: consumers that share a group id share the topic's partitions, and the
group remembers how far it has read (its committed offsets). Here the offset of an order
is committed only after the served order is safely on `served`: if the preparer dies in
between, the next member reads that order again. Nothing is lost; an order may, rarely, be
served twice. That is "at least once". (exactly_once_preparer.py closes that gap.)

Run it after the till (run two at once, and watch them share the partitions):

    python examples/till.py -n 10
    python examples/preparer.py
"""

import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer

from arguments import parser
from fishchips.kafka.topics import Topics
from fishchips.roles.records import place
from fishchips.shop import InvalidOrder, Menu, Order


def check(error: KafkaError | None, message: Message) -> None:
    """The served order's delivery report: if Kafka could not store it, stop before committing the order."""
    if error is not None:
        raise KafkaException(error)


def serve(consumer: Consumer, producer: Producer, topics: Topics, args: argparse.Namespace) -> int:
    """Serve orders until -n are served or none has come for --idle seconds; return how many."""
    menu, served, last_seen = Menu.load(), 0, time.monotonic()
    while served != args.orders and time.monotonic() - last_seen < args.idle:
        message = consumer.poll(1.0)
        if message is None:
            continue
        last_seen = time.monotonic()
        if (error := message.error()) is not None:
            print(f"error: {error.str()}")
            continue
        topic, partition, offset = place(message)
        try:
            order = Order.from_json(message.value(), menu)
        except InvalidOrder as invalid:  # the shop's preparer sends these to the dead-letter topic instead
            print(f"skipped {topic}[{partition}] at offset {offset}: {invalid.reason}")
        else:  # serve it, on the same partition number of `served` it came from on `orders`
            producer.produce(topics.served, key=message.key(), value=order.to_json(), partition=partition, on_delivery=check)
            if producer.flush(10):  # wait until Kafka has it ...
                raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, "the served order was not stored within 10 s"))
            served += 1
            print(f"served {order.describe()} from {topic}[{partition}] at offset {offset}")
        consumer.commit(message=message, asynchronous=False)  # ... and only then move the group past it
    return served


def main() -> int:
    args = parser(__doc__).parse_args()
    topics = Topics(args.prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": topics.group("example-preparers"),  # every preparer started with this id shares the partitions
            "enable.auto.commit": False,  # we commit ourselves, after the work: never for an order not yet served
            "auto.offset.reset": "earliest",  # a group with no committed offset yet starts at the first order
        }
    )
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "enable.idempotence": True})
    consumer.subscribe([topics.orders], on_assign=lambda _, partitions: print(f"assigned {[p.partition for p in partitions]}"))
    try:
        print(f"served {serve(consumer, producer, topics, args)} orders")
    except KafkaException as error:  # the order in hand was not committed: the group's next member serves it again
        sys.exit(f"preparer: {error.args[0].str()}")
    finally:
        consumer.close()  # leave the group now, so its partitions move to another member at once
    return 0


if __name__ == "__main__":
    sys.exit(main())
