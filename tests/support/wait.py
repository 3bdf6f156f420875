import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.0) -> None:
    """Polls `condition` until it holds; fails the test when `timeout` seconds pass first."""
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
