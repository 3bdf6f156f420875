import asyncio
from typing import Any


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
