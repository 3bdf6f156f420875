"""Bounds on events taken but not yet answered, so memory stays bounded under any load."""

import asyncio

from heap_destination.metrics import IN_FLIGHT_EVENTS


class InFlightLimit:
    """The service-wide bound, shared by unary calls and every stream."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._changed: asyncio.Future[None] | None = None

    def is_full(self) -> bool:
        return self.count >= self.limit

    def take(self, count: int = 1) -> None:
        self.count += count
        IN_FLIGHT_EVENTS.inc(count)

    def give_back(self, count: int = 1) -> None:
        self.count -= count
        IN_FLIGHT_EVENTS.dec(count)
        if self._changed is not None:
            self._changed.set_result(None)
            self._changed = None

    async def changed(self) -> None:
        """Returns after the next give_back."""
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._changed)


class StreamInFlight:
    """One stream's bound, within the service-wide one."""

    def __init__(self, shared: InFlightLimit, limit: int) -> None:
        self._shared = shared
        self.limit = limit
        self.count = 0

    async def wait_for_room(self) -> None:
        """Waits while this stream or the whole service is at its bound.

        While it waits the stream reads nothing, so gRPC flow control slows the producer.
        """
        while self.count >= self.limit or self._shared.is_full():
            await self._shared.changed()

    def take(self) -> None:
        self.count += 1
        self._shared.take()

    def give_back(self) -> None:
        self.count -= 1
        self._shared.give_back()
