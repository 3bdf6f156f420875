import asyncio

from heap_destination.delivery.in_flight import InFlightLimit, StreamInFlight


async def still_waiting(task: asyncio.Task[None], loop_turns: int = 10) -> bool:
    for _ in range(loop_turns):
        await asyncio.sleep(0)
    return not task.done()


async def test_a_stream_below_both_bounds_has_room_at_once() -> None:
    shared = InFlightLimit(10)
    stream = StreamInFlight(shared, limit=2)
    stream.take()
    await stream.wait_for_room()
    assert (stream.count, shared.count) == (1, 1)


async def test_a_stream_at_its_bound_waits_until_it_gives_one_back() -> None:
    shared = InFlightLimit(100)
    stream = StreamInFlight(shared, limit=2)
    stream.take()
    stream.take()
    waiter = asyncio.create_task(stream.wait_for_room())
    assert await still_waiting(waiter)

    stream.give_back()

    await waiter
    assert (stream.count, shared.count) == (1, 1)


async def test_room_given_back_by_another_stream_does_not_lift_this_streams_bound() -> None:
    shared = InFlightLimit(100)
    full, other = StreamInFlight(shared, limit=1), StreamInFlight(shared, limit=5)
    full.take()
    other.take()
    waiter = asyncio.create_task(full.wait_for_room())
    assert await still_waiting(waiter)

    other.give_back()
    assert await still_waiting(waiter)

    full.give_back()
    await waiter


async def test_the_shared_bound_holds_back_every_stream() -> None:
    shared = InFlightLimit(3)
    busy, idle = StreamInFlight(shared, limit=10), StreamInFlight(shared, limit=10)
    for _ in range(3):
        busy.take()
    assert shared.is_full()
    waiters = [asyncio.create_task(s.wait_for_room()) for s in (busy, idle)]
    assert await still_waiting(waiters[0])
    assert await still_waiting(waiters[1])

    busy.give_back()

    await asyncio.gather(*waiters)
    assert not shared.is_full()


async def test_unary_calls_taking_from_the_shared_bound_hold_back_streams() -> None:
    shared = InFlightLimit(2)
    stream = StreamInFlight(shared, limit=10)
    shared.take(2)
    waiter = asyncio.create_task(stream.wait_for_room())
    assert await still_waiting(waiter)

    shared.give_back(2)

    await waiter
    assert shared.count == 0


async def test_a_cancelled_waiter_does_not_keep_others_from_waking() -> None:
    shared = InFlightLimit(1)
    holder, a, b = (StreamInFlight(shared, limit=5) for _ in range(3))
    holder.take()
    first, second = (asyncio.create_task(s.wait_for_room()) for s in (a, b))
    assert await still_waiting(first)
    first.cancel()
    assert await still_waiting(second)

    holder.give_back()

    await second
    assert first.cancelled()


async def test_waiters_keep_waiting_while_the_bound_is_full_again_after_a_give_back() -> None:
    shared = InFlightLimit(1)
    stream = StreamInFlight(shared, limit=5)
    shared.take()
    waiter = asyncio.create_task(stream.wait_for_room())
    assert await still_waiting(waiter)

    shared.give_back()
    shared.take()  # someone else took the room before the waiter ran

    assert await still_waiting(waiter)
    shared.give_back()
    await waiter
