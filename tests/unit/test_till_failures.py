"""A till's failed delivery, in one sentence that names the idea: what Kafka really answers, not what one might expect."""

from confluent_kafka import KafkaError

from fishchips.roles.till import delivery_failure


def test_a_write_timed_out_names_acks_all_and_the_lost_quorum() -> None:
    sentence = delivery_failure(KafkaError(KafkaError._MSG_TIMED_OUT))
    assert "acks=all" in sentence and "KRaft majority" in sentence and "message.timeout.ms" in sentence


def test_a_write_refused_names_min_insync_replicas() -> None:
    for code in (KafkaError.NOT_ENOUGH_REPLICAS, KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND):
        assert "min.insync.replicas" in delivery_failure(KafkaError(code))


def test_any_other_failure_is_kafkas_own_words() -> None:
    error = KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)
    assert delivery_failure(error) == error.str()
