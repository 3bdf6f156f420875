"""Items that go to Heap one per request (identify bindings; track events on Heap's
single-event API), sent in turn by at most `max_in_flight` workers per endpoint.

Unlike a task per item, the queue keeps each waiting item as a small record, and an item
whose deadline passed while it waited fails without a request.
"""

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Generic

from heap_destination.delivery.errors import HeapUnavailable
from heap_destination.delivery.heap.trace_links import carrying
from heap_destination.delivery.outcomes import Answer, Item, Pending, future_answer, stopped

SendOne = Callable[[Item, float, str], Awaitable[None]]
"""Sends one item with a monotonic deadline for a caller; raises DeliveryError."""


class RequestPerItem(Generic[Item]):
    def __init__(self, send: SendOne[Item], max_in_flight: int) -> None:
        self._send = send
        self._max_in_flight = max_in_flight
        self._queue: deque[Pending[Item]] = deque()
        self._working = 0
        """Workers started and not past their last look at the queue."""
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        return not self._queue and self._working == 0

    def submit(self, item: Item, deadline: float, caller: str) -> asyncio.Future[None]:
        """Queues `item`; the future resolves when Heap accepted it, or fails."""
        future, answer = future_answer()
        self.add(item, deadline, caller, answer)
        return future

    def add(self, item: Item, deadline: float, caller: str, answer: Answer) -> None:
        """submit, telling `answer` the outcome instead of resolving a future."""
        self._queue.append(Pending(item, deadline, caller, answer))
        if self._working < self._max_in_flight:
            self._working += 1
            # Holds True until the worker is counted off: by itself as it stops looking at
            # the queue, or, if it was cancelled before it first ran, once done.
            counted = [True]
            task = asyncio.create_task(self._work(counted))
            self.tasks.add(task)
            task.add_done_callback(partial(self._worker_done, counted))

    def _worker_done(self, counted: list[bool], task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self._count_off(counted)

    def _count_off(self, counted: list[bool]) -> None:
        if counted:
            counted.clear()
            self._working -= 1

    def cancel(self) -> None:
        """Stops sending; every item not yet answered fails with HeapUnavailable."""
        for task in list(self.tasks):
            task.cancel()
        while self._queue:
            self._queue.popleft().settle(stopped())

    async def _work(self, counted: list[bool]) -> None:
        try:
            await self._take_from_queue()
        finally:
            self._count_off(counted)

    async def _take_from_queue(self) -> None:
        while self._queue:
            pending = self._queue.popleft()
            if pending.settled:
                continue
            if pending.deadline <= time.monotonic():
                pending.settle(HeapUnavailable("no time left to deliver to Heap"))
                continue
            try:
                with carrying([pending.call]):
                    await self._send(pending.item, pending.deadline, pending.caller)
            except asyncio.CancelledError:
                pending.settle(stopped())
                raise
            except Exception as error:  # a DeliveryError, or a surprise answered as one
                pending.settle(error)
            else:
                pending.settle(None)
