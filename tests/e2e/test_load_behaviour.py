"""The service as its own process under load: bounded memory, and a clean drain on SIGTERM."""

from collections import Counter

import pytest
from google.rpc import code_pb2

from heap_destination.client import in_messages, track_event
from heap_destination.v1 import config_pb2
from tests.support.processes import free_address, start_service
from tests.support.simulator_api import inject_fault, tracked_events
from tests.support.streaming import stream

APP_ID = "1234567890"
CONFIG = config_pb2.DestinationConfig(app_id=APP_ID)
NO_RATE_LIMITS = ("--rate-limit-per-app", "0", "--rate-limit-per-identity", "0")
# The bound docs/delivery.md states for the default in-flight limits (10,000 per stream).
MEMORY_BOUND_MB = 250
LARGE_EVENT = {f"property_{i}": f"value {i} " * 4 for i in range(40)} | {
    "nested": {"a": {"b": [1, 2, 3]}, "c": "d"},
}


@pytest.mark.slow
def test_a_fast_producer_against_a_slow_heap_keeps_memory_bounded(simulator: str) -> None:
    inject_fault(simulator, latency_ms=500, probability=1.0)
    service = start_service(
        free_address(), simulator, *NO_RATE_LIMITS, "--max-in-flight-requests", "2"
    )
    target = service.address()
    events = [
        track_event(str(i), "Signed Up", user_id=f"user-{i % 500}", properties=LARGE_EVENT)
        for i in range(60_000)
    ]
    try:
        results = stream(target, in_messages(events, 1000, CONFIG), timeout=300)
        peak = service.peak_memory_mb()
    finally:
        service.stop()

    assert Counter(r.code for r in results) == {code_pb2.OK: len(events)}
    assert len(tracked_events(simulator)) == len(events)
    assert peak < MEMORY_BOUND_MB, f"peak memory {peak:.0f} MB"


def test_sigterm_under_load_answers_every_event_before_exit(simulator: str) -> None:
    inject_fault(simulator, latency_ms=200, probability=1.0)
    service = start_service(free_address(), simulator, *NO_RATE_LIMITS, "--grace-period", "5")
    target = service.address()
    events = [track_event(str(i), "Signed Up", user_id=f"user-{i % 100}") for i in range(20_000)]

    try:
        results = stream(
            target,
            in_messages(events, 500, CONFIG),
            timeout=60,
            on_first_response=service.terminate,
        )
        exit_code = service.wait(timeout=30)
    finally:
        service.stop()

    assert Counter(r.id for r in results) == Counter(e.id for e in events)
    codes = Counter(r.code for r in results)
    assert set(codes) <= {code_pb2.OK, code_pb2.UNAVAILABLE}, codes
    assert codes[code_pb2.OK] > 0
    delivered = {e["idempotency_key"] for e in tracked_events(simulator)}
    assert {r.id for r in results if r.code == code_pb2.OK} <= delivered
    assert exit_code == 0, "".join(service.lines)
