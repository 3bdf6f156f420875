"""StoreThread: one thread, its calls in turn, a commit before other work waiting."""

import asyncio
import threading
from functools import partial

import pytest

from heap_destination.store.store_thread import FIRST, StoreThread


async def test_a_commit_waiting_runs_before_other_work_waiting_and_each_in_order() -> None:
    thread = StoreThread("test-store")
    release = threading.Event()
    ran: list[str] = []
    try:
        busy = thread.call(lambda: release.wait(timeout=30))
        later = [thread.call(partial(ran.append, f"claim {n}")) for n in (1, 2)]
        commits = [thread.call(partial(ran.append, f"commit {n}"), FIRST) for n in (1, 2)]
        release.set()
        assert await busy
        await asyncio.gather(*later, *commits)
    finally:
        release.set()
        thread.stop()

    assert ran == ["commit 1", "commit 2", "claim 1", "claim 2"]


async def test_an_error_reaches_its_caller_and_the_thread_goes_on() -> None:
    thread = StoreThread("test-store")

    def fail() -> None:
        raise ValueError("no")

    try:
        with pytest.raises(ValueError, match="no"):
            await thread.call(fail)
        assert await thread.call(lambda: 42) == 42
    finally:
        thread.stop()
