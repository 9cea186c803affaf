"""The ceiling: raw confluent-kafka produce and consume, with no shop in between.

The same number of messages, of the same sizes (real orders, as the tills write them),
over the same partitions of the same broker, with the shop's own client settings
(idempotent acks=all producer, read_committed consumer): so the gap to the shop is the
shop's work in Python, not a difference in guarantees.
"""

import threading
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from fishchips.bench.isolate import Report
from fishchips.bench.plan import Plan, sample_payloads
from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics

DISTINCT_PAYLOADS = 1000  # cycled: the sizes of real orders without holding N of them in memory
REPORT_EVERY = 0.25
PASSES = 3


def raw_pipe(settings: ConnectionSettings, plan: Plan, report: Report) -> dict[str, Any]:
    """The best of PASSES runs of `_one_pass`: a ceiling is what the client can do, and one pass lasts about a second."""
    payloads = sample_payloads(DISTINCT_PAYLOADS, plan.seed)
    passes = []
    for n in range(PASSES):
        topic = f"{plan.phase_prefix('raw')}.messages-{n + 1}"
        passes.append(_one_pass(settings, plan, topic, payloads, _after(report, n * plan.orders)))
    best = min(passes, key=lambda figures: figures["seconds"])
    return {
        **best,
        "messages": plan.orders,
        "message_bytes": round(sum(map(len, payloads)) / len(payloads), 1),
        "passes_msgs_per_s": [figures["msgs_per_s"] for figures in passes],
    }


def _after(report: Report, before: int) -> Report:
    """One pass's progress as the whole run's: the passes' messages add up on one bar."""
    return lambda done: report(before + done)


def _one_pass(settings: ConnectionSettings, plan: Plan, topic: str, payloads: list[bytes], report: Report) -> dict[str, Any]:
    """One producer and one consumer at once, as fast as they go: messages/s from the first send to the last read."""
    ensure_topics(clients.admin(settings), {topic: plan.partitions})
    overrides: dict[str, Any] = {"client.id": "raw-reader"}
    consumer = clients.consumer(settings, f"{topic}.reader", **overrides)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(plan.partitions)])
    producer = clients.producer(settings, **{"client.id": "raw-writer"})
    _warm_up(producer, consumer, topic, plan.partitions)
    received = [0]
    finished = threading.Event()

    def read() -> None:
        while received[0] < plan.orders:
            for message in consumer.consume(1000, 0.2):
                error = message.error()
                if error is None:
                    received[0] += 1
                elif error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(error.str())
        finished.set()

    reader = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    reader.start()
    next_report = started
    for n in range(plan.orders):
        value = payloads[n % DISTINCT_PAYLOADS]
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:  # the local queue is full: let deliveries drain
                producer.poll(0.05)
        if time.monotonic() >= next_report:
            report(received[0])
            next_report += REPORT_EVERY
    if producer.flush(60):
        raise RuntimeError("the raw producer could not deliver everything within 60 s")
    produced = time.monotonic()
    while not finished.wait(REPORT_EVERY):
        if not reader.is_alive():
            raise RuntimeError("the raw consumer stopped before reading every message")
        report(received[0])
    ended = time.monotonic()
    consumer.close()
    report(received[0])
    return {
        "seconds": round(ended - started, 3),
        "msgs_per_s": round(plan.orders / (ended - started), 1),
        "produce_msgs_per_s": round(plan.orders / (produced - started), 1),
    }


def _warm_up(producer: Producer, consumer: Consumer, topic: str, partitions: int) -> None:
    """One message per partition, read back before the clock starts: the shop's clock, too, starts with its
    clients connected (producer id, metadata, fetch sessions), so neither is timed setting up."""
    for partition in range(partitions):
        producer.produce(topic, b"warm-up", partition=partition)
    producer.flush(30)
    seen = 0
    deadline = time.monotonic() + 30
    while seen < partitions and time.monotonic() < deadline:
        seen += sum(1 for message in consumer.consume(partitions, 0.5) if message.error() is None)
    if seen < partitions:
        raise RuntimeError("the raw consumer read nothing within 30 s")
