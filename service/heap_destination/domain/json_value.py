from typing import TypeAlias

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None
"""A value as a protobuf Struct holds it: numbers arrive as floats."""

FlatValue: TypeAlias = int | float | str
"""A value Heap stores: a number or a string."""

FlatProperties: TypeAlias = dict[str, FlatValue]
