"""Track, page and screen calls to the Heap event (and user properties) they become."""

import math
import uuid
from datetime import UTC, datetime

import pytest

from heap_destination.domain.heap_calls import HeapEvent, HeapUserProperties
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason
from heap_destination.domain.track import EventType, PreparedTrack, TrackInput, prepare_track
from heap_destination.domain.violations import FieldViolation, InvalidInput

from .helpers import destination, violation_fields, warning_tuples

WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def track(**fields: object) -> PreparedTrack:
    values: dict[str, object] = {"user_id": "user-1", "event": "Signed Up", "message_id": "m-1"}
    values.update(fields)
    return prepare_track(TrackInput(**values), destination())  # type: ignore[arg-type]


def rejected_fields(**fields: object) -> list[str]:
    return violation_fields(rejected(**fields))


def rejected(**fields: object) -> tuple[FieldViolation, ...]:
    with pytest.raises(InvalidInput) as caught:
        track(**fields)
    return caught.value.violations


def test_track_becomes_one_heap_event() -> None:
    prepared = track(
        properties={"plan": "pro", "seats": 3.0},
        timestamp=WHEN,
        session_id="s-1",
    )

    assert prepared.event == HeapEvent(
        identity="user-1",
        event="Signed Up",
        properties={"plan": "pro", "seats": 3},
        idempotency_key="m-1",
        timestamp=WHEN,
        session_id="s-1",
    )
    assert prepared.user_properties is None
    assert prepared.warnings == ()


def test_track_properties_are_flattened() -> None:
    prepared = track(properties={"foo": {"bar": {"cheese": "american", "prop": [1.0, 2.0]}}})

    assert prepared.event.properties == {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2]"}


def test_track_uses_the_destination_nested_mode() -> None:
    request = TrackInput(user_id="u", event="e", properties={"a": [1.0, True]})

    prepared = prepare_track(request, destination(NestedMode.INDEXED))

    assert prepared.event.properties == {"a.0": "1", "a.1": "true"}


def test_track_identity_is_the_trimmed_user_id() -> None:
    assert track(user_id="  user-1 ").event.identity == "user-1"


def test_track_with_only_anonymous_id_is_rejected_by_default() -> None:
    assert rejected_fields(user_id="", anonymous_id="anon-1") == ["user_id"]


def test_track_with_only_anonymous_id_uses_it_when_the_destination_allows() -> None:
    request = TrackInput(anonymous_id="anon-1", event="e")

    prepared = prepare_track(request, destination(anonymous_id_as_identity=True))

    assert prepared.event.identity == "anon-1"


def test_track_user_id_wins_over_anonymous_id() -> None:
    request = TrackInput(user_id="user-1", anonymous_id="anon-1", event="e")

    prepared = prepare_track(request, destination(anonymous_id_as_identity=True))

    assert prepared.event.identity == "user-1"


def test_track_identity_of_256_characters_is_rejected() -> None:
    assert rejected_fields(user_id="u" * 256) == ["user_id"]


# page and screen


@pytest.mark.parametrize(
    ("event_type", "event_name"),
    [(EventType.PAGE, "Page viewed"), (EventType.SCREEN, "Screen viewed")],
)
def test_page_and_screen_have_a_fixed_event_name_and_a_name_property(
    event_type: EventType, event_name: str
) -> None:
    prepared = track(type=event_type, event="", name="Home", properties={"path": "/"})

    assert prepared.event.event == event_name
    assert prepared.event.properties == {"name": "Home", "path": "/"}
    assert prepared.warnings == ()


def test_page_without_name_has_no_name_property() -> None:
    prepared = track(type=EventType.PAGE, event="", properties={"path": "/"})

    assert prepared.event.event == "Page viewed"
    assert prepared.event.properties == {"path": "/"}


def test_page_name_wins_over_a_name_property_with_collision_warning() -> None:
    prepared = track(type=EventType.PAGE, event="", name="Home", properties={"name": "Other"})

    assert prepared.event.properties == {"name": "Home"}
    assert warning_tuples(prepared.warnings) == [
        ("properties", "name", WarningReason.KEY_COLLISION)
    ]


def test_page_name_property_without_name_field_is_kept() -> None:
    prepared = track(type=EventType.PAGE, event="", properties={"name": "Other"})

    assert prepared.event.properties == {"name": "Other"}
    assert prepared.warnings == ()


def test_page_name_over_1024_characters_is_truncated_with_warning() -> None:
    prepared = track(type=EventType.SCREEN, event="", name="n" * 1025)

    assert prepared.event.properties == {"name": "n" * 1024}
    assert warning_tuples(prepared.warnings) == [
        ("properties", "name", WarningReason.VALUE_TRUNCATED)
    ]


@pytest.mark.parametrize("event_type", [EventType.PAGE, EventType.SCREEN])
def test_event_name_on_page_or_screen_is_rejected(event_type: EventType) -> None:
    assert rejected_fields(type=event_type, event="Custom", name="Home") == ["event"]


def test_name_on_plain_track_is_rejected() -> None:
    assert rejected_fields(type=EventType.TRACK, name="Home") == ["name"]


# event name


@pytest.mark.parametrize("event", ["", " ", "\t\n "])
def test_empty_or_whitespace_event_name_is_rejected(event: str) -> None:
    assert rejected_fields(event=event) == ["event"]


def test_event_name_of_1024_characters_is_accepted() -> None:
    assert track(event="e" * 1024).event.event == "e" * 1024


def test_event_name_of_1025_characters_is_rejected() -> None:
    assert rejected_fields(event="e" * 1025) == ["event"]


def test_event_name_keeps_non_ascii() -> None:
    assert track(event="Commande passée ✓").event.event == "Commande passée ✓"


