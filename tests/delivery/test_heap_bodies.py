import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from heap_destination.delivery.heap.bodies import (
    bulk_track_body,
    bulk_user_properties_body,
    identify_body,
    iso_timestamp,
)
from heap_destination.domain.heap_calls import HeapEvent, HeapIdentify, HeapUserProperties
from heap_destination.domain.json_text import encode

APP = "1234567890"
NOON_UTC = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)

SIGNED_UP = HeapEvent(
    identity="user-42",
    event="Signed Up",
    properties={"foo.bar.cheese": "american", "plan.seats": 3},
    idempotency_key="key-1",
)
VIEWED = HeapEvent(
    identity="user-7",
    event="Page viewed",
    properties={"name": "Home"},
    idempotency_key="key-2",
    timestamp=NOON_UTC,
    session_id="session-9",
)


def test_bulk_track_body_with_timestamp_and_session() -> None:
    assert bulk_track_body(APP, [SIGNED_UP, VIEWED]) == {
        "app_id": APP,
        "events": [
            {
                "identity": "user-42",
                "event": "Signed Up",
                "properties": {"foo.bar.cheese": "american", "plan.seats": 3},
                "idempotency_key": "key-1",
            },
            {
                "identity": "user-7",
                "event": "Page viewed",
                "properties": {"name": "Home"},
                "idempotency_key": "key-2",
                "timestamp": "2026-11-27T12:00:00.000Z",
                "session_id": "session-9",
            },
        ],
    }


def test_bulk_user_properties_body() -> None:
    ada = HeapUserProperties(identity="ada", properties={"role": "admin"})
    bob = HeapUserProperties(identity="bob", properties={"seats": 2})
    assert bulk_user_properties_body(APP, [ada, bob]) == {
        "app_id": APP,
        "users": [
            {"identity": "ada", "properties": {"role": "admin"}},
            {"identity": "bob", "properties": {"seats": 2}},
        ],
    }


def test_identify_body_without_timestamp() -> None:
    identify = HeapIdentify(identity="user-42", heap_user_id="8412345678901234")
    assert identify_body(APP, identify) == {
        "app_id": APP,
        "identity": "user-42",
        "user_id": "8412345678901234",
    }


def test_identify_body_with_timestamp() -> None:
    identify = HeapIdentify(identity="user-42", heap_user_id="17", timestamp=NOON_UTC)
    assert identify_body(APP, identify) == {
        "app_id": APP,
        "identity": "user-42",
        "user_id": "17",
        "timestamp": "2026-11-27T12:00:00.000Z",
    }


def test_iso_timestamp_converts_other_zones_to_utc_with_milliseconds() -> None:
    paris_winter = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 27, 13, 0, 0, 123456, tzinfo=paris_winter)
    assert iso_timestamp(moment) == "2026-11-27T12:00:00.123Z"


def test_iso_timestamp_across_midnight_from_a_negative_offset() -> None:
    new_york = timezone(timedelta(hours=-5))
    moment = datetime(2026, 12, 31, 21, 30, tzinfo=new_york)
    assert iso_timestamp(moment) == "2027-01-01T02:30:00.000Z"


def test_encode_is_compact_utf8_and_keeps_non_ascii_unescaped() -> None:
    body = {"app_id": APP, "event": "Café ☕", "properties": {"city": "東京"}}
    encoded = encode(body)
    expected = '{"app_id":"1234567890","event":"Café ☕","properties":{"city":"東京"}}'
    assert encoded == expected.encode("utf-8")
    assert b"\\u" not in encoded
    assert json.loads(encoded) == body


def test_encode_refuses_nan() -> None:
    with pytest.raises(ValueError):
        encode({"properties": {"x": float("nan")}})
