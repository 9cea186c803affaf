"""Rebalances three ways, measured: a member joins, leaves cleanly, or is killed with -9.

Usage: python benchmarks/rebalance.py [-b HOST:PORT] [--members 1,2,3,6 | --all] [--protocols ...] [--rate 20] [--out FILE]

For each group protocol (classic-eager, classic-cooperative, consumer) and each group size,
members run as processes of their own (so one can be killed with -9) in one group on a topic
of 6 partitions, while a producer offers orders to every partition at a fixed rate. Each member
reports, with timestamps, the partitions it is given, gives up or loses, and every order it
reads. From those the script works out, for each change of membership:

- settled: seconds from the change until the last partition found its new owner;
- unowned partition-s: the partition-seconds in which no live member owned a partition;
- kept: the partitions that had the same owner before and after, and the orders their owners
  served while the group settled, beside what the producer offered them meanwhile.

Without -b it starts a broker of its own (the embedded one, with fishchips' settings) in a
temporary folder, and stops it at the end. It writes benchmarks/rebalance.json, prints a table,
replaces the results section of docs/rebalance.md, and, when matplotlib is installed (the bench
extra), draws docs/rebalance.png. The default run takes about 6 minutes; --all about 10.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from rich.console import Console
from rich.table import Table

from fishchips.broker.embedded import EmbeddedBroker
from fishchips.kafka import clients
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import ensure_topics
from fishchips.services.local_server import free_port

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "rebalance.md"
PARTITIONS = 6
QUIET = 3.0  # seconds without a change of owner before a group counts as settled
SETTLE_LIMIT = 60.0  # a group that has not settled by then is reported as such
console = Console(stderr=True)


# --- a member: one process, one consumer, one line per thing that happens to it ---------------------------


def member(bootstrap: str, group: str, topic: str, protocol: GroupProtocol, commit: str, work: float, name: str) -> None:
    """Consume, work `work` s on each order, commit the batch like a preparer, and say on stdout what happened when.

    commit "sync" waits for each batch's commit, as the shop's roles do; "async" does not;
    "transaction" commits the offsets in a transaction, as the shop's exactly-once preparers do.
    """
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())

    def say(kind: str, detail: str = "") -> None:
        print(f"{kind} {time.time():.4f} {detail}", flush=True)

    def said(kind: str) -> Callable[[Consumer, list[TopicPartition]], None]:
        return lambda consumer, partitions: say(kind, ",".join(str(p.partition) for p in partitions))

    # "latest": the group serves the orders offered from now on, not the backlog of earlier groups
    overrides = {"client.id": name, "auto.offset.reset": "latest"}
    settings = ConnectionSettings(bootstrap_servers=bootstrap)
    consumer = clients.consumer(settings, group, protocol, **overrides)
    producer = clients.producer(settings, **{"transactional.id": f"{group}.{name}"}) if commit == "transaction" else None
    if producer:
        producer.init_transactions(30)
    say("S")
    consumer.subscribe([topic], on_assign=said("A"), on_revoke=said("R"), on_lost=said("L"))
    while not stopping.is_set():
        # as the shop's roles: with work to do, one order at a time; without, whatever has arrived
        messages = [m for m in consumer.consume(1 if work else 500, 0.05) if not m.error()]
        if messages:
            if work:
                for message in messages:  # each order is served when its work is done
                    stopping.wait(work)
                    say("M", f"{message.partition()}:{message.offset()}")
            else:
                say("M", " ".join(f"{m.partition()}:{m.offset()}" for m in messages))
            try:
                if producer:
                    commit_in_a_transaction(consumer, producer, messages)
                else:
                    consumer.commit(asynchronous=commit == "async")
            except KafkaException as exc:  # partitions moved meanwhile: their new owner reads from the last commit
                say("E", exc.args[0].name())
                if producer:
                    with contextlib.suppress(KafkaException):  # a commit that timed out is not abortable: the next begin says so
                        producer.abort_transaction(30)
    say("C")
    consumer.close()
    say("X")


def commit_in_a_transaction(consumer: Consumer, producer: Producer, messages: list[Message]) -> None:
    """The offsets of what was read, committed by the producer's transaction (there are no results to write here)."""
    last: dict[int, int] = {}
    for message in messages:
        last[message.partition()] = message.offset()
    producer.begin_transaction()
    offsets = [TopicPartition(messages[0].topic(), partition, offset + 1) for partition, offset in last.items()]
    producer.send_offsets_to_transaction(offsets, consumer.consumer_group_metadata(), 30)
    producer.commit_transaction(30)


