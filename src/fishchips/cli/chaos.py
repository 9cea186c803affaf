"""`fishchips chaos`: kill roles and brokers while the shop runs, then prove nothing was lost or doubled."""

import signal
import tempfile
from pathlib import Path

import click
from rich.table import Table

from fishchips.broker.cluster import EmbeddedCluster
from fishchips.broker.embedded import EmbeddedBroker
from fishchips.chaos import PACE, STRIKE_EVERY, Chaos, ChaosReport
from fishchips.cli.console import BrokerProgress, console, figures_table, jsonable, log_file, out, print_json
from fishchips.cli.options import group_protocol_option, redis_option
from fishchips.errors import FishchipsError
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.services.local_server import free_port, port_taken

SOAK_RATE = 1.0  # orders a second: the demo's till
SOAK_STRIKE_EVERY = (10.0, 30.0)  # at the demo's pace a role needs longer to settle between strikes


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports."""
    for _ in range(50):
        base = free_port()
        if not any(port_taken(base + offset) for offset in range(1, count)):
            return base
    raise FishchipsError(f"found no {count} consecutive free ports on 127.0.0.1")


def report_table(report: ChaosReport) -> Table:
    ledger = report.ledger
    title = f"chaos on {report.nodes} node(s): {'[green]nothing lost, nothing twice' if report.ok else '[red]the promise was broken'}[/]"
    rows: list[tuple[str, object]] = [(f"kill -9 {name}", n) for name, n in sorted(report.kills.items())]
    rows += [("kill -9 a broker", report.broker_kills), ("role processes restarted", report.restarts), ("seconds", report.seconds)]
    if ledger is not None:
        rows += [
            ("orders taken", ledger.taken),
            ("served", ledger.served),
            ("lost", ledger.lost),
            ("served twice" + (" (at-least-once: booked once)" if report.share else ""), ledger.served_twice),
            ("served after a redelivery (share group)", ledger.redelivered),
            ("sent to the cook" if report.cabinet is not None else "plaice orders", ledger.plaice),
            ("cooked", ledger.cooked),
            ("cooked twice", ledger.cooked_twice),
            ("books: orders", report.books_orders),
            ("books: takings (pence)", f"{report.books_takings_pence} of {ledger.takings_pence}"),
            ("acknowledged, not in the log (lost)", report.lost),
            ("still waiting at the end (stuck)", report.stuck),
        ]
    rows.append(("longest wait, taken to served (s)", report.longest_wait))
    for n, kill in enumerate(report.broker_kill_log, 1):
        since = "back" if report.nodes == 1 else "kill"
        figures = f"{_s(kill.served_again_after)} / {_s(kill.caught_up_after)}" if kill.caught_up_after != 0 else "nothing was waiting"
        if kill.roles_killed_just_before:
            figures += f" ({kill.roles_killed_just_before} role(s) killed in the session before)"
        rows.append((f"broker kill {n} ({kill.node}): served again / all caught up, s after the {since}", figures))
    for role, rss in sorted(report.rss_kib.items()):
        rows.append((f"RSS of {role}, start / end (MiB)", f"{_mib(rss.get('start'))} / {_mib(rss.get('end'))}"))
    if report.cabinet is not None:
        rows += [(f"cabinet: {item} in stock", count) for item, count in report.cabinet.stock.items()]
        rows += [("batches cooked", report.cabinet.cooked_batches), ("trips to the cook", report.cabinet.trips_to_cook)]
        rows += [("cabinet = cooked - served", "yes" if report.cabinet.ok else "[red]no: " + "; ".join(report.cabinet.differences) + "[/]")]
    return figures_table(title, rows)


def _s(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}"


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def report_json(report: ChaosReport) -> dict[str, object]:
    """The report as plain JSON values (asdict would turn a Counter's items into tuple keys)."""
    return {**jsonable(report), "lost": report.lost, "stuck": report.stuck, "ok": report.ok}


@click.command()
@click.option("--orders", type=click.IntRange(10), default=600, show_default=True, help="Orders the till takes.")
@click.option("--rate", type=click.FloatRange(min=1), default=20.0, show_default=True, help="Orders per second.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed for when and whom to kill.")
@click.option("--max-seconds", type=float, default=600.0, show_default=True, help="Give up after this long.")
@click.option("--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True, help="Brokers: one, or a three-node cluster.")
@click.option("--cabinet", is_flag=True, help="Serve from the hot cabinet in Redis (demo5's shop); then check it against the ledger.")
@click.option(
    "--share", is_flag=True, help="The preparers are a share group (KIP-932): kill them, then count redeliveries; nothing lost, nothing booked twice."
)
@redis_option
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, min_open=True),
    help="A soak: run this long at the demo's pace (1 order/s, a strike every 10-30 s), instead of --orders and --rate.",
)
@click.option("--json", "as_json", is_flag=True, help="Print only the report, as one JSON object.")
@group_protocol_option
def chaos(
    orders: int,
    rate: float,
    seed: int,
    max_seconds: float,
    nodes: str,
    cabinet: bool,
    share: bool,
    redis_flag: str | None,
    minutes: float | None,
    as_json: bool,
    group_protocol: GroupProtocol,
) -> None:
    """Kill (-9) preparers, the cook and brokers while the shop runs as processes; then check the ledger (and the cabinet)."""
    if share and cabinet:
        raise click.UsageError("--share and --cabinet cannot be combined: the share group's preparers do not use the hot cabinet")
    pace: float = PACE
    strike_every = STRIKE_EVERY
    if minutes is not None:  # the demo's pace, for long: what a shop open all day would meet
        rate, pace, strike_every = SOAK_RATE, 1.0, SOAK_STRIKE_EVERY
        orders = max(10, round(minutes * 60 * rate))
        max_seconds = max(max_seconds, minutes * 60 + 300)
    workdir = Path(tempfile.mkdtemp(prefix="fishchips-chaos-"))
    # brokers of its own, on free ports: your shop's data is never touched
    cluster = EmbeddedCluster(workdir / "cluster") if nodes == "3" else None
    brokers = [] if cluster is not None else [EmbeddedBroker(workdir / "node-1")]
    bootstrap: str | None
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill`, a CI's timeout: end as Ctrl-C does, brokers stopped
    try:  # a start that fails half-way (one node of three) stops what did start
        with BrokerProgress() as progress:
            if cluster is not None:
                cluster.start(port=free_ports(3), on_phase=progress.phase, progress=progress.jars)
                brokers, bootstrap = cluster.nodes(), cluster.bootstrap_servers()
            else:
                bootstrap = brokers[0].start(port=free_port(), on_phase=progress.phase, progress=progress.jars).bootstrap_servers
        settings = ConnectionSettings(bootstrap_servers=bootstrap)
        say = (lambda line: None) if as_json else (lambda line: console.print(f"[yellow]⚡[/] {line}"))
        chaos = Chaos(
            brokers,
            settings,
            workdir,
            orders=orders,
            rate=rate,
            seed=seed,
            say=say,
            pace=pace,
            cabinet=cabinet,
            redis=redis_flag,
            group_protocol=group_protocol,
            share=share,
        )
        report = chaos.run(max_seconds, strike_every=strike_every)
    finally:
        if cluster is not None:
            cluster.stop()
        else:
            brokers[0].stop()
    if as_json:
        print_json(report_json(report))
    else:
        out.print(report_table(report))
        console.print(f"brokers and books: {workdir}; every role logs to {log_file()}")
    if not report.ok:
        raise SystemExit(1)
