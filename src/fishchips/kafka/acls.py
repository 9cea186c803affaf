"""What each role of the shop may do on a secured cluster, as Kafka ACLs.

The rule is least privilege, read straight off the shop's flow of events: a till only
writes orders; a preparer reads orders, writes cook and served, and uses its group; a
cook reads cook and writes orders back; the board and the accountant only read. Every
role may describe the shop's topics, so it can check they exist, but none may create
them: `open_shop` creates a shop's topics and writes the rules for its prefix.
"""

from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from fishchips.broker.users import ROLE_USERS
from fishchips.errors import FishchipsError
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.waiting import until

TIMEOUT = 15.0

READ, WRITE, DESCRIBE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE
TOPIC, GROUP, TRANSACTION, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID, ResourceType.BROKER
EXACT, PREFIX = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED

Rule = tuple[ResourceType, str, ResourcePatternType, AclOperation]


def transactions(group: str, person: str | None) -> list[Rule]:
    """Whose transactional ids a user may use. A role's id is <group>.<role's name> (roles/exactly_once.py):
    the shop's own role user may use any of its group; a person (a student) only <group>.<their user> and
    <group>.<their user>.<anything>, so that no one can fence a producer of the teacher's or another student's."""
    if person is None:
        return [(TRANSACTION, f"{group}.", PREFIX, WRITE)]
    return [(TRANSACTION, f"{group}.{person}", EXACT, WRITE), (TRANSACTION, f"{group}.{person}.", PREFIX, WRITE)]


def role_rules(role: str, topics: Topics, person: str | None = None) -> list[Rule]:
    """The (resource, name, pattern, operation) triples a role's user is allowed (`person`: a student's own user)."""
    every_role: list[Rule] = [
        (TOPIC, f"{topics.prefix}.", PREFIX, DESCRIBE),
        # every producer of the shop is idempotent and so asks for a producer id first; WRITE on any topic implies
        # this, but a read-only user without it fails "fatally" on its first write instead of being told which topic
        (CLUSTER, "kafka-cluster", EXACT, AclOperation.IDEMPOTENT_WRITE),
    ]
    rules: dict[str, list[Rule]] = {
        "till": [(TOPIC, topics.orders, EXACT, WRITE)],
        "preparer": [
            (TOPIC, topics.orders, EXACT, READ),
            (TOPIC, topics.cook, EXACT, WRITE),
            (TOPIC, topics.served, EXACT, WRITE),
            (TOPIC, topics.dead_letters, EXACT, WRITE),
            (GROUP, topics.group("preparers"), EXACT, READ),
            *transactions(topics.group("preparers"), person),
        ],
        "cook": [
            (TOPIC, topics.cook, EXACT, READ),
            (TOPIC, topics.orders, EXACT, WRITE),
            (TOPIC, topics.dead_letters, EXACT, WRITE),
            (GROUP, topics.group("cooks"), EXACT, READ),
            *transactions(topics.group("cooks"), person),
        ],
        # the board reads served from given offsets; its client still asks for its own throw-away group, board-<id>
        "board": [(TOPIC, topics.served, EXACT, READ), (GROUP, "board-", PREFIX, READ)],
        # the accountant reads; its one write sets an unreadable event aside, as every consumer of the shop does
        "accountant": [
            (TOPIC, topics.served, EXACT, READ),
            (GROUP, topics.group("accountant"), EXACT, READ),
            (TOPIC, topics.dead_letters, EXACT, WRITE),
        ],
    }
    return [*every_role, *rules[role]]


def user_acls(user: str, role: str, topics: Topics) -> list[AclBinding]:
    """The ACL bindings that let one user do one role's work: the role's own user (named after it), or a
    classroom's student, a user of their own whose transactional ids carry their name."""
    person = None if user == role else user
    return [
        AclBinding(resource, name, pattern, f"User:{user}", "*", operation, AclPermissionType.ALLOW)
        for resource, name, pattern, operation in role_rules(role, topics, person)
    ]


def role_acls(topics: Topics, roles: Iterable[str] = ROLE_USERS) -> list[AclBinding]:
    """The ACL bindings for the roles' users (each user is named after its role)."""
    return [binding for role in roles for binding in user_acls(role, role, topics)]


def create_acls(admin: AdminClient, bindings: list[AclBinding]) -> None:
    """Create the bindings (creating an existing ACL again is harmless), or say which one failed; return once the
    broker applies them. CreateAcls returns when the controller has them; each broker applies them from the
    metadata log a moment later, and a client that asks meanwhile is refused (a till once was, in a test)."""
    for binding, future in admin.create_acls(bindings, request_timeout=TIMEOUT).items():
        try:
            future.result()
        except KafkaException as exc:
            raise FishchipsError(f"cannot create the ACL {binding}: {exc.args[0].str()}") from None
    if not until(lambda: set(bindings) <= shown(admin, {b.principal for b in bindings}), TIMEOUT):
        raise FishchipsError(f"the broker did not show its new ACLs within {TIMEOUT:.0f} s")


def every_acl_of(principal: str) -> AclBindingFilter:
    """A filter for every ACL of one principal ("User:<name>"), whatever its resource, host and operation."""
    # None matches any name and any host (confluent-kafka's docs; its type hints say str)
    anything: Any = None
    return AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, principal, anything, AclOperation.ANY, AclPermissionType.ANY)


def shown(admin: AdminClient, principals: Iterable[str]) -> set[AclBinding]:
    """The ACLs the broker answering applies now, of these principals."""
    found: set[AclBinding] = set()
    for principal in principals:
        found.update(admin.describe_acls(every_acl_of(principal), request_timeout=TIMEOUT).result())
    return found


def grant(admin: AdminClient, topics: Topics) -> int:
    """Create every role's ACLs for one shop prefix (creating an existing ACL again is harmless); return how many."""
    bindings = role_acls(topics)
    create_acls(admin, bindings)
    return len(bindings)


def open_shop(admin: AdminClient, topics: Topics, partitions: int) -> int:
    """Create a shop's topics and its roles' ACLs (with a super user's admin client); return how many ACLs."""
    ensure_topics(admin, topics.partitions(partitions))
    return grant(admin, topics)
