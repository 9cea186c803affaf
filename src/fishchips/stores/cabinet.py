"""The hot cabinet, in Redis: cod, chips and plaice portions that preparers take and the cook puts back.

Per shop prefix, three kinds of keys (the prefix in braces is a Redis Cluster hash tag, so
every key a script touches is in one slot, as Redis requires of a script):

    {prefix}:cabinet            hash, portions in stock per item
    {prefix}:cabinet:counters   hash, cooked:<item>, served:<item>, cooked_batches, trips_to_cook, orders_taken
    {prefix}:taken:<order id>   set (with an expiry) once an order's portions are taken
    {prefix}:trip:<trip>        set (with an expiry) once the cook has cooked for one trip

Every change runs as one Lua script (registered once, then called by EVALSHA), so it is atomic:
no preparer ever sees a count that another is halfway through changing. The take checks every
item first and takes all or nothing, so stock never goes below zero; it records the order's id in
the same step, so a preparer that crashed after taking and is retried is told "already taken"
instead of taking twice. Stock and counters change together, so at every moment, to the portion,

    stock == cooked - served
"""

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from fishchips.errors import FishchipsError
from fishchips.shop.kitchen import Batch, batches_for_order, batches_to_par, portions
from fishchips.shop.menu import Menu
from fishchips.shop.order import Order
from fishchips.waiting import backing_off

# How long an order's "taken" mark (and a trip's "cooked" mark) is kept. It must outlast the longest
# time an order can be handed to a preparer again after its portions were taken (a crash, then a
# rebalance or a broker outage): a day is far beyond that, and bounds the memory a busy shop uses.
REMEMBER_SECONDS = 24 * 3600
LONGEST_WAIT = 5.0  # seconds between tries while Redis is down: back within seconds of its return
T = TypeVar("T")

# KEYS: stock, counters, this order's taken mark. ARGV: seconds to remember, then item, portions, ...
TAKE = """
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'already-taken'}
end
local short = {}
for i = 2, #ARGV, 2 do
  local have = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  local want = tonumber(ARGV[i + 1])
  if have < want then
    short[#short + 1] = ARGV[i]
    short[#short + 1] = want - have
  end
end
if #short > 0 then
  return {'short', unpack(short)}
end
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
  redis.call('HINCRBY', KEYS[2], 'served:' .. ARGV[i], ARGV[i + 1])
end
redis.call('HINCRBY', KEYS[2], 'orders_taken', 1)
redis.call('SET', KEYS[3], '1', 'EX', ARGV[1])
return {'taken'}
"""

# KEYS: stock, counters, and for a trip to the cook its mark. ARGV: seconds to remember, then item, below, up_to, ...
COOK = """
if KEYS[3] then
  if redis.call('EXISTS', KEYS[3]) == 1 then
    return {'already-cooked'}
  end
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[1])
  redis.call('HINCRBY', KEYS[2], 'trips_to_cook', 1)
end
local cooked = {}
for i = 2, #ARGV, 3 do
  local have = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  local add = tonumber(ARGV[i + 2]) - have
  if have < tonumber(ARGV[i + 1]) and add > 0 then
    redis.call('HINCRBY', KEYS[1], ARGV[i], add)
    redis.call('HINCRBY', KEYS[2], 'cooked:' .. ARGV[i], add)
    redis.call('HINCRBY', KEYS[2], 'cooked_batches', 1)
    cooked[#cooked + 1] = ARGV[i]
    cooked[#cooked + 1] = add
  end
end
return {'cooked', unpack(cooked)}
"""

# KEYS: stock, counters. ARGV: item, portions, ... (a restock by hand: each item is a batch)
ADD = """
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], 'cooked:' .. ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], 'cooked_batches', 1)
end
return 'ok'
"""


class CabinetError(FishchipsError):
    """Redis answered, but refused what the cabinet asked (a wrong key type, a read-only replica, ...)."""


class CabinetUnavailable(CabinetError):
    """Redis is not answering. Nothing was taken that the caller can know of: wait, and try the same call again."""


class Outcome(enum.Enum):
    TAKEN = "taken"  # the portions are the order's: serve it
    SHORT = "short"  # nothing was taken: the cabinet lacks `short`; send the order to the cook
    ALREADY_TAKEN = "already-taken"  # an earlier try took them (and then crashed, or lost the reply): serve it


@dataclass(frozen=True)
class Take:
    outcome: Outcome
    short: dict[str, int] = field(default_factory=dict)  # portions missing, per item, when SHORT

    @property
    def may_serve(self) -> bool:
        """The order's portions are set aside for it, by this try or an earlier one."""
        return self.outcome is not Outcome.SHORT


@dataclass(frozen=True)
class Cooking:
    cooked: dict[str, int]  # portions cooked now, per item (empty if the cabinet already held enough)
    already: bool = False  # this trip was cooked for before (the cook crashed or is retried): nothing cooked again


