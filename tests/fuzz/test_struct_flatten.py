"""A request's Struct flattens exactly as the reference flattens the same values, whether
it comes as a Struct (a unary call's) or as its bytes (a stream's): api/structs/properties.py
reads it into plain values (from its wire bytes compiled, through protobuf's Python API
as pure Python) and the domain flattens them.

The reference is the domain's flatten over plain values, struct_to_dict's. Over random
nested values (objects, arrays, odd and long strings, odd numbers, values nested around
the limit, keys that collide once flattened), in every nested mode, with native arrays and
without, for properties and traits, the flat properties (with their types and order),
warnings and violations are the same, in the same order.
"""

import math
from typing import Any

import pytest
from google.protobuf import struct_pb2
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from heap_destination.api.mapping.identify import identify_input
from heap_destination.api.mapping.track import track_input
from heap_destination.api.structs.properties import StructProperties
from heap_destination.api.structs.values import struct_to_dict
from heap_destination.domain.destination import Destination
from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.identify import IdentifyInput, PreparedIdentify, prepare_identify
from heap_destination.domain.limits import MAX_NESTING_DEPTH
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.properties import prepare_properties, prepare_user_properties
from heap_destination.domain.track import PreparedTrack, TrackInput, prepare_track
from heap_destination.domain.violations import InvalidInput
from heap_destination.v1 import identify_pb2, track_pb2
from tests.fuzz.strategies import long_text, nest, short_text, to_struct, weighted

MODES = list(NestedMode)


def from_a_struct(
    struct: struct_pb2.Struct, mode: NestedMode, field_name: str, *, native_arrays: bool
) -> Flattened:
    return StructProperties(struct).flatten(mode, field_name, native_arrays=native_arrays)


def from_its_bytes(
    struct: struct_pb2.Struct, mode: NestedMode, field_name: str, *, native_arrays: bool
) -> Flattened:
    data = struct.SerializeToString()
    return StructProperties(data).flatten(mode, field_name, native_arrays=native_arrays)


BOTH_WAYS = pytest.mark.parametrize("flatten_struct", [from_a_struct, from_its_bytes])

EQUIVALENCE = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

# Keys that collide once flattened (a.b, a → b, a.0, a → [0]), Heap's reserved and
# special ones, the empty key, control characters, a key past Heap's length limit.
_KEYS = (
    "a",
    "b",
    "a.b",
    "a.0",
    "0",
    "1",
    "a[0]",
    "",
    ".",
    "id",
    "ID",
    "email",
    "Email",
    "name",
    "a\n",
    "\x00",
    "tab\t",
    "\x85",
    "é",
    "😀",
    "k" * 1024,
    "k" * 1025,
)
_NUMBERS = (
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.1,
    1.5,
    1e-7,
    1.23e-5,
    1e-4,
    5e-324,
    1e15 + 0.5,
    1e16 - 2,
    1e16,
    -1e16,
    1.5e16,
    9007199254740993.0,
    2.0**63,
    2.0**64,
    1e22,
    1e300,
    1.7976931348623157e308,
    math.nan,
    math.inf,
    -math.inf,
)


_COLLIDING_KEYS = ("a", "b", "a.b", "b.a", "0", "a.0", "1")


def keys() -> st.SearchStrategy[str]:
    """Mostly keys that collide once flattened, so that collisions are common."""
    return weighted(
        (6, st.sampled_from(_COLLIDING_KEYS)),
        (2, st.sampled_from(_KEYS)),
        (1, short_text(max_size=6)),
    )


def leaves() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), scalars())


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.sampled_from(_NUMBERS),
        st.floats(),
        st.integers(-(2**70), 2**70).map(float),
        st.sampled_from(["", "plain", "x" * 1024, "x" * 1025, "é" * 1025, "null", "true"]),
        short_text(),
        long_text(),
    )


def shallow_values() -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves(),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys(), children, max_size=4),
            scalar_arrays(),
        ),
        max_leaves=12,
    )


def scalar_arrays() -> st.SearchStrategy[list[Any]]:
    """Arrays that native arrays keep as arrays (NaN and infinities aside), long ones
    past Heap's 1024 characters once joined."""
    return st.lists(scalars(), max_size=6)


def deep_values() -> st.SearchStrategy[Any]:
    """Values nested from a few levels under the limit to a few past it, with siblings at
    some levels so that the value too deep is not always the first one visited."""
    wrapper = st.tuples(st.booleans(), keys(), st.one_of(st.none(), shallow_values()))
    depth = st.integers(MAX_NESTING_DEPTH - 3, MAX_NESTING_DEPTH + 3)
    return st.builds(
        _nest_with_siblings,
        st.one_of(leaves(), shallow_values()),
        depth.flatmap(lambda n: st.lists(wrapper, min_size=n, max_size=n)),
    )


