"""A till: takes customers' orders and produces each one to the `orders` topic.

The producer is idempotent with acks=all (see kafka/clients.py): a till never loses an
order and never writes one twice, even when it has to retry. When Kafka cannot acknowledge
a write (too few replicas in sync, or the controllers without their majority), the till
keeps the order in its producer, which sends it again under the same sequence number until
Kafka takes it; meanwhile the till takes no new order, and says why it waits. Switched to
acks=1, a till writes on with the partition's leader alone (docs/replication.md: the risk).
"""

import ctypes
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from fishchips.events import Kind, RoleKind
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Refused, Role
from fishchips.shop import Order, OrderGenerator, new_order_id
from fishchips.shop.keying import Keying
from fishchips.spawning import spawn

RUSH_HOUR_POLL_EVERY = 500  # orders between delivery-report polls when the till goes as fast as it can
# order numbers a till draws at once when it goes as fast as it can: the shared roll's lock once per 100 orders, not per order
# (it was an eighth of a till's time); at the demo's pace one at a time, so the tills' numbers interleave as customers arrive
RUSH_HOUR_TICKETS = 100
WAIT_AFTER = 3.0  # seconds without an answer from Kafka, orders held, before a till stops taking orders and says why
ACKS = {  # what a till's acks setting means, in the words the views show
    "all": (
        "acks=all: an order counts as taken only once every in-sync replica holds it, at least min.insync.replicas of them, "
        "so no single broker's death loses it"
    ),
    "1": (
        "acks=1: the partition's leader alone acknowledges an order, so the tills write on with one node up, but an order "
        "acknowledged by one broker is lost if that broker dies before the followers copy it"
    ),
}


def waiting_words(acks: str, held: int) -> str:
    """Why a till stopped taking orders, in one sentence that names the idea (docs/replication.md says what the cluster does)."""
    why = (
        "acks=all acknowledges an order only once every in-sync replica holds it, at least min.insync.replicas of them, and with "
        "brokers down too few are in sync, or the controllers have lost their majority and cannot drop the dead from the ISR"
        if acks == "all"
        else "even acks=1 needs the partition's leader, and its node is down with no majority of controllers left to choose another"
    )
    kept = f"so the till keeps its {held} unacknowledged orders, which its producer sends again until Kafka takes them, and takes no new order"
    return f"for Kafka: {why}, {kept}"


def producer_for(settings: ConnectionSettings, name: str, acks: str) -> Producer:
    """The till's producer for one acks setting. An order is never given up (message.timeout.ms 0: no deadline): a write
    that timed out might still land once the brokers are back, so only the producer that sent it may send it again."""
    if acks == "all":
        return clients.producer(settings, **{"client.id": name, "message.timeout.ms": 0})
    # idempotence needs acks=all; without it, one request at a time keeps a retried order in its place
    return clients.producer(
        settings, acks=acks, **{"client.id": name, "message.timeout.ms": 0, "enable.idempotence": False, "max.in.flight": 1}
    )


@dataclass
class Writer:
    """A till's producer for one acks setting, and the orders it holds that Kafka has not acknowledged yet."""

    producer: Producer
    acks: str
    held: int = 0
    heard_at: float = 0.0  # when Kafka last answered, or the writer first held an order since

    def hold(self) -> None:
        if not self.held:
            self.heard_at = time.monotonic()
        self.held += 1

    def heard(self) -> None:
        self.held -= 1
        self.heard_at = time.monotonic()

    def stuck(self) -> bool:
        """Orders held, and no answer from Kafka for WAIT_AFTER s."""
        return self.held > 0 and time.monotonic() - self.heard_at > WAIT_AFTER


class Tickets:
    """Order numbers shared by the tills of one shop, up to an optional limit.

    The counter lives in shared memory, so tills in threads and tills in processes of their
    own draw from the same roll (it crosses into a process as an argument of its start).
    """

    def __init__(self, limit: int | None = None, first: int = 1) -> None:
        self._next = spawn().Value(ctypes.c_longlong, first)  # "q": typed, so its value is an int
        self._last = None if limit is None else first + limit - 1

    def take(self) -> int | None:
        """The next number, or None once the limit is reached."""
        return next(iter(self.take_some(1)), None)

    def take_some(self, count: int) -> range:
        """The next `count` numbers, fewer at the limit (none once it is reached), drawn under one lock."""
        with self._next.get_lock():
            first = self._next.value
            last = first + count - 1 if self._last is None else min(first + count - 1, self._last)
            self._next.value = max(first, last + 1)
            return range(first, last + 1)


