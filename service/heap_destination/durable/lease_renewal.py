"""Leases renewed while a batch is still being worked on, so that a slow Heap never makes
a batch look abandoned and another process claim and send it again."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress

from heap_destination.store import Store

log = logging.getLogger(__name__)

# Renewals per lease: a lease survives one renewal that fails (the store briefly away).
RENEWALS_PER_LEASE = 3


@asynccontextmanager
async def leases_renewed(
    store: Store, ids: Sequence[int], worker: str, lease_seconds: float
) -> AsyncIterator[None]:
    """Renews the lease of `worker` on `ids` every third of `lease_seconds` during the
    block; items it no longer holds (finished, released, taken over) are left alone."""
    renewing = asyncio.create_task(_renew(store, list(ids), worker, lease_seconds))
    try:
        yield
    finally:
        renewing.cancel()
        with suppress(asyncio.CancelledError):
            await renewing


async def _renew(store: Store, ids: list[int], worker: str, lease_seconds: float) -> None:
    while True:
        await asyncio.sleep(lease_seconds / RENEWALS_PER_LEASE)
        try:
            if await store.renew_leases(ids, worker, lease_seconds) == 0:
                return
        except Exception as error:
            log.warning("renewing the lease of a batch failed: %s", error)
