"""Gathers items for one Heap bulk endpoint into requests of up to `max_batch` items.

A request goes out when it is full, or `linger` seconds after its first item, whether or
not another request is still waiting for Heap: the callers of unary calls and HTTP
requests each wait on their own answer, and should not wait for another's as well. While
a stream keeps feeding a batch (items submitted `from_stream`, the last one less than 5
lingers ago), it waits up to 100 lingers to fill: a busy CPU then delays the stream's
next events, not the batch's fill. Up to `max_in_flight` requests are outstanding at once.

When Heap rejects a request for its content (400, 413, 422), it is split in halves until
the rejected items are isolated, so every good item is still delivered and only the bad
ones fail. Other rejections (401, 403, 404: the app, not the events) fail the whole batch.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic

from heap_destination.delivery.errors import DeliveryError, HeapRejected
from heap_destination.delivery.heap.trace_links import carrying
from heap_destination.delivery.outcomes import Answer, Item, Pending, future_answer, stopped
from heap_destination.metrics import QUEUE_DEPTH

# A partial batch waits at most this many lingers for a stream that keeps feeding it.
_FED_HOLD_LINGERS = 100
# A stream still feeds a batch if its last item came less than this many lingers ago:
# on a busy CPU, reading the stream's next message can take a few lingers.
_FED_LINGERS = 5

SendBulk = Callable[[list[Item], float, str], Awaitable[None]]
"""Sends one bulk request of items with a monotonic deadline, in a caller's turn for the
service's request slots; raises DeliveryError."""


class BulkBatcher(Generic[Item]):
    def __init__(
        self, send: SendBulk[Item], max_batch: int, linger: float, max_in_flight: int
    ) -> None:
        self._send = send
        self._max_batch = max_batch
        self._linger = linger
        self._max_fed_hold = max(linger, _FED_HOLD_LINGERS * linger)
        self._fed_at = float("-inf")
        self._slots = asyncio.Semaphore(max_in_flight)
        self._batch: list[Pending[Item]] = []
        self._batch_started = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        # A finished task is done() at once; it leaves `tasks` only a loop turn later.
        return not self._batch and all(task.done() for task in self.tasks)

    def submit(
        self, item: Item, deadline: float, caller: str = "", *, from_stream: bool = False
    ) -> asyncio.Future[None]:
        """Queues `item`; the future resolves when Heap accepted it, or fails.

        A request waits for the service's request slots in the turn of its first item's
        caller. `from_stream`: the item comes from a stream, which reads on."""
        future, answer = future_answer()
        self.add(item, deadline, caller, answer, from_stream=from_stream)
        return future

    def add(
        self,
        item: Item,
        deadline: float,
        caller: str,
        answer: Answer,
        *,
        from_stream: bool = False,
    ) -> None:
        """submit, telling `answer` the outcome instead of resolving a future."""
        now = time.monotonic()
        if from_stream:
            self._fed_at = now
        if not self._batch:
            self._batch_started = now
        self._batch.append(Pending(item, deadline, caller, answer))
        QUEUE_DEPTH.value += 1
        if len(self._batch) >= self._max_batch:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._linger_over)

    def _fed(self, now: float) -> bool:
        """Whether a stream still feeds the batch, and it may wait for it a linger more."""
        return (
            now - self._fed_at < _FED_LINGERS * self._linger
            and now - self._batch_started + self._linger <= self._max_fed_hold
        )

    def _linger_over(self) -> None:
        self._timer = None
        if self._fed(time.monotonic()):
            self._timer = asyncio.get_running_loop().call_later(self._linger, self._linger_over)
        else:
            self.flush()

    def flush(self) -> None:
        """Sends what has gathered now, without waiting for the linger."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._batch:
            batch, self._batch = self._batch, []
            QUEUE_DEPTH.value -= len(batch)
            task = asyncio.create_task(self._deliver(batch))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            # A task cancelled before it first ran never enters _deliver: fail its items here.
            task.add_done_callback(lambda _: _settle(batch, stopped()))

    def cancel(self) -> None:
        """Stops sending; every item not yet answered fails with HeapUnavailable."""
        self.flush()
        for task in list(self.tasks):
            task.cancel()

    async def _deliver(self, batch: list[Pending[Item]]) -> None:
        try:
            async with self._slots:
                with carrying(p.call for p in batch):
                    await self._send(
                        [p.item for p in batch], max(p.deadline for p in batch), batch[0].caller
                    )
        except HeapRejected as rejection:
            if len(batch) == 1 or not rejection.about_the_content:
                _settle(batch, rejection)
                return
            middle = len(batch) // 2
            await asyncio.gather(self._deliver(batch[:middle]), self._deliver(batch[middle:]))
        except DeliveryError as error:
            _settle(batch, error)
        except asyncio.CancelledError:
            _settle(batch, stopped())
            raise
        else:
            _settle(batch, None)


def _settle(batch: list[Pending[Item]], error: BaseException | None) -> None:
    for pending in batch:
        pending.settle(error)
