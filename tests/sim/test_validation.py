import math
from typing import Any

import pytest

from heap_destination.sim.validation import validate

TRACK = "/api/track"
USER_PROPERTIES = "/api/add_user_properties"
IDENTIFY = "/api/v1/identify"
ACCOUNT_PROPERTIES = "/api/add_account_properties"


def track(**fields: Any) -> dict[str, Any]:
    return {"app_id": "11", "event": "Signed Up", "identity": "alice@example.com", **fields}


def event(**fields: Any) -> dict[str, Any]:
    return {"event": "Signed Up", "identity": "alice@example.com", **fields}


def without(body: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name not in names}


def only_error(path: str, body: object) -> str:
    errors = validate(path, body)
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_single_track_has_no_errors() -> None:
    body = track(
        properties={"plan": "pro", "seats": 3, "price": 9.5},
        timestamp="2026-11-27T12:00:00Z",
        session_id="s-1",
        idempotency_key="k-1",
    )
    assert validate(TRACK, body) == []


def test_valid_single_track_with_user_id() -> None:
    assert validate(TRACK, without(track(user_id="42"), "identity")) == []


def test_valid_bulk_track_has_no_errors() -> None:
    body = {"app_id": "11", "events": [event(), event(identity="bob", properties={"n": 1})]}
    assert validate(TRACK, body) == []


def test_body_must_be_an_object() -> None:
    assert only_error(TRACK, ["not", "an", "object"]) == "body: must be a JSON object"


def test_unknown_path_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="/api/nope"):
        validate("/api/nope", {})


def test_app_id_is_required() -> None:
    assert only_error(TRACK, without(track(), "app_id")) == "app_id: required"


def test_app_id_must_not_be_empty() -> None:
    assert only_error(TRACK, track(app_id="")) == "app_id: must not be empty"


def test_app_id_must_be_a_string() -> None:
    assert only_error(TRACK, track(app_id=11)) == "app_id: must be a string"


def test_event_is_required() -> None:
    assert only_error(TRACK, without(track(), "event")) == "event: required"


def test_event_must_not_be_empty() -> None:
    assert only_error(TRACK, track(event="")) == "event: must be 1..1024 characters"


def test_event_of_1024_characters_is_valid() -> None:
    assert validate(TRACK, track(event="e" * 1024)) == []


def test_event_of_1025_characters_is_too_long() -> None:
    assert only_error(TRACK, track(event="e" * 1025)) == "event: must be 1..1024 characters"


def test_identity_and_user_id_together_are_an_error() -> None:
    error = only_error(TRACK, track(user_id="42"))
    assert error.startswith("user_id:")
    assert "identity" in error


def test_identity_or_user_id_is_required() -> None:
    error = only_error(TRACK, without(track(), "identity"))
    assert error == "identity: one of identity or user_id is required"


def test_identity_must_not_be_empty() -> None:
    assert only_error(TRACK, track(identity="")) == "identity: must be 1..255 characters"


def test_identity_of_255_characters_is_valid() -> None:
    assert validate(TRACK, track(identity="i" * 255)) == []


def test_identity_of_256_characters_is_too_long() -> None:
    assert only_error(TRACK, track(identity="i" * 256)) == "identity: must be 1..255 characters"


def test_lengths_count_characters_not_bytes() -> None:
    assert validate(TRACK, track(identity="é" * 255)) == []


@pytest.mark.parametrize("user_id", ["0", "42", str(2**53 - 1)])
def test_user_id_in_range_is_valid(user_id: str) -> None:
    assert validate(TRACK, without(track(user_id=user_id), "identity")) == []


@pytest.mark.parametrize("user_id", ["abc", "4.2", "", " 42", 42])
def test_user_id_must_be_a_numeric_string(user_id: object) -> None:
    error = only_error(TRACK, without(track(user_id=user_id), "identity"))
    assert error == "user_id: must be a numeric string"


def test_user_id_must_not_be_negative() -> None:
    error = only_error(TRACK, without(track(user_id="-1"), "identity"))
    assert error.startswith("user_id: must be an integer in 0..")


