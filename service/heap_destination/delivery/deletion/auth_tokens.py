"""Heap's temporary auth tokens for the user deletion API: fetched with HTTP Basic auth
(the app_id and the API key) and reused until shortly before they expire."""

import asyncio
import time
from collections.abc import Callable

import aiohttp

from heap_destination.delivery.deletion.answers import answer_object
from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.errors import DeletionUnavailable, HeapApiKeyRefused
from heap_destination.delivery.deletion.requests import DeletionRequests

AUTH_TOKEN_PATH = "/api/public/v0/auth_token"
TOKEN_LIFETIME = 300.0
"""Heap's tokens expire 5 minutes after they are issued."""
RENEWAL_MARGIN = 30.0
"""A token is renewed this long before it expires, so none expires on its way to Heap."""


class AuthTokens:
    """One token per (base URL, app_id), fetched when first needed and when it is about to
    expire; concurrent callers share one fetch."""

    def __init__(
        self,
        requests: DeletionRequests,
        api_key: HeapApiKey,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = requests
        self._api_key = api_key
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def token(self, base_url: str, app_id: str) -> str:
        """A token for the app that has at least RENEWAL_MARGIN seconds left.

        Raises HeapApiKeyRefused when Heap refuses the app_id and key, DeletionUnavailable
        or DeletionRejected when Heap fails otherwise."""
        async with self._lock:
            cached = self._tokens.get((base_url, app_id))
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            asked_at = self._clock()
            token = await self._fetch(base_url, app_id)
            self._tokens[(base_url, app_id)] = (
                token,
                asked_at + TOKEN_LIFETIME - RENEWAL_MARGIN,
            )
            return token

    def forget(self, base_url: str, app_id: str, token: str) -> None:
        """Drops `token` (Heap no longer takes it) so that the next call fetches another."""
        cached = self._tokens.get((base_url, app_id))
        if cached is not None and cached[0] == token:
            del self._tokens[(base_url, app_id)]

    async def _fetch(self, base_url: str, app_id: str) -> str:
        url = base_url + AUTH_TOKEN_PATH
        basic = aiohttp.encode_basic_auth(app_id, self._api_key.reveal())
        answer = await self._requests.send("POST", url, (), headers={"authorization": basic})
        if answer.status in (401, 403):
            raise HeapApiKeyRefused(app_id, answer.status)
        token = answer_object(answer, self._api_key, ()).get("access_token")
        if not isinstance(token, str) or not token:
            raise DeletionUnavailable(f"Heap's answer at {url} holds no access_token")
        return token
