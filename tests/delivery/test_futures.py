import asyncio
import gc

import pytest

from heap_destination.delivery.errors import HeapRejected
from heap_destination.delivery.futures import all_of, mark_retrieved, succeeded


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
