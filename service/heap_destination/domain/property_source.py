"""Request properties and traits in whatever form the caller's layer holds them.

The domain reads properties only by flattening them. Plain values (a mapping of
JSON-like values, as tests and the domain's callers build them) are flattened by
flatten.flatten; another representation (like the API's protobuf Struct) flattens itself
when asked, by turning its values into plain values and flattening them there, so that
the domain need not know how it holds them (a stream's Structs stay bytes until then).
"""

from collections.abc import Mapping
from typing import Protocol, TypeAlias

from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode


class PropertySource(Protocol):
    """Property values that flatten themselves the way flatten.flatten flattens the same
    values: the same flat properties, warnings and violations, in the same order."""

    def flatten(
        self, mode: NestedMode, field_name: str, *, native_arrays: bool = False
    ) -> Flattened:
        """Flattens the values (the request field `field_name`) the way `mode` says; with
        `native_arrays`, in the FLATTEN mode, arrays of scalars stay arrays."""
        ...


PropertyValues: TypeAlias = Mapping[str, JsonValue] | PropertySource
"""Properties or traits: plain values, or a source that flattens itself."""


def flatten_values(
    values: PropertyValues, mode: NestedMode, field_name: str, *, native_arrays: bool = False
) -> Flattened:
    """Flattens `values` (the request field `field_name`) the way `mode` says; with
    `native_arrays`, in the FLATTEN mode, arrays of scalars stay arrays."""
    if isinstance(values, Mapping):
        return flatten(values, mode, field_name, native_arrays=native_arrays)
    return values.flatten(mode, field_name, native_arrays=native_arrays)
