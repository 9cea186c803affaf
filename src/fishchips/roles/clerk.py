"""The clerk: its own consumer group on `served`, writing each served order out as a table row.

Each row goes, as JSON carrying its schema, to a topic of its own that Kafka Connect's JDBC
sink upserts into PostgreSQL: the shop's side of the connector road to the books.
"""

from collections.abc import Sequence
from dataclasses import replace

from confluent_kafka import Message

from fishchips.events import Kind, RoleKind
from fishchips.kafka.connect_worker import ConnectNames
from fishchips.roles.consuming import ConsumingRole
from fishchips.roles.context import ShopContext
from fishchips.roles.outputs import Output
from fishchips.shop import Order
from fishchips.shop.rows import row_schema, served_row, with_schema


class Clerk(ConsumingRole):
    kind = RoleKind.CLERK
    group_role = "clerk"

    def __init__(self, name: str, context: ShopContext, work_seconds: float = 0.0, speed: float = 1.0, batch: int = 500) -> None:
        # at-least-once in any shop, as the connector road is: the sink's upsert makes a repeat harmless, and
        # without transactions the rows topic has no commit markers, so the sink's lag can reach 0
        super().__init__(name, replace(context, exactly_once=False), work_seconds, speed, batch)

    def source_topics(self) -> list[str]:
        return [self.topics.served]

    def handle(self, order: Order, message: Message) -> Sequence[Output]:
        served_at = message.timestamp()[1] / 1000  # when the preparer served it: the event's own time
        row = with_schema(served_row(order, self.menu, served_at), row_schema(self.menu))
        return [Output(ConnectNames(self.topics).rows, row, order.id.encode(), kind=Kind.ROW, order=order)]
