"""Bounds on events taken but not yet answered, in events and in bytes, so that memory
stays bounded under any load.

Bytes are the events' serialized size; the memory an event takes while in flight is a
small multiple of it (see docs/delivery.md, the memory bound). One event larger than a bound is
still taken when nothing else is in flight, so no event can wait forever.
"""

import asyncio

from heap_destination.metrics import IN_FLIGHT_BYTES, IN_FLIGHT_EVENTS


class InFlightLimit:
    """The service-wide bound, shared by unary calls and every stream."""

    def __init__(self, events: int, bytes_: int) -> None:
        self.events = events
        self.bytes = bytes_
        self.count = 0
        self.size = 0
        self._changed: asyncio.Future[None] | None = None

    def has_room(self, size: int) -> bool:
        return self.count == 0 or (self.count < self.events and self.size + size <= self.bytes)

    def has_room_for(self, events: int, size: int) -> bool:
        """Whether `events` more of `size` bytes in all fit (as has_room for one)."""
        return self.count == 0 or (
            self.count + events <= self.events and self.size + size <= self.bytes
        )

    def take(self, size: int) -> None:
        self.count += 1
        self.size += size
        IN_FLIGHT_EVENTS.value += 1
        IN_FLIGHT_BYTES.value += size

    def give_back(self, size: int) -> None:
        self.count -= 1
        self.size -= size
        IN_FLIGHT_EVENTS.value -= 1
        IN_FLIGHT_BYTES.value -= size
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

    def __init__(self, shared: InFlightLimit, events: int, bytes_: int) -> None:
        self._shared = shared
        self.events = events
        self.bytes = bytes_
        self.count = 0
        self.size = 0

    def has_room(self, size: int) -> bool:
        mine = self.count == 0 or (self.count < self.events and self.size + size <= self.bytes)
        return mine and self._shared.has_room(size)

    async def wait_for_room(self, size: int) -> None:
        """Waits while this stream or the whole service has no room for `size` more bytes.

        While it waits the stream reads nothing, so gRPC flow control slows the producer.
        """
        while not self.has_room(size):
            await self._shared.changed()

    def take(self, size: int) -> None:
        self.count += 1
        self.size += size
        self._shared.take(size)

    def give_back(self, size: int) -> None:
        self.count -= 1
        self.size -= size
        self._shared.give_back(size)
