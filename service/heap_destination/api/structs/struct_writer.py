"""Flat properties as the wire bytes of a protobuf Struct, written in one pass.

A response echoes an event's flat properties as a Struct. Setting a Struct's fields one
by one through protobuf's Python API costs a Python call per key and per value; parsing
the same Struct from bytes written here is done by protobuf in C (this module is compiled
with the rest of the per-event code; see setup.py): for 51 properties, 11 µs instead of
17 µs. The Struct parsed from struct_wire's bytes equals the one set field by field
(tests/api/test_struct_writer.py).
"""

import struct as binary
from typing import Final

from heap_destination.api.structs.wire_tags import BOOL, ENTRY, ENTRY_VALUE, LIST, NUMBER, STRING
from heap_destination.domain.json_value import FlatProperties, FlatScalar

_pack_double = binary.Struct("<d").pack
_SHORT: Final = tuple(bytes([n]) for n in range(0x80))
_ENTRY_BYTE: Final = _SHORT[ENTRY]
_ENTRY_VALUE_BYTE: Final = _SHORT[ENTRY_VALUE]
_NUMBER_BYTE: Final = _SHORT[NUMBER]
_STRING_BYTE: Final = _SHORT[STRING]
_TRUE: Final = bytes([BOOL, 1])
_FALSE: Final = bytes([BOOL, 0])


def struct_wire(properties: FlatProperties) -> bytes:
    """The wire bytes of the Struct holding `properties`."""
    pieces: list[bytes] = []
    for key, value in properties.items():
        key_bytes = key.encode()
        key_length = _varint(len(key_bytes))
        if isinstance(value, str):
            # The common case, written without an intermediate Value's bytes.
            text = value.encode()
            text_length = _varint(len(text))
            value_length = _varint(1 + len(text_length) + len(text))
            entry_length = (
                3 + len(key_length) + len(key_bytes) + len(value_length)
                + len(text_length) + len(text)
            )  # fmt: skip
            pieces += (
                _ENTRY_BYTE,
                _varint(entry_length),
                _ENTRY_BYTE,
                key_length,
                key_bytes,
                _ENTRY_VALUE_BYTE,
                value_length,
                _STRING_BYTE,
                text_length,
                text,
            )
            continue
        if isinstance(value, list):
            items = b"".join([_wrapped(ENTRY, _list_item(item)) for item in value])
            # As `list_value.extend([])` leaves it: a Value with no kind set.
            value_bytes = _wrapped(LIST, items) if items else b""
        else:
            value_bytes = _scalar(value)
        value_length = _varint(len(value_bytes))
        entry_length = 2 + len(key_length) + len(key_bytes) + len(value_length) + len(value_bytes)
        pieces += (
            _ENTRY_BYTE,
            _varint(entry_length),
            _ENTRY_BYTE,
            key_length,
            key_bytes,
            _ENTRY_VALUE_BYTE,
            value_length,
            value_bytes,
        )
    return b"".join(pieces)


def _scalar(value: FlatScalar) -> bytes:
    """A Value as `number_value = value` or `string_value = value` sets it."""
    if isinstance(value, str):
        return _wrapped(STRING, value.encode())
    return _NUMBER_BYTE + _pack_double(float(value))


def _list_item(item: FlatScalar) -> bytes:
    """A Value as ListValue.extend makes it of `item` (a bool is a bool_value there)."""
    if isinstance(item, bool):
        return _TRUE if item else _FALSE
    return _scalar(item)


def _wrapped(tag: int, content: bytes) -> bytes:
    """A length-delimited field: its tag, the content's length, the content."""
    return b"".join((_SHORT[tag], _varint(len(content)), content))


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SHORT[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
