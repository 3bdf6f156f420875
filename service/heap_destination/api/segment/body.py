"""A Segment request's body: inflated (gzip) within a hard cap, parsed as JSON, and found
to be a batch, or refused as a whole (400) with the reason.

Segment's limits: 500 KB per request, 32 KB per item, 2,500 items per batch. Only a body
that is not a batch at all is refused; an item's own problems are that item's alone
(items.py).
"""

import json
import zlib
from typing import Any

import orjson

MAX_REQUEST_BYTES = 500 * 1024
"""After decompression: more than this is refused (400)."""
MAX_ITEM_BYTES = 32 * 1024
"""One item's JSON: more than this makes that one item invalid."""
MAX_ITEMS = 2500
MAX_NESTING = 1024
"""Objects and arrays in a body nest at most this deep (the JSON parser's own bound);
a property value nests at most as deep as in a Struct (domain/nesting.py), checked per
item by the flattener."""

_GZIP = {"gzip", "x-gzip"}
_IDENTITY = {"", "identity"}
_GZIP_WINDOW = 16 + zlib.MAX_WBITS


class NotABatch(Exception):
    """The request cannot be read as a batch at all (answered 400)."""


def inflate(raw: bytes, content_encoding: str) -> bytes:
    """The body as sent, or its gzip inflated; raises NotABatch past MAX_REQUEST_BYTES
    (inflating stops there, so a gzip bomb costs no more) or for bad gzip."""
    encoding = content_encoding.strip().lower()
    if encoding in _IDENTITY:
        data = raw
    elif encoding in _GZIP:
        data = _gunzip(raw)
    else:
        raise NotABatch(f"Content-Encoding {encoding[:40]!r} is not supported: use gzip or none")
    if len(data) > MAX_REQUEST_BYTES:
        raise NotABatch(f"the body is over {MAX_REQUEST_BYTES} bytes (Segment's request limit)")
    return data


def _gunzip(raw: bytes) -> bytes:
    inflater = zlib.decompressobj(_GZIP_WINDOW)
    try:
        data = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
    except zlib.error as error:
        raise NotABatch(f"the body is not valid gzip ({error})") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise NotABatch(
            f"the body inflates to over {MAX_REQUEST_BYTES} bytes (Segment's request limit)"
        )
    if not inflater.eof:
        raise NotABatch("the body is not valid gzip (it ends before the gzip stream does)")
    if inflater.unused_data:
        raise NotABatch("the body is not valid gzip (data follows the gzip stream)")
    return data


def parse_object(data: bytes) -> dict[str, Any]:
    """The body's JSON object; raises NotABatch for anything else.

    What orjson refuses but json's own parser reads (NaN, Infinity, numbers past a
    double, as Python's json.dumps writes them) is read that way, so that such a value
    makes only its item invalid (the flattener refuses what is not finite)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if str(error).startswith("depth limit"):
            raise _too_deep() from None
        value = _lenient(data, error)
    if not isinstance(value, dict):
        raise NotABatch(f"the body must be a JSON object, not {json_type(value)}")
    return value


def _lenient(data: bytes, refused: orjson.JSONDecodeError) -> Any:
    try:
        value = json.loads(data, parse_int=_integer)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise NotABatch(f"the body is not JSON ({refused})") from None
    try:
        orjson.dumps(value, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError as error:  # a lone UTF-16 surrogate (\ud800) in a string or key
        if "surrogates" in str(error):
            raise NotABatch(f"the body is not JSON ({refused})") from None
    return value


def _integer(text: str) -> int | float:
    """An integer as orjson reads it: past 64 bits, a double."""
    if len(text) > 20:
        return float(text)
    number = int(text)
    return number if -(2**63) <= number < 2**64 else float(number)


def _too_deep() -> NotABatch:
    return NotABatch(f"the body nests objects and arrays deeper than {MAX_NESTING} levels")


def item_json(item: object) -> bytes:
    """An item's JSON, as long as it was sent (near enough: compact); NaN and the
    infinities as json's parser read them."""
    try:
        return orjson.dumps(item)
    except TypeError:
        return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()


def batch_items(body: dict[str, Any]) -> list[Any]:
    """The items of a batch body (/v1/batch, /v1/import); raises NotABatch."""
    items = body.get("batch")
    if not isinstance(items, list):
        raise NotABatch(f"batch: must be a list of items, not {json_type(items)}")
    if len(items) > MAX_ITEMS:
        raise NotABatch(
            f"batch: has {len(items)} items; at most {MAX_ITEMS} (Segment's batch limit)"
        )
    return items


def json_type(value: object) -> str:
    """What a JSON value is, in words, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
