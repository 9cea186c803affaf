"""The `fishchips` command: every subcommand hangs off this group."""

import faulthandler
import logging
import signal

import click
from rich.text import Text

from fishchips import __version__
from fishchips.cli.accounts import ACCOUNTS_COMMANDS
from fishchips.cli.bench import bench
from fishchips.cli.broker import broker
from fishchips.cli.cabinet import cabinet
from fishchips.cli.chaos import chaos
from fishchips.cli.classroom import CLASSROOM_COMMANDS
from fishchips.cli.connect import connect
from fishchips.cli.console import console, setup_logging
from fishchips.cli.db import db
from fishchips.cli.demo import demo
from fishchips.cli.dlq import dlq
from fishchips.cli.doctor import doctor
from fishchips.cli.learn import learn
from fishchips.cli.shop import SHOP_COMMANDS
from fishchips.cli.web import web
from fishchips.errors import FishchipsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fishchips")
@click.option("--verbose", "-v", is_flag=True, help="Log debug detail to the log file.")
def cli(verbose: bool) -> None:
    """A fish-and-chip shop on real Apache Kafka: learn, demonstrate and test Kafka from Python."""
    setup_logging(logging.DEBUG if verbose else logging.INFO)


cli.add_command(bench)
cli.add_command(broker)
cli.add_command(cabinet)
cli.add_command(doctor)
cli.add_command(connect)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(dlq)
cli.add_command(chaos)
cli.add_command(web)
cli.add_command(learn)
for command in [*SHOP_COMMANDS, *ACCOUNTS_COMMANDS, *CLASSROOM_COMMANDS]:
    cli.add_command(command)


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
