"""Background delivery from a real SQLite store to the real simulator over HTTP."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from heap_destination.delivery.heap_client import HeapClient, new_http_client
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.delivery.retry_policy import RetryPolicy
from heap_destination.delivery.stored_delivery import StoredDelivery, StoredDeliverySettings
from heap_destination.delivery.stored_work import Origin, identify_work, track_work
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, prepare_identify
from heap_destination.domain.nested_mode import NestedMode
from heap_destination.domain.track import TrackInput, prepare_track
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.sim.rate_limits import RateLimits
from heap_destination.store import Budget, NewItem, Store, open_store

APP = "1234567890"
NO_BUDGET = Budget(None, None, 60.0)
FAST = StoredDeliverySettings(
    idle_poll=0.02, initial_backoff=0.05, max_backoff=0.2, attempt_timeout=5.0, budget=NO_BUDGET
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(f"sqlite:{tmp_path / 'store.db'}")
    yield opened
    await opened.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with new_http_client(8) as client:
        yield client


@pytest.fixture
def destination(sim: HeapSimulator) -> Destination:
    return Destination(APP, sim.url, NestedMode.FLATTEN, False)


@pytest.fixture
def deliver(store: Store, http: aiohttp.ClientSession) -> Iterator[Callable[..., Any]]:
    """`async with deliver(**settings):` runs a worker for the block."""

    @asynccontextmanager
    async def running(**settings: Any) -> AsyncIterator[StoredDelivery]:
        client = HeapClient(http, RetryPolicy(max_attempts=1), RequestSlots(8))
        worker = StoredDelivery(store, client, replace(FAST, **settings), "test-worker")
        task = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            await worker.stop(1.0)
            task.cancel()

    yield running


def tracks(destination: Destination, count: int, users: int = 10, **fields: Any) -> list[NewItem]:
    items: list[NewItem] = []
    for n in range(count):
        track = prepare_track(
            TrackInput(
                user_id=fields.get("user_id", f"user-{n % users}"),
                event="Signed Up",
                properties={"n": n, "plan": {"name": "pro"}},
                message_id=f"m-{n}",
            ),
            destination,
        )
        items += track_work(destination, track, Origin(time.time(), f"m-{n}"))
    return items


def sent_events(sim: HeapSimulator) -> list[dict[str, Any]]:
    return [e for r in sim.accepted() if r.path == "/api/track" for e in r.body["events"]]


async def wait_until(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    give_up = time.monotonic() + timeout
    while not await _holds(condition):
        assert time.monotonic() < give_up, "condition not met in time"
        await asyncio.sleep(0.02)


async def _holds(condition: Callable[[], Any]) -> bool:
    result = condition()
    if asyncio.iscoroutine(result):
        result = await result
    return bool(result)


async def statuses(store: Store, count: int) -> list[str]:
    return [item.status for n in range(count) for item in await store.status(f"m-{n}")]


async def test_stored_events_go_out_in_one_bulk_request_each_with_its_time_and_key(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 300))

    async with deliver():
        await wait_until(lambda: _all_delivered(store, 300))

    assert len([r for r in sim.accepted() if r.path == "/api/track"]) == 1
    events = sent_events(sim)
    assert sorted(e["idempotency_key"] for e in events) == sorted(f"m-{n}" for n in range(300))
    assert all(e["timestamp"].endswith("Z") for e in events)
    assert events[0]["properties"] == {"n": 0, "plan.name": "pro"}
    item = (await store.status("m-0"))[0]
    assert (item.status, item.heap_status, item.attempts) == ("delivered", 200, 1)


async def _all_delivered(store: Store, count: int) -> bool:
    return set(await statuses(store, count)) == {"delivered"}


async def test_one_event_heap_rejects_is_dead_lettered_and_the_rest_delivered(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    items = tracks(destination, 99) + tracks(destination, 1, user_id="poison")
    items[-1] = replace(items[-1], message_id="poison")
    await store.append(items)
    sim.inject(Fault(status=400, probability=1.0, body_contains='"poison"'))

    async with deliver():
        await wait_until(lambda: len(sent_events(sim)) == 99)
        await wait_until(lambda: store.dead_letters(None, None, 10, None))

    (dead,) = await store.dead_letters(None, None, 10, None)
    assert (dead.message_id, dead.heap_status, dead.identity) == ("poison", 400, "poison")
    assert "400" in dead.last_error and dead.heap_body
    assert await _all_delivered(store, 99)


async def test_an_app_heap_refuses_is_paused_without_spending_attempts_until_resumed(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 20))
    sim.inject(Fault(status=401, count=1))

    async with deliver():
        await wait_until(lambda: _paused(store))
        await asyncio.sleep(0.3)
        assert len(sim.attempts()) == 1
        item = (await store.status("m-0"))[0]
        assert (item.status, item.attempts) == ("stored", 0)

        assert await store.resume_apps(APP) == [APP]
        await wait_until(lambda: _all_delivered(store, 20))
    assert len(sent_events(sim)) == 20


async def _paused(store: Store) -> bool:
    return any(hold.paused for hold in await store.holds())


async def test_an_outage_is_retried_with_backoff_and_everything_arrives_once(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 50))
    sim.inject(Fault(status=503, seconds=1.0))

    async with deliver():
        await wait_until(lambda: _all_delivered(store, 50))

    keys = [e["idempotency_key"] for e in sent_events(sim)]
    assert sorted(keys) == sorted(f"m-{n}" for n in range(50))
    assert any(a.status == 503 for a in sim.attempts())
    item = (await store.status("m-0"))[0]
    assert item.attempts > 1


async def test_an_event_still_failing_after_the_max_retry_age_is_dead_lettered(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 5))
    sim.inject(Fault(status=500, seconds=30.0))

    async with deliver(max_retry_age=0.5):
        await wait_until(lambda: _dead_count(store, 5))

    (item,) = await store.status("m-0")
    assert item.status == "dead"
    assert "not delivered within 0.5 s" in item.last_error
    assert item.heap_status == 500


async def _dead_count(store: Store, count: int) -> bool:
    return len(await store.dead_letters(None, None, 100, None)) == count


async def test_a_429_holds_the_app_for_its_retry_after(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 10))
    sim.inject(Fault(status=429, count=1, retry_after="1"))
    started = time.monotonic()

    async with deliver():
        await wait_until(lambda: len(sim.attempts()) == 1)
        await store.append(tracks(destination, 1, user_id="late"))
        await asyncio.sleep(0.6)
        assert len(sim.attempts()) == 1, "nothing goes to a held app before Retry-After"
        await wait_until(lambda: len(sent_events(sim)) == 11)

    assert time.monotonic() - started >= 1.0


async def test_heaps_limits_hold_across_two_workers_sharing_the_store(
    sim: HeapSimulator,
    store: Store,
    destination: Destination,
    deliver: Callable[..., Any],
    tmp_path: Path,
) -> None:
    window = 1.0
    sim.set_rate_limits(RateLimits(events_per_minute_per_app=100, window_seconds=window))
    await store.append(tracks(destination, 250, users=50))
    budget = Budget(100, None, window)

    other_store = await open_store(f"sqlite:{tmp_path / 'store.db'}")
    http = new_http_client(8)
    other = StoredDelivery(
        other_store,
        HeapClient(http, RetryPolicy(max_attempts=1), RequestSlots(8)),
        replace(FAST, budget=budget, max_batch=60),
        "other-worker",
    )
    other_task = asyncio.create_task(other.run())
    try:
        async with deliver(budget=budget, max_batch=60):
            await wait_until(lambda: len(sent_events(sim)) == 250, timeout=20)
    finally:
        await other.stop(1.0)
        other_task.cancel()
        await other_store.close()
        await http.close()

    assert not [a for a in sim.attempts() if a.status == 429]
    assert sorted(e["idempotency_key"] for e in sent_events(sim)) == sorted(
        f"m-{n}" for n in range(250)
    )


async def test_identifies_are_sent_one_request_each(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    items: list[NewItem] = []
    for n in range(3):
        identify = prepare_identify(
            IdentifyInput(user_id=f"user-{n}", heap_user_id=str(1000 + n), traits={"x": n}),
            destination,
        )
        items += identify_work(destination, identify, Origin(time.time(), f"m-{n}"))
    await store.append(items)

    async with deliver():
        await wait_until(
            lambda: len([r for r in sim.accepted() if r.path == "/api/v1/identify"]) == 3
        )
        await wait_until(lambda: _all_delivered(store, 3))

    bindings = sorted(
        (r.body["identity"], str(r.body["user_id"]))
        for r in sim.accepted()
        if r.path == "/api/v1/identify"
    )
    assert bindings == [("user-0", "1000"), ("user-1", "1001"), ("user-2", "1002")]
