"""One Segment item to the call gRPC would make: per type, timestamps, integrations,
anonymous items, and known fields of the wrong type."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from heap_destination.api.segment.body import MAX_ITEM_BYTES
from heap_destination.api.segment.items import (
    NO_IDENTITY,
    NOT_FOR_HEAP,
    Batch,
    MappedItem,
    SkippedItem,
    batch_of,
    map_item,
    segment_violations,
)
from heap_destination.domain.account import AccountInput
from heap_destination.domain.identify import IdentifyInput
from heap_destination.domain.track import EventType, TrackInput
from heap_destination.domain.violations import FieldViolation, InvalidInput

RECEIVED = datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC)


def batch(anonymous: bool = False, **fields: Any) -> Batch:
    return batch_of(fields, RECEIVED, anonymous=anonymous)


def mapped(raw: dict[str, Any], route: str | None = None, **batch_fields: Any) -> MappedItem:
    result = map_item(raw, batch(**batch_fields), route)
    assert isinstance(result, MappedItem)
    return result


def violations(raw: object, route: str | None = None) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as raised:
        map_item(raw, batch(), route)
    return [(v.field, v.description) for v in raised.value.violations]


def test_a_track_is_a_track_call_with_context_traits_as_its_user_properties() -> None:
    item = mapped(
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u1",
            "anonymousId": "a1",
            "messageId": "m1",
            "properties": {"plan": "pro"},
            "context": {"traits": {"email": "a@b.c"}, "ip": "1.2.3.4"},
            "unknownField": [1, 2],
        }
    )

    assert item.kind == "track" and item.message_id == "m1"
    assert item.value == TrackInput(
        user_id="u1",
        anonymous_id="a1",
        event="Signed Up",
        properties={"plan": "pro"},
        traits={"email": "a@b.c"},
        timestamp=RECEIVED,
        message_id="m1",
    )


@pytest.mark.parametrize(
    ("kind", "event_type"), [("page", EventType.PAGE), ("screen", EventType.SCREEN)]
)
def test_page_and_screen_are_track_calls_of_their_type_with_their_name(
    kind: str, event_type: EventType
) -> None:
    item = mapped({"type": kind, "userId": "u1", "name": "Home", "event": "ignored"})

    assert item.value == TrackInput(user_id="u1", type=event_type, name="Home", timestamp=RECEIVED)


def test_identify_takes_traits_and_group_is_an_account_update() -> None:
    identify = mapped({"type": "identify", "userId": "u1", "traits": {"name": "Ada"}})
    group = mapped({"type": "group", "userId": "u1", "groupId": "acme", "traits": {"seats": 3}})

    assert (identify.kind, identify.value) == (
        "identify",
        IdentifyInput(user_id="u1", traits={"name": "Ada"}, timestamp=RECEIVED),
    )
    assert (group.kind, group.value) == (
        "account",
        AccountInput(account_id="acme", properties={"seats": 3}),
    )


def test_alias_is_taken_with_nothing_to_send() -> None:
    alias = mapped({"type": "alias", "userId": "u1", "previousId": "old"})

    assert (alias.kind, alias.value) == ("alias", None)


def test_the_route_gives_a_single_calls_type() -> None:
    item = mapped({"userId": "u1", "traits": {"a": 1}}, route="identify")

    assert item.kind == "identify"


def test_the_batch_context_applies_to_each_item_under_its_own() -> None:
    shared = {"traits": {"plan": "free"}, "library": {"name": "x"}}
    own = mapped(
        {"type": "track", "event": "E", "userId": "u", "context": {"traits": {"a": 1}}},
        context=shared,
    )
    inherited = mapped({"type": "track", "event": "E", "userId": "u"}, context=shared)

    assert isinstance(own.value, TrackInput) and own.value.traits == {"a": 1}
    assert isinstance(inherited.value, TrackInput) and inherited.value.traits == {"plan": "free"}


def test_timestamp_wins_then_original_timestamp_moved_by_the_clock_skew() -> None:
    given = mapped(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "timestamp": "2026-12-01T10:00:00Z",
            "originalTimestamp": "2026-01-01T00:00:00Z",
        }
    )
    # The client's clock is 2 minutes ahead: sentAt 08:02 arrives at 08:00.
    skewed = mapped(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "originalTimestamp": "2026-12-07T07:59:00+00:00",
            "sentAt": "2026-12-07T08:02:00Z",
        }
    )
    batch_sent = mapped(
        {"type": "track", "event": "E", "userId": "u", "originalTimestamp": "2026-12-07T07:59:00Z"},
        sentAt="2026-12-07T08:01:00Z",
    )
    unsent = mapped(
        {"type": "track", "event": "E", "userId": "u", "originalTimestamp": "2026-12-07T07:00:00"}
    )
    nothing = mapped({"type": "track", "event": "E", "userId": "u"})

    assert isinstance(given.value, TrackInput)
    assert given.value.timestamp == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert isinstance(skewed.value, TrackInput)
    assert skewed.value.timestamp == RECEIVED - timedelta(minutes=3)
    assert isinstance(batch_sent.value, TrackInput)
    assert batch_sent.value.timestamp == RECEIVED - timedelta(minutes=2)
    assert isinstance(unsent.value, TrackInput)
    assert unsent.value.timestamp == datetime(2026, 12, 7, 7, tzinfo=UTC)
    assert isinstance(nothing.value, TrackInput) and nothing.value.timestamp == RECEIVED


def test_identify_keeps_its_timestamp_and_group_has_none() -> None:
    identify = mapped({"type": "identify", "userId": "u", "timestamp": "2026-12-01T10:00:00Z"})

    assert isinstance(identify.value, IdentifyInput)
    assert identify.value.timestamp == datetime(2026, 12, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item_integrations", "batch_integrations", "for_heap"),
    [
        ({}, {}, True),
        ({"Heap": False}, {}, False),
        ({"All": False}, {}, False),
        ({"All": False, "Heap": True}, {}, True),
        ({"All": False, "Heap": {"option": 1}}, {}, True),
        ({}, {"Heap": False}, False),
        ({"Heap": True}, {"Heap": False}, True),
        ({"Mixpanel": False}, {}, True),
        ({"All": True}, {}, True),
    ],
)
def test_integrations_keep_an_item_from_heap_as_segment_does(
    item_integrations: dict[str, Any], batch_integrations: dict[str, Any], for_heap: bool
) -> None:
    result = map_item(
        {"type": "track", "event": "E", "userId": "u", "integrations": item_integrations},
        batch(integrations=batch_integrations),
        None,
    )

    assert isinstance(result, MappedItem) is for_heap
    if not for_heap:
        assert result == SkippedItem(NOT_FOR_HEAP)


def test_anonymous_items_follow_the_anonymous_id_setting() -> None:
    raw = {"type": "track", "event": "E", "anonymousId": "anon-1"}

    assert map_item(raw, batch(), None) == SkippedItem(NO_IDENTITY)
    assert map_item({**raw, "userId": "  "}, batch(), None) == SkippedItem(NO_IDENTITY)
    assert isinstance(map_item(raw, batch(anonymous=True), None), MappedItem)
    group = {"type": "group", "anonymousId": "anon-1", "groupId": "g", "traits": {"a": 1}}
    assert isinstance(map_item(group, batch(), None), MappedItem)


# An item of each type, valid in shape.
ITEMS: dict[str, dict[str, Any]] = {
    "track": {"type": "track", "event": "E", "userId": "u"},
    "page": {"type": "page", "name": "Home", "userId": "u"},
    "screen": {"type": "screen", "name": "Home", "userId": "u"},
    "identify": {"type": "identify", "userId": "u"},
    "group": {"type": "group", "groupId": "g", "userId": "u"},
    "alias": {"type": "alias", "previousId": "p", "userId": "u"},
}


@pytest.mark.parametrize(
    ("item_type", "field", "value", "description"),
    [
        ("track", "type", 1, "must be a string, not a number"),
        ("track", "messageId", 12, "must be a string, not a number"),
        ("track", "userId", 42, "must be a string, not a number"),
        ("group", "anonymousId", True, "must be a string, not a boolean"),
        ("track", "event", ["E"], "must be a string, not an array"),
        ("page", "name", {}, "must be a string, not an object"),
        ("screen", "name", 1, "must be a string, not a number"),
        ("group", "groupId", 3.5, "must be a string, not a number"),
        ("alias", "previousId", 1, "must be a string, not a number"),
        ("identify", "timestamp", 1700000000, "must be a string, not a number"),
        ("track", "originalTimestamp", [], "must be a string, not an array"),
        ("alias", "sentAt", {}, "must be a string, not an object"),
        ("track", "properties", "x", "must be an object, not a string"),
        ("page", "properties", [], "must be an object, not an array"),
        ("identify", "traits", [1], "must be an object, not an array"),
        ("group", "traits", "t", "must be an object, not a string"),
        ("identify", "context", 1, "must be an object, not a number"),
        ("track", "integrations", "All", "must be an object, not a string"),
        ("track", "timestamp", "yesterday", "must be an ISO-8601 date and time"),
        ("group", "originalTimestamp", "2026-13-01", "must be an ISO-8601 date and time"),
    ],
)
def test_a_known_field_of_the_wrong_type_makes_the_item_invalid_naming_it(
    item_type: str, field: str, value: object, description: str
) -> None:
    raw = {**ITEMS[item_type], field: value}

    [(named, why)] = violations(raw)

    assert named == field and why.startswith(description)


@pytest.mark.parametrize(
    ("item_type", "field", "value"),
    [
        ("identify", "event", 5),
        ("group", "event", ["E"]),
        ("track", "name", 1),
        ("identify", "name", {}),
        ("track", "groupId", 3.5),
        ("page", "previousId", 1),
        ("identify", "properties", "x"),
        ("alias", "properties", 1),
        ("track", "traits", [1]),
        ("screen", "traits", "t"),
        ("identify", "context", {"traits": "x"}),
    ],
)
def test_a_known_field_the_items_type_does_not_use_is_ignored_whatever_its_type(
    item_type: str, field: str, value: object
) -> None:
    assert isinstance(map_item({**ITEMS[item_type], field: value}, batch(), None), MappedItem)


def test_context_traits_of_the_wrong_type_is_named() -> None:
    raw = {"type": "track", "event": "E", "userId": "u", "context": {"traits": "x"}}

    assert violations(raw) == [("context.traits", "must be an object, not a string")]


def test_items_that_are_no_item_or_too_big_or_of_no_type_are_invalid() -> None:
    big = {"type": "track", "event": "E", "userId": "u", "properties": {"x": "y" * MAX_ITEM_BYTES}}

    assert violations(5) == [("item", "must be an object, not a number")]
    assert violations(big)[0][0] == "item" and "Segment's item limit" in violations(big)[0][1]
    assert violations({"userId": "u"}) == [
        ("type", "required: one of track, page, screen, identify, group, alias")
    ]
    assert violations({"type": "login"})[0][0] == "type"


def test_batch_level_fields_of_the_wrong_type_make_each_item_invalid_naming_them() -> None:
    wrong = batch_of({"context": [], "integrations": 1, "sentAt": 5}, RECEIVED, anonymous=False)

    for raw in ITEMS.values():
        with pytest.raises(InvalidInput) as raised:
            map_item(raw, wrong, None)
        assert [(v.field, v.description) for v in raised.value.violations] == [
            ("context", "must be an object, not an array (the batch's)"),
            ("integrations", "must be an object, not a number (the batch's)"),
            ("sentAt", "must be a string, not a number (the batch's)"),
        ]
    assert str(raised.value).startswith("context: must be an object, not an array (the batch's)")


def test_the_domains_violations_are_named_as_the_segment_item_names_its_fields() -> None:
    error = InvalidInput(
        [
            FieldViolation("user_id", "required"),
            FieldViolation("traits.email", "too long"),
            FieldViolation("properties[0]", "x"),
            FieldViolation("message_id", "too long"),
        ]
    )

    assert [v.field for v in segment_violations("track", error).violations] == [
        "userId",
        "context.traits.email",
        "properties[0]",
        "messageId",
    ]
    account = InvalidInput(
        [FieldViolation("account_id", "required"), FieldViolation("properties", "empty")]
    )
    assert [v.field for v in segment_violations("account", account).violations] == [
        "groupId",
        "traits",
    ]


def test_timestamps_with_nanoseconds_and_offsets_as_go_and_java_write_them_are_read() -> None:
    go = mapped(
        {
            "type": "track",
            "event": "E",
            "userId": "u",
            "timestamp": "2026-12-07T09:00:00.123456789+01:00",
        }
    )

    assert isinstance(go.value, TrackInput)
    assert go.value.timestamp == datetime(2026, 12, 7, 8, 0, 0, 123456, tzinfo=UTC)
