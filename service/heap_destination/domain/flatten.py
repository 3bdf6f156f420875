"""Struct-shaped values to the flat number-or-string properties Heap accepts.

Keys are visited in sorted order at every level, so the output is the same for the same
input whatever order the keys came in; when two paths flatten to one key, the first one
visited keeps it and the other is reported as a collision.

A value that nests too deep (see nesting.py) is rejected before it is walked, which also
bounds the recursion here.

With native arrays (FLATTEN mode only; see native_arrays.py), an array of scalars is kept
as a list of numbers and strings instead of its compact JSON, an empty array is left out,
and an array holding objects, arrays or nulls stays compact JSON with a warning.

`flatten` walks plain values (a mapping of JSON-like values): a representation that
flattens itself (see property_source.py) turns its values into plain values and flattens
them here.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from heap_destination.domain import json_text
from heap_destination.domain.json_value import FlatProperties, FlatValue, JsonValue
from heap_destination.domain.limits import MAX_PROPERTY_KEY_LENGTH
from heap_destination.domain.native_arrays import native_items
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.nesting import TOO_DEEP, too_deep_path
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.text import (
    NO_CONTROL_CHARACTERS,
    cut,
    has_control_characters,
    shown,
)
from heap_destination.domain.violations import FieldViolation

# From 1e16 on, Python writes floats in exponent form (1e+16), never as "….0".
_EXPONENT_FORM_FROM = 1e16


@dataclass
class Flattened:
    properties: FlatProperties = field(default_factory=dict)
    warnings: list[PropertyWarning] = field(default_factory=list)
    violations: list[FieldViolation] = field(default_factory=list)


def flatten(
    values: Mapping[str, JsonValue],
    mode: NestedMode,
    field_name: str,
    *,
    native_arrays: bool = False,
) -> Flattened:
    """Flattens `values` (the request field `field_name`) the way `mode` says; with
    `native_arrays`, in the FLATTEN mode, arrays of scalars stay arrays."""
    flattener = _Flattener(mode, field_name, native_arrays=native_arrays)
    for key in sorted(values):
        flattener.top_level(key, values[key])
    return flattener.result


def compact_json(value: JsonValue) -> str:
    """Compact JSON with integral numbers as integers, sorted keys and no ASCII escaping.

    `value` must hold finite numbers only (see _json_ready)."""
    return json_text.encode(value, sort_keys=True).decode()


def number_value(number: float) -> int | float:
    """Struct numbers are doubles; an integral one is written as an integer (3, not 3.0)."""
    if number.is_integer() and abs(number) < _EXPONENT_FORM_FROM:
        return int(number)
    return number


class _NonFinite(Exception):
    """A value holds NaN or an infinity."""


def _json_ready(value: JsonValue) -> JsonValue:
    """`value` with integral numbers as integers; raises _NonFinite for NaN or an
    infinity (see _non_finite_paths)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NonFinite
        return number_value(value)
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    return value


