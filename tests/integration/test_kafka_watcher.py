"""The Kafka watcher on the real broker: it answers the session's question, and a watcher that
librdkafka aborts (SIGABRT, as after a broker's death: docs/chaos.md) costs the views a
"reconnecting" and nothing more."""

import os
import signal
from collections.abc import Iterator

import pytest
from tests.conftest import wait_for

from fishchips.kafka import clients
from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics, ensure_topics
from fishchips.kafka.watcher import RECONNECTING, KafkaWatcher, Question, Sight

pytestmark = pytest.mark.kafka


@pytest.fixture
def watcher(kafka: ConnectionSettings) -> Iterator[KafkaWatcher]:
    watcher = KafkaWatcher(kafka)
    yield watcher
    watcher.close()


def orders_question(topics: Topics) -> Question:
    return Question((topics.orders,), (), (topics.orders,), (), (), ())


def sees_orders(sight: Sight, topics: Topics) -> bool:
    return sight.kafka is not None and set(sight.kafka.end_offsets.get(topics.orders, {})) == {0, 1} and len(sight.replication.partitions) == 2


def test_the_watcher_answers_the_question_from_a_process_of_its_own(watcher: KafkaWatcher, kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    ensure_topics(clients.admin(kafka), {topics.orders: 2})
    question = orders_question(topics)
    wait_for(lambda: sees_orders(watcher.look(question), topics), 30)
    assert watcher.pid is not None and watcher.pid != os.getpid()
    sight = watcher.look(question)
    assert sight.problem == "" and sight.replication.answered
    assert [(p.topic, p.partition) for p in sight.replication.partitions] == [(topics.orders, 0), (topics.orders, 1)]


def test_an_aborted_watcher_says_reconnecting_and_a_new_one_takes_over(watcher: KafkaWatcher, kafka: ConnectionSettings, prefix: str) -> None:
    topics = Topics(prefix)
    ensure_topics(clients.admin(kafka), {topics.orders: 2})
    question = orders_question(topics)
    wait_for(lambda: sees_orders(watcher.look(question), topics), 30)
    first = watcher.pid
    assert first is not None
    os.kill(first, signal.SIGABRT)  # what librdkafka's failed assertion does
    wait_for(lambda: watcher.pid is None, 10)
    reconnecting = watcher.look(question)  # this look starts the next watcher
    assert reconnecting.kafka is None and reconnecting.problem == RECONNECTING
    assert reconnecting.replication.problem == RECONNECTING and not reconnecting.replication.answered
    wait_for(lambda: sees_orders(watcher.look(question), topics), 30)
    assert watcher.pid not in (None, first)
