"""A SQLite store damaged on disk while events stream in (random bytes over a page in
the middle of the file, as a faulty disk or a stray write would leave it): once a commit
fails, no event is answered OK, health is NOT_SERVING, and after recovery into a new
file every OK'd event the file still held reaches Heap."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from heap_destination.client import HeapDestinationClient, track_event
from heap_destination.v1 import stream_pb2
from tests.support.damaged_store import damage_items, recover_intact_rows
from tests.support.durable import (
    STORED,
    clear_faults,
    delivered_keys,
    start_stored_service,
    wait_for_backlog,
)
from tests.support.simulator_api import inject_fault, tracked_events
from tests.support.wait import wait_until

PER_MESSAGE = 100
DAMAGE_AT_MESSAGE = 30
# Messages still sent once an event was refused: none of their events may be OK'd.
AFTER_THE_FIRST_REFUSAL = 20
MAX_MESSAGES = 250
# Each item's row takes some 300 bytes: a damaged 4 KiB page holds far fewer than this.
AT_MOST_LOST = 50


@pytest.mark.slow
def test_a_store_damaged_mid_stream_oks_nothing_after_a_failed_commit_and_recovers(
    simulator: str, tmp_path: Path
) -> None:
    store, recovered = tmp_path / "store.db", tmp_path / "recovered.db"
    # Heap refuses the app, so the service pauses it: every OK'd event stays in the store.
    inject_fault(simulator, status=401, probability=1.0, path="/api/track")
    first = start_stored_service(simulator, f"sqlite:{store}", "--store-lease", "2")
    refused = threading.Event()
    results: list[stream_pb2.EventResult] = []
    try:
        with HeapDestinationClient(first.address(), config=STORED) as client:
            for result in client.stream(_messages(store, refused), timeout=90):
                results.append(result)
                if result.code != 0:
                    refused.set()
        wait_until(lambda: _health(first.address()) == "NOT_SERVING", timeout=10)
        first.terminate()
        assert first.wait(timeout=30) == 0, "".join(first.lines)
    finally:
        first.stop()

    first_refusal = next(n for n, result in enumerate(results) if result.code != 0)
    oks = {result.id for result in results if result.code == 0}
    refusals = results[first_refusal:]
    held = recover_intact_rows(store, recovered)
    clear_faults(simulator)
    second = start_stored_service(simulator, f"sqlite:{recovered}")
    try:
        wait_for_backlog(second.address(), at_most=0, timeout=30)
    finally:
        second.stop()

    delivered = delivered_keys(simulator)
    print(
        f"\ndamage: {len(oks)} OK'd ({first_refusal - DAMAGE_AT_MESSAGE * PER_MESSAGE} of them "
        f"after the damage), {len(refusals)} refused, {len(oks - held)} OK'd events lost "
        f"with the damaged page, {len(delivered)} delivered after recovery"
    )
    assert {(result.code, result.reason) for result in refusals} == {(14, "STORE_UNAVAILABLE")}
    assert len(refusals) >= AFTER_THE_FIRST_REFUSAL * PER_MESSAGE
    assert held & {result.id for result in refusals} == set(), "a refused event was stored"
    assert len(oks - held) <= AT_MOST_LOST
    assert set(delivered) == oks & held
    assert max(delivered.values()) == 1
    assert len(tracked_events(simulator)) == len(oks & held)


def _messages(store: Path, refused: threading.Event) -> Iterator[stream_pb2.StreamEventsRequest]:
    """Messages of PER_MESSAGE track events, paced; the store is damaged before message
    DAMAGE_AT_MESSAGE, and AFTER_THE_FIRST_REFUSAL more follow the first refused event."""
    left_after_refusal = AFTER_THE_FIRST_REFUSAL
    for n in range(MAX_MESSAGES):
        if n == DAMAGE_AT_MESSAGE:
            damage_items(store)
        if refused.is_set():
            if left_after_refusal == 0:
                return
            left_after_refusal -= 1
        events = [
            track_event(f"damage-{id_}", "Burst", user_id=f"user-{id_ % 100}")
            for id_ in range(n * PER_MESSAGE, (n + 1) * PER_MESSAGE)
        ]
        message = stream_pb2.StreamEventsRequest(events=events)
        if n == 0:
            message.config.CopyFrom(STORED)
        yield message
        time.sleep(0.05)
    raise AssertionError(f"no commit failed in {MAX_MESSAGES} messages after the damage")


def _health(target: str) -> str:
    with grpc.insecure_channel(target) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
