"""A replayed dead letter, delivered from a real SQLite store to the real simulator."""

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from heap_destination.domain.destination import Destination
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.store import Store
from tests.delivery.stored_support import tracks, wait_until


async def test_a_replayed_dead_letter_gets_a_whole_retry_age_from_its_replay(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    accepted_long_ago = time.time() - 7200
    items = [replace(item, accepted_at=accepted_long_ago) for item in tracks(destination, 1)]
    [item_id] = await store.append(items)
    await store.claim("worker-a", 1, 30.0)
    await store.mark_dead([item_id], "not delivered within 1 h: Heap answered 503", 503, "")
    assert await store.replay_dead(None, item_id=item_id) == 1
    sim.inject(Fault(status=500, count=1))

    async with deliver(max_retry_age=3600.0):
        await wait_until(lambda: _delivered(store, item_id))

    [item] = await store.status(item_id=item_id)
    assert (item.status, item.attempts) == ("delivered", 2)
    assert [attempt.status for attempt in sim.attempts()] == [500, 200]


async def _delivered(store: Store, item_id: int) -> bool:
    return [item.status for item in await store.status(item_id=item_id)] == ["delivered"]
