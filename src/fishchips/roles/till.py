"""A till: takes customers' orders and produces each one to the `orders` topic.

The producer is idempotent with acks=all (see kafka/clients.py): a till never loses an
order and never writes one twice, even when it has to retry.
"""

import ctypes
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from fishchips.events import Kind, RoleKind
from fishchips.kafka import clients
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Refused, Role
from fishchips.shop import Order, OrderGenerator, new_order_id
from fishchips.shop.keying import Keying
from fishchips.spawning import spawn

RUSH_HOUR_POLL_EVERY = 500  # orders between delivery-report polls when the till goes as fast as it can
NOT_ENOUGH = {KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND}


def delivery_failure(error: KafkaError) -> str:
    """A failed delivery in one sentence that names the idea behind it (docs/replication.md: what really happens)."""
    if error.code() == KafkaError._MSG_TIMED_OUT:
        return (
            "not written within message.timeout.ms: acks=all waits for every in-sync replica, and a cluster that has lost "
            "its KRaft majority (two of three nodes down) changes no ISR and acknowledges nothing"
        )
    if error.code() in NOT_ENOUGH:
        return "refused with NOT_ENOUGH_REPLICAS: fewer replicas are in sync than min.insync.replicas, so acks=all will not risk the write"
    return error.str()


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
        with self._next.get_lock():
            number = self._next.value
            if self._last is not None and number > self._last:
                return None
            self._next.value = number + 1
            return number


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
    ) -> None:
        super().__init__(name, context, speed)
        self.number = number
        self.tickets = tickets
        self.run_id = run_id
        self.keying = keying
        self.partitions = partitions
        self.base_orders_per_second = orders_per_second  # at the demo's pace; 0: as fast as it can
        self.generator = OrderGenerator(self.menu, None if seed is None else seed * 1000 + number, plaice_share)
        self.refused: Refused | None = None  # set by a delivery report: the till may not write orders

    def run(self) -> None:
        producer = clients.producer(self.settings, **{"client.id": self.name})
        next_at = time.monotonic()
        try:
            while not self.stopping and (number := self.tickets.take()) is not None:
                interval = 1 / (self.base_orders_per_second * self.speed) if self.base_orders_per_second > 0 else 0.0
                order = Order(number, self.number, self.generator.parts(), new_order_id(self.run_id, self.number, number), time.time())
                self._produce(producer, order)
                if interval or number % RUSH_HOUR_POLL_EVERY == 0:
                    producer.poll(0)  # serve delivery reports ("took"); each poll hands the GIL to other threads, so at rush hour seldom
                if self.refused:
                    raise self.refused
                if interval:
                    next_at += interval
                    self.rest(next_at - time.monotonic())
            # every order waits for Kafka's answer, however long a broker is down: message.timeout.ms bounds each one
            while producer.flush(1) and not self.stopping:
                pass
        except KafkaException as exc:
            raise self._explain(producer, exc.args[0]) from None
        if self.refused:
            raise self.refused

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

    def _produce(self, producer: Producer, order: Order) -> None:
        # with keying by till, one till's orders keep their order
        key = None if self.keying is Keying.NONE else str(self.number).encode()
        # -1 is produce's own default: the partitioner picks by the key
        partition = (self.number - 1) % self.partitions if self.keying is Keying.PARTITION else -1
        while True:
            try:
                producer.produce(self.topics.orders, order.to_json(), key, partition, on_delivery=self._delivered(order))
                break
            except BufferError:  # the local queue is full at rush hour: let deliveries drain, then retry
                producer.poll(0.05)

    def _delivered(self, order: Order) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, message: Message) -> None:
            if error is not None and (refusal := self.refusal(error, "write to", self.topics.orders)):
                self.refused = self.refused or refusal  # one line for the role, not one per order behind it
            elif error is not None:
                self.counters["failed"] += 1
                self.emit(Kind.FAILED, order, detail=delivery_failure(error))
            else:
                self.counters["took"] += 1
                self.emit(Kind.TOOK, order, message)

        return report
