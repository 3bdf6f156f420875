"""Property and trait keys with control characters are rejected in every nested mode."""

import math

import pytest

from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.properties import prepare_properties, prepare_user_properties

from .helpers import violation_fields

RULE = "property keys must not contain control characters"


@pytest.mark.parametrize("mode", list(NestedMode))
@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("a\nb", "properties.a\\nb"),
        ("a\rb", "properties.a\\rb"),
        ("a\tb", "properties.a\\tb"),
        ("\x00", "properties.\\x00"),
        ("a\x1b", "properties.a\\x1b"),
        ("a\x7f", "properties.a\\x7f"),
        ("a\x85b", "properties.a\\x85b"),
    ],
)
def test_top_level_key_with_a_control_character_is_rejected(
    mode: NestedMode, key: str, field: str
) -> None:
    result = prepare_properties({key: "v", "ok": "v"}, mode, "properties")

    assert violation_fields(result.violations) == [field]
    assert result.violations[0].description.startswith(RULE)
    assert result.properties == {"ok": "v"}


@pytest.mark.parametrize("mode", list(NestedMode))
@pytest.mark.parametrize("value", [None, {}, []])
def test_key_is_rejected_even_where_its_value_is_left_out(
    mode: NestedMode, value: JsonValue
) -> None:
    result = prepare_properties({"a\n": value}, mode, "properties")

    assert violation_fields(result.violations) == ["properties.a\\n"]
    assert result.warnings == []


@pytest.mark.parametrize("value", [{"b": 1.0}, [1.0]])
def test_key_of_a_dropped_nested_value_is_rejected(value: JsonValue) -> None:
    result = prepare_properties({"a\n": value}, NestedMode.DROP, "properties")

    assert violation_fields(result.violations) == ["properties.a\\n"]
    assert result.warnings == []


def test_trait_key_with_a_control_character_names_traits() -> None:
    result = prepare_user_properties({"plan\t": "pro"}, NestedMode.FLATTEN, "traits")

    assert violation_fields(result.violations) == ["traits.plan\\t"]
    assert result.violations[0].description.startswith(RULE)


def test_nested_key_with_a_control_character_is_rejected_by_its_flat_key() -> None:
    result = prepare_properties({"a": {"b\x00": 1.0, "c": 2.0}}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties.a.b\\x00"]
    assert result.properties == {"a.c": 2}


def test_indexed_key_inside_an_array_is_rejected_by_its_flat_key() -> None:
    result = prepare_properties({"a": [{"b\n": 1.0}]}, NestedMode.INDEXED, "properties")

    assert violation_fields(result.violations) == ["properties.a.0.b\\n"]


def test_every_flat_key_under_a_bad_key_is_rejected() -> None:
    result = prepare_properties({"a\n": {"x": 1.0, "y": 2.0}}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties.a\\n.x", "properties.a\\n.y"]


def test_two_paths_to_the_same_bad_flat_key_are_reported_once() -> None:
    result = prepare_properties({"a\n.b": 1.0, "a\n": {"b": 2.0}}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties.a\\n.b"]
    assert result.warnings == []


@pytest.mark.parametrize("mode", [NestedMode.FLATTEN, NestedMode.STRINGIFY])
def test_keys_inside_a_json_string_value_are_values_and_may_hold_control_characters(
    mode: NestedMode,
) -> None:
    result = prepare_properties({"a": [{"b\n": "v"}]}, mode, "properties")

    assert result.violations == []
    assert result.properties == {"a": '[{"b\\n":"v"}]'}


def test_long_key_with_a_control_character_is_named_briefly() -> None:
    result = prepare_properties({"k" * 2000 + "\n": "v"}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties." + "k" * 40 + "…"]


@pytest.mark.parametrize("mode", list(NestedMode))
def test_values_may_hold_control_characters(mode: NestedMode) -> None:
    result = prepare_properties({"k": "line 1\nline 2\t\x00"}, mode, "properties")

    assert result.violations == []
    assert result.properties == {"k": "line 1\nline 2\t\x00"}


@pytest.mark.parametrize("key", ["a\u200bb", "a\u00a0b", "\ufeffa", "a\u2028b"])
def test_keys_with_invisible_characters_that_are_not_control_characters_are_kept(
    key: str,
) -> None:
    result = prepare_properties({key: "v"}, NestedMode.FLATTEN, "properties")

    assert result.violations == []
    assert result.properties == {key: "v"}


def test_bad_key_and_non_finite_value_are_both_reported() -> None:
    result = prepare_properties({"a": math.nan, "b\n": 1.0}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties.a", "properties.b\\n"]
