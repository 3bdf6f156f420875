"""Heap's HTTP paths and JSON bodies (bulk forms for track, user and account properties)."""

from datetime import UTC, datetime
from typing import Any

from heap_destination.domain.heap_calls import (
    HeapAccountProperties,
    HeapEvent,
    HeapIdentify,
    HeapUserProperties,
)
from heap_destination.domain.json_text import encode

TRACK_PATH = "/api/track"
ADD_USER_PROPERTIES_PATH = "/api/add_user_properties"
IDENTIFY_PATH = "/api/v1/identify"
ADD_ACCOUNT_PROPERTIES_PATH = "/api/add_account_properties"


def bulk_track_body(app_id: str, events: list[HeapEvent]) -> dict[str, Any]:
    return {"app_id": app_id, "events": [_event_fields(event) for event in events]}


def bulk_user_properties_body(app_id: str, users: list[HeapUserProperties]) -> dict[str, Any]:
    return {"app_id": app_id, "users": [_user_fields(user) for user in users]}


def bulk_account_properties_body(
    app_id: str, accounts: list[HeapAccountProperties]
) -> dict[str, Any]:
    return {"app_id": app_id, "accounts": [_account_fields(account) for account in accounts]}


def event_object(event: HeapEvent, accepted_at: datetime | None = None) -> bytes:
    """One event of a bulk track body, encoded alone (to be stored), with `accepted_at`
    as its timestamp when it has none of its own."""
    return encode(_event_fields(event, accepted_at))


def user_object(user: HeapUserProperties) -> bytes:
    """One user of a bulk add_user_properties body, encoded alone (to be stored)."""
    return encode(_user_fields(user))


def account_object(account: HeapAccountProperties) -> bytes:
    """One account of a bulk add_account_properties body, encoded alone (to be stored)."""
    return encode(_account_fields(account))


def bulk_body(app_id: str, items_key: str, objects: list[bytes]) -> bytes:
    """A bulk body from objects encoded alone: the same bytes `encode` gives for the body
    built from their fields."""
    return b"".join(
        (
            b'{"app_id":',
            encode(app_id),
            b',"',
            items_key.encode(),
            b'":[',
            b",".join(objects),
            b"]}",
        )
    )


def single_track_body(app_id: str, event: HeapEvent) -> dict[str, Any]:
    """Heap's single-event track body: the fields of one bulk event, and the app_id."""
    return {"app_id": app_id, **_event_fields(event)}


def single_track_body_from_object(app_id: str, event: bytes) -> bytes:
    """single_track_body from one event encoded alone (event_object's bytes): the same
    bytes `encode` gives for single_track_body."""
    return b"".join((b'{"app_id":', encode(app_id), b",", event[1:]))


def identify_body(app_id: str, identify: HeapIdentify) -> dict[str, Any]:
    body: dict[str, Any] = {
        "app_id": app_id,
        "identity": identify.identity,
        "user_id": identify.heap_user_id,
    }
    if identify.timestamp is not None:
        body["timestamp"] = iso_timestamp(identify.timestamp)
    return body


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-27T12:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_fields(event: HeapEvent, accepted_at: datetime | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "identity": event.identity,
        "event": event.event,
        "properties": event.properties,
        "idempotency_key": event.idempotency_key,
    }
    timestamp = event.timestamp if event.timestamp is not None else accepted_at
    if timestamp is not None:
        fields["timestamp"] = iso_timestamp(timestamp)
    if event.session_id is not None:
        fields["session_id"] = event.session_id
    return fields


def _user_fields(user: HeapUserProperties) -> dict[str, Any]:
    return {"identity": user.identity, "properties": user.properties}


def _account_fields(account: HeapAccountProperties) -> dict[str, Any]:
    return {"account_id": account.account_id, "properties": account.properties}
