"""TrackEvent through a real gRPC server to the real simulator over HTTP."""

from datetime import UTC, datetime
from typing import Any

import pytest
from google.protobuf import json_format

from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, warnings_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import accepted, tracked_events, user_property_updates

FLATTENING_EXAMPLE = {
    "foo": {
        "bar": {
            "cheese": "american",
            "prop": [1, 2, 3],
            "products": [{"A": "Jello"}, {"B": "Peanut"}],
        }
    }
}

EXAMPLE_BY_MODE: dict[int, dict[str, Any]] = {
    config_pb2.NESTED_PROPERTIES_MODE_FLATTEN: {
        "foo.bar.cheese": "american",
        "foo.bar.prop": "[1,2,3]",
        "foo.bar.products": '[{"A":"Jello"},{"B":"Peanut"}]',
    },
    config_pb2.NESTED_PROPERTIES_MODE_INDEXED: {
        "foo.bar.cheese": "american",
        "foo.bar.prop.0": "1",
        "foo.bar.prop.1": "2",
        "foo.bar.prop.2": "3",
        "foo.bar.products.0.A": "Jello",
        "foo.bar.products.1.B": "Peanut",
    },
    config_pb2.NESTED_PROPERTIES_MODE_STRINGIFY: {
        "foo": '{"bar":{"cheese":"american","products":[{"A":"Jello"},{"B":"Peanut"}],'
        '"prop":[1,2,3]}}',
    },
    config_pb2.NESTED_PROPERTIES_MODE_DROP: {},
}


def test_the_flattening_example_reaches_heap_flattened(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.track("Signed Up", user_id="user-42", properties=FLATTENING_EXAMPLE)

    [request] = accepted(simulator.url)
    assert request["path"] == "/api/track"
    [body] = tracked_events(simulator.url)
    assert body["app_id"] == APP_ID
    assert body["identity"] == "user-42"
    assert body["event"] == "Signed Up"
    assert "user_id" not in body
    assert body["properties"] == {
        "foo.bar.cheese": "american",
        "foo.bar.prop": "[1,2,3]",
        "foo.bar.products": '[{"A":"Jello"},{"B":"Peanut"}]',
    }
    assert body["idempotency_key"] == response.idempotency_key
    assert json_format.MessageToDict(response.properties) == body["properties"]
    assert response.identity == "user-42"
    assert response.event == "Signed Up"
    assert response.app_id == APP_ID


@pytest.mark.parametrize("mode", list(EXAMPLE_BY_MODE))
def test_the_flattening_example_in_every_mode(
    service: BackgroundService, simulator: HeapSimulator, mode: int
) -> None:
    config = config_pb2.DestinationConfig(app_id=APP_ID, nested_properties_mode=mode)
    with HeapDestinationClient(service.target, config=config) as client:
        response = client.track("Signed Up", user_id="user-42", properties=FLATTENING_EXAMPLE)

    [event] = tracked_events(simulator.url)
    assert event["properties"] == EXAMPLE_BY_MODE[mode]
    if mode == config_pb2.NESTED_PROPERTIES_MODE_DROP:
        assert [(w.key, w.reason) for w in response.warnings] == [
            ("foo", warnings_pb2.PROPERTY_WARNING_REASON_NESTED_VALUE_DROPPED)
        ]


def test_numbers_booleans_nulls_and_unicode(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.track(
        "Paid",
        user_id="u1",
        properties={"amount": 3, "ratio": 0.25, "vip": True, "note": None, "city": "Zürich"},
    )

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {
        "amount": 3,
        "ratio": 0.25,
        "vip": "true",
        "city": "Zürich",
    }
    assert [(w.key, w.reason) for w in response.warnings] == [
        ("note", warnings_pb2.PROPERTY_WARNING_REASON_EMPTY_VALUE_OMITTED)
    ]


def test_page_and_screen_calls_have_fixed_event_names(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    client.page("Pricing", user_id="u1", properties={"path": "/pricing"})
    client.screen("Settings", user_id="u1")

    bodies = tracked_events(simulator.url)
    assert [(b["event"], b["properties"]) for b in bodies] == [
        ("Page viewed", {"name": "Pricing", "path": "/pricing"}),
        ("Screen viewed", {"name": "Settings"}),
    ]


def test_traits_on_a_track_update_user_properties(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.track(
        "Upgraded",
        user_id="u1",
        properties={"plan": "pro"},
        traits={"email": "ada@example.com", "id": "u1", "company": {"name": "ACME"}},
    )

    assert user_property_updates(simulator.url) == [
        {
            "app_id": APP_ID,
            "identity": "u1",
            "properties": {"email": "ada@example.com", "company.name": "ACME"},
        }
    ]
    assert [e["properties"] for e in tracked_events(simulator.url)] == [{"plan": "pro"}]
    assert json_format.MessageToDict(response.user_properties) == {
        "email": "ada@example.com",
        "company.name": "ACME",
    }
    assert [(w.field, w.key, w.reason) for w in response.warnings] == [
        ("traits", "id", warnings_pb2.PROPERTY_WARNING_REASON_RESERVED_KEY_OMITTED)
    ]


def test_message_id_timestamp_and_session_are_sent(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    client.track(
        "Signed Up",
        user_id="u1",
        message_id="msg-1",
        session_id="s-9",
        timestamp=datetime(2026, 11, 27, 12, 30, 5, 250000, tzinfo=UTC),
    )

    [event] = tracked_events(simulator.url)
    assert event["idempotency_key"] == "msg-1"
    assert event["session_id"] == "s-9"
    assert event["timestamp"] == "2026-11-27T12:30:05.250Z"


def test_long_values_are_truncated_and_reported(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.track("Wrote", user_id="u1", properties={"text": "x" * 2000})

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"text": "x" * 1024}
    [warning] = response.warnings
    assert (warning.field, warning.key, warning.reason) == (
        "properties",
        "text",
        warnings_pb2.PROPERTY_WARNING_REASON_VALUE_TRUNCATED,
    )


def test_anonymous_id_serves_as_identity_when_the_config_allows(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    config = config_pb2.DestinationConfig(app_id=APP_ID, anonymous_id_as_identity=True)
    with HeapDestinationClient(service.target, config=config) as client:
        client.track("Visited", anonymous_id="anon-7")

    [event] = tracked_events(simulator.url)
    assert event["identity"] == "anon-7"


def test_the_server_default_app_id_applies_when_the_request_has_none(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url, app_id="555")
    with HeapDestinationClient(service.target) as client:
        response = client.track("Signed Up", user_id="u1")

    assert response.app_id == "555"
    assert tracked_events(simulator.url)[0]["app_id"] == "555"
