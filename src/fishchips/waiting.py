"""Waiting for a condition and retrying a Kafka call: one place for every deadline in the shop.

Built on tenacity, so a loop's deadline, pause and give-up rule are named, not hand-written.
"""

import operator
import threading
from collections.abc import Callable
from typing import TypeVar

from confluent_kafka import KafkaException
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

T = TypeVar("T")


def until(condition: Callable[[], object], timeout: float, every: float = 0.1) -> bool:
    """Poll until the condition holds; False if it still does not after `timeout` seconds."""
    poll = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(every),
        retry=retry_if_result(operator.not_),
        retry_error_callback=lambda state: False,
    )
    return bool(poll(condition))


def retriable(exc: BaseException, also: frozenset[int] = frozenset()) -> bool:
    """Kafka says the call may succeed if made again (a broker restarting, a coordinator moving)."""
    return isinstance(exc, KafkaException) and (exc.args[0].retriable() or exc.args[0].code() in also)


def retrying(call: Callable[[], T], timeout: float, every: float = 0.5, also: frozenset[int] = frozenset()) -> T:
    """The call's result, calling again while Kafka's error is retriable (or its code in `also`), for up to `timeout` s."""
    attempts = Retrying(
        stop=stop_after_delay(timeout), wait=wait_fixed(every), retry=retry_if_exception(lambda exc: retriable(exc, also)), reraise=True
    )
    return attempts(call)


def backing_off(
    call: Callable[[], T],
    failure: type[Exception],
    stopping: threading.Event,
    on_wait: Callable[[str], None],
    longest: float,
) -> T:
    """The call's result, calling again after each `failure` (said to on_wait) 0.1 s later, doubling up to `longest` s.

    No deadline: it waits as long as it must, until `stopping` is set; then the last failure is raised.
    """

    def said(state: RetryCallState) -> None:
        on_wait(str(state.outcome.exception()) if state.outcome else "")

    def nap(seconds: float) -> None:
        stopping.wait(seconds)  # a stop wakes it at once

    attempts = Retrying(
        retry=retry_if_exception_type(failure),
        stop=lambda state: stopping.is_set(),
        wait=wait_exponential(multiplier=0.1, max=longest),
        before_sleep=said,
        sleep=nap,
        reraise=True,
    )
    return attempts(call)
