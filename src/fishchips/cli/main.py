"""The `fishchips` command: every subcommand hangs off this group."""

import faulthandler
import importlib
import logging
import signal
from typing import NamedTuple

import click
from click.formatting import HelpFormatter
from rich.text import Text

from fishchips import __version__
from fishchips.cli.console import console, setup_logging
from fishchips.errors import FishchipsError


# Each command's module is imported when that command runs, not before: `fishchips broker status` loads the broker's
# code and not the live app's, and a role's process (multiprocessing's spawn imports this module again in each one)
# starts without the whole command line. `fishchips --help` lists every command from the summaries here, importing none
# (it took 2.1 s importing all twenty); tests/unit/test_command_list.py keeps each summary its command's own.
class Listed(NamedTuple):
    target: str  # module:attribute
    summary: str  # the first sentence of the command's help


COMMANDS = {
    "accounts": Listed("fishchips.cli.accounts:accounts", "Run the accountant: its own consumer group books every served order into the database."),
    "bench": Listed("fishchips.cli.bench:bench", "Rush hour: orders/s end to end (processes and threads, transactions off and on), latency, memory; against raw Kafka, a bare two-hop pipe of processes, and Quix Streams."),
    "board": Listed("fishchips.cli.shop:board", "Show orders as they are served (reads the served topic; joins no group)."),
    "broker": Listed("fishchips.cli.broker:broker", "Run a real Apache Kafka broker (KRaft) on 127.0.0.1."),
    "cabinet": Listed("fishchips.cli.cabinet:cabinet", "The hot cabinet: cod, chips and plaice in Redis, taken by the preparers and stocked by the cook."),
    "chaos": Listed("fishchips.cli.chaos:chaos", "Kill (-9) preparers, the cook and brokers while the shop runs as processes; then check the ledger (and the cabinet)."),
    "class": Listed("fishchips.cli.classroom:classroom", "Teach a class: students join this machine's shop from their own laptops with `fishchips join`."),
    "connect": Listed("fishchips.cli.connect:connect", "Run Kafka Connect beside the shop: Debezium's JDBC sink writes each served order to PostgreSQL."),
    "cook": Listed("fishchips.cli.shop:cook", "Run the cook: consume the cook topic and send orders back marked ready (with the cabinet: cook what it lacks, and keep it stocked)."),
    "db": Listed("fishchips.cli.db:db", "Run Debian's PostgreSQL on 127.0.0.1, its cluster in the fishchips data dir."),
    "demo": Listed("fishchips.cli.demo:demo", "Open the live shop (a Textual app) with Kafka's view of it; demo1 unless named (demo5: the hot cabinet, in Redis)."),
    "dlq": Listed("fishchips.cli.dlq:dlq", "List the dead-letter topic: each unreadable event, its reason and where it came from."),
    "doctor": Listed("fishchips.cli.doctor:doctor", "Check Python, Java, the jar cache, the broker and a produce/consume round trip."),
    "join": Listed("fishchips.cli.classroom:join", "Join your teacher's shop with the join code they gave you, and play a role in it until Ctrl-C."),
    "learn": Listed("fishchips.cli.learn:learn", "Learn Kafka step by step in the shop: list the lessons, play one, or check them against the broker."),
    "preparer": Listed("fishchips.cli.shop:preparer", "Run one food preparer: join the group on orders, serve, send plaice (or, with the cabinet, what it lacks) to the cook."),
    "report": Listed("fishchips.cli.accounts:report", "Print the books: orders, takings and portions, per till and per hour, and the rejected events."),
    "run": Listed("fishchips.cli.shop:run", "Run a demo headless, print every event, and check that every order was served exactly once (and, with the hot cabinet, that it holds what was cooked less what was served, to the portion)."),
    "till": Listed("fishchips.cli.shop:till", "Run one till: take orders and produce them to the orders topic."),
    "web": Listed("fishchips.cli.web:web", "Serve the live shop to any number of browser tabs: a diagram of real Kafka, demo3 unless named (or a lesson's)."),
}


class Commands(click.Group):
    """The group of COMMANDS, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, name = COMMANDS[cmd_name].target.partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, COMMANDS[cmd_name]
        return command

    def format_commands(self, ctx: click.Context, formatter: HelpFormatter) -> None:
        """The commands and their summaries, as click lays them out, from COMMANDS: no command is imported to list it."""
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        with formatter.section("Commands"):
            # shortened to the width as click shortens a command's own help (a stand-in made of the summary alone)
            formatter.write_dl([(name, click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit)) for name in self.list_commands(ctx)])


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fishchips")
@click.option("--verbose", "-v", is_flag=True, help="Log debug detail to the log file.")
def cli(verbose: bool) -> None:
    """A fish-and-chip shop on real Apache Kafka: learn, demonstrate and test Kafka from Python."""
    setup_logging(logging.DEBUG if verbose else logging.INFO)


def main() -> None:
    """Run the command; a problem the user can fix is one red line and exit code 1, never a traceback."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: where is every thread right now?
    try:
        cli(standalone_mode=False)
    except FishchipsError as exc:
        console.print(Text(f"✗ {exc}", style="red"))
        raise SystemExit(1) from None
    except click.exceptions.Abort:
        console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
