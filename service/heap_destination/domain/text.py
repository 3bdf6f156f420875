"""User-supplied text: invisible edges, control characters, and quoting it in messages."""

import re
import unicodedata

SHOWN_LENGTH = 40
"""How many characters of a user's key, path or name an error message shows."""

NO_CONTROL_CHARACTERS = "must not contain control characters (like NUL, tabs or line breaks)"

# Category Cc is exactly these 65 code points, and Unicode promises it never grows.
_CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")
# Quoted text that could break a log line, hide itself or fail to encode gets escaped.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def trim_invisible(text: str) -> str:
    """`text` without the whitespace and invisible format characters (like U+200B or U+FEFF)
    at either end; the ones inside are kept."""
    # A letter or digit is neither: most text needs no closer look.
    if text[:1].isalnum() and text[-1:].isalnum():
        return text
    start, end = 0, len(text)
    while start < end and _is_invisible(text[start]):
        start += 1
    while end > start and _is_invisible(text[end - 1]):
        end -= 1
    return text[start:end]


def has_control_characters(text: str) -> bool:
    """Whether `text` holds a control character: NUL, a tab, a line break, DEL, a C1 control."""
    # isprintable() is a quick no for almost every key; control characters are not printable.
    return not text.isprintable() and _CONTROL_CHARACTER.search(text) is not None


def shown(text: str) -> str:
    """`text` safe to quote in an error message: control and invisible characters escaped
    (\\n, \\x00, \\u200b) and cut after SHOWN_LENGTH characters with "…"."""
    if len(text) <= SHOWN_LENGTH and not any(_is_escaped(c) for c in text):
        return text
    pieces: list[str] = []
    length = 0
    for character in text:
        piece = character.encode("unicode_escape").decode() if _is_escaped(character) else character
        if length + len(piece) > SHOWN_LENGTH:
            return "".join(pieces) + "…"
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)


def cut(text: str, length: int) -> str:
    """`text`, or its first `length` characters and "…" when it is longer."""
    return text if len(text) <= length else text[:length] + "…"


def _is_invisible(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) == "Cf"


def _is_escaped(character: str) -> bool:
    return unicodedata.category(character) in _ESCAPED_CATEGORIES