@pytest.mark.parametrize("event", ["\u200b", "\u3000\u00a0", "\ufeff \u2060", "\u00ad\u180e"])
def test_event_name_of_only_invisible_characters_is_required(event: str) -> None:
    (violation,) = rejected(event=event)

    assert violation == FieldViolation("event", "required: the event name must not be empty")


@pytest.mark.parametrize(
    "event", ["Signed\nUp", "Signed Up\n", "\tSigned Up", "Signed\x00Up", "Signed\x7fUp", "\x85Up"]
)
def test_event_name_with_a_control_character_is_rejected(event: str) -> None:
    (violation,) = rejected(event=event)

    assert violation.field == "event"
    assert "must not contain control characters" in violation.description


@pytest.mark.parametrize("event", [" Signed Up ", "\u200bSigned Up", "Signed\u200dUp\ufeff"])
def test_valid_event_name_is_sent_exactly_as_given(event: str) -> None:
    assert track(event=event).event.event == event


def test_over_long_event_name_is_quoted_safely_in_the_description() -> None:
    (violation,) = rejected(event="\u200b" + "e" * 1030)

    assert violation.field == "event"
    assert "at most 1024 characters (this one has 1031: '\\u200b" + "e" * 34 + "…')" in (
        violation.description
    )


def test_page_name_may_hold_control_and_invisible_characters() -> None:
    prepared = track(type=EventType.PAGE, event="", name="Home\n\x00\u200b")

    assert prepared.event.properties == {"name": "Home\n\x00\u200b"}


# idempotency, session, timestamp


def test_message_id_becomes_the_idempotency_key() -> None:
    assert track(message_id="msg-42").event.idempotency_key == "msg-42"


@pytest.mark.parametrize("message_id", ["", "  "])
def test_idempotency_key_is_generated_when_message_id_is_empty(message_id: str) -> None:
    key = track(message_id=message_id).event.idempotency_key

    assert str(uuid.UUID(key)) == key


def test_generated_idempotency_key_is_unique_per_call() -> None:
    keys = {track(message_id="").event.idempotency_key for _ in range(50)}

    assert len(keys) == 50


def test_same_message_id_gives_the_same_idempotency_key() -> None:
    assert (
        track(message_id="m").event.idempotency_key == track(message_id="m").event.idempotency_key
    )


def test_session_id_is_passed_through() -> None:
    assert track(session_id="sess-9").event.session_id == "sess-9"


def test_empty_session_id_becomes_none() -> None:
    assert track(session_id="").event.session_id is None


def test_timestamp_is_passed_through() -> None:
    assert track(timestamp=WHEN).event.timestamp == WHEN


def test_missing_timestamp_stays_none() -> None:
    assert track().event.timestamp is None


# traits


def test_traits_become_user_properties_of_the_identity() -> None:
    prepared = track(traits={"email": "ada@example.com", "address": {"city": "Paris"}})

    assert prepared.user_properties == HeapUserProperties(
        identity="user-1", properties={"email": "ada@example.com", "address.city": "Paris"}
    )


def test_no_traits_means_no_user_properties() -> None:
    assert track(traits={}).user_properties is None


def test_traits_that_flatten_to_nothing_mean_no_user_properties() -> None:
    prepared = track(traits={"gone": None})

    assert prepared.user_properties is None
    assert warning_tuples(prepared.warnings) == [
        ("traits", "gone", WarningReason.EMPTY_VALUE_OMITTED)
    ]


def test_id_trait_is_omitted_with_warning() -> None:
    prepared = track(traits={"id": "x", "plan": "pro"})

    assert prepared.user_properties == HeapUserProperties("user-1", {"plan": "pro"})
    assert warning_tuples(prepared.warnings) == [
        ("traits", "id", WarningReason.RESERVED_KEY_OMITTED)
    ]


def test_traits_do_not_change_the_event_properties() -> None:
    prepared = track(properties={"a": "1"}, traits={"b": "2"})

    assert prepared.event.properties == {"a": "1"}


def test_property_warnings_come_before_trait_warnings() -> None:
    prepared = track(properties={"p": None}, traits={"t": None})

    assert warning_tuples(prepared.warnings) == [
        ("properties", "p", WarningReason.EMPTY_VALUE_OMITTED),
        ("traits", "t", WarningReason.EMPTY_VALUE_OMITTED),
    ]


# violations


def test_non_finite_property_is_rejected_naming_its_path() -> None:
    assert rejected_fields(properties={"a": {"b": math.nan}}) == ["properties.a.b"]


def test_non_finite_trait_is_rejected_naming_its_path() -> None:
    assert rejected_fields(traits={"score": math.inf}) == ["traits.score"]


def test_over_long_property_key_is_rejected() -> None:
    assert rejected_fields(properties={"k" * 1025: "v"}) == ["properties." + "k" * 40 + "…"]


def test_violations_of_several_fields_are_reported_together() -> None:
    fields = rejected_fields(
        user_id="",
        event=" ",
        properties={"p": math.nan},
        traits={"t": math.inf},
    )

    assert fields == ["user_id", "event", "properties.p", "traits.t"]


def test_page_violations_are_reported_together() -> None:
    fields = rejected_fields(type=EventType.PAGE, user_id="", event="Custom")

    assert fields == ["user_id", "event"]


def test_invalid_input_message_names_each_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        track(user_id="", event="")

    assert str(caught.value).startswith("user_id: ")
    assert "; event: " in str(caught.value)


def test_message_id_of_1024_characters_is_the_idempotency_key() -> None:
    assert track(event="E", user_id="u1", message_id="k" * 1024).event.idempotency_key == (
        "k" * 1024
    )


def test_message_id_over_1024_characters_is_rejected() -> None:
    assert rejected_fields(event="E", user_id="u1", message_id="k" * 1025) == ["message_id"]
