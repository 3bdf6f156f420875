"""The stored-mode events of one stream message, committed together.

Each event is told its commit's outcome (an Answer), and all of them share one hand-over
to the store, so a message of 500 events costs one commit request instead of 500. The
events of each app are a group of their own in that commit: an app at its bound on
stored events refuses its own events, not the other apps' in the same message.
"""

import asyncio
from collections.abc import Sequence
from functools import partial

from heap_destination.delivery.outcomes import Answer, tell
from heap_destination.durable.intake import StoredIntake
from heap_destination.store import NewItem

# A batch goes to the store once it holds this many items, even mid-message.
MAX_BATCH_ITEMS = 1000


class StoredBatch:
    def __init__(self, intake: StoredIntake) -> None:
        self._intake = intake
        self._items: dict[str, list[NewItem]] = {}
        self._waiting: dict[str, list[Answer]] = {}
        self._count = 0

    def add(self, work: Sequence[NewItem], answer: Answer) -> None:
        """`answer` is told None once the batch holding `work` (items of one app) is
        committed, or why not (CancelledError when the commit was cancelled)."""
        app_id = work[0].app_id if work else ""
        self._items.setdefault(app_id, []).extend(work)
        self._waiting.setdefault(app_id, []).append(answer)
        self._count += len(work)
        if self._count >= MAX_BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        """Hands what was added to the store now."""
        items, self._items = self._items, {}
        waiting, self._waiting = self._waiting, {}
        self._count = 0
        for app_id, answers in waiting.items():
            committed = self._intake.submit(items[app_id])
            committed.add_done_callback(partial(_settle, answers))


def _settle(waiting: list[Answer], outcome: asyncio.Future[None]) -> None:
    error = asyncio.CancelledError() if outcome.cancelled() else outcome.exception()
    for answer in waiting:
        tell(answer, error)
