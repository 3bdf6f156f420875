"""A careless or hostile caller: every bad value is INVALID_ARGUMENT naming the field,
never UNKNOWN; one bad event never ends a stream; bytes that do not decode are answered
in the service's own words."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from heap_destination.client import (
    HeapDestinationClient,
    error_details,
    in_messages,
    track_event,
)
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, errors_pb2, stream_pb2, track_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.protobuf_bytes import deep_track, field, nested_struct, stream_event
from tests.support.simulator_api import accepted, tracked_events
from tests.support.streaming import stream

CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)
STREAM_METHOD = "/heap_destination.v1.HeapDestinationService/StreamEvents"
TRACK_METHOD = "/heap_destination.v1.HeapDestinationService/TrackEvent"
INVALID_UTF8_USER_ID = b"\x12\x03\xff\xfe\xfd"  # field 2 (user_id) holding bytes that are not UTF-8
INTERNAL_WORDS = ("upb", "DecodeError", "Traceback", "Unexpected", "MaxDepth")


def _good(first: int, count: int) -> list[stream_pb2.Event]:
    return [track_event(str(i), "Signed Up", user_id=f"u{i % 50}") for i in range(first, count)]


def _nested(levels: int) -> struct_pb2.Struct:
    """A Struct whose property "a" holds `levels` objects, one inside the other."""
    return struct_pb2.Struct.FromString(nested_struct(levels))


def _raw_stream(target: str, messages: Iterable[bytes]) -> tuple[list[Any], grpc.RpcError | None]:
    """Sends raw message bytes over StreamEvents; returns the results and the error, if any."""
    results: list[Any] = []
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(STREAM_METHOD, request_serializer=None)
        try:
            for response in call(iter(messages), timeout=60):
                results.extend(stream_pb2.StreamEventsResponse.FromString(response).results)
        except grpc.RpcError as error:
            return results, error
    return results, None


def _message_bytes(events: list[stream_pb2.Event], config: bool = False) -> bytes:
    message = stream_pb2.StreamEventsRequest(events=events)
    if config:
        message.config.CopyFrom(CONFIG)
    return message.SerializeToString()


def test_an_out_of_range_timestamp_fails_alone_and_the_stream_goes_on(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    bad = track_event("bad", "Signed Up", user_id="u1")
    bad.track.timestamp.seconds = 10**12
    events = [*_good(0, 1000), bad, *_good(1000, 2000)]

    results = stream(service.target, in_messages(events, 500, CONFIG))

    assert Counter(r.id for r in results) == Counter(e.id for e in events)
    by_id = {r.id: r for r in results}
    assert by_id["bad"].code == code_pb2.INVALID_ARGUMENT
    assert by_id["bad"].error_reason == errors_pb2.ERROR_REASON_INVALID_EVENT
    assert [v.field for v in by_id["bad"].field_violations] == ["timestamp"]
    assert {r.code for r in results if r.id != "bad"} == {code_pb2.OK}
    assert len(tracked_events(simulator.url)) == 2000


@pytest.mark.parametrize(
    "bad_message",
    [
        pytest.param(
            field(1, b"\x0a\x01x" + field(2, INVALID_UTF8_USER_ID)),
            id="invalid UTF-8",
        ),
        pytest.param(field(1, field(1, b"cut") + field(2, b""))[:-1], id="cut short"),
    ],
)
def test_a_message_that_cannot_be_decoded_ends_the_stream_after_every_earlier_result(
    service: BackgroundService, simulator: HeapSimulator, bad_message: bytes
) -> None:
    earlier = _good(0, 700)
    messages = [
        _message_bytes(earlier[:500], config=True),
        _message_bytes(earlier[500:]),
        bad_message,
        _message_bytes(_good(700, 800)),
    ]

    results, error = _raw_stream(service.target, messages)

    assert error is not None
    details = error_details(error)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert list(details.field_violations) == ["message 3"]
    assert not any(word in details.message for word in INTERNAL_WORDS), details.message
    assert Counter(r.id for r in results) == Counter(e.id for e in earlier)
    assert {r.code for r in results} == {code_pb2.OK}
    assert len(tracked_events(simulator.url)) == 700


@pytest.mark.parametrize(
    ("struct_bytes", "problem"),
    [
        (field(1, field(1, b"\xff\xfe") + field(2, field(3, b"x"))), "not valid UTF-8"),
        (b"\x0a\x09\x0a\x01a", "cannot be decoded as a google.protobuf.Struct"),
        (nested_struct(70), "nests too deeply"),
        (nested_struct(20_000), "nests too deeply"),
        (nested_struct(40), "20 levels"),
    ],
    ids=[
        "a key not UTF-8",
        "cut short",
        "nested past what protobuf decodes",
        "nested 20,000 levels",
        "past the limit",
    ],
)
def test_properties_or_traits_that_are_not_a_struct_fail_their_event_alone(
    service: BackgroundService, simulator: HeapSimulator, struct_bytes: bytes, problem: str
) -> None:
    """A stream decodes each event's Structs on its own, so one that cannot be decoded
    is its event's violation, not the end of the stream."""
    track = field(2, b"u1") + field(4, b"Odd") + field(7, struct_bytes)  # properties
    identify = field(2, b"u1") + field(4, struct_bytes)  # traits
    message = (
        _message_bytes(_good(0, 5), config=True)
        + stream_event("bad track", 2, track)
        + stream_event("bad identify", 3, identify)
        + _message_bytes(_good(5, 10))
    )

    results, error = _raw_stream(service.target, [message, _message_bytes(_good(10, 20))])

    assert error is None, error_details(error)
    by_id = {r.id: r for r in results}
    assert len(results) == 22
    for event_id, field_name in (("bad track", "properties"), ("bad identify", "traits")):
        assert by_id[event_id].code == code_pb2.INVALID_ARGUMENT, by_id[event_id]
        [violation] = by_id[event_id].field_violations
        assert violation.field.startswith(field_name)
        assert problem in violation.description
        assert not any(word in violation.description for word in INTERNAL_WORDS)
    assert {r.code for r in results if not r.id.startswith("bad")} == {code_pb2.OK}
    assert len(tracked_events(simulator.url)) == 20


