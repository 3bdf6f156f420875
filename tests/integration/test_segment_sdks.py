"""The real Segment SDKs against the service's Segment-compatible HTTP intake.

`segment-analytics-python` (pinned in the dev extra) runs in this process and
`@segment/analytics-node` (pinned in tests/sdks/node/package-lock.json) runs under node; each
points its host option at the intake, unchanged otherwise. Each sends a track with nested
properties and `context.traits`, an identify, a page, a screen and a group, and the simulator
must then hold each as Heap's flattening rules say; Heap's flattening example sent through
each SDK must reach Heap with the same body as through gRPC.
"""

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from segment.analytics import Client

from heap_destination.app.tokens import parse_tokens
from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID
from tests.integration.test_track_delivery import FLATTENING_EXAMPLE
from tests.support import http_client
from tests.support.background_service import BackgroundService
from tests.support.client_programs import npm_installed
from tests.support.durable import clear_faults
from tests.support.simulator_api import (
    accepted,
    account_updates,
    inject_fault,
    tracked_events,
    user_property_updates,
)
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
NODE_SDK = REPO / "tests" / "sdks" / "node"
WRITE_KEY = "any-key-without-a-tokens-file"
WHEN = "2026-12-07T08:00:00.000Z"


@dataclass(frozen=True)
class Call:
    """One SDK call, in the SDKs' own (camelCase) parameter names."""

    method: str
    params: dict[str, Any]


CALLS = [
    Call(
        "track",
        {
            "userId": "user-1",
            "event": "Order Completed",
            "properties": {
                "order": {"id": "o-1", "items": [{"qty": 2, "sku": "A"}], "total": 19.5},
                "coupon": "WELCOME",
            },
            "context": {"traits": {"email": "ada@example.com", "plan": {"name": "pro"}}},
            "messageId": "track-1",
            "timestamp": WHEN,
        },
    ),
    Call(
        "identify",
        {
            "userId": "user-1",
            "traits": {"name": "Ada", "address": {"city": "Zürich"}},
            "messageId": "identify-1",
            "timestamp": WHEN,
        },
    ),
    Call(
        "page",
        {
            "userId": "user-1",
            "name": "Pricing",
            "properties": {"path": "/pricing"},
            "messageId": "page-1",
            "timestamp": WHEN,
        },
    ),
    Call(
        "screen",
        {
            "userId": "user-1",
            "name": "Settings",
            "properties": {"tab": {"name": "billing"}},
            "messageId": "screen-1",
            "timestamp": WHEN,
        },
    ),
    Call(
        "group",
        {
            "userId": "user-1",
            "groupId": "acme",
            "traits": {"plan": "enterprise", "seats": {"used": 40}},
            "messageId": "group-1",
            "timestamp": WHEN,
        },
    ),
]

EXPECTED_EVENTS = [
    {
        "app_id": APP_ID,
        "identity": "user-1",
        "event": "Order Completed",
        "properties": {
            "order.id": "o-1",
            "order.items": '[{"qty":2,"sku":"A"}]',
            "order.total": 19.5,
            "coupon": "WELCOME",
        },
        "idempotency_key": "track-1",
        "timestamp": WHEN,
    },
    {
        "app_id": APP_ID,
        "identity": "user-1",
        "event": "Page viewed",
        "properties": {"name": "Pricing", "path": "/pricing"},
        "idempotency_key": "page-1",
        "timestamp": WHEN,
    },
    {
        "app_id": APP_ID,
        "identity": "user-1",
        "event": "Screen viewed",
        "properties": {"name": "Settings", "tab.name": "billing"},
        "idempotency_key": "screen-1",
        "timestamp": WHEN,
    },
]
EXPECTED_USERS = [
    # the track's context.traits, then the identify's traits
    {
        "app_id": APP_ID,
        "identity": "user-1",
        "properties": {"email": "ada@example.com", "plan.name": "pro"},
    },
    {
        "app_id": APP_ID,
        "identity": "user-1",
        "properties": {"name": "Ada", "address.city": "Zürich"},
    },
]
EXPECTED_ACCOUNTS = [
    {"app_id": APP_ID, "account_id": "acme", "properties": {"plan": "enterprise", "seats.used": 40}}
]


def send_with_python(http_url: str, calls: list[Call], write_key: str = WRITE_KEY) -> list[str]:
    """Sends the calls through analytics-python as its README shows, with gzip on (its
    `gzip` option; it is off by default), and returns the errors it reported (none when the
    intake took every batch)."""
    errors: list[str] = []
    client = Client(
        write_key,
        host=http_url,
        gzip=True,
        max_retries=2,
        on_error=lambda error, batch: errors.append(f"{error} ({len(batch)} items)"),
    )
    for call in calls:
        getattr(client, call.method)(**python_arguments(call.params))
    client.shutdown()  # flushes the queue, then stops the consumer thread
    return errors


