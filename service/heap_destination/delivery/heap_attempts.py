"""Requests to Heap whose every answer is heard: one attempt at a time, retried here.

HeapClient.post retries 429s and 5xx by itself; the budget scheduler needs to hear each
429 (and its Retry-After) to narrow the path that got it, so these requests go through a
copy of the client that makes one attempt per call, retried with the same policy.
"""

import asyncio
import copy
import dataclasses
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from heap_destination.delivery.errors import HeapUnavailable
from heap_destination.delivery.heap_client import HeapClient
from heap_destination.metrics import HEAP_RETRIES

OnThrottled = Callable[[float, float | None], None]
"""Called with when the attempt was sent (monotonic) and Heap's Retry-After, per 429."""


def one_attempt(client: HeapClient) -> HeapClient:
    """The same connections and request slots, but no retries: every answer comes back."""
    once = copy.copy(client)
    once.policy = dataclasses.replace(client.policy, max_attempts=1)
    return once


async def post_heard(
    once: HeapClient,
    max_attempts: int,
    url: str,
    body: bytes,
    deadline: float,
    caller: str,
    on_throttled: OnThrottled,
) -> int:
    """HeapClient.post with `once` (see one_attempt) retried up to `max_attempts` times
    with its backoff, honouring Retry-After, and `on_throttled` told of each 429."""
    attempt = 0
    while True:
        attempt += 1
        sent_at = time.monotonic()
        try:
            return await once.post(url, body, deadline, caller)
        except HeapUnavailable as failure:
            if failure.status == 429:
                on_throttled(sent_at, failure.retry_after)
            if attempt >= max_attempts:
                raise
            delay = max(once.policy.backoff(attempt), failure.retry_after or 0.0)
            if time.monotonic() + delay >= deadline:
                raise
        HEAP_RETRIES.labels(urlsplit(url).path).inc()
        await asyncio.sleep(delay)
