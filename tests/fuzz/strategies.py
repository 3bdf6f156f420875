"""Hypothesis strategies for the fuzz tests.

Requests come in two kinds, drawn about equally: plausible ones, which a careful caller
sends and which mostly reach the simulator, and wild ones, in which every field may hold
anything its type allows (control characters, invisible characters, long strings,
unknown or negative enum numbers, timestamps far out of range, NaN, values nested past
the limit, base URLs that are not URLs). Raw bytes are valid messages mutated byte by
byte or merged, random bytes, and values nested too deeply to decode.
"""

from typing import Any, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from hypothesis import strategies as st

from heap_destination.v1 import config_pb2, identify_pb2, stream_pb2, track_pb2
from tests.conftest import APP_ID
from tests.support.protobuf_bytes import deep_stream_message, deep_track

T = TypeVar("T")

# Characters that text handling often gets wrong: NUL and other controls, blanks and
# invisible characters, a direction override, a non-BMP emoji, the replacement character.
_SPECIAL_CHARACTERS = (
    "\x00\x01\x1f\x7f\x85\t\n\r \u00a0\u1680\u2000\u200b\u200c\u200d\u2028\u2029"
    "\u202e\u2060\u3000\ufeff\ufffd\uffff é😀\U0010ffff.[]{}\"'\\%$"
)
_USER_IDS = ("u1", "user-42", "alice@example.com", "  padded  ", "Ünïcødé", "7", "\u200bu2")
_EVENTS = ("Signed Up", "Purchase", "page viewed", "E", " Padded ")
# Values at and just past the contract's limits.
_LIMIT_USER_IDS = ("u" * 255, "u" * 256, " " + "u" * 255 + "\u200b", "é" * 256)
_LIMIT_EVENTS = ("e" * 1024, "e" * 1025, "😀" * 1024)
_LIMIT_KEYS = ("k" * 1024, "k" * 1025, "é" * 1024)
_LIMIT_SECONDS = (-62_135_596_800, -62_135_596_801, 253_402_300_799, 253_402_300_800)


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of the strategies, each about as often as its weight says. (st.one_of does not
    weigh its branches: listing a strategy twice does not draw it twice as often.)"""
    listed = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(listed).flatmap(lambda strategy: strategy)


def _mostly(usual: st.SearchStrategy[T], other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """`usual` about 3 times in 4, otherwise `other`."""
    return weighted((3, usual), (1, other))


# Text


def short_text(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    """Any valid Unicode (no lone surrogates, which protobuf cannot encode), with the
    special characters drawn often."""
    alphabet = st.one_of(st.characters(codec="utf-8"), st.sampled_from(_SPECIAL_CHARACTERS))
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def repeated(piece: str, length: int) -> str:
    """`piece` repeated to `length` characters."""
    return (piece * (length // len(piece) + 1))[:length]


def long_text() -> st.SearchStrategy[str]:
    """A few hundred to a few thousand characters (a short piece repeated, so that
    hypothesis need not draw each character)."""
    return st.builds(
        repeated, short_text(min_size=1, max_size=4), st.integers(min_value=200, max_value=4000)
    )


def wild_text() -> st.SearchStrategy[str]:
    return weighted((2, short_text()), (1, long_text()))


def _visible_text(max_size: int = 20) -> st.SearchStrategy[str]:
    """Text of letters, digits, punctuation and symbols: valid as an id, key or name."""
    return st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=max_size)


# Values


def enum_number(known: range) -> st.SearchStrategy[int]:
    """A listed enum number (0 is unset), or any int32: unknown ones, negative ones."""
    return _mostly(
        st.sampled_from(list(known)),
        st.one_of(st.sampled_from([-1, 99, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1)),
    )


def timestamps(plausible: bool) -> st.SearchStrategy[timestamp_pb2.Timestamp | None]:
    valid = st.builds(
        timestamp_pb2.Timestamp,
        seconds=st.integers(0, 2_000_000_000),
        nanos=st.integers(0, 999_999_999),
    )
    if plausible:
        return st.one_of(st.none(), valid)
    anything = st.builds(
        timestamp_pb2.Timestamp,
        seconds=st.one_of(st.sampled_from(_LIMIT_SECONDS), st.integers(-(10**13), 10**13)),
        nanos=st.one_of(st.sampled_from([-1, 0, 999_999_999, 10**9]), st.integers(-10, 2 * 10**9)),
    )
    return st.one_of(st.none(), valid, anything)


def _leaves(plausible: bool) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.floats(allow_nan=not plausible, allow_infinity=not plausible),
        st.integers(-(2**53), 2**53),
        st.sampled_from(["", "plain", "x" * 1024, "x" * 1025, "é" * 1025]),
        wild_text(),
    )


def _keys(plausible: bool) -> st.SearchStrategy[str]:
    usual = st.one_of(
        st.sampled_from(["a", "b", "id", "ID", "email", "name", "a.b"]), _visible_text()
    )
    other = st.one_of(st.just(""), st.sampled_from(_LIMIT_KEYS), wild_text())
    return usual if plausible else _mostly(usual, other)


def json_values(plausible: bool) -> st.SearchStrategy[Any]:
    """JSON-like values, small and shallow; wild ones sometimes 15 to 26 levels deep,
    around the service's limit of 20."""
    shallow = st.recursive(
        _leaves(plausible),
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(_keys(plausible), children, max_size=4),
        ),
        max_leaves=10,
    )
    return shallow if plausible else _mostly(shallow, _deep_values())


