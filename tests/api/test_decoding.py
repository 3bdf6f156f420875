from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from heap_destination.api.decoding import (
    UndecodableMessage,
    decoded_messages,
    safe_deserializer,
    undecodable_request,
)
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import track_pb2

INVALID_UTF8_USER_ID = b"\x12\x03\xff\xfe\xfd"
"""A TrackEventRequest whose user_id (field 2) holds bytes that are not UTF-8."""

decode_track = safe_deserializer(track_pb2.TrackEventRequest.FromString)


def nested_properties(levels: int) -> bytes:
    """A TrackEventRequest whose properties nest `levels` Structs deep."""
    request = track_pb2.TrackEventRequest(user_id="user-1", event="Signed Up")
    inner = request.properties
    for _ in range(levels):
        inner = inner.fields["deeper"].struct_value
    inner.fields["leaf"].string_value = "bottom"
    return request.SerializeToString()


async def stream_of(messages: Iterable[Any]) -> AsyncIterator[Any]:
    for message in messages:
        yield message


def test_a_valid_message_is_decoded() -> None:
    sent = track_pb2.TrackEventRequest(user_id="user-1", event="Signed Up", message_id="m-1")

    decoded = decode_track(sent.SerializeToString())

    assert decoded == sent


def test_a_string_that_is_not_utf8_becomes_an_undecodable_message_naming_utf8() -> None:
    decoded = decode_track(INVALID_UTF8_USER_ID)

    assert isinstance(decoded, UndecodableMessage)
    assert "UTF-8" in decoded.problem


def test_properties_nested_forty_levels_become_an_undecodable_message_naming_nesting() -> None:
    decoded = decode_track(nested_properties(40))

    assert isinstance(decoded, UndecodableMessage)
    assert "nests too deeply" in decoded.problem


def test_properties_nested_a_little_deeper_than_the_domain_allows_still_decode() -> None:
    # The domain reports these itself, naming the property; decoding must not get there first.
    decoded = decode_track(nested_properties(25))

    assert isinstance(decoded, track_pb2.TrackEventRequest)


def test_bytes_that_are_no_protobuf_message_become_an_undecodable_message() -> None:
    decoded = decode_track(b"\xff\xff\xff\xff")

    assert isinstance(decoded, UndecodableMessage)
    assert "cannot be decoded as a protobuf message" in decoded.problem


def test_without_a_deserializer_the_bytes_pass_through() -> None:
    assert safe_deserializer(None)(INVALID_UTF8_USER_ID) == INVALID_UTF8_USER_ID


def test_an_undecodable_unary_request_is_invalid_input_on_the_request() -> None:
    message = UndecodableMessage("cannot be decoded: a string field is not valid UTF-8")

    error = undecodable_request(message)

    assert [(v.field, v.description) for v in error.violations] == [("request", message.problem)]


async def test_a_stream_yields_the_messages_before_the_first_undecodable_one_then_raises() -> None:
    first = track_pb2.TrackEventRequest(event="first")
    second = track_pb2.TrackEventRequest(event="second")
    bad = decode_track(INVALID_UTF8_USER_ID)
    never = track_pb2.TrackEventRequest(event="never")
    received: list[Any] = []

    with pytest.raises(InvalidInput) as raised:
        async for message in decoded_messages(stream_of([first, second, bad, never])):
            received.append(message)

    assert received == [first, second]
    assert [v.field for v in raised.value.violations] == ["message 3"]
    assert "UTF-8" in raised.value.violations[0].description


async def test_a_stream_of_good_messages_is_yielded_whole() -> None:
    messages = [track_pb2.TrackEventRequest(event=f"e-{n}") for n in range(5)]

    received = [message async for message in decoded_messages(stream_of(messages))]

    assert received == messages


async def test_an_undecodable_first_message_is_message_1() -> None:
    bad = decode_track(nested_properties(40))

    with pytest.raises(InvalidInput) as raised:
        async for _ in decoded_messages(stream_of([bad])):
            pass

    assert [v.field for v in raised.value.violations] == ["message 1"]
