"""A till that Kafka does not answer: when it stops taking orders, and the sentence that says why."""

import time

import pytest
from confluent_kafka import Producer

from fishchips.controls import BROKER_CONTROLS, CONTROLS
from fishchips.roles import till
from fishchips.roles.till import ACKS, Tickets, Writer, waiting_words


def writer() -> Writer:
    return Writer(Producer({"bootstrap.servers": "127.0.0.1:1"}), "all")  # never connects: only its counts are used


def test_a_writer_is_stuck_only_when_kafka_leaves_its_orders_unanswered(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    held = writer()
    assert not held.stuck()
    held.hold()
    now[0] += till.WAIT_AFTER + 1
    assert held.stuck()  # an order given, no answer since
    held.hold()
    held.heard()
    assert not held.stuck()  # Kafka answered a moment ago, though one order is still held
    now[0] += till.WAIT_AFTER + 1
    held.heard()
    assert held.held == 0 and not held.stuck()  # nothing held: nothing to wait for
    now[0] += till.WAIT_AFTER + 1
    held.hold()
    assert not held.stuck()  # the clock starts with the first order held, not with the last answer


def test_the_waiting_sentence_names_the_idea() -> None:
    careful = waiting_words("all", 4)
    assert careful.startswith("for Kafka: acks=all") and "min.insync.replicas" in careful and "majority" in careful
    assert "its 4 unacknowledged orders" in careful and ". " not in careful  # one sentence
    assert "leader" in waiting_words("1", 2) and "acks=1" in waiting_words("1", 2)


def test_acks_1_says_what_it_risks_and_its_key_is_a_broker_control() -> None:
    assert "lost if that broker dies before the followers copy it" in ACKS["1"]
    (control,) = [c for c in CONTROLS if c.name == "toggle_acks"]
    assert control.key == "a" and "toggle_acks" in BROKER_CONTROLS and control.on_page
    assert len({c.key for c in CONTROLS}) == len(CONTROLS)


def test_a_till_at_rush_hour_draws_its_numbers_in_blocks_that_stop_at_the_limit() -> None:
    tickets = Tickets(250)
    assert [tickets.take_some(100) for _ in range(3)] == [range(1, 101), range(101, 201), range(201, 251)]
    assert tickets.take_some(100) == range(251, 251) and tickets.take() is None
    unlimited = Tickets()
    assert (unlimited.take(), unlimited.take_some(2), unlimited.take()) == (1, range(2, 4), 4)
