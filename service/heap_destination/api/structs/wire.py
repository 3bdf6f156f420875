"""A protobuf Struct's plain values, read from its wire bytes in one pass.

What struct_values.struct_to_dict gives for the same Struct, without a Python object per
Struct and Value along the way: reading the bytes protobuf serializes a Struct to is
several times faster than reading the same values through protobuf's Python API (this
module is compiled to C with the rest of the per-event code; see setup.py).

It reads only what protobuf's serializers write for a valid Struct (each field once, in
field-number order), as a stream's Structs come from callers; anything else (an unknown
field, a field out of place, nesting past MAX_WIRE_DEPTH) raises NotPlainStruct, and the
caller reads the Struct through the Python API instead. tests/fuzz/test_struct_wire.py
checks both agree over random values and mutated bytes.
"""

import struct as binary
from typing import Final

from heap_destination.api.structs.wire_tags import (
    BOOL,
    ENTRY,
    ENTRY_VALUE,
    LIST,
    NULL,
    NUMBER,
    STRING,
    STRUCT,
)
from heap_destination.domain.json_value import JsonValue

MAX_WIRE_DEPTH: Final = 128
"""Structs and lists nested deeper are left to the Python API (protobuf itself refuses
messages nested past 100 levels)."""

_read_double = binary.Struct("<d").unpack_from


class NotPlainStruct(Exception):
    """The bytes hold something this reader leaves to protobuf's Python API."""


def struct_from_wire(data: bytes) -> dict[str, JsonValue]:
    """The values of the Struct serialized as `data`."""
    return _struct(data, 0, len(data), 0)


def _struct(data: bytes, start: int, end: int, depth: int) -> dict[str, JsonValue]:
    if depth > MAX_WIRE_DEPTH:
        raise NotPlainStruct("nested too deep")
    values: dict[str, JsonValue] = {}
    at = start
    while at < end:
        if data[at] != ENTRY:
            raise NotPlainStruct(f"tag {data[at]} in a Struct")
        at, entry_end = _length_delimited(data, at + 1, end)
        key = ""
        value: JsonValue = None
        if at < entry_end and data[at] == ENTRY:
            at, key_end = _length_delimited(data, at + 1, entry_end)
            key = _text(data, at, key_end)
            at = key_end
        if at < entry_end and data[at] == ENTRY_VALUE:
            at, value_end = _length_delimited(data, at + 1, entry_end)
            value = _value(data, at, value_end, depth + 1)
            at = value_end
        if at != entry_end:
            raise NotPlainStruct("a Struct entry with other fields")
        values[key] = value
    return values


def _value(data: bytes, start: int, end: int, depth: int) -> JsonValue:
    if start == end:
        return None  # no kind set
    tag = data[start]
    at = start + 1
    value: JsonValue
    if tag == STRING:
        at, value_end = _length_delimited(data, at, end)
        value = _text(data, at, value_end)
        at = value_end
    elif tag == NUMBER:
        if at + 8 > end:
            raise NotPlainStruct("a number cut short")
        value = _read_double(data, at)[0]
        at += 8
    elif tag == BOOL:
        if at >= end or data[at] > 1:
            raise NotPlainStruct("a bool that is not 0 or 1")
        value = data[at] == 1
        at += 1
    elif tag == STRUCT:
        at, value_end = _length_delimited(data, at, end)
        value = _struct(data, at, value_end, depth + 1)
        at = value_end
    elif tag == LIST:
        at, value_end = _length_delimited(data, at, end)
        value = _list(data, at, value_end, depth + 1)
        at = value_end
    elif tag == NULL:
        if at >= end or data[at] != 0:
            raise NotPlainStruct("a null_value that is not NULL_VALUE")
        value = None
        at += 1
    else:
        raise NotPlainStruct(f"tag {tag} in a Value")
    if at != end:
        raise NotPlainStruct("a Value with more than one field")
    return value


def _list(data: bytes, start: int, end: int, depth: int) -> list[JsonValue]:
    if depth > MAX_WIRE_DEPTH:
        raise NotPlainStruct("nested too deep")
    items: list[JsonValue] = []
    at = start
    while at < end:
        if data[at] != ENTRY:
            raise NotPlainStruct(f"tag {data[at]} in a ListValue")
        at, item_end = _length_delimited(data, at + 1, end)
        items.append(_value(data, at, item_end, depth + 1))
        at = item_end
    return items


def _text(data: bytes, start: int, end: int) -> str:
    try:
        return data[start:end].decode()
    except UnicodeDecodeError as error:
        raise NotPlainStruct("text that is not UTF-8") from error


def _length_delimited(data: bytes, at: int, end: int) -> tuple[int, int]:
    """Reads the length (a varint) at `at`: where the content starts, and where it ends."""
    length = 0
    shift = 0
    while True:
        if at >= end or shift > 28:
            raise NotPlainStruct("a length cut short or too long")
        byte = data[at]
        at += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    if at + length > end:
        raise NotPlainStruct("a length past the end")
    return at, at + length
