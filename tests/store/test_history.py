"""Dead letters, bounds, backlog and retention, on both engines."""

import time

import pytest

from heap_destination.store import Store, StoredItem, StoreFull
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, new_item


async def _dead(store: Store, app_id: str, reason: str, count: int = 1) -> list[int]:
    ids = await store.append([new_item(f"{app_id}-{n}", app_id=app_id) for n in range(count)])
    claimed: list[StoredItem] = []
    while len(claimed) < count:
        claimed += await store.claim("worker-a", count, 30.0)
    await store.mark_dead(ids, reason, 400, '{"error":"bad"}')
    return ids


async def test_dead_letters_filter_by_app_and_reason_and_page_by_id(store: Store) -> None:
    bad_request = await _dead(store, APP, "Heap answered 400: Bad Request", 5)
    expired = await _dead(store, OTHER_APP, "gave up after 10 attempts (50% done_)")
    await store.append([new_item("still-waiting")])

    page_1 = await store.dead_letters(APP, None, 2, None)
    page_2 = await store.dead_letters(APP, None, 2, page_1[-1].id)
    page_3 = await store.dead_letters(APP, None, 2, page_2[-1].id)
    assert [item.id for item in page_1 + page_2 + page_3] == bad_request
    assert await store.dead_letters(APP, None, 2, page_3[-1].id) == []

    assert [item.id for item in await store.dead_letters(None, None, 100, None)] == [
        *bad_request,
        *expired,
    ]
    assert [item.id for item in await store.dead_letters(None, "BAD REQ", 100, None)] == (
        bad_request
    )
    assert [item.id for item in await store.dead_letters(None, "50% done_", 100, None)] == expired
    assert await store.dead_letters(None, "50_ done%", 100, None) == []
    [item] = await store.dead_letters(OTHER_APP, None, 100, None)
    assert (item.status, item.last_error) == ("dead", "gave up after 10 attempts (50% done_)")
    assert (item.heap_status, item.heap_body) == (400, '{"error":"bad"}')


async def test_replay_dead_makes_an_apps_dead_items_claimable_with_fresh_attempts(
    store: Store,
) -> None:
    ids = await _dead(store, APP, "Heap answered 400", 2)
    other = await _dead(store, OTHER_APP, "Heap answered 400")

    assert await store.replay_dead(APP) == 2

    claimed = await store.claim("worker-a", 10, 30.0)
    assert [(item.id, item.status, item.attempts) for item in claimed] == [
        (ids[0], "delivering", 1),
        (ids[1], "delivering", 1),
    ]
    assert [item.id for item in await store.dead_letters(None, None, 10, None)] == other
    assert await store.replay_dead(None) == 1
    assert await store.dead_letters(None, None, 10, None) == []


async def test_purge_dead_deletes_only_dead_items_of_the_app(store: Store) -> None:
    await _dead(store, APP, "Heap answered 400", 2)
    other = await _dead(store, OTHER_APP, "Heap answered 400")
    [waiting] = await store.append([new_item("waiting")])

    assert await store.purge_dead(APP) == 2

    assert [item.id for item in await store.dead_letters(None, None, 10, None)] == other
    assert await store.purge_dead(None) == 1
    assert [item.status for item in await store.status(item_id=waiting)] == ["stored"]


async def test_store_full_at_the_total_bound_stores_nothing(open_test_store: OpenStore) -> None:
    store = await open_test_store(max_items=5, max_items_per_app=100)
    await store.append([new_item(f"a{n}") for n in range(3)])

    with pytest.raises(StoreFull, match="bound of 5"):
        await store.append([new_item("b1", app_id=OTHER_APP), new_item("b2"), new_item("b3")])

    assert [backlog.undelivered for backlog in await store.backlog()] == [3]
    ids = await store.append([new_item("b1", app_id=OTHER_APP), new_item("b2")])
    assert len(ids) == 2


async def test_store_full_at_the_per_app_bound_stores_nothing(open_test_store: OpenStore) -> None:
    store = await open_test_store(max_items=100, max_items_per_app=2)
    await store.append([new_item("a1")])

    with pytest.raises(StoreFull, match=f"app {APP}") as raised:
        await store.append([new_item("b1", app_id=OTHER_APP), new_item("a2"), new_item("a3")])

    assert raised.value.app_id == APP
    assert [(b.app_id, b.undelivered) for b in await store.backlog()] == [(APP, 1)]


async def test_delivered_and_dead_items_do_not_count_against_the_bounds(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store(max_items=2, max_items_per_app=2)
    ids = await store.append([new_item("a1"), new_item("a2")])
    await store.claim("worker-a", 10, 30.0)
    await store.mark_delivered(ids[:1], 200)
    await store.mark_dead(ids[1:], "gave up", None, "")

    assert len(await store.append([new_item("a3"), new_item("a4")])) == 2


async def test_backlog_counts_undelivered_age_and_recent_deliveries(store: Store) -> None:
    now = time.time()
    ids = await store.append(
        [
            new_item("a1", accepted_at=now - 120),
            new_item("a2", accepted_at=now - 30),
            new_item("a3", accepted_at=now - 10),
            new_item("b1", app_id=OTHER_APP, accepted_at=now - 5),
        ]
    )
    await store.claim("worker-a", 1, 30.0)
    await store.mark_delivered(ids[:1], 200)
    await store.claim("worker-a", 1, 30.0)  # a2 is delivering: still undelivered

    by_app = {backlog.app_id: backlog for backlog in await store.backlog()}

    assert set(by_app) == {APP, OTHER_APP}
    assert (by_app[APP].undelivered, by_app[APP].delivered_last_minute) == (2, 1)
    assert 29 <= by_app[APP].oldest_age_seconds < 60
    assert (by_app[OTHER_APP].undelivered, by_app[OTHER_APP].delivered_last_minute) == (1, 0)
    assert 4 <= by_app[OTHER_APP].oldest_age_seconds < 60


async def test_backlog_lists_an_app_with_only_recent_deliveries(store: Store) -> None:
    [item_id] = await store.append([new_item()])
    await store.claim("worker-a", 1, 30.0)
    await store.mark_delivered([item_id], 200)

    [backlog] = await store.backlog()

    assert (backlog.app_id, backlog.undelivered, backlog.oldest_age_seconds) == (APP, 0, 0.0)
    assert backlog.delivered_last_minute == 1


async def test_prune_deletes_old_finished_items_and_keeps_undelivered_ones(store: Store) -> None:
    now = time.time()
    old = now - 86_400
    ids = await store.append(
        [
            new_item("delivered", accepted_at=old),
            new_item("dead", accepted_at=old),
            new_item("retrying", accepted_at=old),
            new_item("delivering", accepted_at=old),
            new_item("delivered recently", accepted_at=now),
        ]
    )
    await store.claim("worker-a", 10, 30.0)
    await store.mark_delivered([ids[0], ids[4]], 200)
    await store.mark_dead([ids[1]], "gave up", None, "")
    await store.mark_failed([ids[2]], "timeout", None, "", now + 60)

    assert await store.prune(now - 3600) == 2

    remaining = {item_id: await store.status(item_id=item_id) for item_id in ids}
    assert [item_id for item_id, items in remaining.items() if items] == ids[2:]
