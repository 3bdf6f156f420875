"""Keeps delivery under Heap's documented rate limits; excess waits, it is never dropped.

Heap counts the events it accepted within a sliding window. The service cannot see
Heap's clock, so it counts an event from the moment it is admitted until one window
after Heap's answer for it: whenever Heap received it, Heap's window then holds no more
than the service's.
"""

import asyncio
import time
from collections import deque
from dataclasses import dataclass

_POLL = 0.01
_PRUNE_EVERY = 10_000


@dataclass(frozen=True)
class RateLimitSettings:
    """Heap's bulk-track limits by default (per app_id; per identity within an app_id)."""

    events_per_window_per_app: int | None = 15_000
    events_per_window_per_identity: int | None = 1_000
    window_seconds: float = 60.0

    @property
    def enabled(self) -> bool:
        return bool(self.events_per_window_per_app or self.events_per_window_per_identity)


class _Window:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.in_flight = 0
        self.settled = 0
        self._expiries: deque[tuple[float, int]] = deque()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more event fits (0 if it fits now); _POLL when only an answer
        from Heap can free room."""
        self._expire(now)
        excess = self.in_flight + self.settled + 1 - self.limit
        if excess <= 0:
            return 0.0
        for expires_at, count in self._expiries:
            excess -= count
            if excess <= 0:
                return max(expires_at - now, _POLL)
        return _POLL

    def settle(self, *, accepted: bool, now: float) -> None:
        self.in_flight -= 1
        if accepted:
            if self._expiries and self._expiries[-1][0] == now + self.seconds:
                expiry, count = self._expiries.pop()
                self._expiries.append((expiry, count + 1))
            else:
                self._expiries.append((now + self.seconds, 1))
            self.settled += 1

    def is_idle(self, now: float) -> bool:
        self._expire(now)
        return self.in_flight == 0 and self.settled == 0

    def _expire(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            self.settled -= self._expiries.popleft()[1]


class RateLimiter:
    def __init__(self, settings: RateLimitSettings) -> None:
        self.settings = settings
        self._windows: dict[tuple[str, ...], _Window] = {}
        self._settled_since_prune = 0

    def try_admit(self, app_id: str, identity: str) -> bool:
        """Admits one more event for `identity` in `app_id` if it fits every limit now."""
        return self._wait_or_admit(self._windows_for(app_id, identity)) == 0

    async def admit(self, app_id: str, identity: str) -> None:
        """Waits until one more event for `identity` in `app_id` fits every limit."""
        windows = self._windows_for(app_id, identity)
        while (wait := self._wait_or_admit(windows)) > 0:
            await asyncio.sleep(wait)

    @staticmethod
    def _wait_or_admit(windows: list[_Window]) -> float:
        """Admits the event and returns 0 when it fits every window; else the wait needed."""
        now = time.monotonic()
        wait = 0.0
        for window in windows:
            needed = window.wait_needed(now)
            if needed > wait:
                wait = needed
        if wait == 0:
            for window in windows:
                window.in_flight += 1
        return wait

    def settle(self, app_id: str, identity: str, accepted: bool) -> None:
        """Records Heap's answer for an admitted event (or that it was given up)."""
        now = time.monotonic()
        for window in self._windows_for(app_id, identity):
            window.settle(accepted=accepted, now=now)
        self._settled_since_prune += 1
        if self._settled_since_prune >= _PRUNE_EVERY:
            self._settled_since_prune = 0
            self._windows = {k: w for k, w in self._windows.items() if not w.is_idle(now)}

    def _windows_for(self, app_id: str, identity: str) -> list[_Window]:
        windows = []
        for key, limit in (
            ((app_id,), self.settings.events_per_window_per_app),
            ((app_id, identity), self.settings.events_per_window_per_identity),
        ):
            if limit:
                window = self._windows.get(key)
                if window is None:
                    window = self._windows[key] = _Window(limit, self.settings.window_seconds)
                windows.append(window)
        return windows
