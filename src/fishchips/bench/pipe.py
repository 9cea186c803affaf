"""The pipe ceiling: the least work a shop must do, as processes, with no shop around it.

Two hops, like the shop's: a writer process produces real orders to `orders`; M preparer
processes in one group read them, decode and check each one (Order.from_json, as every
role does) and write it to `served`; a board process reads `served` and checks each one
again. No events, no floor, no tally, no transactions: what is left between this and the
shop is the shop's own runtime. Orders/s from the first write to the last order read.
"""

import ctypes
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from fishchips.bench.baseline import DISTINCT_PAYLOADS, REPORT_EVERY
from fishchips.bench.isolate import Report
from fishchips.bench.plan import Plan, sample_payloads
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.shop import Menu, Order
from fishchips.spawning import spawn
from fishchips.waiting import until


def two_hops(settings: ConnectionSettings, plan: Plan, report: Report) -> dict[str, Any]:
    topics = Topics(plan.phase_prefix("pipe"))
    ensure_topics(clients.admin(settings), {topics.orders: plan.partitions, topics.served: plan.partitions})
    processes = spawn()
    read, done = processes.Value(ctypes.c_longlong, 0), processes.Event()  # "q", typed
    started_at = processes.Value("d", 0.0)
    workers = [processes.Process(target=_prepare, args=(settings, topics, done)) for _ in range(plan.preparers)]
    workers.append(processes.Process(target=_board, args=(settings, topics, plan, read, done)))
    for worker in workers:
        worker.start()
    writer = processes.Process(target=_write, args=(settings, topics, plan, started_at))
    try:
        until(lambda: group_has(settings, f"{topics.prefix}.pipe", plan.preparers, plan.partitions), timeout=60, every=0.1)
        writer.start()

        def finished() -> bool:
            report(read.value)
            if any(w.exitcode not in (None, 0) for w in [*workers, writer]):
                raise RuntimeError("a pipe process stopped early")
            return read.value >= plan.orders

        until(finished, timeout=600, every=REPORT_EVERY)
        ended = time.time()
    finally:
        done.set()
        for worker in [writer, *workers]:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    seconds = ended - started_at.value
    return {"orders": plan.orders, "seconds": round(seconds, 3), "orders_per_s": round(plan.orders / seconds, 1)}


def group_has(settings: ConnectionSettings, group: str, members: int, partitions: int) -> bool:
    """Every preparer has joined and the partitions are shared out: the clock starts with the pipe ready, as the shop's does."""
    admin = clients.admin(settings)  # the admin client must outlive the call's future
    description = admin.describe_consumer_groups([group], request_timeout=10)[group].result()
    holding = sum(1 for m in description.members if m.assignment.topic_partitions)
    return len(description.members) >= members and holding >= min(members, partitions)


def _write(settings: ConnectionSettings, topics: Topics, plan: Plan, started_at: Any) -> None:
    payloads = sample_payloads(DISTINCT_PAYLOADS, plan.seed)
    producer = clients.producer(settings, **{"client.id": "pipe-writer"})
    started_at.value = time.time()
    for n in range(plan.orders):
        while True:
            try:
                producer.produce(topics.orders, payloads[n % DISTINCT_PAYLOADS])
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)


def _prepare(settings: ConnectionSettings, topics: Topics, done: Any) -> None:
    menu = Menu.load()
    overrides: dict[str, Any] = {"enable.auto.commit": True}
    consumer = clients.consumer(settings, f"{topics.prefix}.pipe", **overrides)
    producer = clients.producer(settings)
    consumer.subscribe([topics.orders])
    while not done.is_set():
        for message in consumer.consume(500, 0.1):
            partition = message.partition()
            if message.error() is None and partition is not None:  # a record always names its partition
                order = Order.from_json(message.value(), menu)
                producer.produce(topics.served, message.value(), order.id.encode(), partition=partition)
        producer.poll(0)
    producer.flush(30)
    consumer.close()


def _board(settings: ConnectionSettings, topics: Topics, plan: Plan, read: Any, done: Any) -> None:
    menu = Menu.load()
    consumer = clients.consumer(settings, f"{topics.prefix}.pipe-board")
    consumer.assign([TopicPartition(topics.served, p, OFFSET_BEGINNING) for p in range(plan.partitions)])
    count = 0
    while not done.is_set() and count < plan.orders:
        for message in consumer.consume(1000, 0.1):
            error = message.error()
            if error is None:
                Order.from_json(message.value(), menu)
                count += 1
            elif error.code() != KafkaError._PARTITION_EOF:
                raise RuntimeError(error.str())
        read.value = count
    consumer.close()