# --- the measuring side ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    at: float
    member: str
    kind: str  # S subscribed, A assigned, R revoked, L lost, M read orders, E a commit failed, C closing, X closed, K killed (by us)
    detail: str


class Member:
    """A member process and the thread that reads what it says."""

    def __init__(self, name: str, argv: list[str], events: list[Event], lock: threading.Lock) -> None:
        self.name = name
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.subscribed = threading.Event()
        self._events, self._lock = events, lock
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            kind, at, detail = [*line.rstrip("\n").split(" ", 2), ""][:3]
            with self._lock:
                self._events.append(Event(float(at), self.name, kind, detail))
            if kind == "S":
                self.subscribed.set()

    def finish(self) -> None:
        self.process.wait(30)
        self._reader.join(5)


@dataclass
class Group:
    """One group of member processes on the topic, and everything its members said."""

    bootstrap: str
    topic: str
    protocol: GroupProtocol
    commit: str
    work_ms: int
    name: str
    events: list[Event] = field(default_factory=list)
    live: dict[str, Member] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _count: int = 0

    def start(self) -> Member:
        self._count += 1
        name = f"m{self._count}"
        argv = [
            sys.executable,
            __file__,
            "member",
            self.bootstrap,
            self.name,
            self.topic,
            self.protocol.value,
            self.commit,
            str(self.work_ms / 1000),
            name,
        ]
        self.live[name] = Member(name, argv, self.events, self.lock)
        return self.live[name]

    def stop(self, name: str) -> None:
        """Ask a member to leave cleanly (SIGTERM: it closes its consumer) and wait for it to go."""
        self.live.pop(name).process.send_signal(signal.SIGTERM)

    def kill(self, name: str) -> float:
        gone = self.live.pop(name)
        at = time.time()
        gone.process.kill()
        with self.lock:
            self.events.append(Event(at, name, "K", ""))
        gone.finish()
        return at

    def owners(self) -> dict[int, str | None]:
        with self.lock:
            return ownership(list(self.events))[0]

    def settled(self) -> bool:
        """Every partition owned by a live member, every live member owning one, and no change for QUIET s."""
        with self.lock:
            owners, last_change = ownership(list(self.events))
        held = set(owners.values())
        return held <= set(self.live) <= held and time.time() - last_change >= QUIET  # (None in held: a partition unowned)

    def await_settled(self) -> bool:
        deadline = time.monotonic() + SETTLE_LIMIT
        while not self.settled():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def close(self) -> None:
        for name in list(self.live):
            member = self.live[name]
            self.stop(name)
            member.finish()


def ownership(events: list[Event], until: float = float("inf")) -> tuple[dict[int, str | None], float]:
    """Who owns each partition after `events` (up to `until`), and when ownership last changed.

    Assigned/revoked lists are the whole assignment under eager rebalancing and only the change under
    incremental: applying each to the partitions it names is right for both. A killed member owns nothing.
    """
    owners: dict[int, str | None] = dict.fromkeys(range(PARTITIONS))
    last_change = 0.0
    for event in sorted(events, key=lambda e: e.at):
        if event.at > until:
            break
        if event.kind == "A":
            for partition in _partitions(event.detail):
                owners[partition] = event.member
                last_change = event.at
        elif event.kind in ("R", "L", "K"):
            for partition, owner in owners.items():
                if owner == event.member and (event.kind == "K" or partition in _partitions(event.detail)):
                    owners[partition] = None
                    last_change = event.at
    return owners, last_change


def _partitions(detail: str) -> set[int]:
    return {int(p) for p in detail.split(",") if p}


@dataclass
class Measurement:
    protocol: str
    commit: str  # sync: each batch's commit waited for, as the shop does; async: not waited for; transaction: in a transaction
    work_ms: int  # each order's work, as a preparer's time per order
    members: int  # the group's size on the larger side of the change
    change: str  # join, leave, kill
    settled_s: float | None  # None: did not settle within SETTLE_LIMIT
    unowned_partition_s: float
    moved: int  # partitions whose owner changed
    kept: int  # partitions with the same owner before and after
    kept_served: int  # orders the owners of kept partitions read while the group settled
    kept_offered: int  # orders offered to the kept partitions meanwhile
    commit_errors: str = ""  # the errors members' commits met until the group settled, e.g. STALE_MEMBER_EPOCH x2


