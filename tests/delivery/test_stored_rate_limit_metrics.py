"""Stored events that Heap's rate limits hold back in the store are counted by app_id
(heap_destination_rate_limited_events_total{path="stored"}), and those Heap took by
app_id and endpoint (heap_destination_heap_events_total): a real SQLite store, the real
simulator."""

from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY

from heap_destination.delivery.heap.bodies import TRACK_PATH
from heap_destination.domain.destination import Destination
from heap_destination.sim import HeapSimulator
from heap_destination.store import Budget, Store
from tests.delivery.stored_support import sent_events, tracks, wait_until

PER_APP = 5
WINDOW = 60.0


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_events_past_the_apps_budget_are_counted_held_back_and_the_rest_delivered(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    app_id = destination.app_id
    held_before = sample("heap_destination_rate_limited_events_total", app_id=app_id, path="stored")
    delivered_before = sample(
        "heap_destination_heap_events_total",
        app_id=app_id,
        endpoint=TRACK_PATH,
        outcome="delivered",
    )
    await store.append(tracks(destination, 8))

    async with deliver(budget=Budget(PER_APP, None, WINDOW)):
        await wait_until(lambda: len(sent_events(sim)) == PER_APP, timeout=10)
        await wait_until(
            lambda: (
                sample("heap_destination_rate_limited_events_total", app_id=app_id, path="stored")
                >= held_before + 3
            ),
            timeout=10,
        )

    assert len(sent_events(sim)) == PER_APP
    delivered = sample(
        "heap_destination_heap_events_total",
        app_id=app_id,
        endpoint=TRACK_PATH,
        outcome="delivered",
    )
    assert delivered - delivered_before == PER_APP
