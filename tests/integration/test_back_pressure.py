"""Unary calls when the service is at its in-flight bound or Heap's rate limits."""

import threading
from typing import Any

import grpc
import pytest

from heap_destination.client import HeapDestinationClient, error_details
from heap_destination.delivery.engine import EngineSettings
from heap_destination.delivery.limits.rate_limiter import RateLimitSettings
from heap_destination.sim import HeapSimulator
from tests.conftest import APP_ID
from tests.support.simulator_api import faults, inject_fault, tracked_events
from tests.support.wait import wait_until


def test_a_call_past_the_in_flight_bound_gets_resource_exhausted_with_retry_info(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url, max_in_flight_events=1)
    error = _call_while_another_waits_for_a_slow_heap(service.target, simulator.url)

    details = error_details(error)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.reason == "OVERLOADED"
    assert details.retry_delay is not None and details.retry_delay > 0
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Slow"]


def test_a_call_that_rate_limits_would_hold_past_its_deadline_gets_resource_exhausted(
    simulator: HeapSimulator, start_service: Any
) -> None:
    limits = RateLimitSettings(events_per_window_per_app=1, window_seconds=60)
    service = start_service(base_url=simulator.url, engine=EngineSettings(rate_limits=limits))
    with HeapDestinationClient(service.target, app_id=APP_ID, timeout=1) as client:
        client.track("First", user_id="u1")
        with pytest.raises(grpc.RpcError) as raised:
            client.track("Second", user_id="u1")

    details = error_details(raised.value)
    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.reason == "RATE_LIMITED"
    assert details.retry_delay == 60
    assert [e["event"] for e in tracked_events(simulator.url)] == ["First"]


def test_a_call_past_the_concurrent_calls_bound_gets_resource_exhausted(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url, max_concurrent_calls=1)
    error = _call_while_another_waits_for_a_slow_heap(service.target, simulator.url)

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Slow"]


def test_a_message_over_the_size_bound_gets_resource_exhausted_and_nothing_is_sent(
    simulator: HeapSimulator, start_service: Any
) -> None:
    service = start_service(base_url=simulator.url, max_message_bytes=64 * 1024)
    with HeapDestinationClient(service.target, app_id=APP_ID) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.track("Big", user_id="u1", properties={"text": "x" * 70_000})
        small = client.track("Small", user_id="u1")

    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert small.event == "Small"
    assert [e["event"] for e in tracked_events(simulator.url)] == ["Small"]


def _call_while_another_waits_for_a_slow_heap(target: str, simulator_url: str) -> grpc.RpcError:
    """Makes a "Slow" call that Heap answers after 2 s, then, while it waits, a "Turned
    Away" call; returns the second one's error."""
    inject_fault(simulator_url, latency_ms=2000, count=1)
    with HeapDestinationClient(target, app_id=APP_ID) as client:
        first = threading.Thread(target=client.track, args=("Slow",), kwargs={"user_id": "u1"})
        first.start()
        # The fault is used up once the first call's request is being held by it.
        wait_until(lambda: faults(simulator_url) == [], timeout=10, interval=0.01)
        with pytest.raises(grpc.RpcError) as raised:
            client.track("Turned Away", user_id="u2")
        first.join()
    return raised.value