def _non_finite_paths(value: JsonValue, path: str, paths: list[str]) -> list[str]:
    """`paths` with the paths of the NaNs and infinities in `value` added, in sorted key
    order."""
    if isinstance(value, float):
        if not math.isfinite(value):
            paths.append(path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _non_finite_paths(item, f"{path}[{index}]", paths)
    elif isinstance(value, dict):
        for key in sorted(value):
            _non_finite_paths(value[key], f"{path}.{key}", paths)
    return paths


class _Flattener:
    """Walks property values in the order flatten visits them, and puts what it finds in
    `result`: flat properties, warnings and violations (control characters in keys,
    collisions, empty values, the warnings' wording).

    `native_arrays` is whether arrays of scalars stay arrays (see emit_array): only in the
    FLATTEN mode."""

    def __init__(self, mode: NestedMode, field_name: str, *, native_arrays: bool) -> None:
        self.field_name = field_name
        self.native_arrays = native_arrays and mode is NestedMode.FLATTEN
        self.mode = mode
        self.indexed = mode is NestedMode.INDEXED
        self.result = Flattened()
        self.rejected_keys: set[str] = set()

    def emit(self, key: str, value: FlatValue) -> bool:
        """Sets the property `key`; False (with a violation or a warning) when its key has
        control characters or is taken."""
        if not self.is_allowed_key(key):
            return False
        if key in self.result.properties:
            self.warn(
                key,
                WarningReason.KEY_COLLISION,
                "another path flattened to the same key first; this value was left out",
            )
            return False
        self.result.properties[key] = value
        return True

    def emit_array(self, key: str, ready: list[JsonValue]) -> None:
        """An array in the FLATTEN mode, as _json_ready gives it (numbers finite, integral
        ones integers): compact JSON, or with native arrays a list of scalars."""
        if not self.native_arrays:
            self.emit(key, compact_json(ready))
            return
        if not ready:
            self.omit_empty(key, "an empty array")
            return
        items = native_items(ready)
        if items is not None:
            self.emit(key, items)
        elif self.emit(key, compact_json(ready)):
            self.warn(
                key,
                WarningReason.ARRAY_STRINGIFIED,
                "an array holding objects, arrays or nulls cannot be a native array; "
                "it was sent as a JSON string",
            )

    def omit_empty(self, key: str, what: str) -> None:
        self.warn(key, WarningReason.EMPTY_VALUE_OMITTED, f"{what} carries nothing to Heap")

    def drop_nested(self, key: str) -> None:
        self.warn(
            key, WarningReason.NESTED_VALUE_DROPPED, "nested values are left out in the drop mode"
        )

    def reject_too_deep(self, path: str) -> None:
        self.reject(path, TOO_DEEP)

    def reject_non_finite(self, paths: list[str]) -> None:
        for path in paths:
            self.reject(path, "must be a finite number (NaN and infinities are not)")

    def reject(self, path: str, description: str) -> None:
        self.result.violations.append(
            FieldViolation(f"{self.field_name}.{shown(path)}", description)
        )

    def is_allowed_key(self, key: str) -> bool:
        """False, once with a violation, for a key with control characters; they are rejected
        even where the value is left out, so that no warning carries them."""
        if not has_control_characters(key):
            return True
        if key not in self.rejected_keys:
            self.rejected_keys.add(key)
            self.reject(key, f"property keys {NO_CONTROL_CHARACTERS}")
        return False

    def warn(self, key: str, reason: WarningReason, message: str) -> None:
        if self.is_allowed_key(key):
            # A left-out value's key was never checked against Heap's key length limit.
            shown_key = cut(key, MAX_PROPERTY_KEY_LENGTH)
            self.result.warnings.append(
                PropertyWarning(self.field_name, shown_key, reason, message)
            )

    def top_level(self, key: str, value: JsonValue) -> None:
        nested = isinstance(value, (dict, list))
        if nested and (path := too_deep_path(key, value)) is not None:
            self.reject_too_deep(path)
            return
        if nested and self.mode in (NestedMode.STRINGIFY, NestedMode.DROP):
            try:
                ready = _json_ready(value)
            except _NonFinite:
                self.reject_non_finite(_non_finite_paths(value, key, []))
                return
            if self.mode is NestedMode.STRINGIFY:
                self.emit(key, compact_json(ready))
            else:
                self.drop_nested(key)
        else:
            self._walk(key, value, key)

    def _walk(self, key: str, value: JsonValue, path: str) -> None:
        # `path` names the value in violations: `key` with [index] where arrays are.
        # Ordered by how common each kind is in real properties; this runs for every value.
        if isinstance(value, str):
            self.emit(key, value)
        elif isinstance(value, bool):
            self.emit(key, "true" if value else "false")
        elif isinstance(value, (int, float)):
            self._number(key, value, path)
        elif isinstance(value, dict):
            if not value:
                self.omit_empty(key, "an empty object")
            for child in sorted(value):
                child_key = f"{key}.{child}"
                # The path differs from the key only below an array in the INDEXED mode.
                self._walk(child_key, value[child], child_key if path is key else f"{path}.{child}")
        elif isinstance(value, list):
            self._list(key, value, path)
        elif self.indexed:
            self.emit(key, "null")
        else:
            self.omit_empty(key, "null")

    def _number(self, key: str, value: int | float, path: str) -> None:
        if isinstance(value, float):
            if not math.isfinite(value):
                self.reject_non_finite([path])
                return
            value = number_value(value)
        self.emit(key, str(value) if self.indexed else value)

    def _list(self, key: str, value: list[JsonValue], path: str) -> None:
        if self.indexed:
            if not value:
                self.omit_empty(key, "an empty array")
            for index, item in enumerate(value):
                self._walk(f"{key}.{index}", item, f"{path}[{index}]")
            return
        try:
            ready = [_json_ready(item) for item in value]
        except _NonFinite:
            self.reject_non_finite(_non_finite_paths(value, path, []))
            return
        self.emit_array(key, ready)
