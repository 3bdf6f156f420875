"""Fuzzing the real server with random and mutated requests, the simulator as Heap.

Whatever a caller sends, a unary call ends OK, INVALID_ARGUMENT or with a delivery error,
never UNKNOWN or INTERNAL; bytes that do not decode are INVALID_ARGUMENT in the service's
own words; a stream answers every event of every decodable message exactly once (an
event's Structs are decoded on their own: one that does not decode is that event's
INVALID_ARGUMENT), and a message that cannot be decoded ends it with INVALID_ARGUMENT
naming that message, after the results of the messages before it; the server stays up.

The examples are the same on every run (derandomized) and nothing is saved to a
.hypothesis folder. For a longer run, multiply the number of examples with FUZZ_SCALE
(e.g. FUZZ_SCALE=20) and set FUZZ_SHRINK=1 to have a failure shrunk to a minimal input;
both take longer than pytest's timeout allows, so add --timeout=0.
"""

import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from heap_destination.api.structs.bytes_messages import StreamEventsRequestWithStructBytes
from heap_destination.client import HeapDestinationClient, error_details
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, identify_pb2, stream_pb2, track_pb2
from tests.conftest import APP_ID
from tests.fuzz.strategies import (
    UNPARSABLE_BASE_URLS,
    any_identify_requests,
    any_track_requests,
    request_bytes,
    stream_messages,
)
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import accepted

SERVICE = "/heap_destination.v1.HeapDestinationService/"
UNARY_TIMEOUT = 10.0
STREAM_TIMEOUT = 30.0
INTERNAL_WORDS = ("upb", "DecodeError", "Traceback", "Unexpected", "MaxDepth")
# What a call may end with besides OK and INVALID_ARGUMENT: the answers to delivery
# problems (Heap's answers, the service's bounds).
DELIVERY_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}
ALLOWED_CODES = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, *DELIVERY_CODES}
ALLOWED_RESULT_CODES = {code.value[0] for code in ALLOWED_CODES}
STREAM_TO_UNPARSABLE_BASE_URL = stream_pb2.StreamEventsRequest(
    config=config_pb2.DestinationConfig(app_id=APP_ID, base_url=UNPARSABLE_BASE_URLS[0]),
    events=[stream_pb2.Event(id="e1", track=track_pb2.TrackEventRequest(user_id="u1", event="E"))],
).SerializeToString()
# Rate limits would only make delivery wait; they are not what is fuzzed here.
NO_RATE_LIMITS = EngineSettings(
    rate_limits=RateLimitSettings(
        events_per_window_per_app=None, events_per_window_per_identity=None
    )
)


@dataclass(frozen=True)
class Unary:
    """A unary method, its request strategy and message types, and how many examples of
    each kind of input it gets."""

    method: str
    requests: Callable[[str], st.SearchStrategy[Message]]
    request_type: type[Message]
    response_type: type[Message]
    examples: int
    explicit: tuple[Message, ...]
    """Requests tried besides the random ones: inputs that broke the service before."""


def _with_base_urls(
    request: Callable[[config_pb2.DestinationConfig], Message], base_urls: tuple[str, ...]
) -> tuple[Message, ...]:
    """The request for the test app on each of the base URLs."""
    return tuple(
        request(config_pb2.DestinationConfig(app_id=APP_ID, base_url=base_url))
        for base_url in base_urls
    )


UNARY_METHODS = [
    Unary(
        "TrackEvent",
        any_track_requests,
        track_pb2.TrackEventRequest,
        track_pb2.TrackEventResponse,
        examples=250,
        explicit=_with_base_urls(
            lambda config: track_pb2.TrackEventRequest(config=config, user_id="u1", event="E"),
            UNPARSABLE_BASE_URLS,
        ),
    ),
    Unary(
        "IdentifyUser",
        any_identify_requests,
        identify_pb2.IdentifyUserRequest,
        identify_pb2.IdentifyUserResponse,
        examples=150,
        explicit=_with_base_urls(
            lambda config: identify_pb2.IdentifyUserRequest(config=config, user_id="u1"),
            UNPARSABLE_BASE_URLS,
        ),
    ),
]


