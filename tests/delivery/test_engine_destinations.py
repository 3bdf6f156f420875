import asyncio
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import HeapUnavailable, Overloaded, RateLimited
from heap_destination.delivery.heap.bodies import IDENTIFY_PATH, TRACK_PATH
from heap_destination.delivery.heap.client import new_http_client
from heap_destination.delivery.limits.budget_scheduler import SingleEventSettings
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, PreparedIdentify, prepare_identify
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.track import PreparedTrack, TrackInput, prepare_track
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.delivery.engine_support import MAX_REQUESTS, ONE_EVENT_PER_APP
from tests.support.wait import wait_until

LONG_LINGER = 60.0
"""A linger no test waits out: events submitted under it stay queued, their destination busy."""


class CountingSlots(RequestSlots):
    """RequestSlots that remember the most requests to Heap they saw out at once."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.peak = 0

    def try_acquire(self) -> bool:
        taken = super().try_acquire()
        self.peak = max(self.peak, self.in_use)
        return taken

    async def acquire(self, caller: str, endpoint: str) -> None:
        await super().acquire(caller, endpoint)
        self.peak = max(self.peak, self.in_use)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_client(MAX_REQUESTS) as client:
        yield client


def destination(sim: HeapSimulator, app_id: str) -> Destination:
    return Destination(
        app_id=app_id,
        base_url=sim.url,
        nested_mode=NestedMode.FLATTEN,
        anonymous_id_as_identity=False,
    )


def track(to: Destination, user_id: str = "user-1", event: str = "Signed Up") -> PreparedTrack:
    return prepare_track(TrackInput(user_id=user_id, event=event), to)


def identify(to: Destination, user_id: str, heap_user_id: str) -> PreparedIdentify:
    return prepare_identify(IdentifyInput(user_id=user_id, heap_user_id=heap_user_id), to)


def in_seconds(seconds: float) -> float:
    return time.monotonic() + seconds


def tracked_app_ids(sim: HeapSimulator) -> list[str]:
    return [
        request.body["app_id"]
        for request in sim.accepted()
        for _ in request.body["events"]
        if request.path == TRACK_PATH
    ]


async def test_a_new_destination_is_turned_away_while_the_bound_of_destinations_have_work(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=2, linger=LONG_LINGER)
    first, second, third = (destination(sim, app_id) for app_id in ("1", "2", "3"))
    await engine.submit_track(first, track(first), in_seconds(10))
    await engine.submit_track(second, track(second), in_seconds(10))

    with pytest.raises(Overloaded) as raised:
        await engine.submit_track(third, track(third), in_seconds(10))

    assert raised.value.retry_after > 0
    assert "2 destinations" in str(raised.value)


@pytest.mark.parametrize("path", ["bulk", "single"])
async def test_with_the_budget_scheduler_track_work_on_either_path_counts_at_the_bound(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine], path: str
) -> None:
    engine = make_engine(
        max_destinations=1,
        linger=LONG_LINGER if path == "bulk" else 0.01,
        rate_limits=ONE_EVENT_PER_APP,
        single_events=SingleEventSettings(enabled=True),
    )
    first, second = destination(sim, "1"), destination(sim, "2")
    in_bulk = await engine.submit_track(first, track(first), in_seconds(10))
    if path == "single":
        await asyncio.wait_for(in_bulk, timeout=10)
        sim.inject(Fault(latency_ms=2000, count=1))  # holds the single-event request
        # Past the app's bulk budget (one event), as a single-event request.
        await engine.submit_track(first, track(first, "user-2"), in_seconds(10))
        await asyncio.sleep(0.05)
        assert [a.path for a in sim.attempts()] == [TRACK_PATH]  # the single one is held

    with pytest.raises(Overloaded):
        await engine.submit_track(second, track(second), in_seconds(10))


async def test_an_event_waiting_to_go_in_bulk_after_its_single_request_failed_counts_at_the_bound(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(
        max_destinations=1,
        rate_limits=ONE_EVENT_PER_APP,
        single_events=SingleEventSettings(enabled=True),
    )
    first, second = destination(sim, "1"), destination(sim, "2")
    await asyncio.wait_for(await engine.submit_track(first, track(first), in_seconds(10)), 10)
    sim.inject(Fault(status=503, count=1))
    # Past the app's bulk budget: a single-event request, which fails, so the event waits
    # for the bulk budget (used up for the window) until its deadline.
    waiting = await engine.submit_track(first, track(first, "user-2"), in_seconds(1))
    await asyncio.to_thread(wait_until, lambda: len(sim.attempts()) == 2, 10, 0.01)

    while not waiting.done():
        with pytest.raises(Overloaded):
            await engine.submit_track(second, track(second), in_seconds(10))
        await asyncio.sleep(0.01)

    with pytest.raises(HeapUnavailable):
        await waiting


async def test_an_identify_for_a_new_destination_is_turned_away_at_the_bound_too(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=1, linger=LONG_LINGER)
    busy, other = destination(sim, "1"), destination(sim, "2")
    await engine.submit_track(busy, track(busy), in_seconds(10))

    with pytest.raises(Overloaded):
        await engine.submit_identify(other, identify(other, "user-1", "42"), in_seconds(10))

    await asyncio.sleep(0.05)
    assert [a.path for a in sim.attempts()] == []


async def test_a_destination_with_work_still_takes_more_at_the_bound(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=1, linger=0.01)
    busy = destination(sim, "1")
    futures = [
        await engine.submit_track(busy, track(busy, user_id=f"user-{n}"), in_seconds(10))
        for n in range(5)
    ]

    await asyncio.wait_for(asyncio.gather(*futures), timeout=10)

    assert tracked_app_ids(sim) == ["1"] * 5


async def test_a_destination_turned_away_leaves_its_rate_limit_room_unused(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=1, linger=LONG_LINGER, rate_limits=ONE_EVENT_PER_APP)
    busy, turned_away = destination(sim, "1"), destination(sim, "2")
    await engine.submit_track(busy, track(busy), in_seconds(10))
    with pytest.raises(Overloaded):
        await engine.submit_track(turned_away, track(turned_away), in_seconds(10))

    # The event turned away gave its room back: another of its app is admitted at once
    # (and turned away by the bound again, not by the rate limit)...
    with pytest.raises(Overloaded):
        await engine.submit_track(turned_away, track(turned_away), in_seconds(0.5))
    # ...while the limit itself is still in force.
    with pytest.raises(RateLimited):
        await engine.submit_track(busy, track(busy), in_seconds(0.2))


async def test_once_earlier_destinations_went_idle_a_new_destination_is_accepted(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=2, linger=0.01)
    first, second, third = (destination(sim, app_id) for app_id in ("1", "2", "3"))
    delivered = [
        await engine.submit_track(first, track(first), in_seconds(10)),
        await engine.submit_track(second, track(second), in_seconds(10)),
    ]
    await asyncio.wait_for(asyncio.gather(*delivered), timeout=10)
    await asyncio.sleep(0)  # the finished send tasks end a loop turn after their answer

    await asyncio.wait_for(
        await engine.submit_track(third, track(third), in_seconds(10)), timeout=10
    )

    assert Counter(tracked_app_ids(sim)) == Counter({"1": 1, "2": 1, "3": 1})


@pytest.mark.timeout(20)
async def test_a_new_destination_is_accepted_as_soon_as_the_last_ones_delivery_resolved(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=1, linger=0.01)
    first, second = destination(sim, "1"), destination(sim, "2")
    await (await engine.submit_track(first, track(first), in_seconds(10)))

    # Nothing of the first destination is queued or unanswered any more.
    delivered = await engine.submit_track(second, track(second), in_seconds(10))

    await delivered
    assert tracked_app_ids(sim) == ["1", "2"]


async def test_one_idle_destination_makes_room_while_another_is_still_busy(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=2, linger=0.01)
    idle, busy, new, one_too_many = (destination(sim, app_id) for app_id in "1234")
    await asyncio.wait_for(await engine.submit_track(idle, track(idle), in_seconds(10)), timeout=10)
    sim.inject(Fault(latency_ms=2000, count=1))  # holds the busy destination's request
    await engine.submit_track(busy, track(busy), in_seconds(10))
    await asyncio.sleep(0.05)

    accepted = await engine.submit_track(new, track(new), in_seconds(10))
    with pytest.raises(Overloaded):
        await engine.submit_track(one_too_many, track(one_too_many), in_seconds(10))

    await asyncio.wait_for(accepted, timeout=10)
    assert "3" in tracked_app_ids(sim)


async def test_identifies_for_one_destination_go_out_at_most_max_in_flight_at_once(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    latency, count, max_in_flight = 0.1, 50, 8
    slots = CountingSlots(MAX_REQUESTS)
    engine = make_engine(slots=slots, max_in_flight_requests=max_in_flight)
    to = destination(sim, "1")
    sim.inject(Fault(latency_ms=latency * 1000, probability=1.0, path=IDENTIFY_PATH))
    started = time.monotonic()

    futures = [
        await engine.submit_identify(to, identify(to, f"user-{n}", str(n)), in_seconds(30))
        for n in range(count)
    ]
    await asyncio.wait_for(asyncio.gather(*futures), timeout=30)

    took = time.monotonic() - started
    assert slots.peak == max_in_flight
    assert took >= math.ceil(count / max_in_flight) * latency
    accepted = [r.body for r in sim.accepted() if r.path == IDENTIFY_PATH]
    assert sorted((body["identity"], body["user_id"]) for body in accepted) == sorted(
        (f"user-{n}", str(n)) for n in range(count)
    )
    assert len(sim.attempts()) == count


async def test_a_destination_used_lately_keeps_its_place_at_the_bound(
    sim: HeapSimulator, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(max_destinations=1, linger=0.01, keep_unused_destination=0.3)
    steady, newcomer = destination(sim, "1"), destination(sim, "2")
    await asyncio.wait_for(
        await engine.submit_track(steady, track(steady), in_seconds(10)), timeout=10
    )
    await asyncio.sleep(0)

    with pytest.raises(Overloaded):
        await engine.submit_track(newcomer, track(newcomer), in_seconds(10))
    await asyncio.sleep(0.35)

    await asyncio.wait_for(
        await engine.submit_track(newcomer, track(newcomer), in_seconds(10)), timeout=10
    )
    assert tracked_app_ids(sim) == ["1", "2"]
