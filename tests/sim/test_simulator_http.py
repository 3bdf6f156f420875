import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from heap_destination.sim import HeapSimulator, RateLimits
from heap_destination.sim.faults import Fault
from tests.support.http_client import HttpClient, TransportError

TRACK = "/api/track"


def track(identity: str = "alice", **fields: Any) -> dict[str, Any]:
    return {"app_id": "11", "event": "Signed Up", "identity": identity, **fields}


@pytest.fixture
def client(simulator: HeapSimulator) -> Iterator[HttpClient]:
    with HttpClient(simulator.url, timeout=10) as http:
        yield http


def test_url_names_the_port_picked(simulator: HeapSimulator) -> None:
    assert simulator.url.startswith("http://127.0.0.1:")
    assert not simulator.url.endswith(":0")


def test_health(client: HttpClient) -> None:
    response = client.get("/_sim/health")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_accepted_request_is_answered_and_recorded(client: HttpClient) -> None:
    response = client.post(TRACK, json=track())
    assert (response.status_code, response.json()) == (200, {})
    assert client.get("/_sim/requests").json() == [{"path": TRACK, "body": track()}]


def test_each_heap_endpoint_accepts_a_valid_body(
    client: HttpClient, simulator: HeapSimulator
) -> None:
    bodies = {
        "/api/add_user_properties": {"app_id": "11", "identity": "a", "properties": {"p": 1}},
        "/api/v1/identify": {"app_id": "11", "identity": "a", "user_id": "42"},
        "/api/add_account_properties": {"app_id": "11", "account_id": "x", "properties": {}},
    }
    for path, body in bodies.items():
        assert client.post(path, json=body).status_code == 200
    assert [(request.path, request.body) for request in simulator.accepted()] == list(
        bodies.items()
    )


def test_bad_request_is_answered_400_with_the_reason_and_not_recorded(
    client: HttpClient,
) -> None:
    response = client.post(TRACK, json=track(identity="i" * 256, colour="red"))
    assert response.status_code == 400
    assert response.json() == {
        "error": "identity: must be 1..255 characters; colour: unknown field"
    }
    assert client.get("/_sim/requests").json() == []
    [attempt] = client.get("/_sim/attempts").json()
    assert attempt["status"] == 400


