"""A request's protobuf Struct flattened by walking its values through protobuf's Python
API, reporting through the domain's FlatOutput: the way a Struct is flattened when the
per-event modules run as pure Python, where it is faster than reading the wire bytes
(wire.py) and flattening the plain values (see properties.py).

It gives exactly what domain.flatten.flatten gives for struct_to_dict(struct): the same
flat properties, warnings and violations, in the same order, in every nested mode, with
native arrays and without (tests/fuzz/test_struct_flatten.py checks that over random
values).

Two differences in how, not in what:
- The reference looks for a value nested too deep before walking it. This walk checks
  the depth as it goes, and when it meets an object or array too deep it undoes what the
  value reported (FlatOutput.rollback) and rejects it as the reference does. So a value
  is visited once, not twice.
- The common cases of FlatOutput.emit (a printable key not yet taken) are inlined.
"""

import math
from typing import Final

from google.protobuf import struct_pb2

from heap_destination.domain.flatten import FlatOutput, Flattened, compact_json
from heap_destination.domain.json_value import FlatValue, JsonValue
from heap_destination.domain.limits import MAX_NESTING_DEPTH
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.nesting import path_of_steps

_KIND: Final = "kind"
_STRING = "string_value"
_NUMBER = "number_value"
_BOOL = "bool_value"
_STRUCT = "struct_value"
_LIST = "list_value"

# As domain.flatten.number_value: an integral number below this is written as an integer.
_INTEGER_BELOW = 1e16

_isfinite = math.isfinite


def walk_struct(
    struct: struct_pb2.Struct, mode: NestedMode, field_name: str, *, native_arrays: bool = False
) -> Flattened:
    """What domain.flatten.flatten gives for struct_to_dict(struct)."""
    fields = struct.fields
    if not fields:
        return Flattened()
    walker = _StructWalk(mode, field_name, native_arrays)
    walk = walker.walk
    for key in sorted(fields):
        value = fields[key]
        kind = value.WhichOneof(_KIND)
        if kind in (_STRUCT, _LIST):
            walker.nested(key, value, kind)
        else:
            walk(key, value, kind, key, 1)
    return walker.out.result


class _TooDeep(Exception):
    """An object or array nests deeper than MAX_NESTING_DEPTH."""


class _NonFinite(Exception):
    """A number is NaN or infinite; its paths are then looked for the slow way."""


class _StructWalk:
    """domain.flatten._Flattener for Struct values, reporting through `out`. `level` is a
    value's nesting level: a property's value is level 1, and an object or array past
    MAX_NESTING_DEPTH raises _TooDeep, which `nested` handles."""

    def __init__(self, mode: NestedMode, field_name: str, native_arrays: bool) -> None:
        self.out = FlatOutput(field_name, native_arrays and mode is NestedMode.FLATTEN)
        self.mode = mode
        self.indexed = mode is NestedMode.INDEXED
        self.properties = self.out.result.properties

    def nested(self, key: str, value: struct_pb2.Value, kind: str) -> None:
        """A property whose value is an object or an array."""
        mark = self.out.mark()
        try:
            if self.mode is NestedMode.STRINGIFY or self.mode is NestedMode.DROP:
                self._whole(key, value, kind)
            else:
                self.walk(key, value, kind, key, 1)
        except _TooDeep:
            self.out.rollback(mark)
            steps = _steps_too_deep(value, 1)
            if steps is not None:  # always, as the walk met a value too deep
                self.out.reject_too_deep(path_of_steps(key, steps))

    def _whole(self, key: str, value: struct_pb2.Value, kind: str) -> None:
        """A nested property in the stringify and drop modes."""
        try:
            ready = _plain(value, kind, 1)
        except _NonFinite:
            self.out.reject_non_finite(_non_finite_paths(value, key, 1))
            return
        if self.mode is NestedMode.STRINGIFY:
            self.out.emit(key, compact_json(ready))
        else:
            self.out.drop_nested(key)

    def walk(
        self, key: str, value: struct_pb2.Value, kind: str | None, path: str, level: int
    ) -> None:
        """`value` (of `kind`, its WhichOneof("kind")) under the flat key `key`; `path`
        names it in violations: `key` with [index] where arrays are."""
        flat: FlatValue
        if kind == _STRING:
            flat = value.string_value
        elif kind == _NUMBER:
            number = value.number_value
            if number.is_integer() and -_INTEGER_BELOW < number < _INTEGER_BELOW:
                flat = int(number)
            elif _isfinite(number):
                flat = number
            else:
                self.out.reject_non_finite([path])
                return
            if self.indexed:
                flat = str(flat)
        elif kind == _BOOL:
            flat = "true" if value.bool_value else "false"
        elif kind == _STRUCT:
            self._object(key, value, path, level)
            return
        elif kind == _LIST:
            self._list(key, value, path, level)
            return
        elif self.indexed:
            flat = "null"
        else:
            self.out.omit_empty(key, "null")
            return
        # FlatOutput.emit, for a printable key (so without control characters) not taken.
        if key.isprintable() and key not in self.properties:
            self.properties[key] = flat
        else:
            self.out.emit(key, flat)

    def _object(self, key: str, value: struct_pb2.Value, path: str, level: int) -> None:
        if level > MAX_NESTING_DEPTH:
            raise _TooDeep
        fields = value.struct_value.fields
        if not fields:
            self.out.omit_empty(key, "an empty object")
            return
        walk = self.walk
        for child in sorted(fields):
            item = fields[child]
            child_key = f"{key}.{child}"
            # The path differs from the key only below an array in the indexed mode.
            child_path = child_key if path is key else f"{path}.{child}"
            walk(child_key, item, item.WhichOneof(_KIND), child_path, level + 1)

    def _list(self, key: str, value: struct_pb2.Value, path: str, level: int) -> None:
        if level > MAX_NESTING_DEPTH:
            raise _TooDeep
        items = value.list_value.values
        if self.indexed:
            if not items:
                self.out.omit_empty(key, "an empty array")
            walk = self.walk
            for index, item in enumerate(items):
                walk(f"{key}.{index}", item, item.WhichOneof(_KIND), f"{path}[{index}]", level + 1)
            return
        try:
            ready = _plain_list(value, level)
        except _NonFinite:
            self.out.reject_non_finite(_non_finite_paths(value, path, level))
            return
        self.out.emit_array(key, ready)


