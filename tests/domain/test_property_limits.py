"""Heap's key and value limits, and the user property Heap forbids (`id`)."""

import pytest

from heap_destination.domain.json_value import FlatProperties, JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.properties import prepare_properties, prepare_user_properties
from heap_destination.domain.property_limits import (
    apply_property_limits,
    apply_user_property_rules,
)
from heap_destination.domain.property_warnings import WarningReason

from .helpers import violation_fields, warning_tuples

TRUNCATED = WarningReason.VALUE_TRUNCATED
RESERVED = WarningReason.RESERVED_KEY_OMITTED


def test_value_of_1024_characters_is_kept_whole() -> None:
    value = "v" * 1024

    result = apply_property_limits({"k": value}, "properties")

    assert result.properties == {"k": value}
    assert result.warnings == []


def test_value_of_1025_characters_is_truncated_to_1024_with_warning() -> None:
    value = "a" * 1024 + "b"

    result = apply_property_limits({"k": value}, "properties")

    assert result.properties == {"k": "a" * 1024}
    assert warning_tuples(result.warnings) == [("properties", "k", TRUNCATED)]


def test_truncation_counts_characters_not_bytes() -> None:
    result = apply_property_limits({"k": "é" * 1100}, "properties")

    assert result.properties == {"k": "é" * 1024}


def test_truncation_warning_names_the_request_field() -> None:
    result = apply_property_limits({"k": "x" * 2000}, "traits")

    assert warning_tuples(result.warnings) == [("traits", "k", TRUNCATED)]


@pytest.mark.parametrize("number", [10**300, 1e300, -1.5])
def test_numbers_are_never_truncated(number: float) -> None:
    result = apply_property_limits({"n": number}, "properties")

    assert result.properties == {"n": number}
    assert result.warnings == []


def test_key_of_1024_characters_is_kept() -> None:
    key = "k" * 1024

    result = apply_property_limits({key: "v"}, "properties")

    assert result.properties == {key: "v"}
    assert result.violations == []


def test_key_of_1025_characters_is_a_violation_naming_the_shortened_key() -> None:
    key = "k" * 1025

    result = apply_property_limits({key: "v", "ok": "v"}, "properties")

    assert violation_fields(result.violations) == ["properties." + "k" * 40 + "…"]
    assert result.properties == {"ok": "v"}


def test_over_long_key_violation_escapes_control_characters_in_the_field() -> None:
    key = "\u200b" + "k" * 1025

    result = apply_property_limits({key: "v"}, "properties")

    assert violation_fields(result.violations) == ["properties.\\u200b" + "k" * 34 + "…"]
    assert "1026" in result.violations[0].description


def test_empty_key_is_a_violation_naming_the_field() -> None:
    result = apply_property_limits({"": "v"}, "properties")

    assert violation_fields(result.violations) == ["properties"]
    assert result.properties == {}


def test_empty_top_level_key_is_rejected_through_prepare_properties() -> None:
    result = prepare_properties({"": 1.0}, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties"]


def test_flattened_key_over_1024_characters_is_a_violation() -> None:
    values: dict[str, JsonValue] = {"a" * 600: {"b" * 600: "v"}}

    result = prepare_properties(values, NestedMode.FLATTEN, "properties")

    assert violation_fields(result.violations) == ["properties." + "a" * 40 + "…"]
    assert result.properties == {}


def test_long_array_string_is_truncated_with_warning() -> None:
    result = prepare_properties({"a": ["x" * 1100]}, NestedMode.FLATTEN, "properties")

    assert result.properties == {"a": ('["' + "x" * 1100)[:1024]}
    assert warning_tuples(result.warnings) == [("properties", "a", TRUNCATED)]


def test_prepare_properties_reports_flatten_warnings_before_limit_warnings() -> None:
    result = prepare_properties(
        {"gone": None, "long": "x" * 1025}, NestedMode.FLATTEN, "properties"
    )

    assert warning_tuples(result.warnings) == [
        ("properties", "gone", WarningReason.EMPTY_VALUE_OMITTED),
        ("properties", "long", TRUNCATED),
    ]


@pytest.mark.parametrize("key", ["id", "ID", "Id", "iD"])
def test_user_property_id_in_any_case_is_omitted_with_warning(key: str) -> None:
    result = prepare_user_properties({key: "x", "name": "Ada"}, NestedMode.FLATTEN, "traits")

    assert result.properties == {"name": "Ada"}
    assert warning_tuples(result.warnings) == [("traits", key, RESERVED)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"identity": "x"}, {"identity": "x"}),
        ({"user": {"id": "x"}}, {"user.id": "x"}),
        ({"ids": "x"}, {"ids": "x"}),
        ({"id": {"x": "y"}}, {"id.x": "y"}),
    ],
)
def test_user_properties_that_only_contain_id_are_kept(
    values: dict[str, JsonValue], expected: FlatProperties
) -> None:
    result = prepare_user_properties(values, NestedMode.FLATTEN, "traits")

    assert result.properties == expected
    assert result.warnings == []


@pytest.mark.parametrize("key", ["Email", "EMAIL", "eMail"])
def test_a_user_property_email_not_in_lowercase_is_sent_as_given_with_a_warning(key: str) -> None:
    result = prepare_user_properties({key: "ada@example.com"}, NestedMode.FLATTEN, "traits")

    assert result.properties == {key: "ada@example.com"}
    assert warning_tuples(result.warnings) == [("traits", key, WarningReason.EMAIL_NOT_LOWERCASE)]
    assert "lowercase email" in result.warnings[0].message


@pytest.mark.parametrize("values", [{"email": "a@example.com"}, {"user": {"Email": "x"}}])
def test_lowercase_email_and_nested_email_keys_get_no_warning(
    values: dict[str, JsonValue],
) -> None:
    assert prepare_user_properties(values, NestedMode.FLATTEN, "traits").warnings == []


def test_an_event_property_email_in_any_case_gets_no_warning() -> None:
    assert prepare_properties({"Email": "x"}, NestedMode.FLATTEN, "properties").warnings == []


def test_event_property_named_id_is_kept() -> None:
    result = prepare_properties({"id": "x"}, NestedMode.FLATTEN, "properties")

    assert result.properties == {"id": "x"}
    assert result.warnings == []


def test_apply_user_property_rules_keeps_everything_else_in_order() -> None:
    properties: FlatProperties = {"a": 1, "Id": "x", "b": "y"}

    kept, warnings = apply_user_property_rules(properties, "traits")

    assert list(kept.items()) == [("a", 1), ("b", "y")]
    assert warning_tuples(warnings) == [("traits", "Id", RESERVED)]


def test_request_field_value_wins_over_property_of_same_key_with_collision_warning() -> None:
    result = prepare_properties(
        {"name": "from properties"},
        NestedMode.FLATTEN,
        "properties",
        extra={"name": ("from field", "name")},
    )

    assert result.properties == {"name": "from field"}
    assert warning_tuples(result.warnings) == [("properties", "name", WarningReason.KEY_COLLISION)]


def test_request_field_value_is_truncated_like_any_value() -> None:
    result = prepare_properties(
        {}, NestedMode.FLATTEN, "properties", extra={"name": ("n" * 1025, "name")}
    )

    assert result.properties == {"name": "n" * 1024}
    assert warning_tuples(result.warnings) == [("properties", "name", TRUNCATED)]