def python_arguments(params: dict[str, Any]) -> dict[str, Any]:
    """The SDK's camelCase parameters as analytics-python's snake_case keyword arguments."""
    names = {"userId": "user_id", "groupId": "group_id", "messageId": "message_id"}
    arguments = {names.get(name, name): value for name, value in params.items()}
    if "timestamp" in arguments:
        arguments["timestamp"] = datetime.fromisoformat(arguments["timestamp"])
    return arguments


def send_with_node(http_url: str, calls: list[Call]) -> list[str]:
    """Sends the calls through @segment/analytics-node (tests/sdks/node/send.js: `host` is
    the intake, every call in one batch) and returns the errors its callbacks reported."""
    node = shutil.which("node")
    assert node is not None
    spec = {
        "host": http_url,
        "writeKey": WRITE_KEY,
        "calls": [{"method": call.method, "params": call.params} for call in calls],
    }
    run = subprocess.run(
        [node, str(NODE_SDK / "send.js")],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"send.js exited {run.returncode}:\n{run.stderr}"
    summary = json.loads(run.stdout)
    assert [answer["status"] for answer in summary["answers"]] == [200], summary
    return [error for error in summary["errors"] if error is not None]


Sender = Callable[[str, list[Call]], list[str]]


@pytest.fixture(params=["analytics-python", "analytics-node"])
def send(request: pytest.FixtureRequest) -> Sender:
    if request.param == "analytics-node":
        npm_installed(NODE_SDK, "Segment analytics-node SDK")
        return send_with_node
    return send_with_python


def test_each_call_of_the_sdk_reaches_heap_as_the_flattening_rules_say(
    send: Sender,
    simulator: HeapSimulator,
    start_service: Callable[..., BackgroundService],
    tmp_path: Path,
) -> None:
    service = start_service(
        http=True,
        store_url=f"sqlite:{tmp_path / 'store.db'}",
        base_url=simulator.url,
        app_id=APP_ID,
    )

    assert send(service.http_url, CALLS) == []

    wait_until(
        lambda: (
            len(tracked_events(simulator.url)) >= len(EXPECTED_EVENTS)
            and len(user_property_updates(simulator.url)) >= len(EXPECTED_USERS)
            and len(account_updates(simulator.url)) >= len(EXPECTED_ACCOUNTS)
        ),
        timeout=30,
        interval=0.1,
    )
    assert by_key(tracked_events(simulator.url), "idempotency_key") == by_key(
        EXPECTED_EVENTS, "idempotency_key"
    )
    assert sorted_records(user_property_updates(simulator.url)) == sorted_records(EXPECTED_USERS)
    assert account_updates(simulator.url) == EXPECTED_ACCOUNTS


def test_the_flattening_example_reaches_heap_with_the_same_body_as_through_grpc(
    send: Sender, simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    """The same messageId (the idempotency key) and the same timestamp: through gRPC, then
    through the SDK, to a service without a store (so each 200 means Heap took it)."""
    service = start_service(http=True, base_url=simulator.url, app_id=APP_ID)
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=10) as client:
        client.track(
            "Signed Up",
            user_id="user-42",
            properties=FLATTENING_EXAMPLE,
            message_id="flattening-example-1",
            timestamp=datetime.fromisoformat(WHEN),
        )
    example = Call(
        "track",
        {
            "userId": "user-42",
            "event": "Signed Up",
            "properties": FLATTENING_EXAMPLE,
            "messageId": "flattening-example-1",
            "timestamp": WHEN,
        },
    )

    assert send(service.http_url, [example]) == []

    through_grpc, through_sdk = [
        request["body"] for request in accepted(simulator.url) if request["path"] == "/api/track"
    ]
    assert through_sdk == through_grpc
    assert through_sdk["events"][0]["properties"] == {
        "foo.bar.cheese": "american",
        "foo.bar.prop": "[1,2,3]",
        "foo.bar.products": '[{"A":"Jello"},{"B":"Peanut"}]',
    }


@pytest.mark.parametrize(
    "path",
    [
        "/v1/import/",  # analytics-java: its endpoint(HOST) posts to HOST/v1/import/
        "/v1/batch",  # analytics-go: Config.Endpoint + "/v1/batch"
    ],
)
def test_the_paths_the_go_and_java_sdks_post_to_are_taken(
    path: str, simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(http=True, base_url=simulator.url, app_id=APP_ID)
    batch = {
        "batch": [
            {
                "type": "track",
                "userId": "user-7",
                "event": "Signed Up",
                "messageId": "java-or-go-1",
                "properties": {"plan": {"name": "pro"}},
            }
        ],
        "sentAt": WHEN,
    }

    answer = http_client.post(f"{service.http_url}{path}", json=batch, auth=(WRITE_KEY, ""))

    assert (answer.status_code, answer.json()["success"]) == (200, True), answer.text
    [event] = tracked_events(simulator.url)
    assert (event["idempotency_key"], event["properties"]) == ("java-or-go-1", {"plan.name": "pro"})


def test_a_write_key_sends_to_its_tokens_app_and_an_unknown_one_is_dropped_by_the_sdk(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    """The token is the SDK's write key; it sends to its write_key_app_id. An unknown key
    is answered 401, which the SDK reports and does not retry."""
    tokens = parse_tokens(
        json.dumps(
            [
                {
                    "name": "web",
                    "token": "web-token-0123456789",
                    "app_ids": [APP_ID, "2222222222"],
                    "write_key_app_id": "2222222222",
                }
            ]
        ),
        "test",
    )
    service = start_service(http=True, tokens=tokens, base_url=simulator.url)
    [track] = [call for call in CALLS if call.method == "track"]

    assert send_with_python(service.http_url, [track], "web-token-0123456789") == []
    errors = send_with_python(service.http_url, [track], "not-a-token-0123456789")

    assert [
        (event["app_id"], event["idempotency_key"]) for event in tracked_events(simulator.url)
    ] == [("2222222222", "track-1")]
    assert len(errors) == 1 and "(401)" in errors[0], errors


def test_a_bearer_header_leaves_the_key_to_the_bodys_write_key(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    """The SDKs' OAuth mode sends `Authorization: Bearer ...` and the write key in the
    body (analytics-python's request.post, analytics-node's publisher)."""
    tokens = parse_tokens(
        json.dumps([{"name": "web", "token": "web-token-0123456789", "app_ids": [APP_ID]}]),
        "test",
    )
    service = start_service(http=True, tokens=tokens, base_url=simulator.url)
    batch = {
        "batch": [{"type": "track", "userId": "user-7", "event": "E", "messageId": "oauth-1"}],
        "writeKey": "web-token-0123456789",
    }

    answer = http_client.post(
        f"{service.http_url}/v1/batch",
        json=batch,
        headers={"Authorization": "Bearer an-oauth-access-token"},
    )

    assert (answer.status_code, answer.json()["taken"]) == (200, 1), answer.text
    assert [event["idempotency_key"] for event in tracked_events(simulator.url)] == ["oauth-1"]


def test_a_full_store_is_a_429_the_sdk_waits_out_and_every_event_arrives_once(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    """Heap is down, so the store (2 undelivered events per app) fills: the intake answers
    429 with Retry-After, analytics-python keeps the batch and sends it again after the
    delay, and once Heap is back every event arrives, once."""
    service = start_service(
        http=True,
        store_url=f"sqlite:{tmp_path / 'store.db'}",
        max_stored_events_per_app=2,
        base_url=simulator.url,
        app_id=APP_ID,
    )
    inject_fault(simulator.url, status=503, probability=1.0)
    full_before = http_answers("429")
    errors: list[str] = []
    client = Client(
        WRITE_KEY,
        host=service.http_url,
        upload_size=2,
        on_error=lambda error, batch: errors.append(str(error)),
    )
    keys = [f"full-store-{n}" for n in range(6)]
    for key in keys:
        client.track(user_id="user-1", event="Signed Up", message_id=key)

    wait_until(lambda: http_answers("429") > full_before, timeout=30, interval=0.05)
    clear_faults(simulator.url)
    client.shutdown()

    wait_until(lambda: len(tracked_events(simulator.url)) >= len(keys), timeout=30, interval=0.1)
    assert errors == []
    assert sorted(event["idempotency_key"] for event in tracked_events(simulator.url)) == keys


def http_answers(status: str) -> float:
    """How many /v1/batch requests the in-process intake answered with `status`."""
    sample = REGISTRY.get_sample_value(
        "heap_destination_http_requests_total", {"route": "/v1/batch", "status": status}
    )
    return sample or 0.0


def by_key(records: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    keyed = {record[key]: record for record in records}
    assert len(keyed) == len(records), f"a {key} arrived more than once: {records}"
    return keyed


def sorted_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda record: json.dumps(record, sort_keys=True))
