"""An order: what the till puts on the topic, and the strict check of what comes off it.

msgspec decodes and checks every message against typed Structs in C (about five times
faster than the standard json module and a checker in Python: see docs/design.md). The
careful checker at the end of this module runs only for a message msgspec refuses, to
word the reason the way a reader of the dead letters needs it.
"""

import json
import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from fishchips.shop.menu import Menu

MAX_MESSAGE_BYTES = 64 * 1024
MAX_PARTS = 20
MAX_ITEMS_PER_PART = 6
MAX_ID_LENGTH = 200
# The books file order and till numbers in INTEGER columns (32-bit in PostgreSQL). Bounding them on the
# wire refuses a bigger one before it is served, instead of after, by the books alone.
MAX_NUMBER = 2**31 - 1

Part = tuple[str, ...]


class InvalidOrder(ValueError):
    """A message that is not a valid order; `reason` says exactly what is wrong, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# gc=False: an order holds only numbers, text and tuples of text, so it can never be part of a
# reference cycle, and the collector need not track the hundreds of thousands a shop holds at rush hour.
class Order(msgspec.Struct, frozen=True, gc=False):
    """One customer's order, immutable: each step of the shop makes a new one."""

    order: int  # the number called out at the counter, e.g. 271
    till: int  # which till took it (>= 1)
    parts: tuple[Part, ...]  # e.g. (("cod", "chips"), ("chips", "chips"))
    id: str  # unique across tills, restarts and runs: see new_order_id
    placed_at: float  # epoch seconds when the till took it
    ready: bool = False  # set by the cook once the plaice is cooked

    def to_json(self) -> bytes:
        """The talk's message shape; new fields are only ever added, so old readers still work."""
        return _ENCODE(_Wire(self.order, self.till, self.parts, self.ready, self.id, self.placed_at))

    @classmethod
    def from_json(cls, data: bytes | None, menu: Menu) -> "Order":
        """Trust nothing from the topic: check every field, or raise InvalidOrder saying why."""
        if data and len(data) <= MAX_MESSAGE_BYTES:
            try:
                wire = _DECODE(data.decode("utf-8"))  # text first: msgspec does not check the bytes of fields it skips
            except (UnicodeDecodeError, msgspec.DecodeError, RecursionError) as error:
                raise _explained(data, menu, error) from None
            if _on_menu(wire.parts, menu.items):
                return cls(wire.order, wire.till, wire.parts, wire.id, wire.placed_at, wire.ready)
        raise _explained(data, menu, None)

    def marked_ready(self) -> "Order":
        """The same order, now ready to serve."""
        return msgspec.structs.replace(self, ready=True)

    def describe(self) -> str:
        """What is called out at the counter: "271: cod & chips, large chips"."""
        return f"{self.order}: " + ", ".join(describe_part(part) for part in self.parts)


_WirePart = Annotated[Part, Meta(min_length=1, max_length=MAX_ITEMS_PER_PART)]


class _Wire(msgspec.Struct, frozen=True, gc=False):
    """The message as it travels: the talk's key order, every field required, every bound checked by msgspec.

    Order itself cannot be this: its fields keep the order callers pass them in, and `ready`
    has a default there but must be on the wire.
    """

    order: Annotated[int, Meta(ge=0, le=MAX_NUMBER)]
    till: Annotated[int, Meta(ge=1, le=MAX_NUMBER)]
    parts: Annotated[tuple[_WirePart, ...], Meta(min_length=1, max_length=MAX_PARTS)]
    ready: bool
    id: Annotated[str, Meta(min_length=1, max_length=MAX_ID_LENGTH)]
    # always finite: msgspec's JSON has no NaN or Infinity, and refuses a number beyond a float's range
    placed_at: float


_ENCODE = msgspec.json.Encoder().encode
_DECODE = msgspec.json.Decoder(_Wire).decode  # strict: a JSON true is not an integer, 1.0 is not an order number


def _on_menu(parts: tuple[Part, ...], items: Mapping[str, object]) -> bool:
    for part in parts:
        for item in part:
            if item not in items:
                return False
    return True


def describe_part(part: Sequence[str]) -> str:
    """Say a part as a customer would: ("plaice", "chips", "chips") -> "plaice & large chips"."""
    words = []
    for name, count in Counter(part).items():
        if count == 1:
            words.append(name)
        elif name == "chips" and count == 2:
            words.append("large chips")
        else:
            words.append(f"{count} {name}")
    return " & ".join(words)


def new_order_id(run: str, till: int, number: int) -> str:
    """Order numbers restart, so the run and till make the id unique."""
    return f"{run}-{till}-{number}"


