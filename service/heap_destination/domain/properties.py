"""Request properties and traits to Heap's flat properties, within Heap's limits."""

from collections.abc import Mapping
from dataclasses import dataclass

from heap_destination.domain.json_value import FlatProperties, FlatValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_limits import (
    apply_property_limits,
    apply_user_property_rules,
)
from heap_destination.domain.property_source import PropertyValues, flatten_values
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.violations import FieldViolation


@dataclass
class PreparedProperties:
    field_name: str
    properties: FlatProperties
    warnings: list[PropertyWarning]
    violations: list[FieldViolation]

    def set_from_request_field(self, key: str, value: FlatValue, source_field: str) -> None:
        """Sets a property that a request field (like `name`) fills; the field wins."""
        if key in self.properties:
            self.warnings.append(
                PropertyWarning(
                    self.field_name,
                    key,
                    WarningReason.KEY_COLLISION,
                    f"replaced by the request's {source_field} field",
                )
            )
        self.properties[key] = value


def prepare_properties(
    values: PropertyValues,
    mode: NestedMode,
    field_name: str,
    extra: Mapping[str, tuple[FlatValue, str]] | None = None,
    *,
    native_arrays: bool = False,
) -> PreparedProperties:
    """Flattens `values` and applies Heap's limits.

    `extra` maps keys that request fields fill (like a page's `name`) to their value and
    the field they come from; they win over a property of the same key. `native_arrays`
    keeps arrays of scalars as arrays in the FLATTEN mode: only event properties may
    (Heap documents arrays for track only), never user properties.
    """
    flat = flatten_values(values, mode, field_name, native_arrays=native_arrays)
    prepared = PreparedProperties(field_name, flat.properties, flat.warnings, flat.violations)
    if not flat.properties and not extra:
        return prepared  # nothing for Heap's limits to look at
    for key, (value, source_field) in (extra or {}).items():
        prepared.set_from_request_field(key, value, source_field)
    limited = apply_property_limits(prepared.properties, field_name)
    prepared.properties = limited.properties
    prepared.warnings.extend(limited.warnings)
    prepared.violations.extend(limited.violations)
    return prepared


def prepare_user_properties(
    values: PropertyValues,
    mode: NestedMode,
    field_name: str,
    extra: Mapping[str, tuple[FlatValue, str]] | None = None,
) -> PreparedProperties:
    """Like prepare_properties (without native arrays: Heap documents none for user
    properties), and leaves out the user property Heap forbids (`id`)."""
    prepared = prepare_properties(values, mode, field_name, extra)
    if prepared.properties:
        prepared.properties, omitted = apply_user_property_rules(prepared.properties, field_name)
        prepared.warnings.extend(omitted)
    return prepared
