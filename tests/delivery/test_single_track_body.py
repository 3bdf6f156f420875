"""Heap's single-event track body."""

from datetime import UTC, datetime

from heap_destination.delivery.heap.bodies import single_track_body
from heap_destination.domain.heap_calls import HeapEvent

EVENT = HeapEvent(
    identity="user-1",
    event="Signed Up",
    properties={"plan": "pro", "n": 3},
    idempotency_key="k-1",
    timestamp=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    session_id="s-1",
)


def test_a_single_event_body_is_one_bulk_event_with_the_app_id() -> None:
    assert single_track_body("42", EVENT) == {
        "app_id": "42",
        "identity": "user-1",
        "event": "Signed Up",
        "properties": {"plan": "pro", "n": 3},
        "idempotency_key": "k-1",
        "timestamp": "2026-11-27T12:00:00.000Z",
        "session_id": "s-1",
    }


def test_optional_fields_are_left_out_when_not_given() -> None:
    plain = HeapEvent(identity="u", event="E", properties={}, idempotency_key="k")
    assert set(single_track_body("42", plain)) == {
        "app_id",
        "identity",
        "event",
        "properties",
        "idempotency_key",
    }
