"""UpdateAccount and streamed account updates, through a real server to the simulator."""

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2

from heap_destination.client import HeapDestinationClient, account_event, error_details
from heap_destination.client import in_messages as messages_of
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, errors_pb2, warnings_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import accepted, account_updates, inject_fault
from tests.support.wait import wait_until

ACCOUNT_PATH = "/api/add_account_properties"


def test_nested_properties_arrive_flattened_at_the_bulk_account_endpoint(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.update_account(
        account_id="acme",
        properties={"plan": {"name": "pro", "seats": 40}, "region": "EU", "note": "n" * 1100},
        message_id="m-1",
    )

    [request] = accepted(simulator.url)
    assert request["path"] == ACCOUNT_PATH
    assert request["body"] == {
        "app_id": APP_ID,
        "accounts": [
            {
                "account_id": "acme",
                "properties": {
                    "plan.name": "pro",
                    "plan.seats": 40,
                    "region": "EU",
                    "note": "n" * 1024,
                },
            }
        ],
    }
    assert response.app_id == APP_ID and response.account_id == "acme"
    assert (
        json_format.MessageToDict(response.properties)
        == request["body"]["accounts"][0]["properties"]
    )
    assert [(w.key, w.reason) for w in response.warnings] == [
        ("note", warnings_pb2.PROPERTY_WARNING_REASON_VALUE_TRUNCATED)
    ]


@pytest.mark.parametrize(
    ("account_id", "rule"),
    [("", "required"), ("a" * 1025, "at most 1024 characters"), ("a\nb", "control characters")],
)
def test_a_bad_account_id_is_invalid_argument_naming_the_field(
    client: HeapDestinationClient, simulator: HeapSimulator, account_id: str, rule: str
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        client.update_account(account_id=account_id, properties={"plan": "pro"})

    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "INVALID_EVENT"
    assert list(details.field_violations) == ["account_id"]
    assert rule in details.field_violations["account_id"]
    assert accepted(simulator.url) == []


def test_five_thousand_streamed_account_updates_take_at_most_eight_requests(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    events = [
        account_event(f"a-{n}", account_id=f"account-{n}", properties={"rank": n})
        for n in range(5000)
    ]

    results = list(client.stream(messages_of(events, per_message=500), timeout=60))

    assert len(results) == 5000 and {r.code for r in results} == {code_pb2.OK}
    requests = [r for r in accepted(simulator.url) if r["path"] == ACCOUNT_PATH]
    assert len(requests) <= 8
    updates = account_updates(simulator.url)
    assert sorted(u["account_id"] for u in updates) == sorted(f"account-{n}" for n in range(5000))
    assert all(u["properties"] == {"rank": int(u["account_id"][8:])} for u in updates)


def test_a_bad_account_in_a_stream_fails_alone(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    events = [
        account_event("good", account_id="acme", properties={"plan": "pro"}),
        account_event("bad", account_id="", properties={"plan": "pro"}),
        account_event("empty", account_id="acme", properties={}),
    ]

    results = {r.id: r for r in client.stream(messages_of(events))}

    assert results["good"].code == code_pb2.OK
    for event_id, field in (("bad", "account_id"), ("empty", "properties")):
        result = results[event_id]
        assert result.code == code_pb2.INVALID_ARGUMENT
        assert result.error_reason == errors_pb2.ERROR_REASON_INVALID_EVENT
        assert [v.field for v in result.field_violations] == [field]
    assert [u["account_id"] for u in account_updates(simulator.url)] == ["acme"]


def test_an_account_update_heap_rejects_fails_alone_in_its_batch(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    inject_fault(simulator.url, status=400, probability=1.0, body_contains="poisoned")
    events = [
        account_event(f"a-{n}", account_id=f"account-{n}", properties={"n": n}) for n in range(200)
    ]
    events.append(account_event("p", account_id="poisoned", properties={"n": -1}))

    results = {r.id: r for r in client.stream(messages_of(events, per_message=201))}

    assert results["p"].code == code_pb2.INVALID_ARGUMENT
    assert results["p"].error_reason == errors_pb2.ERROR_REASON_HEAP_REJECTED
    assert {r.code for i, r in results.items() if i != "p"} == {code_pb2.OK}
    assert len(account_updates(simulator.url)) == 200


def test_a_stored_account_update_is_ok_at_once_and_delivered_in_the_background(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=f"sqlite:{tmp_path / 's.db'}")
    stored = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)

    with HeapDestinationClient(service.target, config=stored, timeout=10) as client:
        client.update_account(account_id="acme", properties={"plan": {"name": "pro"}})
        events = [
            account_event(f"s-{n}", account_id=f"streamed-{n}", properties={"n": n})
            for n in range(300)
        ]
        results = list(client.stream(messages_of(events, per_message=100), timeout=30))

    assert {r.code for r in results} == {code_pb2.OK}
    wait_until(lambda: len(account_updates(simulator.url)) == 301, timeout=15, interval=0.05)
    by_id = {u["account_id"]: u["properties"] for u in account_updates(simulator.url)}
    assert by_id["acme"] == {"plan.name": "pro"}
    assert by_id["streamed-299"] == {"n": 299}
