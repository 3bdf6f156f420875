from typing import TypeAlias

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A value as a protobuf Struct holds it: numbers arrive as floats."""

FlatScalar: TypeAlias = int | float | str
"""A number or a string: what Heap stores."""

FlatValue: TypeAlias = FlatScalar | list[FlatScalar]
"""A value Heap accepts: a number, a string, or (an event property with native arrays,
see native_arrays.py) an array of numbers and strings, which Heap stores joined by ||."""

FlatProperties: TypeAlias = dict[str, FlatValue]
