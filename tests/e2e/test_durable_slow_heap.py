"""A slow Heap, with single-event requests taking what the bulk budget cannot: 10,000
stored events reach Heap once each, and Heap answers no 429, without any crash. One
process on SQLite, and two replicas sharing PostgreSQL.

Heap's limits and the lease are scaled down (the window to 5 s, the lease to 4 s) so
that single-event batches outlast half a lease within seconds, as they would outlast
a whole one at Heap's real scale."""

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from heap_destination.client import in_messages, track_event
from tests.support import http_client
from tests.support.durable import (
    STORED,
    attempt_statuses,
    delivered_keys,
    duplicates,
    message_ids,
    start_stored_service,
    stream_stored,
    wait_for_backlog,
)
from tests.support.postgres import postgres_schema, postgres_server
from tests.support.processes import Process
from tests.support.simulator_api import inject_fault

EVENTS = 10_000
PER_APP, WINDOW = 5_000, 5.0
FLAGS = [
    *("--rate-limit-per-app", str(PER_APP), "--rate-limit-per-identity", "0"),
    *("--rate-limit-window", str(WINDOW), "--store-lease", "4"),
    *("--max-requests-to-heap", "64"),
]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with postgres_server() as server_url:
        yield server_url


@pytest.mark.slow
@pytest.mark.parametrize("latency_ms", [300, 1000])
@pytest.mark.parametrize("replicas", [1, 2])
def test_a_slow_heap_gets_every_stored_event_once_and_answers_no_429(
    simulator: str, tmp_path: Path, postgres: str, latency_ms: int, replicas: int
) -> None:
    limits = {
        "events_per_minute_per_app": PER_APP,
        "requests_per_30s_per_identity": 30,
        "window_seconds": WINDOW,
    }
    http_client.post(f"{simulator}/_sim/limits", json=limits).raise_for_status()
    inject_fault(simulator, latency_ms=latency_ms, probability=1.0, path="/api/track")
    with ExitStack() as stack:
        if replicas == 1:
            store_url = f"sqlite:{tmp_path / 'store.db'}"
        else:
            store_url = stack.enter_context(postgres_schema(postgres))
        services = [_start(stack, simulator, store_url) for _ in range(replicas)]
        _stream_split(services)
        wait_for_backlog(services[0].address(), at_most=0, timeout=120, interval=0.5)

    keys = delivered_keys(simulator)
    statuses = attempt_statuses(simulator)
    print(f"\n{replicas} process(es), Heap at {latency_ms} ms: Heap answered {dict(statuses)}")
    assert sorted(keys) == sorted(message_ids("e", EVENTS))
    assert duplicates(keys) == 0
    assert 429 not in statuses


def _start(stack: ExitStack, simulator: str, store_url: str) -> Process:
    service = start_stored_service(simulator, store_url, *FLAGS)
    stack.callback(service.stop)
    return service


def _stream_split(services: list[Process]) -> None:
    """Streams the EVENTS events e-0.. (1,000 identities), split evenly over the services."""
    share = EVENTS // len(services)
    errors: list[BaseException] = []

    def produce(index: int) -> None:
        events = (
            track_event(f"e-{n}", "Slow", user_id=f"user-{n % 1000}")
            for n in range(index * share, (index + 1) * share)
        )
        try:
            acks = stream_stored(services[index].address(), in_messages(events, 500, STORED))
            assert acks.codes == {0: share}
        except BaseException as error:
            errors.append(error)

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(len(services))]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(timeout=90)
    assert not errors, errors