def test_a_value_nested_past_the_limit_but_decodable_fails_alone(
    service: BackgroundService,
) -> None:
    deep = stream_pb2.Event(
        id="deep",
        track=track_pb2.TrackEventRequest(user_id="u1", event="Deep", properties=_nested(25)),
    )

    results = stream(service.target, in_messages([*_good(0, 10), deep], 500, CONFIG))

    by_id = {r.id: r for r in results}
    assert len(results) == 11
    assert by_id["deep"].code == code_pb2.INVALID_ARGUMENT
    assert "20 levels" in by_id["deep"].field_violations[0].description
    assert by_id["0"].code == code_pb2.OK


@pytest.mark.parametrize(
    ("request_bytes", "problem"),
    [
        (INVALID_UTF8_USER_ID, "UTF-8"),
        (deep_track(40), "nests too deeply"),
        (b"\xff\xff\xff\xff", "cannot be decoded"),
    ],
)
def test_unary_bytes_that_cannot_be_decoded_are_invalid_argument(
    service: BackgroundService, request_bytes: bytes, problem: str
) -> None:
    with grpc.insecure_channel(service.target) as channel:
        call = channel.unary_unary(TRACK_METHOD, request_serializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(request_bytes, timeout=10)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "INVALID_EVENT"
    assert problem in details.field_violations["request"]
    assert not any(word in details.message for word in INTERNAL_WORDS), details.message


@pytest.mark.parametrize(
    ("track", "field"),
    [
        (track_pb2.TrackEventRequest(user_id="u1", event="E", type=99), "type"),  # type: ignore[arg-type]
        (
            track_pb2.TrackEventRequest(
                config=config_pb2.DestinationConfig(app_id=APP_ID, region=99),  # type: ignore[arg-type]
                user_id="u1",
                event="E",
            ),
            "config.region",
        ),
        (
            track_pb2.TrackEventRequest(
                config=config_pb2.DestinationConfig(
                    app_id=APP_ID,
                    nested_properties_mode=7,  # type: ignore[arg-type]
                ),
                user_id="u1",
                event="E",
            ),
            "config.nested_properties_mode",
        ),
    ],
)
def test_enum_values_the_contract_does_not_define_are_rejected(
    service: BackgroundService, simulator: HeapSimulator, track: Any, field: str
) -> None:
    if not track.config.app_id:
        track.config.app_id = APP_ID
    with grpc.insecure_channel(service.target) as channel:
        call = channel.unary_unary(TRACK_METHOD, request_serializer=None)
        with pytest.raises(grpc.RpcError) as raised:
            call(track.SerializeToString(), timeout=10)
    results = stream(
        service.target,
        [stream_pb2.StreamEventsRequest(events=[stream_pb2.Event(id="1", track=track)])],
    )

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details.field_violations
    assert [v.field for v in results[0].field_violations] == [field]
    assert accepted(simulator.url) == []


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.track("E", user_id="\u3000\u00a0 "), "user_id"),
        (lambda c: c.track("E", user_id="\u200b\u200c\ufeff"), "user_id"),
        (lambda c: c.track("E", user_id="user\x001"), "user_id"),
        (lambda c: c.track("Signed\x00Up", user_id="u1"), "event"),
        (lambda c: c.track("E", user_id="u1", properties={"a\x00b": 1}), "properties.a\\x00b"),
        (lambda c: c.identify(user_id="\u2060", traits={"plan": "pro"}), "user_id"),
    ],
)
def test_blank_and_control_characters_are_rejected_naming_thefield(
    client: HeapDestinationClient, simulator: HeapSimulator, call: Any, field: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        call(client)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in details.field_violations, details.field_violations
    assert accepted(simulator.url) == []


def test_heap_user_id_is_sent_in_canonical_form(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    response = client.identify(user_id="u1", heap_user_id=" 007 ")

    identifies = [r["body"] for r in accepted(simulator.url) if r["path"] == "/api/v1/identify"]
    assert response.heap_user_id == "7"
    assert [body["user_id"] for body in identifies] == ["7"]


def test_hundreds_of_bad_properties_give_an_error_a_client_can_read(
    client: HeapDestinationClient,
) -> None:
    properties = {f"score-{i:04}-" + "é" * 60: float("nan") for i in range(500)}

    with pytest.raises(grpc.RpcError) as raised:
        client.track("E", user_id="u1", properties=properties)

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert 0 < len(details.field_violations) < 500
    status = rpc_status.from_call(raised.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    listed = len(details.field_violations)
    assert info.metadata["unlisted_field_violations"] == str(500 - listed)
    trailer = raised.value.trailing_metadata()
    assert sum(len(k) + len(v) for k, v in trailer) < 8192
    assert "(and 497 more)" in details.message


def test_over_long_ids_are_rejected_and_echoed_cut(service: BackgroundService) -> None:
    long_id = track_event("x" * 5000, "Signed Up", user_id="u1")
    long_message_id = track_event("m", "Signed Up", user_id="u1", message_id="k" * 1025)

    results = stream(service.target, in_messages([long_id, long_message_id], 10, CONFIG))

    by_id = {r.id: r for r in results}
    assert set(by_id) == {"x" * 1024, "m"}
    assert [v.field for v in by_id["x" * 1024].field_violations] == ["id"]
    assert [v.field for v in by_id["m"].field_violations] == ["message_id"]
