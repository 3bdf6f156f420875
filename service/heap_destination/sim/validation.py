"""The request-body rules Heap documents for its server-side API, as pure functions.

Property values are numbers and strings. A tracked event's properties may also hold
arrays, which Heap stores joined by || and cuts at 1024 characters
(https://developers.heap.io/reference/track-1, "Array property values"); the simulator
takes arrays of numbers and strings there (Heap's example is an array of strings) and
refuses arrays holding anything else. User and account properties take no arrays: Heap
documents none for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

MAX_BULK_ITEMS = 1000
MAX_EVENT_NAME_LENGTH = 1024
MAX_IDENTITY_LENGTH = 255
MAX_PROPERTY_KEY_LENGTH = 1024
MAX_PROPERTY_STRING_LENGTH = 1024
MAX_USER_ID = 2**53 - 1
SHOWN_KEY_LENGTH = 40

_INTEGER = re.compile(r"-?[0-9]+")

FieldCheck = Callable[[str, object], list[str]]
"""Checks one field: given its path (e.g. `events[3].identity`) and value, returns errors."""


def check_length(low: int, high: int) -> FieldCheck:
    def check(path: str, value: object) -> list[str]:
        if not isinstance(value, str):
            return [f"{path}: must be a string"]
        if not low <= len(value) <= high:
            return [f"{path}: must be {low}..{high} characters"]
        return []

    return check


def check_string(path: str, value: object) -> list[str]:
    return [] if isinstance(value, str) else [f"{path}: must be a string"]


def check_non_empty_string(path: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be a string"]
    return [] if value else [f"{path}: must not be empty"]


def check_user_id(path: str, value: object) -> list[str]:
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        return [f"{path}: must be a numeric string"]
    if not 0 <= int(value) <= MAX_USER_ID:
        return [f"{path}: must be an integer in 0..{MAX_USER_ID}"]
    return []


def check_timestamp(path: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: must be an ISO 8601 string"]
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return [f"{path}: must be an ISO 8601 date-time"]
    return []


def check_properties(path: str, value: object) -> list[str]:
    """Properties whose values are numbers and strings."""
    return _check_properties(path, value, arrays=False)


def check_event_properties(path: str, value: object) -> list[str]:
    """A tracked event's properties: numbers, strings and arrays of them."""
    return _check_properties(path, value, arrays=True)


def _check_properties(path: str, value: object, *, arrays: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: must be an object"]
    errors: list[str] = []
    for key, item in value.items():
        key_path = f"{path}.{_shown(str(key))}"
        if not 1 <= len(str(key)) <= MAX_PROPERTY_KEY_LENGTH:
            errors.append(f"{key_path}: key must be 1..{MAX_PROPERTY_KEY_LENGTH} characters")
        if arrays and isinstance(item, list):
            errors.extend(_check_array_value(key_path, item))
        else:
            errors.extend(_check_property_value(key_path, item))
    return errors


def check_user_properties(path: str, value: object) -> list[str]:
    errors = check_properties(path, value)
    if isinstance(value, dict):
        for key in value:
            if str(key).lower() == "id":
                errors.append(f"{path}.{key}: a user property may not be named id")
    return errors


def _check_property_value(path: str, value: object) -> list[str]:
    if isinstance(value, str):
        if len(value) > MAX_PROPERTY_STRING_LENGTH:
            return [f"{path}: string value must be at most {MAX_PROPERTY_STRING_LENGTH} characters"]
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{path}: value must be a number or a string"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{path}: value must be a finite number"]
    return []


def _check_array_value(path: str, items: list[object]) -> list[str]:
    """An array Heap joins by ||: numbers and strings of any length (Heap cuts the joined
    string at 1024 characters rather than refusing it)."""
    errors: list[str] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            continue
        if isinstance(item, bool) or not isinstance(item, int | float):
            errors.append(f"{path}[{index}]: an array item must be a number or a string")
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append(f"{path}[{index}]: an array item must be a finite number")
    return errors


def _shown(key: str) -> str:
    """Keeps error messages readable when a key is itself too long."""
    return key if len(key) <= SHOWN_KEY_LENGTH else key[:SHOWN_KEY_LENGTH] + "..."


