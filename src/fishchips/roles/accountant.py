"""The accountant: its own consumer group on `served`, keeping the shop's books in a database.

A second group reads the same events as the board, independently: Kafka keeps a position
per group. The accountant keeps its position *in the books*, committed in the same database
transaction as the orders it paid for, so the two can never disagree: on assignment it seeks
to where the books say (the first event ever, for new books), and after a crash, a restart
or a replay no order is counted twice or missed. It also commits the position to Kafka
afterwards, but only so that consumer-group tools can show its lag.
"""

import logging
import time
from datetime import UTC, datetime
from functools import partial

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from fishchips.events import Kind, RoleKind
from fishchips.kafka import clients
from fishchips.roles.context import ShopContext
from fishchips.roles.outputs import dead_letter
from fishchips.roles.records import place
from fishchips.roles.role import Role
from fishchips.shop import MAX_NUMBER, InvalidOrder, Menu, Order, item_counts
from fishchips.stores.books import Books, Entry, Position, Rejection, open_books

log = logging.getLogger(__name__)


def entry_for(order: Order, menu: Menu, where: Position) -> Entry:
    """What a served order adds to the books: its takings at the menu's prices, its portions per item.

    A valid order the database could not hold is refused here (InvalidOrder), so it is set aside
    like any bad input instead of failing the batch again and again.
    """
    for name, number in (("order", order.order), ("till", order.till)):  # the wire refuses these too; an Order made in code may not
        if number > MAX_NUMBER:
            raise InvalidOrder(f"{name}: too big for the books (more than {MAX_NUMBER})")
    if "\x00" in order.id:
        raise InvalidOrder("id: contains a NUL character, which PostgreSQL cannot store")
    try:
        order.id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidOrder("id: contains an unpaired surrogate, which is not text a database can store") from None
    items = dict(item_counts(order.parts))
    return Entry(order.id, order.till, order.order, order.placed_at, hour_of(order.placed_at), menu.price(order.parts), items, where)


def hour_of(placed_at: float) -> str:
    """The hour an order was placed, in UTC, so that the books read the same on every machine."""
    try:
        return datetime.fromtimestamp(placed_at, UTC).strftime("%Y-%m-%d %H:00")
    except (OverflowError, OSError, ValueError):
        raise InvalidOrder("placed_at: not a time the books can file") from None


def _position(message: Message) -> Position:
    """Where a record read without error sits: the client always names its topic, partition and offset."""
    return Position(*place(message))


class Accountant(Role):
    """Books every served order once; sets aside (and notes) what is not an order, and carries on."""

    kind = RoleKind.ACCOUNTANT
    group_role = "accountant"

    def __init__(
        self, name: str, context: ShopContext, db: str | None = None, from_beginning: bool = False, batch: int = 500, speed: float = 1.0
    ) -> None:
        super().__init__(name, context, speed)
        self.db = db  # a URL or path for open_books; None: the default file in the data dir
        self.from_beginning = from_beginning  # read every partition from its first event once, whatever the books say
        self.batch = batch
        self.assignment: list[int] = []
        self.idle_since: float | None = None  # when it last found nothing new to book, holding partitions
        self._replayed: set[int] = set()

    def idle_for(self) -> float:
        """Seconds it has been caught up, with nothing new to book; 0 while busy or unassigned."""
        return 0.0 if self.idle_since is None else time.monotonic() - self.idle_since

    def run(self) -> None:
        with open_books(self.db, self.topics.prefix) as books:  # this thread's own connection
            group, protocol = self.topics.group(self.group_role), self.context.group_protocol
            consumer = clients.consumer(self.settings, group, protocol, **{"client.id": self.name})
            producer = clients.producer(self.settings, **{"client.id": self.name})
            consumer.subscribe([self.topics.served], on_assign=partial(self._on_assign, books), on_revoke=self._on_revoke, on_lost=self._on_lost)
            try:
                while not self.stopping:
                    messages = [m for m in consumer.consume(self.batch, 0.2) if self._readable(m)]
                    if messages:
                        self.idle_since = None
                        self._book(messages, books, consumer, producer)
                    elif self.assignment and self.idle_since is None:
                        self.idle_since = time.monotonic()
            finally:
                consumer.close()  # leaves the group at once
                producer.flush(10)

    def _book(self, messages: list[Message], books: Books, consumer: Consumer, producer: Producer) -> None:
        """One transaction: the batch's orders, its rejections and the offsets after it, or none of them."""
        done: list[tuple[Kind, Order | None, Message, str]] = []
        failed: list[KafkaError] = []
        next_offsets: dict[tuple[str, int], int] = {}
        with books.transaction():
            for message in messages:
                where = _position(message)
                next_offsets[(where.topic, where.partition)] = where.offset + 1
                try:
                    order = Order.from_json(message.value(), self.menu)
                    entry = entry_for(order, self.menu, where)
                except InvalidOrder as bad:
                    if books.reject(Rejection(where, bad.reason)):  # already noted (a re-read): not set aside again
                        aside = dead_letter(self.topics, self.name, message, bad.reason)
                        producer.produce(
                            aside.topic,
                            aside.value,
                            aside.key,
                            headers=list(aside.headers),
                            on_delivery=lambda error, _: failed.append(error) if error else None,
                        )
                        done.append((Kind.DEAD_LETTER, None, message, bad.reason))
                    continue
                booked = books.book(entry)  # False: served before, already in the books
                done.append((Kind.BOOKED if booked else Kind.DUPLICATE, order, message, ""))
            for (topic, partition), offset in next_offsets.items():
                books.advance(topic, partition, offset)
            # the dead letters are written before the books commit: a crash now sets one aside twice, never loses it
            if producer.flush(30) or failed:
                reason = failed[0].str() if failed else "not acknowledged within 30 s"
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"dead letters not written: {reason}"))
        committed = [TopicPartition(topic, partition, offset) for (topic, partition), offset in next_offsets.items()]
        consumer.commit(offsets=committed, asynchronous=True)  # for the group tools' lag only: the books are the truth
        for kind, about, message, detail in done:
            self.counters[kind] += 1
            self.emit(kind, about, message, detail)

    def _readable(self, message: Message) -> bool:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("%s: %s", self.name, error.str())
            return False
        return True

    def _on_assign(self, books: Books, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition where the books say, not where Kafka's committed offsets say."""
        stored = books.offsets(self.topics.served)
        for tp in partitions:
            if self.from_beginning and tp.partition not in self._replayed:
                self._replayed.add(tp.partition)
                tp.offset = OFFSET_BEGINNING
            else:
                tp.offset = stored.get(tp.partition, OFFSET_BEGINNING)
        # under a cooperative protocol the callback names only the partitions that move: add them, keep the rest
        (consumer.incremental_assign if self.context.group_protocol.incremental else consumer.assign)(partitions)
        self.assignment = sorted({*self.assignment, *(tp.partition for tp in partitions)})
        starts = ", ".join(f"{tp.topic}[{tp.partition}]@{'first' if tp.offset == OFFSET_BEGINNING else tp.offset}" for tp in partitions)
        self.emit(Kind.ASSIGNED, detail=starts or "nothing", partitions=tuple(self.assignment))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition], kind: Kind = Kind.REVOKED) -> None:
        self.assignment = sorted(set(self.assignment) - {tp.partition for tp in partitions})
        self.idle_since = None
        detail = ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
        self.emit(kind, detail=detail, partitions=tuple(self.assignment))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._on_revoke(consumer, partitions, Kind.LOST)
