"""One thread that runs a store's calls in turn, callers' commits before other work.

A commit is what a caller waits on for its OK; claims and delivery's bookkeeping can
wait for it. Commits of many callers are gathered into one (GroupCommit), so at most
one waits here at a time, and other work waits at most for that one.
"""

import asyncio
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

FIRST, IN_TURN = 0, 1
"""Priorities: a commit, anything else."""

_Work = tuple[int, int, Callable[[], Any] | None, "Future[Any] | None"]


class StoreThread:
    def __init__(self, name: str) -> None:
        self._queue: queue.PriorityQueue[_Work] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def call(self, function: Callable[[], T], priority: int = IN_TURN) -> "asyncio.Future[T]":
        """Runs `function` on the thread, after any work of a higher priority (lower
        number) waiting, and before any of a lower one."""
        done: Future[T] = Future()
        self._queue.put((priority, next(self._order), function, done))
        return asyncio.wrap_future(done)

    def stop(self) -> None:
        """The thread ends after the work already given to it."""
        self._queue.put((IN_TURN + 1, next(self._order), None, None))

    def _serve(self) -> None:
        while True:
            _, _, function, done = self._queue.get()
            if function is None or done is None:
                return
            if not done.set_running_or_notify_cancel():
                continue
            try:
                result = function()
            except BaseException as error:
                done.set_exception(error)
            else:
                done.set_result(result)