@dataclass(frozen=True)
class RecordShape:
    """The fields one record (a single-form body without app_id, or one bulk item) may have."""

    required: Mapping[str, FieldCheck]
    optional: Mapping[str, FieldCheck] = field(default_factory=dict)
    identity_xor_user_id: bool = False

    def check(self, record: Mapping[str, object], prefix: str) -> list[str]:
        errors = [f"{prefix}{name}: required" for name in self.required if name not in record]
        if self.identity_xor_user_id:
            errors.extend(_check_identity_xor_user_id(record, prefix))
        for name, value in record.items():
            check = self.required.get(name) or self.optional.get(name)
            if check is None:
                errors.append(f"{prefix}{name}: unknown field")
            else:
                errors.extend(check(f"{prefix}{name}", value))
        return errors

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)


def _check_identity_xor_user_id(record: Mapping[str, object], prefix: str) -> list[str]:
    has_identity, has_user_id = "identity" in record, "user_id" in record
    if has_identity and has_user_id:
        return [f"{prefix}user_id: not allowed together with identity (give exactly one)"]
    if not has_identity and not has_user_id:
        return [f"{prefix}identity: one of identity or user_id is required"]
    return []


@dataclass(frozen=True)
class Endpoint:
    record: RecordShape
    bulk_key: str | None = None
    """The top-level list field of the bulk form, when the endpoint has one."""


TRACKED_EVENT = RecordShape(
    required={"event": check_length(1, MAX_EVENT_NAME_LENGTH)},
    optional={
        "identity": check_length(1, MAX_IDENTITY_LENGTH),
        "user_id": check_user_id,
        "properties": check_event_properties,
        "timestamp": check_timestamp,
        "session_id": check_string,
        "idempotency_key": check_non_empty_string,
    },
    identity_xor_user_id=True,
)
USER_PROPERTIES = RecordShape(
    required={
        "identity": check_length(1, MAX_IDENTITY_LENGTH),
        "properties": check_user_properties,
    }
)
IDENTIFY = RecordShape(
    required={"identity": check_length(1, MAX_IDENTITY_LENGTH), "user_id": check_user_id},
    optional={"timestamp": check_timestamp},
)
ACCOUNT_PROPERTIES = RecordShape(
    required={"account_id": check_non_empty_string, "properties": check_properties}
)

TRACK_PATH = "/api/track"
ADD_USER_PROPERTIES_PATH = "/api/add_user_properties"
IDENTIFY_PATH = "/api/v1/identify"
ADD_ACCOUNT_PROPERTIES_PATH = "/api/add_account_properties"

ENDPOINTS: Mapping[str, Endpoint] = {
    TRACK_PATH: Endpoint(TRACKED_EVENT, bulk_key="events"),
    ADD_USER_PROPERTIES_PATH: Endpoint(USER_PROPERTIES, bulk_key="users"),
    IDENTIFY_PATH: Endpoint(IDENTIFY),
    ADD_ACCOUNT_PROPERTIES_PATH: Endpoint(ACCOUNT_PROPERTIES, bulk_key="accounts"),
}
HEAP_PATHS = frozenset(ENDPOINTS)


def validate(path: str, body: object) -> list[str]:
    """Returns every rule `body` breaks for the Heap endpoint at `path`; empty means valid."""
    endpoint = ENDPOINTS.get(path)
    if endpoint is None:
        raise ValueError(f"not a Heap endpoint: {path}")
    if not isinstance(body, dict):
        return ["body: must be a JSON object"]
    if "app_id" in body:
        errors = check_non_empty_string("app_id", body["app_id"])
    else:
        errors = ["app_id: required"]
    rest = {name: value for name, value in body.items() if name != "app_id"}
    if endpoint.bulk_key is not None and endpoint.bulk_key in rest:
        errors.extend(_check_bulk(rest, endpoint.bulk_key, endpoint.record))
    else:
        errors.extend(endpoint.record.check(rest, prefix=""))
    return errors


def _check_bulk(body: Mapping[str, object], bulk_key: str, shape: RecordShape) -> list[str]:
    errors: list[str] = []
    for name in body:
        if name in shape.field_names:
            errors.append(f"{name}: not allowed together with {bulk_key}")
        elif name != bulk_key:
            errors.append(f"{name}: unknown field")
    items = body[bulk_key]
    if not isinstance(items, list):
        return [*errors, f"{bulk_key}: must be a list"]
    if not items:
        return [*errors, f"{bulk_key}: must not be empty"]
    if len(items) > MAX_BULK_ITEMS:
        return [*errors, f"{bulk_key}: at most {MAX_BULK_ITEMS} per request"]
    for index, item in enumerate(items):
        prefix = f"{bulk_key}[{index}]"
        if isinstance(item, dict):
            errors.extend(shape.check(item, prefix=prefix + "."))
        else:
            errors.append(f"{prefix}: must be an object")
    return errors
