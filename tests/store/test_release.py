"""Giving claimed items back without counting the attempt, on both engines."""

from heap_destination.store import Store
from tests.store.helpers import Clock, new_item


async def test_released_items_are_stored_again_from_due_at_without_the_attempt(
    clocked_store: Store, clock: Clock
) -> None:
    ids = await clocked_store.append([new_item("a"), new_item("b")])
    claimed = await clocked_store.claim("worker-a", 10, 30.0)
    assert [item.attempts for item in claimed] == [1, 1]

    await clocked_store.release(ids, clock.now + 20)

    released = [item for item_id in ids for item in await clocked_store.status(item_id=item_id)]
    assert [(item.status, item.attempts) for item in released] == [("stored", 0)] * 2
    assert await clocked_store.claim("worker-b", 10, 30.0) == []
    clock.advance(20)
    again = await clocked_store.claim("worker-b", 10, 30.0)
    assert [(item.id, item.attempts) for item in again] == [(ids[0], 1), (ids[1], 1)]


async def test_release_keeps_earlier_attempts_and_never_goes_below_zero(
    clocked_store: Store, clock: Clock
) -> None:
    retried, fresh = await clocked_store.append([new_item("retried"), new_item("fresh")])
    await clocked_store.claim("worker-a", 1, 30.0)
    await clocked_store.mark_failed([retried], "timeout", None, "", clock.now)
    await clocked_store.claim("worker-a", 1, 30.0)

    await clocked_store.release([retried, fresh], clock.now)

    items = [item for i in (retried, fresh) for item in await clocked_store.status(item_id=i)]
    assert [(item.status, item.attempts) for item in items] == [("stored", 1), ("stored", 0)]


async def test_release_leaves_delivered_and_dead_items_as_they_are(
    clocked_store: Store, clock: Clock
) -> None:
    delivered, dead = await clocked_store.append([new_item("a"), new_item("b")])
    await clocked_store.claim("worker-a", 10, 30.0)
    await clocked_store.mark_delivered([delivered], 200)
    await clocked_store.mark_dead([dead], "gave up", 400, "")

    await clocked_store.release([delivered, dead], clock.now)

    items = [item for i in (delivered, dead) for item in await clocked_store.status(item_id=i)]
    assert [(item.status, item.attempts) for item in items] == [("delivered", 1), ("dead", 1)]


async def test_release_takes_more_ids_than_one_statement_does(
    clocked_store: Store, clock: Clock
) -> None:
    ids = await clocked_store.append([new_item(f"user-{n}") for n in range(1200)])
    assert len(await clocked_store.claim("worker-a", 1200, 30.0)) == 1200

    await clocked_store.release(ids, clock.now)

    again = await clocked_store.claim("worker-b", 1200, 30.0)
    assert [item.id for item in again] == ids
    assert {item.attempts for item in again} == {1}


async def test_a_lease_is_renewed_only_by_the_worker_that_still_holds_it(
    clocked_store: Store, clock: Clock
) -> None:
    kept, taken_over, finished = await clocked_store.append(
        [new_item("kept"), new_item("taken-over"), new_item("finished")]
    )
    await clocked_store.claim("worker-a", 10, 30.0)
    await clocked_store.mark_delivered([finished], 200)
    await clocked_store.release([taken_over], clock.now)
    await clocked_store.claim("worker-b", 10, 30.0)
    clock.advance(20)

    renewed = await clocked_store.renew_leases([kept, taken_over, finished], "worker-a", 30.0)

    assert renewed == 1
    clock.advance(20)
    assert [item.id for item in await clocked_store.claim("worker-c", 10, 30.0)] == [taken_over]
    clock.advance(20)
    assert [item.id for item in await clocked_store.claim("worker-c", 10, 30.0)] == [kept]
