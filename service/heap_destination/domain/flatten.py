"""Struct-shaped values to the flat number-or-string properties Heap accepts.

Keys are visited in sorted order at every level, so the output is the same for the same
input whatever order the keys came in; when two paths flatten to one key, the first one
visited keeps it and the other is reported as a collision.
"""

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from heap_destination.domain.json_value import FlatProperties, FlatValue, JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.violations import FieldViolation

# From 1e16 on, Python writes floats in exponent form (1e+16), never as "….0".
_EXPONENT_FORM_FROM = 1e16


@dataclass
class Flattened:
    properties: FlatProperties = field(default_factory=dict)
    warnings: list[PropertyWarning] = field(default_factory=list)
    violations: list[FieldViolation] = field(default_factory=list)


def flatten(values: Mapping[str, JsonValue], mode: NestedMode, field_name: str) -> Flattened:
    """Flattens `values` (the request field `field_name`) the way `mode` says."""
    flattener = _Flattener(mode, field_name)
    for key in sorted(values):
        flattener.top_level(key, values[key])
    return flattener.result


def compact_json(value: JsonValue) -> str:
    """Compact JSON with integral numbers as integers, sorted keys and no ASCII escaping."""
    return json.dumps(
        _integral_numbers(value),
        separators=(",", ":"),
        ensure_ascii=False,
        sort_keys=True,
        allow_nan=False,
    )


def number_value(number: float) -> int | float:
    """Struct numbers are doubles; an integral one is written as an integer (3, not 3.0)."""
    if number.is_integer() and abs(number) < _EXPONENT_FORM_FROM:
        return int(number)
    return number


def _integral_numbers(value: JsonValue) -> JsonValue:
    if isinstance(value, float):
        return number_value(value)
    if isinstance(value, list):
        return [_integral_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_numbers(item) for key, item in value.items()}
    return value


def _non_finite_paths(value: JsonValue, path: str) -> list[str]:
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _non_finite_paths(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for k in sorted(value) for p in _non_finite_paths(value[k], f"{path}.{k}")]
    return []


class _Flattener:
    def __init__(self, mode: NestedMode, field_name: str) -> None:
        self.mode = mode
        self.field_name = field_name
        self.result = Flattened()

    def top_level(self, key: str, value: JsonValue) -> None:
        bad_paths = _non_finite_paths(value, f"{self.field_name}.{key}")
        if bad_paths:
            self.result.violations.extend(
                FieldViolation(path, "must be a finite number (NaN and infinities are not)")
                for path in bad_paths
            )
            return
        nested = isinstance(value, dict | list)
        if self.mode is NestedMode.STRINGIFY and nested:
            self._emit(key, compact_json(value))
        elif self.mode is NestedMode.DROP and nested:
            self._warn(
                key,
                WarningReason.NESTED_VALUE_DROPPED,
                "nested values are left out in the drop mode",
            )
        else:
            self._walk(key, value)

    def _walk(self, key: str, value: JsonValue) -> None:
        if isinstance(value, dict):
            if not value:
                self._omit_empty(key, "an empty object")
            for child in sorted(value):
                self._walk(f"{key}.{child}", value[child])
        elif isinstance(value, list):
            if self.mode is not NestedMode.INDEXED:
                self._emit(key, compact_json(value))
                return
            if not value:
                self._omit_empty(key, "an empty array")
            for index, item in enumerate(value):
                self._walk(f"{key}.{index}", item)
        elif value is None:
            if self.mode is NestedMode.INDEXED:
                self._emit(key, "null")
            else:
                self._omit_empty(key, "null")
        else:
            self._emit(key, self._scalar(value))

    def _scalar(self, value: bool | int | float | str) -> FlatValue:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            number = value if isinstance(value, int) else number_value(value)
            return str(number) if self.mode is NestedMode.INDEXED else number
        return value

    def _emit(self, key: str, value: FlatValue) -> None:
        if key in self.result.properties:
            self._warn(
                key,
                WarningReason.KEY_COLLISION,
                "another path flattened to the same key first; this value was left out",
            )
            return
        self.result.properties[key] = value

    def _omit_empty(self, key: str, what: str) -> None:
        self._warn(key, WarningReason.EMPTY_VALUE_OMITTED, f"{what} carries nothing to Heap")

    def _warn(self, key: str, reason: WarningReason, message: str) -> None:
        self.result.warnings.append(PropertyWarning(self.field_name, key, reason, message))
