"""Watches the durable store: health, backlog metrics, and pruning of old history."""

import asyncio
import logging
import time
from contextlib import suppress

from heap_destination.app.health_reasons import STORE_UNREACHABLE, HealthReasons
from heap_destination.metrics import (
    PAUSED_APPS,
    STORE_REACHABLE,
    STORED_BACKLOG,
    STORED_OLDEST_AGE,
    export_store_reachable,
)
from heap_destination.store import Store

log = logging.getLogger(__name__)

# Seconds between looks at the store, and between prunes of finished history.
CHECK_INTERVAL = 5.0
PRUNE_INTERVAL = 60.0


class StoreMonitor:
    def __init__(
        self,
        store: Store,
        health: HealthReasons,
        history_retention: float,
        check_interval: float = CHECK_INTERVAL,
    ) -> None:
        self._store = store
        self._health = health
        self._history_retention = history_retention
        self._check_interval = check_interval
        self._reachable = True
        self._last_prune = 0.0
        self._wakeup = asyncio.Event()
        export_store_reachable()

    async def run(self) -> None:
        """Checks until cancelled. While the store cannot be reached or take commits (a
        damaged file), health is NOT_SERVING, so load balancers send callers elsewhere."""
        while True:
            await self.check()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._check_interval)
            self._wakeup.clear()

    def wake(self) -> None:
        """A commit failed in a way the next check will see: check now, not in up to
        `check_interval` seconds. Only while serving: once NOT_SERVING, the regular checks
        find when it can serve again."""
        if self._reachable:
            self._wakeup.set()

    async def check(self) -> None:
        try:
            async with asyncio.timeout(self._check_interval):
                await self._store.check()
                backlog = await self._store.backlog()
                if time.monotonic() - self._last_prune >= PRUNE_INTERVAL:
                    pruned = await self._store.prune(time.time() - self._history_retention)
                    self._last_prune = time.monotonic()
                    if pruned:
                        log.info("pruned delivery history", extra={"events": pruned})
        except Exception as error:
            await self._set_reachable(reachable=False, error=error)
            return
        await self._set_reachable(reachable=True, error=None)
        STORED_BACKLOG.clear()
        STORED_OLDEST_AGE.clear()
        for app in backlog:
            STORED_BACKLOG.labels(app.app_id).set(app.undelivered)
            STORED_OLDEST_AGE.labels(app.app_id).set(app.oldest_age_seconds)
        PAUSED_APPS.set(sum(1 for app in backlog if app.paused))

    async def _set_reachable(self, *, reachable: bool, error: BaseException | None) -> None:
        STORE_REACHABLE.set(1 if reachable else 0)
        if reachable == self._reachable:
            return
        self._reachable = reachable
        if reachable:
            log.info("the store takes events again")
        else:
            log.error("the store cannot take events; health is NOT_SERVING: %s", error)
        await self._health.update(STORE_UNREACHABLE, holds=not reachable)
