"""StreamEvents through a real gRPC server to the real simulator over HTTP."""

import dataclasses
from collections import Counter
from typing import Any

import pytest
from google.rpc import code_pb2

from heap_destination.client import HeapDestinationClient, identify_event, in_messages, track_event
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.sim import HeapSimulator, RateLimits
from heap_destination.v1 import config_pb2, errors_pb2, identify_pb2, stream_pb2, track_pb2
from tests.conftest import APP_ID, FAST_RETRIES
from tests.support.simulator_api import (
    accepted,
    attempts,
    inject_fault,
    tracked_events,
    user_property_updates,
)
from tests.support.streaming import stream

CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)
NO_RATE_LIMITS = EngineSettings(
    rate_limits=RateLimitSettings(
        events_per_window_per_app=None, events_per_window_per_identity=None
    )
)
FLATTENING_EXAMPLE = {"foo": {"bar": {"cheese": "american", "prop": [1, 2, 3]}}}


def _events(count: int, identities: int) -> list[stream_pb2.Event]:
    return [
        track_event(
            str(i), "Signed Up", user_id=f"user-{i % identities}", properties=FLATTENING_EXAMPLE
        )
        for i in range(count)
    ]


@pytest.mark.slow
def test_100k_events_over_one_stream_arrive_once_in_few_bulk_requests(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url, engine=NO_RATE_LIMITS)
    events = _events(100_000, identities=500)

    results = stream(service.target, in_messages(events, 1000, CONFIG))

    assert Counter(r.id for r in results) == Counter(e.id for e in events)
    assert {r.code for r in results} == {code_pb2.OK}
    delivered = tracked_events(simulator.url)
    assert Counter(e["idempotency_key"] for e in delivered) == Counter(e.id for e in events)
    assert delivered[0]["properties"] == {"foo.bar.cheese": "american", "foo.bar.prop": "[1,2,3]"}
    requests = len(accepted(simulator.url))
    assert requests <= 150, f"{requests} bulk requests"


@pytest.mark.slow
def test_with_heap_failing_a_quarter_of_requests_every_event_lands_once(
    simulator: HeapSimulator, start_service: Any
) -> None:
    # Enough attempts that no request fails all of them by chance (0.24 ** 30).
    retry = dataclasses.replace(FAST_RETRIES, max_attempts=30)
    service = start_service(base_url=simulator.url, engine=NO_RATE_LIMITS, retry=retry)
    inject_fault(simulator.url, status=500, probability=0.2, random_seed=1)
    inject_fault(simulator.url, status=429, retry_after="1", probability=0.05, random_seed=2)
    events = _events(100_000, identities=500)

    results = stream(service.target, in_messages(events, 1000, CONFIG))

    statuses = Counter(a["status"] for a in attempts(simulator.url))
    assert statuses[500] > 0 and statuses[429] > 0
    delivered = Counter(e["idempotency_key"] for e in tracked_events(simulator.url))
    assert max(delivered.values()) == 1
    ok = {r.id for r in results if r.code == code_pb2.OK}
    assert ok <= delivered.keys()
    assert len(results) == len(events)
    assert len(ok) == len(events)


def test_rate_limit_per_app_is_never_exceeded_and_nothing_is_dropped(
    simulator: HeapSimulator, start_service: Any
) -> None:
    limit, window = 200, 1.0
    simulator.set_rate_limits(RateLimits(events_per_minute_per_app=limit, window_seconds=window))
    service = start_service(
        base_url=simulator.url,
        engine=EngineSettings(
            rate_limits=RateLimitSettings(
                events_per_window_per_app=limit,
                events_per_window_per_identity=None,
                window_seconds=window,
            )
        ),
    )
    events = _events(1000, identities=50)

    results = stream(service.target, in_messages(events, 100, CONFIG))

    assert {r.code for r in results} == {code_pb2.OK}
    assert len(results) == len(events)
    assert 429 not in {a["status"] for a in attempts(simulator.url)}
    assert len(tracked_events(simulator.url)) == len(events)


