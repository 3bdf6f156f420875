"""The Segment-compatible HTTP intake through a real service and the real simulator."""

import gzip
import json
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from heap_destination.api.segment import routes
from heap_destination.app.tokens import parse_tokens
from heap_destination.client import HeapDestinationClient
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.v1 import admin_pb2, admin_pb2_grpc
from tests.conftest import APP_ID
from tests.support import http_client
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import account_updates, tracked_events, user_property_updates
from tests.support.wait import wait_until

KEY = "write-key-0123456789"
OTHER_KEY = "write-key-other-app-0123"


def stored_service(
    start_service: Callable[..., BackgroundService], simulator: HeapSimulator, tmp_path: Path
) -> BackgroundService:
    """A service with its HTTP intake on, a SQLite store, and --app-id for write keys."""
    return start_service(
        base_url=simulator.url,
        app_id=APP_ID,
        http=True,
        store_url=f"sqlite:{tmp_path / 'store.db'}",
    )


def tokens_file_entries() -> str:
    return json.dumps(
        [
            {"token": KEY, "name": "sdk", "app_ids": [APP_ID]},
            {"token": OTHER_KEY, "name": "other", "app_ids": ["999"]},
            {"token": "several-apps-0123456789", "name": "several", "app_ids": [APP_ID, "5"]},
        ]
    )


def post(
    service: BackgroundService,
    path: str,
    body: Any,
    key: str | None = KEY,
    headers: dict[str, str] | None = None,
) -> http_client.Response:
    return http_client.post(
        f"{service.http_url}{path}",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        auth=(key, "") if key is not None else None,
    )


def item(kind: str, n: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": kind, "messageId": f"m-{kind}-{n}", "userId": f"u{n}"}
    if kind == "track":
        base |= {"event": "Signed Up", "properties": {"plan": {"tier": "pro"}}}
    return base | fields


def test_a_batch_of_every_type_reaches_heap_as_the_grpc_calls_would_send_it(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True)
    batch = [
        item("track", 1, context={"traits": {"email": "a@example.com"}}),
        item("page", 2, name="Home", properties={"path": "/"}),
        item("screen", 3, name="Settings"),
        item("identify", 4, traits={"name": "Ada", "address": {"city": "Paris"}}),
        item("group", 5, groupId="acme", traits={"seats": 12}),
        item("alias", 6, previousId="old"),
    ]

    answer = post(service, "/v1/batch", {"batch": batch})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "taken": 5, "aliases": 1}
    events = sorted(tracked_events(simulator.url), key=lambda e: str(e["idempotency_key"]))
    assert [(e["event"], e["identity"], e["properties"]) for e in events] == [
        ("Page viewed", "u2", {"name": "Home", "path": "/"}),
        ("Screen viewed", "u3", {"name": "Settings"}),
        ("Signed Up", "u1", {"plan.tier": "pro"}),
    ]
    assert [e["idempotency_key"] for e in events] == ["m-page-2", "m-screen-3", "m-track-1"]
    users = {u["identity"]: u["properties"] for u in user_property_updates(simulator.url)}
    assert users == {
        "u1": {"email": "a@example.com"},
        "u4": {"name": "Ada", "address.city": "Paris"},
    }
    assert [(a["account_id"], a["properties"]) for a in account_updates(simulator.url)] == [
        ("acme", {"seats": 12})
    ]


def test_the_same_event_through_grpc_and_http_reaches_heap_with_the_same_body(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True)
    properties = {"cart": {"items": [{"sku": "a", "qty": 2}], "total": 9.5}, "n": 3}
    when = "2026-12-07T08:00:00.250Z"
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=10) as client:
        client.track(
            "Bought",
            user_id="u1",
            properties=properties,
            message_id="same",
            timestamp=datetime.fromisoformat(when),
        )
    answer = post(
        service,
        "/v1/track",
        {
            "userId": "u1",
            "event": "Bought",
            "properties": properties,
            "messageId": "same",
            "timestamp": when,
        },
    )

    assert answer.status_code == 200, answer.text
    grpc_event, http_event = tracked_events(simulator.url)
    assert http_event == grpc_event