def test_body_that_is_not_json_is_answered_400(client: HttpClient) -> None:
    response = client.post(TRACK, content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("body: not valid JSON")
    assert client.get("/_sim/attempts").json() == [{"path": TRACK, "body": None, "status": 400}]


def test_body_that_is_not_an_object_is_answered_400(client: HttpClient) -> None:
    response = client.post(TRACK, json=[track()])
    assert (response.status_code, response.json()) == (
        400,
        {"error": "body: must be a JSON object"},
    )


def test_unknown_path_is_answered_404(client: HttpClient) -> None:
    assert client.post("/api/nope", json=track()).status_code == 404


def test_wrong_method_is_answered_405(client: HttpClient) -> None:
    response = client.get(TRACK)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert client.put("/_sim/requests").status_code == 405


def test_clear_forgets_requests_and_attempts(client: HttpClient) -> None:
    client.post(TRACK, json=track())
    response = client.delete("/_sim/requests")
    assert (response.status_code, response.content) == (204, b"")
    assert client.get("/_sim/requests").json() == []
    assert client.get("/_sim/attempts").json() == []


def test_faults_fail_requests_then_expire_and_attempts_show_the_retries(
    client: HttpClient,
) -> None:
    fault = {"status": 500, "count": 2, "retry_after": "1"}
    assert client.post("/_sim/faults", json=fault).status_code == 204
    body = track(idempotency_key="key-1")
    responses = [client.post(TRACK, json=body) for _ in range(3)]
    assert [response.status_code for response in responses] == [500, 500, 200]
    assert responses[0].json() == {"error": "injected fault"}
    assert responses[0].headers["Retry-After"] == "1"
    attempts = client.get("/_sim/attempts").json()
    assert [attempt["status"] for attempt in attempts] == [500, 500, 200]
    assert {attempt["body"]["idempotency_key"] for attempt in attempts} == {"key-1"}
    assert client.get("/_sim/requests").json() == [{"path": TRACK, "body": body}]


def test_fault_limited_to_a_path_spares_other_paths(client: HttpClient) -> None:
    client.post("/_sim/faults", json={"status": 503, "path": "/api/v1/identify"})
    assert client.post(TRACK, json=track()).status_code == 200
    identify = {"app_id": "11", "identity": "a", "user_id": "1"}
    assert client.post("/api/v1/identify", json=identify).status_code == 503


def test_bad_fault_is_answered_400(client: HttpClient) -> None:
    response = client.post("/_sim/faults", json={"count": 2})
    assert response.status_code == 400
    assert "at least one of status" in response.json()["error"]


def test_faults_can_be_listed_and_cleared(client: HttpClient) -> None:
    client.post("/_sim/faults", json={"status": 500, "count": 3})
    [listed] = client.get("/_sim/faults").json()
    assert (listed["status"], listed["remaining"]) == (500, 3)
    assert client.delete("/_sim/faults").status_code == 204
    assert client.get("/_sim/faults").json() == []
    assert client.post(TRACK, json=track()).status_code == 200


def test_dropped_connection_is_a_transport_error(client: HttpClient) -> None:
    client.post("/_sim/faults", json={"drop_connection": True})
    with pytest.raises(TransportError):
        client.post(TRACK, json=track())
    assert client.get("/_sim/attempts").json() == [{"path": TRACK, "body": track(), "status": None}]
    assert client.post(TRACK, json=track()).status_code == 200


def test_latency_delays_the_answer(client: HttpClient) -> None:
    client.post("/_sim/faults", json={"latency_ms": 200})
    started = time.monotonic()
    response = client.post(TRACK, json=track())
    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert len(client.get("/_sim/requests").json()) == 1


def test_probability_fault_hits_roughly_that_share(client: HttpClient) -> None:
    client.post("/_sim/faults", json={"status": 500, "probability": 0.3, "random_seed": 7})
    statuses = [client.post(TRACK, json=track()).status_code for _ in range(200)]
    assert 30 <= statuses.count(500) <= 90
    assert statuses.count(500) + statuses.count(200) == 200


def test_rate_limit_answers_429_with_retry_after(client: HttpClient) -> None:
    assert client.post("/_sim/limits", json={"requests_per_30s_per_identity": 2}).status_code == 204
    statuses = [client.post(TRACK, json=track()).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.post(TRACK, json=track())
    assert response.json() == {"error": "rate limit exceeded: requests_per_30s_per_identity"}
    assert int(response.headers["Retry-After"]) >= 1
    assert len(client.get("/_sim/requests").json()) == 2
    assert client.post(TRACK, json=track("bob")).status_code == 200


def test_rejected_request_does_not_count_toward_the_limit(client: HttpClient) -> None:
    client.post("/_sim/limits", json={"events_per_minute_per_app": 1})
    assert client.post(TRACK, json=track(event="")).status_code == 400
    assert client.post(TRACK, json=track()).status_code == 200


def test_limits_can_be_shown_and_turned_off(client: HttpClient) -> None:
    client.post("/_sim/limits", json={"events_per_minute_per_app": 1})
    assert client.get("/_sim/limits").json()["events_per_minute_per_app"] == 1
    assert client.delete("/_sim/limits").status_code == 204
    assert [client.post(TRACK, json=track()).status_code for _ in range(3)] == [200] * 3


def test_bad_limits_are_answered_400(client: HttpClient) -> None:
    response = client.post("/_sim/limits", json={"events_per_hour": 1})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "events_per_hour: unknown field"},
    )


def test_rate_limits_can_be_set_by_the_constructor() -> None:
    limits = RateLimits(events_per_minute_per_app=1, single_events_count_against_app=True)
    with (
        HeapSimulator(rate_limits=limits) as simulator,
        HttpClient(simulator.url) as http,
    ):
        assert http.post(TRACK, json=track()).status_code == 200
        assert http.post(TRACK, json=track("bob")).status_code == 429


def test_python_accessors(simulator: HeapSimulator, client: HttpClient) -> None:
    simulator.inject(Fault(status=502))
    assert client.post(TRACK, json=track()).status_code == 502
    assert client.post(TRACK, json=track()).status_code == 200
    assert [attempt.status for attempt in simulator.attempts()] == [502, 200]
    assert [request.body for request in simulator.accepted()] == [track()]
    simulator.clear()
    assert simulator.accepted() == []
    assert simulator.attempts() == []


def test_stop_closes_kept_alive_connections() -> None:
    simulator = HeapSimulator().start()
    with HttpClient(simulator.url) as http:
        assert http.get("/_sim/health").status_code == 200
        simulator.stop()
        with pytest.raises(TransportError):
            http.get("/_sim/health")


def test_concurrent_clients_are_all_recorded(simulator: HeapSimulator) -> None:
    def send_many(identity: str) -> list[int]:
        with HttpClient(simulator.url, timeout=10) as http:
            return [http.post(TRACK, json=track(identity)).status_code for _ in range(25)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for batch in pool.map(send_many, "abcdefgh") for status in batch]
    assert statuses == [200] * 200
    assert len(simulator.accepted()) == len(simulator.attempts()) == 200
