"""Answers stay within what a client can receive, and a client that does not read its
results cannot make the service hold them without bound."""

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.rpc import code_pb2

from heap_destination.api.event_stream import MAX_RESPONSE_BYTES
from heap_destination.api.mapping.warnings import MAX_LISTED_WARNINGS
from heap_destination.client import HeapDestinationClient, in_messages, track_event
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, service_pb2_grpc, stream_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import tracked_events

CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)


def test_results_with_many_warnings_come_in_responses_a_default_client_accepts(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    nulls = {f"{i:02}-" + "k" * 150: None for i in range(40)}
    events = [
        track_event(str(i), "Signed Up", user_id=f"u{i % 10}", properties={"n": i, **nulls})
        for i in range(3000)
    ]

    with grpc.insecure_channel(service.target) as channel:  # default 4 MiB receive limit
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        responses = list(stub.StreamEvents(in_messages(events, 300, CONFIG), timeout=60))

    results = [r for response in responses for r in response.results]
    assert len(results) == 3000
    assert {r.code for r in results} == {code_pb2.OK}
    assert {len(r.warnings) for r in results} == {MAX_LISTED_WARNINGS}
    assert {r.unlisted_warnings for r in results} == {40 - MAX_LISTED_WARNINGS}
    assert max(response.ByteSize() for response in responses) <= MAX_RESPONSE_BYTES
    assert len(tracked_events(simulator.url)) == 3000


def test_a_unary_answer_does_not_echo_properties_too_large_to_receive(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    # About 2 MB of properties: within the 4 MiB a request may hold, over the 1 MiB echoed.
    properties = {f"key-{i:06}": f"value-{i:06}" for i in range(70_000)}

    response = client.track("Big", user_id="u1", properties=properties)

    assert response.properties_echo_omitted
    assert len(response.properties.fields) == 0
    assert response.idempotency_key
    (delivered,) = tracked_events(simulator.url)
    assert len(delivered["properties"]) == 70_000


def test_a_small_unary_answer_echoes_its_properties(client: HeapDestinationClient) -> None:
    response = client.track("Small", user_id="u1", properties={"a": {"b": 1}})

    assert not response.properties_echo_omitted
    assert dict(response.properties) == {"a.b": 1}


@pytest.mark.slow
def test_a_stream_whose_results_are_not_read_stops_reading_its_events(
    service: BackgroundService,
) -> None:
    """40,000 bad events, each answered at once with a few hundred bytes: unread, their
    results would pile up in the service; instead it stops taking events."""
    total = 40_000
    long_key = "k" * 1100
    sent = 0

    def requests() -> Iterator[stream_pb2.StreamEventsRequest]:
        nonlocal sent
        for start in range(0, total, 500):
            events = [
                track_event(str(i), "", user_id="", properties={long_key: 1})
                for i in range(start, start + 500)
            ]
            sent += len(events)
            yield stream_pb2.StreamEventsRequest(events=events, config=CONFIG)

    with grpc.insecure_channel(service.target) as channel:
        stub = service_pb2_grpc.HeapDestinationServiceStub(channel)
        responses = stub.StreamEvents(requests(), timeout=120)
        first = next(responses)  # the call is under way; now stop reading for a while
        _wait_while_growing(lambda: sent)
        sent_while_unread = sent
        results = list(first.results) + [r for response in responses for r in response.results]

    assert sent_while_unread < total * 3 // 4, sent_while_unread
    assert len(results) == total
    assert {r.code for r in results} == {code_pb2.INVALID_ARGUMENT}


def _wait_while_growing(count: Callable[[], int], quiet: float = 1.0) -> None:
    """Returns once `count()` stayed the same for `quiet` seconds (at most 30 s)."""
    give_up = time.monotonic() + 30
    last, since = count(), time.monotonic()
    while time.monotonic() < give_up and time.monotonic() - since < quiet:
        time.sleep(0.05)
        if count() != last:
            last, since = count(), time.monotonic()
