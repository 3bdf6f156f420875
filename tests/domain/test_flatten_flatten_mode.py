"""The default mode: nested objects become dotted keys, arrays compact JSON strings."""

import math

import pytest

from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.property_warnings import WarningReason

from .helpers import violation_fields, warning_tuples

EMPTY = WarningReason.EMPTY_VALUE_OMITTED
COLLISION = WarningReason.KEY_COLLISION

FLATTENING_EXAMPLE: dict[str, JsonValue] = {
    "foo": {
        "bar": {
            "cheese": "american",
            "prop": [1.0, 2.0, 3.0],
            "products": [{"A": "Jello"}, {"B": "Peanut"}],
        }
    }
}


def flat(values: dict[str, JsonValue], field_name: str = "properties") -> Flattened:
    return flatten(values, NestedMode.FLATTEN, field_name)


def test_the_flattening_example_flattens_to_dotted_keys_and_json_array_strings() -> None:
    result = flat(FLATTENING_EXAMPLE)

    assert result.properties == {
        "foo.bar.cheese": "american",
        "foo.bar.prop": "[1,2,3]",
        "foo.bar.products": '[{"A":"Jello"},{"B":"Peanut"}]',
    }
    assert result.warnings == []
    assert result.violations == []


def test_empty_input_gives_empty_output() -> None:
    result = flat({})

    assert (result.properties, result.warnings, result.violations) == ({}, [], [])


def test_nested_object_becomes_dotted_keys() -> None:
    result = flat({"a": {"b": {"c": "deep"}, "d": "shallow"}})

    assert result.properties == {"a.b.c": "deep", "a.d": "shallow"}


def test_string_stays_string() -> None:
    assert flat({"s": "hello"}).properties == {"s": "hello"}


def test_string_that_looks_like_a_number_stays_string() -> None:
    assert flat({"s": "3"}).properties == {"s": "3"}


@pytest.mark.parametrize(
    ("number", "expected"),
    [(3.0, 3), (0.0, 0), (-2.0, -2), (-0.0, 0), (1e15, 10**15), (2.0**53 + 2, 2**53 + 2)],
)
def test_integral_number_becomes_int(number: float, expected: int) -> None:
    value = flat({"n": number}).properties["n"]

    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("number", [1.5, -0.25, 3.14159])
def test_non_integral_number_stays_float(number: float) -> None:
    value = flat({"n": number}).properties["n"]

    assert value == number
    assert type(value) is float


@pytest.mark.parametrize("number", [1e300, -1e300])
def test_huge_integral_number_stays_float(number: float) -> None:
    value = flat({"n": number}).properties["n"]

    assert value == number
    assert type(value) is float


def test_integral_numbers_inside_array_string_are_written_as_integers() -> None:
    assert flat({"a": [1.0, 2.5, -3.0, 0.0]}).properties == {"a": "[1,2.5,-3,0]"}


def test_integral_numbers_inside_objects_inside_array_string_are_written_as_integers() -> None:
    assert flat({"a": [{"n": 7.0, "m": [8.0]}]}).properties == {"a": '[{"m":[8],"n":7}]'}


def test_huge_number_inside_array_string_stays_exponent_float() -> None:
    assert flat({"a": [1e300]}).properties == {"a": "[1e+300]"}


def test_no_integral_number_is_ever_written_with_a_decimal_point() -> None:
    numbers = [2.0**53 + 2, 9.999999999999998e15, 1e16, 1e17]

    assert flat({"a": numbers}).properties == {
        "a": "[9007199254740994,9999999999999998,1e+16,1e+17]"
    }


@pytest.mark.parametrize(("flag", "text"), [(True, "true"), (False, "false")])
def test_boolean_becomes_lowercase_string(flag: bool, text: str) -> None:
    assert flat({"b": flag}).properties == {"b": text}


def test_nested_boolean_becomes_lowercase_string() -> None:
    assert flat({"a": {"b": True}}).properties == {"a.b": "true"}


def test_booleans_and_nulls_inside_array_string_stay_json() -> None:
    assert flat({"a": [True, False, None]}).properties == {"a": "[true,false,null]"}


def test_top_level_null_is_omitted_with_warning() -> None:
    result = flat({"gone": None, "kept": "x"})

    assert result.properties == {"kept": "x"}
    assert warning_tuples(result.warnings) == [("properties", "gone", EMPTY)]


def test_nested_null_is_omitted_with_warning_naming_dotted_key() -> None:
    result = flat({"a": {"b": None, "c": "x"}})

    assert result.properties == {"a.c": "x"}
    assert warning_tuples(result.warnings) == [("properties", "a.b", EMPTY)]


def test_top_level_empty_object_is_omitted_with_warning() -> None:
    result = flat({"empty": {}})

    assert result.properties == {}
    assert warning_tuples(result.warnings) == [("properties", "empty", EMPTY)]


def test_nested_empty_object_is_omitted_with_warning_naming_dotted_key() -> None:
    result = flat({"a": {"b": {}, "c": 1.0}})

    assert result.properties == {"a.c": 1}
    assert warning_tuples(result.warnings) == [("properties", "a.b", EMPTY)]


def test_empty_array_is_sent_as_empty_json_array() -> None:
    result = flat({"a": [], "b": {"c": []}})

    assert result.properties == {"a": "[]", "b.c": "[]"}
    assert result.warnings == []


def test_empty_objects_inside_array_string_are_kept_as_json() -> None:
    assert flat({"a": [{}, []]}).properties == {"a": "[{},[]]"}


def test_warning_names_the_request_field() -> None:
    result = flat({"gone": None}, field_name="traits")

    assert warning_tuples(result.warnings) == [("traits", "gone", EMPTY)]


