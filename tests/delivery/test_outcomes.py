"""An item's outcome (delivery/outcomes.py): Answers, futures, pending items."""

import asyncio
import gc
import logging

import pytest

from heap_destination.delivery.errors import (
    HeapRejected,
    HeapUnavailable,
    InternalError,
    ShuttingDown,
)
from heap_destination.delivery.outcomes import (
    Pending,
    all_of,
    delivery_error,
    future_answer,
    mark_retrieved,
    shared_answer,
    succeeded,
)


async def test_a_future_answer_resolves_its_future() -> None:
    accepted, accept = future_answer()
    rejected, reject = future_answer()
    accept(None)
    reject(HeapRejected(400, "bad event"))

    assert await accepted is None
    with pytest.raises(HeapRejected):
        await rejected


async def test_a_future_answer_is_told_once_and_a_caller_gone_away_is_not_an_error() -> None:
    future, answer = future_answer()
    future.cancel()  # the caller stopped waiting
    answer(None)  # no InvalidStateError
    assert future.cancelled()


def test_a_shared_answer_tells_success_once_every_part_succeeded() -> None:
    told: list[BaseException | None] = []
    part = shared_answer(told.append, 2)
    part(None)
    assert told == []
    part(None)
    assert told == [None]


def test_a_shared_answer_tells_the_first_failure_at_once_and_nothing_after() -> None:
    told: list[BaseException | None] = []
    failure = HeapUnavailable("Heap did not answer")
    part = shared_answer(told.append, 2)
    part(failure)
    part(None)
    assert told == [failure]


def test_a_pending_item_is_answered_once() -> None:
    told: list[BaseException | None] = []
    pending = Pending("event", 0.0, "caller", told.append)
    pending.settle(None)
    pending.settle(HeapUnavailable("too late"))
    assert told == [None]
    assert pending.settled


def test_an_answer_that_fails_is_logged_and_keeps_no_other_item_from_its_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    told: list[BaseException | None] = []

    def broken(error: BaseException | None) -> None:
        raise RuntimeError("a bug in whoever submitted")

    batch = [Pending("a", 0.0, "", broken), Pending("b", 0.0, "", told.append)]
    with caplog.at_level(logging.ERROR):
        for pending in batch:
            pending.settle(None)

    assert told == [None]
    assert "answering a settled item failed" in caplog.text


async def test_all_of_one_future_is_that_future() -> None:
    future = asyncio.get_running_loop().create_future()
    assert all_of([future]) is future


async def test_all_of_succeeds_when_all_did_and_fails_with_a_failure() -> None:
    loop = asyncio.get_running_loop()
    good, bad = loop.create_future(), loop.create_future()
    combined = all_of([good, bad])
    good.set_result(None)
    assert not combined.done()
    bad.set_exception(HeapRejected(400, "nope"))
    with pytest.raises(HeapRejected):
        await combined


async def test_succeeded() -> None:
    loop = asyncio.get_running_loop()
    ok, failed, cancelled = loop.create_future(), loop.create_future(), loop.create_future()
    ok.set_result(None)
    failed.set_exception(HeapRejected(400, "nope"))
    cancelled.cancel()
    assert [succeeded(f) for f in (ok, failed, cancelled)] == [True, False, False]


async def test_mark_retrieved_keeps_an_unawaited_failure_from_being_logged_as_lost() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        future = loop.create_future()
        future.add_done_callback(mark_retrieved)
        future.set_exception(HeapRejected(400, "nope"))
        await asyncio.sleep(0)
        del future
        gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert reported == []


async def test_a_cancelled_delivery_reads_as_shutting_down() -> None:
    future = asyncio.get_running_loop().create_future()
    future.cancel()

    assert isinstance(delivery_error(future), ShuttingDown)


async def test_a_gather_with_a_cancelled_part_reads_as_shutting_down() -> None:
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    both = asyncio.gather(first, second)
    first.cancel()
    await asyncio.sleep(0)

    assert isinstance(delivery_error(both), ShuttingDown)


async def test_an_unexpected_failure_reads_as_a_retryable_internal_error() -> None:
    future = asyncio.get_running_loop().create_future()
    future.set_exception(ValueError("bug"))

    error = delivery_error(future)

    assert isinstance(error, InternalError)
    assert "ValueError" in str(error)
