"""Flat properties written as a Struct's wire bytes hold what setting the Struct's fields
one by one through protobuf's Python API holds."""

import math

import pytest
from google.protobuf import struct_pb2

from heap_destination.api.structs.struct_writer import struct_wire
from heap_destination.domain.json_value import FlatProperties


def set_field_by_field(properties: FlatProperties) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    for key, value in properties.items():
        if isinstance(value, str):
            struct.fields[key].string_value = value
        elif isinstance(value, list):
            struct.fields[key].list_value.extend(value)
        else:
            struct.fields[key].number_value = value
    return struct


CASES: list[FlatProperties] = [
    {},
    {"": ""},
    {"plan": "pro", "seats": 3, "price": 9.99, "negative": -1.5e-300},
    {"ünïcödé 🎉": "välue ✓", "emoji": "🎉" * 50},
    {"long": "x" * 127, "longer": "y" * 128, "longest": "z" * 70_000},
    {"k" * 200: 1, "big": 2**53 + 1, "huge": 1e308, "tiny": 5e-324},
    {"flavors": ["vanilla", "chocolate"], "n": [1, 2.5, -3], "empty": []},
    {"flags": [True, False, 1, "x"], "flag": True},
    {f"key-{n}": f"value-{n}" * (n % 7) for n in range(300)},
]


@pytest.mark.parametrize("properties", CASES)
def test_the_wire_bytes_parse_to_the_struct_set_field_by_field(
    properties: FlatProperties,
) -> None:
    assert struct_pb2.Struct.FromString(struct_wire(properties)) == set_field_by_field(properties)


def test_nan_and_infinities_are_kept() -> None:
    struct = struct_pb2.Struct.FromString(
        struct_wire({"nan": math.nan, "up": math.inf, "down": -math.inf})
    )

    assert math.isnan(struct.fields["nan"].number_value)
    assert struct.fields["up"].number_value == math.inf
    assert struct.fields["down"].number_value == -math.inf
