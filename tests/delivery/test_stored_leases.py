"""A batch that takes longer than its lease, because Heap answers slowly, stays its
worker's: another worker on the store never claims and sends it again."""

import asyncio
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, prepare_identify
from heap_destination.durable.delivery import StoredDelivery
from heap_destination.durable.work import Origin, identify_work
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.store import NewItem, Store, open_store
from tests.delivery.stored_support import FAST, all_delivered, wait_until

IDENTIFIES = 80
LEASE = 2.0


def identifies(destination: Destination, count: int) -> list[NewItem]:
    items: list[NewItem] = []
    for n in range(count):
        identify = prepare_identify(
            IdentifyInput(user_id=f"user-{n}", heap_user_id=str(1000 + n)), destination
        )
        items += identify_work(destination, identify, Origin(time.time(), f"m-{n}"))
    return items


@pytest.mark.slow
async def test_a_batch_slower_than_its_lease_is_delivered_once_with_two_workers(
    sim: HeapSimulator,
    store: Store,
    http: aiohttp.ClientSession,
    destination: Destination,
    tmp_path: Path,
) -> None:
    # Identifies go one request each, eight at once: 80 at 0.5 s take 5 s, over 2 leases.
    sim.inject(Fault(latency_ms=500, probability=1.0, path="/api/v1/identify"))
    await store.append(identifies(destination, IDENTIFIES))
    other_store = await open_store(f"sqlite:{tmp_path / 'store.db'}")
    other_http = new_http_client(8)
    settings = replace(FAST, lease_seconds=LEASE)
    workers = [
        StoredDelivery(
            worker_store,
            HeapClient(worker_http, RetryPolicy(max_attempts=1), RequestSlots(8)),
            settings,
            name,
        )
        for worker_store, worker_http, name in (
            (store, http, "first"),
            (other_store, other_http, "second"),
        )
    ]
    running = [asyncio.create_task(worker.run()) for worker in workers]
    started = time.monotonic()
    try:
        await wait_until(lambda: all_delivered(store, IDENTIFIES), timeout=30)
    finally:
        for worker in workers:
            await worker.stop(1.0)
        for task in running:
            task.cancel()
        await other_store.close()
        await other_http.close()

    took = time.monotonic() - started
    sent = Counter(a.body["identity"] for a in sim.attempts() if isinstance(a.body, dict))
    assert took > 2 * LEASE, "the batch did not outlast its lease"
    assert sent == {f"user-{n}": 1 for n in range(IDENTIFIES)}