@dataclass(frozen=True)
class CabinetState:
    """A consistent picture of the cabinet (read in one transaction)."""

    stock: dict[str, int]
    cooked: dict[str, int]
    served: dict[str, int]
    cooked_batches: int
    trips_to_cook: int
    orders_taken: int

    @property
    def balanced(self) -> bool:
        """Stock is exactly what was cooked less what was served, item by item."""
        return all(self.stock[item] == self.cooked[item] - self.served[item] for item in self.stock)

    def unbalanced(self) -> list[str]:
        """Each item whose stock is not what was cooked less what was served, one line each."""
        return [
            f"{item}: {self.stock[item]} in stock, but {self.cooked[item]} cooked - {self.served[item]} served = {self.cooked[item] - self.served[item]}"
            for item in self.stock
            if self.stock[item] != self.cooked[item] - self.served[item]
        ]

    def differences(self, served_on_kafka: Mapping[str, int]) -> list[str]:
        """What disagrees, one line each, against the portions the `served` topic says left (shop.kitchen.served_portions).

        Empty when the cabinet holds exactly what was cooked less what was served, to the portion,
        and what it counts as served is what Kafka served: none taken twice, none served untaken.
        """
        lines = self.unbalanced()
        lines += [
            f"{item}: {self.served[item]} portions taken from the cabinet, {served_on_kafka.get(item, 0)} served on Kafka"
            for item in self.stock
            if self.served[item] != served_on_kafka.get(item, 0)
        ]
        return lines

    def since(self, start: "CabinetState") -> "CabinetState":
        """What changed since `start`: a run's own figures, on a cabinet that earlier runs of the shop used too."""
        return CabinetState(
            stock={item: self.stock[item] - start.stock[item] for item in self.stock},
            cooked={item: self.cooked[item] - start.cooked[item] for item in self.cooked},
            served={item: self.served[item] - start.served[item] for item in self.served},
            cooked_batches=self.cooked_batches - start.cooked_batches,
            trips_to_cook=self.trips_to_cook - start.trips_to_cook,
            orders_taken=self.orders_taken - start.orders_taken,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "stock": self.stock,
            "cooked": self.cooked,
            "served": self.served,
            "cooked_batches": self.cooked_batches,
            "trips_to_cook": self.trips_to_cook,
            "orders_taken": self.orders_taken,
            "balanced": self.balanced,
        }


def cooked_words(cooked: Mapping[str, int]) -> str:
    """What a restock cooked, as the app, the page and the command say it: "4 cod, 12 chips"."""
    return ", ".join(f"{count} {item}" for item, count in cooked.items()) or "nothing: everything is at its par"


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


