"""The web server through Starlette's TestClient, with a real shop on the session's broker: tokens, refusals, controls."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient
from tests.conftest import wait_for

from fishchips.kafka.settings import ConnectionSettings
from fishchips.kafka.topics import Topics
from fishchips.roles.till import ACKS
from fishchips.scenarios import SCENARIOS
from fishchips.stores.cabinet import Cabinet
from fishchips.web.live import LiveShop
from fishchips.web.server import MAX_BODY, TOKEN_HEADER, create_app

pytestmark = pytest.mark.kafka
TOKEN = "s3cret-token"
AUTH = {TOKEN_HEADER: TOKEN}


@pytest.fixture(scope="module")
def client(kafka: ConnectionSettings) -> Iterator[TestClient]:
    """One live demo3 shop for the module, its controls behind a token."""
    live = LiveShop(SCENARIOS["demo3"], kafka, Topics(f"w{uuid.uuid4().hex[:8]}"))
    with TestClient(create_app(live, token=TOKEN)) as client:
        wait_for(lambda: client.get("/api/state").json()["status"] == "open", timeout=60)
        yield client


def state(client: TestClient) -> dict:
    return client.get("/api/state").json()


def preparers(client: TestClient) -> list[str]:
    return [m["name"] for m in state(client)["members"] if m["kind"] == "preparer" and m["running"]]


def test_the_page_and_its_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text and "/static/style.css" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from outside: it works offline
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert client.get("/static/style.css").status_code == 200


def test_watching_needs_no_token(client: TestClient) -> None:
    snapshot = state(client)
    assert snapshot["scenario"]["name"] == "demo3"
    assert snapshot["partitions"] == 3
    assert {c["key"] for c in snapshot["controls"]} == set("tpslcrfdn")  # the terminal app's keys
    assert snapshot["cabinet"] is None  # demo3 has no hot cabinet
    wait_for(lambda: state(client)["counts"].get("called", 0) > 0, timeout=30)


@pytest.mark.parametrize(
    ("headers", "reason"), [({}, "need the token"), ({TOKEN_HEADER: "wrong"}, "need the token"), ({**AUTH, "Origin": "http://evil.example"}, "another site")]
)
def test_controls_are_refused_without_the_token_or_from_another_site(client: TestClient, headers: dict, reason: str) -> None:
    refused = client.post("/api/control/faster", json={}, headers=headers)
    assert refused.status_code == 403
    assert reason in refused.json()["error"]


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "reason"),
    [
        ("/api/control/faster", {"content": b"{}"}, 415, "as JSON"),
        ("/api/control/faster", {"content": b"{", "headers": {"Content-Type": "application/json"}}, 400, "not valid JSON"),
        ("/api/control/faster", {"json": [1]}, 400, "JSON object"),
        ("/api/control/faster", {"json": {"x": "y" * MAX_BODY}}, 413, "at most"),
        ("/api/control/rm -rf", {"json": {}}, 404, "no control"),
        ("/api/scenario", {"json": {"name": "../../etc/passwd"}}, 400, "no scenario"),
        ("/api/order", {"json": {"key": ""}}, 400, "the key must be"),
        ("/api/order", {"json": {"key": "a\nb"}}, 400, "the key must be"),
        ("/api/order", {"json": {"key": 5}}, 400, "the key must be"),
        ("/api/rewind", {"json": {"group": "__consumer_offsets"}}, 400, "no group"),
        ("/api/rewind", {"json": {"group": "preparers", "to": "soon"}}, 400, "ISO 8601"),
        ("/api/rewind", {"json": {"group": "preparers", "to": "2026-01-01T00:00:00"}}, 400, "no time zone"),
        ("/api/lesson/step", {"json": {"step": "two"}}, 400, "as a number"),
        ("/api/lesson/step", {"json": {"step": 2}}, 409, "follows no lesson: start it with `fishchips web --lesson N`"),
        ("/api/lesson/action", {"json": {}}, 409, "follows no lesson"),
    ],
)
def test_bad_requests_get_a_reason(client: TestClient, path: str, kwargs: dict, status: int, reason: str) -> None:
    headers = {**AUTH, **kwargs.pop("headers", {})}
    answer = client.post(path, headers=headers, **kwargs)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]


@pytest.mark.parametrize("path", ["/nothing", "/static/../server.py", "/static/nothere.js"])
def test_unknown_paths_are_404_with_a_reason(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert answer.json()["error"]


def test_controls_change_the_shop(client: TestClient) -> None:
    before = preparers(client)
    added = client.post("/api/control/add_preparer", json={}, headers=AUTH)
    assert added.status_code == 200 and "joins the preparers' group" in added.json()["done"]
    wait_for(lambda: len(preparers(client)) == len(before) + 1, timeout=10)
    assert client.post("/api/control/stop_preparer", json={}, headers=AUTH).status_code == 200
    wait_for(lambda: len(preparers(client)) == len(before), timeout=30)

    assert client.post("/api/control/faster", json={}, headers=AUTH).json()["done"] == "speed x2"
    assert client.post("/api/control/slower", json={}, headers=AUTH).json()["done"] == "speed x1"
    assert state(client)["speed"] == 1.0

    no_cook = client.post("/api/control/toggle_cook", json={}, headers=AUTH)
    assert no_cook.status_code == 409 and "has no cook" in no_cook.json()["error"]
    no_cabinet = client.post("/api/control/restock", json={}, headers=AUTH)
    assert no_cabinet.status_code == 409 and "has no hot cabinet" in no_cabinet.json()["error"]
    one_broker = client.post("/api/control/toggle_acks", json={}, headers=AUTH)  # absent from the page, and refused with the reason
    assert one_broker.status_code == 409 and "acks=1 and acks=all are the same" in one_broker.json()["error"]
    assert state(client)["acks"] == {"setting": "all", "said": ACKS["all"]}

    late = client.post("/api/control/late_consumer", json={}, headers=AUTH)
    assert late.status_code == 200
    # it reads from offset 0; a new group on a loaded CI machine has taken over 30 s to join (as in the terminal app's test)
    wait_for(lambda: sum(state(client)["late"].get("late-1", {}).values()) > 0, timeout=60)


def test_the_same_key_lands_in_the_same_partition(client: TestClient) -> None:
    first = client.post("/api/order", json={"key": "bob"}, headers=AUTH).json()
    second = client.post("/api/order", json={"key": "bob"}, headers=AUTH).json()
    assert first["partition"] == second["partition"]
    assert second["offset"] > first["offset"]
    assert second["partitions_for_key"] == [first["partition"]]
    assert state(client)["keys"]["bob"] == {"partitions": [first["partition"]], "orders": 2}


def test_rewinding_the_accountant_to_a_time_says_what_happens(client: TestClient) -> None:
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    answer = client.post("/api/rewind", json={"group": "accountant", "to": an_hour_ago}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    rewound = answer.json()
    assert rewound["offsets"] == {"0": 0, "1": 0, "2": 0}  # the shop's topics are younger than an hour
    assert rewound["restarted"] == 1
    assert "nothing is booked twice" in state(client)["notices"][0]["text"]
    wait_for(lambda: any(m["name"] == "accountant" and m["running"] for m in state(client)["members"]), timeout=10)


def test_demo5s_hot_cabinet_is_on_the_page_as_redis_has_it(kafka: ConnectionSettings, redis_url: str) -> None:
    """The cabinet's stock, cooked and served, read from the session's Redis; `r` restocks it by hand."""
    topics = Topics(f"w{uuid.uuid4().hex[:8]}")
    live = LiveShop(SCENARIOS["demo5"], kafka, topics, speed=4, redis=redis_url)
    with TestClient(create_app(live, token=TOKEN)) as client:
        wait_for(lambda: state(client)["status"] == "open" and state(client)["cabinet"] is not None, timeout=60)
        wait_for(lambda: sum(state(client)["cabinet"]["served"].values()) > 0, timeout=60)  # portions taken by the preparers
        cabinet = Cabinet(redis_url, topics.prefix)
        try:
            in_redis = cabinet.state()
        finally:
            cabinet.close()
        page = state(client)["cabinet"]
        assert page["balanced"] is True and set(page["stock"]) == set(in_redis.stock) == {"chips", "cod", "plaice"}
        assert page["orders_taken"] <= in_redis.orders_taken  # the page's look is at most a second old

        cooked_before = in_redis.cooked
        restocked = client.post("/api/control/restock", json={}, headers=AUTH)
        assert restocked.status_code == 200 and restocked.json()["done"].startswith("restocked by hand")
        said = restocked.json()["done"].partition(": ")[2]
        added = {item: int(count) for count, item in (part.split() for part in said.split(", "))} if said[0].isdigit() else {}
        # the page reads Redis once a second: within a few, it shows at least what the restock cooked
        wait_for(lambda: all(state(client)["cabinet"]["cooked"][i] >= cooked_before[i] + n for i, n in added.items()), timeout=10)


def test_demo6_shows_both_groups_with_each_preparers_served_count(kafka: ConnectionSettings) -> None:
    """The page's snapshot lists the consumer group and the share group, each member with what it served."""
    live = LiveShop(SCENARIOS["demo6"], kafka, Topics(f"w{uuid.uuid4().hex[:8]}"), speed=4)
    with TestClient(create_app(live, token=TOKEN)) as client:

        def busy() -> list[int]:
            return [sum(1 for served in group["served"].values() if served) for group in state(client)["groups"]]

        wait_for(lambda: busy() == [2, 4], timeout=90)  # the consumer group: one member per partition; the share group: all four
        groups = state(client)["groups"]
        assert [(group["kind"], len(group["served"])) for group in groups] == [("consumer group", 4), ("share group", 4)]
        assert "S" in {c["key"] for c in state(client)["controls"]}  # stop a share preparer: only where there is a share group
        assert set(state(client)["lending"]) == {"held", "relent"}  # the records in flight, as the members say
