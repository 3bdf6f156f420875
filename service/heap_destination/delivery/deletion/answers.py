"""Heap's answers to user deletion API requests: the JSON object of a success, or the
error a failure stands for."""

from collections.abc import Sequence
from typing import Any

import httpx

from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.errors import (
    DeletionError,
    DeletionRejected,
    DeletionUnavailable,
)
from heap_destination.delivery.heap.retry_policy import parse_retry_after

MAX_QUOTED_BODY = 300


def unreachable(url: str, error: httpx.TransportError, submitted: Sequence[str]) -> DeletionError:
    return DeletionUnavailable(
        f"could not reach Heap at {url}: {type(error).__name__}", submitted=submitted
    )


def answer_object(
    response: httpx.Response, api_key: HeapApiKey, submitted: Sequence[str]
) -> dict[str, Any]:
    """The JSON object of a 2xx answer; raises the DeletionError a failure stands for."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise DeletionUnavailable(
            f"Heap answered {status} at {response.url.path}",
            parse_retry_after(response.headers.get("retry-after")),
            submitted,
        )
    if not response.is_success:
        raise DeletionRejected(status, api_key.redact(response.text[:MAX_QUOTED_BODY]), submitted)
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DeletionUnavailable(
            f"Heap answered {status} at {response.url.path} without a JSON object",
            submitted=submitted,
        )
    return answer
