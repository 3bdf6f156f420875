from datetime import UTC, datetime

import pytest
from google.protobuf import struct_pb2, timestamp_pb2

from heap_destination.api.mapping.config import settings_from_config
from heap_destination.api.mapping.identify import identify_input
from heap_destination.api.mapping.track import track_input, track_response
from heap_destination.api.mapping.warnings import (
    MAX_LISTED_WARNINGS,
    unlisted_warnings,
    warnings_to_proto,
)
from heap_destination.api.structs.values import MAX_ECHO_BYTES, fits_echo
from heap_destination.domain.destination import DestinationSettings, Region
from heap_destination.domain.heap_calls import HeapEvent, HeapUserProperties
from heap_destination.domain.json_value import FlatProperties
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.track import EventType, PreparedTrack
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import config_pb2, identify_pb2, track_pb2, warnings_pb2
from tests.domain.helpers import destination, violation_fields

MIN_SECONDS = -62_135_596_800
"""0001-01-01T00:00:00Z"""
MAX_SECONDS = 253_402_300_799
"""9999-12-31T23:59:59Z"""


def timestamp(seconds: int, nanos: int = 0) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)


def track_request(**fields: object) -> track_pb2.TrackEventRequest:
    return track_pb2.TrackEventRequest(user_id="user-1", event="Signed Up", **fields)  # type: ignore[arg-type]


