"""The simulator's user deletion API over HTTP: auth_token, user_deletion, deletion_status."""

from collections.abc import Iterator

import pytest

from heap_destination.sim import HeapSimulator
from heap_destination.sim.deletion_validation import MAX_DELETION_USERS
from heap_destination.sim.faults import Fault
from tests.support.http_client import HttpClient

API_KEY = "sim-api-key-7f3a9c"
APP_ID = "1234567890"
AUTH_TOKEN = "/api/public/v0/auth_token"
USER_DELETION = "/api/public/v0/user_deletion"
DELETION_STATUS = "/api/public/v0/deletion_status"


@pytest.fixture
def simulator() -> Iterator[HeapSimulator]:
    with HeapSimulator(api_key=API_KEY) as running:
        yield running


@pytest.fixture
def http(simulator: HeapSimulator) -> Iterator[HttpClient]:
    with HttpClient(simulator.url, timeout=10) as client:
        yield client


def token(http: HttpClient, app_id: str = APP_ID) -> str:
    response = http.post(AUTH_TOKEN, auth=(app_id, API_KEY))
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    assert isinstance(access_token, str)
    return access_token


def bearer(access_token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {access_token}"}


def test_auth_token_takes_the_app_id_and_the_api_key_as_basic_auth(
    http: HttpClient, simulator: HeapSimulator
) -> None:
    response = http.post(AUTH_TOKEN, auth=(APP_ID, API_KEY))

    assert response.status_code == 200
    assert set(response.json()) == {"access_token"}
    [accepted] = simulator.accepted()
    assert (accepted.path, accepted.body) == (AUTH_TOKEN, {"app_id": APP_ID})


@pytest.mark.parametrize(
    "auth",
    [(APP_ID, "wrong-key"), ("not-a-number", API_KEY), None],
    ids=["wrong key", "bad app_id", "no basic auth"],
)
def test_auth_token_refuses_other_credentials_with_401(
    http: HttpClient, simulator: HeapSimulator, auth: tuple[str, str] | None
) -> None:
    response = http.post(AUTH_TOKEN, auth=auth) if auth else http.post(AUTH_TOKEN)

    assert response.status_code == 401
    assert "err" in response.json()
    assert API_KEY not in response.text
    assert simulator.accepted() == []
    assert [attempt.status for attempt in simulator.attempts()] == [401]


def test_without_an_api_key_the_simulator_refuses_every_auth_token() -> None:
    with HeapSimulator() as keyless, HttpClient(keyless.url) as http:
        response = http.post(AUTH_TOKEN, auth=(APP_ID, "anything"))

    assert response.status_code == 401
    assert "HEAP_SIMULATOR_API_KEY" in response.json()["err"]


def test_user_deletion_takes_identities_and_user_ids_and_answers_a_request_id(
    http: HttpClient, simulator: HeapSimulator
) -> None:
    body = {"users": [{"identity": "alice@example.com"}, {"user_id": "42"}, {"user_id": 7}]}

    response = http.post(USER_DELETION, json=body, headers=bearer(token(http)))

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "pending" and answer["deletion_request_id"]
    assert [(r.path, r.body) for r in simulator.accepted()][1:] == [(USER_DELETION, body)]


def test_user_deletion_takes_10000_users_and_refuses_more_with_400(http: HttpClient) -> None:
    headers = bearer(token(http))
    users = [{"identity": f"user-{n}"} for n in range(MAX_DELETION_USERS + 1)]

    assert http.post(USER_DELETION, json={"users": users[:-1]}, headers=headers).is_success
    response = http.post(USER_DELETION, json={"users": users}, headers=headers)

    assert response.status_code == 400
    assert f"at most {MAX_DELETION_USERS}" in response.json()["err"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "users: required"),
        ({"users": []}, "users: must not be empty"),
        ({"users": [{"identity": "a", "user_id": "1"}]}, "exactly one of identity or user_id"),
        ({"users": [{"identity": ""}]}, "users[0].identity: must be 1..255 characters"),
        ({"users": [{"user_id": "12a"}]}, "users[0].user_id: must be a number"),
        ({"users": [{"user_id": 2**53}]}, "users[0].user_id: must be in 0.."),
        ({"users": [{"email": "a"}]}, "users[0].email: unknown field"),
        ({"users": [], "app_id": "1"}, "app_id: unknown field"),
    ],
)
def test_user_deletion_refuses_bad_bodies_with_400_naming_the_field(
    http: HttpClient, body: dict[str, object], problem: str
) -> None:
    response = http.post(USER_DELETION, json=body, headers=bearer(token(http)))

    assert response.status_code == 400
    assert problem in response.json()["err"]


@pytest.mark.parametrize("authorization", ["", "Bearer unknown-token", "Basic abc"])
def test_user_deletion_and_status_need_a_token_auth_token_issued(
    http: HttpClient, authorization: str
) -> None:
    headers = {"authorization": authorization} if authorization else {}

    deletion = http.post(USER_DELETION, json={"users": [{"identity": "a"}]}, headers=headers)
    status = http.get(f"{DELETION_STATUS}/some-id", headers=headers)

    assert (deletion.status_code, status.status_code) == (401, 401)


def test_deletion_status_reports_a_request_of_the_tokens_app_only(http: HttpClient) -> None:
    headers = bearer(token(http))
    taken = http.post(USER_DELETION, json={"users": [{"identity": "a"}]}, headers=headers)
    request_id = taken.json()["deletion_request_id"]

    status = http.get(f"{DELETION_STATUS}/{request_id}", headers=headers)
    other_app = http.get(f"{DELETION_STATUS}/{request_id}", headers=bearer(token(http, "99")))
    unknown = http.get(f"{DELETION_STATUS}/no-such-request", headers=headers)

    assert status.status_code == 200
    assert status.json() == {"deletion_request_id": request_id, "status": "pending"}
    assert (other_app.status_code, unknown.status_code) == (404, 404)


def test_each_endpoint_answers_405_to_another_method(http: HttpClient) -> None:
    assert http.get(AUTH_TOKEN).status_code == 405
    assert http.get(USER_DELETION).status_code == 405
    assert http.post(f"{DELETION_STATUS}/x").status_code == 405


def test_faults_naming_a_deletion_path_apply_to_it(
    http: HttpClient, simulator: HeapSimulator
) -> None:
    headers = bearer(token(http))
    simulator.inject(Fault(status=503, path=USER_DELETION, retry_after="2"))

    failed = http.post(USER_DELETION, json={"users": [{"identity": "a"}]}, headers=headers)
    retried = http.post(USER_DELETION, json={"users": [{"identity": "a"}]}, headers=headers)

    assert (failed.status_code, failed.headers["retry-after"]) == (503, "2")
    assert retried.status_code == 200
