"""Heap's user deletion API: users go in requests of at most 10,000, each with a bearer
token from AuthTokens; a deletion request's status is read back by its id."""

import functools
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from opentelemetry.trace import Tracer

from heap_destination.delivery.deletion.answers import Answer, answer_object
from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.auth_tokens import AuthTokens
from heap_destination.delivery.deletion.errors import DeletionUnavailable
from heap_destination.delivery.deletion.requests import DeletionRequests
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import normalize_base_url

HEAP_DELETION_BASE_URL = "https://heapanalytics.com"
"""Heap documents this host for the user deletion API of its US and EU data centers alike."""
USER_DELETION_PATH = "/api/public/v0/user_deletion"
DELETION_STATUS_PATH = "/api/public/v0/deletion_status/"
MAX_USERS_PER_REQUEST = 10_000

HeapUser = dict[str, str]
"""One user as Heap's user_deletion body lists it: {"identity": ...} or {"user_id": ...}."""


@dataclass(frozen=True)
class DeletionReceipt:
    """Heap took one request of users for deletion."""

    deletion_request_id: str
    users: int
    status: str


def deletion_base_url(default_base_url: str | None) -> str:
    """Where deletions go: the server's default base URL (a proxy, the simulator) when it
    has one, else Heap's."""
    return normalize_base_url(default_base_url) if default_base_url else HEAP_DELETION_BASE_URL


def heap_users(identities: Sequence[str], heap_user_ids: Sequence[str]) -> list[HeapUser]:
    return [{"identity": identity} for identity in identities] + [
        {"user_id": user_id} for user_id in heap_user_ids
    ]


class HeapDeletionClient:
    def __init__(
        self,
        http: aiohttp.ClientSession,
        slots: RequestSlots,
        api_key: HeapApiKey,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        tracer: Tracer | None = None,
    ) -> None:
        """`http` and `slots`: the service's session and request slots (see
        DeletionRequests); `timeout`: seconds for each request; `tracer`: a client span
        per request, None when not tracing."""
        self._requests = DeletionRequests(http, slots, timeout, tracer)
        self._api_key = api_key
        self._tokens = AuthTokens(self._requests, api_key, clock)

    async def delete(
        self, base_url: str, app_id: str, users: Sequence[HeapUser]
    ) -> list[DeletionReceipt]:
        """Submits `users` in order, MAX_USERS_PER_REQUEST per request; raises a
        DeletionError at the first request Heap does not take (its `submitted` lists the
        deletion request ids Heap took before)."""
        url = base_url + USER_DELETION_PATH
        receipts: list[DeletionReceipt] = []
        for start in range(0, len(users), MAX_USERS_PER_REQUEST):
            chunk = users[start : start + MAX_USERS_PER_REQUEST]
            body = json.dumps({"users": list(chunk)}, separators=(",", ":")).encode()
            submitted = [receipt.deletion_request_id for receipt in receipts]
            post = functools.partial(self._post, url, body, submitted)
            answer = await self._authorized(base_url, app_id, post, submitted)
            request_id = answer.get("deletion_request_id")
            if not isinstance(request_id, str | int) or isinstance(request_id, bool):
                raise DeletionUnavailable(
                    f"Heap's answer at {url} holds no deletion_request_id", submitted=submitted
                )
            status = answer.get("status")
            receipts.append(
                DeletionReceipt(
                    str(request_id), len(chunk), status if isinstance(status, str) else ""
                )
            )
        return receipts

    async def status(self, base_url: str, app_id: str, deletion_request_id: str) -> str:
        """Heap's status of a deletion request, as Heap words it."""
        url = base_url + DELETION_STATUS_PATH + quote(deletion_request_id, safe="")

        def get(token: str) -> Awaitable[Answer]:
            return self._requests.send("GET", url, (), headers=_bearer(token))

        status = (await self._authorized(base_url, app_id, get, ())).get("status")
        if not isinstance(status, str):
            raise DeletionUnavailable(f"Heap's answer at {url} holds no status")
        return status

    def _post(
        self, url: str, body: bytes, submitted: Sequence[str], token: str
    ) -> Awaitable[Answer]:
        return self._requests.send("POST", url, submitted, body=body, headers=_bearer(token))

    async def _authorized(
        self,
        base_url: str,
        app_id: str,
        send: Callable[[str], Awaitable[Answer]],
        submitted: Sequence[str],
    ) -> dict[str, Any]:
        """Heap's answer to `send` with a token; a token Heap no longer takes (401) is
        replaced once."""
        for renewed in (False, True):
            token = await self._tokens.token(base_url, app_id)
            answer = await send(token)
            if answer.status == 401 and not renewed:
                self._tokens.forget(base_url, app_id, token)
                continue
            return answer_object(answer, self._api_key, submitted)
        raise AssertionError("the second attempt always returns or raises")


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
