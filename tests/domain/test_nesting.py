"""Values may nest at most 20 levels of objects and arrays, in every nested mode."""

import math
from collections.abc import Callable

import pytest

from heap_destination.domain.flatten import Flattened, flatten
from heap_destination.domain.json_value import JsonValue
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.track import TrackInput, prepare_track
from heap_destination.domain.violations import InvalidInput

from .helpers import destination, violation_fields

RULE = "values may nest at most 20 levels of objects and arrays"
# The path of the 21st object: properties.a.a.…, shown cut after 40 characters.
TOO_DEEP_OBJECT = "properties." + "a." * 20 + "…"
TOO_DEEP_ARRAY = "properties.a" + "[0]" * 13 + "…"


def objects(levels: int) -> JsonValue:
    """`levels` objects one inside the other, each under the key a, around a string."""
    value: JsonValue = "deep"
    for _ in range(levels):
        value = {"a": value}
    return value


def arrays(levels: int) -> JsonValue:
    value: JsonValue = "deep"
    for _ in range(levels):
        value = [value]
    return value


def mixed(levels: int) -> JsonValue:
    """Arrays and objects in turn, the outermost an object."""
    value: JsonValue = "deep"
    for level in range(levels, 0, -1):
        value = {"o": value} if level % 2 else [value]
    return value


def flat(values: dict[str, JsonValue], mode: NestedMode) -> Flattened:
    return flatten(values, mode, "properties")


@pytest.mark.parametrize("mode", list(NestedMode))
@pytest.mark.parametrize("make", [objects, arrays, mixed])
def test_20_levels_are_accepted(mode: NestedMode, make: Callable[[int], JsonValue]) -> None:
    result = flat({"a": make(20)}, mode)

    assert result.violations == []
    assert result.properties or result.warnings


@pytest.mark.parametrize("mode", list(NestedMode))
@pytest.mark.parametrize(
    ("value", "field"),
    [
        (objects(21), TOO_DEEP_OBJECT),
        (arrays(21), TOO_DEEP_ARRAY),
        (mixed(21), "properties." + ("a" + ".o[0]" * 10)[:40] + "…"),
    ],
)
def test_21_levels_are_rejected_naming_the_path(
    mode: NestedMode, value: JsonValue, field: str
) -> None:
    result = flat({"a": value, "ok": "x"}, mode)

    assert violation_fields(result.violations) == [field]
    assert result.violations[0].description == RULE
    assert result.properties == {"ok": "x"}
    assert result.warnings == []


@pytest.mark.parametrize("mode", list(NestedMode))
@pytest.mark.parametrize("empty", [{}, []])
def test_an_empty_object_or_array_counts_as_a_level(mode: NestedMode, empty: JsonValue) -> None:
    value: JsonValue = empty
    for _ in range(20):
        value = {"a": value}

    assert violation_fields(flat({"a": value}, mode).violations) == [TOO_DEEP_OBJECT]


@pytest.mark.parametrize("mode", list(NestedMode))
def test_scalars_at_level_20_are_accepted(mode: NestedMode) -> None:
    value: JsonValue = {"s": "x", "n": 1.0, "b": True, "z": None}
    for _ in range(19):
        value = [value]

    assert flat({"a": value}, mode).violations == []


@pytest.mark.parametrize("mode", list(NestedMode))
def test_the_first_too_deep_value_in_sorted_key_order_is_named(mode: NestedMode) -> None:
    value: dict[str, JsonValue] = {"z": objects(20), "m": [objects(20), "x"], "b": "shallow"}

    result = flat({"p": value}, mode)

    assert violation_fields(result.violations) == [
        "properties." + ("p.m[0]" + ".a" * 18)[:40] + "…"
    ]


@pytest.mark.parametrize("mode", list(NestedMode))
def test_each_too_deep_property_is_reported(mode: NestedMode) -> None:
    result = flat({"a": objects(21), "b": arrays(21)}, mode)

    assert violation_fields(result.violations) == [
        TOO_DEEP_OBJECT,
        "properties.b" + "[0]" * 13 + "…",
    ]


@pytest.mark.parametrize("mode", list(NestedMode))
def test_a_too_deep_value_is_not_also_checked_for_non_finite_numbers(mode: NestedMode) -> None:
    result = flat({"a": [math.nan, objects(20)]}, mode)

    assert violation_fields(result.violations) == ["properties." + ("a[1]" + ".a" * 19)[:40] + "…"]


@pytest.mark.parametrize("mode", list(NestedMode))
def test_hostile_depth_is_rejected_without_recursion_error(mode: NestedMode) -> None:
    result = flat({"a": mixed(100_000)}, mode)

    assert len(result.violations) == 1
    assert result.violations[0].description == RULE
    assert len(result.violations[0].field) <= len("properties.") + 41


def test_too_deep_path_with_control_character_keys_is_shown_safely() -> None:
    value: JsonValue = "deep"
    for _ in range(21):
        value = {"\n": value}

    result = flat({"k": value}, NestedMode.FLATTEN)

    # The 20 escaped steps .\\n are cut after 40 characters, never inside an escape.
    assert violation_fields(result.violations) == ["properties.k" + ".\\n" * 13 + "…"]


@pytest.mark.parametrize("field_name", ["properties", "traits"])
def test_track_rejects_too_deep_properties_and_traits(field_name: str) -> None:
    values: dict[str, JsonValue] = {"a": objects(21)}
    request = TrackInput(user_id="u", event="e", **{field_name: values})  # type: ignore[arg-type]

    with pytest.raises(InvalidInput) as caught:
        prepare_track(request, destination())

    assert violation_fields(caught.value.violations) == [
        TOO_DEEP_OBJECT.replace("properties", field_name)
    ]
