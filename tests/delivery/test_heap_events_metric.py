"""heap_destination_heap_events_total: the events a request to Heap carried, counted by
app_id, endpoint and the request's outcome, once per request (not per attempt)."""

import time
from uuid import uuid4

import aiohttp
import pytest
from prometheus_client import REGISTRY

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.heap.bodies import TRACK_PATH, bulk_track_body
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.heap_calls import HeapEvent
from heap_destination.domain.json_text import encode
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault

FAST = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.05, attempt_timeout=5.0)
BODY = encode(bulk_track_body("1", [HeapEvent("user-1", "Signed Up", {}, "key-1")]))


def counted(app_id: str, outcome: str) -> float:
    labels = {"app_id": app_id, "endpoint": TRACK_PATH, "outcome": outcome}
    return REGISTRY.get_sample_value("heap_destination_heap_events_total", labels) or 0.0


async def post(client: HeapClient, url: str, app_id: str | None) -> None:
    await client.post(url + TRACK_PATH, BODY, time.monotonic() + 10, app_id=app_id, events=7)


async def test_a_delivered_request_counts_its_events_once_however_many_attempts(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    app_id = f"app-{uuid4()}"
    sim.inject(Fault(status=503, count=2))

    await post(HeapClient(http, FAST, RequestSlots(8)), sim.url, app_id)

    assert [a.status for a in sim.attempts()] == [503, 503, 200]
    assert counted(app_id, "delivered") == 7
    assert counted(app_id, "failed") == 0


async def test_a_rejected_request_counts_its_events_rejected(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    app_id = f"app-{uuid4()}"
    sim.inject(Fault(status=400, count=1))

    with pytest.raises(HeapRejected):
        await post(HeapClient(http, FAST, RequestSlots(8)), sim.url, app_id)

    assert counted(app_id, "rejected") == 7
    assert counted(app_id, "delivered") == 0


async def test_a_request_whose_attempts_run_out_counts_its_events_failed(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    app_id = f"app-{uuid4()}"
    sim.inject(Fault(status=429, count=3))

    with pytest.raises(HeapUnavailable):
        await post(HeapClient(http, FAST, RequestSlots(8)), sim.url, app_id)

    assert counted(app_id, "failed") == 7


async def test_a_request_without_an_app_id_is_not_counted(
    sim: HeapSimulator, http: aiohttp.ClientSession
) -> None:
    before = heap_events_samples()

    await post(HeapClient(http, FAST, RequestSlots(8)), sim.url, None)

    assert heap_events_samples() == before


def heap_events_samples() -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name == "heap_destination_heap_events_total"
    ]
