"""DeliveryEngine.submit_track_now: a stream's event queued without a wait or a future."""

import asyncio
import time
from collections.abc import Callable

import pytest

from heap_destination.delivery.engine import DeliveryEngine
from heap_destination.delivery.errors import HeapRejected
from heap_destination.delivery.heap.bodies import ADD_USER_PROPERTIES_PATH, TRACK_PATH
from heap_destination.delivery.limits.budget_scheduler import SingleEventSettings
from heap_destination.domain.destination import Destination
from heap_destination.domain.track import PreparedTrack, TrackInput, prepare_track
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from tests.delivery.engine_support import NO_RATE_LIMITS, ONE_EVENT_PER_APP


class Told:
    """An Answer that remembers what it was told, and when it first was."""

    def __init__(self) -> None:
        self.outcomes: list[BaseException | None] = []
        self.first = asyncio.Event()

    def __call__(self, error: BaseException | None) -> None:
        self.outcomes.append(error)
        self.first.set()

    async def outcome(self) -> BaseException | None:
        await asyncio.wait_for(self.first.wait(), timeout=10)
        await asyncio.sleep(0.05)  # time to be told a second time, which it must not be
        assert len(self.outcomes) == 1
        return self.outcomes[0]


def track(
    to: Destination, user_id: str = "user-1", traits: dict[str, str] | None = None
) -> PreparedTrack:
    return prepare_track(TrackInput(user_id=user_id, event="Signed Up", traits=traits or {}), to)


def deadline() -> float:
    return time.monotonic() + 10


@pytest.mark.parametrize("scheduler", [False, True])
async def test_an_event_within_the_budget_is_queued_at_once_and_its_answer_told_once_delivered(
    sim: HeapSimulator,
    destination: Destination,
    make_engine: Callable[..., DeliveryEngine],
    scheduler: bool,
) -> None:
    engine = make_engine(
        rate_limits=ONE_EVENT_PER_APP if scheduler else NO_RATE_LIMITS,
        single_events=SingleEventSettings(enabled=scheduler),
    )
    told = Told()

    assert engine.submit_track_now(destination, track(destination), deadline(), "", told)

    assert await told.outcome() is None
    assert [r.path for r in sim.accepted()] == [TRACK_PATH]


async def test_an_event_that_would_wait_for_the_budget_is_not_queued_and_takes_none_of_it(
    sim: HeapSimulator, destination: Destination, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine(rate_limits=ONE_EVENT_PER_APP)
    first = Told()
    assert engine.submit_track_now(destination, track(destination), deadline(), "", first)
    assert await first.outcome() is None

    refused = Told()
    assert not engine.submit_track_now(destination, track(destination), deadline(), "", refused)

    await asyncio.sleep(0.1)
    assert refused.outcomes == []
    assert len(sim.accepted()) == 1


async def test_an_event_with_traits_is_told_once_both_are_in_heap_or_the_first_failure(
    sim: HeapSimulator, destination: Destination, make_engine: Callable[..., DeliveryEngine]
) -> None:
    engine = make_engine()
    delivered = Told()
    with_traits = track(destination, traits={"plan": "pro"})
    assert engine.submit_track_now(destination, with_traits, deadline(), "", delivered)
    assert await delivered.outcome() is None
    assert sorted(r.path for r in sim.accepted()) == [ADD_USER_PROPERTIES_PATH, TRACK_PATH]

    sim.inject(Fault(status=400, path=ADD_USER_PROPERTIES_PATH))
    failed = Told()
    assert engine.submit_track_now(destination, with_traits, deadline(), "", failed)
    assert isinstance(await failed.outcome(), HeapRejected)
