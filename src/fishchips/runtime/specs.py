"""A role described as data: its kind, its name and its options, so it can be built here or in another process."""

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from fishchips.events import RoleKind
from fishchips.roles.context import ShopContext
from fishchips.roles.role import Role

# Each kind's class, imported when a role of that kind is first built: a role's process then imports its own
# role's modules only (a till loaded psycopg for the accountant's books and cryptography for the clerk's Connect
# worker, a third of its start-up). The share preparer also needs a confluent-kafka that the bench's own
# virtualenv lacks (Quix Streams pins it below 2.13), and the shop runs there without share preparers.
ROLE_CLASSES: Mapping[RoleKind, str] = {
    RoleKind.TILL: "fishchips.roles.till:Till",
    RoleKind.PREPARER: "fishchips.roles.preparer:FoodPreparer",
    RoleKind.SHARE_PREPARER: "fishchips.roles.share_preparer:SharePreparer",
    RoleKind.COOK: "fishchips.roles.cook:Cook",
    RoleKind.BOARD: "fishchips.roles.board:Board",
    RoleKind.READER: "fishchips.roles.board:Reader",
    RoleKind.ACCOUNTANT: "fishchips.roles.accountant:Accountant",
    RoleKind.CLERK: "fishchips.roles.clerk:Clerk",
}


@dataclass(frozen=True)
class RoleSpec:
    """Everything needed to build one role except the shop's context; picklable (a Tickets roll travels with a till)."""

    kind: RoleKind
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)  # the role class's keyword arguments

    def build(self, context: ShopContext) -> Role:
        return role_class(self.kind)(self.name, context, **self.options)


def role_class(kind: RoleKind) -> type[Role]:
    module, _, name = ROLE_CLASSES[kind].partition(":")
    return cast(type[Role], getattr(importlib.import_module(module), name))