def nest(leaf: Any, wrappers: list[tuple[bool, str]]) -> Any:
    """`leaf` inside one list (True) or one-key object (False) per wrapper."""
    value = leaf
    for is_list, key in wrappers:
        value = [value] if is_list else {key: value}
    return value


def _deep_values() -> st.SearchStrategy[Any]:
    return st.builds(
        nest,
        _leaves(plausible=False),
        st.lists(st.tuples(st.booleans(), _keys(plausible=False)), min_size=15, max_size=26),
    )


def to_struct(fields: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(fields)
    return struct


def structs(plausible: bool) -> st.SearchStrategy[struct_pb2.Struct | None]:
    fields = st.dictionaries(_keys(plausible), json_values(plausible), max_size=5)
    return st.one_of(st.none(), st.builds(to_struct, fields))


# Messages

# Base URLs that urllib.parse.urlsplit raises ValueError for.
UNPARSABLE_BASE_URLS = ("http://[::1", "http://::1]", "http://[x]", "http://a\u2100b")
ODD_BASE_URLS = (
    "http://127.0.0.1:1",
    "http://127.0.0.1:99999",
    "http://127.0.0.1:0",
    "http://127.0.0.1:x",
    "ftp://127.0.0.1",
    "http://[::1]:80",
    "http://",
    "//127.0.0.1",
    "https://heapanalytics.com.evil.example",
)


def configs(simulator_url: str, plausible: bool) -> st.SearchStrategy[config_pb2.DestinationConfig]:
    """Plausible: the test app, on the server's default base URL (the simulator) or
    given it again, any region and mode. Wild: anything, the test app most of the time."""
    if plausible:
        return st.builds(
            config_pb2.DestinationConfig,
            app_id=_mostly(st.just(APP_ID), st.just(f" {APP_ID} ")),
            region=st.sampled_from([0, 1, 2]),
            base_url=st.sampled_from(["", "", simulator_url, simulator_url + "/"]),
            nested_properties_mode=st.integers(0, 4),
            anonymous_id_as_identity=st.one_of(st.none(), st.booleans()),
            native_arrays=st.one_of(st.none(), st.booleans()),
        )
    odd_simulator_urls = [
        simulator_url,
        simulator_url.upper(),
        simulator_url + "/api",
        simulator_url + "?x=1",
        simulator_url.replace("http://", "http://user:pw@"),
        simulator_url.replace("http://", "HTTP://"),
    ]
    base_urls = weighted(
        (1, st.just("")),
        (3, st.sampled_from([*odd_simulator_urls, *ODD_BASE_URLS, *UNPARSABLE_BASE_URLS])),
        (1, wild_text()),
    )
    return st.builds(
        config_pb2.DestinationConfig,
        app_id=_mostly(
            st.just(APP_ID), st.one_of(wild_text(), st.just("12345678901234567890123456789012345"))
        ),
        region=enum_number(range(3)),
        base_url=base_urls,
        nested_properties_mode=enum_number(range(5)),
        anonymous_id_as_identity=st.one_of(st.none(), st.booleans()),
        native_arrays=st.one_of(st.none(), st.booleans()),
        disable_text_capture=st.one_of(st.none(), st.booleans()),
        secure_cookie=st.one_of(st.none(), st.booleans()),
        tracking_server=st.one_of(st.just(""), wild_text()),
        hostname=st.one_of(st.just(""), wild_text()),
    )


def _user_ids(plausible: bool) -> st.SearchStrategy[str]:
    usual = st.one_of(st.sampled_from(_USER_IDS), _visible_text())
    other = st.one_of(st.just(""), st.sampled_from(_LIMIT_USER_IDS), wild_text())
    return usual if plausible else _mostly(usual, other)


def _optional_text(plausible: bool) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), _visible_text() if plausible else wild_text())


