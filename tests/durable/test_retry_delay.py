"""When a stored batch Heap did not take is tried again."""

import pytest

from heap_destination.durable.retry_delay import retry_delay

INITIAL, MAXIMUM = 1.0, 300.0


def test_a_429_waits_its_retry_after_however_often_the_batch_failed_before() -> None:
    # After an outage a batch has failed many times; a 429 while it drains is about
    # Heap's rate, not about that history.
    assert retry_delay(12, 429, 2.0, INITIAL, MAXIMUM) == 2.0
    assert retry_delay(1, 429, 0.0, INITIAL, MAXIMUM) == 0.0


@pytest.mark.parametrize("attempts", [1, 3, 9, 20])
@pytest.mark.parametrize("status", [None, 500, 503, 429])
def test_other_failures_back_off_exponentially_with_jitter(
    attempts: int, status: int | None
) -> None:
    ceiling = min(MAXIMUM, INITIAL * 2 ** (attempts - 1))

    delays = [retry_delay(attempts, status, None, INITIAL, MAXIMUM) for _ in range(200)]

    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1


def test_a_5xx_waits_at_least_the_retry_after_heap_gave() -> None:
    assert retry_delay(1, 503, 60.0, INITIAL, MAXIMUM) == 60.0
    assert retry_delay(12, 503, 1.0, INITIAL, MAXIMUM) >= MAXIMUM / 2
