"""Gathers items for one Heap bulk endpoint into requests of up to `max_batch` items.

A request goes out when it is full or `linger` seconds after its first item, whichever
comes first; up to `max_in_flight` requests are outstanding at once. When Heap rejects a
request permanently, it is split in halves until the rejected items are isolated, so
every good item is still delivered and only the bad ones fail.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from heap_destination.delivery.errors import DeliveryError, HeapRejected, HeapUnavailable
from heap_destination.delivery.futures import mark_retrieved

Item = TypeVar("Item")
SendBulk = Callable[[list[Item], float], Awaitable[None]]
"""Sends one bulk request of items with a monotonic deadline; raises DeliveryError."""


@dataclass
class _Pending(Generic[Item]):
    item: Item
    deadline: float
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class BulkBatcher(Generic[Item]):
    def __init__(
        self, send: SendBulk[Item], max_batch: int, linger: float, max_in_flight: int
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._linger = linger
        self._slots = asyncio.Semaphore(max_in_flight)
        self._batch: list[_Pending[Item]] = []
        self._timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, item: Item, deadline: float) -> asyncio.Future[None]:
        """Queues `item`; the future resolves when Heap accepted it, or fails."""
        pending = _Pending(item, deadline)
        pending.future.add_done_callback(mark_retrieved)
        self._batch.append(pending)
        if len(self._batch) >= self._max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self.flush)
        return pending.future

    def flush(self) -> None:
        """Sends what has gathered now, without waiting for the linger."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch:
            batch, self._batch = self._batch, []
            task = asyncio.create_task(self._deliver(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def cancel(self) -> None:
        """Stops sending; every item not yet answered fails with HeapUnavailable."""
        self.flush()
        for task in list(self.tasks):
            task.cancel()

    async def _deliver(self, batch: list[_Pending[Item]]) -> None:
        try:
            async with self._slots:
                await self._send([p.item for p in batch], max(p.deadline for p in batch))
        except HeapRejected as rejection:
            if len(batch) == 1:
                _settle(batch, rejection)
                return
            middle = len(batch) // 2
            await asyncio.gather(self._deliver(batch[:middle]), self._deliver(batch[middle:]))
        except DeliveryError as error:
            _settle(batch, error)
        except asyncio.CancelledError:
            _settle(batch, HeapUnavailable("the service stopped before Heap answered"))
            raise
        else:
            _settle(batch, None)


def _settle(batch: list[_Pending[Item]], error: BaseException | None) -> None:
    for pending in batch:
        if pending.future.done():
            continue
        if error is None:
            pending.future.set_result(None)
        else:
            pending.future.set_exception(error)
