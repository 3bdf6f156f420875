"""Protobuf messages written byte by byte: for what protobuf itself cannot build, such as
values nested deeper than it can decode (about 32 levels) or strings that are not UTF-8."""

from tests.conftest import APP_ID


def field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def nested_struct(levels: int) -> bytes:
    """A google.protobuf.Struct whose property "a" holds `levels` objects, one inside the
    other."""
    value = field(3, b"x")  # Value.string_value
    for _ in range(levels):
        value = field(5, field(1, field(1, b"a") + field(2, value)))  # Value.struct_value
    return field(1, field(1, b"a") + field(2, value))  # Struct.fields["a"] = value


def deep_track(levels: int) -> bytes:
    """A TrackEventRequest for the test app whose properties are nested_struct(levels)."""
    config = field(1, field(1, APP_ID.encode()))  # config.app_id
    return config + field(2, b"u1") + field(4, b"Deep") + field(7, nested_struct(levels))


def stream_event(event_id: str, kind: int, request: bytes) -> bytes:
    """A StreamEventsRequest holding one event: `request` as its kind, field 2 for a track
    and 3 for an identify. Concatenated, such messages are one message of their events."""
    return field(1, field(1, event_id.encode()) + field(kind, request))


def deep_stream_message(levels: int) -> bytes:
    """A StreamEventsRequest whose one event, "deep", is deep_track(levels)."""
    return stream_event("deep", 2, deep_track(levels))