def test_one_event_heap_rejects_fails_alone(simulator: HeapSimulator, start_service: Any) -> None:
    service = start_service(base_url=simulator.url, engine=NO_RATE_LIMITS)
    events = [
        *_events(999, identities=10),
        track_event("poisoned", "Signed Up", user_id="poison-user", properties=FLATTENING_EXAMPLE),
    ]
    inject_fault(simulator.url, status=400, probability=1.0, body_contains="poison-user")

    results = {r.id: r for r in stream(service.target, in_messages(events, 1000, CONFIG))}

    assert results["poisoned"].code == code_pb2.INVALID_ARGUMENT
    assert results["poisoned"].reason == "HEAP_REJECTED"
    assert results["poisoned"].error_reason == errors_pb2.ERROR_REASON_HEAP_REJECTED
    assert {r.error_reason for i, r in results.items() if i != "poisoned"} == {
        errors_pb2.ERROR_REASON_UNSPECIFIED
    }
    assert {r.code for i, r in results.items() if i != "poisoned"} == {code_pb2.OK}
    delivered = {e["idempotency_key"] for e in tracked_events(simulator.url)}
    assert delivered == {e.id for e in events if e.id != "poisoned"}


def test_bad_events_are_answered_at_once_and_the_stream_goes_on(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url)
    events = [
        track_event("good-1", "Signed Up", user_id="u1"),
        track_event("no-user", "Signed Up", user_id=""),
        track_event("good-1", "Signed Up", user_id="u1"),
        stream_pb2.Event(id="no-kind"),
        track_event("", "Signed Up", user_id="u1"),
        track_event("nan", "Signed Up", user_id="u1", properties={"x": float("nan")}),
        stream_pb2.Event(
            id="identify-1",
            identify=identify_pb2.IdentifyUserRequest(user_id="u1", heap_user_id="12"),
        ),
        track_event("good-2", "Signed Up", user_id="u2"),
    ]

    results = stream(service.target, in_messages(events, 100, CONFIG))

    by_id: dict[str, list[tuple[int, str]]] = {}
    for r in results:
        by_id.setdefault(r.id, []).append((r.code, ",".join(v.field for v in r.field_violations)))
    assert {key: sorted(value) for key, value in by_id.items()} == {
        "good-1": [(code_pb2.OK, ""), (code_pb2.INVALID_ARGUMENT, "id")],
        "no-user": [(code_pb2.INVALID_ARGUMENT, "user_id")],
        "no-kind": [(code_pb2.INVALID_ARGUMENT, "kind")],
        "": [(code_pb2.INVALID_ARGUMENT, "id")],
        "nan": [(code_pb2.INVALID_ARGUMENT, "properties.x")],
        "identify-1": [(code_pb2.OK, "")],
        "good-2": [(code_pb2.OK, "")],
    }
    assert sorted(e["identity"] for e in tracked_events(simulator.url)) == ["u1", "u2"]


def test_a_config_message_applies_to_later_messages_and_event_configs_win(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url)
    first = stream_pb2.StreamEventsRequest(
        config=config_pb2.DestinationConfig(app_id="111"),
        events=[track_event("a", "Signed Up", user_id="u1")],
    )
    second = stream_pb2.StreamEventsRequest(events=[track_event("b", "Signed Up", user_id="u1")])
    own = track_event("c", "Signed Up", user_id="u1")
    own.track.config.CopyFrom(config_pb2.DestinationConfig(app_id="333"))
    third = stream_pb2.StreamEventsRequest(
        config=config_pb2.DestinationConfig(app_id="222"),
        events=[track_event("d", "Signed Up", user_id="u1"), own],
    )

    results = stream(service.target, [first, second, third])

    assert {r.code for r in results} == {code_pb2.OK}
    apps = {e["idempotency_key"]: e["app_id"] for e in tracked_events(simulator.url)}
    assert apps == {"a": "111", "b": "111", "d": "222", "c": "333"}


def test_a_stream_without_any_app_id_answers_each_event_with_the_reason(
    service: Any,
) -> None:
    event = stream_pb2.Event(id="e1", track=track_pb2.TrackEventRequest(user_id="u", event="E"))

    [result] = stream(service.target, [stream_pb2.StreamEventsRequest(events=[event])])

    assert result.code == code_pb2.INVALID_ARGUMENT
    assert [v.field for v in result.field_violations] == ["config.app_id"]


