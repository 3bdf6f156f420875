"""Heap's answers to user deletion API requests: the JSON object of a success, or the
error a failure stands for."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from heap_destination.delivery.deletion.api_key import HeapApiKey
from heap_destination.delivery.deletion.errors import (
    DeletionError,
    DeletionRejected,
    DeletionUnavailable,
)
from heap_destination.delivery.heap.retry_policy import parse_retry_after

MAX_QUOTED_BODY = 300


@dataclass(frozen=True)
class Answer:
    """Heap's answer to one request."""

    status: int
    path: str
    """The path the request went to, as error messages name it."""
    body: bytes
    """Its start (see requests.MAX_ANSWER_BYTES)."""
    retry_after: str | None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def unreachable(url: str, error: BaseException, submitted: Sequence[str]) -> DeletionError:
    return DeletionUnavailable(
        f"could not reach Heap at {url}: {type(error).__name__}", submitted=submitted
    )


def answer_object(answer: Answer, api_key: HeapApiKey, submitted: Sequence[str]) -> dict[str, Any]:
    """The JSON object of a 2xx answer; raises the DeletionError a failure stands for."""
    status = answer.status
    if status == 429 or status >= 500:
        raise DeletionUnavailable(
            f"Heap answered {status} at {answer.path}",
            parse_retry_after(answer.retry_after),
            submitted,
        )
    if not 200 <= status < 300:
        raise DeletionRejected(status, api_key.redact(answer.text[:MAX_QUOTED_BODY]), submitted)
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise DeletionUnavailable(
            f"Heap answered {status} at {answer.path} without a JSON object",
            submitted=submitted,
        )
    return parsed
