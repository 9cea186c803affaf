"""A corpus of events no role can use, each written straight onto a topic as raw bytes.

Every one must end in the dead-letter topic with a reason, and nothing may crash.
REASONS is the reason `Order.from_json` gives for each: a reader of the dead letters relies on these words.
"""

import json

GOOD = {"order": 1, "till": 1, "parts": [["cod", "chips"]], "ready": False, "id": "good-1", "placed_at": 1.0}


def with_(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def without(field: str) -> bytes:
    return json.dumps({k: v for k, v in GOOD.items() if k != field}).encode()


# name -> (key, value); value None is a key with no value (a tombstone)
CORPUS: dict[str, tuple[bytes | None, bytes | None]] = {
    "not json": (b"1", b"plaice and chips please"),
    "truncated json": (b"1", with_()[:-5]),
    "json array": (b"1", b"[271, 3]"),
    "json string": (b"1", b'"cod & chips"'),
    "json null": (b"1", b"null"),
    "empty value": (b"1", b""),
    "key with no value": (b"1", None),
    "invalid utf-8": (b"1", b'{"order": 1, "till": \xff\xfe}'),
    "missing order": (b"1", without("order")),
    "missing parts": (b"1", without("parts")),
    "missing id": (b"1", without("id")),
    "order as text": (b"1", with_(order="271")),
    "order as bool": (b"1", with_(order=True)),
    "negative order": (b"1", with_(order=-5)),
    "order too big for the books": (b"1", with_(order=10**400)),
    "till zero": (b"1", with_(till=0)),
    "absurd till type": (b"1", with_(till=[1])),
    "no parts": (b"1", with_(parts=[])),
    "empty part": (b"1", with_(parts=[[]])),
    "unknown item": (b"1", with_(parts=[["haddock", "chips"]])),
    "item not text": (b"1", with_(parts=[[7]])),
    "parts not a list": (b"1", with_(parts="cod")),
    "too many parts": (b"1", with_(parts=[["chips"]] * 21)),
    "absurd quantity": (b"1", with_(parts=[["chips"] * 500])),
    "ready as text": (b"1", with_(ready="yes")),
    "empty id": (b"1", with_(id="")),
    "huge id": (b"1", with_(id="x" * 5000)),
    "placed_at not a number": (b"1", with_(placed_at="noon")),
    "placed_at infinite": (b"1", b'{"order":1,"till":1,"parts":[["cod"]],"ready":false,"id":"x","placed_at":Infinity}'),
    "deeply nested": (b"1", b"[" * 100_000 + b"]" * 100_000),
    "huge message": (b"1", with_(note="x" * 200_000)),
}

REASONS: dict[str, str] = {
    "not json": "value: not JSON (Expecting value: line 1 column 1 (char 0))",
    "truncated json": "value: not JSON (Expecting value: line 1 column 98 (char 97))",
    "json array": "value: expected a JSON object, got array",
    "json string": "value: expected a JSON object, got string",
    "json null": "value: expected a JSON object, got null",
    "empty value": "value: missing or empty",
    "key with no value": "value: missing or empty",
    "invalid utf-8": "value: not valid UTF-8 (byte 21)",
    "missing order": "order: missing",
    "missing parts": "parts: missing",
    "missing id": "id: missing",
    "order as text": "order: expected an integer, got string",
    "order as bool": "order: expected an integer, got boolean",
    "negative order": "order: must be at least 0, got -5",
    "order too big for the books": "order: must be at most 2147483647, got a number of 401 digits",
    "till zero": "till: must be at least 1, got 0",
    "absurd till type": "till: expected an integer, got array",
    "no parts": "parts: must have 1 to 20 parts, got 0",
    "empty part": "parts[0]: must have 1 to 6 items, got 0",
    "unknown item": "parts[0][0]: unknown item 'haddock'",
    "item not text": "parts[0][0]: expected a string, got number",
    "parts not a list": "parts: expected an array, got string",
    "too many parts": "parts: must have 1 to 20 parts, got 21",
    "absurd quantity": "parts[0]: must have 1 to 6 items, got 500",
    "ready as text": "ready: expected true or false, got string",
    "empty id": "id: must be 1 to 200 characters, got 0",
    "huge id": "id: must be 1 to 200 characters, got 5000",
    "placed_at not a number": "placed_at: expected a number, got string",
    "placed_at infinite": "placed_at: not a finite number",
    "deeply nested": "value: too big (200000 bytes > 65536)",
    "huge message": "value: too big (200114 bytes > 65536)",
}