def rejected_fields(error: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return violation_fields(error.value.violations)


def prepared_track(
    properties: FlatProperties, user_properties: FlatProperties | None = None
) -> PreparedTrack:
    return PreparedTrack(
        event=HeapEvent("user-1", "Signed Up", properties, "key-1"),
        user_properties=HeapUserProperties("user-1", user_properties)
        if user_properties is not None
        else None,
        warnings=(),
    )


def warnings(count: int) -> list[PropertyWarning]:
    return [
        PropertyWarning("properties", f"key-{n}", WarningReason.EMPTY_VALUE_OMITTED, "empty")
        for n in range(count)
    ]


# track_input


def test_track_input_maps_every_field() -> None:
    properties = struct_pb2.Struct()
    properties.update({"plan": "pro", "seats": 3})
    request = track_request(
        type=track_pb2.EVENT_TYPE_PAGE,
        name="Pricing",
        anonymous_id="anon-1",
        properties=properties,
        timestamp=timestamp(1_700_000_000, 5_000),
        message_id="m-1",
        session_id="s-1",
    )

    mapped = track_input(request)

    assert mapped.type is EventType.PAGE
    assert (mapped.user_id, mapped.anonymous_id, mapped.name) == ("user-1", "anon-1", "Pricing")
    assert mapped.properties == {"plan": "pro", "seats": 3.0}
    assert mapped.timestamp == datetime(2023, 11, 14, 22, 13, 20, 5, tzinfo=UTC)
    assert (mapped.message_id, mapped.session_id) == ("m-1", "s-1")


def test_track_input_takes_an_unset_type_as_track_and_an_unset_timestamp_as_none() -> None:
    mapped = track_input(track_request())

    assert mapped.type is EventType.TRACK
    assert mapped.timestamp is None


def test_track_input_rejects_an_event_type_the_contract_does_not_define() -> None:
    with pytest.raises(InvalidInput) as raised:
        track_input(track_request(type=track_pb2.EventType.ValueType(99)))

    assert rejected_fields(raised) == ["type"]
    assert "99" in raised.value.violations[0].description


@pytest.mark.parametrize(
    "bad",
    [
        timestamp(10**12),
        timestamp(0, nanos=-1),
        timestamp(0, nanos=1_000_000_000),
        timestamp(MAX_SECONDS + 1),
        timestamp(MIN_SECONDS - 1),
    ],
    ids=["year-31690", "negative-nanos", "a-whole-second-of-nanos", "after-9999", "before-0001"],
)
def test_track_input_rejects_a_timestamp_out_of_range(bad: timestamp_pb2.Timestamp) -> None:
    with pytest.raises(InvalidInput) as raised:
        track_input(track_request(timestamp=bad))

    assert rejected_fields(raised) == ["timestamp"]


def test_track_input_names_a_bad_type_and_a_bad_timestamp_at_once() -> None:
    with pytest.raises(InvalidInput) as raised:
        track_input(
            track_request(type=track_pb2.EventType.ValueType(99), timestamp=timestamp(10**12))
        )

    assert rejected_fields(raised) == ["type", "timestamp"]


@pytest.mark.parametrize(
    ("extreme", "expected"),
    [
        (timestamp(MIN_SECONDS), datetime(1, 1, 1, tzinfo=UTC)),
        (
            timestamp(MAX_SECONDS, nanos=999_999_999),
            datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        ),
    ],
    ids=["0001-01-01", "9999-12-31T23:59:59.999999999"],
)
def test_track_input_accepts_the_extremes_of_the_timestamp_range(
    extreme: timestamp_pb2.Timestamp, expected: datetime
) -> None:
    assert track_input(track_request(timestamp=extreme)).timestamp == expected


def test_identify_input_rejects_a_timestamp_out_of_range() -> None:
    request = identify_pb2.IdentifyUserRequest(user_id="user-1", timestamp=timestamp(0, -1))

    with pytest.raises(InvalidInput) as raised:
        identify_input(request)

    assert rejected_fields(raised) == ["timestamp"]


# settings_from_config


def test_settings_from_config_names_an_unknown_region_and_nested_mode_at_once() -> None:
    config = config_pb2.DestinationConfig(
        region=config_pb2.Region.ValueType(99),
        nested_properties_mode=config_pb2.NestedPropertiesMode.ValueType(42),
    )

    with pytest.raises(InvalidInput) as raised:
        settings_from_config(config)

    assert rejected_fields(raised) == ["config.region", "config.nested_properties_mode"]
    descriptions = [v.description for v in raised.value.violations]
    assert "99" in descriptions[0]
    assert "42" in descriptions[1]


def test_settings_from_config_maps_set_fields_and_leaves_unset_ones_none() -> None:
    config = config_pb2.DestinationConfig(
        app_id="1234567890",
        region=config_pb2.REGION_EU,
        nested_properties_mode=config_pb2.NESTED_PROPERTIES_MODE_STRINGIFY,
        anonymous_id_as_identity=False,
    )

    assert settings_from_config(config) == DestinationSettings(
        app_id="1234567890",
        region=Region.EU,
        nested_mode=NestedMode.STRINGIFY,
        anonymous_id_as_identity=False,
    )


# warnings


def test_warnings_to_proto_lists_at_most_twenty_and_counts_the_rest() -> None:
    many = warnings(MAX_LISTED_WARNINGS + 15)

    listed = warnings_to_proto(many)

    assert MAX_LISTED_WARNINGS == 20
    assert [w.key for w in listed] == [f"key-{n}" for n in range(20)]
    assert unlisted_warnings(many) == 15
    assert {w.reason for w in listed} == {warnings_pb2.PROPERTY_WARNING_REASON_EMPTY_VALUE_OMITTED}


def test_warnings_to_proto_lists_every_warning_up_to_twenty_and_counts_none() -> None:
    assert len(warnings_to_proto(warnings(20))) == 20
    assert unlisted_warnings(warnings(20)) == 0
    assert warnings_to_proto([]) == []
    assert unlisted_warnings([]) == 0


def test_a_track_response_lists_twenty_warnings_and_counts_the_rest() -> None:
    track = prepared_track({"plan": "pro"})
    track = PreparedTrack(track.event, None, tuple(warnings(1000)))

    response = track_response(destination(), track)

    assert len(response.warnings) == 20
    assert response.unlisted_warnings == 980


# echoing properties


def test_a_track_response_omits_an_echo_of_a_hundred_thousand_properties() -> None:
    properties: FlatProperties = {f"key-{n}": "v" * 20 for n in range(100_000)}

    response = track_response(destination(), prepared_track(properties))

    assert response.properties_echo_omitted
    assert len(response.properties.fields) == 0
    assert len(response.user_properties.fields) == 0
    assert response.ByteSize() < 10_000


def test_a_track_response_echoes_small_properties_and_user_properties() -> None:
    track = prepared_track({"plan": "pro", "seats": 3}, user_properties={"company": "Acme"})

    response = track_response(destination(), track)

    assert not response.properties_echo_omitted
    assert dict(response.properties.fields.items()) == {
        "plan": struct_pb2.Value(string_value="pro"),
        "seats": struct_pb2.Value(number_value=3),
    }
    assert dict(response.user_properties.fields.items()) == {
        "company": struct_pb2.Value(string_value="Acme")
    }
    assert (response.identity, response.event, response.idempotency_key) == (
        "user-1",
        "Signed Up",
        "key-1",
    )


def test_properties_and_user_properties_count_together_towards_the_echo_bound() -> None:
    half: FlatProperties = {f"key-{n}": "v" * 100 for n in range(MAX_ECHO_BYTES // 2 // 100)}

    assert fits_echo([half])
    assert not fits_echo([half, half])
    response = track_response(destination(), prepared_track(half, user_properties=half))
    assert response.properties_echo_omitted
