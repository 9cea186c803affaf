"""Does librdkafka's send_offsets_to_transaction keep its timeout after a broker restart?

A minimal reproduction, outside the shop: one broker of its own (a temporary folder, a free
port), one consumer in a group, one transactional producer. Begin a transaction, write one
event, kill -9 the broker, start it again, then call send_offsets_to_transaction with a
timeout of --timeout seconds and report how long it took. librdkafka's debug log
(eos,cgrp,protocol,broker) goes to stderr, written by its own threads, so it shows what the
blocked call waits for.

    .venv/bin/python scripts/txn_offsets_after_restart.py --while-down --down 12 --timeout 5 2> /tmp/txn.log
"""

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from fishchips.broker.embedded import EmbeddedBroker, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--down", type=float, default=12.0, help="seconds the broker stays dead")
    parser.add_argument("--timeout", type=float, default=5.0, help="the timeout given to send_offsets_to_transaction")
    parser.add_argument("--give-up", type=float, default=90.0, help="seconds to wait for the call before calling it hung")
    parser.add_argument("--while-down", action="store_true", help="call while the broker is dead (as a role mid-batch does), not after")
    parser.add_argument("--extra", action="append", default=[], help="extra client setting key=value, for both clients")
    args = parser.parse_args()
    extra = dict(pair.split("=", 1) for pair in args.extra)

    broker = EmbeddedBroker(Path(tempfile.mkdtemp(prefix="txn-repro-")) / "node")
    port = free_port()
    bootstrap = broker.start(port=port, timeout=120).bootstrap_servers
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for future in admin.create_topics([NewTopic("in", 1, 1), NewTopic("out", 1, 1)]).values():
            future.result()
        seed = Producer({"bootstrap.servers": bootstrap})
        for n in range(10):
            seed.produce("in", str(n).encode())
        seed.flush(30)
        common = {"bootstrap.servers": bootstrap, "debug": "eos,cgrp,protocol,broker", **extra}
        consumer = Consumer(
            {
                **common,
                "group.id": "g",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": 10000,
                "heartbeat.interval.ms": 2000,
            }
        )
        consumer.subscribe(["in"])
        messages = []
        while not messages:
            messages = consumer.consume(10, 1.0)
        producer = Producer({**common, "transactional.id": "t", "transaction.timeout.ms": 10000})
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("out", b"result")
        producer.flush(10)
        offsets = consumer.position(consumer.assignment())

        os.kill(broker.status().state.pid, signal.SIGKILL)
        mark("broker killed")
        if not args.while_down:
            keep_polling(consumer, args.down)
            restart(broker, port)
        mark(f"send_offsets_to_transaction(timeout={args.timeout})")
        outcome: list[str] = []
        returned: list[float] = []
        started = time.monotonic()

        def call() -> None:
            try:
                producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), args.timeout)
                outcome.append("returned")
            except KafkaException as exc:
                error = exc.args[0]
                outcome.append(
                    f"raised {error.name()} (retriable={error.retriable()}, abortable={error.txn_requires_abort()}, fatal={error.fatal()})"
                )
            returned.append(time.monotonic() - started)

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        if args.while_down:
            worker.join(args.down)
            restart(broker, port)
        worker.join(
            max(0.0, args.give_up - (time.monotonic() - started))
        )  # the consumer is not polled meanwhile: a role's thread is in this very call
        took = returned[0] if returned else time.monotonic() - started
        verdict = outcome[0] if outcome else f"STILL BLOCKED after {took:.0f} s"
        print(f"send_offsets_to_transaction(timeout={args.timeout:.0f} s): {verdict} after {took:.1f} s", flush=True)
        mark(f"{verdict} after {took:.1f} s")
    finally:
        broker.stop()
    os._exit(0 if outcome else 3)  # a blocked librdkafka call would hang an orderly close of the clients


def mark(what: str) -> None:
    """A line in the debug log (stderr), with librdkafka's own timestamp format, to find the moments."""
    print(f"=== {time.time():.3f} {what}", file=sys.stderr, flush=True)
    print(what, flush=True)


def restart(broker: EmbeddedBroker, port: int) -> None:
    broker.start(port=port, timeout=120)
    mark("broker back")


def keep_polling(consumer: Consumer, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        consumer.poll(0.2)


if __name__ == "__main__":
    main()
