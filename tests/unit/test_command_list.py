"""`fishchips --help` lists the commands from cli/main.py's COMMANDS, importing none of them: each summary there must
stay its command's own, and the list what click would print from the commands themselves."""

import importlib

import click
import pytest
from click.testing import CliRunner

from fishchips.cli.main import COMMANDS, cli


def command(name: str) -> click.Command:
    module, _, attribute = COMMANDS[name].target.partition(":")
    loaded = getattr(importlib.import_module(module), attribute)
    assert isinstance(loaded, click.Command)
    return loaded


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_its_command_s_own(name: str) -> None:
    for width in (30, 45, 80, 10_000):
        assert click.Command(name, help=COMMANDS[name].summary).get_short_help_str(width) == command(name).get_short_help_str(width)


def test_the_help_lists_the_commands_as_click_would_from_the_commands_themselves() -> None:
    ours = CliRunner().invoke(cli, ["--help"], prog_name="fishchips")
    plain = click.Group("fishchips", commands=[command(name) for name in COMMANDS])
    theirs = CliRunner().invoke(plain, ["--help"], prog_name="fishchips")
    assert ours.exit_code == theirs.exit_code == 0, ours.output
    listed = ours.output[ours.output.index("Commands:") :]
    assert listed == theirs.output[theirs.output.index("Commands:") :]
    assert len(listed.splitlines()) == 1 + len(COMMANDS)
