"""google.protobuf.Struct to plain values and back, keeping NaN and infinities visible."""

from google.protobuf import struct_pb2

from heap_destination.domain.json_value import FlatProperties, JsonValue


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
    struct = struct_pb2.Struct()
    for key, value in properties.items():
        if isinstance(value, str):
            struct.fields[key].string_value = value
        else:
            struct.fields[key].number_value = value
    return struct