def _own_config(
    simulator_url: str, plausible: bool, in_stream: bool
) -> st.SearchStrategy[config_pb2.DestinationConfig | None]:
    """A request's config. A unary call needs one for the app id; a streamed event
    mostly inherits its message's."""
    if plausible:
        config = configs(simulator_url, plausible=True)
        return _mostly(st.none(), config) if in_stream else config
    return st.one_of(st.none(), configs(simulator_url, plausible=False))


def track_requests(
    simulator_url: str, plausible: bool, in_stream: bool = False
) -> st.SearchStrategy[track_pb2.TrackEventRequest]:
    if plausible:
        # Tracks name the event; page and screen calls may name the page instead.
        kinds = st.one_of(
            st.tuples(st.sampled_from([0, 1]), st.sampled_from(_EVENTS), st.just("")),
            st.tuples(st.sampled_from([2, 3]), st.just(""), _optional_text(plausible=True)),
        )
    else:
        kinds = st.tuples(
            enum_number(range(4)),
            _mostly(
                st.sampled_from(_EVENTS),
                st.one_of(st.just(""), st.sampled_from(_LIMIT_EVENTS), wild_text()),
            ),
            _optional_text(plausible=False),
        )
    return st.builds(
        _track,
        kinds,
        config=_own_config(simulator_url, plausible, in_stream),
        user_id=_user_ids(plausible),
        anonymous_id=_optional_text(plausible),
        properties=structs(plausible),
        traits=structs(plausible),
        timestamp=timestamps(plausible),
        message_id=_optional_text(plausible),
        session_id=_optional_text(plausible),
    )


def _track(kind: tuple[int, str, str], **fields: Any) -> track_pb2.TrackEventRequest:
    event_type, event, name = kind
    return track_pb2.TrackEventRequest(
        type=event_type,  # type: ignore[arg-type]  # any int32, listed or not
        event=event,
        name=name,
        **fields,
    )


def identify_requests(
    simulator_url: str, plausible: bool, in_stream: bool = False
) -> st.SearchStrategy[identify_pb2.IdentifyUserRequest]:
    heap_user_ids = st.one_of(
        st.just(""), st.integers(0, 2**53 - 1).map(str), st.sampled_from(["007", " 7 "])
    )
    if not plausible:
        heap_user_ids = st.one_of(
            heap_user_ids,
            st.integers(-(2**64), 2**64).map(str),
            st.sampled_from(
                [
                    "+7",
                    "-0",
                    "1e3",
                    "٣",
                    "0x10",
                    "7.0",
                    "1_000",
                    "9007199254740991",
                    "9007199254740992",
                ]
            ),
            wild_text(),
        )
    return st.builds(
        identify_pb2.IdentifyUserRequest,
        config=_own_config(simulator_url, plausible, in_stream),
        user_id=_user_ids(plausible),
        anonymous_id=_optional_text(plausible),
        traits=structs(plausible),
        heap_user_id=heap_user_ids,
        timestamp=timestamps(plausible),
        message_id=_optional_text(plausible),
    )


def any_track_requests(simulator_url: str) -> st.SearchStrategy[track_pb2.TrackEventRequest]:
    return st.one_of(track_requests(simulator_url, True), track_requests(simulator_url, False))


def any_identify_requests(
    simulator_url: str,
) -> st.SearchStrategy[identify_pb2.IdentifyUserRequest]:
    return st.one_of(
        identify_requests(simulator_url, True), identify_requests(simulator_url, False)
    )


# Bytes

