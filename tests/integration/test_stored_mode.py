"""Ack mode STORED through the real server: OK on commit, delivery in the background."""

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from google.rpc import code_pb2
from prometheus_client import REGISTRY

from heap_destination.client import HeapDestinationClient, error_details
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.v1 import config_pb2, stream_pb2, track_pb2
from tests.conftest import APP_ID
from tests.support.background_service import BackgroundService
from tests.support.wait import wait_until

STORED = config_pb2.DestinationConfig(app_id=APP_ID, ack_mode=config_pb2.ACK_MODE_STORED)


def store_url(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path / 'data' / 'store.db'}"


def tracks_at(simulator: HeapSimulator) -> list[dict[str, object]]:
    return [e for r in simulator.accepted() if r.path == "/api/track" for e in r.body["events"]]


def stream_of(count: int, prefix: str = "e") -> list[stream_pb2.StreamEventsRequest]:
    events = [
        stream_pb2.Event(
            id=f"{prefix}-{n}",
            track=track_pb2.TrackEventRequest(
                user_id=f"user-{n % 7}", event="Viewed", message_id=f"{prefix}-{n}"
            ),
        )
        for n in range(count)
    ]
    return [
        stream_pb2.StreamEventsRequest(events=events[i : i + 500]) for i in range(0, count, 500)
    ]


def test_a_stored_track_is_ok_while_heap_is_down_and_arrives_once_heap_is_back(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))
    simulator.inject(Fault(status=503, seconds=1.5))

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        response = client.track(
            "Signed Up", user_id="u1", properties={"a": {"b": 1}}, message_id="m1"
        )

    assert response.idempotency_key == "m1"
    wait_until(lambda: len(tracks_at(simulator)) == 1, timeout=15, interval=0.05)
    (event,) = tracks_at(simulator)
    assert event["properties"] == {"a.b": 1}
    assert event["idempotency_key"] == "m1"
    assert "timestamp" in event


def test_a_stored_stream_is_answered_ok_for_every_event_and_each_arrives_once(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))

    with HeapDestinationClient(service.target, config=STORED, timeout=30) as client:
        results = list(client.stream(stream_of(2000), timeout=30))

    assert len(results) == 2000 and {r.code for r in results} == {0}
    wait_until(lambda: len(tracks_at(simulator)) >= 2000, timeout=20, interval=0.05)
    keys = sorted(str(e["idempotency_key"]) for e in tracks_at(simulator))
    assert keys == sorted(f"e-{n}" for n in range(2000))


def test_an_invalid_event_in_stored_mode_is_rejected_at_once_and_never_stored(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.track("", user_id="u1", message_id="bad")
        client.track("Good", user_id="u1", message_id="good")

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(error_details(raised.value).field_violations) == ["event"]
    wait_until(lambda: len(tracks_at(simulator)) == 1, timeout=15, interval=0.05)
    assert [e["event"] for e in tracks_at(simulator)] == ["Good"]


def test_stored_mode_on_a_server_without_a_store_names_the_field(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService]
) -> None:
    service = start_service(base_url=simulator.url)

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.track("E", user_id="u1")
        results = list(client.stream(stream_of(1)))

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(error_details(raised.value).field_violations) == ["config.ack_mode"]
    assert [(r.code, r.field_violations[0].field) for r in results] == [(3, "config.ack_mode")]
    assert simulator.attempts() == []


def test_a_full_store_is_resource_exhausted_with_a_retry_delay_and_keeps_what_it_took(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(
        base_url=simulator.url, store_url=store_url(tmp_path), max_stored_events_per_app=3
    )
    simulator.inject(Fault(status=503, probability=1.0))  # nothing leaves the store meanwhile

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        for n in range(3):
            client.track("E", user_id="u1", message_id=f"m{n}")
        with pytest.raises(grpc.RpcError) as raised:
            client.track("E", user_id="u1", message_id="m3")
    simulator.clear_faults()

    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = error_details(raised.value)
    assert details.reason == "STORE_FULL"
    assert details.retry_delay is not None and details.retry_delay > 0
    wait_until(lambda: len(tracks_at(simulator)) == 3, timeout=20, interval=0.05)
    assert sorted(str(e["idempotency_key"]) for e in tracks_at(simulator)) == ["m0", "m1", "m2"]


def test_a_stream_config_chooses_stored_mode_for_its_events(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))
    simulator.inject(Fault(status=503, seconds=1.0))
    messages = stream_of(10)
    messages[0].config.CopyFrom(STORED)

    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=5) as client:
        results = list(client.stream(messages, timeout=5))

    assert {r.code for r in results} == {0}
    wait_until(lambda: len(tracks_at(simulator)) == 10, timeout=15, interval=0.05)


