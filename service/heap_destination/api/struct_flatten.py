"""A request's protobuf Struct as the domain's PropertySource.

A Struct flattens exactly as the same plain values do (domain.flatten.flatten, the
reference), in every nested mode, with native arrays and without, one of two ways,
whichever is faster where it runs (tests/fuzz/test_struct_flatten.py checks both over
random values):

- compiled (see setup.py): its values are read from its wire bytes (struct_wire.py), and
  the reference flattens them. A Struct the wire reader leaves alone (one carrying
  unknown fields, say) is read through protobuf's Python API instead.
- as pure Python: its values are walked through protobuf's Python API (struct_walk.py).
"""

import importlib.machinery
from collections.abc import Mapping

from google.protobuf import struct_pb2

from heap_destination.api import struct_wire
from heap_destination.api.struct_values import struct_to_dict
from heap_destination.api.struct_walk import walk_struct
from heap_destination.api.struct_wire import NotPlainStruct, struct_from_wire
from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode

WIRE_READER_COMPILED = (struct_wire.__file__ or "").endswith(
    tuple(importlib.machinery.EXTENSION_SUFFIXES)
)


class StructProperties:
    """The properties or traits of a request, as the Struct that carried them."""

    __slots__ = ("struct",)

    def __init__(self, struct: struct_pb2.Struct) -> None:
        self.struct = struct

    def __eq__(self, other: object) -> bool:
        """Equal to the same values as a Struct, or as plain values (struct_to_dict's)."""
        if isinstance(other, StructProperties):
            return struct_to_dict(self.struct) == struct_to_dict(other.struct)
        if isinstance(other, Mapping):
            return struct_to_dict(self.struct) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"StructProperties({struct_to_dict(self.struct)!r})"

    def flatten(
        self, mode: NestedMode, field_name: str, *, native_arrays: bool = False
    ) -> Flattened:
        """What domain.flatten.flatten gives for these values."""
        if not WIRE_READER_COMPILED:
            return walk_struct(self.struct, mode, field_name, native_arrays=native_arrays)
        return self.flatten_from_wire(mode, field_name, native_arrays=native_arrays)

    def flatten_from_wire(
        self, mode: NestedMode, field_name: str, *, native_arrays: bool = False
    ) -> Flattened:
        """flatten, by reading the values from the Struct's wire bytes."""
        data = self.struct.SerializeToString()
        if not data:
            return Flattened()  # no values (as often for traits)
        return flatten(self._values(data), mode, field_name, native_arrays=native_arrays)

    def values(self) -> dict[str, JsonValue]:
        """The plain values: struct_to_dict's."""
        return self._values(self.struct.SerializeToString())

    def _values(self, data: bytes) -> dict[str, JsonValue]:
        try:
            return struct_from_wire(data)
        except NotPlainStruct:
            return struct_to_dict(self.struct)