# A byte-level mutation: (kind, position, byte); the position wraps around the message.
Mutation = tuple[str, int, int]


def mutations(max_size: int = 4) -> st.SearchStrategy[list[Mutation]]:
    return st.lists(
        st.tuples(
            st.sampled_from(["flip", "set", "insert", "delete"]),
            st.integers(0, 2**20),
            st.integers(0, 255),
        ),
        min_size=1,
        max_size=max_size,
    )


def mutate(data: bytes, changes: list[Mutation]) -> bytes:
    out = bytearray(data)
    for kind, position, byte in changes:
        if kind == "insert":
            out.insert(position % (len(out) + 1), byte)
            continue
        if not out:
            continue
        at = position % len(out)
        if kind == "flip":
            out[at] ^= 1 << (byte % 8)
        elif kind == "set":
            out[at] = byte
        else:
            del out[at]
    return bytes(out)


def mutated(message: Message, changes: list[Mutation]) -> bytes:
    return mutate(message.SerializeToString(), changes)


def merged(first: Message, second: Message) -> bytes:
    """Two messages in one: protobuf decodes the concatenation as the first merged with
    the second (later scalars win, maps and repeated fields add up)."""
    return first.SerializeToString() + second.SerializeToString()


def request_bytes(messages: st.SearchStrategy[Message]) -> st.SearchStrategy[bytes]:
    """Valid messages mutated or merged, random bytes, and values nested about as deep as
    protobuf can decode (32 levels), some deeper."""
    return weighted(
        (4, st.builds(mutated, messages, st.one_of(mutations(1), mutations()))),
        (1, st.builds(merged, messages, messages)),
        (1, st.binary(max_size=300)),
        (1, st.integers(20, 45).map(deep_track)),
    )


# Streams


def _event_kinds(simulator_url: str) -> st.SearchStrategy[dict[str, Message]]:
    def kind(
        name: str, strategy: st.SearchStrategy[Message]
    ) -> st.SearchStrategy[dict[str, Message]]:
        return strategy.map(lambda request: {name: request})

    return weighted(
        (4, kind("track", track_requests(simulator_url, plausible=True, in_stream=True))),
        (2, kind("track", track_requests(simulator_url, plausible=False, in_stream=True))),
        (2, kind("identify", identify_requests(simulator_url, plausible=True, in_stream=True))),
        (1, kind("identify", identify_requests(simulator_url, plausible=False, in_stream=True))),
        (1, st.just({})),
    )


# One message as drawn: its events' kinds, an id prefix, its config and the mutations
# to apply to its bytes; or bytes that do not decode.
DrawnMessage = tuple[
    list[dict[str, Message]], str, config_pb2.DestinationConfig | None, list[Mutation] | None
]


def stream_messages(simulator_url: str) -> st.SearchStrategy[list[bytes]]:
    """The raw messages of one StreamEvents call: batches of up to 20 events, many with a
    config; one in ten mutated until it may not decode; one in twenty random bytes or
    nested too deeply to decode. Event ids are unique across the call (before mutation)."""
    batch = st.tuples(
        st.lists(_event_kinds(simulator_url), max_size=20),
        short_text(max_size=4),
        weighted(
            (1, st.none()),
            (4, configs(simulator_url, plausible=True)),
            (1, configs(simulator_url, plausible=False)),
        ),
        weighted((9, st.none()), (1, mutations())),
    )
    undecodable = st.one_of(
        st.binary(min_size=1, max_size=100), st.integers(30, 50).map(deep_stream_message)
    )
    message: st.SearchStrategy[DrawnMessage | bytes] = weighted((19, batch), (1, undecodable))
    return st.lists(message, min_size=1, max_size=6).map(_stream_bytes)


def _stream_bytes(drawn: list[DrawnMessage | bytes]) -> list[bytes]:
    out = []
    for number, item in enumerate(drawn, start=1):
        if isinstance(item, bytes):
            out.append(item)
            continue
        kinds, prefix, config, changes = item
        request = stream_pb2.StreamEventsRequest(
            events=[
                stream_pb2.Event(id=f"{prefix}#{number}.{index}", **kind)  # type: ignore[arg-type]
                for index, kind in enumerate(kinds, start=1)
            ],
            config=config,
        )
        data = request.SerializeToString()
        out.append(data if changes is None else mutate(data, changes))
    return out
