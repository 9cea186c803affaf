"""What the local port of the embedded broker speaks, read off how it was started."""

import json
from dataclasses import asdict

import pytest

from fishchips.broker.embedded import BrokerState


def state(**how: bool) -> BrokerState:
    return BrokerState(1, 9092, 9093, "4.4.0", "Java 17", 0.0, **how)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("how", "protocol"),
    [
        ({}, "PLAINTEXT"),
        ({"tls": True}, "PLAINTEXT"),
        ({"tls": True, "sasl": True}, "SASL_PLAINTEXT"),
        ({"tls": True, "sasl": True, "plaintext": True}, "PLAINTEXT"),
    ],
)
def test_only_a_sasl_broker_wants_a_login_on_the_local_port_unless_started_plaintext(how: dict[str, bool], protocol: str) -> None:
    assert state(**how).local_protocol == protocol


def test_how_it_was_started_survives_the_state_file() -> None:
    started = state(tls=True, sasl=True, plaintext=True)
    assert BrokerState(**json.loads(json.dumps(asdict(started)))) == started


def test_a_state_file_from_before_says_open() -> None:
    """A broker started by an older fishchips had its local port open: read as such, not as a SASL port."""
    old = {k: v for k, v in asdict(state(tls=True, sasl=True)).items() if k not in ("tls", "sasl", "plaintext")}
    assert BrokerState(**old).local_protocol == "PLAINTEXT"
