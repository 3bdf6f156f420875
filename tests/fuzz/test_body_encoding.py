"""encode (orjson where it is safe) gives byte for byte what json gives, for any body,
and with sorted keys for any value.

The reference is json_encode: json.dumps(ensure_ascii=False, separators=(",", ":"),
allow_nan=False) in UTF-8, what every body was encoded with before orjson. Where it
raises, encode raises the same error.
"""

import json
import math
import sys
from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from heap_destination.delivery.heap.bodies import (
    bulk_body,
    bulk_track_body,
    bulk_user_properties_body,
    event_object,
    identify_body,
    single_track_body,
    single_track_body_from_object,
    user_object,
)
from heap_destination.domain import json_text
from heap_destination.domain.flatten import compact_json
from heap_destination.domain.heap_calls import HeapEvent, HeapIdentify, HeapUserProperties
from heap_destination.domain.json_text import encode, json_encode, orjson_encode
from heap_destination.domain.json_value import FlatValue
from tests.fuzz.strategies import long_text, short_text, weighted

ENCODING = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Floats where orjson and json write different text, and their neighbours.
ODD_FLOATS = (
    0.0,
    -0.0,
    1e-7,
    -1e-7,
    1e-5,
    1.23e-5,
    9.999999999999999e-05,
    1e-4,
    0.00010000000000000002,
    1e-10,
    5e-324,
    0.1,
    1e15 + 0.5,
    1e16 - 2,
    1e16,
    1.5e16,
    2.0**63,
    2.0**64,
    1e22,
    1e300,
    1.7976931348623157e308,
)
# Strings that look like the telltales of _may_differ, and lone surrogates.
ODD_STRINGS = ("null", "0.0000", "1e-7", "e-5,", "x e-5}", "e-", "\ud800", "a\udfff")


def outcome(encoder: Any, body: Any) -> bytes | type[BaseException]:
    try:
        encoded: bytes = encoder(body)
    except (ValueError, TypeError, RecursionError) as error:
        return type(error)
    return encoded


def floats() -> st.SearchStrategy[float]:
    return st.one_of(
        st.floats(),
        st.sampled_from(ODD_FLOATS),
        st.floats(min_value=-1e-3, max_value=1e-3),
        st.integers(-(2**70), 2**70).map(float),
    )


def texts(surrogates: bool = True) -> st.SearchStrategy[str]:
    """Any text; lone surrogates (which protobuf never lets into a request) only with
    `surrogates`."""
    odd = ("Cs", "Co", "Cc", "Zl", "Zp") if surrogates else ("Co", "Cc", "Zl", "Zp")
    return weighted(
        (4, short_text()),
        (1, long_text()),
        (1, st.sampled_from([s for s in ODD_STRINGS if surrogates or s.isprintable()])),
        (1, st.text(st.characters(categories=odd), max_size=4)),
    )


def flat_values(surrogates: bool = True) -> st.SearchStrategy[int | float | str]:
    """What Heap's flat properties hold: integers under 1e16, other floats, strings."""
    return st.one_of(
        texts(surrogates),
        st.integers(-(10**16) + 1, 10**16 - 1),
        floats().filter(math.isfinite),
    )


def property_values(surrogates: bool = True) -> st.SearchStrategy[FlatValue]:
    """Flat values, and native arrays of them (see domain/native_arrays.py)."""
    return weighted(
        (3, flat_values(surrogates)), (1, st.lists(flat_values(surrogates), max_size=5))
    )


def events(surrogates: bool = True) -> st.SearchStrategy[HeapEvent]:
    return st.builds(
        HeapEvent,
        identity=texts(surrogates),
        event=texts(surrogates),
        properties=st.dictionaries(texts(surrogates), property_values(surrogates), max_size=8),
        idempotency_key=st.one_of(st.uuids().map(str), texts(surrogates)),
        timestamp=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
        session_id=st.one_of(st.none(), texts(surrogates)),
    )


def users(surrogates: bool = True) -> st.SearchStrategy[HeapUserProperties]:
    return st.builds(
        HeapUserProperties,
        identity=texts(surrogates),
        properties=st.dictionaries(texts(surrogates), flat_values(surrogates), max_size=8),
    )


def json_values() -> st.SearchStrategy[Any]:
    """Anything JSON-like, with what json refuses: NaN, infinities, lone surrogates."""
    return st.recursive(
        st.one_of(st.none(), st.booleans(), floats(), st.integers(-(2**70), 2**70), texts()),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(texts(), children, max_size=4)
        ),
        max_leaves=15,
    )


@ENCODING
@given(app_id=texts(), tracked=st.lists(events(), max_size=5))
def test_a_bulk_track_body_is_encoded_as_json_encodes_it(
    app_id: str, tracked: list[HeapEvent]
) -> None:
    body = bulk_track_body(app_id, tracked)

    assert outcome(encode, body) == outcome(json_encode, body)


