"""One caller's flood cannot freeze another caller: the service as its own process, a
simulator answering after 20 ms, and a caller sending thousands of identify bindings and
events for thousands of apps while another sends one track after another."""

import itertools
import threading
from collections import Counter
from typing import Any

import grpc
import pytest
from google.rpc import code_pb2

from heap_destination.client import HeapDestinationClient, identify_event, in_messages, track_event
from heap_destination.v1 import config_pb2, stream_pb2
from tests.support.processes import free_address, start_service
from tests.support.simulator_api import accepted, inject_fault
from tests.support.streaming import stream

NOISY_APP = "1111111111"
QUIET_APP = "2222222222"


def _flood() -> list[stream_pb2.Event]:
    identifies = [
        identify_event(f"i{i}", user_id=f"user-{i}", heap_user_id=str(i)) for i in range(3000)
    ]
    other_apps = []
    for i in range(2000):
        event = track_event(f"t{i}", "Signed Up", user_id="user-1")
        event.track.config.app_id = str(3_000_000_000 + i)
        other_apps.append(event)
    return [event for pair in zip(identifies, other_apps, strict=False) for event in pair] + (
        identifies[2000:]
    )


@pytest.mark.slow
def test_a_flood_of_identifies_and_apps_leaves_another_callers_calls_beside_it(
    simulator: str,
) -> None:
    """Told by the order in which Heap receives requests, not by the clock: the quiet
    caller calls again as soon as a call returns, so between two of its requests Heap gets
    only what the flood sends during one quiet call. Behind the flood (3,000 bindings, 8 at
    a time) that would be thousands of requests; beside it, a few dozen."""
    inject_fault(simulator, latency_ms=20, probability=1.0)
    # Room for every app of the flood: at the destination bound, a quiet destination idle
    # for a moment (a busy machine can pause its caller for a second) is dropped and
    # turned away, which says nothing about whether the flood holds its calls back.
    service = start_service(free_address(), simulator, "--max-destinations", "4000")
    target = service.address()
    flood = _flood()
    flood_results: list[stream_pb2.EventResult] = []
    quiet_calls = 0
    failures: Counter[str] = Counter()

    def noisy() -> None:
        config = config_pb2.DestinationConfig(app_id=NOISY_APP)
        flood_results.extend(stream(target, in_messages(flood, 500, config), timeout=120))

    flooding = threading.Thread(target=noisy)
    try:
        with HeapDestinationClient(target, app_id=QUIET_APP, timeout=60) as quiet:
            quiet.track("Warm Up", user_id="quiet")
            flooding.start()
            while flooding.is_alive():
                try:
                    quiet.track("Quiet", user_id="quiet")
                    quiet_calls += 1
                except grpc.RpcError as error:
                    failures[error.code().name] += 1
        flooding.join()
    finally:
        service.stop()

    assert not failures, failures
    # Every flooded event is answered (some may be turned away at the in-flight bound).
    assert Counter(r.id for r in flood_results) == Counter(e.id for e in flood)
    assert {r.code for r in flood_results} <= {code_pb2.OK, code_pb2.RESOURCE_EXHAUSTED}
    in_heap = [_is_quiet(request) for request in accepted(simulator)]
    first_flood, last_flood = in_heap.index(False), len(in_heap) - in_heap[::-1].index(False)
    during_flood = in_heap[first_flood:last_flood]
    gaps = _flood_requests_between_quiet_ones(during_flood)
    assert in_heap.count(True) == quiet_calls + 1
    assert len(gaps) >= 5, f"{len(gaps)} quiet calls reached Heap during the flood"
    print(f"\n{len(gaps)} quiet calls during the flood, largest gaps {sorted(gaps)[-5:]}")
    assert max(gaps) <= MOST_FLOOD_REQUESTS_PER_QUIET_CALL, sorted(gaps)[-5:]


MOST_FLOOD_REQUESTS_PER_QUIET_CALL = 300
"""A tenth of the flood's bindings alone; beside the flood a quiet call sees a few dozen."""


def _is_quiet(request: dict[str, Any]) -> bool:
    return bool(request["body"].get("app_id") == QUIET_APP)


def _flood_requests_between_quiet_ones(in_heap: list[bool]) -> list[int]:
    """For each quiet request after the first, how many flood requests Heap got since the
    quiet one before it."""
    quiet_at = [index for index, quiet in enumerate(in_heap) if quiet]
    return [later - earlier - 1 for earlier, later in itertools.pairwise(quiet_at)]
