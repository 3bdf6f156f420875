"""purge_identities, for a user deleted from Heap, on both engines."""

from heap_destination.store import Store
from tests.store.helpers import APP, OTHER_APP, new_item

REASON = "purged: its user was deleted from Heap (DeleteUsers)"


async def test_undelivered_items_of_the_identities_die_with_the_reason_and_lose_their_bodies(
    store: Store,
) -> None:
    stored, delivering, user_properties = await store.append(
        [new_item("gone"), new_item("gone"), new_item("gone", endpoint="user_properties")]
    )
    claimed = await store.claim("worker-a", 2, 30.0)
    assert [item.id for item in claimed] == [stored, delivering]
    await store.mark_failed([stored], "Heap answered 503", 503, "busy", retry_at=0.0)
    kept = await store.append([new_item("stays"), new_item("gone", app_id=OTHER_APP)])

    purged = await store.purge_identities(APP, ["gone", "unknown"], REASON)

    assert purged == 3
    for item_id in (stored, delivering, user_properties):
        [item] = await store.status(item_id=item_id)
        assert (item.status, item.last_error, item.body) == ("dead", REASON, b"{}")
        assert (item.heap_status, item.heap_body) == (None, "")
    for item_id in kept:
        [item] = await store.status(item_id=item_id)
        assert item.status == "stored" and b"pro" in item.body
    assert [item.id for item in await store.dead_letters(None, "deleted from heap", 10, None)] == [
        stored,
        delivering,
        user_properties,
    ]


async def test_purged_items_are_never_claimed_again(store: Store) -> None:
    await store.append([new_item("gone"), new_item("stays")])

    await store.purge_identities(APP, ["gone"], REASON)

    claimed = await store.claim("worker-a", 10, 30.0)
    assert [item.identity for item in claimed] == ["stays"]


async def test_delivered_and_dead_items_lose_their_bodies_and_dead_ones_take_the_reason(
    store: Store,
) -> None:
    delivered, dead = await store.append([new_item("gone"), new_item("gone")])
    await store.claim("worker-a", 2, 30.0)
    await store.mark_delivered([delivered], 200)
    await store.mark_dead([dead], "Heap answered 400", 400, '{"echo":"pro"}')

    purged = await store.purge_identities(APP, ["gone"], REASON)

    assert purged == 0
    [item] = await store.status(item_id=delivered)
    assert (item.status, item.body, item.last_error) == ("delivered", b"{}", "")
    [item] = await store.status(item_id=dead)
    assert (item.status, item.body, item.last_error, item.heap_body) == (
        "dead",
        b"{}",
        REASON,
        "",
    )


async def test_many_identities_are_purged_in_one_call(store: Store) -> None:
    identities = [f"user-{n}" for n in range(1_200)]
    await store.append([new_item(identity) for identity in identities])

    assert await store.purge_identities(APP, identities, REASON) == 1_200
    assert await store.claim("worker-a", 10, 30.0) == []


async def test_no_identities_purge_nothing(store: Store) -> None:
    await store.append([new_item("stays")])

    assert await store.purge_identities(APP, [], REASON) == 0
