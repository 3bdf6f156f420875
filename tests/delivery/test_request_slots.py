import asyncio

import pytest

from heap_destination.delivery.request_slots import RequestSlots

HOLDER = "holder"
"""A caller that takes slots up front and never queues behind anyone."""


async def let_the_loop_run(turns: int = 10) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def still_waiting(task: asyncio.Task[None], loop_turns: int = 10) -> bool:
    await let_the_loop_run(loop_turns)
    return not task.done()


def queue_waiter(
    slots: RequestSlots, caller: str, endpoint: str, granted: list[str], name: str
) -> asyncio.Task[None]:
    """A task that acquires a slot, notes `name` in `granted` and keeps the slot."""

    async def take() -> None:
        await slots.acquire(caller, endpoint)
        granted.append(name)

    return asyncio.create_task(take())


async def queue_in_order(
    slots: RequestSlots, waiters: list[tuple[str, str, str]], granted: list[str]
) -> list[asyncio.Task[None]]:
    """Queues (caller, endpoint, name) waiters one after another, each in its turn."""
    tasks = []
    for caller, endpoint, name in waiters:
        tasks.append(queue_waiter(slots, caller, endpoint, granted, name))
        await let_the_loop_run(1)
    await let_the_loop_run()
    return tasks


async def release_one_at_a_time(slots: RequestSlots, times: int, granted: list[str]) -> None:
    for expected in range(len(granted) + 1, len(granted) + times + 1):
        slots.release()
        await let_the_loop_run()
        assert len(granted) == expected, "a release must grant exactly one waiter"


async def test_up_to_the_limit_acquire_at_once_without_waiting() -> None:
    slots = RequestSlots(3)

    for endpoint in ("/a", "/b", "/c"):
        await asyncio.wait_for(slots.acquire("caller", endpoint), timeout=1)

    assert slots.in_use == 3


async def test_one_more_than_the_limit_waits_until_a_slot_is_released() -> None:
    slots = RequestSlots(2)
    await slots.acquire(HOLDER, "/a")
    await slots.acquire(HOLDER, "/a")
    waiter = asyncio.create_task(slots.acquire("caller", "/a"))
    assert await still_waiting(waiter)

    slots.release()

    await asyncio.wait_for(waiter, timeout=1)
    assert slots.in_use == 2


async def test_try_acquire_takes_a_free_slot_but_never_one_a_waiter_is_owed() -> None:
    slots = RequestSlots(1)
    assert slots.try_acquire()
    assert not slots.try_acquire()
    waiter = asyncio.create_task(slots.acquire("caller", "/a"))
    assert await still_waiting(waiter)

    slots.release()

    assert not slots.try_acquire()
    await asyncio.wait_for(waiter, timeout=1)
    assert slots.in_use == 1


async def test_a_release_with_nobody_waiting_frees_the_slot() -> None:
    slots = RequestSlots(2)
    await slots.acquire("caller", "/a")
    await slots.acquire("caller", "/a")

    slots.release()

    assert slots.in_use == 1
    await asyncio.wait_for(slots.acquire("caller", "/a"), timeout=1)
    assert slots.in_use == 2


async def test_a_caller_queued_later_is_served_after_one_request_of_a_busy_caller_not_all() -> None:
    slots = RequestSlots(1)
    await slots.acquire(HOLDER, "/held")
    granted: list[str] = []
    busy = [("busy", f"/app-{n}", f"busy-{n}") for n in range(50)]
    await queue_in_order(slots, [*busy, ("late", "/app-late", "late")], granted)
    assert granted == []

    await release_one_at_a_time(slots, 2, granted)

    # The busy caller queued first, so one of its requests goes first; the late caller
    # is next rather than behind the other 49.
    assert granted == ["busy-0", "late"]
    await release_one_at_a_time(slots, 49, granted)
    assert granted == ["busy-0", "late", *(f"busy-{n}" for n in range(1, 50))]


