"""What the simulator remembers of Heap's user deletion API: its API key, the auth tokens
it issued and the deletion requests it took."""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections.abc import Callable

TOKEN_LIFETIME = 300.0
"""Heap's auth tokens expire 5 minutes after they are issued."""
DELETION_SECONDS = 2.0
"""How long a deletion request stays "pending" before it is "complete"."""


class DeletionState:
    def __init__(
        self, api_key: str | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._api_key = api_key
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._requests: dict[str, tuple[str, float]] = {}

    @property
    def has_api_key(self) -> bool:
        return self._api_key is not None

    def is_api_key(self, candidate: str) -> bool:
        return self._api_key is not None and hmac.compare_digest(
            candidate.encode(), self._api_key.encode()
        )

    def issue_token(self, app_id: str) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = (app_id, self._clock() + TOKEN_LIFETIME)
        return token

    def app_of(self, token: str) -> str | None:
        """The app a token was issued for; None when it is unknown or expired."""
        with self._lock:
            issued = self._tokens.get(token)
            if issued is None or issued[1] <= self._clock():
                return None
            return issued[0]

    def take_request(self, app_id: str) -> str:
        request_id = str(uuid.uuid4())
        with self._lock:
            self._requests[request_id] = (app_id, self._clock())
        return request_id

    def status(self, app_id: str, request_id: str) -> str | None:
        """ "pending", then "complete"; None for a request of another app, or none."""
        with self._lock:
            taken = self._requests.get(request_id)
        if taken is None or taken[0] != app_id:
            return None
        return "complete" if self._clock() - taken[1] >= DELETION_SECONDS else "pending"
