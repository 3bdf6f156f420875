"""GroupCommit: concurrent appends committed together, each caller with its own outcome."""

import asyncio
from collections.abc import Sequence
from typing import cast

import pytest

from heap_destination.store import GroupCommit, NewItem, Store, StoreFull
from tests.store.conftest import OpenStore
from tests.store.helpers import APP, OTHER_APP, THIRD_APP, new_item


class RecordingStore:
    """Passes appends on to a store, recording their sizes; holds them while `gate` is
    clear, and raises `error` instead when one is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sizes: list[int] = []
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()
        self.error: Exception | None = None

    async def append(self, items: Sequence[NewItem]) -> list[int]:
        self.sizes.append(len(items))
        self.started.set()
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return await self.store.append(items)


def _group_commit(store: Store, max_items: int = 5000) -> tuple[GroupCommit, RecordingStore]:
    recording = RecordingStore(store)
    return GroupCommit(cast(Store, recording), max_items), recording


def _group(name: str, size: int, app_id: str = APP) -> list[NewItem]:
    return [new_item(f"{name}-{n}", app_id=app_id) for n in range(size)]


async def _identities(store: Store, ids: list[int]) -> list[str]:
    return [item.identity for item_id in ids for item in await store.status(item_id=item_id)]


async def test_concurrent_appends_share_commits_and_get_their_own_ids(store: Store) -> None:
    group_commit, recording = _group_commit(store)
    groups = [_group(f"caller-{n}", 3) for n in range(40)]

    results = await asyncio.gather(*(group_commit.append(group) for group in groups))

    assert len(recording.sizes) < len(groups)
    assert sum(recording.sizes) == 120
    every_id = [item_id for ids in results for item_id in ids]
    assert len(set(every_id)) == 120
    for group, ids in zip(groups, results, strict=True):
        assert ids == sorted(ids)
        assert await _identities(store, ids) == [item.identity for item in group]


async def test_groups_keep_their_order_within_a_commit(store: Store) -> None:
    group_commit, recording = _group_commit(store)

    futures = [group_commit.submit(_group(name, 2)) for name in ("a", "b", "c")]
    first, second, third = [await future for future in futures]

    assert recording.sizes == [6]
    assert first + second + third == sorted(first + second + third)
    assert await _identities(store, second) == ["b-0", "b-1"]


async def test_a_commit_takes_whole_groups_up_to_max_items(store: Store) -> None:
    group_commit, recording = _group_commit(store, max_items=5)

    futures = [
        group_commit.submit(_group(f"g{n}", size)) for n, size in enumerate([3, 3, 10, 1, 2, 2])
    ]
    results = [await future for future in futures]

    assert recording.sizes == [3, 3, 10, 5]
    assert [len(ids) for ids in results] == [3, 3, 10, 1, 2, 2]


async def test_an_app_at_its_bound_fails_only_its_groups_and_the_rest_commit_together(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store(max_items=100, max_items_per_app=3)
    group_commit, recording = _group_commit(store)

    futures = [
        group_commit.submit(_group("fits", 2)),
        group_commit.submit(_group("too-many", 4, app_id=OTHER_APP)),
        group_commit.submit(_group("fits-too", 1, app_id=THIRD_APP)),
    ]
    fits, too_many, fits_too = await asyncio.gather(*futures, return_exceptions=True)

    assert recording.sizes == [7, 3]
    assert isinstance(too_many, StoreFull) and too_many.app_id == OTHER_APP
    assert isinstance(fits, list) and isinstance(fits_too, list)
    assert await _identities(store, fits + fits_too) == ["fits-0", "fits-1", "fits-too-0"]


async def test_past_the_bound_on_all_items_groups_are_appended_one_by_one(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store(max_items=3, max_items_per_app=100)
    group_commit, recording = _group_commit(store)

    futures = [
        group_commit.submit(_group("fits", 2)),
        group_commit.submit(_group("too-many", 2, app_id=OTHER_APP)),
        group_commit.submit(_group("fits-too", 1, app_id=THIRD_APP)),
    ]
    fits, too_many, fits_too = await asyncio.gather(*futures, return_exceptions=True)

    assert recording.sizes == [5, 2, 2, 1]
    assert isinstance(too_many, StoreFull) and too_many.app_id is None
    assert isinstance(fits, list) and isinstance(fits_too, list)


async def test_a_lone_group_that_does_not_fit_gets_store_full(
    open_test_store: OpenStore,
) -> None:
    store = await open_test_store(max_items=2, max_items_per_app=2)
    group_commit, recording = _group_commit(store)

    with pytest.raises(StoreFull):
        await group_commit.append(_group("too-many", 3))

    assert recording.sizes == [3]


async def test_any_other_error_fails_every_group_of_the_commit(store: Store) -> None:
    group_commit, recording = _group_commit(store)
    recording.error = ConnectionError("the database went away")

    futures = [group_commit.submit(_group(name, 1)) for name in ("a", "b")]
    outcomes = await asyncio.gather(*futures, return_exceptions=True)

    assert outcomes == [recording.error, recording.error]
    assert recording.sizes == [2]


async def test_a_caller_that_gives_up_does_not_disturb_the_others(store: Store) -> None:
    group_commit, recording = _group_commit(store)
    recording.gate.clear()
    given_up_during = group_commit.submit(_group("during", 1))
    waiting = group_commit.submit(_group("waiting", 1))
    await recording.started.wait()
    given_up_before = group_commit.submit(_group("before", 1))
    later = group_commit.submit(_group("later", 1))

    given_up_during.cancel()
    given_up_before.cancel()
    recording.gate.set()

    assert await _identities(store, await waiting) == ["waiting-0"]
    assert await _identities(store, await later) == ["later-0"]
    assert recording.sizes == [2, 1]
    await group_commit.close()


async def test_close_waits_for_everything_queued(store: Store) -> None:
    group_commit, recording = _group_commit(store, max_items=1)
    futures = [group_commit.submit(_group(f"g{n}", 1)) for n in range(5)]

    await group_commit.close()

    assert all(future.done() for future in futures)
    assert recording.sizes == [1] * 5


async def test_appending_resumes_after_the_queue_has_drained(store: Store) -> None:
    group_commit, recording = _group_commit(store)

    first = await group_commit.append(_group("first", 1))
    await group_commit.close()
    second = await group_commit.append(_group("second", 1))

    assert second[0] > first[0]
    assert recording.sizes == [1, 1]
    assert await group_commit.append([]) == []


def test_submit_needs_a_running_event_loop() -> None:
    with pytest.raises(RuntimeError):
        GroupCommit(cast(Store, object())).submit(_group("a", 1))
