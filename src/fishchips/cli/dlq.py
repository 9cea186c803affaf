"""`fishchips dlq`: what the shop set aside, and why."""

import json

import click
from confluent_kafka import Message
from rich.table import Table

from fishchips.cli.console import out
from fishchips.cli.options import connection_options, prefix_option
from fishchips.cli.shop import connected
from fishchips.kafka import clients
from fishchips.kafka.connect_worker import ConnectNames
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics

PREVIEW = 60


# Kafka Connect's own dead letters say the same in headers of their own (errors.deadletterqueue.context.headers.enable)
CONNECT_HEADERS = {
    "reason": "__connect.errors.exception.message",
    "source.topic": "__connect.errors.topic",
    "source.partition": "__connect.errors.partition",
    "source.offset": "__connect.errors.offset",
    "role": "__connect.errors.connector.name",
}


def dead_letter_record(message: Message) -> dict[str, object]:
    """A dead letter as plain data: where it came from, why it was set aside, and the value itself."""
    raw = message.headers() or []
    pairs = raw.items() if isinstance(raw, dict) else raw  # a consumed record's are a list; the client's type allows a dict too
    headers = {key: value.decode(errors="replace") if isinstance(value, bytes) else value or "" for key, value in pairs}
    for ours, connects in CONNECT_HEADERS.items():
        headers.setdefault(ours, headers.get(connects, "?"))
    value = message.value() or b""
    return {
        "offset": message.offset(),
        "reason": headers["reason"],
        "source": f"{headers['source.topic']}[{headers['source.partition']}]@{headers['source.offset']}",
        "role": headers["role"],
        "bytes": len(value),
        "value": value[:PREVIEW].decode(errors="replace"),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@click.option("--connect", "of_connect", is_flag=True, help="Kafka Connect's dead letters: what the JDBC sink could not read or write.")
@prefix_option
@connection_options
def dlq(settings: ConnectionSettings, as_json: bool, of_connect: bool, prefix: str) -> None:
    """List the dead-letter topic: each unreadable event, its reason and where it came from."""
    topics = Topics(prefix)
    topic = ConnectNames(topics).dead_letters if of_connect else topics.dead_letters
    with connected(settings) as cluster:
        ensure_topics(clients.admin(cluster), {topic: 1})
        records = [dead_letter_record(message) for message in read_to_end(cluster, topic)]
    if as_json:
        out.print_json(json.dumps(records))
        return
    table = Table(title=f"{topic}: {len(records)} set aside")
    for column in ("offset", "source", "role", "reason", "bytes", "value"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*(str(record[column]) for column in ("offset", "source", "role", "reason", "bytes", "value")))
    out.print(table)
