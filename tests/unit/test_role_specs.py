"""Each kind of role is built from its own module, imported only when one is built."""

from fishchips.events import RoleKind
from fishchips.runtime.specs import role_class


def test_every_kind_of_role_names_a_class_of_that_kind() -> None:
    assert {kind: role_class(kind).kind for kind in RoleKind} == {kind: kind for kind in RoleKind}
