"""The migration modes: indexed, stringify and drop."""

import math

import pytest

from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason

from .helpers import violation_fields, warning_tuples

EMPTY = WarningReason.EMPTY_VALUE_OMITTED
COLLISION = WarningReason.KEY_COLLISION
DROPPED = WarningReason.NESTED_VALUE_DROPPED

FLATTENING_EXAMPLE: dict[str, JsonValue] = {
    "foo": {
        "bar": {
            "cheese": "american",
            "prop": [1.0, 2.0, 3.0],
            "products": [{"A": "Jello"}, {"B": "Peanut"}],
        }
    }
}


def indexed(values: dict[str, JsonValue]) -> Flattened:
    return flatten(values, NestedMode.INDEXED, "properties")


def stringify(values: dict[str, JsonValue]) -> Flattened:
    return flatten(values, NestedMode.STRINGIFY, "properties")


def drop(values: dict[str, JsonValue]) -> Flattened:
    return flatten(values, NestedMode.DROP, "properties")


# indexed


def test_indexed_flattening_example_explodes_arrays_by_index_and_stringifies_values() -> None:
    result = indexed(FLATTENING_EXAMPLE)

    assert result.properties == {
        "foo.bar.cheese": "american",
        "foo.bar.prop.0": "1",
        "foo.bar.prop.1": "2",
        "foo.bar.prop.2": "3",
        "foo.bar.products.0.A": "Jello",
        "foo.bar.products.1.B": "Peanut",
    }
    assert result.warnings == []
    assert result.violations == []


@pytest.mark.parametrize(
    ("number", "text"),
    [(3.0, "3"), (-2.0, "-2"), (0.0, "0"), (1.5, "1.5"), (1e300, "1e+300")],
)
def test_indexed_writes_numbers_as_strings(number: float, text: str) -> None:
    assert indexed({"n": number}).properties == {"n": text}


@pytest.mark.parametrize(("flag", "text"), [(True, "true"), (False, "false")])
def test_indexed_writes_booleans_as_lowercase_strings(flag: bool, text: str) -> None:
    assert indexed({"b": flag}).properties == {"b": text}


def test_indexed_keeps_strings() -> None:
    assert indexed({"s": "hello"}).properties == {"s": "hello"}


def test_indexed_writes_top_level_null_as_null_string_without_warning() -> None:
    result = indexed({"n": None})

    assert result.properties == {"n": "null"}
    assert result.warnings == []


def test_indexed_writes_nested_and_array_nulls_as_null_string() -> None:
    assert indexed({"a": {"b": None}, "c": [None]}).properties == {"a.b": "null", "c.0": "null"}


def test_indexed_explodes_nested_arrays_by_index() -> None:
    result = indexed({"m": [[1.0, 2.0], [3.0]]})

    assert result.properties == {"m.0.0": "1", "m.0.1": "2", "m.1.0": "3"}


def test_indexed_omits_empty_array_with_warning() -> None:
    result = indexed({"a": [], "b": {"c": []}})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [
        ("properties", "a", EMPTY),
        ("properties", "b.c", EMPTY),
    ]


def test_indexed_omits_empty_object_with_warning() -> None:
    result = indexed({"a": {}, "b": [{}]})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [
        ("properties", "a", EMPTY),
        ("properties", "b.0", EMPTY),
    ]


def test_indexed_keeps_non_ascii_unescaped() -> None:
    assert indexed({"café": ["日本"]}).properties == {"café.0": "日本"}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_indexed_rejects_non_finite_number_inside_array(bad: float) -> None:
    result = indexed({"a": [1.0, bad]})

    assert violation_fields(result.violations) == ["properties.a[1]"]


def test_indexed_rejects_non_finite_top_level_number() -> None:
    assert violation_fields(indexed({"x": math.inf}).violations) == ["properties.x"]


@pytest.mark.parametrize(
    "values",
    [
        {"a.0": "dotted", "a": ["nested"]},
        {"a": ["nested"], "a.0": "dotted"},
    ],
)
def test_indexed_collision_of_dotted_key_and_array_index_keeps_nested_and_warns(
    values: dict[str, JsonValue],
) -> None:
    result = indexed(values)

    assert result.properties == {"a.0": "nested"}
    assert warning_tuples(result.warnings) == [("properties", "a.0", COLLISION)]


@pytest.mark.parametrize(
    "values",
    [
        {"a.b": "dotted", "a": {"b": "nested"}},
        {"a": {"b": "nested"}, "a.b": "dotted"},
    ],
)
def test_indexed_collision_of_dotted_key_and_nested_path_keeps_nested_and_warns(
    values: dict[str, JsonValue],
) -> None:
    result = indexed(values)

    assert result.properties == {"a.b": "nested"}
    assert warning_tuples(result.warnings) == [("properties", "a.b", COLLISION)]


def test_indexed_output_is_the_same_whatever_the_key_insertion_order() -> None:
    one = indexed({"b": [{"y": 1.0, "x": 2.0}], "a": None})
    other = indexed({"a": None, "b": [{"x": 2.0, "y": 1.0}]})

    assert list(one.properties.items()) == list(other.properties.items())
    assert one.properties == {"a": "null", "b.0.x": "2", "b.0.y": "1"}


# stringify


def test_stringify_flattening_example_is_one_json_string_per_top_level_key() -> None:
    result = stringify(FLATTENING_EXAMPLE)

    assert result.properties == {
        "foo": '{"bar":{"cheese":"american","products":[{"A":"Jello"},{"B":"Peanut"}],'
        '"prop":[1,2,3]}}'
    }
    assert result.warnings == []
    assert result.violations == []


