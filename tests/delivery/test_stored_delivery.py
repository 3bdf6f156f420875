"""Background delivery from a real SQLite store to the real simulator over HTTP."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from heap_destination.delivery.heap.client import HeapClient, new_http_client
from heap_destination.delivery.heap.retry_policy import RetryPolicy
from heap_destination.delivery.request_slots import RequestSlots
from heap_destination.domain.destination import Destination
from heap_destination.domain.identify import IdentifyInput, prepare_identify
from heap_destination.durable.delivery import StoredDelivery
from heap_destination.durable.work import Origin, identify_work
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.sim.rate_limits import RateLimits
from heap_destination.store import Budget, NewItem, Store, open_store
from tests.delivery.stored_support import APP, FAST, all_delivered, sent_events, tracks, wait_until


async def test_stored_events_go_out_in_one_bulk_request_each_with_its_time_and_key(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 300))

    async with deliver():
        await wait_until(lambda: all_delivered(store, 300))

    assert len([r for r in sim.accepted() if r.path == "/api/track"]) == 1
    events = sent_events(sim)
    assert sorted(e["idempotency_key"] for e in events) == sorted(f"m-{n}" for n in range(300))
    assert all(e["timestamp"].endswith("Z") for e in events)
    assert events[0]["properties"] == {"n": 0, "plan.name": "pro"}
    item = (await store.status("m-0"))[0]
    assert (item.status, item.heap_status, item.attempts) == ("delivered", 200, 1)


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
    assert await all_delivered(store, 99)


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
        await wait_until(lambda: all_delivered(store, 20))
    assert len(sent_events(sim)) == 20


async def _paused(store: Store) -> bool:
    return any(hold.paused for hold in await store.holds())


async def test_an_outage_is_retried_with_backoff_and_everything_arrives_once(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    await store.append(tracks(destination, 50))
    sim.inject(Fault(status=503, seconds=1.0))

    async with deliver():
        await wait_until(lambda: all_delivered(store, 50))

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
        await wait_until(lambda: all_delivered(store, 3))

    bindings = sorted(
        (r.body["identity"], str(r.body["user_id"]))
        for r in sim.accepted()
        if r.path == "/api/v1/identify"
    )
    assert bindings == [("user-0", "1000"), ("user-1", "1001"), ("user-2", "1002")]


async def test_a_request_heap_may_have_received_unanswered_counts_against_the_budget(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    budget = Budget(None, 10, 60.0)
    await store.append(tracks(destination, 10, users=1))
    sim.inject(Fault(latency_ms=1000, count=1))

    async with deliver(budget=budget, attempt_timeout=0.3):
        await wait_until(lambda: _failed_once(store, "m-0"))
        room = await store.reserve(APP, {"user-0": 1}, budget)

    assert room.granted == {"user-0": 0}, "the timed-out request's events were refunded"
    await wait_until(lambda: len(sim.accepted()) == 1)
    assert len(sent_events(sim)) == 10


async def _failed_once(store: Store, message_id: str) -> bool:
    [item] = await store.status(message_id)
    return item.status == "stored" and item.attempts == 1 and bool(item.last_error)
