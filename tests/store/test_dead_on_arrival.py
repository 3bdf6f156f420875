"""Items taken only as dead letters (invalid Segment items), on both engines: listed and
purged as dead letters, never claimed, never replayed."""

import dataclasses

from heap_destination.store import Store
from tests.store.helpers import APP, new_item


async def test_an_item_taken_as_a_dead_letter_is_listed_never_claimed_never_replayed(
    store: Store,
) -> None:
    dead = dataclasses.replace(
        new_item("user-1", message_id="bad"), dead="invalid Segment item: properties.x: too deep"
    )
    dead_id, fine_id = await store.append([dead, new_item("user-2", message_id="fine")])

    claimed = await store.claim("worker-a", 10, 30.0)
    [letter] = await store.dead_letters(APP, None, 10, None)
    replayed = await store.replay_dead(APP, None)

    assert [item.id for item in claimed] == [fine_id]
    assert (letter.id, letter.status, letter.message_id) == (dead_id, "dead", "bad")
    assert letter.last_error == "invalid Segment item: properties.x: too deep"
    assert replayed == 0
    assert [item.id for item in await store.dead_letters(APP, "properties.x", 10, None)] == [
        dead_id
    ]
    assert await store.purge_dead(APP, None) == 1
    assert await store.dead_letters(APP, None, 10, None) == []


async def test_replay_still_takes_the_dead_letters_delivery_gave_up_on(store: Store) -> None:
    [failed] = await store.append([new_item("user-1", message_id="m")])
    await store.claim("worker-a", 1, 30.0)
    await store.mark_dead([failed], "Heap answered 400", 400, "")
    await store.append(
        [dataclasses.replace(new_item("user-2"), dead="invalid Segment item: event: required")]
    )

    assert await store.replay_dead(APP, None) == 1
    assert [item.id for item in await store.claim("worker-a", 10, 30.0)] == [failed]
