"""A thread-safe record of accepted Heap requests and of every attempt."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AcceptedRequest:
    path: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "body": self.body}


@dataclass(frozen=True)
class Attempt:
    path: str
    body: object
    """The parsed JSON body, or None when it was not valid JSON."""
    status: int | None
    """The status answered, or None when the connection was dropped."""

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "body": self.body, "status": self.status}


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accepted: list[AcceptedRequest] = []
        self._attempts: list[Attempt] = []

    def record_accepted(self, path: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._accepted.append(AcceptedRequest(path, body))

    def record_attempt(self, path: str, body: object, status: int | None) -> None:
        with self._lock:
            self._attempts.append(Attempt(path, body, status))

    def accepted(self) -> list[AcceptedRequest]:
        with self._lock:
            return list(self._accepted)

    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def clear(self) -> None:
        with self._lock:
            self._accepted.clear()
            self._attempts.clear()