class Cabinet:
    """One shop's hot cabinet. Thread-safe (redis-py pools its connections); one per process is enough."""

    def __init__(self, url: str, prefix: str = "fishchips", menu: Menu | None = None, remember_seconds: int = REMEMBER_SECONDS) -> None:
        self.url = url
        self.prefix = prefix
        self.menu = menu or Menu.load()
        self.remember_seconds = remember_seconds
        try:
            # no retries inside the client: a call that fails is the caller's to retry, so that it can say so
            # on screen; short timeouts, so a Redis that is gone is noticed in seconds, never a hang
            self._redis = redis.Redis.from_url(
                url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5, retry=Retry(NoBackoff(), 0)
            )
        except ValueError as error:
            raise CabinetError(f"the hot cabinet's Redis URL {shown(url)!r} is not usable: {error}") from None
        self._stock, self._counters = f"{{{prefix}}}:cabinet", f"{{{prefix}}}:cabinet:counters"
        self._take = self._redis.register_script(TAKE)
        self._cook = self._redis.register_script(COOK)
        self._add = self._redis.register_script(ADD)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its address: a role in a process of its own opens its own connections to the same Redis."""
        return (Cabinet, (self.url, self.prefix, self.menu, self.remember_seconds))

    def take(self, order: Order) -> Take:
        """Take all the order's portions, or none; refused as ALREADY_TAKEN if this order's were taken before."""
        wanted = portions(order.parts, self.menu)
        with self._calling():
            reply = self._take(
                keys=[self._stock, self._counters, f"{{{self.prefix}}}:taken:{order.id}"], args=[self.remember_seconds, *_flat(wanted)]
            )
        outcome = Outcome(reply[0])
        return Take(outcome, _pairs(reply[1:]))

    def cook_for(self, order: Order, trip: str) -> Cooking:
        """The cook's trip for an order the cabinet was short for: cook what it lacks (see shop.kitchen).

        trip names this trip, the same when it is retried and different for the same order's next
        trip: the position of the `cook` event (topic:partition:offset) is just that. A retried trip
        cooks nothing again, and counts once in trips_to_cook.
        """
        return self._cook_batches(batches_for_order(portions(order.parts, self.menu), self.menu), trip)

    def top_up(self, only_when_low: bool = True) -> dict[str, int]:
        """Cook batches of each item with a par: the cook's timer (only when low), or a restock to par by hand."""
        return self._cook_batches(batches_to_par(self.menu, only_when_low), trip=None).cooked

    def restock(self, amounts: Mapping[str, int]) -> None:
        """Add portions by hand (counted as cooked, one batch per item)."""
        if unknown := sorted(set(amounts) - set(self.menu.items)):
            raise CabinetError(f"not on the menu: {', '.join(unknown)} (the menu has {', '.join(sorted(self.menu.items))})")
        if bad := sorted(item for item, count in amounts.items() if isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise CabinetError(f"portions must be whole numbers of at least 1: {', '.join(bad)}")
        with self._calling():
            self._add(keys=[self._stock, self._counters], args=_flat(amounts))

    def state(self) -> CabinetState:
        """Stock and counters, read together (MULTI/EXEC) so they always balance."""
        return self.state_and_takes(with_takes=False)[0]

    def state_and_takes(self, with_takes: bool = True) -> tuple[CabinetState, set[str]]:
        """Stock, counters and the id of every order whose take is remembered, all read at one moment (MULTI/EXEC):
        each take counted once shows as one id here, one in `orders_taken`, and that order's portions in `served`."""
        marks = f"{{{self.prefix}}}:taken:"
        with self._calling():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hgetall(self._stock)
            pipe.hgetall(self._counters)
            if with_takes:
                pipe.keys(marks + "*")
            stock, counters, *taken = pipe.execute()
        items = sorted(self.menu.items)
        state = CabinetState(
            stock={item: int(stock.get(item, 0)) for item in items},
            cooked={item: int(counters.get(f"cooked:{item}", 0)) for item in items},
            served={item: int(counters.get(f"served:{item}", 0)) for item in items},
            cooked_batches=int(counters.get("cooked_batches", 0)),
            trips_to_cook=int(counters.get("trips_to_cook", 0)),
            orders_taken=int(counters.get("orders_taken", 0)),
        )
        return state, {key.removeprefix(marks) for key in (taken[0] if taken else [])}

    def ping(self) -> None:
        """Return once Redis answers, or raise CabinetUnavailable: a cheap check before resuming work after an outage."""
        with self._calling():
            self._redis.ping()

    def close(self) -> None:
        self._redis.close()

    def _cook_batches(self, batches: list[Batch], trip: str | None) -> Cooking:
        keys = [self._stock, self._counters] + ([f"{{{self.prefix}}}:trip:{trip}"] if trip is not None else [])
        args = [self.remember_seconds, *(value for batch in batches for value in (batch.item, batch.below, batch.up_to))]
        with self._calling():
            reply = self._cook(keys=keys, args=args)
        return Cooking({}, already=True) if reply[0] == "already-cooked" else Cooking(_pairs(reply[1:]))

    @contextmanager
    def _calling(self) -> Iterator[None]:
        """Redis's own errors, as one line that says what is wrong."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as error:
            raise CabinetUnavailable(f"the hot cabinet's Redis at {shown(self.url)} is not answering ({_one_line(error)})") from None
        except redis.RedisError as error:
            raise CabinetError(f"the hot cabinet's Redis at {shown(self.url)} refused: {_one_line(error)}") from None


def patiently(call: Callable[[], T], stopping: threading.Event, on_wait: Callable[[str], None] = lambda reason: None) -> T:
    """Call until Redis answers: how a role waits out an outage without ever serving an order it could not take for.

    Each CabinetUnavailable is handed to on_wait (its one-line reason, for the screen) and waited
    out, 0.1 s doubling up to LONGEST_WAIT. Trying again is always safe: a take or a trip that did
    happen before the reply was lost is refused the second time, not done twice. If `stopping` is
    set meanwhile, the last CabinetUnavailable is raised: the role stops, and the order stays in Kafka.
    """
    return backing_off(call, CabinetUnavailable, stopping, on_wait, LONGEST_WAIT)


def keep_stocked(
    cabinet: Cabinet,
    every_seconds: float,
    stopping: threading.Event,
    on_cooked: Callable[[dict[str, int]], None] = lambda cooked: None,
    on_wait: Callable[[str], None] = lambda reason: None,
) -> None:
    """The cook's timer, as a thread's target: every few seconds, cook a batch of whatever runs low, until stopping."""
    while not stopping.wait(every_seconds):
        try:
            cooked = patiently(cabinet.top_up, stopping, on_wait)
        except CabinetUnavailable:  # stopping while Redis was away
            return
        if cooked:
            on_cooked(cooked)


def _flat(counts: Mapping[str, int]) -> list[str | int]:
    """Portions as script arguments: item, count, item, count, ..."""
    return [value for item, count in sorted(counts.items()) for value in (item, count)]


def _pairs(flat: list[Any]) -> dict[str, int]:
    return {str(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()).rstrip(".") or type(error).__name__
