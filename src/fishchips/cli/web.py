"""`fishchips web`: the live shop as a diagram in the browser, for a room full of people."""

import contextlib
import ipaddress
import socket
import webbrowser
from types import FrameType

import click
import uvicorn
from starlette.applications import Starlette

from fishchips.cli.console import console
from fishchips.cli.options import connection_options, group_protocol_option, nodes_option, prefix_option, redis_option
from fishchips.cli.shop import connected
from fishchips.errors import FishchipsError
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.learn.lesson import find
from fishchips.scenarios import SCENARIOS
from fishchips.web.live import LiveShop
from fishchips.web.server import create_app, new_token

SHUTDOWN_SECONDS = 15  # on Ctrl-C, a control still running may finish for this long (a scenario opens in about 2 s)


class Server(uvicorn.Server):
    """Ctrl-C ends the tabs' event streams at once (they never end by themselves), so the shutdown waits only for
    a control still running: the page switching scenario when Ctrl-C came finishes it, then the shop closes.
    Ctrl-C again meanwhile changes nothing: uvicorn would skip the app's shutdown, and the shop's, and print a
    traceback for it."""

    def __init__(self, app: Starlette) -> None:
        super().__init__(uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=SHUTDOWN_SECONDS, lifespan="on"))
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            console.print(f"closing the shop: a control still running finishes first (at most {SHUTDOWN_SECONDS} s)")
            return
        super().handle_exit(sig, frame)
        if (end_streams := getattr(self.app.state, "end_streams", None)) is not None:  # set once the app has started
            end_streams()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind here, not in uvicorn, so a port in use is one clear line (and --port 0 picks a free one)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        raise FishchipsError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port or --host") from None
    sock.listen(128)
    return sock


@click.command()
@click.argument("scenario_name", metavar="[SCENARIO]", required=False, type=click.Choice(list(SCENARIOS)))
@click.option("--lesson", "lesson_name", help="Follow a lesson (a name or its number, as `fishchips learn` lists them) in its shop.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; not loopback: controls need the token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on (0: any free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--token", "want_token", is_flag=True, help="Controls need the printed token even on loopback (always so on other hosts).")
@click.option("--speed", type=click.FloatRange(min=0.1), default=1.0, show_default=True, help="Times the demo pace.")
@nodes_option
@group_protocol_option
@redis_option
@prefix_option
@connection_options
def web(
    settings: ConnectionSettings,
    scenario_name: str | None,
    lesson_name: str | None,
    host: str,
    port: int,
    open_browser: bool,
    want_token: bool,
    speed: float,
    group_protocol: GroupProtocol,
    redis_flag: str | None,
    prefix: str,
    nodes: int,
) -> None:
    """Serve the live shop to any number of browser tabs: a diagram of real Kafka, demo3 unless named (or a lesson's)."""
    if scenario_name and lesson_name:
        raise click.UsageError("name a scenario or --lesson (which opens its own), not both")
    lesson = find(lesson_name) if lesson_name else None
    scenario_name = lesson.scenario if lesson else scenario_name or "demo3"
    sock = listening_socket(host, port)
    with connected(settings, 3 if lesson and lesson.nodes == 3 else nodes) as cluster:  # a lesson that kills a broker: on three nodes
        live = LiveShop(
            SCENARIOS[scenario_name], cluster, Topics(prefix), speed=speed, group_protocol=group_protocol, redis=redis_flag, lesson=lesson
        )
    token = new_token() if want_token or not is_loopback(host) else None
    bound_host, bound_port = sock.getsockname()[:2]
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    url = f"http://{shown_host}:{bound_port}/" + (f"?token={token}" if token else "")
    following = f" · lesson {lesson.name}" if lesson else ""
    console.print(f"fishchips web: [bold]{url}[/] · {scenario_name}{following} · Ctrl-C stops the shop", highlight=False)
    if token:
        console.print(f"controls need the token [bold]{token}[/] (it is in the address above); watching needs none", highlight=False)
    if open_browser:
        webbrowser.open(url)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once it has shut down: the shop is closed by then
        Server(create_app(live, token)).run(sockets=[sock])
    console.print("the shop is closed: every role left its group")