def test_a_stored_event_counts_once_as_stored_and_once_as_delivered(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))
    before = {name: _count(name) for name in ("stored", "delivered")}

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        client.track("E", user_id="u1", message_id="counted")
    wait_until(lambda: len(tracks_at(simulator)) == 1, timeout=15, interval=0.05)
    wait_until(lambda: _count("delivered") > before["delivered"], timeout=5, interval=0.05)

    assert _count("stored") - before["stored"] == 1
    assert _count("delivered") - before["delivered"] == 1


def _count(outcome: str) -> float:
    sample = REGISTRY.get_sample_value(
        f"heap_destination_events_{outcome}_total", {"kind": "track"}
    )
    return sample or 0.0


def test_hostile_values_in_stored_mode_are_rejected_before_anything_is_stored(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(30):
        deep = {"d": deep}

    with HeapDestinationClient(service.target, config=STORED, timeout=5) as client:
        codes = []
        for properties in ({"deep": deep}, {"bad\u0007key": 1}):
            with pytest.raises(grpc.RpcError) as raised:
                client.track("E", user_id="u1", properties=properties)
            codes.append(raised.value.code())
        with pytest.raises(grpc.RpcError) as raised:
            client.track("E", user_id="x" * 10_000)
        codes.append(raised.value.code())
        client.track("Good", user_id="u1", message_id="good")

    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 3
    wait_until(lambda: len(tracks_at(simulator)) == 1, timeout=15, interval=0.05)
    assert [e["event"] for e in tracks_at(simulator)] == ["Good"]


def test_undecodable_bytes_to_the_admin_and_deletion_services_are_invalid_argument(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    service = start_service(base_url=simulator.url, store_url=store_url(tmp_path))
    junk = b"\x0a\xff\xff\xff\xff\xff\xff"  # a length-delimited field longer than the message

    with grpc.insecure_channel(service.target) as channel:
        codes = []
        for method in (
            "/heap_destination.v1.DeliveryAdminService/ListDeadLetters",
            "/heap_destination.v1.DeliveryAdminService/GetEventStatus",
            "/heap_destination.v1.UserDeletionService/DeleteUsers",
        ):
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary(method)(junk, timeout=5)
            codes.append(raised.value.code())

    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 3


@pytest.mark.slow
def test_a_flood_across_many_apps_in_stored_mode_meets_the_stores_bound_not_an_error(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    # Heap is down until every event has its answer, so nothing leaves the store meanwhile.
    simulator.inject(Fault(status=503, probability=1.0))
    service = start_service(
        base_url=simulator.url, store_url=store_url(tmp_path), max_stored_events=300
    )
    events = [
        stream_pb2.Event(
            id=str(n),
            track=track_pb2.TrackEventRequest(
                config=config_pb2.DestinationConfig(app_id=str(100 + n)),
                user_id="u",
                event="E",
                message_id=f"flood-{n}",
            ),
        )
        for n in range(1000)
    ]
    messages = [
        stream_pb2.StreamEventsRequest(events=events[i : i + 100]) for i in range(0, 1000, 100)
    ]
    messages[0].config.CopyFrom(STORED)

    with HeapDestinationClient(service.target, timeout=30) as client:
        results = list(client.stream(messages, timeout=30))
    simulator.clear_faults()

    codes = Counter(r.code for r in results)
    assert set(codes) == {code_pb2.OK, code_pb2.RESOURCE_EXHAUSTED}
    assert codes[code_pb2.OK] == 300
    assert {r.reason for r in results if r.code != code_pb2.OK} == {"STORE_FULL"}
    wait_until(lambda: len(tracks_at(simulator)) == 300, timeout=30, interval=0.1)


def test_an_app_at_its_bound_refuses_only_its_own_events_in_a_mixed_message(
    simulator: HeapSimulator, start_service: Callable[..., BackgroundService], tmp_path: Path
) -> None:
    simulator.inject(Fault(status=503, probability=1.0))  # nothing leaves the store meanwhile
    service = start_service(
        base_url=simulator.url, store_url=store_url(tmp_path), max_stored_events_per_app=100
    )
    full, other = "111", "222"
    apps = [full] * 100 + [(full, other)[n % 2] for n in range(200)]
    events = [
        stream_pb2.Event(
            id=str(n),
            track=track_pb2.TrackEventRequest(
                config=config_pb2.DestinationConfig(app_id=app_id),
                user_id="u",
                event="E",
                message_id=f"mixed-{n}",
            ),
        )
        for n, app_id in enumerate(apps)
    ]
    messages = [
        stream_pb2.StreamEventsRequest(events=events[i : i + 100]) for i in range(0, 300, 100)
    ]
    messages[0].config.CopyFrom(STORED)

    with HeapDestinationClient(service.target, timeout=30) as client:
        results = list(client.stream(messages, timeout=30))

    outcomes = Counter((apps[int(r.id)], r.code, r.reason) for r in results)
    assert outcomes == {
        (full, code_pb2.OK, ""): 100,
        (full, code_pb2.RESOURCE_EXHAUSTED, "STORE_FULL"): 100,
        (other, code_pb2.OK, ""): 100,
    }