def test_non_ascii_value_is_kept_unescaped() -> None:
    assert flat({"dish": "Crème brûlée ☕"}).properties == {"dish": "Crème brûlée ☕"}


def test_non_ascii_key_is_kept_unescaped() -> None:
    assert flat({"café": {"größe": "groß"}}).properties == {"café.größe": "groß"}


def test_non_ascii_inside_array_string_is_not_escaped() -> None:
    result = flat({"a": ["日本", {"ü": "ö"}]})

    assert result.properties == {"a": '["日本",{"ü":"ö"}]'}


def test_special_characters_inside_array_string_are_json_escaped() -> None:
    assert flat({"a": ['say "hi"\n']}).properties == {"a": '["say \\"hi\\"\\n"]'}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_top_level_number_is_a_violation_naming_the_path(bad: float) -> None:
    result = flat({"x": bad})

    assert violation_fields(result.violations) == ["properties.x"]
    assert "x" not in result.properties


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_nested_number_is_a_violation_naming_the_dotted_path(bad: float) -> None:
    result = flat({"a": {"b": bad}})

    assert violation_fields(result.violations) == ["properties.a.b"]
    assert result.properties == {}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_number_inside_array_is_a_violation_naming_the_index(bad: float) -> None:
    result = flat({"a": [1.0, bad]})

    assert violation_fields(result.violations) == ["properties.a[1]"]
    assert result.properties == {}


def test_non_finite_number_inside_object_inside_array_names_the_full_path() -> None:
    result = flat({"a": [{"b": math.inf}]})

    assert violation_fields(result.violations) == ["properties.a[0].b"]


def test_every_non_finite_number_is_reported() -> None:
    result = flat({"a": math.nan, "b": {"c": math.inf}, "d": [-math.inf]})

    assert violation_fields(result.violations) == [
        "properties.a",
        "properties.b.c",
        "properties.d[0]",
    ]


def test_non_finite_violation_names_the_request_field() -> None:
    assert violation_fields(flat({"x": math.nan}, field_name="traits").violations) == ["traits.x"]


def test_finite_siblings_of_a_non_finite_value_are_still_flattened() -> None:
    result = flat({"bad": math.nan, "good": 1.0})

    assert result.properties == {"good": 1}


def test_output_is_the_same_whatever_the_key_insertion_order() -> None:
    forward: dict[str, JsonValue] = {
        "b": {"y": 1.0, "x": None},
        "a": "z",
        "c": [{"q": 1.0, "p": 2.0}],
    }
    backward: dict[str, JsonValue] = {
        "c": [{"p": 2.0, "q": 1.0}],
        "a": "z",
        "b": {"x": None, "y": 1.0},
    }

    one, other = flat(forward), flat(backward)

    assert list(one.properties.items()) == list(other.properties.items())
    assert one.properties == {"a": "z", "b.y": 1, "c": '[{"p":2,"q":1}]'}
    assert one.warnings == other.warnings


def test_object_keys_inside_array_string_are_sorted() -> None:
    assert flat({"a": [{"z": 1.0, "a": 2.0}]}).properties == {"a": '[{"a":2,"z":1}]'}


def test_array_order_is_kept() -> None:
    assert flat({"a": ["c", "a", "b"]}).properties == {"a": '["c","a","b"]'}


@pytest.mark.parametrize(
    "values",
    [
        {"a.b": "dotted", "a": {"b": "nested"}},
        {"a": {"b": "nested"}, "a.b": "dotted"},
    ],
)
def test_collision_of_dotted_key_and_nested_path_keeps_nested_and_warns(
    values: dict[str, JsonValue],
) -> None:
    result = flat(values)

    assert result.properties == {"a.b": "nested"}
    assert warning_tuples(result.warnings) == [("properties", "a.b", COLLISION)]


@pytest.mark.parametrize(
    "values",
    [
        {"x": {"a.b": "dotted", "a": {"b": "nested"}}},
        {"x": {"a": {"b": "nested"}, "a.b": "dotted"}},
    ],
)
def test_collision_below_top_level_is_resolved_the_same_way(
    values: dict[str, JsonValue],
) -> None:
    result = flat(values)

    assert result.properties == {"x.a.b": "nested"}
    assert warning_tuples(result.warnings) == [("properties", "x.a.b", COLLISION)]


def test_collision_of_dotted_key_and_array_path_keeps_the_first_sorted_key() -> None:
    result = flat({"a.b": "dotted", "a": {"b": [1.0]}})

    assert result.properties == {"a.b": "[1]"}
    assert warning_tuples(result.warnings) == [("properties", "a.b", COLLISION)]


# user text in violations and warnings is bounded


def test_non_finite_violation_at_a_long_key_names_it_briefly() -> None:
    result = flat({"k" * 5000: math.nan})

    assert violation_fields(result.violations) == ["properties." + "k" * 40 + "…"]


def test_non_finite_violation_path_escapes_control_characters() -> None:
    result = flatten({"a": {"b\x00": [math.inf]}}, NestedMode.STRINGIFY, "properties")

    assert violation_fields(result.violations) == ["properties.a.b\\x00[0]"]


def test_warning_key_over_1024_characters_is_cut_with_an_ellipsis() -> None:
    result = flat({"k" * 5000: None})

    assert warning_tuples(result.warnings) == [("properties", "k" * 1024 + "…", EMPTY)]


def test_warning_key_of_1024_characters_is_kept_whole() -> None:
    result = flat({"k" * 1024: None})

    assert warning_tuples(result.warnings) == [("properties", "k" * 1024, EMPTY)]


def test_warning_key_keeps_invisible_characters() -> None:
    result = flat({"a\u200b": None})

    assert warning_tuples(result.warnings) == [("properties", "a\u200b", EMPTY)]
