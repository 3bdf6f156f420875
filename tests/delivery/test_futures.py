import asyncio
import gc

import pytest

from heap_destination.delivery.errors import HeapRejected, InternalError, ShuttingDown
from heap_destination.delivery.futures import all_of, delivery_error, mark_retrieved, succeeded


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
