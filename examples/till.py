"""A till: a Kafka producer, with keys and delivery reports.

The Kafka idea: a producer writes events to a topic. Each order is keyed by its id: Kafka
hashes the key to choose a partition, so every event with the same key lands on the same
partition, in order. `produce()` only queues the event; Kafka says later whether it was
stored, in a delivery report, which `poll()` and `flush()` hand to our callback.

Run it against the local broker:

    fishchips broker start
    python examples/till.py -n 10
"""

import sys
import time
from functools import partial

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient

from arguments import count, parser
from fishchips.errors import FishchipsError
from fishchips.kafka.topics import Topics, ensure_shop_topics
from fishchips.shop import Menu, Order, OrderGenerator, format_pence, new_order_id, new_run_id

TILL = 1


def report(failures: list[KafkaError], error: KafkaError | None, message: Message) -> None:
    """The delivery report: called once per order, with where Kafka stored it, or why it could not."""
    if error is not None:
        failures.append(error)
        print(f"NOT delivered: {error.str()}")
    else:
        key = (message.key() or b"").decode()
        print(f"delivered {key} to {message.topic()}[{message.partition()}] at offset {message.offset()}")


def main() -> int:
    flags = parser(__doc__, reading=False)
    flags.add_argument("-n", "--orders", type=count, default=10, help="how many orders to take (default 10)")
    args = flags.parse_args()
    topics = Topics(args.prefix)
    try:  # the shop's own topic setup (`fishchips broker start` made the default ones): orders, served, ...
        ensure_shop_topics(AdminClient({"bootstrap.servers": args.bootstrap}), topics, partitions=3)
    except KafkaException as error:
        sys.exit(f"till: cannot reach Kafka at {args.bootstrap}: {error.args[0].str()}")
    except FishchipsError as error:
        sys.exit(f"till: {error}")
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "acks": "all",  # the leader answers only once every in-sync replica has the order: none is lost
            "enable.idempotence": True,  # a retry after a lost answer can never write an order twice, or out of order
            "linger.ms": 5,  # wait up to 5 ms to send several orders in one request
        }
    )
    menu = Menu.load()
    customers, run = OrderGenerator(menu), new_run_id()
    failures: list[KafkaError] = []
    for number in range(1, args.orders + 1):
        order = Order(number, TILL, customers.parts(), new_order_id(run, TILL, number), time.time())
        producer.produce(topics.orders, key=order.id, value=order.to_json(), on_delivery=partial(report, failures))
        print(f"took order {order.describe()} ({format_pence(menu.price(order.parts))})")
        producer.poll(0)  # hand over the delivery reports that have arrived
    left = producer.flush(30)  # wait for every delivery report
    if left or failures:
        sys.exit(f"till: {left + len(failures)} orders not delivered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
