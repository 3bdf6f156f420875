"""How long a stored batch that Heap did not take waits before its next attempt."""

import random


def retry_delay(
    attempts: int,
    status: int | None,
    retry_after: float | None,
    initial_backoff: float,
    max_backoff: float,
) -> float:
    """Seconds until the next attempt of a batch after its `attempts`-th failed.

    A 429 with Retry-After waits exactly that: Heap's rate limit says when it has room,
    and the batch's earlier failures (an outage, say) have no bearing on it. Anything else
    backs off exponentially with jitter, from `initial_backoff` doubling per attempt up to
    `max_backoff`, and never less than a Retry-After Heap gave.
    """
    if status == 429 and retry_after is not None:
        return retry_after
    ceiling = min(max_backoff, initial_backoff * 2 ** (attempts - 1))
    return max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)
