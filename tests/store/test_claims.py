"""Appending and claiming work, on both engines."""

import asyncio
import time
from pathlib import Path

import pytest

from heap_destination.store import NewItem, Store
from heap_destination.store.queries import SQLITE_CLAIM_BYTES
from heap_destination.store.sqlite_store import SqliteStore
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, BASE_URL, OTHER_APP, new_item


async def test_append_then_claim_keeps_every_field(store: Store) -> None:
    item = NewItem(
        app_id=APP,
        base_url=BASE_URL,
        endpoint="track",
        identity="user-ä",
        idempotency_key="key-1",
        body='{"identity":"user-ä","event":"Signed Up","properties":{"a":"\x00é"}}'.encode(),
        message_id="message-1",
        stream_event_id="stream-7",
        accepted_at=1_900_000_000.123457,  # 16 digits: more than SQLite's JSON keeps
    )
    [item_id] = await store.append([item])

    [claimed] = await store.claim("worker-a", 10, 30.0)

    assert claimed.id == item_id
    assert (claimed.app_id, claimed.base_url, claimed.endpoint) == (APP, BASE_URL, "track")
    assert (claimed.identity, claimed.idempotency_key) == ("user-ä", "key-1")
    assert claimed.body == item.body
    assert (claimed.message_id, claimed.stream_event_id) == ("message-1", "stream-7")
    assert claimed.accepted_at == 1_900_000_000.123457
    assert (claimed.status, claimed.attempts) == ("delivering", 1)
    assert (claimed.last_error, claimed.heap_status, claimed.heap_body) == ("", None, "")
    assert claimed.delivered_at is None
    assert await store.status(item_id=item_id) == [claimed]


async def test_a_claimed_body_is_the_bytes_appended_whatever_they_are(store: Store) -> None:
    bodies = [b"\xff\xfe not UTF-8", b'{"quote":"\\"","nul":"\x00"}', bytes(range(256))]
    await store.append([new_item(f"user-{n}", body=body) for n, body in enumerate(bodies)])

    claimed = await store.claim("worker-a", 10, 30.0)

    assert [item.body for item in claimed] == bodies


async def test_a_sqlite_claim_takes_bodies_up_to_its_byte_bound(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "store.db", max_items=100, max_items_per_app=100)
    try:
        half = SQLITE_CLAIM_BYTES // 2
        sizes = [half, half, 1, SQLITE_CLAIM_BYTES + 1, 1]
        await store.append(
            [new_item(f"user-{n}", body=b"x" * size) for n, size in enumerate(sizes)]
        )

        # Two halves fill the bound; one item larger than the bound goes alone.
        claims = [await store.claim("worker-a", 10, 30.0) for _ in range(4)]

        assert [[len(item.body) for item in claim] for claim in claims] == [
            sizes[:2],
            sizes[2:3],
            sizes[3:4],
            sizes[4:],
        ]
    finally:
        await store.close()


async def test_optional_fields_round_trip_empty(store: Store) -> None:
    [item_id] = await store.append([new_item(idempotency_key=None, endpoint="user_properties")])

    [claimed] = await store.claim("worker-a", 10, 30.0)

    assert (claimed.id, claimed.idempotency_key, claimed.message_id) == (item_id, None, "")
    assert claimed.endpoint == "user_properties"


async def test_one_append_commits_a_thousand_items(store: Store) -> None:
    items = [new_item(f"user-{n}") for n in range(1000)]

    ids = await store.append(items)

    assert len(ids) == len(set(ids)) == 1000
    assert ids == sorted(ids)
    claimed = await store.claim("worker-a", 1000, 30.0)
    assert [item.id for item in claimed] == ids
    assert [item.identity for item in claimed] == [f"user-{n}" for n in range(1000)]


async def test_empty_append_and_empty_claim(store: Store) -> None:
    assert await store.append([]) == []
    assert await store.claim("worker-a", 10, 30.0) == []