def test_the_python_client_streams_with_its_own_config(
    client: HeapDestinationClient, simulator: HeapSimulator
) -> None:
    events = [
        track_event("t1", "Signed Up", user_id="u1", properties=FLATTENING_EXAMPLE),
        identify_event("i1", user_id="u1", traits={"plan": "pro"}),
    ]

    results = list(client.stream(in_messages(events)))

    assert sorted((r.id, r.code) for r in results) == [("i1", code_pb2.OK), ("t1", code_pb2.OK)]
    [event] = tracked_events(simulator.url)
    assert (event["app_id"], event["idempotency_key"]) == (APP_ID, "t1")
    assert [u["properties"] for u in user_property_updates(simulator.url)] == [{"plan": "pro"}]


def test_streamed_events_wait_for_heaps_budget_past_the_delivery_timeout(
    simulator: HeapSimulator, start_service: Any
) -> None:
    """Admission takes about 4 s for the last events, the delivery timeout is 0.5 s: a
    stream is flow-controlled, so its events wait rather than fail."""
    service = start_service(
        base_url=simulator.url,
        retry=dataclasses.replace(FAST_RETRIES, delivery_timeout=0.5),
        engine=EngineSettings(
            rate_limits=RateLimitSettings(
                events_per_window_per_app=25,
                events_per_window_per_identity=None,
                window_seconds=1.0,
            )
        ),
    )
    events = _events(100, identities=10)

    results = stream(service.target, in_messages(events, 50, CONFIG))

    assert Counter(r.code for r in results) == {code_pb2.OK: 100}
    assert len(tracked_events(simulator.url)) == 100


def test_a_stream_for_four_apps_fills_its_bulk_requests_under_the_default_rate_limits(
    simulator: HeapSimulator, start_service: Any
) -> None:
    """The simulator shares the service's process (as with `make run`): an event that
    fits Heap's budget at once must not give partial batches a chance to go out. The
    linger is long here, so that a busy machine pausing the stream between two messages
    sends no partial batch either: only the budget could."""
    service = start_service(base_url=simulator.url, engine=EngineSettings(linger=1.0))
    events = _events(20_000, identities=100)
    for i, event in enumerate(events):
        event.track.config.app_id = str(1000 + i % 4)

    results = stream(service.target, in_messages(events, 500, CONFIG))

    assert Counter(r.code for r in results) == {code_pb2.OK: 20_000}
    requests = [r for r in accepted(simulator.url) if r["path"] == "/api/track"]
    assert sum(len(r["body"]["events"]) for r in requests) == 20_000
    assert len(requests) <= 40, f"{len(requests)} track requests"


def test_a_stream_flooding_more_apps_than_the_bound_gets_overloaded_and_gives_its_room_back(
    simulator: HeapSimulator, start_service: Any
) -> None:
    # Three destinations at most, each kept busy for a second by Heap's answer; ten events
    # in flight at most in the whole service, so one event's room not given back would
    # leave no room for ten and stall the second stream.
    engine = dataclasses.replace(NO_RATE_LIMITS, max_destinations=3)
    service = start_service(base_url=simulator.url, engine=engine, max_in_flight_events=10)
    inject_fault(simulator.url, latency_ms=1000, probability=1.0)
    events = []
    for i in range(30):
        event = track_event(f"e{i}", "Signed Up", user_id="u1")
        event.track.config.CopyFrom(config_pb2.DestinationConfig(app_id=str(100 + i % 10)))
        events.append(event)

    results = {r.id: r for r in stream(service.target, in_messages(events, 30))}

    assert results.keys() == {e.id for e in events}
    busy_apps = {"100", "101", "102"}
    for event in events:
        result = results[event.id]
        if event.track.config.app_id in busy_apps:
            assert result.code == code_pb2.OK, result
        else:
            assert result.code == code_pb2.RESOURCE_EXHAUSTED, result
            assert result.reason == "OVERLOADED"
            assert result.retry_delay.ToTimedelta().total_seconds() > 0
    delivered = {e["idempotency_key"]: e["app_id"] for e in tracked_events(simulator.url)}
    assert set(delivered.values()) == busy_apps and len(delivered) == 9

    again = [track_event(f"again-{i}", "Signed Up", user_id="u1") for i in range(20)]
    config = config_pb2.DestinationConfig(app_id="100")
    later = stream(service.target, in_messages(again, 20, config), timeout=30)

    assert sorted(r.id for r in later if r.code == code_pb2.OK) == sorted(e.id for e in again)
