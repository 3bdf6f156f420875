"""Heap's HTTP paths and JSON bodies (bulk forms for track, user and account properties)."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from heap_destination.domain.heap_calls import (
    HeapAccountProperties,
    HeapEvent,
    HeapIdentify,
    HeapUserProperties,
)

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


def event_object(event: HeapEvent) -> bytes:
    """One event of a bulk track body, encoded alone (to be stored)."""
    return encode(_event_fields(event))


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


def identify_body(app_id: str, identify: HeapIdentify) -> dict[str, Any]:
    body: dict[str, Any] = {
        "app_id": app_id,
        "identity": identify.identity,
        "user_id": identify.heap_user_id,
    }
    if identify.timestamp is not None:
        body["timestamp"] = iso_timestamp(identify.timestamp)
    return body


def encode(body: Any) -> bytes:
    """`body` as compact UTF-8 JSON: byte for byte what json_encode gives (and raising
    what it raises), by orjson wherever orjson's bytes are known to be the same.

    For the values bodies hold (dicts with string keys, lists, strings, integers, floats,
    booleans and None) orjson writes the same bytes as json, except for NaN and the
    infinities (orjson writes null where json refuses), floats between -1e-4 and 1e-4
    other than zero (1e-7 and 0.00001 where json writes 1e-07 and 1e-05), integers past
    64 bits and strings with lone surrogates (which orjson refuses). The bytes orjson gives
    then hold a telltale (see _may_differ) or orjson raises, and json encodes the body
    instead; the telltale can also turn up inside a string, which only costs the time.
    tests/fuzz/test_body_encoding.py checks this over random bodies. (orjson also writes
    enums and UUIDs, which json refuses; no body holds one.)"""
    try:
        encoded = orjson.dumps(body, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return json_encode(body)
    if _may_differ(encoded):
        return json_encode(body)
    return encoded


def json_encode(body: Any) -> bytes:
    """The reference encoding of a body: compact, UTF-8, no ASCII escaping, no NaN."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


# Dataclasses and datetimes (which json refuses) and subclasses of str, int, dict and list
# go to json instead: with these options orjson raises for them.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _may_differ(encoded: bytes) -> bool:
    """Whether orjson's `encoded` may differ from json's: it holds null (which NaN and
    the infinities become), 0.0000 (how orjson writes a float from 1e-5 up to 1e-4), or
    e-, one digit and the end of a number (a negative exponent of one digit, which json
    writes with two: 1e-07)."""
    return (
        b"null" in encoded
        or b"0.0000" in encoded
        or _ONE_DIGIT_NEGATIVE_EXPONENT.search(encoded) is not None
    )


# What can follow a number in compact JSON: a comma, a closing bracket, the end.
_ONE_DIGIT_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9](?:[,\]}]|\Z)")


def iso_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-11-27T12:00:00.000Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_fields(event: HeapEvent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "identity": event.identity,
        "event": event.event,
        "properties": event.properties,
        "idempotency_key": event.idempotency_key,
    }
    if event.timestamp is not None:
        fields["timestamp"] = iso_timestamp(event.timestamp)
    if event.session_id is not None:
        fields["session_id"] = event.session_id
    return fields


def _user_fields(user: HeapUserProperties) -> dict[str, Any]:
    return {"identity": user.identity, "properties": user.properties}


def _account_fields(account: HeapAccountProperties) -> dict[str, Any]:
    return {"account_id": account.account_id, "properties": account.properties}
