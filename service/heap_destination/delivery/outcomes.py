"""An item's outcome: how it reaches whoever submitted the item, and how a caller reads it.

Heap accepted the item, or a DeliveryError says why not. A unary call awaits a future
(`future_answer`). A stream takes hundreds of events per message and is told each
outcome directly through an Answer, without a future and its scheduled callbacks per
event. An item waiting for Heap (`Pending`) holds the Answer it is settled by, once.
"""

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from opentelemetry.trace import SpanContext

from heap_destination.delivery.errors import (
    DeliveryError,
    HeapUnavailable,
    InternalError,
    ShuttingDown,
)
from heap_destination.delivery.heap.trace_links import call_context

Answer = Callable[[BaseException | None], None]
"""Told an item's outcome once: None when Heap accepted it, else why not."""

Item = TypeVar("Item")

log = logging.getLogger(__name__)


class Pending(Generic[Item]):
    """An item waiting for Heap, with the Answer its submitter is told the outcome by."""

    __slots__ = ("_answer", "call", "caller", "deadline", "item")

    def __init__(self, item: Item, deadline: float, caller: str, answer: Answer) -> None:
        self.item = item
        self.deadline = deadline
        """time.monotonic() by which Heap must have accepted it."""
        self.caller = caller
        """Whose turn its request waits in (see RequestSlots)."""
        self.call: SpanContext | None = call_context()
        """The traced call that brought it, if any (see trace_links)."""
        self._answer: Answer | None = answer

    @property
    def settled(self) -> bool:
        return self._answer is None

    def settle(self, error: BaseException | None) -> None:
        """Answers the submitter, once: Heap accepted the item (error None), or not."""
        answer, self._answer = self._answer, None
        if answer is not None:
            tell(answer, error)


def stopped() -> HeapUnavailable:
    return HeapUnavailable("the service stopped before Heap answered")


def tell(answer: Answer, error: BaseException | None) -> None:
    """Tells `answer` an outcome; an Answer that fails is logged, so that the other items
    settled with it are still told theirs."""
    try:
        answer(error)
    except Exception as failure:
        log.error("answering a settled item failed", exc_info=failure)


def future_answer() -> tuple[asyncio.Future[None], Answer]:
    """A future for an item's outcome, and the Answer that resolves it."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.add_done_callback(mark_retrieved)

    def answer(error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    return future, answer


def shared_answer(answer: Answer, parts: int) -> Answer:
    """One Answer for each of `parts` parts of a call (an event and its traits, say):
    `answer` is told the first failure at once, or success once every part succeeded."""
    remaining = [parts]

    def part(error: BaseException | None) -> None:
        if not remaining:
            return
        if error is not None:
            remaining.clear()
            answer(error)
            return
        remaining[0] -= 1
        if remaining[0] == 0:
            remaining.clear()
            answer(None)

    return part


def all_of(futures: list[asyncio.Future[Any]]) -> asyncio.Future[Any]:
    """One future for several: succeeds when all did, fails with the first failure."""
    if len(futures) == 1:
        return futures[0]
    return asyncio.gather(*futures)


def mark_retrieved(future: asyncio.Future[Any]) -> None:
    """A done-callback for futures whose caller may have stopped waiting (a unary call past
    its deadline): retrieving the failure keeps asyncio from logging it as lost."""
    if not future.cancelled():
        future.exception()


def succeeded(future: asyncio.Future[Any]) -> bool:
    return not future.cancelled() and future.exception() is None


def outcome_error(future: asyncio.Future[Any]) -> BaseException | None:
    """How a finished future failed (CancelledError when it was cancelled); None when it
    succeeded."""
    return asyncio.CancelledError() if future.cancelled() else future.exception()


def delivery_error(future: asyncio.Future[Any]) -> DeliveryError | None:
    """How a finished delivery failed, as a DeliveryError (see as_delivery_error); None
    when Heap accepted it."""
    return as_delivery_error(outcome_error(future))


def as_delivery_error(error: BaseException | None) -> DeliveryError | None:
    """A delivery's failure as a DeliveryError; None when Heap accepted it.

    A delivery cancelled by a shutdown is ShuttingDown; anything unexpected is logged and
    reported as retryable, so the caller still gets an answer for every event.
    """
    if error is None or isinstance(error, DeliveryError):
        return error
    if isinstance(error, asyncio.CancelledError):
        return ShuttingDown()
    log.error("delivery failed unexpectedly", exc_info=error)
    return InternalError(f"internal error ({type(error).__name__})")
