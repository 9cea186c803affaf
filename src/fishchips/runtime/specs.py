"""A role described as data: its kind, its name and its options, so it can be built here or in another process."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fishchips.events import RoleKind
from fishchips.roles.accountant import Accountant
from fishchips.roles.board import Board, Reader
from fishchips.roles.clerk import Clerk
from fishchips.roles.context import ShopContext
from fishchips.roles.cook import Cook
from fishchips.roles.preparer import FoodPreparer
from fishchips.roles.role import Role
from fishchips.roles.till import Till

ROLE_CLASSES: Mapping[RoleKind, type[Role]] = {
    RoleKind.TILL: Till,
    RoleKind.PREPARER: FoodPreparer,
    RoleKind.COOK: Cook,
    RoleKind.BOARD: Board,
    RoleKind.READER: Reader,
    RoleKind.ACCOUNTANT: Accountant,
    RoleKind.CLERK: Clerk,
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
    if kind is RoleKind.SHARE_PREPARER:
        # imported when one is built: the bench's own virtualenv (Quix Streams pins confluent-kafka below 2.13)
        # has no share consumer, and the shop runs there without share preparers
        from fishchips.roles.share_preparer import SharePreparer

        return SharePreparer
    return ROLE_CLASSES[kind]