def test_gzip_bodies_single_routes_and_the_body_write_key_are_taken(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(
        base_url=simulator.url, http=True, tokens=parse_tokens(tokens_file_entries(), "tokens")
    )
    body = gzip.compress(json.dumps({"batch": [item("track", 1)]}).encode())

    zipped = post(service, "/v1/import", body, headers={"content-encoding": "gzip"})
    single = post(
        service, "/v1/identify", {"userId": "u2", "traits": {"a": 1}, "writeKey": KEY}, key=None
    )

    assert (zipped.status_code, single.status_code) == (200, 200), (zipped.text, single.text)
    assert [e["app_id"] for e in tracked_events(simulator.url)] == [APP_ID]
    assert [u["identity"] for u in user_property_updates(simulator.url)] == ["u2"]


def test_missing_wrong_and_unusable_keys_are_401_with_the_reason(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(
        base_url=simulator.url, http=True, tokens=parse_tokens(tokens_file_entries(), "tokens")
    )
    batch = {"batch": [item("track", 1)]}

    answers = [
        post(service, "/v1/batch", batch, key=None),
        post(service, "/v1/batch", batch, key="not-a-known-token-at-all"),
        post(service, "/v1/batch", batch, key="several-apps-0123456789"),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all(a.json()["success"] is False for a in answers)
    assert "no write key" in answers[0].json()["message"]
    assert "several app_ids" in answers[2].json()["message"]
    assert tracked_events(simulator.url) == []


def test_in_stored_mode_a_200_means_committed_and_delivery_follows(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = stored_service(start_service, simulator, tmp_path)

    answer = post(service, "/v1/batch", {"batch": [item("track", n) for n in range(50)]})

    assert answer.status_code == 200, answer.text
    wait_until(lambda: len(tracked_events(simulator.url)) == 50, timeout=15, interval=0.05)
    keys = sorted(str(e["idempotency_key"]) for e in tracked_events(simulator.url))
    assert keys == sorted(f"m-track-{n}" for n in range(50))


@pytest.mark.parametrize("stored", [False, True], ids=["delivered", "stored"])
def test_an_item_without_a_timestamp_reaches_heap_with_the_receive_time(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    tmp_path: Path,
    stored: bool,
) -> None:
    store = {"store_url": f"sqlite:{tmp_path / 'store.db'}"} if stored else {}
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True, **store)
    # Heap's bodies carry milliseconds, cut rather than rounded.
    before = datetime.now(UTC) - timedelta(milliseconds=1)

    answer = post(service, "/v1/batch", {"batch": [item("track", 1), item("page", 2)]})

    after = datetime.now(UTC)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"success": True, "taken": 2}
    wait_until(lambda: len(tracked_events(simulator.url)) == 2, timeout=15, interval=0.05)
    page, track = sorted(tracked_events(simulator.url), key=lambda e: str(e["idempotency_key"]))
    assert before <= datetime.fromisoformat(track["timestamp"]) <= after, track
    # One clock read per request.
    assert page["timestamp"] == track["timestamp"]


def test_healthz_is_200_while_serving(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True)

    answer = http_client.get(f"{service.http_url}/healthz")

    assert answer.status_code == 200


def nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"deeper": value}
    return value


def test_one_bad_item_of_100_is_a_dead_letter_naming_its_field_and_99_are_delivered(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = stored_service(start_service, simulator, tmp_path)
    batch = [item("track", n) for n in range(100)]
    batch[37]["properties"] = {"a": nested(25)}

    answer = post(service, "/v1/batch", {"batch": batch})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["taken"] == 99
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["messageId"]) == (37, "m-track-37")
    assert rejected["reason"].startswith("properties.a.deeper")
    assert "nest at most 20 levels" in rejected["reason"]
    wait_until(lambda: len(tracked_events(simulator.url)) == 99, timeout=15, interval=0.05)
    assert "m-track-37" not in {e["idempotency_key"] for e in tracked_events(simulator.url)}
    with grpc.insecure_channel(service.target) as channel:
        admin = admin_pb2_grpc.DeliveryAdminServiceStub(channel)
        letters = admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(), timeout=5)
        replayed = admin.ReplayDeadLetters(admin_pb2.ReplayDeadLettersRequest(), timeout=5)
        [letter] = letters.dead_letters
        assert letter.message_id == "m-track-37"
        assert letter.last_error.startswith("invalid Segment item: properties.a.deeper")
        assert replayed.replayed == 0
        purged = admin.PurgeDeadLetters(admin_pb2.PurgeDeadLettersRequest(), timeout=5)
        assert purged.purged == 1


