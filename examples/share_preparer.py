"""A preparer that takes orders as a member of a share group (KIP-932, "queues for Kafka").

A consumer group hands each partition to ONE member: with 2 partitions, a third preparer stands idle.
A share group lets ANY number of members take from the same partitions. The broker lends each record
to one member at a time, under a lock (30 s by default), and that member says what became of it:

- ACCEPT: done with; it is never delivered again;
- RELEASE: not now; another member gets it at once, its delivery count one higher;
- REJECT: it can never be done; it is archived (and copied to a dead-letter topic, if the group has one).

A record whose lock runs out (its member crashed, or took too long) goes back too, with its delivery
count one higher; past the group's delivery limit (5 by default) it is archived. There is no order within
a partition any more, and no exactly-once: a record may come twice, so a real shop books orders by id.

This preparer acknowledges explicitly, one record at a time: it ACCEPTs an order it serves and REJECTs one
it cannot read. Acknowledgements travel with the next poll; on Ctrl-C it sends them (commit) before it
closes, so nothing it served is delivered again. The Python share consumer is Preview in confluent-kafka 2.16.

    python examples/share_preparer.py --bootstrap-servers 127.0.0.1:9092 --topic fishchips.orders --group fishchips.share
"""

import argparse
import signal
from types import FrameType

from confluent_kafka import AcknowledgeType, ShareConsumer
from confluent_kafka.admin import AdminClient

from fishchips.kafka.share_groups import ShareGroupSettings, configure
from fishchips.shop.menu import Menu
from fishchips.shop.order import InvalidOrder, Order


def main() -> None:
    parser = argparse.ArgumentParser(description="A preparer in a share group: serves orders, rejects unreadable ones.")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="fishchips.orders")
    parser.add_argument("--group", default="fishchips.share")
    parser.add_argument("--name", default="preparer", help="the member's client id, as the group's view shows it")
    args = parser.parse_args()

    # where a new share group starts reading is the group's setting, not the consumer's auto.offset.reset
    configure(AdminClient({"bootstrap.servers": args.bootstrap_servers}), args.group, ShareGroupSettings(auto_offset_reset="earliest"))
    consumer = ShareConsumer(
        {
            "bootstrap.servers": args.bootstrap_servers,
            "group.id": args.group,
            "client.id": args.name,
            "share.acknowledgement.mode": "explicit",  # every record gets its own ACCEPT, RELEASE or REJECT
        }
    )
    consumer.subscribe([args.topic])
    menu = Menu.load()

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # finish the records in hand first: each must be acknowledged

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    while not stopping:
        for message in consumer.poll(1.0):
            if message.error():
                print(f"{args.name}: {message.error()}", flush=True)
                continue
            try:
                order = Order.from_json(message.value(), menu)
            except InvalidOrder as unreadable:
                consumer.acknowledge(message, AcknowledgeType.REJECT)  # no member could make it: archive it
                print(f"{args.name} rejected offset {message.offset()}: {unreadable.reason}", flush=True)
                continue
            consumer.acknowledge(message, AcknowledgeType.ACCEPT)
            print(f"{args.name} served {order.id} (delivery {message.delivery_count()}): {order.describe()}", flush=True)

    consumer.commit_sync(10.0)  # send the last acknowledgements, or closing would hand these records out again
    consumer.close()


if __name__ == "__main__":
    main()
