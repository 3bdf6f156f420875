"""Stored events that Heap keeps failing (5xx) among good ones: found by splitting their
batch, retried alone, and never holding back the others. A real SQLite store, the real
simulator over HTTP."""

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from heap_destination.domain.destination import Destination
from heap_destination.sim import HeapSimulator
from heap_destination.sim.faults import Fault
from heap_destination.store import NewItem, Store
from tests.delivery.stored_support import all_delivered, sent_events, tracks, wait_until

POISON = '"poison"'


def with_poison(destination: Destination, count: int, at: int) -> list[NewItem]:
    """`count` tracks m-0.., the one at `at` with message id "poison" and identity
    "poison", which the tests' faults pick out by its body."""
    items = tracks(destination, count)
    [poison] = tracks(destination, 1, user_id="poison")
    items[at] = replace(poison, message_id="poison")
    return items


def requests_with(sim: HeapSimulator, text: str) -> list[list[dict[str, Any]]]:
    """The events of every track request whose body held `text`, in the order sent."""
    return [
        a.body["events"]
        for a in sim.attempts()
        if isinstance(a.body, dict) and "events" in a.body and text in str(a.body)
    ]


async def _poison_sent_alone(sim: HeapSimulator, times: int) -> bool:
    return len([r for r in requests_with(sim, "'poison'") if len(r) == 1]) >= times


async def test_an_event_heap_answers_500_forever_is_retried_alone_and_the_rest_delivered(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.inject(Fault(status=500, probability=1.0, body_contains=POISON))
    await store.append(with_poison(destination, 100, at=37))

    async with deliver(split_after_failures=3):
        await wait_until(lambda: len(sent_events(sim)) == 99)
        await wait_until(lambda: _poison_sent_alone(sim, 3))

    [poison] = await store.status("poison")
    assert poison.status in ("stored", "delivering")
    assert poison.heap_status == 500
    keys = sorted(e["idempotency_key"] for e in sent_events(sim))
    assert keys == sorted(f"m-{n}" for n in range(100) if n != 37)
    whole_batches = [r for r in requests_with(sim, "'poison'") if len(r) == 100]
    assert len(whole_batches) == 3, "split after its third failure"


async def test_the_event_that_keeps_failing_is_dead_lettered_alone_at_the_retry_age(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.inject(Fault(status=503, probability=1.0, body_contains=POISON))
    await store.append(with_poison(destination, 64, at=0))

    async with deliver(split_after_failures=2, max_retry_age=2.0):
        await wait_until(lambda: store.dead_letters(None, None, 10, None))

    [dead] = await store.dead_letters(None, None, 10, None)
    assert (dead.message_id, dead.heap_status) == ("poison", 503)
    assert "not delivered within 2 s" in dead.last_error
    assert len(sent_events(sim)) == 63


async def test_while_heap_fails_the_whole_app_a_split_goes_two_levels_deep_and_no_further(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.inject(Fault(status=503, probability=1.0))
    await store.append(tracks(destination, 100))

    async with deliver(split_after_failures=2):
        await wait_until(lambda: _attempted(store, "m-0", 5), timeout=20)

    sizes = [len(a.body["events"]) for a in sim.attempts() if isinstance(a.body, dict)]
    assert min(sizes) == 25, f"split below two levels: {sizes}"
    assert sizes[:8] == [100, 100, 50, 50, 25, 25, 25, 25]
    assert sizes.count(100) == 5, "the parts of a split are retried together"


async def _attempted(store: Store, message_id: str, times: int) -> bool:
    [item] = await store.status(message_id)
    return item.attempts >= times and item.status == "stored"


async def test_events_being_retried_never_share_a_request_with_new_ones(
    sim: HeapSimulator, store: Store, destination: Destination, deliver: Callable[..., Any]
) -> None:
    sim.inject(Fault(status=500, probability=1.0, body_contains=POISON))
    await store.append(with_poison(destination, 10, at=5))

    async with deliver(split_after_failures=2):
        await wait_until(lambda: _poison_sent_alone(sim, 1))
        for times in range(2, 7):
            await store.append(tracks(destination, 20, user_id=f"new-{times}"))
            await wait_until(partial(_poison_sent_alone, sim, times))

    assert len(sent_events(sim)) == 9 + 100
    with_new = [r for r in requests_with(sim, "new-") if any("poison" in str(e) for e in r)]
    assert with_new == []
    assert await all_delivered(store, 20)
