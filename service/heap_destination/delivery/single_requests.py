"""Items that Heap takes one per request (identify bindings), sent in turn by at most
`max_in_flight` workers per endpoint.

Unlike a task per item, the queue keeps each waiting item as a small record, and an item
whose deadline passed while it waited fails without a request.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from heap_destination.delivery.errors import HeapUnavailable
from heap_destination.delivery.futures import mark_retrieved

Item = TypeVar("Item")
SendOne = Callable[[Item, float, str], Awaitable[None]]
"""Sends one item with a monotonic deadline for a caller; raises DeliveryError."""


@dataclass
class _Pending(Generic[Item]):
    item: Item
    deadline: float
    caller: str
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class SingleRequests(Generic[Item]):
    def __init__(self, send: SendOne[Item], max_in_flight: int) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._queue: deque[_Pending[Item]] = deque()
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        return not self._queue and self._working() == 0

    def _working(self) -> int:
        # A finished worker is done() at once; it leaves `tasks` only a loop turn later.
        return sum(not task.done() for task in self.tasks)

    def submit(self, item: Item, deadline: float, caller: str) -> asyncio.Future[None]:
        """Queues `item`; the future resolves when Heap accepted it, or fails."""
        pending = _Pending(item, deadline, caller)
        pending.future.add_done_callback(mark_retrieved)
        self._queue.append(pending)
        if self._working() < self._max_in_flight:
            task = asyncio.create_task(self._work())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return pending.future

    def cancel(self) -> None:
        """Stops sending; every item not yet answered fails with HeapUnavailable."""
        for task in list(self.tasks):
            task.cancel()
        while self._queue:
            _settle(self._queue.popleft(), _stopped())

    async def _work(self) -> None:
        while self._queue:
            pending = self._queue.popleft()
            if pending.future.done():
                continue
            if pending.deadline <= time.monotonic():
                _settle(pending, HeapUnavailable("no time left to deliver to Heap"))
                continue
            try:
                await self._send(pending.item, pending.deadline, pending.caller)
            except asyncio.CancelledError:
                _settle(pending, _stopped())
                raise
            except Exception as error:  # a DeliveryError, or a surprise answered as one
                _settle(pending, error)
            else:
                _settle(pending, None)


def _stopped() -> HeapUnavailable:
    return HeapUnavailable("the service stopped before Heap answered")


def _settle(pending: _Pending[Item], error: Exception | None) -> None:
    if pending.future.done():
        return
    if error is None:
        pending.future.set_result(None)
    else:
        pending.future.set_exception(error)
