"""`fishchips demo`: the live shop in the terminal."""

from pathlib import Path

import click

from fishchips.cli.console import BrokerProgress, log_file
from fishchips.cli.options import connection_options, group_protocol_option, nodes_option, prefix_option, redis_option
from fishchips.cli.shop import local_cluster
from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.scenarios import SCENARIOS
from fishchips.tui.app import ShopApp


@click.command()
@click.argument("scenario_name", metavar="[SCENARIO]", default="demo1", type=click.Choice(list(SCENARIOS)))
@click.option("--speed", type=click.FloatRange(min=0.1), default=1.0, show_default=True, help="Times the demo pace.")
@prefix_option
@group_protocol_option
@redis_option
@nodes_option
@connection_options
def demo(
    settings: ConnectionSettings, scenario_name: str, speed: float, prefix: str, group_protocol: GroupProtocol, redis_flag: str | None, nodes: int
) -> None:
    """Open the live shop (a Textual app) with Kafka's view of it; demo1 unless named (demo5: the hot cabinet, in Redis)."""
    if nodes == 3:
        with BrokerProgress() as progress:
            settings = local_cluster(settings, progress)
    log_path = str(log_file()).replace(str(Path.home()), "~")
    app = ShopApp(SCENARIOS[scenario_name], settings, Topics(prefix), speed=speed, log_path=log_path, redis=redis_flag, group_protocol=group_protocol)
    app.run()
