"""Compact JSON text: byte for byte what the standard library's json writes (and raising
what it raises), by orjson wherever orjson's bytes are known to be the same.

For the values the service encodes (dicts with string keys, lists, strings, integers,
floats, booleans and None) orjson writes the same bytes as json, except for NaN and the
infinities (orjson writes null where json refuses), floats between -1e-4 and 1e-4 other
than zero (1e-7 and 0.00001 where json writes 1e-07 and 1e-05), integers past 64 bits and
strings with lone surrogates (which orjson refuses). The bytes orjson gives then hold a
telltale (see _may_differ) or orjson raises, and json encodes the value instead; the
telltale can also turn up inside a string, which only costs the time. Sorted keys are
the same too: orjson sorts by UTF-8 bytes, json by code points, and UTF-8 keeps code
point order. tests/fuzz/test_body_encoding.py checks all this over random values.
(orjson also writes enums and UUIDs, which json refuses; nothing here holds one.)
"""

import json
import re
from typing import Any

import orjson


def encode(value: Any, *, sort_keys: bool = False) -> bytes:
    """`value` as compact UTF-8 JSON with no ASCII escaping: what json_encode gives."""
    encoded = orjson_encode(value, sort_keys=sort_keys)
    if encoded is None:
        return json_encode(value, sort_keys=sort_keys)
    return encoded


def orjson_encode(value: Any, *, sort_keys: bool = False) -> bytes | None:
    """What orjson writes for `value`, when that is known to be what json_encode gives;
    else None."""
    try:
        encoded = orjson.dumps(value, option=_SORTED_OPTIONS if sort_keys else _OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return None
    return None if _may_differ(encoded) else encoded


def json_encode(value: Any, *, sort_keys: bool = False) -> bytes:
    """The reference encoding: compact, UTF-8, no ASCII escaping, no NaN."""
    return (_SORTED_JSON if sort_keys else _JSON).encode(value).encode()


# What json.dumps uses with these options, built once: json.dumps builds a new encoder for
# every call with options.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_SORTED_JSON = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
)


# Dataclasses and datetimes (which json refuses) and subclasses of str, int, dict and list
# go to json instead: with these options orjson raises for them.
_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
_SORTED_OPTIONS = _OPTIONS | orjson.OPT_SORT_KEYS


def _may_differ(encoded: bytes) -> bool:
    """Whether orjson's `encoded` may differ from json's: it holds null (which NaN and
    the infinities become), 0.0000 (how orjson writes a float from 1e-5 up to 1e-4), or
    e-, one digit and the end of a number (a negative exponent of one digit, which json
    writes with two: 1e-07)."""
    return (
        b"null" in encoded
        or b"0.0000" in encoded
        or _ONE_DIGIT_NEGATIVE_EXPONENT.search(encoded) is not None
    )


# What can follow a number in compact JSON: a comma, a closing bracket, the end.
_ONE_DIGIT_NEGATIVE_EXPONENT = re.compile(rb"e-[0-9](?:[,\]}]|\Z)")
