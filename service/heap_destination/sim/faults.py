"""The fault plan: failures to inject into the next Heap-endpoint requests."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from heap_destination.sim.deletion_validation import DELETION_PATHS
from heap_destination.sim.validation import HEAP_PATHS

_FAULT_PATHS = HEAP_PATHS | DELETION_PATHS

_FIELD_TYPES: Mapping[str, tuple[type, ...]] = {
    "status": (int,),
    "count": (int,),
    "retry_after": (str, int),
    "latency_ms": (int, float),
    "drop_connection": (bool,),
    "path": (str,),
    "probability": (int, float),
    "random_seed": (int,),
    "body_contains": (str,),
    "seconds": (int, float),
}


@dataclass(frozen=True)
class Fault:
    """One failure to inject.

    Applies to the next `count` matching requests; or, when `probability` is given, to each
    matching request with that probability until cleared; or, when `seconds` is given, to
    every matching request for that long (an outage). With none of them, `count` is 1.
    """

    status: int | None = None
    count: int | None = None
    retry_after: str | None = None
    latency_ms: float = 0
    drop_connection: bool = False
    path: str | None = None
    probability: float | None = None
    random_seed: int | None = None
    """Makes a `probability` fault pick the same requests on every run."""
    body_contains: str | None = None
    """Only requests whose raw body contains this text match (e.g. one event's identity)."""
    seconds: float | None = None

    def __post_init__(self) -> None:
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if self.status is None and not self.drop_connection and self.latency_ms <= 0:
            problems.append("give at least one of status, latency_ms, drop_connection")
        if self.status is not None and not 200 <= self.status <= 599:
            problems.append("status: must be in 200..599")
        if self.status is not None and self.drop_connection:
            problems.append("status: a dropped connection answers no status")
        if self.retry_after is not None and self.status is None:
            problems.append("retry_after: only applies together with status")
        if self.latency_ms < 0:
            problems.append("latency_ms: must not be negative")
        if self.count is not None and self.count < 1:
            problems.append("count: must be at least 1")
        if self.probability is not None and not 0 <= self.probability <= 1:
            problems.append("probability: must be in 0..1")
        if self.probability is not None and self.count is not None:
            problems.append("count: not allowed together with probability")
        if self.seconds is not None and self.seconds <= 0:
            problems.append("seconds: must be positive")
        if self.seconds is not None and (self.count is not None or self.probability is not None):
            problems.append("seconds: not allowed together with count or probability")
        if self.random_seed is not None and self.probability is None:
            problems.append("random_seed: only applies together with probability")
        if self.path is not None and self.path not in _FAULT_PATHS:
            problems.append(f"path: must be one of {', '.join(sorted(_FAULT_PATHS))}")
        return problems

    @classmethod
    def from_json(cls, data: object) -> Fault:
        """Builds a fault from a parsed JSON body; raises ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("body: must be a JSON object")
        values = {name: value for name, value in data.items() if value is not None}
        for name, value in values.items():
            expected = _FIELD_TYPES.get(name)
            if expected is None:
                raise ValueError(f"{name}: unknown field")
            wrong_bool = isinstance(value, bool) and bool not in expected
            if wrong_bool or not isinstance(value, expected):
                raise ValueError(f"{name}: must be {' or '.join(t.__name__ for t in expected)}")
        if "retry_after" in values:
            values["retry_after"] = str(values["retry_after"])
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "retry_after": self.retry_after,
            "latency_ms": self.latency_ms,
            "drop_connection": self.drop_connection,
            "path": self.path,
            "probability": self.probability,
            "random_seed": self.random_seed,
            "body_contains": self.body_contains,
            "seconds": self.seconds,
        }


@dataclass
class _ActiveFault:
    fault: Fault
    remaining: int | None
    rng: random.Random | None = None
    until: float | None = None
    """The plan's clock when a fault given `seconds` ends."""

    def matches(self, path: str, raw_body: bytes) -> bool:
        if self.fault.path is not None and self.fault.path != path:
            return False
        return self.fault.body_contains is None or self.fault.body_contains.encode() in raw_body


class FaultPlan:
    """Faults in the order injected; the first unexpired one matching a request applies."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._active: list[_ActiveFault] = []

    def inject(self, fault: Fault) -> None:
        if fault.probability is not None:
            active = _ActiveFault(fault, remaining=None, rng=random.Random(fault.random_seed))
        elif fault.seconds is not None:
            active = _ActiveFault(fault, remaining=None, until=self._clock() + fault.seconds)
        else:
            active = _ActiveFault(fault, remaining=fault.count or 1)
        with self._lock:
            self._active.append(active)

    def next_fault(self, path: str, raw_body: bytes = b"") -> Fault | None:
        """Returns the fault to apply to a request, consuming one use of it."""
        with self._lock:
            now = self._clock()
            self._active = [a for a in self._active if a.until is None or a.until > now]
            for active in self._active:
                if not active.matches(path, raw_body):
                    continue
                if active.until is not None:
                    return active.fault
                if active.rng is not None and active.fault.probability is not None:
                    if active.rng.random() < active.fault.probability:
                        return active.fault
                    continue
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining == 0:
                        self._active.remove(active)
                    return active.fault
            return None

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**active.fault.to_json(), "remaining": active.remaining} for active in self._active
            ]