def test_stringify_writes_top_level_array_as_compact_json() -> None:
    assert stringify({"a": [1.0, 2.5, "x", True]}).properties == {"a": '[1,2.5,"x",true]'}


def test_stringify_keeps_top_level_scalars_like_flatten_mode() -> None:
    result = stringify({"i": 3.0, "f": 1.5, "b": True, "s": "x"})

    assert result.properties == {"b": "true", "f": 1.5, "i": 3, "s": "x"}
    assert type(result.properties["i"]) is int


def test_stringify_omits_top_level_null_with_warning() -> None:
    result = stringify({"n": None})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [("properties", "n", EMPTY)]


def test_stringify_keeps_nested_nulls_and_empty_objects_inside_the_json() -> None:
    result = stringify({"a": {"b": None, "c": {}, "d": []}})

    assert result.properties == {"a": '{"b":null,"c":{},"d":[]}'}
    assert result.warnings == []


def test_stringify_writes_a_top_level_empty_object_as_braces() -> None:
    assert stringify({"a": {}}).properties == {"a": "{}"}


def test_stringify_writes_object_keys_sorted_whatever_the_insertion_order() -> None:
    one = stringify({"a": {"z": 1.0, "b": {"y": 2.0, "x": 3.0}}})
    other = stringify({"a": {"b": {"x": 3.0, "y": 2.0}, "z": 1.0}})

    assert one.properties == other.properties == {"a": '{"b":{"x":3,"y":2},"z":1}'}


def test_stringify_keeps_non_ascii_unescaped() -> None:
    assert stringify({"a": {"ü": "日本"}}).properties == {"a": '{"ü":"日本"}'}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_stringify_rejects_non_finite_nested_number(bad: float) -> None:
    result = stringify({"a": {"b": [bad]}})

    assert violation_fields(result.violations) == ["properties.a.b[0]"]
    assert result.properties == {}


@pytest.mark.parametrize(
    "values",
    [
        {"a.b": "dotted", "a": {"b": "nested"}},
        {"a": {"b": "nested"}, "a.b": "dotted"},
    ],
)
def test_stringify_dotted_key_and_nested_object_do_not_collide(
    values: dict[str, JsonValue],
) -> None:
    result = stringify(values)

    assert list(result.properties.items()) == [("a", '{"b":"nested"}'), ("a.b", "dotted")]
    assert result.warnings == []


# drop


def test_drop_flattening_example_leaves_everything_out_with_warning() -> None:
    result = drop(FLATTENING_EXAMPLE)

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [("properties", "foo", DROPPED)]
    assert result.violations == []


def test_drop_keeps_top_level_scalars_like_flatten_mode() -> None:
    result = drop({"i": 3.0, "f": 1.5, "b": False, "s": "x"})

    assert result.properties == {"b": "false", "f": 1.5, "i": 3, "s": "x"}
    assert result.warnings == []


def test_drop_leaves_out_top_level_array_with_warning() -> None:
    result = drop({"a": [1.0], "k": "v"})

    assert result.properties == {"k": "v"}
    assert warning_tuples(result.warnings) == [("properties", "a", DROPPED)]


@pytest.mark.parametrize("empty", [{}, []])
def test_drop_leaves_out_empty_nested_values_as_dropped(empty: JsonValue) -> None:
    result = drop({"e": empty})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [("properties", "e", DROPPED)]


def test_drop_omits_top_level_null_with_empty_value_warning() -> None:
    result = drop({"n": None})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [("properties", "n", EMPTY)]


def test_drop_keeps_non_ascii_unescaped() -> None:
    assert drop({"café": "日本"}).properties == {"café": "日本"}


def test_drop_rejects_non_finite_top_level_number() -> None:
    assert violation_fields(drop({"x": math.nan}).violations) == ["properties.x"]


def test_drop_still_rejects_non_finite_number_inside_a_nested_value() -> None:
    result = drop({"a": {"b": math.inf}})

    assert violation_fields(result.violations) == ["properties.a.b"]
    assert result.warnings == []


@pytest.mark.parametrize(
    "values",
    [
        {"a.b": "dotted", "a": {"b": "nested"}},
        {"a": {"b": "nested"}, "a.b": "dotted"},
    ],
)
def test_drop_keeps_dotted_key_and_drops_nested_object_without_collision(
    values: dict[str, JsonValue],
) -> None:
    result = drop(values)

    assert result.properties == {"a.b": "dotted"}
    assert warning_tuples(result.warnings) == [("properties", "a", DROPPED)]


def test_drop_warnings_are_the_same_whatever_the_key_insertion_order() -> None:
    one = drop({"z": [1.0], "a": {"b": 1.0}, "m": None})
    other = drop({"m": None, "a": {"b": 1.0}, "z": [1.0]})

    assert one.warnings == other.warnings
    assert warning_tuples(one.warnings) == [
        ("properties", "a", DROPPED),
        ("properties", "m", EMPTY),
        ("properties", "z", DROPPED),
    ]


# every mode


@pytest.mark.parametrize("mode", list(NestedMode))
def test_every_mode_gives_the_same_output_for_the_same_input(mode: NestedMode) -> None:
    values: dict[str, JsonValue] = {"a.b": 1.0, "a": {"b": 2.0, "c": [None, {}]}, "d": None}
    reordered: dict[str, JsonValue] = {"d": None, "a": {"c": [None, {}], "b": 2.0}, "a.b": 1.0}

    one = flatten(values, mode, "properties")
    other = flatten(reordered, mode, "properties")

    assert list(one.properties.items()) == list(other.properties.items())
    assert one.warnings == other.warnings
