"""Finding items by stream event id, dead letters by reason, and ping, on both engines."""

import pytest

from heap_destination.store import Store, StoreUnavailable
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, new_item


async def test_status_finds_the_items_of_a_stream_event(store: Store) -> None:
    ids = await store.append(
        [
            new_item(stream_event_id="stream-1", message_id="m-1"),
            new_item(stream_event_id="stream-1", message_id="m-1", endpoint="identify"),
            new_item(stream_event_id="stream-2", message_id="m-2"),
            new_item(),
        ]
    )

    assert [item.id for item in await store.status(stream_event_id="stream-1")] == ids[:2]
    by_both = await store.status(message_id="m-1", stream_event_id="stream-1", item_id=ids[1])
    assert [item.id for item in by_both] == [ids[1]]
    assert await store.status(message_id="m-2", stream_event_id="stream-1") == []
    assert await store.status(stream_event_id="unknown") == []


async def test_status_needs_a_stream_event_id_a_message_id_or_an_item_id(store: Store) -> None:
    with pytest.raises(ValueError, match="stream_event_id, a message_id or an item_id"):
        await store.status(stream_event_id="")


async def _dead(store: Store, reasons: list[tuple[str, str]]) -> list[int]:
    """Dead items, one per (app_id, reason)."""
    ids = await store.append(
        [new_item(f"user-{n}", app_id=app) for n, (app, _) in enumerate(reasons)]
    )
    while await store.claim("worker-a", len(ids), 30.0):
        pass
    for item_id, (_, reason) in zip(ids, reasons, strict=True):
        await store.mark_dead([item_id], reason, 400, "")
    return ids


async def test_replay_dead_takes_only_the_reasons_asked_for(store: Store) -> None:
    bad, expired, other_bad, odd = await _dead(
        store,
        [
            (APP, "Heap answered 400: Bad Request"),
            (APP, "gave up after 10 attempts"),
            (OTHER_APP, "Heap answered 400: BAD REQUEST"),
            (APP, "100% done_"),
        ],
    )

    assert await store.replay_dead(APP, "bad request") == 1
    assert await store.replay_dead(None, "50% done") == 0
    assert await store.replay_dead(None, "0% DONE_") == 1
    assert await store.replay_dead(None, "Bad Request") == 1

    still_dead = await store.dead_letters(None, None, 10, None)
    assert [item.id for item in still_dead] == [expired]
    claimed = await store.claim("worker-b", 10, 30.0)
    assert [(item.id, item.attempts) for item in claimed] == [(bad, 1), (odd, 1)]
    assert [item.id for item in await store.claim("worker-b", 10, 30.0)] == [other_bad]


async def test_purge_dead_deletes_only_the_reasons_asked_for(store: Store) -> None:
    bad, expired, other_bad = await _dead(
        store,
        [
            (APP, "Heap answered 400: Bad Request"),
            (APP, "gave up after 10 attempts"),
            (OTHER_APP, "Heap answered 400: Bad Request"),
        ],
    )

    assert await store.purge_dead(APP, "BAD_REQUEST") == 0
    assert await store.purge_dead(APP, "BAD REQUEST") == 1
    assert await store.purge_dead(None, "") == 2

    assert await store.status(item_id=bad) == []
    assert await store.dead_letters(None, None, 10, None) == []
    assert [await store.status(item_id=item_id) for item_id in (expired, other_bad)] == [[], []]


async def test_ping_answers_while_open_and_raises_once_closed(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store()

    await store.ping()

    await store.close()
    with pytest.raises((RuntimeError, StoreUnavailable)):
        await store.ping()