async def test_a_caller_holding_every_slot_does_not_keep_a_late_caller_behind_its_queue() -> None:
    slots = RequestSlots(4)
    for n in range(4):
        await slots.acquire("busy", f"/app-{n}")
    granted: list[str] = []
    busy = [("busy", f"/app-{n}", f"busy-{n}") for n in range(4, 50)]
    await queue_in_order(slots, [*busy, ("late", "/app-late", "late")], granted)

    await release_one_at_a_time(slots, 2, granted)

    assert granted == ["busy-4", "late"]


async def test_within_a_caller_endpoints_take_turns() -> None:
    slots = RequestSlots(1)
    await slots.acquire("caller", "/x")
    granted: list[str] = []
    crowded = [("caller", "/x", f"x-{n}") for n in range(10)]
    await queue_in_order(slots, [*crowded, ("caller", "/y", "y")], granted)

    await release_one_at_a_time(slots, 11, granted)

    assert granted == ["x-0", "y", *(f"x-{n}" for n in range(1, 10))]


async def test_callers_take_turns_and_each_callers_endpoints_take_turns() -> None:
    slots = RequestSlots(1)
    await slots.acquire(HOLDER, "/held")
    granted: list[str] = []
    waiters = [
        ("a", "/x", "a-x-0"),
        ("a", "/x", "a-x-1"),
        ("a", "/y", "a-y-0"),
        ("b", "/x", "b-x-0"),
        ("b", "/x", "b-x-1"),
    ]
    await queue_in_order(slots, waiters, granted)

    await release_one_at_a_time(slots, 5, granted)

    assert granted == ["a-x-0", "b-x-0", "a-y-0", "b-x-1", "a-x-1"]


async def test_a_cancelled_waiter_never_holds_a_slot_and_does_not_block_the_others() -> None:
    slots = RequestSlots(2)
    await slots.acquire(HOLDER, "/a")
    await slots.acquire(HOLDER, "/a")
    granted: list[str] = []
    first, cancelled, last = await queue_in_order(
        slots, [("a", "/a", "first"), ("b", "/a", "cancelled"), ("c", "/a", "last")], granted
    )

    cancelled.cancel()
    await let_the_loop_run()
    assert cancelled.cancelled()
    assert slots.in_use == 2

    slots.release()
    slots.release()
    await asyncio.wait_for(asyncio.gather(first, last), timeout=1)

    assert granted == ["first", "last"]
    slots.release()
    slots.release()
    assert slots.in_use == 0


async def test_every_slot_is_free_again_after_all_waiters_gave_up() -> None:
    slots = RequestSlots(1)
    await slots.acquire(HOLDER, "/a")
    granted: list[str] = []
    waiters = await queue_in_order(
        slots, [("caller", f"/app-{n}", f"w-{n}") for n in range(5)], granted
    )
    for waiter in waiters:
        waiter.cancel()
    await let_the_loop_run()

    slots.release()

    assert slots.in_use == 0
    await asyncio.wait_for(slots.acquire("caller", "/a"), timeout=1)
    assert slots.in_use == 1
    assert granted == []


async def test_a_waiter_cancelled_right_after_its_grant_passes_the_slot_on() -> None:
    slots = RequestSlots(1)
    await slots.acquire(HOLDER, "/a")
    granted: list[str] = []
    unlucky, next_in_line = await queue_in_order(
        slots, [("a", "/a", "unlucky"), ("b", "/a", "next")], granted
    )

    slots.release()  # grants `unlucky`, which has not run yet...
    unlucky.cancel()  # ...and gives up before it does
    await let_the_loop_run()

    assert unlucky.cancelled()
    await asyncio.wait_for(next_in_line, timeout=1)
    assert granted == ["next"]
    assert slots.in_use == 1


async def test_a_waiter_cancelled_right_after_its_grant_frees_the_slot_if_nobody_waits() -> None:
    slots = RequestSlots(1)
    await slots.acquire(HOLDER, "/a")
    waiter = asyncio.create_task(slots.acquire("caller", "/a"))
    assert await still_waiting(waiter)

    slots.release()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter

    assert slots.in_use == 0
