import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by time."""

    max_attempts: int = 8
    initial_backoff: float = 0.1
    max_backoff: float = 5.0
    multiplier: float = 2.0
    attempt_timeout: float = 10.0
    """Seconds one HTTP request to Heap may take."""
    delivery_timeout: float = 30.0
    """Seconds a call may spend delivering when its caller set no shorter deadline."""

    def backoff(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        ceiling = min(
            self.max_backoff, self.initial_backoff * self.multiplier ** (failed_attempts - 1)
        )
        return (rng or random).uniform(0, ceiling)


def parse_retry_after(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header, in either of its forms (seconds or HTTP date)."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
