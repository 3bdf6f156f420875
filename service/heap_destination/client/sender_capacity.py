"""The sender's bound on events sent or queued without a result yet, in events and bytes."""

import threading
import time

from heap_destination.client.event_errors import SenderFull


class Capacity:
    def __init__(self, max_events: int, max_bytes: int) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError("max_queued_events and max_queued_bytes must be at least 1")
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._events = 0
        self._bytes = 0
        self._changed = threading.Condition()

    def take(self, size: int, timeout: float | None) -> None:
        """Waits until one more event of `size` bytes fits, then counts it. An event larger
        than the whole byte bound fits once nothing else is held. Raises SenderFull when
        `timeout` (seconds) passes first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self._fits(size):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise SenderFull(
                        f"the sender holds {self._events} events ({self._bytes} bytes) "
                        "without a result"
                    )
                self._changed.wait(remaining)
            self._events += 1
            self._bytes += size

    def give_back(self, size: int) -> None:
        with self._changed:
            self._events -= 1
            self._bytes -= size
            self._changed.notify_all()

    def _fits(self, size: int) -> bool:
        if self._events == 0:
            return True
        return self._events < self._max_events and self._bytes + size <= self._max_bytes