def fuzz_settings(max_examples: int) -> settings:
    scale = float(os.environ.get("FUZZ_SCALE", "1"))
    shrink = (Phase.shrink,) if os.environ.get("FUZZ_SHRINK") else ()
    return settings(
        max_examples=max(1, round(max_examples * scale)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        phases=(Phase.explicit, Phase.generate, *shrink),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture
def fuzzed(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> BackgroundService:
    """A service pointed at the simulator, without rate limits, started once for all of a
    test's examples."""
    return start_service(base_url=simulator.url, engine=NO_RATE_LIMITS)


def assert_still_delivering(service: BackgroundService) -> None:
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=UNARY_TIMEOUT) as client:
        assert client.track("Still Up", user_id="u1").event == "Still Up"


@contextmanager
def unary_caller(
    target: str, method: str
) -> Iterator[Callable[[bytes], tuple[grpc.StatusCode, Any]]]:
    """Calls `method` with raw request bytes; each call gives its status code and the
    response bytes (OK) or the error."""
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(
            SERVICE + method, request_serializer=None, response_deserializer=None
        )

        def send(data: bytes) -> tuple[grpc.StatusCode, Any]:
            try:
                response = call(data, timeout=UNARY_TIMEOUT)
            except grpc.RpcError as error:
                return error.code(), error
            return grpc.StatusCode.OK, response

        yield send


def check_unary_answer(code: grpc.StatusCode, answer: Any, response_type: type[Message]) -> None:
    event(code.name)
    if code == grpc.StatusCode.OK:
        response_type.FromString(answer)
        return
    details = error_details(answer)
    assert code in ALLOWED_CODES, details
    # A surprise in delivery is answered UNAVAILABLE, but it is no delivery problem.
    assert details.reason != "INTERNAL_ERROR", details
    assert not any(word in details.message for word in INTERNAL_WORDS), details


def decodes(message_type: type[Message], data: bytes) -> bool:
    try:
        message_type.FromString(data)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("unary", UNARY_METHODS, ids=lambda unary: unary.method)
def test_unary_calls_with_random_values_end_ok_or_with_a_status_the_contract_lists(
    fuzzed: BackgroundService, simulator: HeapSimulator, unary: Unary
) -> None:
    codes: Counter[str] = Counter()
    with unary_caller(fuzzed.target, unary.method) as send:

        @fuzz_settings(unary.examples)
        @given(request=unary.requests(simulator.url))
        def check(request: Message) -> None:
            code, answer = send(request.SerializeToString())
            codes[code.name] += 1
            check_unary_answer(code, answer, unary.response_type)

        for request in unary.explicit:
            check = example(request=request)(check)
        check()

    # The inputs reach delivery as well as validation.
    assert codes["OK"] > 0 and codes["INVALID_ARGUMENT"] > 0, codes
    assert accepted(simulator.url)
    assert_still_delivering(fuzzed)


@pytest.mark.parametrize("unary", UNARY_METHODS, ids=lambda unary: unary.method)
def test_unary_calls_with_mutated_bytes_never_end_unknown_or_internal(
    fuzzed: BackgroundService, simulator: HeapSimulator, unary: Unary
) -> None:
    undecodable = 0
    with unary_caller(fuzzed.target, unary.method) as send:

        @fuzz_settings(unary.examples)
        @given(data=request_bytes(unary.requests(simulator.url)))
        def check(data: bytes) -> None:
            nonlocal undecodable
            code, answer = send(data)
            check_unary_answer(code, answer, unary.response_type)
            if not decodes(unary.request_type, data):
                undecodable += 1
                details = error_details(answer)
                assert details.code == grpc.StatusCode.INVALID_ARGUMENT, details
                assert details.field_violations.get("request", "").startswith(
                    "cannot be decoded"
                ), details

        check()

    assert undecodable > 0
    assert_still_delivering(fuzzed)


def raw_stream(
    target: str, messages: list[bytes]
) -> tuple[list[stream_pb2.EventResult], grpc.RpcError | None]:
    """Sends raw message bytes over StreamEvents; returns the results and the error, if any."""
    results: list[stream_pb2.EventResult] = []
    with grpc.insecure_channel(target) as channel:
        call = channel.stream_stream(
            SERVICE + "StreamEvents", request_serializer=None, response_deserializer=None
        )
        try:
            for response in call(iter(messages), timeout=STREAM_TIMEOUT):
                results.extend(stream_pb2.StreamEventsResponse.FromString(response).results)
        except grpc.RpcError as error:
            return results, error
    return results, None


def _structs_decode(streamed: Any) -> bool:
    """Whether each Struct field of a streamed event (bytes, as the service decodes a
    stream) decodes as a Struct."""
    kind = streamed.WhichOneof("kind")
    if kind is None:
        return True
    request = getattr(streamed, kind)
    try:
        for field in request.DESCRIPTOR.fields:
            if field.type == field.TYPE_BYTES:
                struct_pb2.Struct.FromString(getattr(request, field.name))
    except DecodeError:
        return False
    return True


@pytest.mark.slow
def test_streams_of_random_and_mutated_messages_answer_every_decodable_event_once(
    fuzzed: BackgroundService, simulator: HeapSimulator
) -> None:
    outcomes: Counter[str] = Counter()

    @fuzz_settings(120)
    @given(messages=stream_messages(simulator.url))
    @example(messages=[STREAM_TO_UNPARSABLE_BASE_URL])
    def check(messages: list[bytes]) -> None:
        decoded: list[Any] = []
        first_undecodable = None
        for number, data in enumerate(messages, start=1):
            try:
                decoded.append(StreamEventsRequestWithStructBytes.FromString(data))
            except Exception:
                first_undecodable = number
                break

        results, error = raw_stream(fuzzed.target, messages)

        if first_undecodable is None:
            assert error is None, error_details(error)
        else:
            assert error is not None, f"message {first_undecodable} cannot be decoded"
            details = error_details(error)
            assert details.code == grpc.StatusCode.INVALID_ARGUMENT, details
            field = f"message {first_undecodable}"
            assert list(details.field_violations) == [field], details
            assert details.field_violations[field].startswith("cannot be decoded"), details
            assert not any(word in details.message for word in INTERNAL_WORDS), details
        # Every event of the messages before it, and no other, has exactly one result.
        sent = Counter(e.id for message in decoded for e in message.events)
        assert Counter(r.id for r in results) == sent
        for result in results:
            assert result.code in ALLOWED_RESULT_CODES, result
            assert result.reason != "INTERNAL_ERROR", result
            outcomes[code_pb2.Code.Name(result.code)] += 1
        event(f"ended at message {first_undecodable}" if first_undecodable else "ended OK")
        # An event whose properties or traits are bytes that are not a Struct is refused.
        results_by_id = {r.id: r for r in results}
        for message in decoded:
            for streamed in message.events:
                if sent[streamed.id] == 1 and not _structs_decode(streamed):
                    event("an event whose Struct does not decode")
                    assert results_by_id[streamed.id].code == code_pb2.INVALID_ARGUMENT

    check()

    assert outcomes["OK"] > 0 and outcomes["INVALID_ARGUMENT"] > 0, outcomes
    assert accepted(simulator.url)
    assert_still_delivering(fuzzed)
