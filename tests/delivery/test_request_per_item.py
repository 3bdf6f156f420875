import asyncio
import time
from collections import Counter

import pytest

from heap_destination.delivery.errors import HeapRejected, HeapUnavailable
from heap_destination.delivery.request_per_item import RequestPerItem

REJECTED = "rejected"
BROKEN = "broken"


class FakeHeap:
    """The `send` of RequestPerItem: records every call; REJECTED items get a 400 and
    BROKEN items an unexpected RuntimeError."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[str] = []
        self.callers: list[str] = []
        self.delay = delay
        self.concurrent = 0
        self.max_concurrent = 0
        self.release: asyncio.Event | None = None
        """When set, every send waits for it before answering."""

    async def send(self, item: str, deadline: float, caller: str) -> None:
        self.sent.append(item)
        self.callers.append(caller)
        self.concurrent += 1
        self.max_concurrent = max(self.max_concurrent, self.concurrent)
        try:
            if self.release is not None:
                await self.release.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.concurrent -= 1
        if item.startswith(REJECTED):
            raise HeapRejected(400, f"bad identify {item}")
        if item.startswith(BROKEN):
            raise RuntimeError(f"surprise while sending {item}")


def deadline() -> float:
    return time.monotonic() + 30


async def let_the_loop_run(turns: int = 10) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_every_item_is_sent_once_and_its_future_resolves() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=4)
    items = [f"user-{n}" for n in range(20)]

    results = await asyncio.gather(*(requests.submit(item, deadline(), "c") for item in items))

    assert results == [None] * 20
    assert Counter(heap.sent) == Counter(items)


async def test_the_callers_name_goes_with_each_send() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=1)

    await asyncio.gather(
        requests.submit("a", deadline(), "caller-1"), requests.submit("b", deadline(), "caller-2")
    )

    assert list(zip(heap.sent, heap.callers, strict=True)) == [("a", "caller-1"), ("b", "caller-2")]


async def test_at_most_max_in_flight_sends_run_at_once() -> None:
    heap = FakeHeap(delay=0.01)
    requests = RequestPerItem(heap.send, max_in_flight=3)

    await asyncio.gather(*(requests.submit(f"user-{n}", deadline(), "c") for n in range(30)))

    assert heap.max_concurrent == 3
    assert len(heap.sent) == 30


async def test_a_delivery_error_fails_only_its_item() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=2)
    items = ["a", f"{REJECTED}-1", "b", "c"]

    results = await asyncio.gather(
        *(requests.submit(item, deadline(), "c") for item in items), return_exceptions=True
    )

    rejection = results[1]
    assert isinstance(rejection, HeapRejected)
    assert rejection.status == 400
    assert f"{REJECTED}-1" in rejection.body
    assert [results[0], *results[2:]] == [None, None, None]
    assert Counter(heap.sent) == Counter(items)


async def test_an_unexpected_exception_fails_its_item_with_it_and_the_rest_still_go_out() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=1)  # one worker must survive it
    items = [f"{BROKEN}-1", "a", "b", "c"]

    results = await asyncio.wait_for(
        asyncio.gather(
            *(requests.submit(item, deadline(), "c") for item in items), return_exceptions=True
        ),
        timeout=5,
    )

    failure = results[0]
    assert isinstance(failure, RuntimeError)
    assert str(failure) == f"surprise while sending {BROKEN}-1"
    assert results[1:] == [None, None, None]
    assert heap.sent == items


@pytest.mark.parametrize("max_in_flight", [1, 4])
async def test_every_item_gets_exactly_one_outcome_under_a_mixed_load(max_in_flight: int) -> None:
    heap = FakeHeap(delay=0.001)
    requests = RequestPerItem(heap.send, max_in_flight=max_in_flight)
    items = [
        f"{REJECTED}-{n}" if n % 7 == 3 else f"{BROKEN}-{n}" if n % 11 == 5 else f"user-{n}"
        for n in range(100)
    ]

    results = await asyncio.wait_for(
        asyncio.gather(
            *(requests.submit(item, deadline(), "c") for item in items), return_exceptions=True
        ),
        timeout=10,
    )

    for item, result in zip(items, results, strict=True):
        if item.startswith(REJECTED):
            assert isinstance(result, HeapRejected), (item, result)
        elif item.startswith(BROKEN):
            assert isinstance(result, RuntimeError), (item, result)
        else:
            assert result is None, (item, result)
    assert Counter(heap.sent) == Counter(items)
    assert heap.max_concurrent <= max_in_flight


async def test_an_item_whose_deadline_already_passed_fails_without_a_send() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=2)

    late = requests.submit("late", time.monotonic() - 1, "c")
    on_time = requests.submit("on-time", deadline(), "c")

    with pytest.raises(HeapUnavailable, match="no time left"):
        await late
    await on_time
    assert heap.sent == ["on-time"]


async def test_an_item_whose_deadline_passes_while_it_waits_for_a_worker_fails_unsent() -> None:
    heap = FakeHeap()
    heap.release = asyncio.Event()
    requests = RequestPerItem(heap.send, max_in_flight=1)
    busy = requests.submit("busy", deadline(), "c")
    waiting = requests.submit("waiting", time.monotonic() + 0.05, "c")
    await asyncio.sleep(0.1)
    assert heap.sent == ["busy"]

    heap.release.set()

    await busy
    with pytest.raises(HeapUnavailable):
        await waiting
    assert heap.sent == ["busy"]


@pytest.mark.timeout(10)  # a future that is never settled hangs
async def test_cancel_fails_every_pending_item_with_heap_unavailable() -> None:
    heap = FakeHeap()
    heap.release = asyncio.Event()
    requests = RequestPerItem(heap.send, max_in_flight=2)
    futures = [requests.submit(f"user-{n}", deadline(), "c") for n in range(6)]
    await let_the_loop_run()
    assert heap.sent == ["user-0", "user-1"]

    requests.cancel()

    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(result, HeapUnavailable) for result in results), results
    assert heap.sent == ["user-0", "user-1"]
    await let_the_loop_run()
    assert requests.idle


@pytest.mark.timeout(10)  # a future that is never settled hangs
async def test_cancel_right_after_submit_fails_the_items_without_sending_them() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=2)
    futures = [requests.submit(f"user-{n}", deadline(), "c") for n in range(3)]

    requests.cancel()

    results = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(result, HeapUnavailable) for result in results), results
    assert heap.sent == []
    await let_the_loop_run()
    assert requests.idle  # its workers, cancelled before they ran, are not counted


async def test_cancel_leaves_answered_items_as_they_were() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=1)
    delivered = requests.submit("delivered", deadline(), "c")
    await delivered

    requests.cancel()

    assert delivered.result() is None


async def test_idle_while_nothing_is_queued_or_running() -> None:
    heap = FakeHeap()
    heap.release = asyncio.Event()
    requests = RequestPerItem(heap.send, max_in_flight=1)
    assert requests.idle

    futures = [requests.submit(item, deadline(), "c") for item in ("a", "b")]
    assert not requests.idle
    await let_the_loop_run()
    assert not requests.idle  # "a" is being sent, "b" is queued

    heap.release.set()
    await asyncio.gather(*futures)
    await let_the_loop_run(1)  # the worker's task ends a loop turn after its last answer

    assert requests.idle


async def test_an_item_submitted_as_soon_as_the_previous_one_was_answered_is_sent() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=1)
    await requests.submit("first", deadline(), "c")

    second = requests.submit("second", deadline(), "c")

    await asyncio.wait_for(second, timeout=2)
    assert heap.sent == ["first", "second"]


async def test_items_submitted_one_after_another_by_many_callers_are_all_sent() -> None:
    heap = FakeHeap()
    requests = RequestPerItem(heap.send, max_in_flight=2)

    async def caller(name: str) -> None:
        for n in range(10):
            await requests.submit(f"{name}-{n}", deadline(), name)

    await asyncio.wait_for(asyncio.gather(*(caller(f"c{i}") for i in range(5))), timeout=3)

    assert len(heap.sent) == 50
