"""Which of the configured worker processes serve, in memory the parent and its workers
share: a worker marks its place once it serves, the parent clears the place when that
worker dies. Each worker reads every place to answer health: NOT_SERVING while a place
is empty, so a load balancer sends callers elsewhere while capacity is missing."""

import asyncio
from dataclasses import dataclass
from multiprocessing.context import SpawnContext

from heap_destination.app.health_reasons import WORKERS_MISSING, HealthReasons

# Seconds between a worker's looks at the places: how soon health follows a death.
POLL_INTERVAL = 0.1


class ServingWorkers:
    def __init__(self, context: SpawnContext, count: int) -> None:
        # One byte per worker, each written by one process at a time: no lock needed.
        self._places = context.Array("b", count, lock=False)

    def mark_serving(self, index: int) -> None:
        self._places[index] = 1

    def clear(self, index: int) -> None:
        self._places[index] = 0

    def serves(self, index: int) -> bool:
        return bool(self._places[index])

    def all_serve(self) -> bool:
        return all(self._places)


@dataclass(frozen=True)
class WorkerPlace:
    """One worker's view: its own place and everyone's."""

    workers: ServingWorkers
    index: int

    def mark_serving(self) -> None:
        self.workers.mark_serving(self.index)

    async def show_in_health(self, health: HealthReasons) -> None:
        """Holds WORKERS_MISSING while a place is empty, drops it once none is."""
        await health.update(WORKERS_MISSING, holds=not self.workers.all_serve())

    async def follow_in_health(self, health: HealthReasons) -> None:
        """show_in_health every POLL_INTERVAL, until cancelled."""
        while True:
            await self.show_in_health(health)
            await asyncio.sleep(POLL_INTERVAL)
