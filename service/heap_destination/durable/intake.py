"""Ack mode STORED: a call's Heap work is committed to the store, then answered OK.

Commits of concurrent calls and stream events share transactions (GroupCommit). Once
committed, background delivery is woken to send them.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from heap_destination.delivery.errors import DeliveryError, NoRoomInStore, StoreOutOfService
from heap_destination.delivery.outcomes import mark_retrieved
from heap_destination.domain.violations import FieldViolation, InvalidInput
from heap_destination.metrics import STORE_COMMIT_DURATION
from heap_destination.store import GroupCommit, NewItem, StoreDamaged, StoreFull, StoreUnavailable

log = logging.getLogger(__name__)

# Suggested wait for a caller turned away by a full store: delivery frees room as Heap's
# limits allow, so a retry much sooner would mostly be turned away again.
STORE_FULL_RETRY_AFTER = 5.0


class StoredIntake:
    def __init__(
        self,
        commits: GroupCommit,
        committed: Callable[[], None],
        damaged: Callable[[], None] = lambda: None,
    ) -> None:
        """`committed` is called after each commit, `damaged` after each commit refused
        because the store is damaged."""
        self._commits = commits
        self._committed = committed
        self._damaged = damaged

    def submit(self, items: Sequence[NewItem]) -> asyncio.Future[None]:
        """Resolves once `items` are committed; fails with NoRoomInStore or StoreOutOfService
        (nothing of them stored). Only a commit that succeeded resolves it."""
        started = time.monotonic()
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        outcome.add_done_callback(mark_retrieved)

        def settle(commit: asyncio.Future[list[int]]) -> None:
            if outcome.done():
                return
            error = _commit_error(commit)
            if error is not None:
                outcome.set_exception(error)
                if not commit.cancelled() and isinstance(commit.exception(), StoreDamaged):
                    self._damaged()
                return
            STORE_COMMIT_DURATION.observe(time.monotonic() - started)
            outcome.set_result(None)
            self._committed()

        self._commits.submit(items).add_done_callback(settle)
        return outcome

    async def store(self, items: Sequence[NewItem], deadline: float) -> None:
        """Commits `items` before the monotonic `deadline`, or raises a DeliveryError."""
        committed = self.submit(items)
        try:
            await asyncio.wait_for(asyncio.shield(committed), deadline - time.monotonic())
        except TimeoutError:
            raise StoreOutOfService(
                "the store did not commit the call before its deadline; send it again with "
                "the same message_id"
            ) from None


def required_intake(intake: StoredIntake | None) -> StoredIntake:
    """The intake for ack mode STORED; raises no_store() when the server has none."""
    if intake is None:
        raise no_store()
    return intake


def no_store() -> InvalidInput:
    """What ack mode STORED is answered on a server without a store."""
    return InvalidInput(
        [
            FieldViolation(
                "config.ack_mode",
                "STORED needs a server with a durable store (--store); this one has none",
            )
        ]
    )


def _commit_error(commit: asyncio.Future[list[int]]) -> DeliveryError | None:
    if commit.cancelled():
        return StoreOutOfService("the commit was cancelled: the service is stopping")
    error = commit.exception()
    if error is None:
        return None
    if isinstance(error, StoreFull):
        return NoRoomInStore(str(error), STORE_FULL_RETRY_AFTER)
    if isinstance(error, StoreDamaged):  # the store logged it once, when it found it
        return StoreOutOfService(
            "the store is damaged and takes no events until it is repaired; nothing of this "
            "was stored: send it again with the same message_id"
        )
    log.error("committing to the store failed", exc_info=error)
    failure = error.driver_error if isinstance(error, StoreUnavailable) else type(error).__name__
    return StoreOutOfService(f"the store cannot be reached ({failure})")
