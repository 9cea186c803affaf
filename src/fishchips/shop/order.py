"""An order: what the till puts on the topic, and the strict check of what comes off it."""

import json
import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fishchips.shop.menu import Menu

MAX_MESSAGE_BYTES = 64 * 1024
MAX_PARTS = 20
MAX_ITEMS_PER_PART = 6
MAX_ID_LENGTH = 200

Part = tuple[str, ...]
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # one encoder for every order: json.dumps builds one per call


class InvalidOrder(ValueError):
    """A message that is not a valid order; `reason` says exactly what is wrong, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)  # slots: no dict per order; a shop at rush hour holds hundreds of thousands
class Order:
    """One customer's order, immutable: each step of the shop makes a new one."""

    order: int  # the number called out at the counter, e.g. 271
    till: int  # which till took it (>= 1)
    parts: tuple[Part, ...]  # e.g. (("cod", "chips"), ("chips", "chips"))
    id: str  # unique across tills, restarts and runs: see new_order_id
    placed_at: float  # epoch seconds when the till took it
    ready: bool = False  # set by the cook once the plaice is cooked

    def to_json(self) -> bytes:
        """The talk's message shape; new fields are only ever added, so old readers still work."""
        message = {
            "order": self.order,
            "till": self.till,
            "parts": self.parts,  # tuples are JSON arrays too
            "ready": self.ready,
            "id": self.id,
            "placed_at": self.placed_at,
        }
        return _ENCODE(message).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes | None, menu: Menu) -> "Order":
        """Trust nothing from the topic: check every field, or raise InvalidOrder saying why."""
        message = _decode(data)
        return cls(
            order=_integer(message, "order", minimum=0),
            till=_integer(message, "till", minimum=1),
            parts=_parts(message, menu),
            id=_id(message),
            placed_at=_placed_at(message),
            ready=_boolean(message, "ready"),
        )

    def marked_ready(self) -> "Order":
        """The same order, now ready to serve."""
        return replace(self, ready=True)

    def describe(self) -> str:
        """What is called out at the counter: "271: cod & chips, large chips"."""
        return f"{self.order}: " + ", ".join(describe_part(part) for part in self.parts)


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


def _integer(message: dict[str, Any], name: str, minimum: int) -> int:
    value = _field(message, name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrder(f"{name}: expected an integer, got {_json_type(value)}")
    if value < minimum:
        raise InvalidOrder(f"{name}: must be at least {minimum}, got {value}")
    return value


def _boolean(message: dict[str, Any], name: str) -> bool:
    value = _field(message, name)
    if not isinstance(value, bool):
        raise InvalidOrder(f"{name}: expected true or false, got {_json_type(value)}")
    return value


def _id(message: dict[str, Any]) -> str:
    value = _field(message, "id")
    if not isinstance(value, str):
        raise InvalidOrder(f"id: expected a string, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise InvalidOrder(f"id: must be 1 to {MAX_ID_LENGTH} characters, got {len(value)}")
    return value


def _placed_at(message: dict[str, Any]) -> float:
    value = _field(message, "placed_at")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidOrder(f"placed_at: expected a number, got {_json_type(value)}")
    try:
        seconds = float(value)
    except OverflowError:  # an integer too big for a float
        seconds = math.inf
    if not math.isfinite(seconds):
        raise InvalidOrder("placed_at: not a finite number")
    return seconds


def _parts(message: dict[str, Any], menu: Menu) -> tuple[Part, ...]:
    value = _field(message, "parts")
    if not isinstance(value, list):
        raise InvalidOrder(f"parts: expected an array, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_PARTS:
        raise InvalidOrder(f"parts: must have 1 to {MAX_PARTS} parts, got {len(value)}")
    return tuple(_part(part, i, menu.items) for i, part in enumerate(value))


def _part(value: object, index: int, items: Mapping[str, object]) -> Part:
    """One part, checked item by item; the messages are built only for a bad part (every order passes here twice)."""
    if not isinstance(value, list):
        raise InvalidOrder(f"parts[{index}]: expected an array, got {_json_type(value)}")
    if not 1 <= len(value) <= MAX_ITEMS_PER_PART:
        raise InvalidOrder(f"parts[{index}]: must have 1 to {MAX_ITEMS_PER_PART} items, got {len(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidOrder(f"parts[{index}][{i}]: expected a string, got {_json_type(item)}")
        if item not in items:
            raise InvalidOrder(f"parts[{index}][{i}]: unknown item {item!r}")
    return tuple(value)
