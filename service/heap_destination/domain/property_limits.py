"""Heap's key and value limits applied to flat properties."""

from dataclasses import dataclass, field

from heap_destination.domain.json_value import FlatProperties, FlatScalar
from heap_destination.domain.limits import (
    EMAIL_USER_PROPERTY,
    MAX_PROPERTY_KEY_LENGTH,
    MAX_PROPERTY_VALUE_LENGTH,
    RESERVED_USER_PROPERTY,
)
from heap_destination.domain.native_arrays import cut_to_joined_length, joined_length
from heap_destination.domain.property_warnings import PropertyWarning, WarningReason
from heap_destination.domain.text import shown
from heap_destination.domain.violations import FieldViolation


@dataclass
class Limited:
    properties: FlatProperties = field(default_factory=dict)
    warnings: list[PropertyWarning] = field(default_factory=list)
    violations: list[FieldViolation] = field(default_factory=list)


def apply_property_limits(properties: FlatProperties, field_name: str) -> Limited:
    """Rejects empty or over-long keys and truncates over-long string values.

    A native array is held to the same limit as Heap holds it: the string it stores, the
    items joined by ||, is at most MAX_PROPERTY_VALUE_LENGTH characters. A longer one is
    cut to the items that fit (see native_arrays.cut_to_joined_length), which bounds each
    item too."""
    if _all_within_limits(properties):
        return Limited(properties)
    result = Limited()
    for key, value in properties.items():
        if not key:
            result.violations.append(FieldViolation(field_name, "a property key must not be empty"))
            continue
        if len(key) > MAX_PROPERTY_KEY_LENGTH:
            result.violations.append(
                FieldViolation(
                    f"{field_name}.{shown(key)}",
                    f"a property key must be at most {MAX_PROPERTY_KEY_LENGTH} characters "
                    f"(this one has {len(key)})",
                )
            )
            continue
        if isinstance(value, str) and len(value) > MAX_PROPERTY_VALUE_LENGTH:
            result.warnings.append(
                PropertyWarning(
                    field_name,
                    key,
                    WarningReason.VALUE_TRUNCATED,
                    f"value of {len(value)} characters truncated to {MAX_PROPERTY_VALUE_LENGTH}",
                )
            )
            value = value[:MAX_PROPERTY_VALUE_LENGTH]
        elif isinstance(value, list):
            value = _limited_array(value, field_name, key, result.warnings)
        result.properties[key] = value
    return result


def _all_within_limits(properties: FlatProperties) -> bool:
    """Whether no key and no value needs a look of apply_property_limits (the common case:
    then the properties pass as they are)."""
    for key, value in properties.items():
        if not key or len(key) > MAX_PROPERTY_KEY_LENGTH or isinstance(value, list):
            return False
        if isinstance(value, str) and len(value) > MAX_PROPERTY_VALUE_LENGTH:
            return False
    return True


def _limited_array(
    items: list[FlatScalar], field_name: str, key: str, warnings: list[PropertyWarning]
) -> list[FlatScalar]:
    length = joined_length(items)
    if length <= MAX_PROPERTY_VALUE_LENGTH:
        return items
    kept = cut_to_joined_length(items, MAX_PROPERTY_VALUE_LENGTH)
    warnings.append(
        PropertyWarning(
            field_name,
            key,
            WarningReason.VALUE_TRUNCATED,
            f"array of {len(items)} items that Heap would store as {length} characters "
            f"(joined by ||) cut to {len(kept)} items that fit in {MAX_PROPERTY_VALUE_LENGTH}",
        )
    )
    return kept


def apply_user_property_rules(
    properties: FlatProperties, field_name: str
) -> tuple[FlatProperties, list[PropertyWarning]]:
    """Heap does not allow a user property named `id` in any letter case; and it fills its
    Email only from `email` in lower case, so another case is sent with a warning."""
    kept: FlatProperties = {}
    warnings: list[PropertyWarning] = []
    for key, value in properties.items():
        lowered = key.lower()
        if lowered == EMAIL_USER_PROPERTY and key != EMAIL_USER_PROPERTY:
            warnings.append(
                PropertyWarning(
                    field_name,
                    key,
                    WarningReason.EMAIL_NOT_LOWERCASE,
                    "Heap fills its built-in Email property only from a lowercase email key; "
                    "this one is sent as given",
                )
            )
        if lowered == RESERVED_USER_PROPERTY:
            warnings.append(
                PropertyWarning(
                    field_name,
                    key,
                    WarningReason.RESERVED_KEY_OMITTED,
                    "Heap does not allow a user property named id",
                )
            )
        else:
            kept[key] = value
    return kept, warnings