def test_a_batch_level_field_of_the_wrong_type_makes_each_item_a_dead_letter_not_a_400(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = stored_service(start_service, simulator, tmp_path)

    answer = post(
        service, "/v1/batch", {"batch": [item("track", 1), item("page", 2)], "context": "x"}
    )

    assert answer.status_code == 200, answer.text
    reason = "context: must be an object, not a string (the batch's)"
    assert answer.json() == {
        "success": True,
        "taken": 0,
        "rejected": [
            {"index": 0, "messageId": "m-track-1", "reason": reason},
            {"index": 1, "messageId": "m-page-2", "reason": reason},
        ],
    }
    with grpc.insecure_channel(service.target) as channel:
        admin = admin_pb2_grpc.DeliveryAdminServiceStub(channel)
        letters = admin.ListDeadLetters(admin_pb2.ListDeadLettersRequest(), timeout=5)
    assert sorted((d.message_id, d.last_error) for d in letters.dead_letters) == [
        ("m-page-2", f"invalid Segment item: {reason}"),
        ("m-track-1", f"invalid Segment item: {reason}"),
    ]
    assert tracked_events(simulator.url) == []


def test_without_a_store_an_invalid_item_is_listed_and_counted(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True)
    before = (
        REGISTRY.get_sample_value("heap_destination_http_items_total", {"outcome": "rejected"})
        or 0.0
    )

    answer = post(service, "/v1/batch", {"batch": [item("track", 1), item("track", 2, event=7)]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == [
        {"index": 1, "messageId": "m-track-2", "reason": "event: must be a string, not a number"}
    ]
    assert [e["idempotency_key"] for e in tracked_events(simulator.url)] == ["m-track-1"]
    after = REGISTRY.get_sample_value("heap_destination_http_items_total", {"outcome": "rejected"})
    assert after == before + 1


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_and_items_are_counted_and_logs_hold_no_values(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = start_service(base_url=simulator.url, app_id=APP_ID, http=True)
    caplog.set_level(logging.DEBUG)
    requests = ("heap_destination_http_requests_total", {"route": "/v1/batch", "status": "200"})
    bad = ("heap_destination_http_requests_total", {"route": "/v1/track", "status": "400"})
    outcomes = ["taken", "rejected", "skipped_integrations", "skipped_no_identity", "alias"]
    before = [sample(*requests), sample(*bad)] + [
        sample("heap_destination_http_items_total", {"outcome": o}) for o in outcomes
    ]
    batch = [
        item("track", 1),
        item("track", 2, properties={"secret": "SECRET-VALUE", "deep": nested(30)}),
        item("track", 3, integrations={"Heap": False}),
        item("track", 4, integrations={"All": False}),
        {"type": "track", "event": "E", "anonymousId": "anon-only", "messageId": "anon"},
        item("alias", 5, previousId="p"),
    ]

    answer = post(service, "/v1/batch", {"batch": batch})
    post(service, "/v1/track", b"{")

    assert answer.status_code == 200, answer.text
    assert answer.json()["skipped"] == {"integrations": 2, "no identity": 1}
    after = [sample(*requests), sample(*bad)] + [
        sample("heap_destination_http_items_total", {"outcome": o}) for o in outcomes
    ]
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1, 2, 1, 1]
    assert "SECRET-VALUE" not in caplog.text
    assert any("Segment items rejected" in r.getMessage() for r in caplog.records)


def test_a_full_store_is_429_with_retry_after_and_nothing_of_the_batch_is_stored(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    simulator.inject(Fault(status=503, seconds=30))
    service = start_service(
        base_url=simulator.url,
        app_id=APP_ID,
        http=True,
        store_url=f"sqlite:{tmp_path / 'store.db'}",
        max_stored_events=5,
    )

    answer = post(service, "/v1/batch", {"batch": [item("track", n) for n in range(10)]})

    assert answer.status_code == 429, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["code"] == "store_full"


def test_heap_out_of_reach_in_delivered_mode_is_503_which_the_sdks_retry(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    simulator.inject(Fault(status=503, seconds=30))
    service = start_service(
        base_url=simulator.url,
        app_id=APP_ID,
        http=True,
        retry=RetryPolicy(initial_backoff=0.01, max_backoff=0.05, delivery_timeout=0.5),
    )

    answer = post(service, "/v1/batch", {"batch": [item("track", 1)]})

    assert answer.status_code == 503, answer.text
    assert answer.json()["success"] is False


def partial_request(service: BackgroundService) -> socket.socket:
    """A request whose body never finishes arriving."""
    port = int(service.http_url.rpartition(":")[2])
    connection = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection.sendall(
        b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Basic a2V5Og==\r\n"
        b'Content-Length: 1000\r\n\r\n{"batch": ['
    )
    return connection


def test_requests_past_the_concurrent_bound_are_429_and_a_slow_body_is_408(
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(routes, "BODY_READ_SECONDS", 1.0)
    service = start_service(
        base_url=simulator.url, app_id=APP_ID, http=True, max_concurrent_calls=1
    )
    batch = {"batch": [item("track", 1)]}

    with partial_request(service) as slow:
        wait_until(lambda: post(service, "/v1/batch", batch).status_code == 429, timeout=10)
        refused = post(service, "/v1/batch", batch)
        answer = slow.recv(65536)

    assert refused.headers["Retry-After"] == "1"
    assert answer.startswith(b"HTTP/1.1 408")
    assert post(service, "/v1/batch", batch).status_code == 200
