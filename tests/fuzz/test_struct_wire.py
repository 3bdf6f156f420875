"""A Struct read from its wire bytes (api.struct_wire) holds exactly the values protobuf's
Python API reads from it (struct_values.struct_to_dict), and odd bytes never make the
reader fail any other way than by leaving the Struct to that API."""

import math
from typing import Any

import pytest
from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heap_destination.api.structs.properties import StructProperties
from heap_destination.api.structs.values import struct_to_dict
from heap_destination.api.structs.wire import MAX_WIRE_DEPTH, NotPlainStruct, struct_from_wire
from heap_destination.domain.nesting import too_deep_path
from heap_destination.domain.violations import InvalidInput
from tests.fuzz.strategies import json_values, merged, mutate, mutations, nest, structs, to_struct
from tests.support.protobuf_bytes import field, nested_struct, varint

WIRE = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def exactly(value: Any) -> Any:
    """`value` compared exactly: 1.0 and True differ, so do 0.0 and -0.0, and NaN equals
    NaN; the order of an object's keys does not matter (a Struct's map has none)."""
    if isinstance(value, dict):
        return ("object", sorted((key, exactly(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", [exactly(item) for item in value])
    return (type(value).__name__, repr(value))


def any_structs() -> st.SearchStrategy[struct_pb2.Struct]:
    return st.one_of(structs(plausible=True), structs(plausible=False)).map(
        lambda struct: struct or struct_pb2.Struct()
    )


@pytest.mark.slow
@WIRE
@given(struct=any_structs())
def test_a_struct_reads_from_its_bytes_as_through_the_python_api(
    struct: struct_pb2.Struct,
) -> None:
    assert exactly(struct_from_wire(struct.SerializeToString())) == exactly(struct_to_dict(struct))


@WIRE
@given(
    data=st.one_of(
        st.builds(mutate, any_structs().map(lambda s: s.SerializeToString()), mutations()),
        st.builds(merged, any_structs(), any_structs()),
        st.binary(max_size=200),
    )
)
def test_any_struct_protobuf_decodes_reads_as_through_the_python_api(data: bytes) -> None:
    """Mutated and merged bytes, as a caller may send them in a stream: unknown fields,
    fields out of place, two kinds in one Value, repeated keys. Whatever protobuf makes of
    them, the properties are its values; bytes it cannot decode are a violation."""
    try:
        struct = struct_pb2.Struct.FromString(data)
    except DecodeError:
        try:
            values = StructProperties(data).values()
        except InvalidInput:
            return
        # Nested past what protobuf decodes, not past what this reader reads: too deep
        # for Heap's limit, which refuses them.
        assert too_deep_path("properties", values) is not None
        return
    assert exactly(StructProperties(data).values()) == exactly(struct_to_dict(struct))
    assert exactly(StructProperties(struct).values()) == exactly(struct_to_dict(struct))


@WIRE
@given(
    data=st.one_of(st.binary(max_size=300), st.builds(mutate, st.just(b"\x0a\x05"), mutations()))
)
def test_any_bytes_read_as_values_or_are_left_to_the_python_api(data: bytes) -> None:
    """Never an IndexError, a UnicodeDecodeError or a RecursionError."""
    try:
        values = struct_from_wire(data)
    except NotPlainStruct:
        return
    assert isinstance(values, dict)


@WIRE
@given(value=json_values(plausible=False))
def test_a_value_nested_any_way_reads_as_through_the_python_api(value: Any) -> None:
    struct = to_struct({"v": value})

    assert exactly(struct_from_wire(struct.SerializeToString())) == exactly(struct_to_dict(struct))


def test_a_value_with_no_kind_and_a_null_are_none() -> None:
    struct = struct_pb2.Struct()
    struct.fields["unset"].Clear()
    struct.fields["null"].null_value = struct_pb2.NULL_VALUE

    assert struct_from_wire(struct.SerializeToString()) == {"unset": None, "null": None}


def test_nan_infinities_and_negative_zero_keep_their_values() -> None:
    struct = to_struct({"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0})

    assert exactly(struct_from_wire(struct.SerializeToString())) == exactly(
        {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}
    )


def test_an_unknown_field_leaves_the_struct_to_the_python_api() -> None:
    value = field(3, b"x") + varint(7 << 3) + varint(1)  # string_value, then field 7
    struct = struct_pb2.Struct.FromString(field(1, field(1, b"k") + field(2, value)))

    with pytest.raises(NotPlainStruct):
        struct_from_wire(struct.SerializeToString())
    assert StructProperties(struct).values() == {"k": "x"}


@pytest.mark.parametrize("levels", [MAX_WIRE_DEPTH // 3 - 1, MAX_WIRE_DEPTH, 1000])
def test_values_nested_past_the_readers_depth_are_left_to_it_without_recursing(
    levels: int,
) -> None:
    data = nested_struct(levels)
    if levels * 2 > MAX_WIRE_DEPTH:
        with pytest.raises(NotPlainStruct):
            struct_from_wire(data)
    else:
        assert struct_from_wire(data) == {"a": nest("x", [(False, "a")] * levels)}
