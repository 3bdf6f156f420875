"""One identity's backlog past its own bulk limit does not hold back the app's other
identities: a real SQLite store, the real simulator enforcing the same limits."""

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from heap_destination.domain.destination import Destination
from heap_destination.sim import HeapSimulator
from heap_destination.sim.rate_limits import RateLimits
from heap_destination.store import Budget, Store
from tests.delivery.stored_support import sent_events, tracks, wait_until

PER_IDENTITY = 1000
WINDOW = 60.0


async def test_a_quiet_identity_is_delivered_within_the_window_behind_a_noisy_backlog(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.set_rate_limits(
        RateLimits(events_per_minute_per_identity=PER_IDENTITY, window_seconds=WINDOW)
    )
    await store.append(tracks(destination, 20_000, user_id="noisy"))
    await store.append(tracks(destination, 1, user_id="quiet"))
    started = time.monotonic()

    async with deliver(budget=Budget(15_000, PER_IDENTITY, WINDOW)):
        await wait_until(lambda: "quiet" in _identities(sim), timeout=WINDOW / 2)

    took = time.monotonic() - started
    print(f"\nthe quiet identity's event was delivered after {took:.1f} s")
    assert _identities(sim) == {"noisy": PER_IDENTITY, "quiet": 1}
    assert not [a for a in sim.attempts() if a.status == 429]


def _identities(sim: HeapSimulator) -> Counter[str]:
    return Counter(str(event["identity"]) for event in sent_events(sim))
