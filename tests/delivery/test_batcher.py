import asyncio
import math
import time
from collections import Counter

import pytest

from heap_destination.delivery.batcher import BulkBatcher
from heap_destination.delivery.errors import HeapRejected, HeapUnavailable

LONG_LINGER = 60.0
"""A linger no test waits out: a batch that goes out under it went out for another reason."""

BAD = "bad"


class FakeHeap:
    """The batcher's `send`: records every call, rejects batches holding a BAD item."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[list[object]] = []
        self.deadlines: list[float] = []
        self.delay = delay
        self.concurrent = 0
        self.max_concurrent = 0
        self.release: asyncio.Event | None = None
        """When set, every send waits for it before answering."""
        self.unavailable = False

    async def send(self, items: list[object], deadline: float, caller: str) -> None:
        self.calls.append(list(items))
        self.deadlines.append(deadline)
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.release is not None:
                await self.release.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.concurrent -= 1
        if self.unavailable:
            raise HeapUnavailable("Heap answered 503", retry_after=2.0)
        if BAD in items:
            raise HeapRejected(400, "events[0].properties.x: value must be a number or a string")

    def delivered(self) -> list[object]:
        """Items of every send that was accepted."""
        return [item for call in self.calls if BAD not in call for item in call]


def deadline() -> float:
    return time.monotonic() + 30


async def test_a_full_batch_goes_out_at_once_without_waiting_for_the_linger() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=3, linger=LONG_LINGER, max_in_flight=4)
    futures = [batcher.submit(item, deadline()) for item in ["a", "b", "c", "d"]]

    await asyncio.gather(*futures[:3])

    assert heap.calls == [["a", "b", "c"]]
    assert not futures[3].done()
    batcher.flush()
    await futures[3]
    assert heap.calls == [["a", "b", "c"], ["d"]]


async def test_a_partial_batch_goes_out_after_the_linger() -> None:
    heap = FakeHeap()
    linger = 0.1
    batcher = BulkBatcher(heap.send, max_batch=100, linger=linger, max_in_flight=4)
    started = time.monotonic()

    await asyncio.gather(batcher.submit("a", deadline()), batcher.submit("b", deadline()))

    assert time.monotonic() - started >= linger
    assert heap.calls == [["a", "b"]]


async def test_items_from_many_submitters_land_in_one_request_in_order() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=1000, linger=0.05, max_in_flight=4)

    async def submitter(item: int) -> None:
        await batcher.submit(item, deadline())

    await asyncio.gather(*(submitter(item) for item in range(50)))

    assert heap.calls == [list(range(50))]


async def test_the_request_carries_the_latest_deadline_of_its_items() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=3, linger=LONG_LINGER, max_in_flight=1)
    now = time.monotonic()
    await asyncio.gather(*(batcher.submit(i, now + d) for i, d in enumerate([5, 20, 10])))
    assert heap.deadlines == [now + 20]


async def test_one_bad_item_among_100_fails_alone_and_is_isolated_in_few_sends() -> None:
    heap = FakeHeap()
    items: list[object] = list(range(100))
    items[37] = BAD
    batcher = BulkBatcher(heap.send, max_batch=100, linger=LONG_LINGER, max_in_flight=1)

    futures = [batcher.submit(item, deadline()) for item in items]
    results = await asyncio.gather(*futures, return_exceptions=True)

    rejection = results[37]
    assert isinstance(rejection, HeapRejected)
    assert rejection.status == 400
    assert "must be a number or a string" in str(rejection)
    assert [r for i, r in enumerate(results) if i != 37] == [None] * 99
    assert Counter(heap.delivered()) == Counter(item for item in items if item != BAD)
    extra_sends = len(heap.calls) - 1
    assert extra_sends <= 2 * math.ceil(math.log2(len(items)))
    assert [BAD] in heap.calls


async def test_two_bad_items_both_fail_and_every_good_item_is_delivered_once() -> None:
    heap = FakeHeap()
    items: list[object] = [f"ok-{i}" for i in range(64)]
    items[3] = items[50] = BAD
    batcher = BulkBatcher(heap.send, max_batch=64, linger=LONG_LINGER, max_in_flight=2)

    results = await asyncio.gather(
        *(batcher.submit(item, deadline()) for item in items), return_exceptions=True
    )

    failed = [i for i, result in enumerate(results) if result is not None]
    assert failed == [3, 50]
    assert all(isinstance(results[i], HeapRejected) for i in failed)
    delivered = heap.delivered()
    assert Counter(delivered) == Counter(item for item in items if item != BAD)


async def test_heap_unavailable_fails_the_whole_batch_without_splitting_it() -> None:
    heap = FakeHeap()
    heap.unavailable = True
    batcher = BulkBatcher(heap.send, max_batch=10, linger=LONG_LINGER, max_in_flight=1)

    results = await asyncio.gather(
        *(batcher.submit(item, deadline()) for item in range(10)), return_exceptions=True
    )

    assert all(isinstance(result, HeapUnavailable) for result in results)
    assert {result.retry_after for result in results if isinstance(result, HeapUnavailable)} == {
        2.0
    }
    assert heap.calls == [list(range(10))]


async def test_max_in_flight_is_never_exceeded() -> None:
    heap = FakeHeap(delay=0.02)
    batcher = BulkBatcher(heap.send, max_batch=5, linger=LONG_LINGER, max_in_flight=3)

    await asyncio.gather(*(batcher.submit(item, deadline()) for item in range(60)))

    assert heap.max_concurrent == 3
    assert len(heap.calls) == 12
    assert Counter(heap.delivered()) == Counter(range(60))


async def test_max_in_flight_holds_while_bad_batches_are_split() -> None:
    heap = FakeHeap(delay=0.005)
    items: list[object] = list(range(40))
    items[0] = items[39] = BAD
    batcher = BulkBatcher(heap.send, max_batch=20, linger=LONG_LINGER, max_in_flight=2)

    results = await asyncio.gather(
        *(batcher.submit(item, deadline()) for item in items), return_exceptions=True
    )

    assert heap.max_concurrent <= 2
    assert [i for i, result in enumerate(results) if result is not None] == [0, 39]


async def test_a_partial_batch_goes_out_after_its_linger_while_a_request_is_still_out() -> None:
    first_answered = asyncio.Event()
    calls: list[list[str]] = []

    async def send(items: list[str], deadline: float, caller: str) -> None:
        calls.append(items)
        if len(calls) == 1:
            await first_answered.wait()

    batcher = BulkBatcher(send, max_batch=2, linger=0.05, max_in_flight=4)
    first = [batcher.submit("a", deadline()), batcher.submit("b", deadline())]

    await batcher.submit("c", deadline())  # answered while ["a", "b"] is still out

    assert calls == [["a", "b"], ["c"]]
    assert not any(future.done() for future in first)
    first_answered.set()
    await asyncio.gather(*first)


@pytest.mark.timeout(10)  # a future that is never settled hangs
async def test_cancel_fails_every_unanswered_item_with_heap_unavailable() -> None:
    heap = FakeHeap()
    heap.release = asyncio.Event()
    batcher = BulkBatcher(heap.send, max_batch=3, linger=LONG_LINGER, max_in_flight=1)
    in_flight = [batcher.submit(item, deadline()) for item in range(3)]
    waiting_for_slot = [batcher.submit(item, deadline()) for item in range(3, 6)]
    gathering = [batcher.submit(item, deadline()) for item in range(6, 8)]
    await asyncio.sleep(0.01)
    assert heap.calls == [[0, 1, 2]]

    batcher.cancel()
    results = await asyncio.gather(
        *in_flight, *waiting_for_slot, *gathering, return_exceptions=True
    )

    assert len(results) == 8
    assert all(isinstance(result, HeapUnavailable) for result in results), results
    assert heap.calls == [[0, 1, 2]]


@pytest.mark.timeout(10)  # a future that is never settled hangs
async def test_cancel_right_after_submit_fails_the_items_that_never_went_out() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=10, linger=LONG_LINGER, max_in_flight=1)
    futures = [batcher.submit(item, deadline()) for item in range(3)]

    batcher.cancel()

    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(result, HeapUnavailable) for result in results), results
    assert heap.calls == []


@pytest.mark.timeout(10)  # a future that is never settled hangs
async def test_cancel_during_isolation_of_a_bad_item_fails_every_unanswered_item() -> None:
    heap = FakeHeap()
    items: list[object] = list(range(8))
    items[5] = BAD
    batcher = BulkBatcher(heap.send, max_batch=8, linger=LONG_LINGER, max_in_flight=1)
    futures = [batcher.submit(item, deadline()) for item in items]
    while len(heap.calls) < 1:
        await asyncio.sleep(0)
    heap.release = asyncio.Event()  # the halves hang
    while len(heap.calls) < 2:
        await asyncio.sleep(0)

    batcher.cancel()

    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(result, HeapUnavailable) for result in results), results


@pytest.mark.parametrize("max_in_flight", [1, 4])
async def test_every_future_resolves_once_under_a_mixed_load(max_in_flight: int) -> None:
    heap = FakeHeap(delay=0.001)
    batcher = BulkBatcher(heap.send, max_batch=7, linger=0.005, max_in_flight=max_in_flight)
    items: list[object] = [BAD if i % 97 == 13 else i for i in range(300)]

    results = await asyncio.gather(
        *(batcher.submit(item, deadline()) for item in items), return_exceptions=True
    )

    for item, result in zip(items, results, strict=True):
        if item == BAD:
            assert isinstance(result, HeapRejected)
        else:
            assert result is None
    assert Counter(heap.delivered()) == Counter(i for i in items if i != BAD)
    assert all(len(call) <= 7 for call in heap.calls)


async def test_a_rejection_of_the_whole_app_fails_the_batch_without_splitting() -> None:
    sends: list[int] = []

    async def send(items: list[int], deadline: float, caller: str) -> None:
        sends.append(len(items))
        raise HeapRejected(403, "forbidden")

    batcher = BulkBatcher(send, max_batch=100, linger=0.001, max_in_flight=4)
    futures = [batcher.submit(n, deadline=time.monotonic() + 10) for n in range(100)]
    outcomes = await asyncio.gather(*futures, return_exceptions=True)

    assert sends == [100]
    assert all(isinstance(o, HeapRejected) and o.status == 403 for o in outcomes)


async def test_a_batch_a_stream_keeps_feeding_waits_past_the_linger_to_fill() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=6, linger=0.05, max_in_flight=4)

    futures = []
    for item in range(6):
        futures.append(batcher.submit(item, deadline(), from_stream=True))
        await asyncio.sleep(0.1)  # two lingers between items, as on a busy CPU
    await asyncio.gather(*futures)

    assert heap.calls == [list(range(6))]


async def test_a_batch_nobody_feeds_goes_out_after_its_linger() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=10, linger=0.01, max_in_flight=4)

    futures = []
    for item in range(3):
        futures.append(batcher.submit(item, deadline()))
        await asyncio.sleep(0.02)
    await asyncio.gather(*futures)

    assert heap.calls == [[0], [1], [2]]


async def test_a_fed_batch_still_goes_out_after_100_lingers() -> None:
    heap = FakeHeap()
    batcher = BulkBatcher(heap.send, max_batch=1000, linger=0.01, max_in_flight=4)

    first = batcher.submit(0, deadline(), from_stream=True)
    async with asyncio.timeout(10):  # 100 lingers is 1 s; a feed must not hold it forever
        while not first.done():
            batcher.submit(1, deadline(), from_stream=True)
            await asyncio.sleep(0.01)

    assert len(heap.calls) == 1
