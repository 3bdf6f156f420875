"""Reading a Segment body: gzip within a cap, JSON, a batch; anything else a NotABatch."""

import gzip
import json
import zlib

import pytest

from heap_destination.api.segment.body import (
    MAX_ITEMS,
    MAX_REQUEST_BYTES,
    NotABatch,
    batch_items,
    inflate,
    parse_object,
)


def test_a_plain_body_and_a_gzip_body_read_the_same() -> None:
    raw = json.dumps({"batch": [{"type": "track"}]}).encode()

    assert inflate(raw, "") == raw
    assert inflate(raw, "identity") == raw
    assert inflate(gzip.compress(raw), "gzip") == raw
    assert inflate(gzip.compress(raw), " GZIP ") == raw


@pytest.mark.parametrize(
    ("raw", "encoding", "message"),
    [
        (b"not gzip at all", "gzip", "not valid gzip"),
        (gzip.compress(b'{"a": 1}')[:-6], "gzip", "ends before the gzip stream does"),
        (gzip.compress(b"{}") + b"trailing", "gzip", "data follows the gzip stream"),
        (zlib.compress(b"{}"), "gzip", "not valid gzip"),
        (b"{}", "br", "'br' is not supported"),
        (b"{}", "deflate", "'deflate' is not supported"),
        (b" " * (MAX_REQUEST_BYTES + 1), "", f"over {MAX_REQUEST_BYTES} bytes"),
    ],
)
def test_bodies_that_cannot_be_read_are_refused_with_the_reason(
    raw: bytes, encoding: str, message: str
) -> None:
    with pytest.raises(NotABatch, match=message):
        inflate(raw, encoding)


def test_a_gzip_bomb_stops_inflating_at_the_cap() -> None:
    bomb = gzip.compress(b"0" * (50 * 1024 * 1024))

    with pytest.raises(NotABatch, match="inflates to over"):
        inflate(bomb, "gzip")


def test_a_body_of_exactly_the_cap_is_taken() -> None:
    raw = b" " * MAX_REQUEST_BYTES

    assert len(inflate(gzip.compress(raw), "gzip")) == MAX_REQUEST_BYTES


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "must be a JSON object, not an array"),
        (b"null", "not null"),
        (b'"batch"', "not a string"),
        (b"[" * 5000 + b"]" * 5000, "deeper than 1024 levels"),
        (b'{"a": ' * 2000 + b"1" + b"}" * 2000, "deeper than 1024 levels"),
    ],
)
def test_what_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(NotABatch, match=message):
        parse_object(raw)


def test_a_batch_is_a_list_of_at_most_2500_items() -> None:
    assert batch_items({"batch": [{}] * MAX_ITEMS}) == [{}] * MAX_ITEMS
    with pytest.raises(NotABatch, match="has 2501 items; at most 2500"):
        batch_items({"batch": [{}] * (MAX_ITEMS + 1)})
    with pytest.raises(NotABatch, match="batch: must be a list of items, not an object"):
        batch_items({"batch": {}})
    with pytest.raises(NotABatch, match="not null"):
        batch_items({})
