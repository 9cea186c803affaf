"""`apart`: a call in a process of its own, whose death (as librdkafka's abort) is one clear error, never the caller's."""

import functools
import operator
import os

import pytest

from fishchips.errors import FishchipsError
from fishchips.spawning import apart


def test_a_call_apart_gives_its_result_back() -> None:
    assert apart(functools.partial(operator.add, 2, 3)) == 5


def test_a_call_apart_raises_its_own_error_here() -> None:
    with pytest.raises(ZeroDivisionError):
        apart(functools.partial(operator.truediv, 1, 0))


def test_a_process_aborted_every_time_is_one_clear_error() -> None:
    with pytest.raises(FishchipsError, match="3 processes in a row died"):
        apart(os.abort)  # what librdkafka's failed assertion does to the process it is in
