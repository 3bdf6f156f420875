"""Native arrays: in the FLATTEN mode, arrays of scalars stay arrays for Heap to join by ||."""

import math

import pytest

from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason

from .helpers import violation_fields, warning_tuples

STRINGIFIED = WarningReason.ARRAY_STRINGIFIED
EMPTY = WarningReason.EMPTY_VALUE_OMITTED
COLLISION = WarningReason.KEY_COLLISION


def native(values: dict[str, JsonValue], mode: NestedMode = NestedMode.FLATTEN) -> Flattened:
    return flatten(values, mode, "properties", native_arrays=True)


def test_an_array_of_strings_stays_an_array() -> None:
    result = native({"flavors": ["vanilla", "chocolate"]})

    assert result.properties == {"flavors": ["vanilla", "chocolate"]}
    assert (result.warnings, result.violations) == ([], [])


def test_without_native_arrays_it_is_still_a_json_string() -> None:
    result = flatten({"flavors": ["vanilla", "chocolate"]}, NestedMode.FLATTEN, "properties")

    assert result.properties == {"flavors": '["vanilla","chocolate"]'}


def test_numbers_keep_their_types_integral_ones_as_integers() -> None:
    result = native({"n": [1.0, 2.5, -0.0, 1e16, 3]})

    [items] = result.properties.values()
    assert isinstance(items, list)
    assert [(type(item), item) for item in items] == [
        (int, 1),
        (float, 2.5),
        (int, 0),
        (float, 1e16),
        (int, 3),
    ]


def test_booleans_are_sent_as_true_and_false_like_every_other_boolean() -> None:
    assert native({"b": [True, False, "x"]}).properties == {"b": ["true", "false", "x"]}


def test_an_array_inside_an_object_keeps_its_dotted_key() -> None:
    result = native({"foo": {"bar": {"prop": [1.0, 2.0, 3.0], "cheese": "american"}}})

    assert result.properties == {"foo.bar.cheese": "american", "foo.bar.prop": [1, 2, 3]}


def test_an_empty_array_is_left_out_with_a_warning() -> None:
    result = native({"tags": [], "a": {"b": []}})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [
        ("properties", "a.b", EMPTY),
        ("properties", "tags", EMPTY),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1.0, {"a": 1.0}], '[1,{"a":1}]'),
        (["x", None], '["x",null]'),
        ([["x"], "y"], '[["x"],"y"]'),
        ([{"b": 1.0, "a": True}], '[{"a":true,"b":1}]'),
    ],
)
def test_an_array_holding_objects_arrays_or_nulls_is_stringified_with_a_warning(
    value: list[JsonValue], text: str
) -> None:
    result = native({"mixed": value})

    assert result.properties == {"mixed": text}
    assert warning_tuples(result.warnings) == [("properties", "mixed", STRINGIFIED)]


def test_a_stringified_array_that_lost_its_key_is_only_a_collision() -> None:
    result = native({"a": {"b": "first"}, "a.b": [None]})

    assert result.properties == {"a.b": "first"}
    assert warning_tuples(result.warnings) == [("properties", "a.b", COLLISION)]


def test_a_native_array_collides_like_any_value() -> None:
    result = native({"a": {"b": ["x"]}, "a.b": ["y"]})

    assert result.properties == {"a.b": ["x"]}
    assert warning_tuples(result.warnings) == [("properties", "a.b", COLLISION)]


def test_a_non_finite_item_is_a_violation_naming_its_index() -> None:
    result = native({"n": [1.0, math.nan], "m": [{"x": math.inf}]})

    assert result.properties == {}
    assert violation_fields(result.violations) == ["properties.m[0].x", "properties.n[1]"]
    assert result.warnings == []


@pytest.mark.parametrize("mode", [NestedMode.INDEXED, NestedMode.STRINGIFY, NestedMode.DROP])
def test_other_modes_ignore_native_arrays(mode: NestedMode) -> None:
    values: dict[str, JsonValue] = {
        "tags": ["a", "b"],
        "mixed": [1.0, None],
        "empty": [],
        "o": {"p": [True]},
    }

    assert native(values, mode) == flatten(values, mode, "properties")


def test_control_characters_in_the_key_are_rejected_as_ever() -> None:
    result = native({"tags\n": ["a"], "mixed\n": [None]})

    assert result.properties == {}
    assert result.warnings == []
    assert len(result.violations) == 2
