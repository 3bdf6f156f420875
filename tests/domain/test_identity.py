"""Who an event belongs to in Heap."""

import pytest

from heap_destination.domain.identity import resolve_identity
from heap_destination.domain.violations import FieldViolation


def violation_field(result: str | FieldViolation) -> str:
    assert isinstance(result, FieldViolation), f"expected a violation, got {result!r}"
    return result.field


def test_user_id_is_the_identity() -> None:
    assert resolve_identity("user-1", "", False) == "user-1"


@pytest.mark.parametrize("raw", ["  user-1", "user-1  ", "\tuser-1\n", " user-1 "])
def test_user_id_is_trimmed(raw: str) -> None:
    assert resolve_identity(raw, "", False) == "user-1"


def test_identity_is_case_sensitive() -> None:
    assert resolve_identity("User-ABC", "", False) == "User-ABC"


def test_inner_whitespace_is_kept() -> None:
    assert resolve_identity(" a b ", "", False) == "a b"


@pytest.mark.parametrize("user_id", ["", " ", "\t\n "])
def test_missing_or_whitespace_user_id_without_anonymous_id_is_a_user_id_violation(
    user_id: str,
) -> None:
    assert violation_field(resolve_identity(user_id, "", False)) == "user_id"


@pytest.mark.parametrize("user_id", ["", "   "])
def test_only_anonymous_id_is_rejected_by_default(user_id: str) -> None:
    result = resolve_identity(user_id, "anon-1", False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "anonymous_id_as_identity" in result.description


@pytest.mark.parametrize("user_id", ["", "   "])
def test_anonymous_id_is_the_identity_when_the_destination_allows(user_id: str) -> None:
    assert resolve_identity(user_id, " anon-1 ", True) == "anon-1"


def test_whitespace_anonymous_id_is_missing_even_when_allowed() -> None:
    assert violation_field(resolve_identity("", "  ", True)) == "user_id"


@pytest.mark.parametrize("allowed", [False, True])
def test_user_id_wins_over_anonymous_id(allowed: bool) -> None:
    assert resolve_identity("user-1", "anon-1", allowed) == "user-1"


def test_user_id_of_255_characters_is_accepted() -> None:
    assert resolve_identity("u" * 255, "", False) == "u" * 255


def test_user_id_of_256_characters_is_a_user_id_violation() -> None:
    result = resolve_identity("u" * 256, "", False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "256" in result.description


def test_length_is_measured_after_trimming() -> None:
    assert resolve_identity("  " + "u" * 255 + "  ", "", False) == "u" * 255


def test_anonymous_id_of_255_characters_is_accepted_when_allowed() -> None:
    assert resolve_identity("", "a" * 255, True) == "a" * 255


def test_anonymous_id_of_256_characters_is_an_anonymous_id_violation() -> None:
    assert violation_field(resolve_identity("", "a" * 256, True)) == "anonymous_id"


def test_long_anonymous_id_does_not_matter_when_user_id_is_given() -> None:
    assert resolve_identity("user-1", "a" * 300, True) == "user-1"


def test_identity_length_counts_characters_not_bytes() -> None:
    assert resolve_identity("é" * 255, "", False) == "é" * 255