def new_run_id() -> str:
    """A short random id, so order ids never repeat across runs and restarts."""
    return uuid.uuid4().hex[:12]


# --- the careful checker: only ever asked to say why ------------------------------------


def _explained(data: bytes | None, menu: Menu, error: Exception | None) -> InvalidOrder:
    """Why a message was refused, naming the field and the value: "order: must be at least 0, got -5".

    msgspec's own messages name the rule, not the value ("Expected `int` >= 0 - at `$.order`"), and
    its words for bad JSON differ from those the dead letters have always carried. Mapping each of
    its messages back would need the message's values again, so instead the message goes through
    the careful checker below, field by field in the order it has always used, and its first
    complaint is the reason. It runs for bad input only, so its cost does not matter.
    """
    try:
        _check(data, menu)
    except InvalidOrder as invalid:
        return invalid
    # what only the standard library tolerates: NaN or Infinity, an unpaired surrogate, a repeated key
    return InvalidOrder(f"value: refused by the strict decoder ({error})")


def _check(data: bytes | None, menu: Menu) -> None:
    """Every rule of the wire format, one field at a time; raises InvalidOrder at the first one broken."""
    message = _decode(data)
    _integer(message, "order", minimum=0)
    _integer(message, "till", minimum=1)
    _parts(message, menu)
    _id(message)
    _placed_at(message)
    _boolean(message, "ready")


def _decode(data: bytes | None) -> dict[str, Any]:
    if not data:
        raise InvalidOrder("value: missing or empty")
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidOrder(f"value: too big ({len(data)} bytes > {MAX_MESSAGE_BYTES})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidOrder(f"value: not valid UTF-8 (byte {error.start})") from None
    try:
        message = json.loads(text)
    except ValueError as error:
        raise InvalidOrder(f"value: not JSON ({error})") from None
    except RecursionError:
        raise InvalidOrder("value: not JSON (nested too deeply)") from None
    if not isinstance(message, dict):
        raise InvalidOrder(f"value: expected a JSON object, got {_json_type(message)}")
    return message


def _json_type(value: object) -> str:
    """Name types as JSON does, since that is what the sender wrote."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    names = {dict: "object", list: "array", str: "string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _field(message: dict[str, Any], name: str) -> Any:
    if name not in message:
        raise InvalidOrder(f"{name}: missing")
    return message[name]


def _integer(message: dict[str, Any], name: str, minimum: int) -> None:
    value = _field(message, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrder(f"{name}: expected an integer, got {_json_type(value)}")
    if value < minimum:
        raise InvalidOrder(f"{name}: must be at least {minimum}, got {value}")
    if value > MAX_NUMBER:
        digits = len(str(value))
        shown = str(value) if digits <= 20 else f"a number of {digits} digits"  # a reason stays short enough to read
        raise InvalidOrder(f"{name}: must be at most {MAX_NUMBER}, got {shown}")


def _boolean(message: dict[str, Any], name: str) -> None:
    value = _field(message, name)
    if not isinstance(value, bool):
        raise InvalidOrder(f"{name}: expected true or false, got {_json_type(value)}")


def _id(message: dict[str, Any]) -> None:
    value = _field(message, "id")
    if not isinstance(value, str):
        raise InvalidOrder(f"id: expected a string, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise InvalidOrder(f"id: must be 1 to {MAX_ID_LENGTH} characters, got {len(value)}")


def _placed_at(message: dict[str, Any]) -> None:
    value = _field(message, "placed_at")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOrder(f"placed_at: expected a number, got {_json_type(value)}")
    try:
        seconds = float(value)
    except OverflowError:  # an integer too big for a float
        seconds = math.inf
    if not math.isfinite(seconds):
        raise InvalidOrder("placed_at: not a finite number")


def _parts(message: dict[str, Any], menu: Menu) -> None:
    value = _field(message, "parts")
    if not isinstance(value, list):
        raise InvalidOrder(f"parts: expected an array, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_PARTS:
        raise InvalidOrder(f"parts: must have 1 to {MAX_PARTS} parts, got {len(value)}")
    for index, part in enumerate(value):
        _part(part, index, menu.items)


def _part(value: object, index: int, items: Mapping[str, object]) -> None:
    if not isinstance(value, list):
        raise InvalidOrder(f"parts[{index}]: expected an array, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_ITEMS_PER_PART:
        raise InvalidOrder(f"parts[{index}]: must have 1 to {MAX_ITEMS_PER_PART} items, got {len(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidOrder(f"parts[{index}][{i}]: expected a string, got {_json_type(item)}")
        if item not in items:
            raise InvalidOrder(f"parts[{index}][{i}]: unknown item {item!r}")
