"""Dead letters picked by message id or item id, and a replay's fresh retry age, on both
engines."""

from typing import Any

from heap_destination.store import Store
from tests.store.helpers import APP, OTHER_APP, Clock, new_item


async def _dead(store: Store, letters: list[tuple[str, str, str]]) -> list[int]:
    """Dead items, one per (app_id, message_id, reason)."""
    ids = await store.append(
        [
            new_item(f"user-{n}", app_id=app_id, message_id=message_id)
            for n, (app_id, message_id, _) in enumerate(letters)
        ]
    )
    while await store.claim("worker-a", len(ids), 30.0):
        pass
    for item_id, (_, _, reason) in zip(ids, letters, strict=True):
        await store.mark_dead([item_id], reason, 400, "")
    return ids


async def _dead_ids(store: Store, app_id: str | None = None, **picks: Any) -> list[int]:
    letters = await store.dead_letters(app_id, None, 100, None, **picks)
    return [item.id for item in letters]


async def test_dead_letters_are_listed_by_message_id_and_by_id(store: Store) -> None:
    first, second, other_message, other_app = await _dead(
        store,
        [
            (APP, "poison", "Heap answered 400"),
            (APP, "poison", "Heap answered 400"),
            (APP, "fine", "Heap answered 400"),
            (OTHER_APP, "poison", "Heap answered 400"),
        ],
    )
    [stored] = await store.append([new_item("waiting", message_id="poison")])

    assert await _dead_ids(store, message_id="poison") == [first, second, other_app]
    assert await _dead_ids(store, APP, message_id="poison") == [first, second]
    assert await _dead_ids(store, item_id=other_message) == [other_message]
    assert await _dead_ids(store, OTHER_APP, item_id=other_message) == []
    assert await _dead_ids(store, message_id="poison", item_id=second) == [second]
    assert await _dead_ids(store, item_id=stored) == []
    page = await store.dead_letters(None, None, 1, first, message_id="poison")
    assert [item.id for item in page] == [second]


async def test_replay_and_purge_take_one_message_id_or_one_item(store: Store) -> None:
    first, second, other_message, other_app = await _dead(
        store,
        [
            (APP, "poison", "Heap answered 400"),
            (APP, "poison", "Heap answered 413"),
            (APP, "fine", "Heap answered 400"),
            (OTHER_APP, "poison", "Heap answered 400"),
        ],
    )

    assert await store.replay_dead(OTHER_APP, item_id=first) == 0
    assert await store.replay_dead(APP, item_id=first) == 1
    assert await store.replay_dead(None, "413", message_id="fine") == 0
    assert await store.purge_dead(APP, message_id="poison") == 1
    assert await store.purge_dead(None, item_id=first) == 0

    assert await _dead_ids(store) == [other_message, other_app]
    assert [item.status for item in await store.status(item_id=first)] == ["stored"]
    assert await store.status(item_id=second) == []
    assert await store.replay_dead(None, message_id="poison") == 1
    assert await store.purge_dead(None, item_id=other_message) == 1
    assert await _dead_ids(store) == []


async def test_a_replay_restarts_the_retry_age(clocked_store: Store, clock: Clock) -> None:
    accepted = clock.now - 7200
    replayed, left = await clocked_store.append(
        [new_item("a", accepted_at=accepted), new_item("b", accepted_at=accepted)]
    )
    await clocked_store.claim("worker-a", 10, 30.0)
    await clocked_store.mark_dead([replayed, left], "not delivered within 1 h", 503, "")
    [dead] = await clocked_store.status(item_id=replayed)
    assert (dead.replayed_at, dead.retry_age_from) == (None, accepted)

    clock.advance(60)
    assert await clocked_store.replay_dead(None, item_id=replayed) == 1

    [again] = await clocked_store.status(item_id=replayed)
    assert (again.status, again.attempts, again.accepted_at) == ("stored", 0, accepted)
    assert again.replayed_at == again.retry_age_from == clock.now
    [claimed] = await clocked_store.claim("worker-a", 10, 30.0)
    assert (claimed.id, claimed.retry_age_from) == (replayed, clock.now)
    [still_dead] = await clocked_store.status(item_id=left)
    assert still_dead.replayed_at is None
