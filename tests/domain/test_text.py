"""User-supplied text: trimming invisible edges, finding control characters, quoting it."""

import pytest

from heap_destination.domain.text import cut, has_control_characters, shown, trim_invisible

# trim_invisible


@pytest.mark.parametrize(
    "edge",
    [
        " ",
        "\t",
        "\n",
        "\r",
        "\u00a0",  # no-break space
        "\u3000",  # ideographic space
        "\u2028",  # line separator
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # byte order mark
        "\u00ad",  # soft hyphen
        "\u180e",  # Mongolian vowel separator
        "\u202e",  # right-to-left override, another format character
    ],
)
def test_trim_invisible_takes_the_character_off_both_ends(edge: str) -> None:
    assert trim_invisible(f"{edge}{edge}user-1{edge}") == "user-1"


def test_trim_invisible_keeps_invisible_characters_inside() -> None:
    assert trim_invisible("\u200b a\u200db\u00a0c \ufeff") == "a\u200db\u00a0c"


@pytest.mark.parametrize("text", ["", " ", "\u3000\u00a0", "\u200b\u200c\u200d\u2060\ufeff"])
def test_trim_invisible_of_only_invisible_characters_is_empty(text: str) -> None:
    assert trim_invisible(text) == ""


@pytest.mark.parametrize("text", ["\x00a", "a\x7f", "\x1ba"])
def test_trim_invisible_keeps_control_characters_that_are_not_whitespace(text: str) -> None:
    assert trim_invisible(text) == text


# has_control_characters


@pytest.mark.parametrize(
    "text", ["\x00", "a\nb", "a\rb", "a\tb", "a\x1bb", "a\x7fb", "a\x80b", "a\x85b", "a\x9fb"]
)
def test_control_characters_are_found_anywhere(text: str) -> None:
    assert has_control_characters(text)


@pytest.mark.parametrize(
    "text", ["", "plain", "Crème brûlée ☕", "a\u200bb", "a\u2028b", "a\u00a0b", "a\xa0b"]
)
def test_other_characters_are_not_control_characters(text: str) -> None:
    assert not has_control_characters(text)


# shown


def test_shown_keeps_short_printable_text() -> None:
    assert shown("plan.name[0]") == "plan.name[0]"


def test_shown_keeps_non_ascii() -> None:
    assert shown("café.größe ☕") == "café.größe ☕"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "a\\x00b"),
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("a\tb", "a\\tb"),
        ("a\x7fb", "a\\x7fb"),
        ("a\x85b", "a\\x85b"),
        ("a\u2028b", "a\\u2028b"),
        ("a\u200bb", "a\\u200bb"),
        ("a\ufeffb", "a\\ufeffb"),
        ("a\ud800b", "a\\ud800b"),
    ],
)
def test_shown_escapes_control_and_invisible_characters(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_shown_keeps_text_of_40_characters_whole() -> None:
    assert shown("k" * 40) == "k" * 40


def test_shown_cuts_text_over_40_characters_with_an_ellipsis() -> None:
    assert shown("k" * 41) == "k" * 40 + "…"


def test_shown_counts_escapes_in_the_40_characters() -> None:
    assert shown("\x00" * 20) == "\\x00" * 10 + "…"


def test_shown_never_cuts_an_escape_in_half() -> None:
    assert shown("k" * 38 + "\n") == "k" * 38 + "\\n"
    assert shown("k" * 39 + "\n") == "k" * 39 + "…"


def test_shown_of_huge_text_is_bounded() -> None:
    assert len(shown("\n" * 1_000_000)) <= 41


# cut


def test_cut_keeps_text_up_to_the_length() -> None:
    assert cut("k" * 1024, 1024) == "k" * 1024


def test_cut_shortens_longer_text_with_an_ellipsis() -> None:
    assert cut("k" * 5000, 1024) == "k" * 1024 + "…"


def test_cut_does_not_escape() -> None:
    assert cut("a\nb", 10) == "a\nb"
