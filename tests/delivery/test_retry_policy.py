import random
from datetime import UTC, datetime, timedelta

import pytest

from heap_destination.delivery.heap.retry_policy import RetryPolicy, parse_retry_after

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


class CeilingRng(random.Random):
    """Always draws the top of the range, so backoff() returns its ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_backoff_ceiling_doubles_per_failed_attempt_up_to_the_maximum() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0)
    ceilings = [policy.backoff(n, CeilingRng()) for n in range(1, 7)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


def test_backoff_has_full_jitter_between_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=5.0)
    rng = random.Random(7)
    for failed_attempts, ceiling in [(1, 0.1), (3, 0.4), (10, 5.0)]:
        draws = [policy.backoff(failed_attempts, rng) for _ in range(2000)]
        assert all(0 <= draw <= ceiling for draw in draws)
        assert min(draws) < ceiling * 0.05
        assert max(draws) > ceiling * 0.95


def test_backoff_does_not_overflow_after_many_attempts() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=5.0)
    assert policy.backoff(200, CeilingRng()) == 5.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), (" 3 ", 3.0), ("0", 0.0), ("1.5", 1.5)],
)
def test_retry_after_in_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header, NOW) == seconds


def test_retry_after_as_an_http_date() -> None:
    header = "Fri, 27 Nov 2026 12:00:30 GMT"
    assert parse_retry_after(header, NOW) == 30.0


def test_retry_after_as_an_http_date_in_the_past_means_now() -> None:
    assert parse_retry_after("Fri, 27 Nov 2026 11:59:00 GMT", NOW) == 0.0


def test_retry_after_as_an_http_date_uses_the_current_time_by_default() -> None:
    in_a_minute = datetime.now(UTC) + timedelta(seconds=60)
    seconds = parse_retry_after(in_a_minute.strftime("%a, %d %b %Y %H:%M:%S GMT"))
    assert seconds is not None
    assert 50 < seconds <= 60


@pytest.mark.parametrize("header", [None, "", "soon", "in 5 minutes", "Fri, 99 Nov 2026"])
def test_retry_after_that_cannot_be_read_gives_no_hint(header: str | None) -> None:
    assert parse_retry_after(header, NOW) is None


@pytest.mark.parametrize("header", ["-5", "-0.5"])
def test_a_negative_retry_after_never_gives_a_negative_delay(header: str) -> None:
    assert parse_retry_after(header, NOW) in (None, 0.0)