def _plain(value: struct_pb2.Value, kind: str | None, level: int) -> JsonValue:
    """domain.flatten._json_ready's value for `value` at `level` (keys unsorted, which
    compact_json sorts); raises _NonFinite for NaN or an infinity, _TooDeep for nesting
    past the limit."""
    if kind == _STRING:
        return value.string_value
    if kind == _NUMBER:
        number = value.number_value
        if number.is_integer() and -_INTEGER_BELOW < number < _INTEGER_BELOW:
            return int(number)
        if not _isfinite(number):
            raise _NonFinite
        return number
    if kind == _BOOL:
        return value.bool_value
    if kind == _STRUCT:
        if level > MAX_NESTING_DEPTH:
            raise _TooDeep
        fields = value.struct_value.fields
        plain: dict[str, JsonValue] = {}
        for key in fields:
            item = fields[key]
            plain[key] = _plain(item, item.WhichOneof(_KIND), level + 1)
        return plain
    if kind == _LIST:
        return _plain_list(value, level)
    return None


def _plain_list(value: struct_pb2.Value, level: int) -> list[JsonValue]:
    """_plain for a list value."""
    if level > MAX_NESTING_DEPTH:
        raise _TooDeep
    return [_plain(item, item.WhichOneof(_KIND), level + 1) for item in value.list_value.values]


def _non_finite_paths(value: struct_pb2.Value, path: str, level: int) -> list[str]:
    """The paths that domain.flatten._json_ready reports as NaN or infinite, in its order;
    raises _TooDeep for nesting past the limit."""
    paths: list[str] = []
    _add_non_finite_paths(value, path, level, paths)
    return paths


def _add_non_finite_paths(value: struct_pb2.Value, path: str, level: int, paths: list[str]) -> None:
    kind = value.WhichOneof(_KIND)
    if kind == _NUMBER:
        if not _isfinite(value.number_value):
            paths.append(path)
    elif kind == _LIST:
        if level > MAX_NESTING_DEPTH:
            raise _TooDeep
        for index, item in enumerate(value.list_value.values):
            _add_non_finite_paths(item, f"{path}[{index}]", level + 1, paths)
    elif kind == _STRUCT:
        if level > MAX_NESTING_DEPTH:
            raise _TooDeep
        fields = value.struct_value.fields
        for key in sorted(fields):
            _add_non_finite_paths(fields[key], f"{path}.{key}", level + 1, paths)


def _steps_too_deep(value: struct_pb2.Value, level: int) -> list[str | int] | None:
    """domain.nesting._steps_too_deep for a Struct value: the steps to the first object or
    array too deep, in sorted key order, last first."""
    kind = value.WhichOneof(_KIND)
    children: list[tuple[str | int, struct_pb2.Value]]
    if kind == _LIST:
        children = list(enumerate(value.list_value.values))
    elif kind == _STRUCT:
        fields = value.struct_value.fields
        children = [(key, fields[key]) for key in sorted(fields)]
    else:
        return None
    if level > MAX_NESTING_DEPTH:
        return []
    for step, child in children:
        steps = _steps_too_deep(child, level + 1)
        if steps is not None:
            steps.append(step)
            return steps
    return None