@pytest.mark.slow
@ENCODING
@given(app_id=texts(), users=st.lists(users(), max_size=5))
def test_a_bulk_user_properties_body_is_encoded_as_json_encodes_it(
    app_id: str, users: list[HeapUserProperties]
) -> None:
    body = bulk_user_properties_body(app_id, users)

    assert outcome(encode, body) == outcome(json_encode, body)


@ENCODING
@given(
    app_id=texts(),
    identify=st.builds(
        HeapIdentify,
        identity=texts(),
        heap_user_id=st.integers(0, 2**53 - 1).map(str),
        timestamp=st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    ),
)
def test_an_identify_body_is_encoded_as_json_encodes_it(
    app_id: str, identify: HeapIdentify
) -> None:
    body = identify_body(app_id, identify)

    assert outcome(encode, body) == outcome(json_encode, body)


@ENCODING
@given(value=json_values())
@example(value={"x": math.nan})
@example(value=[math.inf, -math.inf])
@example(value={"a": 1e-7, "b": "e-5"})
@example(value={"a": [1e-7], "b": [1.5, 1e-5, "x"], "c": [2**64]})
@example(value=1e-7)
@example(value="\ud800")
@example(value=2**64)
@example(value=-(2**63) - 1)
@example(value={1: 2})
def test_any_json_value_is_encoded_as_json_encodes_it(value: Any) -> None:
    assert outcome(encode, value) == outcome(json_encode, value)


@ENCODING
@given(value=json_values())
@example(value={"b": [1e-7], "a": {"é": 1, "e": 2, "\U0001f600": 3, "\uffff": 4}})
@example(value={"b": 1, 2: 3})
def test_any_json_value_is_encoded_with_sorted_keys_as_json_encodes_it(value: Any) -> None:
    """As the flattener stringifies objects and arrays (domain.flatten.compact_json)."""

    def sorted_json(value: Any) -> bytes:
        return json.dumps(
            value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True
        ).encode()

    assert outcome(partial(json_text.encode, sort_keys=True), value) == outcome(sorted_json, value)


@ENCODING
@given(
    app_id=st.text("0123456789", min_size=1, max_size=12),
    tracked=st.lists(events(surrogates=False), max_size=5),
    users=st.lists(users(surrogates=False), max_size=5),
)
def test_a_bulk_body_of_objects_encoded_alone_is_the_body_encoded_at_once(
    app_id: str, tracked: list[HeapEvent], users: list[HeapUserProperties]
) -> None:
    events = [event_object(event) for event in tracked]
    users_ = [user_object(user) for user in users]

    assert bulk_body(app_id, "events", events) == json_encode(bulk_track_body(app_id, tracked))
    assert bulk_body(app_id, "users", users_) == json_encode(
        bulk_user_properties_body(app_id, users)
    )


@ENCODING
@given(app_id=st.text("0123456789", min_size=1, max_size=12), event=events(surrogates=False))
def test_a_single_event_body_from_a_stored_event_is_the_body_encoded_at_once(
    app_id: str, event: HeapEvent
) -> None:
    assert single_track_body_from_object(app_id, event_object(event)) == json_encode(
        single_track_body(app_id, event)
    )


def test_every_character_and_odd_float_is_encoded_as_json_encodes_it() -> None:
    characters = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    body = {characters: [characters, *ODD_FLOATS, *(-f for f in ODD_FLOATS)]}

    assert encode(body) == json_encode(body)


def test_a_body_without_odd_values_is_encoded_by_orjson() -> None:
    """The fast path is the one taken for the bodies the service usually sends, ids with
    e- in them (like a UUID's 3e-4a) included."""
    event = HeapEvent(
        identity="user-1",
        event="Checkout Completed",
        properties={"city": "Zürich", "price": 9.99, "qty": 2, "big": 1e16, "tiny": 1.5e-4},
        idempotency_key="0b9e3f1e-e0a2-4c3e-9f0e-2e1e3e4e5e6e",  # e-2e, e-4c: not numbers
        timestamp=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        session_id="s-1",
    )
    body = bulk_track_body("1234567890", [event])

    assert orjson_encode(body) == json.dumps(
        body, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


def test_an_array_the_flattener_stringifies_is_encoded_by_orjson() -> None:
    """The fast path with sorted keys, as in Heap's flattening example's arrays."""
    products = [{"B": "Peanut", "A": "Jello"}, {"é": 1, "e": 2.5}, [1, 2, 3], "x"]
    expected = json.dumps(products, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    assert orjson_encode(products, sort_keys=True) == expected.encode()
    assert compact_json(products) == expected
