"""`fishchips web`'s Ctrl-C, as its server takes it: the tabs' streams end at once, and a second Ctrl-C while a control
finishes only says so (uvicorn's own would skip the app's shutdown, the shop's, and print a traceback)."""

import signal

import pytest
from starlette.applications import Starlette

from fishchips.cli.web import Server


def test_the_first_ctrl_c_ends_the_streams_and_a_second_only_says_the_shop_is_closing(capsys: pytest.CaptureFixture[str]) -> None:
    app = Starlette()
    ended: list[bool] = []
    app.state.end_streams = lambda: ended.append(True)
    server = Server(app)
    server.handle_exit(signal.SIGINT, None)
    assert server.should_exit and not server.force_exit and ended == [True]
    assert "closing the shop" not in capsys.readouterr().err
    server.handle_exit(signal.SIGINT, None)
    assert server.should_exit and not server.force_exit and ended == [True]
    assert "closing the shop: a control still running finishes first" in capsys.readouterr().err


def test_a_ctrl_c_before_the_app_has_started_has_no_streams_to_end() -> None:
    server = Server(Starlette())
    server.handle_exit(signal.SIGINT, None)
    assert server.should_exit
