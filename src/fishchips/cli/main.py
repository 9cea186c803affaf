"""The `fishchips` command: every subcommand hangs off this group."""

import faulthandler
import importlib
import logging
import signal

import click
from rich.text import Text

from fishchips import __version__
from fishchips.cli.console import console, setup_logging
from fishchips.errors import FishchipsError

# Each command's module is imported when that command runs, not before: `fishchips broker status` loads the broker's
# code and not the live app's, and a role's process (multiprocessing's spawn imports this module again in each one)
# starts without the whole command line. Only `fishchips --help`, which lists every command, imports them all.
COMMANDS = {
    "accounts": "fishchips.cli.accounts:accounts",
    "bench": "fishchips.cli.bench:bench",
    "board": "fishchips.cli.shop:board",
    "broker": "fishchips.cli.broker:broker",
    "cabinet": "fishchips.cli.cabinet:cabinet",
    "chaos": "fishchips.cli.chaos:chaos",
    "class": "fishchips.cli.classroom:classroom",
    "connect": "fishchips.cli.connect:connect",
    "cook": "fishchips.cli.shop:cook",
    "db": "fishchips.cli.db:db",
    "demo": "fishchips.cli.demo:demo",
    "dlq": "fishchips.cli.dlq:dlq",
    "doctor": "fishchips.cli.doctor:doctor",
    "join": "fishchips.cli.classroom:join",
    "learn": "fishchips.cli.learn:learn",
    "preparer": "fishchips.cli.shop:preparer",
    "report": "fishchips.cli.accounts:report",
    "run": "fishchips.cli.shop:run",
    "till": "fishchips.cli.shop:till",
    "web": "fishchips.cli.web:web",
}


class Commands(click.Group):
    """The group of COMMANDS, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, _, name = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command) and command.name == cmd_name, COMMANDS[cmd_name]
        return command


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
