"""Who an event belongs to in Heap."""

import pytest

from heap_destination.domain.identity import resolve_identity
from heap_destination.domain.violations import FieldViolation


def violation_field(result: str | FieldViolation) -> str:
    assert isinstance(result, FieldViolation), f"expected a violation, got {result!r}"
    return result.field


def test_user_id_is_the_identity() -> None:
    assert resolve_identity("user-1", "", anonymous_id_as_identity=False) == "user-1"


@pytest.mark.parametrize("raw", ["  user-1", "user-1  ", "\tuser-1\n", " user-1 "])
def test_user_id_is_trimmed(raw: str) -> None:
    assert resolve_identity(raw, "", anonymous_id_as_identity=False) == "user-1"


def test_identity_is_case_sensitive() -> None:
    assert resolve_identity("User-ABC", "", anonymous_id_as_identity=False) == "User-ABC"


def test_inner_whitespace_is_kept() -> None:
    assert resolve_identity(" a b ", "", anonymous_id_as_identity=False) == "a b"


@pytest.mark.parametrize("user_id", ["", " ", "\t\n "])
def test_missing_or_whitespace_user_id_without_anonymous_id_is_a_user_id_violation(
    user_id: str,
) -> None:
    assert (
        violation_field(resolve_identity(user_id, "", anonymous_id_as_identity=False)) == "user_id"
    )


@pytest.mark.parametrize("user_id", ["", "   "])
def test_only_anonymous_id_is_rejected_by_default(user_id: str) -> None:
    result = resolve_identity(user_id, "anon-1", anonymous_id_as_identity=False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "anonymous_id_as_identity" in result.description


@pytest.mark.parametrize("user_id", ["", "   "])
def test_anonymous_id_is_the_identity_when_the_destination_allows(user_id: str) -> None:
    assert resolve_identity(user_id, " anon-1 ", anonymous_id_as_identity=True) == "anon-1"


def test_whitespace_anonymous_id_is_missing_even_when_allowed() -> None:
    assert violation_field(resolve_identity("", "  ", anonymous_id_as_identity=True)) == "user_id"


@pytest.mark.parametrize("allowed", [False, True])
def test_user_id_wins_over_anonymous_id(allowed: bool) -> None:
    assert resolve_identity("user-1", "anon-1", anonymous_id_as_identity=allowed) == "user-1"


def test_user_id_of_255_characters_is_accepted() -> None:
    assert resolve_identity("u" * 255, "", anonymous_id_as_identity=False) == "u" * 255


def test_user_id_of_256_characters_is_a_user_id_violation() -> None:
    result = resolve_identity("u" * 256, "", anonymous_id_as_identity=False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "256" in result.description


def test_length_is_measured_after_trimming() -> None:
    assert (
        resolve_identity("  " + "u" * 255 + "  ", "", anonymous_id_as_identity=False) == "u" * 255
    )


def test_anonymous_id_of_255_characters_is_accepted_when_allowed() -> None:
    assert resolve_identity("", "a" * 255, anonymous_id_as_identity=True) == "a" * 255


def test_anonymous_id_of_256_characters_is_an_anonymous_id_violation() -> None:
    assert (
        violation_field(resolve_identity("", "a" * 256, anonymous_id_as_identity=True))
        == "anonymous_id"
    )


def test_long_anonymous_id_does_not_matter_when_user_id_is_given() -> None:
    assert resolve_identity("user-1", "a" * 300, anonymous_id_as_identity=True) == "user-1"


def test_identity_length_counts_characters_not_bytes() -> None:
    assert resolve_identity("é" * 255, "", anonymous_id_as_identity=False) == "é" * 255


# invisible characters and control characters


@pytest.mark.parametrize(
    "user_id",
    ["\u3000\u00a0", "\u200b", "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e", " \ufeff\t\u200b "],
)
def test_user_id_of_only_unicode_spaces_or_invisible_characters_is_missing(user_id: str) -> None:
    result = resolve_identity(user_id, "", anonymous_id_as_identity=False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert result.description.startswith("required")


@pytest.mark.parametrize(
    "raw", ["\ufeffuser-1", "user-1\u200b", "\u00a0user-1\u3000", "\u2060\u200d user-1 \u00ad"]
)
def test_invisible_characters_are_trimmed_from_both_ends(raw: str) -> None:
    assert resolve_identity(raw, "", anonymous_id_as_identity=False) == "user-1"


def test_invisible_characters_inside_the_identity_are_kept() -> None:
    assert (
        resolve_identity("\u200bjo\u200dsé\u00a0x\u200b", "", anonymous_id_as_identity=False)
        == "jo\u200dsé\u00a0x"
    )


@pytest.mark.parametrize(
    "user_id",
    ["user\x001", "\x00user", "user\n1", "user\r1", "user\t1", "user\x1b", "user\x7f", "a\x85b"],
)
def test_user_id_with_a_control_character_is_a_user_id_violation(user_id: str) -> None:
    result = resolve_identity(user_id, "", anonymous_id_as_identity=False)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "must not contain control characters" in result.description


def test_anonymous_id_identity_with_a_control_character_is_an_anonymous_id_violation() -> None:
    result = resolve_identity("", "anon\n1", anonymous_id_as_identity=True)

    assert violation_field(result) == "anonymous_id"
    assert isinstance(result, FieldViolation)
    assert "must not contain control characters" in result.description


def test_control_characters_in_an_unused_anonymous_id_do_not_matter() -> None:
    assert resolve_identity("user-1", "anon\x001", anonymous_id_as_identity=True) == "user-1"


def test_invisible_anonymous_id_is_missing_even_when_allowed() -> None:
    result = resolve_identity("", "\u200b\u3000", anonymous_id_as_identity=True)

    assert violation_field(result) == "user_id"
    assert isinstance(result, FieldViolation)
    assert "anonymous_id_as_identity" not in result.description


def test_anonymous_id_is_trimmed_of_invisible_characters() -> None:
    assert resolve_identity("", "\ufeffanon-1\u200b", anonymous_id_as_identity=True) == "anon-1"


def test_length_is_measured_after_trimming_invisible_characters() -> None:
    assert (
        resolve_identity("\u200b" + "u" * 255 + "\ufeff\u3000", "", anonymous_id_as_identity=False)
        == "u" * 255
    )


def test_invisible_characters_inside_count_toward_the_length() -> None:
    user_id = "u" * 127 + "\u200b\u200b" + "u" * 127

    assert (
        violation_field(resolve_identity(user_id, "", anonymous_id_as_identity=False)) == "user_id"
    )
