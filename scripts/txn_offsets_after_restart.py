"""Does librdkafka's send_offsets_to_transaction keep its timeout when a broker dies?

A minimal reproduction, outside the shop: brokers of their own (a temporary folder, free
ports), one consumer in a group, one transactional producer. Begin a transaction, write one
event, kill -9 a broker, call send_offsets_to_transaction with a timeout of --timeout seconds
(after the broker is back, or --while-down), and report how long the call took. librdkafka's
debug log (eos,cgrp,protocol,broker) goes to stderr, written by its own threads, so it shows
what a blocked call waits for.

On one node the broker is the transaction and the group coordinator. On three (--nodes 3)
the node killed is the group's coordinator and not the transaction's: the call's first step
(AddOffsetsToTxn) succeeds, its second (TxnOffsetCommit to the group coordinator) meets the
dead node.

    .venv/bin/python scripts/txn_offsets_after_restart.py --while-down --down 12 --timeout 5 2> /tmp/txn.log
    .venv/bin/python scripts/txn_offsets_after_restart.py --nodes 3 --while-down --down 40 --timeout 5 2> /tmp/txn3.log
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

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.cli.chaos import free_ports
from fishchips.services.local_server import free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, choices=(1, 3), default=1, help="one broker, or a three-node cluster")
    parser.add_argument("--down", type=float, default=12.0, help="seconds the broker stays dead")
    parser.add_argument("--timeout", type=float, default=5.0, help="the timeout given to send_offsets_to_transaction")
    parser.add_argument("--give-up", type=float, default=90.0, help="seconds to wait for the call before calling it hung")
    parser.add_argument("--while-down", action="store_true", help="call while the broker is dead (as a role mid-batch does), not after")
    parser.add_argument("--extra", action="append", default=[], help="extra client setting key=value, for both clients")
    args = parser.parse_args()
    extra = dict(pair.split("=", 1) for pair in args.extra)

    workdir = Path(tempfile.mkdtemp(prefix="txn-repro-"))
    cluster = EmbeddedCluster(workdir / "cluster") if args.nodes == 3 else None
    if cluster is not None:
        cluster.start(port=free_ports(3), timeout=180)
        nodes, bootstrap = cluster.nodes(), cluster.bootstrap_servers()
    else:
        nodes = [EmbeddedBroker(workdir / "node")]
        bootstrap = nodes[0].start(port=free_port(), timeout=120).bootstrap_servers
    outcome: list[str] = []
    try:
        outcome = reproduce(args, extra, bootstrap, nodes)
    finally:
        cluster.stop() if cluster is not None else nodes[0].stop()
    os._exit(0 if outcome else 3)  # a blocked librdkafka call would hang an orderly close of the clients


def reproduce(args: argparse.Namespace, extra: dict[str, str], bootstrap: str, nodes: list[EmbeddedBroker]) -> list[str]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    replicas = len(nodes)
    for future in admin.create_topics([NewTopic("in", 1, replicas), NewTopic("out", 1, replicas)]).values():
        future.result()
    seed = Producer({"bootstrap.servers": bootstrap})
    for n in range(10):
        seed.produce("in", str(n).encode())
    seed.flush(30)
    probe = Producer({"bootstrap.servers": bootstrap, "transactional.id": "probe"})
    probe.init_transactions(60)  # creates the transaction state topic, to find a transactional id's coordinator

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
    while not consumer.consume(10, 1.0):
        pass
    group_coordinator = admin.describe_consumer_groups(["g"])["g"].result().coordinator.id
    transactional_id = next(t for t in (f"t{n}" for n in range(1000)) if len(nodes) == 1 or txn_coordinator(admin, t) != group_coordinator)
    mark(
        f"group coordinator: node {group_coordinator}; transaction coordinator of {transactional_id}: node {txn_coordinator(admin, transactional_id)}"
    )
    producer = Producer({**common, "transactional.id": transactional_id, "transaction.timeout.ms": 10000})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce("out", b"result")
    producer.flush(10)
    offsets = consumer.position(consumer.assignment())

    victim = nodes[group_coordinator - 1] if len(nodes) > 1 else nodes[0]
    status = victim.status()
    os.kill(status.state.pid, signal.SIGKILL)
    mark(f"broker {victim.data.name} killed")
    if not args.while_down:
        keep_polling(consumer, args.down)
        restart(victim, status.state.port)
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
        restart(victim, status.state.port)
    worker.join(max(0.0, args.give_up - (time.monotonic() - started)))  # not polling the consumer: a role's thread is in this call
    took = returned[0] if returned else time.monotonic() - started
    verdict = outcome[0] if outcome else f"STILL BLOCKED after {took:.0f} s"
    mark(f"send_offsets_to_transaction(timeout={args.timeout:.0f} s): {verdict} after {took:.1f} s")
    return outcome


def txn_coordinator(admin: AdminClient, transactional_id: str) -> int:
    """The node leading the transaction state partition of this id (Kafka: abs(hashCode) % partitions)."""
    partitions = admin.list_topics("__transaction_state", timeout=10).topics["__transaction_state"].partitions
    return partitions[(java_hash(transactional_id) & 0x7FFFFFFF) % len(partitions)].leader


def java_hash(text: str) -> int:
    value = 0
    for char in text:
        value = (31 * value + ord(char)) & 0xFFFFFFFF
    return value


def mark(what: str) -> None:
    """A line on stdout, and in the debug log (stderr) to find the moment."""
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
