"""One caller's flood cannot freeze another caller: the service as its own process, a
simulator answering after 20 ms, and a caller sending thousands of identify bindings and
events for thousands of apps while another sends one track every 0.25 s."""

import statistics
import threading
import time
from collections import Counter

import grpc
from google.rpc import code_pb2

from heap_destination.client import HeapDestinationClient, identify_event, in_messages, track_event
from heap_destination.v1 import config_pb2, stream_pb2
from tests.support.processes import free_address, start_service
from tests.support.simulator_api import inject_fault
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


def test_a_flood_of_identifies_and_apps_leaves_another_callers_calls_fast(simulator: str) -> None:
    inject_fault(simulator, latency_ms=20, probability=1.0)
    service = start_service(free_address(), simulator)
    target = service.address()
    flood = _flood()
    flood_results: list[stream_pb2.EventResult] = []
    latencies: list[float] = []
    failures: Counter[str] = Counter()

    def noisy() -> None:
        config = config_pb2.DestinationConfig(app_id=NOISY_APP)
        flood_results.extend(stream(target, in_messages(flood, 500, config), timeout=120))

    flooding = threading.Thread(target=noisy)
    try:
        with HeapDestinationClient(target, app_id=QUIET_APP, timeout=5) as quiet:
            quiet.track("Warm Up", user_id="quiet")
            flooding.start()
            while flooding.is_alive() or len(latencies) < 8:
                started = time.monotonic()
                try:
                    quiet.track("Quiet", user_id="quiet")
                    latencies.append(time.monotonic() - started)
                except grpc.RpcError as error:
                    failures[error.code().name] += 1
                time.sleep(0.25)
        flooding.join()
    finally:
        service.stop()

    assert not failures, failures
    # Every flooded event is answered; some may be turned away at the destination bound.
    assert Counter(r.id for r in flood_results) == Counter(e.id for e in flood)
    assert {r.code for r in flood_results} <= {code_pb2.OK, code_pb2.RESOURCE_EXHAUSTED}
    # Behind the flood (3,000 bindings, 8 at a time, 20 ms each) a call would wait
    # seconds; beside it, a call takes a linger and a Heap round trip, plus the noise of
    # a busy machine.
    slowest = sorted(latencies)[-5:]
    assert statistics.median(latencies) < 0.5, f"{len(latencies)} calls, slowest {slowest}"
    assert max(latencies) < 2.0, f"{len(latencies)} calls, slowest {slowest}"
