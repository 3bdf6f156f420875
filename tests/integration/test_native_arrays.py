"""Native arrays through a real server to the real simulator over HTTP.

Heap's track API takes arrays and stores them joined by || (https://developers.heap.io/
reference/track-1). With native_arrays an array of scalars reaches Heap as an array; by
default it is still one compact JSON string."""

from collections.abc import Callable
from pathlib import Path

from google.protobuf import json_format

from heap_destination.client import HeapDestinationClient
from heap_destination.sim import HeapSimulator
from heap_destination.v1 import config_pb2, stream_pb2, track_pb2, warnings_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.simulator_api import tracked_events, user_property_updates
from tests.support.streaming import stream
from tests.support.wait import wait_until

FLAVORS = {"flavors": ["vanilla", "chocolate"]}
NATIVE = config_pb2.DestinationConfig(app_id=APP_ID, native_arrays=True)


def test_in_native_array_mode_an_array_reaches_heap_as_an_array(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    with HeapDestinationClient(service.target, config=NATIVE) as client:
        response = client.track("Bought", user_id="u1", properties=FLAVORS)

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"flavors": ["vanilla", "chocolate"]}
    assert json_format.MessageToDict(response.properties) == {"flavors": ["vanilla", "chocolate"]}
    assert list(response.warnings) == []


def test_the_default_mode_still_sends_a_json_string(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    client.track("Bought", user_id="u1", properties=FLAVORS)

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"flavors": '["vanilla","chocolate"]'}


def test_a_requests_config_overrides_the_servers_default(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url, native_arrays=True)
    plain = config_pb2.DestinationConfig(app_id=APP_ID)
    off = config_pb2.DestinationConfig(app_id=APP_ID, native_arrays=False)
    with HeapDestinationClient(service.target, config=plain) as client:
        client.track("Inherited", user_id="u1", properties=FLAVORS)
    with HeapDestinationClient(service.target, config=off) as client:
        client.track("Overridden", user_id="u1", properties=FLAVORS)

    by_event = {e["event"]: e["properties"] for e in tracked_events(simulator.url)}
    assert by_event == {
        "Inherited": {"flavors": ["vanilla", "chocolate"]},
        "Overridden": {"flavors": '["vanilla","chocolate"]'},
    }


def test_a_mixed_array_is_stringified_with_a_warning(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    properties = {"mixed": ["a", {"b": 1}, None], "nums": [1, 2.5, True]}
    with HeapDestinationClient(service.target, config=NATIVE) as client:
        response = client.track("Bought", user_id="u1", properties=properties)

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"mixed": '["a",{"b":1},null]', "nums": [1, 2.5, "true"]}
    assert [(w.field, w.key, w.reason) for w in response.warnings] == [
        ("properties", "mixed", warnings_pb2.PROPERTY_WARNING_REASON_ARRAY_STRINGIFIED)
    ]


def test_traits_stay_stringified_as_heap_documents_no_arrays_for_user_properties(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    with HeapDestinationClient(service.target, config=NATIVE) as client:
        client.track("Bought", user_id="u1", properties=FLAVORS, traits=FLAVORS)
        client.identify(user_id="u1", traits={"tags": ["a", "b"]})

    assert [u["properties"] for u in user_property_updates(simulator.url)] == [
        {"flavors": '["vanilla","chocolate"]'},
        {"tags": '["a","b"]'},
    ]


def test_a_long_array_is_cut_to_what_heap_stores(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    with HeapDestinationClient(service.target, config=NATIVE) as client:
        response = client.track("Wrote", user_id="u1", properties={"t": ["x" * 1000, "y" * 100]})

    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"t": ["x" * 1000, "y" * 22]}
    assert [w.reason for w in response.warnings] == [
        warnings_pb2.PROPERTY_WARNING_REASON_VALUE_TRUNCATED
    ]


def test_streamed_events_take_the_streams_config(
    service: BackgroundService, simulator: HeapSimulator
) -> None:
    track = track_pb2.TrackEventRequest(user_id="u1", event="Streamed")
    track.properties.update(FLAVORS)
    request = stream_pb2.StreamEventsRequest(
        events=[stream_pb2.Event(id="e-1", track=track)], config=NATIVE
    )

    [result] = stream(service.target, [request])

    assert result.code == 0
    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"flavors": ["vanilla", "chocolate"]}


def test_a_stored_event_keeps_its_array(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(
        base_url=simulator.url, store_url=f"sqlite:{tmp_path / 'store.db'}", native_arrays=True
    )
    stored = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)
    with HeapDestinationClient(service.target, config=stored) as client:
        client.track("Stored", user_id="u1", properties=FLAVORS)

    wait_until(lambda: len(tracked_events(simulator.url)) == 1, timeout=15, interval=0.05)
    [event] = tracked_events(simulator.url)
    assert event["properties"] == {"flavors": ["vanilla", "chocolate"]}