def measure(group: Group, change: str, members: int, t0: float, settled: bool, rate: float) -> Measurement:
    """The figures of one change, from what the members said between t0 and now."""
    with group.lock:
        events = list(group.events)
    before, _ = ownership(events, t0)
    after, last_change = ownership(events)
    done = max(last_change, t0)
    # unowned partition-seconds: step through every change of owner after t0
    unowned, at = 0.0, t0
    owners = dict(before)
    for event in sorted((e for e in events if t0 < e.at <= done and e.kind in "ARLK"), key=lambda e: e.at):
        unowned += sum(1 for o in owners.values() if o is None) * (event.at - at)
        owners, _ = ownership(events, event.at)
        at = event.at
    kept = {p for p in range(PARTITIONS) if before[p] is not None and before[p] == after[p]}
    served: set[tuple[int, int]] = set()
    for event in events:
        if event.kind == "M" and t0 <= event.at <= done:
            for item in event.detail.split():
                partition, offset = map(int, item.split(":"))
                if partition in kept and before[partition] == event.member:
                    served.add((partition, offset))
    return Measurement(
        group.protocol.value,
        group.commit,
        group.work_ms,
        members,
        change,
        round(done - t0, 2) if settled else None,
        round(unowned, 2),
        sum(1 for p in range(PARTITIONS) if before[p] != after[p]),
        len(kept),
        len(served),
        round(rate * len(kept) * (done - t0)),
        ", ".join(f"{name} x{count}" for name, count in sorted(Counter(e.detail for e in events if e.kind == "E" and e.at >= t0).items())),
    )


