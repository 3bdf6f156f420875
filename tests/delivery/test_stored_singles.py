"""Stored track events past the bulk budget, as single-event requests: from a real SQLite
store to the real simulator over HTTP, which enforces Heap's documented limits."""

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import aiohttp

from heap_destination.delivery.heap.bodies import TRACK_PATH
from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.durable.singles import (
    StoredSingles,
    StoredSinglesSettings,
    ledger_key,
)
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.sim.rate_limits import RateLimits
from heap_destination.store import Budget, Store
from tests.delivery.stored_support import all_delivered, statuses, tracks, wait_until

BULK = Budget(100, None, 60.0)
SINGLES = StoredSinglesSettings()
# A single-event request's body, not a bulk one's: its identity follows the app_id.
SINGLE_BODY = '"app_id":"1234567890","identity"'


def heap_limits() -> RateLimits:
    """Heap's documented limits, with the app's bulk limit at 100 events a minute."""
    return RateLimits(events_per_minute_per_app=100, requests_per_30s_per_identity=30)


def keys_by_path(sim: HeapSimulator) -> tuple[list[str], list[str]]:
    """Idempotency keys Heap accepted in bulk requests, and in single-event requests."""
    bulk: list[str] = []
    single: list[str] = []
    for request in sim.accepted():
        if request.path != TRACK_PATH:
            continue
        if "events" in request.body:
            bulk += [event["idempotency_key"] for event in request.body["events"]]
        else:
            single.append(request.body["idempotency_key"])
    return bulk, single


async def test_past_the_bulk_budget_stored_events_go_as_single_event_requests(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.set_rate_limits(heap_limits())
    await store.append(tracks(destination, 400, users=50))

    async with deliver(budget=BULK, single_events=SINGLES):
        await wait_until(lambda: all_delivered(store, 400), timeout=20)

    bulk, single = keys_by_path(sim)
    assert len(bulk) == 100
    assert len(single) == 300
    assert sorted(bulk + single) == sorted(f"m-{n}" for n in range(400))
    assert not [a for a in sim.attempts() if a.status == 429]
    [request] = [r for r in sim.accepted() if r.body.get("idempotency_key") == single[0]]
    n = int(single[0].removeprefix("m-"))
    assert request.body["app_id"] == destination.app_id
    assert request.body["identity"] == f"user-{n % 50}"
    assert request.body["properties"] == {"n": n, "plan.name": "pro"}
    assert request.body["timestamp"].endswith("Z")


async def test_an_identity_gets_at_most_its_single_event_limit_and_the_rest_waits(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.set_rate_limits(heap_limits())
    await store.append(tracks(destination, 200, users=1))

    async with deliver(budget=BULK, single_events=SINGLES):
        await wait_until(lambda: len(keys_by_path(sim)[1]) == 30)
        await wait_until(lambda: _ledger_settled(store, destination))

    bulk, single = keys_by_path(sim)
    assert (len(bulk), len(single)) == (100, 30)
    assert Counter(await statuses(store, 200)) == {"delivered": 130, "stored": 70}
    assert not [a for a in sim.attempts() if a.status == 429]


async def _ledger_settled(store: Store, destination: Destination) -> bool:
    """Whether the single-event ledger counts the identity's 30 requests as used."""
    reservation = await store.reserve(ledger_key(destination.app_id), {"user-0": 1}, SINGLES.budget)
    await store.refund(reservation.id)
    return reservation.granted["user-0"] == 0


async def test_a_single_event_heap_rejects_is_dead_lettered_alone(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.set_rate_limits(heap_limits())
    # user-49's events come last in the batch: past the bulk budget, so sent alone.
    sim.inject(Fault(status=400, body_contains='"idempotency_key":"m-199"', count=1))
    await store.append(tracks(destination, 200, users=50))

    async with deliver(budget=BULK, single_events=SINGLES):
        await wait_until(lambda: _settled_as(store, {"delivered": 199, "dead": 1}))

    [dead] = await store.status("m-199")
    assert (dead.status, dead.heap_status) == ("dead", 400)
    bulk, single = keys_by_path(sim)
    assert "m-199" not in bulk
    assert sorted(bulk + single) == sorted(f"m-{n}" for n in range(199))


async def _settled_as(store: Store, counts: dict[str, int]) -> bool:
    return Counter(await statuses(store, 200)) == counts


async def test_single_event_requests_heap_throttles_are_retried_until_delivered(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.set_rate_limits(heap_limits())
    sim.inject(Fault(status=429, retry_after="0", count=5, body_contains=SINGLE_BODY))
    await store.append(tracks(destination, 150, users=50))

    async with deliver(budget=BULK, single_events=SINGLES):
        await wait_until(lambda: all_delivered(store, 150), timeout=20)

    bulk, single = keys_by_path(sim)
    assert sorted(bulk + single) == sorted(f"m-{n}" for n in range(150))
    assert len(single) == 50
    assert len([a for a in sim.attempts() if a.status == 429]) == 5


async def test_no_single_event_request_starts_after_the_batchs_start_deadline(
    sim: HeapSimulator, store: Store, destination: Destination, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(latency_ms=300, probability=1.0))
    await store.append(tracks(destination, 3, users=3))
    items = await store.claim("worker", 10, 60.0)
    client = HeapClient(http, RetryPolicy(max_attempts=1), RequestSlots(8))
    singles = StoredSingles(store, client, replace(SINGLES, max_in_flight=1), "test")

    outcome = await singles.send(items, time.monotonic() + 0.1, request_time=5.0)
    too_late = await singles.send(items, time.monotonic(), request_time=5.0)

    assert [item.message_id for item, _ in outcome.delivered] == ["m-0"]
    assert [item.message_id for item in outcome.unsent] == ["m-1", "m-2"]
    assert [item.message_id for item in too_late.unsent] == ["m-0", "m-1", "m-2"]
    assert len(sim.attempts()) == 1


async def test_a_single_event_request_heap_may_have_received_counts_against_the_identity(
    sim: HeapSimulator, store: Store, destination: Destination, http: aiohttp.ClientSession
) -> None:
    sim.inject(Fault(latency_ms=1000, count=1))
    await store.append(tracks(destination, 1))
    items = await store.claim("worker", 10, 60.0)
    client = HeapClient(http, RetryPolicy(max_attempts=1), RequestSlots(8))
    singles = StoredSingles(store, client, SINGLES, "test")
    before = await _single_room(store, destination)

    outcome = await singles.send(items, time.monotonic() + 5, request_time=0.2)

    assert [failure.maybe_received for _, failure in outcome.failed] == [True]
    assert await _single_room(store, destination) == before - 1


async def _single_room(store: Store, destination: Destination) -> int:
    """The single-event requests user-0 may still send in the window."""
    reservation = await store.reserve(
        ledger_key(destination.app_id), {"user-0": 30}, SINGLES.budget
    )
    await store.refund(reservation.id)
    return reservation.granted["user-0"]
