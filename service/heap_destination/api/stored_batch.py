"""The stored-mode events of one stream message, committed together.

Each event is told its commit's outcome (an Answer), and all of them share one hand-over
to the store, so a message of 500 events costs one commit request instead of 500.
"""

import asyncio
from collections.abc import Sequence

from heap_destination.api.stored_intake import StoredIntake
from heap_destination.delivery.answers import Answer, tell
from heap_destination.store import NewItem

# A batch goes to the store once it holds this many items, even mid-message.
MAX_BATCH_ITEMS = 1000


class StoredBatch:
    def __init__(self, intake: StoredIntake) -> None:
        self._intake = intake
        self._items: list[NewItem] = []
        self._waiting: list[Answer] = []

    def add(self, work: Sequence[NewItem], answer: Answer) -> None:
        """`answer` is told None once the batch holding `work` is committed, or why not
        (CancelledError when the commit was cancelled)."""
        self._items.extend(work)
        self._waiting.append(answer)
        if len(self._items) >= MAX_BATCH_ITEMS:
            self.flush()

    def flush(self) -> None:
        """Hands what was added to the store now."""
        if not self._waiting:
            return
        waiting, self._waiting = self._waiting, []
        committed = self._intake.submit(self._items)
        self._items = []
        committed.add_done_callback(lambda outcome: _settle(waiting, outcome))


def _settle(waiting: list[Answer], outcome: asyncio.Future[None]) -> None:
    error = asyncio.CancelledError() if outcome.cancelled() else outcome.exception()
    for answer in waiting:
        tell(answer, error)
