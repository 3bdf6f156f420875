"""Heap's 1024-character value limit for a native array: the string Heap stores, the items
joined by ||, and what reaches Heap for a track call."""

import pytest

from heap_destination.domain.destination import Destination
from heap_destination.domain.json_value import FlatScalar, JsonValue
from heap_destination.domain.native_arrays import (
    cut_to_joined_length,
    joined_length,
    native_items,
)
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.properties import prepare_properties, prepare_user_properties
from heap_destination.domain.property_warnings import WarningReason
from heap_destination.domain.track import TrackInput, prepare_track

from .helpers import US_BASE_URL, warning_tuples

TRUNCATED = WarningReason.VALUE_TRUNCATED


def test_joined_length_is_the_length_of_heaps_string() -> None:
    assert joined_length(["vanilla", "chocolate", "strawberry"]) == len(
        "vanilla||chocolate||strawberry"
    )
    assert joined_length([1, 2.5, ""]) == len("1||2.5||")
    assert joined_length([]) == 0


def test_native_items_are_scalars_or_none() -> None:
    assert native_items([True, 1, 1.5, "x"]) == ["true", 1, 1.5, "x"]
    assert native_items([1, None]) is None
    assert native_items([[1]]) is None


@pytest.mark.parametrize(
    ("items", "limit", "kept"),
    [
        (["abc", "def"], 8, ["abc", "def"]),
        (["abc", "def"], 7, ["abc", "de"]),
        (["abc", "def"], 5, ["abc"]),  # nothing of "def" fits after the separator
        (["abc", 12345], 7, ["abc"]),  # a number is never cut short
        (["abcdef"], 4, ["abcd"]),
    ],
)
def test_an_array_is_cut_to_the_items_that_fit(
    items: list[FlatScalar], limit: int, kept: list[FlatScalar]
) -> None:
    assert cut_to_joined_length(items, limit) == kept
    assert joined_length(kept) <= limit


def test_an_array_joining_to_1024_characters_is_kept_whole() -> None:
    items: list[JsonValue] = ["x" * 511, "y" * 511]  # 511 + 2 + 511

    result = prepare_properties({"a": items}, NestedMode.FLATTEN, "properties", native_arrays=True)

    assert result.properties == {"a": items}
    assert result.warnings == []


def test_an_array_joining_past_1024_characters_is_cut_with_a_warning() -> None:
    items: list[JsonValue] = ["x" * 600, "y" * 600, "z"]

    result = prepare_properties({"a": items}, NestedMode.FLATTEN, "properties", native_arrays=True)

    assert result.properties == {"a": ["x" * 600, "y" * 422]}
    assert warning_tuples(result.warnings) == [("properties", "a", TRUNCATED)]
    assert "3 items" in result.warnings[0].message


def test_a_single_long_item_is_cut_like_a_string_value() -> None:
    result = prepare_properties(
        {"a": ["x" * 1100]}, NestedMode.FLATTEN, "properties", native_arrays=True
    )

    assert result.properties == {"a": ["x" * 1024]}
    assert warning_tuples(result.warnings) == [("properties", "a", TRUNCATED)]


def test_user_properties_never_take_native_arrays() -> None:
    result = prepare_user_properties({"tags": ["a", "b"]}, NestedMode.FLATTEN, "traits")

    assert result.properties == {"tags": '["a","b"]'}


def test_a_track_call_sends_event_arrays_natively_and_traits_stringified() -> None:
    destination = Destination(
        "1234567890", US_BASE_URL, NestedMode.FLATTEN, False, native_arrays=True
    )
    request = TrackInput(
        user_id="u",
        event="Bought",
        properties={"flavors": ["vanilla", "chocolate"]},
        traits={"flavors": ["vanilla", "chocolate"]},
    )

    prepared = prepare_track(request, destination)

    assert prepared.event.properties == {"flavors": ["vanilla", "chocolate"]}
    assert prepared.user_properties is not None
    assert prepared.user_properties.properties == {"flavors": '["vanilla","chocolate"]'}
    assert prepared.warnings == ()