def test_user_id_must_be_below_2_to_the_53() -> None:
    error = only_error(TRACK, without(track(user_id=str(2**53)), "identity"))
    assert error == f"user_id: must be an integer in 0..{2**53 - 1}"


@pytest.mark.parametrize(
    "timestamp",
    ["2026-11-27T12:00:00Z", "2026-11-27T12:00:00+00:00", "2026-11-27T12:00:00.123456Z"],
)
def test_iso_timestamps_are_valid(timestamp: str) -> None:
    assert validate(TRACK, track(timestamp=timestamp)) == []


@pytest.mark.parametrize("timestamp", ["yesterday", "27/11/2026", 1764244800])
def test_timestamp_must_be_iso_8601(timestamp: object) -> None:
    assert only_error(TRACK, track(timestamp=timestamp)).startswith(
        "timestamp: must be an ISO 8601"
    )


def test_session_id_must_be_a_string() -> None:
    assert only_error(TRACK, track(session_id=7)) == "session_id: must be a string"


def test_idempotency_key_must_not_be_empty() -> None:
    assert only_error(TRACK, track(idempotency_key="")) == "idempotency_key: must not be empty"


def test_unknown_field_is_an_error() -> None:
    assert only_error(TRACK, track(colour="red")) == "colour: unknown field"


def test_properties_must_be_an_object() -> None:
    assert only_error(TRACK, track(properties=["a"])) == "properties: must be an object"


def test_property_key_of_1024_characters_is_valid() -> None:
    assert validate(TRACK, track(properties={"k" * 1024: 1})) == []


def test_property_key_of_1025_characters_is_too_long() -> None:
    error = only_error(TRACK, track(properties={"k" * 1025: 1}))
    assert error.startswith("properties.kkk")
    assert error.endswith("key must be 1..1024 characters")


def test_property_key_must_not_be_empty() -> None:
    error = only_error(TRACK, track(properties={"": 1}))
    assert error == "properties.: key must be 1..1024 characters"


def test_property_string_of_1024_characters_is_valid() -> None:
    assert validate(TRACK, track(properties={"note": "v" * 1024})) == []


def test_property_string_of_1025_characters_is_too_long() -> None:
    error = only_error(TRACK, track(properties={"note": "v" * 1025}))
    assert error == "properties.note: string value must be at most 1024 characters"


# Arrays of numbers and strings are valid track properties: see test_array_properties.py.
@pytest.mark.parametrize("value", [{"nested": 1}, True, False, None])
def test_property_value_must_be_a_number_or_a_string(value: object) -> None:
    error = only_error(TRACK, track(properties={"foo": value}))
    assert error == "properties.foo: value must be a number or a string"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_property_number_must_be_finite(value: float) -> None:
    error = only_error(TRACK, track(properties={"foo": value}))
    assert error == "properties.foo: value must be a finite number"


def test_every_broken_rule_is_reported() -> None:
    errors = validate(TRACK, track(event="", identity="", colour="red"))
    assert len(errors) == 3


def test_bulk_track_names_the_event_index() -> None:
    body = {"app_id": "11", "events": [event(), event(identity="i" * 256)]}
    assert only_error(TRACK, body) == "events[1].identity: must be 1..255 characters"


def test_bulk_track_event_needs_identity_or_user_id() -> None:
    body = {"app_id": "11", "events": [without(event(), "identity")]}
    assert only_error(TRACK, body).startswith("events[0].identity:")


def test_bulk_track_item_must_be_an_object() -> None:
    body = {"app_id": "11", "events": ["Signed Up"]}
    assert only_error(TRACK, body) == "events[0]: must be an object"


def test_bulk_track_event_may_not_carry_app_id() -> None:
    body = {"app_id": "11", "events": [event(app_id="11")]}
    assert only_error(TRACK, body) == "events[0].app_id: unknown field"


def test_bulk_track_of_1000_events_is_valid() -> None:
    assert validate(TRACK, {"app_id": "11", "events": [event()] * 1000}) == []


def test_bulk_track_of_1001_events_is_too_many() -> None:
    body = {"app_id": "11", "events": [event()] * 1001}
    assert only_error(TRACK, body) == "events: at most 1000 per request"


