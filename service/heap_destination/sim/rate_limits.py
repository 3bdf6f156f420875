"""Optional sliding-window rate limits, counting only accepted requests and events."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from heap_destination.sim.usage import RequestUsage

MINUTE = 60.0


@dataclass(frozen=True)
class RateLimits:
    """Limits to enforce; None means no limit of that kind."""

    events_per_minute_per_app: int | None = None
    events_per_minute_per_identity: int | None = None
    requests_per_30s_per_identity: int | None = None
    window_seconds: float = MINUTE
    """How long Heap's "minute" is; shorter in tests. The request window is half of it."""
    single_events_count_against_app: bool = False
    """Heap documents the per-app and per-identity event limits for bulk requests only, and
    only the per-identity request limit for single events; true also counts single events
    against the event limits, to test a client that must adapt if Heap does."""

    def __post_init__(self) -> None:
        if (
            isinstance(self.window_seconds, bool)
            or not isinstance(self.window_seconds, int | float)
            or self.window_seconds <= 0
        ):
            raise ValueError("window_seconds: must be a positive number")
        if not isinstance(self.single_events_count_against_app, bool):
            raise ValueError("single_events_count_against_app: must be true or false")
        for spec in fields(self):
            if spec.name in ("window_seconds", "single_events_count_against_app"):
                continue
            value = getattr(self, spec.name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{spec.name}: must be an integer")
            if value is not None and value < 1:
                raise ValueError(f"{spec.name}: must be at least 1")

    @classmethod
    def from_json(cls, data: object) -> RateLimits:
        """Builds limits from a parsed JSON body; raises ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("body: must be a JSON object")
        known = {spec.name for spec in fields(cls)}
        for name in data:
            if name not in known:
                raise ValueError(f"{name}: unknown field")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


@dataclass(frozen=True)
class Rejection:
    exceeded: tuple[str, ...]
    """Names of the limits the request would exceed, e.g. `events_per_minute_per_app`."""
    retry_after_seconds: int


class SlidingWindow:
    """Per-key amounts admitted within the last `seconds`, never exceeding `limit`."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds = seconds
        self.limit = limit
        self._entries: dict[str, deque[tuple[float, int]]] = {}
        self._totals: dict[str, int] = {}

    def wait_needed(self, key: str, amount: int, now: float) -> float:
        """Seconds until `amount` more fits for `key`; 0 when it fits now."""
        self._expire(key, now)
        total = self._totals.get(key, 0)
        if total + amount <= self.limit:
            return 0.0
        if amount > self.limit:
            return self.seconds
        for added_at, added in self._entries[key]:
            total -= added
            if total + amount <= self.limit:
                return added_at + self.seconds - now
        return self.seconds  # unreachable: the loop frees everything, and amount fits alone

    def add(self, key: str, amount: int, now: float) -> None:
        self._entries.setdefault(key, deque()).append((now, amount))
        self._totals[key] = self._totals.get(key, 0) + amount

    def _expire(self, key: str, now: float) -> None:
        entries = self._entries.get(key)
        while entries and entries[0][0] + self.seconds <= now:
            self._totals[key] -= entries.popleft()[1]
        if entries is not None and not entries:
            del self._entries[key]
            del self._totals[key]


Demands = Callable[[RequestUsage], Iterable[tuple[str, int]]]
"""What a request asks of one limit, as (window key, amount) pairs."""


def _events_per_app(usage: RequestUsage) -> Iterable[tuple[str, int]]:
    return [(usage.app_id, usage.event_count)] if usage.event_count else []


def _events_per_identity(usage: RequestUsage) -> Iterable[tuple[str, int]]:
    return [(f"{usage.app_id}/{key}", count) for key, count in usage.events_by_identity.items()]


def _requests_per_identity(usage: RequestUsage) -> Iterable[tuple[str, int]]:
    # Heap documents this limit for its single-event API only; bulk requests have their own.
    if usage.bulk:
        return []
    return [(f"{usage.app_id}/{identity}", 1) for identity in usage.identities]


@dataclass(frozen=True)
class _Limit:
    name: str
    window: SlidingWindow
    demands: Demands


def _bulk_only(demands: Demands) -> Demands:
    def bulk_demands(usage: RequestUsage) -> Iterable[tuple[str, int]]:
        return demands(usage) if usage.bulk else []

    return bulk_demands


def _limits_to_enforce(limits: RateLimits) -> list[_Limit]:
    counted = (lambda demands: demands) if limits.single_events_count_against_app else _bulk_only
    candidates = [
        (
            "events_per_minute_per_app",
            limits.window_seconds,
            limits.events_per_minute_per_app,
            counted(_events_per_app),
        ),
        (
            "events_per_minute_per_identity",
            limits.window_seconds,
            limits.events_per_minute_per_identity,
            counted(_events_per_identity),
        ),
        (
            "requests_per_30s_per_identity",
            limits.window_seconds / 2,
            limits.requests_per_30s_per_identity,
            _requests_per_identity,
        ),
    ]
    return [
        _Limit(name, SlidingWindow(seconds, limit), demands)
        for name, seconds, limit, demands in candidates
        if limit is not None
    ]


class RateLimiter:
    """Admits a request only if it fits every configured limit, and then counts it."""

    def __init__(
        self, limits: RateLimits | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits = RateLimits()
        self._enforced: list[_Limit] = []
        self.configure(limits)

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def configure(self, limits: RateLimits | None) -> None:
        """Replaces the limits (None turns them all off) and forgets what was counted so far."""
        limits = limits or RateLimits()
        enforced = _limits_to_enforce(limits)
        with self._lock:
            self._limits = limits
            self._enforced = enforced

    def admit(self, usage: RequestUsage) -> Rejection | None:
        """Counts `usage` and returns None, or returns why it does not fit and counts nothing."""
        with self._lock:
            now = self._clock()
            demands = [
                (limit, key, amount)
                for limit in self._enforced
                for key, amount in limit.demands(usage)
            ]
            waits: dict[str, float] = {}
            for limit, key, amount in demands:
                wait = limit.window.wait_needed(key, amount, now)
                if wait > 0:
                    waits[limit.name] = max(wait, waits.get(limit.name, 0.0))
            if waits:
                return Rejection(tuple(waits), max(1, math.ceil(max(waits.values()))))
            for limit, key, amount in demands:
                limit.window.add(key, amount, now)
            return None
