"""A service-wide cap on requests to Heap in flight, granted fairly.

Requests waiting for a slot are grouped by caller, and within a caller by endpoint (a
destination's URL). A freed slot goes to the next caller in turn and, within that
caller, to the next endpoint in turn: a caller with thousands of requests queued for
thousands of apps waits behind its own requests, not in front of everyone else's.
"""

import asyncio
from collections import OrderedDict, deque

_Waiters = OrderedDict[str, deque[asyncio.Future[None]]]


class RequestSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._waiting: OrderedDict[str, _Waiters] = OrderedDict()

    @property
    def in_use(self) -> int:
        return self.limit - self._free

    def try_acquire(self) -> bool:
        """Takes one slot if one is free and nobody waits for it; give it back with
        release()."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return True
        return False

    async def acquire(self, caller: str, endpoint: str) -> None:
        """Takes one slot, waiting for it in turn; give it back with release()."""
        if self.try_acquire():
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(caller, OrderedDict()).setdefault(endpoint, deque()).append(
            granted
        )
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted just as the waiter gave up: pass the slot on
            raise

    def release(self) -> None:
        while self._waiting:
            granted = self._next_waiter()
            if not granted.done():
                granted.set_result(None)
                return
        self._free += 1

    def _next_waiter(self) -> asyncio.Future[None]:
        caller, endpoints = next(iter(self._waiting.items()))
        endpoint, waiters = next(iter(endpoints.items()))
        granted = waiters.popleft()
        if waiters:
            endpoints.move_to_end(endpoint)
        else:
            del endpoints[endpoint]
        if endpoints:
            self._waiting.move_to_end(caller)
        else:
            del self._waiting[caller]
        return granted
