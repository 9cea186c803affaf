"""Options shared by several commands (how to reach Kafka, the hot cabinet's Redis, the shop's prefix), each defined once."""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fishchips.kafka.protocols import GroupProtocol
from fishchips.kafka.settings import SASL_MECHANISMS, parse_extra, resolve


def connection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection flags to a command and hand it one `settings` value instead."""
    options = [
        click.option(
            "--bootstrap-servers", "-b", help="Kafka address host:port[,...] [env KAFKA_BOOTSTRAP_SERVERS]; unset: the embedded broker."
        ),
        click.option(
            "--certs-dir",
            type=click.Path(path_type=Path),
            help="Folder with ca.pem, service.cert, service.key (SSL) [env KAFKA_CERTS_DIR].",
        ),
        click.option(
            "--security-protocol",
            type=click.Choice(["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"], case_sensitive=False),
            help="Default: from the other settings [env KAFKA_SECURITY_PROTOCOL].",
        ),
        click.option(
            "--sasl-mechanism", type=click.Choice(SASL_MECHANISMS, case_sensitive=False), help="SASL mechanism [env KAFKA_SASL_MECHANISM]."
        ),
        click.option("--username", help="SASL username [env KAFKA_USERNAME]."),
        click.option("--password", help="SASL password [env KAFKA_PASSWORD]."),
        click.option("-X", "extra", multiple=True, metavar="KEY=VALUE", help="Any librdkafka setting, repeatable."),
        click.option(
            "--config", "config_file", type=click.Path(path_type=Path), help="TOML file of these settings [env FISHCHIPS_CONFIG]."
        ),
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {
            name: kwargs.pop(name)
            for name in ("bootstrap_servers", "certs_dir", "security_protocol", "sasl_mechanism", "username", "password")
        }
        extra = parse_extra(list(kwargs.pop("extra")))
        kwargs["settings"] = resolve(flags, extra, kwargs.pop("config_file"))
        return command(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


# Which shop: its topics, groups and cabinet are all named under it, so shops side by side never meet.
prefix_option = click.option(
    "--prefix", default="fishchips", show_default=True, help="The shop's prefix: its topics, groups and hot cabinet are named after it."
)


# The hot cabinet's Redis: the command resolves it (services.redis_server.redis_url) only when it needs the cabinet.
redis_option = click.option(
    "--redis",
    "redis_flag",
    metavar="URL",
    default=None,
    help="The hot cabinet's Redis, redis://host:port[/db] [env REDIS_URL]; unset: the local redis-server, started if need be.",
)


group_protocol_option = click.option(
    "--group-protocol",
    type=click.Choice([p.value for p in GroupProtocol]),
    default=GroupProtocol.CONSUMER.value,
    show_default=True,
    callback=lambda context, parameter, value: GroupProtocol(value),
    help="How the consumer groups rebalance: the classic protocol eager or cooperative, or Kafka 4's consumer protocol (docs/rebalance.md).",
)


def nodes_choice(help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--nodes 1 or 3, as a number; each command says what three nodes mean to it."""
    return click.option(
        "--nodes", type=click.Choice(["1", "3"]), default="1", show_default=True, callback=lambda context, parameter, value: int(value), help=help
    )


# The local three-node cluster: the views then show brokers, replicas and the ISR, and can kill a node.
nodes_option = nodes_choice(
    "3: run on fishchips's local three-node cluster (started if need be), where the shop's topics have 3 replicas "
    "and min.insync.replicas=2, and the views can kill a broker, restart it, and switch the tills to acks=1."
)
