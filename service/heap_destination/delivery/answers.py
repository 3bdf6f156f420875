"""How an item's outcome reaches whoever submitted it: an Answer, told once.

A unary call awaits a future (`future_answer`). A stream takes hundreds of events per
message and is told each outcome directly, without a future and its scheduled
callbacks per event.
"""

import asyncio
import logging
from collections.abc import Callable

from heap_destination.delivery.futures import mark_retrieved

Answer = Callable[[BaseException | None], None]
"""Told an item's outcome once: None when Heap accepted it, else why not."""

log = logging.getLogger(__name__)


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
