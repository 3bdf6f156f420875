"""A request's protobuf Struct as the domain's PropertySource.

A Struct is read into plain values, and the domain's flattener (domain.flatten.flatten)
flattens them: the same rules for a Struct as for plain values, in every nested mode,
with native arrays and without (tests/fuzz/test_struct_flatten.py checks that over
random values). Its values are read whichever way is faster where it runs:

- compiled (see setup.py): from its wire bytes (wire.py). A Struct the wire reader
  leaves alone (one carrying unknown fields, say) is read through protobuf's Python API
  instead (values.py).
- as pure Python: through protobuf's Python API (values.py), which is faster there.

A stream's events hold their Structs as the bytes the caller sent
(bytes_messages.py); bytes that are not a Struct are the field's violation.
"""

import importlib.machinery
from collections.abc import Mapping

from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError

from heap_destination.api.decoding import STRUCT_TYPE, decode_problem
from heap_destination.api.structs import wire
from heap_destination.api.structs.values import struct_to_dict
from heap_destination.api.structs.wire import NotPlainStruct, struct_from_wire
from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.violations import FieldViolation, InvalidInput

WIRE_READER_COMPILED = (wire.__file__ or "").endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


class StructProperties:
    """The properties or traits of a request: the Struct that carried them, or its wire
    bytes."""

    __slots__ = ("_data", "_struct")

    def __init__(self, struct: struct_pb2.Struct | bytes) -> None:
        self._struct: struct_pb2.Struct | None = None
        self._data: bytes | None = None
        if isinstance(struct, bytes):
            self._data = struct
        else:
            self._struct = struct

    def __eq__(self, other: object) -> bool:
        """Equal to the same values as a Struct, or as plain values (struct_to_dict's)."""
        if isinstance(other, StructProperties):
            return self.values() == other.values()
        if isinstance(other, Mapping):
            return self.values() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        try:
            return f"StructProperties({self.values()!r})"
        except InvalidInput:
            return f"StructProperties({self._data!r})"

    def flatten(
        self, mode: NestedMode, field_name: str, *, native_arrays: bool = False
    ) -> Flattened:
        """What domain.flatten.flatten gives for these values."""
        if WIRE_READER_COMPILED:
            data = self._wire()
            if not data:
                return Flattened()  # no values (as often for traits)
            values = self._values(data, field_name)
        else:
            values = struct_to_dict(self._decoded(field_name))
        return flatten(values, mode, field_name, native_arrays=native_arrays)

    def values(self) -> dict[str, JsonValue]:
        """The plain values: struct_to_dict's; raises InvalidInput when they are bytes
        that are not a Struct."""
        return self._values(self._wire(), "struct")

    def _wire(self) -> bytes:
        if self._data is None:
            assert self._struct is not None
            self._data = self._struct.SerializeToString()
        return self._data

    def _values(self, data: bytes, field_name: str) -> dict[str, JsonValue]:
        try:
            return struct_from_wire(data)
        except NotPlainStruct:
            return struct_to_dict(self._decoded(field_name))

    def _decoded(self, field_name: str) -> struct_pb2.Struct:
        """The Struct; raises InvalidInput naming `field_name` when its bytes are not one."""
        if self._struct is None:
            try:
                self._struct = struct_pb2.Struct.FromString(self._data or b"")
            except DecodeError as error:
                raise InvalidInput(
                    [FieldViolation(field_name, decode_problem(error, STRUCT_TYPE))]
                ) from error
        return self._struct
