"""A stream's messages decode to the contract's twin with Struct fields as bytes: the same
fields, and each Struct exactly the bytes the caller sent."""

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from heap_destination.api.structs.bytes_messages import (
    StreamEventsRequestWithStructBytes,
    structs_as_bytes,
)
from heap_destination.client import track_event
from heap_destination.v1 import config_pb2, identify_pb2, stream_pb2
from tests.support.protobuf_bytes import field

STRUCT = struct_pb2.Struct.DESCRIPTOR.full_name


def _fields(
    descriptor: Descriptor, seen: frozenset[str] = frozenset()
) -> list[tuple[str, int, int]]:
    """Every field reachable from `descriptor`: its path, number and type, a Struct
    counted as bytes."""
    fields: list[tuple[str, int, int]] = []
    for each in descriptor.fields:
        message = each.message_type
        if message is not None and message.full_name == STRUCT:
            fields.append((each.name, each.number, FieldDescriptor.TYPE_BYTES))
            continue
        fields.append((each.name, each.number, each.type))
        if message is not None and message.full_name not in seen:
            nested = _fields(message, seen | {descriptor.full_name})
            fields += [(f"{each.name}.{name}", number, kind) for name, number, kind in nested]
    return fields


def test_the_twin_has_the_contracts_fields_with_structs_as_bytes() -> None:
    contract = _fields(stream_pb2.StreamEventsRequest.DESCRIPTOR)

    assert _fields(StreamEventsRequestWithStructBytes.DESCRIPTOR) == contract
    assert ("events.track.properties", 7, FieldDescriptor.TYPE_BYTES) in contract
    assert len(contract) > 40


def test_a_stream_message_decodes_with_each_struct_as_the_bytes_sent() -> None:
    track = track_event("1", "Signed Up", user_id="u1", properties={"plan": "pro", "seats": 3})
    identify = stream_pb2.Event(
        id="2", identify=identify_pb2.IdentifyUserRequest(user_id="u1", traits={"a": [1, "b"]})
    )
    message = stream_pb2.StreamEventsRequest(
        events=[track, identify], config=config_pb2.DestinationConfig(app_id="123")
    )
    data = message.SerializeToString()

    twin = StreamEventsRequestWithStructBytes.FromString(data)

    properties, traits = twin.events[0].track.properties, twin.events[1].identify.traits
    assert struct_pb2.Struct.FromString(properties) == track.track.properties
    assert struct_pb2.Struct.FromString(traits) == identify.identify.traits
    assert properties in data and traits in data  # the bytes sent, as they were sent
    assert twin.events[0].track.traits == b""
    assert twin.events[0].track.user_id == "u1" and twin.events[1].id == "2"
    assert twin.config == message.config


def test_bytes_that_are_not_a_struct_still_decode_as_their_field() -> None:
    not_a_struct = b"\xff\xfe\x00"
    event = field(1, field(1, b"odd") + field(2, field(7, not_a_struct)))

    twin = StreamEventsRequestWithStructBytes.FromString(event)

    assert twin.events[0].track.properties == not_a_struct


def test_messages_without_a_struct_are_the_contracts_own() -> None:
    twin = StreamEventsRequestWithStructBytes()

    assert isinstance(twin.config, config_pb2.DestinationConfig)
    assert structs_as_bytes(config_pb2.DestinationConfig.DESCRIPTOR) is config_pb2.DestinationConfig