def test_bulk_track_must_not_be_empty() -> None:
    assert only_error(TRACK, {"app_id": "11", "events": []}) == "events: must not be empty"


def test_bulk_track_events_must_be_a_list() -> None:
    assert only_error(TRACK, {"app_id": "11", "events": {}}) == "events: must be a list"


def test_bulk_track_may_not_also_have_a_top_level_event() -> None:
    body = {"app_id": "11", "event": "Signed Up", "events": [event()]}
    assert only_error(TRACK, body) == "event: not allowed together with events"


def test_valid_user_properties() -> None:
    body = {"app_id": "11", "identity": "alice", "properties": {"plan": "pro", "age": 40}}
    assert validate(USER_PROPERTIES, body) == []


def test_user_properties_are_required() -> None:
    body = {"app_id": "11", "identity": "alice"}
    assert only_error(USER_PROPERTIES, body) == "properties: required"


def test_user_properties_need_identity() -> None:
    body = {"app_id": "11", "properties": {"plan": "pro"}}
    assert only_error(USER_PROPERTIES, body) == "identity: required"


@pytest.mark.parametrize("key", ["id", "ID", "Id", "iD"])
def test_user_property_may_not_be_named_id_in_any_case(key: str) -> None:
    body = {"app_id": "11", "identity": "alice", "properties": {key: "x"}}
    assert (
        only_error(USER_PROPERTIES, body)
        == f"properties.{key}: a user property may not be named id"
    )


def test_event_property_may_be_named_id() -> None:
    assert validate(TRACK, track(properties={"id": "x"})) == []


def test_valid_bulk_user_properties() -> None:
    users = [{"identity": "alice", "properties": {"plan": "pro"}}] * 2
    assert validate(USER_PROPERTIES, {"app_id": "11", "users": users}) == []


def test_bulk_user_properties_name_the_user_index() -> None:
    users = [{"identity": "alice", "properties": {"plan": "pro"}}, {"identity": "bob"}]
    error = only_error(USER_PROPERTIES, {"app_id": "11", "users": users})
    assert error == "users[1].properties: required"


def test_bulk_user_properties_of_1001_users_is_too_many() -> None:
    users = [{"identity": "alice", "properties": {"plan": "pro"}}] * 1001
    error = only_error(USER_PROPERTIES, {"app_id": "11", "users": users})
    assert error == "users: at most 1000 per request"


def test_valid_identify() -> None:
    body = {"app_id": "11", "identity": "alice", "user_id": "42", "timestamp": "2026-11-27"}
    assert validate(IDENTIFY, body) == []


def test_identify_requires_user_id() -> None:
    assert only_error(IDENTIFY, {"app_id": "11", "identity": "alice"}) == "user_id: required"


def test_identify_requires_identity() -> None:
    assert only_error(IDENTIFY, {"app_id": "11", "user_id": "42"}) == "identity: required"


def test_identify_has_no_bulk_form() -> None:
    body = {"app_id": "11", "identity": "alice", "user_id": "42", "users": []}
    assert only_error(IDENTIFY, body) == "users: unknown field"


def test_valid_account_properties() -> None:
    body = {"app_id": "11", "account_id": "acme", "properties": {"tier": "gold"}}
    assert validate(ACCOUNT_PROPERTIES, body) == []


def test_account_id_must_not_be_empty() -> None:
    body = {"app_id": "11", "account_id": "", "properties": {"tier": "gold"}}
    assert only_error(ACCOUNT_PROPERTIES, body) == "account_id: must not be empty"


def test_account_property_value_rules_apply() -> None:
    body = {"app_id": "11", "account_id": "acme", "properties": {"tier": None}}
    error = only_error(ACCOUNT_PROPERTIES, body)
    assert error == "properties.tier: value must be a number or a string"


def test_bulk_account_properties_name_the_account_index() -> None:
    accounts = [{"account_id": "acme", "properties": {"tier": [1]}}]
    error = only_error(ACCOUNT_PROPERTIES, {"app_id": "11", "accounts": accounts})
    assert error == "accounts[0].properties.tier: value must be a number or a string"
