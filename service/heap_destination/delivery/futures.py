import asyncio
import logging
from typing import Any

from heap_destination.delivery.errors import DeliveryError, InternalError, ShuttingDown

log = logging.getLogger(__name__)


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