def _nest_with_siblings(leaf: Any, wrappers: list[tuple[bool, str, Any]]) -> Any:
    value = leaf
    for is_list, key, sibling in wrappers:
        if sibling is None:
            value = nest(value, [(is_list, key)])
        elif is_list:
            value = [sibling, value] if len(key) % 2 else [value, sibling]
        else:
            value = {key: value, key + "~": sibling} if len(key) % 2 else {"~" + key: sibling}
    return value


def values() -> st.SearchStrategy[Any]:
    return weighted((3, shallow_values()), (1, deep_values()), (1, scalar_arrays()))


def colliding_values() -> st.SearchStrategy[dict[str, Any]]:
    """Values at a few dotted paths, each written nested at some of its dots (a.b.c as
    {"a": {"b.c": …}}, {"a.b": {"c": …}} or {"a": {"b": {"c": …}}}), so that several
    paths flatten to one key."""
    path = st.sampled_from(["a", "a.b", "a.b.c", "a.0", "b", "b.a"])
    split = st.lists(st.booleans(), min_size=2, max_size=2)
    return st.builds(_merged, st.lists(st.tuples(path, split, leaves()), max_size=6))


def _merged(entries: list[tuple[str, list[bool], Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path, split, leaf in entries:
        steps = path.split(".")
        keys = [steps[0]]
        for step, nested in zip(steps[1:], split, strict=False):
            keys = [*keys, step] if nested else [*keys[:-1], f"{keys[-1]}.{step}"]
        target = merged
        for key in keys[:-1]:
            child = target.setdefault(key, {})
            if not isinstance(child, dict):
                break
            target = child
        else:
            target.setdefault(keys[-1], leaf)
    return merged


def structs() -> st.SearchStrategy[struct_pb2.Struct]:
    return st.builds(
        to_struct,
        weighted((3, st.dictionaries(keys(), values(), max_size=6)), (1, colliding_values())),
    )


def exact(result: Flattened) -> tuple[object, ...]:
    """A result compared exactly: 3 and 3.0 differ, and so does the properties' order."""
    return (
        [(key, type(value), repr(value)) for key, value in result.properties.items()],
        result.warnings,
        result.violations,
    )


@settings(EQUIVALENCE, max_examples=1000)
@given(struct=structs(), mode=st.sampled_from(MODES), native_arrays=st.booleans())
@example(struct=to_struct({"a.b": 1, "a": {"b": 2}}), mode=NestedMode.FLATTEN, native_arrays=False)
@example(
    struct=to_struct({"a": [1, {"b": 2}], "a.0": 3, "a.1.b": 4}),
    mode=NestedMode.INDEXED,
    native_arrays=True,
)
@example(
    struct=to_struct({"a": {"b\n": math.nan, "c": [math.inf]}}),
    mode=NestedMode.STRINGIFY,
    native_arrays=False,
)
@example(
    struct=to_struct({"a": nest(1, [(True, "")] * 21)}), mode=NestedMode.DROP, native_arrays=True
)
@example(
    struct=to_struct({"a\n": {"x": 1, "y": []}, "b": {}}),
    mode=NestedMode.FLATTEN,
    native_arrays=False,
)
@example(
    struct=to_struct(
        {"a": ["x", 1.5, True], "a.b": [], "b": [None], "b.c": [[1]], "c": [math.nan]}
    ),
    mode=NestedMode.FLATTEN,
    native_arrays=True,
)
@example(
    struct=to_struct(
        {"a": {"b": [1, None]}, "a.b": ["y"], "a\n": ["z"], "b": nest([1], [(True, "")] * 20)}
    ),
    mode=NestedMode.FLATTEN,
    native_arrays=True,
)
@pytest.mark.slow
@BOTH_WAYS
def test_a_struct_flattens_as_the_reference(
    flatten_struct: Any, struct: struct_pb2.Struct, mode: NestedMode, native_arrays: bool
) -> None:
    reference = flatten(struct_to_dict(struct), mode, "properties", native_arrays=native_arrays)

    flat = flatten_struct(struct, mode, "properties", native_arrays=native_arrays)
    assert exact(flat) == exact(reference)


@EQUIVALENCE
@given(struct=structs(), mode=st.sampled_from(MODES), native_arrays=st.booleans())
def test_properties_and_traits_are_prepared_as_from_plain_values(
    struct: struct_pb2.Struct, mode: NestedMode, native_arrays: bool
) -> None:
    plain = struct_to_dict(struct)
    from_struct = StructProperties(struct)
    name = {"name": ("Home", "name")}

    for expected, actual in (
        (
            prepare_properties(plain, mode, "properties", name, native_arrays=native_arrays),
            prepare_properties(from_struct, mode, "properties", name, native_arrays=native_arrays),
        ),
        (
            prepare_user_properties(plain, mode, "traits", name),
            prepare_user_properties(from_struct, mode, "traits", name),
        ),
    ):
        assert exact(Flattened(actual.properties, actual.warnings, actual.violations)) == exact(
            Flattened(expected.properties, expected.warnings, expected.violations)
        )


def _outcome(prepare: Any) -> object:
    """What a prepare_* call gives, or the violations it raises."""
    try:
        prepared = prepare()
    except InvalidInput as error:
        return error.violations
    if isinstance(prepared, PreparedTrack):
        user = prepared.user_properties
        return (
            prepared.event,
            list(prepared.event.properties.items()),
            user,
            list(user.properties.items()) if user else None,
            prepared.warnings,
        )
    assert isinstance(prepared, PreparedIdentify)
    user = prepared.user_properties
    return (prepared, list(user.properties.items()) if user else None)


@EQUIVALENCE
@given(
    properties=structs(),
    traits=structs(),
    mode=st.sampled_from(MODES),
    native_arrays=st.booleans(),
)
@pytest.mark.slow
def test_a_track_request_is_prepared_as_from_plain_values(
    properties: struct_pb2.Struct, traits: struct_pb2.Struct, mode: NestedMode, native_arrays: bool
) -> None:
    destination = Destination(
        "1234567890", "http://127.0.0.1:8787", mode, False, native_arrays=native_arrays
    )
    request = track_pb2.TrackEventRequest(user_id="u", event="E", message_id="m-1")
    request.properties.CopyFrom(properties)
    request.traits.CopyFrom(traits)
    plain = TrackInput(
        user_id="u",
        event="E",
        message_id="m-1",
        properties=struct_to_dict(properties),
        traits=struct_to_dict(traits),
    )

    assert _outcome(lambda: prepare_track(track_input(request), destination)) == _outcome(
        lambda: prepare_track(plain, destination)
    )


@EQUIVALENCE
@given(traits=structs(), mode=st.sampled_from(MODES))
def test_an_identify_request_is_prepared_as_from_plain_values(
    traits: struct_pb2.Struct, mode: NestedMode
) -> None:
    destination = Destination("1234567890", "http://127.0.0.1:8787", mode, False)
    request = identify_pb2.IdentifyUserRequest(user_id="u", anonymous_id="anon-1")
    request.traits.CopyFrom(traits)
    plain = IdentifyInput(user_id="u", anonymous_id="anon-1", traits=struct_to_dict(traits))

    assert _outcome(lambda: prepare_identify(identify_input(request), destination)) == _outcome(
        lambda: prepare_identify(plain, destination)
    )


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("levels", range(MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH + 3))
@pytest.mark.parametrize("is_list", [False, True])
@pytest.mark.parametrize("native_arrays", [False, True])
@BOTH_WAYS
def test_values_nested_around_the_limit(
    flatten_struct: Any, mode: NestedMode, levels: int, is_list: bool, native_arrays: bool
) -> None:
    """Around the limit, with values before the one too deep that the walk has reported
    by the time it meets it (a native array among them), and a collision with a key that
    comes later."""
    deep = nest(
        {"ok": 1, "list": ["x", 2], "z": nest(2, [(is_list, "k")] * levels)},
        [(is_list, "a")] * 2,
    )
    struct = to_struct({"a": deep, "a.ok": 3, "b\n": {"c": [1, math.nan]}, "c": "x"})

    reference = flatten(struct_to_dict(struct), mode, "properties", native_arrays=native_arrays)

    flat = flatten_struct(struct, mode, "properties", native_arrays=native_arrays)
    assert exact(flat) == exact(reference)


def test_struct_properties_equal_their_plain_values() -> None:
    struct = to_struct({"plan": "pro", "seats": 3, "tags": ["a"]})

    assert StructProperties(struct) == {"plan": "pro", "seats": 3.0, "tags": ["a"]}
    assert StructProperties(struct) == StructProperties(to_struct(struct_to_dict(struct)))
    assert StructProperties(struct) != {"plan": "pro"}
    assert "'plan': 'pro'" in repr(StructProperties(struct))
