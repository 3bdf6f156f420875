"""Stored delivery from a real SQLite store to the real simulator: the fixtures (see
conftest.py) and helpers its tests share."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp

from heap_destination.delivery.heap.client import HeapClient
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.domain.track import TrackInput, prepare_track
from heap_destination.durable.delivery import StoredDelivery, StoredDeliverySettings
from heap_destination.durable.work import Origin, track_work
from heap_destination.sim import HeapSimulator
from heap_destination.store import Budget, NewItem, Store

APP = "1234567890"
NO_BUDGET = Budget(None, None, 60.0)
FAST = StoredDeliverySettings(
    idle_poll=0.02, initial_backoff=0.05, max_backoff=0.2, attempt_timeout=5.0, budget=NO_BUDGET
)


@asynccontextmanager
async def running_delivery(
    store: Store, http: aiohttp.ClientSession, **settings: Any
) -> AsyncIterator[StoredDelivery]:
    """A worker delivering from `store` for the block, with FAST changed by `settings`."""
    client = HeapClient(http, RetryPolicy(max_attempts=1), RequestSlots(8))
    worker = StoredDelivery(store, client, replace(FAST, **settings), "test-worker")
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        await worker.stop(1.0)
        task.cancel()


def tracks(destination: Destination, count: int, users: int = 10, **fields: Any) -> list[NewItem]:
    items: list[NewItem] = []
    for n in range(count):
        track = prepare_track(
            TrackInput(
                user_id=fields.get("user_id", f"user-{n % users}"),
                event="Signed Up",
                properties={"n": n, "plan": {"name": "pro"}},
                message_id=f"m-{n}",
            ),
            destination,
        )
        items += track_work(destination, track, Origin(time.time(), f"m-{n}"))
    return items


def sent_events(sim: HeapSimulator) -> list[dict[str, Any]]:
    return [e for r in sim.accepted() if r.path == "/api/track" for e in r.body["events"]]


async def wait_until(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    give_up = time.monotonic() + timeout
    while not await _holds(condition):
        assert time.monotonic() < give_up, "condition not met in time"
        await asyncio.sleep(0.02)


async def _holds(condition: Callable[[], Any]) -> bool:
    result = condition()
    if asyncio.iscoroutine(result):
        result = await result
    return bool(result)


async def statuses(store: Store, count: int) -> list[str]:
    return [item.status for n in range(count) for item in await store.status(f"m-{n}")]


async def all_delivered(store: Store, count: int) -> bool:
    return set(await statuses(store, count)) == {"delivered"}