class Offer:
    """A producer offering `rate` orders per second to every partition, until stopped."""

    def __init__(self, settings: ConnectionSettings, topic: str, rate: float) -> None:
        self.producer = clients.producer(settings)
        self.topic, self.rate = topic, rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tick = time.monotonic()
        while not self._stop.is_set():
            for partition in range(PARTITIONS):
                self.producer.produce(self.topic, f"{time.time():.4f}".encode(), partition=partition)
            self.producer.poll(0)
            tick += 1 / self.rate
            self._stop.wait(max(0.0, tick - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.producer.flush(10)


def run_group(
    bootstrap: str, topic: str, protocol: GroupProtocol, commit: str, work_ms: int, members: int, rate: float
) -> list[Measurement]:
    """members-1 members, then one joins; with two or more, one leaves, one rejoins, and one is killed."""
    group = Group(bootstrap, topic, protocol, commit, work_ms, f"rebalance-{uuid.uuid4().hex[:6]}-{protocol.value}-{commit}-{members}")
    results = []
    try:
        for _ in range(members - 1):
            group.start()
        if members > 1 and not group.await_settled():
            raise RuntimeError(f"{members - 1} members of {protocol} did not settle within {SETTLE_LIMIT:.0f} s")
        joining = group.start()
        if not joining.subscribed.wait(30):
            raise RuntimeError("a member process did not start within 30 s")
        t0 = next(e.at for e in group.events if e.member == joining.name and e.kind == "S")
        results.append(measure(group, "join", members, t0, group.await_settled(), rate))
        if members > 1:
            leaving = next(iter(group.live))
            member_process = group.live[leaving]
            group.stop(leaving)
            member_process.finish()
            t0 = next(e.at for e in group.events if e.member == leaving and e.kind == "C")
            results.append(measure(group, "leave", members, t0, group.await_settled(), rate))
            group.start()
            group.await_settled()
            t0 = group.kill(next(iter(group.live)))
            results.append(measure(group, "kill -9", members, t0, group.await_settled(), rate))
    finally:
        group.close()
    return results


# --- output --------------------------------------------------------------------------------------------------


def _served(m: Measurement) -> str:
    return f"{m.kept_served} of {m.kept_offered}" if m.kept else "-"


def table(results: list[Measurement]) -> Table:
    out = Table(title="Rebalances: settled = last partition has its new owner")
    for column in (
        "protocol",
        "commit",
        "work ms",
        "members",
        "change",
        "settled s",
        "unowned partition-s",
        "moved",
        "kept",
        "served on kept",
        "commit errors",
    ):
        out.add_column(column, justify="left" if column in ("protocol", "commit", "change") else "right")
    for m in results:
        settled = "n/a" if m.settled_s is None else f"{m.settled_s:.2f}"
        out.add_row(
            m.protocol,
            m.commit,
            str(m.work_ms),
            str(m.members),
            m.change,
            settled,
            f"{m.unowned_partition_s:.2f}",
            str(m.moved),
            str(m.kept),
            _served(m),
            m.commit_errors or "-",
        )
    return out


def markdown(results: list[Measurement], meta: dict[str, object]) -> str:
    lines = [
        f"Run on {meta['date']}, {meta['cpus']} CPUs, load average {meta['load_before']:.2f} before and {meta['load_after']:.2f} after; "
        f"{PARTITIONS} partitions, {meta['rate']:g} orders/s offered to each, {meta['work_ms']} ms of work per order; "
        f"`python benchmarks/rebalance.py {meta['arguments']}` wrote this section.",
        "",
        "| protocol | commit | members | change | settled (s) | unowned partition-s | moved | kept | served on kept partitions meanwhile (of offered) | commit errors |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in results:
        settled = "did not settle" if m.settled_s is None else f"{m.settled_s:.2f}"
        lines.append(
            f"| {m.protocol} | {m.commit} | {m.members} | {m.change} | {settled} | {m.unowned_partition_s:.2f} | {m.moved} | {m.kept} | {_served(m)} "
            f"| {m.commit_errors or '-'} |"
        )
    return "\n".join(lines)


def plot(results: list[Measurement], path: Path) -> bool:
    """Settled time, unowned partition-seconds and orders served on kept partitions against group size; False without matplotlib."""
    try:
        from matplotlib.figure import Figure  # the bench extra; no pyplot: a figure drawn straight to a file needs no display
    except ImportError:
        return False
    changes = ["join", "leave", "kill -9"]
    figures = [
        ("settled after (s)", lambda m: m.settled_s),
        ("unowned partition-seconds", lambda m: m.unowned_partition_s),
        ("kept partitions: served\n(% of orders offered)", lambda m: 100 * m.kept_served / m.kept_offered if m.kept_offered else None),
    ]
    colours = dict(zip(GroupProtocol, ["#d62728", "#ff7f0e", "#2ca02c"], strict=True))
    styles = {"sync": "-", "async": "--", "transaction": ":"}
    fig = Figure(figsize=(12, 9))
    axes = fig.subplots(len(figures), len(changes), sharex=True)
    for column, change in enumerate(changes):
        for protocol in GroupProtocol:
            for commit, style in styles.items():
                rows = [m for m in results if (m.change, m.protocol, m.commit) == (change, protocol.value, commit)]
                for row, (_, value) in enumerate(figures):
                    points = [(m.members, value(m)) for m in rows if value(m) is not None]
                    if points:
                        label = f"{protocol.value}, {commit} commits"
                        axes[row][column].plot(*zip(*points, strict=True), style, marker="o", color=colours[protocol], label=label)
        axes[0][column].set_title(f"a member {'is killed with -9' if change == 'kill -9' else change + 's'}")
        axes[-1][column].set_xlabel("members in the group")
        for row in axes:
            row[column].set_ylim(bottom=0)
    for row, (name, _) in enumerate(figures):
        axes[row][0].set_ylabel(name)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"Rebalances on {PARTITIONS} partitions: lower is better, except orders served")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


# --- the run ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-b", "--bootstrap-servers", help="a running broker to measure on; default: start one of its own")
    parser.add_argument("--members", default="1,2,3,6", help="group sizes, comma-separated (1..6)")
    parser.add_argument("--all", action="store_true", help="every group size from 1 to 6 (about 10 minutes)")
    parser.add_argument("--protocols", default=",".join(GroupProtocol), help="comma-separated, of: " + ", ".join(GroupProtocol))
    parser.add_argument(
        "--commit", default="sync", help="comma-separated, of: sync (as the shop's roles), async, transaction (as exactly-once preparers)"
    )
    parser.add_argument("--work-ms", type=int, default=0, help="each order's work in ms, as a preparer's (0: none)")
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second offered to each partition")
    parser.add_argument(
        "--section",
        default="results",
        help="name of this run: its docs section, benchmarks/rebalance[-NAME].json, docs/rebalance[-NAME].png",
    )
    parser.add_argument("--no-docs", action="store_true", help="print and write the JSON only; leave docs/ as it is")
    parser.add_argument("--out", type=Path, help="write the JSON here instead (default: benchmarks/rebalance[-NAME].json)")
    parser.add_argument("--from-json", action="store_true", help="measure nothing: rewrite the docs and the plot from the last JSON")
    args = parser.parse_args()
    figures = args.out or ROOT / "benchmarks" / f"rebalance{_suffix(args.section)}.json"
    if args.from_json:
        saved = json.loads(figures.read_text())
        write_docs([Measurement(**m) for m in saved["results"]], saved["meta"], args.section)
        return
    sizes = list(range(1, 7)) if args.all else sorted({int(s) for s in args.members.split(",")})
    if not all(1 <= s <= PARTITIONS for s in sizes):
        parser.error(f"--members: each size must be 1..{PARTITIONS}")
    try:
        protocols = [GroupProtocol(p.strip()) for p in args.protocols.split(",")]
    except ValueError as exc:
        parser.error(f"--protocols: {exc}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a terminated run still stops its members and its broker
    broker = None
    bootstrap = args.bootstrap_servers
    if not bootstrap:
        broker = EmbeddedBroker(Path(tempfile.mkdtemp(prefix="fishchips-rebalance-")))
        console.print("starting a broker of its own ...")
        bootstrap = broker.start(port=free_port(), timeout=120).bootstrap_servers
        assert bootstrap
    settings = ConnectionSettings(bootstrap_servers=bootstrap)
    topic = f"rebalance-{uuid.uuid4().hex[:6]}"
    ensure_topics(clients.admin(settings), {topic: PARTITIONS})
    offer = Offer(settings, topic, args.rate)
    console.print("warming up: a first group on a new broker waits for its coordinator to load ...")
    warm_up = Group(bootstrap, topic, protocols[0], "sync", 0, f"rebalance-warm-up-{topic}")
    warm_up.start()
    warm_up.await_settled()
    warm_up.close()
    load_before = os.getloadavg()[0]
    results: list[Measurement] = []
    commits = [c.strip() for c in args.commit.split(",")]
    if not set(commits) <= {"sync", "async", "transaction"}:
        parser.error("--commit: sync, async, transaction, or several of them comma-separated")
    steps = [(p, c, s) for c in commits for p in protocols for s in sizes]
    try:
        for number, (protocol, commit, size) in enumerate(steps, 1):
            console.print(f"[{number}/{len(steps)}] {protocol}, {commit} commits, {size} member{'s' * (size > 1)} ...", highlight=False)
            for m in run_group(bootstrap, topic, protocol, commit, args.work_ms, size, args.rate):
                settled = "did not settle" if m.settled_s is None else f"settled in {m.settled_s:.2f} s"
                console.print(f"    {m.change}: {settled}, {m.unowned_partition_s:.2f} unowned partition-s, served {_served(m)}")
                results.append(m)
    finally:
        offer.stop()
        if broker:
            broker.stop()
            shutil.rmtree(broker.data, ignore_errors=True)
    meta = {
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "rate": args.rate,
        "work_ms": args.work_ms,
        "arguments": " ".join(sys.argv[1:]),
        "partitions": PARTITIONS,
        "broker": "its own (embedded settings)" if broker else bootstrap,
    }
    Console().print(table(results))
    figures.write_text(json.dumps({"meta": meta, "results": [asdict(m) for m in results]}, indent=2) + "\n")
    console.print(f"wrote {figures}")
    if not args.no_docs:
        write_docs(results, meta, args.section)


def _suffix(section: str) -> str:
    return "" if section == "results" else f"-{section}"


def write_docs(results: list[Measurement], meta: dict[str, object], section: str) -> None:
    """Replace the section between <!-- SECTION:start --> and <!-- SECTION:end --> in docs/rebalance.md, and draw its plot."""
    start, end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    text = DOC.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"docs/rebalance.md has no {start} ... {end} section to fill")
    image = DOC.parent / f"rebalance{_suffix(section)}.png"
    body = markdown(results, meta)
    if plot(results, image):
        console.print(f"wrote {image.relative_to(ROOT)}")
        body += f"\n\n![settled time, unowned partition-seconds and orders served on kept partitions, by group size]({image.name})"
    else:
        console.print("no plot: matplotlib is not installed (pip install -e '.[bench]' brings it)")
    DOC.write_text(re.sub(f"{start}.*{end}", lambda _: f"{start}\n{body}\n{end}", text, flags=re.DOTALL))
    console.print(f"wrote the {section} section of {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["member"]:
        bootstrap, group, topic, protocol, commit, work, name = sys.argv[2:9]
        member(bootstrap, group, topic, GroupProtocol(protocol), commit, float(work), name)
    else:
        main()
