"""A dead worker waits longer each time it dies quickly, and briefly after a long life."""

from heap_destination.app.restart_backoff import RestartBackoff


def test_quick_deaths_double_the_delay_up_to_the_longest() -> None:
    backoff = RestartBackoff(first=0.5, longest=30.0, settled_after=60.0)

    delays = [backoff.delay_after_death(lived=1.0) for _ in range(9)]

    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_a_worker_that_settled_starts_the_delays_afresh() -> None:
    backoff = RestartBackoff(first=0.5, longest=30.0, settled_after=60.0)
    for _ in range(5):
        backoff.delay_after_death(lived=1.0)

    assert backoff.delay_after_death(lived=60.0) == 0.5
    assert backoff.delay_after_death(lived=2.0) == 1.0
