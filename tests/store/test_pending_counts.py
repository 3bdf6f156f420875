"""The bounds on undelivered items stay exact when several stores (processes) share one
database, and through every change that starts or ends an undelivered item; both engines."""

import asyncio

import psycopg
import pytest

from heap_destination.store import Store, StoreFull
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, new_item


async def _fills(store: Store, count: int, app_id: str = APP) -> bool:
    """Whether `count` more items of `app_id` are taken; nothing is stored when not."""
    try:
        await store.append([new_item(f"{app_id}-x{n}", app_id=app_id) for n in range(count)])
    except StoreFull:
        return False
    return True


async def test_each_store_sees_what_another_on_the_same_database_appended_and_delivered(
    open_test_store: OpenStore,
) -> None:
    first = await open_test_store(max_items=100, max_items_per_app=4)
    second = await open_test_store(max_items=100, max_items_per_app=4)
    assert await _fills(first, 1)  # counted by the first store from here on
    ids = await second.append([new_item("a2"), new_item("a3")])

    assert not await _fills(first, 2)  # 3 held by the two stores; 2 more would be 5

    await second.claim("worker-b", 10, 30.0)
    await second.mark_delivered(ids, 200)
    assert await _fills(first, 3)
    assert not await _fills(second, 1)


async def test_the_total_bound_counts_every_app_across_stores(open_test_store: OpenStore) -> None:
    first = await open_test_store(max_items=3, max_items_per_app=100)
    second = await open_test_store(max_items=3, max_items_per_app=100)
    assert await _fills(first, 1)
    assert await _fills(second, 1, app_id=OTHER_APP)

    with pytest.raises(StoreFull, match="bound of 3"):
        await first.append([new_item("a2"), new_item("a3")])
    assert await _fills(first, 1)


async def test_dead_letters_replayed_purged_and_pruned_count_as_they_are(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store(max_items=100, max_items_per_app=3)
    ids = await store.append([new_item("a1"), new_item("a2"), new_item("a3")])
    assert not await _fills(store, 1)
    await store.claim("worker-a", 10, 30.0)
    await store.mark_dead(ids[:2], "gave up", 400, "")
    await store.mark_delivered(ids[2:], 200)
    assert await _fills(store, 1)  # 1 undelivered now

    assert await store.replay_dead(APP) == 2  # 3 again
    assert not await _fills(store, 1)

    assert await store.purge_identities(APP, ["a1", "a2"], "deleted") == 2  # 1 again
    assert await _fills(store, 2)
    assert not await _fills(store, 1)
    assert await store.prune(older_than=2**40) >= 1  # delivered and dead only
    assert not await _fills(store, 1)


async def test_dead_letters_taken_as_such_do_not_count(open_test_store: OpenStore) -> None:
    store = await open_test_store(max_items=100, max_items_per_app=2)
    await store.append([new_item("a1", dead="invalid item")])
    assert await _fills(store, 2)


# PostgreSQL only: SQLite takes one writer at a time, so there an append waits for any write.
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_an_append_does_not_wait_for_a_delivery_still_being_recorded(
    open_test_store: OpenStore, store_url: str
) -> None:
    """Another process marks items delivered in a transaction not yet committed: an
    append goes on meanwhile, counting those items as undelivered until it commits."""
    store = await open_test_store(max_items=100, max_items_per_app=3)
    ids = await store.append([new_item("a1"), new_item("a2")])
    async with await psycopg.AsyncConnection.connect(store_url) as other:
        await other.execute("UPDATE items SET status = 'delivered' WHERE id = ANY(%s)", (ids,))

        await asyncio.wait_for(store.append([new_item("a3")]), timeout=10)
        assert not await _fills(store, 1)

        await other.commit()
    assert await _fills(store, 2)
