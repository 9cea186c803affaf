"""`fishchips dlq`: what the shop set aside, and why."""

import json

import click
from confluent_kafka import Message
from rich.table import Table

from fishchips.cli.console import out
from fishchips.cli.options import connection_options
from fishchips.cli.shop import connected, prefix_option
from fishchips.kafka import clients
from fishchips.kafka.reading import read_to_end
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics

PREVIEW = 60


def dead_letter_record(message: Message) -> dict[str, object]:
    """A dead letter as plain data: where it came from, why it was set aside, and the value itself."""
    headers = {key: value.decode(errors="replace") for key, value in (message.headers() or [])}
    value = message.value() or b""
    return {
        "offset": message.offset(),
        "reason": headers.get("reason", "?"),
        "source": f"{headers.get('source.topic', '?')}[{headers.get('source.partition', '?')}]@{headers.get('source.offset', '?')}",
        "role": headers.get("role", "?"),
        "bytes": len(value),
        "value": value[:PREVIEW].decode(errors="replace"),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@prefix_option
@connection_options
def dlq(settings: ConnectionSettings, as_json: bool, prefix: str) -> None:
    """List the dead-letter topic: each unreadable event, its reason and where it came from."""
    topics = Topics(prefix)
    with connected(settings) as cluster:
        ensure_topics(clients.admin(cluster), {topics.dead_letters: 1})
        records = [dead_letter_record(message) for message in read_to_end(cluster, topics.dead_letters)]
    if as_json:
        out.print_json(json.dumps(records))
        return
    table = Table(title=f"{topics.dead_letters}: {len(records)} set aside")
    for column in ("offset", "source", "role", "reason", "bytes", "value"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*(str(record[column]) for column in ("offset", "source", "role", "reason", "bytes", "value")))
    out.print(table)
