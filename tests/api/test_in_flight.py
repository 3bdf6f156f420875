import asyncio

from heap_destination.api.in_flight import InFlightLimit, StreamInFlight

MANY_BYTES = 1 << 30


async def still_waiting(task: asyncio.Task[None], loop_turns: int = 10) -> bool:
    for _ in range(loop_turns):
        await asyncio.sleep(0)
    return not task.done()


async def test_a_stream_below_both_bounds_has_room_at_once() -> None:
    shared = InFlightLimit(10, MANY_BYTES)
    stream = StreamInFlight(shared, 2, MANY_BYTES)
    stream.take(100)
    await stream.wait_for_room(100)
    assert (stream.count, shared.count, stream.size, shared.size) == (1, 1, 100, 100)


async def test_a_stream_at_its_bound_waits_until_it_gives_one_back() -> None:
    shared = InFlightLimit(100, MANY_BYTES)
    stream = StreamInFlight(shared, 2, MANY_BYTES)
    stream.take(1)
    stream.take(1)
    waiter = asyncio.create_task(stream.wait_for_room(1))
    assert await still_waiting(waiter)

    stream.give_back(1)

    await waiter
    assert (stream.count, shared.count) == (1, 1)


async def test_a_stream_at_its_byte_bound_waits_though_it_has_few_events() -> None:
    shared = InFlightLimit(100, MANY_BYTES)
    stream = StreamInFlight(shared, 100, 1000)
    stream.take(900)
    waiter = asyncio.create_task(stream.wait_for_room(200))
    assert await still_waiting(waiter)
    assert stream.has_room(100)

    stream.give_back(900)

    await waiter


async def test_the_shared_byte_bound_holds_back_every_stream() -> None:
    shared = InFlightLimit(100, 1000)
    busy, idle = StreamInFlight(shared, 100, 1000), StreamInFlight(shared, 100, 1000)
    busy.take(800)
    waiter = asyncio.create_task(idle.wait_for_room(300))
    assert await still_waiting(waiter)

    busy.give_back(800)

    await waiter
    assert shared.size == 0


async def test_one_event_larger_than_the_bounds_is_taken_when_nothing_else_is_in_flight() -> None:
    shared = InFlightLimit(100, 1000)
    stream = StreamInFlight(shared, 100, 500)

    await asyncio.wait_for(stream.wait_for_room(5000), timeout=1)
    stream.take(5000)

    assert not stream.has_room(1)
    assert not shared.has_room(1)


async def test_room_given_back_by_another_stream_does_not_lift_this_streams_bound() -> None:
    shared = InFlightLimit(100, MANY_BYTES)
    full, other = StreamInFlight(shared, 1, MANY_BYTES), StreamInFlight(shared, 5, MANY_BYTES)
    full.take(1)
    other.take(1)
    waiter = asyncio.create_task(full.wait_for_room(1))
    assert await still_waiting(waiter)

    other.give_back(1)
    assert await still_waiting(waiter)

    full.give_back(1)
    await waiter


async def test_the_shared_bound_holds_back_every_stream() -> None:
    shared = InFlightLimit(3, MANY_BYTES)
    busy, idle = StreamInFlight(shared, 10, MANY_BYTES), StreamInFlight(shared, 10, MANY_BYTES)
    for _ in range(3):
        busy.take(1)
    assert not shared.has_room(1)
    waiters = [asyncio.create_task(s.wait_for_room(1)) for s in (busy, idle)]
    assert await still_waiting(waiters[0])
    assert await still_waiting(waiters[1])

    busy.give_back(1)

    await asyncio.gather(*waiters)
    assert shared.has_room(1)


async def test_unary_calls_taking_from_the_shared_bound_hold_back_streams() -> None:
    shared = InFlightLimit(2, MANY_BYTES)
    stream = StreamInFlight(shared, 10, MANY_BYTES)
    shared.take(1)
    shared.take(1)
    waiter = asyncio.create_task(stream.wait_for_room(1))
    assert await still_waiting(waiter)

    shared.give_back(1)

    await waiter
    assert shared.count == 1


async def test_a_cancelled_waiter_does_not_keep_others_from_waking() -> None:
    shared = InFlightLimit(1, MANY_BYTES)
    holder, a, b = (StreamInFlight(shared, 5, MANY_BYTES) for _ in range(3))
    holder.take(1)
    first, second = (asyncio.create_task(s.wait_for_room(1)) for s in (a, b))
    assert await still_waiting(first)
    first.cancel()
    assert await still_waiting(second)

    holder.give_back(1)

    await second
    assert first.cancelled()


async def test_waiters_keep_waiting_while_the_bound_is_full_again_after_a_give_back() -> None:
    shared = InFlightLimit(1, MANY_BYTES)
    stream = StreamInFlight(shared, 5, MANY_BYTES)
    shared.take(1)
    waiter = asyncio.create_task(stream.wait_for_room(1))
    assert await still_waiting(waiter)

    shared.give_back(1)
    shared.take(1)  # someone else took the room before the waiter ran

    assert await still_waiting(waiter)
    shared.give_back(1)
    await waiter
