"""google.protobuf.Struct to plain values and back, keeping NaN and infinities visible."""

from collections.abc import Sequence

from google.protobuf import struct_pb2

from heap_destination.api.structs.struct_writer import struct_wire
from heap_destination.domain.json_value import FlatProperties, FlatScalar, JsonValue

# A response echoes the flat properties it sent only up to this size, so that it stays
# well under the 4 MiB a gRPC client accepts by default.
MAX_ECHO_BYTES = 1 << 20


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, JsonValue]:
    fields = struct.fields
    return {key: value_to_python(fields[key]) for key in fields}


def value_to_python(value: struct_pb2.Value) -> JsonValue:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        return value.number_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_dict(value.struct_value)
    if kind == "list_value":
        return [value_to_python(item) for item in value.list_value.values]
    return None


def flat_to_struct(properties: FlatProperties) -> struct_pb2.Struct:
    """A Struct of flat properties: a native array (numbers and strings) as a ListValue."""
    return struct_pb2.Struct.FromString(struct_wire(properties))


def fits_echo(properties: Sequence[FlatProperties | None]) -> bool:
    """Whether these flat properties together fit in MAX_ECHO_BYTES (as a Struct holds
    them, about: keys, values and a few bytes of framing each, and each item of an array
    as a value)."""
    size = 0
    for flat in properties:
        for key, value in (flat or {}).items():
            if isinstance(value, list):
                value_size = sum(_scalar_size(item) + 2 for item in value) + 4
            else:
                value_size = _scalar_size(value)
            size += len(key.encode()) + value_size + 8
            if size > MAX_ECHO_BYTES:
                return False
    return True


def _scalar_size(value: FlatScalar) -> int:
    return len(value.encode()) if isinstance(value, str) else 9