class Till(Role):
    kind = RoleKind.TILL

    def __init__(
        self,
        name: str,
        context: ShopContext,
        number: int,
        tickets: Tickets,
        run_id: str,
        keying: Keying = Keying.TILL,
        partitions: int = 1,
        orders_per_second: float = 1.0,
        seed: int | None = None,
        plaice_share: float = 0.0,
        speed: float = 1.0,
        acks: str = "all",
    ) -> None:
        super().__init__(name, context, speed)
        self.number = number
        self.tickets = tickets
        self.run_id = run_id
        self.keying = keying
        self.partitions = partitions
        self.base_orders_per_second = orders_per_second  # at the demo's pace; 0: as fast as it can
        self.generator = OrderGenerator(self.menu, None if seed is None else seed * 1000 + number, plaice_share)
        self.acks = acks  # "all" or "1": set_acks changes it, and the till takes its next order with a producer to match
        self.refused: Refused | None = None  # set by a delivery report: the till may not write orders

    def set_acks(self, acks: str) -> None:
        self.acks = acks

    def run(self) -> None:
        # the last writer takes new orders; one of an earlier acks setting stays until Kafka has taken the orders it holds
        writers = [Writer(producer_for(self.settings, self.name, self.acks), self.acks)]
        next_at = time.monotonic()
        numbers: Iterator[int] = iter(())
        try:
            while not self.stopping:
                if writers[-1].acks != self.acks:
                    writers.append(Writer(producer_for(self.settings, self.name, self.acks), self.acks))
                if (number := next(numbers, None)) is None:
                    numbers = iter(self.tickets.take_some(1 if self.base_orders_per_second > 0 else RUSH_HOUR_TICKETS))
                    if (number := next(numbers, None)) is None:
                        break
                interval = 1 / (self.base_orders_per_second * self.speed) if self.base_orders_per_second > 0 else 0.0
                order = Order(number, self.number, self.generator.parts(), new_order_id(self.run_id, self.number, number), time.time())
                self._produce(writers[-1], order)
                if interval or number % RUSH_HOUR_POLL_EVERY == 0:  # each poll hands the GIL to other threads, so at rush hour seldom
                    writers = self._hear_back(writers)
                if self.refused:
                    raise self.refused
                if interval:
                    next_at = max(next_at + interval, time.monotonic())  # after a wait for Kafka, no rush to catch up
                    self.rest(next_at - time.monotonic())
            # every order waits for Kafka's answer, however long a broker is down
            while sum(writer.producer.flush(1) for writer in writers) and not self.stopping:
                pass
        except KafkaException as exc:
            raise self._explain(writers[-1].producer, exc.args[0]) from None
        if self.refused:
            raise self.refused

    def _hear_back(self, writers: list[Writer]) -> list[Writer]:
        """Serve the delivery reports; while Kafka leaves the last writer's orders unanswered, take no new order and
        say why. The writers still needed: an earlier one is let go once Kafka has taken every order it held."""
        for writer in writers:
            writer.producer.poll(0)
        writer = writers[-1]
        if writer.stuck():
            self.emit(Kind.WAITING, detail=waiting_words(writer.acks, writer.held))
            while writer.held and writer.acks == self.acks and not self.stopping and not self.refused:
                for each in writers:
                    each.producer.poll(0.1)
            if writer.acks != self.acks:
                self.emit(Kind.RESUMED, detail=f"switched to {ACKS[self.acks]}; the {writer.held} orders held stay until Kafka takes them")
            elif not writer.held:
                self.emit(Kind.RESUMED, detail="Kafka acknowledged every order held: taking orders again")
        return [each for each in writers[:-1] if each.held] + [writer]

    def _explain(self, producer: Producer, error: KafkaError) -> Exception:
        """A producer error as the refusal it may be.

        A user that may write no topic at all gets no producer id: a 'fatal' error, whose cause the next poll raises.
        """
        if error.code() == KafkaError._FATAL:
            try:
                producer.poll(0)
            except KafkaException as cause:
                error = cause.args[0]
        return self.refused or self.refusal(error, "write to", self.topics.orders) or KafkaException(error)

    def _produce(self, writer: Writer, order: Order) -> None:
        # with keying by till, one till's orders keep their order
        key = None if self.keying is Keying.NONE else str(self.number).encode()
        # -1 is produce's own default: the partitioner picks by the key
        partition = (self.number - 1) % self.partitions if self.keying is Keying.PARTITION else -1
        while not self.stopping:  # a till closing with its queue full gives up the order: it was never taken
            try:
                writer.producer.produce(self.topics.orders, order.to_json(), key, partition, on_delivery=self._delivered(writer, order))
                writer.hold()
                return
            except BufferError:  # the local queue is full at rush hour: let deliveries drain, then retry
                writer.producer.poll(0.05)

    def _delivered(self, writer: Writer, order: Order) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            writer.heard()
            if error is not None and (refusal := self.refusal(error, "write to", self.topics.orders)):
                self.refused = self.refused or refusal  # one line for the role, not one per order behind it
            elif error is not None:
                self.counters["failed"] += 1
                self.emit(Kind.FAILED, order, detail=error.str())
            else:
                self.counters["took"] += 1
                self.emit(Kind.TOOK, order, message)

        return report