async def test_claim_returns_the_oldest_items_group_up_to_the_limit(store: Store) -> None:
    other_base = "https://c.eu.heap-api.com"
    ids = await store.append(
        [
            new_item("a1"),
            new_item("b1", app_id=OTHER_APP),
            new_item("a2", endpoint="identify"),
            new_item("a3"),
            new_item("c1", base_url=other_base),
            new_item("a4"),
            new_item("a5"),
        ]
    )

    first = await store.claim("worker-a", 3, 30.0)
    assert [item.identity for item in first] == ["a1", "a3", "a4"]
    assert [item.id for item in first] == [ids[0], ids[3], ids[5]]

    claims = [await store.claim("worker-a", 3, 30.0) for _ in range(5)]
    assert [[item.identity for item in claim] for claim in claims] == [
        ["b1"],
        ["a2"],
        ["c1"],
        ["a5"],
        [],
    ]


async def test_concurrent_claimers_never_share_an_item(open_test_store: OpenStore) -> None:
    first, second = await open_test_store(), await open_test_store()
    ids = await first.append([new_item(f"user-{n}") for n in range(300)])

    async def drain(store: Store, worker: str) -> list[int]:
        taken: list[int] = []
        while claim := await store.claim(worker, 7, 30.0):
            taken += [item.id for item in claim]
            await asyncio.sleep(0)
        return taken

    taken_a, taken_b = await asyncio.gather(drain(first, "a"), drain(second, "b"))

    assert not set(taken_a) & set(taken_b)
    assert sorted(taken_a + taken_b) == ids


async def test_an_expired_lease_is_claimable_again(store: Store) -> None:
    [item_id] = await store.append([new_item()])
    [first] = await store.claim("crashed-worker", 10, 0.05)
    assert await store.claim("worker-b", 10, 0.05) == []

    await asyncio.sleep(0.1)
    [again] = await store.claim("worker-b", 10, 30.0)

    assert (again.id, again.status, again.attempts) == (item_id, "delivering", 2)
    assert first.attempts == 1


async def test_mark_delivered_records_heaps_answer(store: Store) -> None:
    [item_id] = await store.append([new_item(message_id="m-1")])
    await store.claim("worker-a", 10, 30.0)
    before = time.time()

    await store.mark_delivered([item_id], 200)

    [item] = await store.status(message_id="m-1")
    assert (item.id, item.status, item.heap_status) == (item_id, "delivered", 200)
    assert item.delivered_at is not None and item.delivered_at >= before - 1
    assert await store.claim("worker-a", 10, 30.0) == []


async def test_mark_failed_hides_items_until_retry_at(store: Store) -> None:
    ids = await store.append([new_item("a"), new_item("b")])
    await store.claim("worker-a", 10, 30.0)

    long_answer = "x" * 2000
    await store.mark_failed(ids, "Heap answered 503", 503, long_answer, time.time() + 60)

    assert await store.claim("worker-a", 10, 30.0) == []
    failed = [item for item_id in ids for item in await store.status(item_id=item_id)]
    assert [item.status for item in failed] == ["stored", "stored"]
    assert failed[0].last_error == "Heap answered 503"
    assert (failed[0].heap_status, failed[0].heap_body) == (503, "x" * 500)

    await store.mark_failed(ids, "Heap answered 503", 503, "", time.time() - 1)
    retried = await store.claim("worker-a", 10, 30.0)
    assert [(item.id, item.attempts) for item in retried] == [(ids[0], 2), (ids[1], 2)]


async def test_a_failure_reported_late_does_not_undo_a_delivery(store: Store) -> None:
    [item_id] = await store.append([new_item()])
    await store.claim("worker-a", 10, 30.0)
    await store.mark_delivered([item_id], 200)

    await store.mark_failed([item_id], "timeout", None, "", time.time() - 1)
    await store.mark_dead([item_id], "gave up", None, "")

    [item] = await store.status(item_id=item_id)
    assert item.status == "delivered"


async def test_status_by_message_id_lists_each_item_of_the_message(store: Store) -> None:
    ids = await store.append(
        [
            new_item(message_id="m-1"),
            new_item(message_id="m-1", endpoint="user_properties"),
            new_item(message_id="m-2"),
        ]
    )

    assert [item.id for item in await store.status(message_id="m-1")] == ids[:2]
    assert [item.id for item in await store.status(message_id="m-1", item_id=ids[1])] == [ids[1]]
    assert await store.status(message_id="unknown") == []
    assert await store.status(item_id=ids[-1] + 1000) == []


async def test_status_needs_a_message_id_or_an_item_id(store: Store) -> None:
    with pytest.raises(ValueError, match="message_id or an item_id"):
        await store.status()
