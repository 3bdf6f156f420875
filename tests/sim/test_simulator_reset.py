"""`HeapSimulator.reset`: one simulator serves a whole test run, as new for every test."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from heap_destination.sim import HeapSimulator, RateLimits
from heap_destination.sim.faults import Fault
from tests.support.http_client import HttpClient, TransportError
from tests.support.simulator_api import faults
from tests.support.wait import wait_until

TRACK = "/api/track"
AUTH_TOKEN = "/api/public/v0/auth_token"
USER_DELETION = "/api/public/v0/user_deletion"
API_KEY = "reset-api-key"
APP_ID = "11"
ONE_A_MINUTE = RateLimits(events_per_minute_per_app=1, single_events_count_against_app=True)


def track(identity: str = "alice") -> dict[str, Any]:
    return {"app_id": APP_ID, "event": "Signed Up", "identity": identity}


def test_reset_forgets_requests_faults_limits_and_tokens_on_the_same_port() -> None:
    with HeapSimulator(api_key=API_KEY) as simulator:
        url = simulator.url
        with HttpClient(url) as http:
            token = http.post(AUTH_TOKEN, auth=(APP_ID, API_KEY)).json()["access_token"]
            assert http.post(TRACK, json=track()).status_code == 200
        simulator.inject(Fault(status=500, count=5))
        simulator.set_rate_limits(ONE_A_MINUTE)

        simulator.reset()

        assert simulator.url == url
        with HttpClient(simulator.url) as http:
            assert (simulator.accepted(), simulator.attempts()) == ([], [])
            assert http.get("/_sim/faults").json() == []
            assert http.get("/_sim/limits").json() == RateLimits().to_json()
            bearer = {"authorization": f"Bearer {token}"}
            deletion = http.post(USER_DELETION, json={"users": [{"identity": "a"}]}, headers=bearer)
            assert deletion.status_code == 401
            assert [http.post(TRACK, json=track()).status_code for _ in range(2)] == [200, 200]
            assert http.post(AUTH_TOKEN, auth=(APP_ID, API_KEY)).status_code == 200


def test_reset_restores_the_rate_limits_the_simulator_was_created_with() -> None:
    with HeapSimulator(rate_limits=ONE_A_MINUTE) as simulator:
        with HttpClient(simulator.url) as http:
            assert http.post(TRACK, json=track()).status_code == 200
            assert http.post(TRACK, json=track()).status_code == 429
        simulator.set_rate_limits(None)

        simulator.reset()

        with HttpClient(simulator.url) as http:
            assert http.get("/_sim/limits").json() == ONE_A_MINUTE.to_json()
            assert http.post(TRACK, json=track()).status_code == 200
            assert http.post(TRACK, json=track()).status_code == 429


def test_a_request_answered_across_a_reset_is_not_recorded_after_it() -> None:
    with HeapSimulator() as simulator, ThreadPoolExecutor(max_workers=1) as pool:
        simulator.inject(Fault(latency_ms=1_000))

        def send() -> int | None:
            with HttpClient(simulator.url, timeout=10) as http:
                try:
                    return http.post(TRACK, json=track()).status_code
                except TransportError:
                    return None

        held = pool.submit(send)
        # The fault is used up once the request is being held by it.
        wait_until(lambda: faults(simulator.url) == [], timeout=10, interval=0.01)
        simulator.reset()
        assert held.result() in (200, None)

        assert (simulator.accepted(), simulator.attempts()) == ([], [])


@pytest.mark.parametrize("identity", ["before", "after"])
def test_the_shared_simulator_starts_every_test_empty(
    simulator: HeapSimulator, identity: str
) -> None:
    assert (simulator.accepted(), simulator.attempts()) == ([], [])
    with HttpClient(simulator.url) as http:
        assert http.post(TRACK, json=track(identity)).status_code == 200
    simulator.inject(Fault(status=503, count=100))
    simulator.set_rate_limits(ONE_A_MINUTE)
