"""An accountant: offsets kept in the database, in the same transaction as the books.

The Kafka idea: a consumer need not keep its position in Kafka at all. Here each served
order is booked and the partition's next offset stored in ONE SQLite transaction, so the
books and the position can never disagree. When Kafka assigns a partition, the accountant
seeks it to the offset the books hold; it never commits to Kafka. Stop it anywhere, run it
again: it carries on from the books, and no order is booked twice or missed.

Run it after a preparer has served some orders:

    python examples/preparer.py
    python examples/accountant.py --db books.sqlite
"""

import sqlite3
import sys
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from arguments import parser
from fishchips.kafka.topics import Topics
from fishchips.roles.records import place
from fishchips.shop import InvalidOrder, Menu, Order, format_pence

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, till INTEGER, number INTEGER, takings_pence INTEGER);
CREATE TABLE IF NOT EXISTS offsets (topic TEXT, partition INTEGER, next_offset INTEGER, PRIMARY KEY (topic, partition));
"""


def seek_to_books(books: sqlite3.Connection) -> Callable[[Consumer, list[TopicPartition]], None]:
    """On assignment, start each partition where the books say (the first event, for a partition never booked)."""

    def on_assign(consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            row = books.execute("SELECT next_offset FROM offsets WHERE topic = ? AND partition = ?", (tp.topic, tp.partition)).fetchone()
            tp.offset = row[0] if row else OFFSET_BEGINNING
            start = f"offset {row[0]}, as the books say" if row else "the first event: not in the books yet"
            print(f"{tp.topic}[{tp.partition}] starts at {start}")
        consumer.assign(partitions)

    return on_assign


def main() -> int:
    flags = parser(__doc__)
    flags.add_argument("--db", default="books.sqlite", help="the SQLite file of the books (default books.sqlite)")
    args = flags.parse_args()
    topics, menu = Topics(args.prefix), Menu.load()
    try:
        books = sqlite3.connect(args.db)
        books.executescript(SCHEMA)
    except sqlite3.Error as error:
        sys.exit(f"accountant: cannot open the books {args.db}: {error}")
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": topics.group("example-accountants"),  # the group still shares out the partitions ...
            "enable.auto.commit": False,  # ... but never stores a position in Kafka: the books hold it
        }
    )
    consumer.subscribe([topics.served], on_assign=seek_to_books(books))
    booked, last_seen = 0, time.monotonic()
    try:
        while booked != args.orders and time.monotonic() - last_seen < args.idle:
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            last_seen = time.monotonic()
            topic, partition, offset = place(message)
            try:
                order = Order.from_json(message.value(), menu)
            except InvalidOrder as invalid:
                print(f"not booked, {topic}[{partition}] at offset {offset}: {invalid.reason}")
                order = None
            with books:  # one transaction: the order and the new position, or neither
                if order is not None:
                    takings = menu.price(order.parts)
                    row = (order.id, order.till, order.order, takings)
                    # served twice (an at-least-once preparer may): the order's id is the key, so it is booked once
                    if books.execute("INSERT INTO orders VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING", row).rowcount:
                        booked += 1
                        print(f"booked {order.describe()}: {format_pence(takings)}")
                    else:
                        print(f"already booked {order.id}")
                books.execute("INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)", (topic, partition, offset + 1))
    finally:
        consumer.close()
        books.close()
    print(f"booked {booked} orders")
    return 0


if __name__ == "__main__":
    sys.exit(main())
