"""GroupCommit: many callers' appends committed together, one transaction for many."""

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from heap_destination.store.errors import StoreFull
from heap_destination.store.items import NewItem
from heap_destination.store.protocol import Store


@dataclass(frozen=True)
class _Group:
    items: list[NewItem]
    future: "asyncio.Future[list[int]]"


class GroupCommit:
    """Appends through `store`, gathering the groups submitted while a commit runs into
    the next one (whole groups, at most `max_items` items unless one group alone is more).

    Each group gets its own ids, in order, or its own error: when the joint append raises
    StoreFull for one app, the groups holding that app's items fail and the others are
    committed together; at the bound on all items, the groups are appended one by one,
    so those that fit are stored.
    """

    def __init__(self, store: Store, max_items: int = 5000) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._store = store
        self._max_items = max_items
        self._queue: deque[_Group] = deque()
        self._flusher: asyncio.Task[None] | None = None

    def submit(self, items: Sequence[NewItem]) -> "asyncio.Future[list[int]]":
        """Queues one group; its future gets the items' ids. Call it from a running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        if not items:
            future.set_result([])
            return future
        self._queue.append(_Group(list(items), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        return future

    async def append(self, items: Sequence[NewItem]) -> list[int]:
        return await self.submit(items)

    async def close(self) -> None:
        """Waits until everything queued has been committed."""
        while (flusher := self._flusher) is not None and not flusher.done():
            await asyncio.wait([flusher])

    async def _flush(self) -> None:
        groups: list[_Group] = []
        try:
            while self._queue:
                groups = self._take()
                if groups:
                    await self._commit(groups)
        except asyncio.CancelledError:
            for group in [*groups, *self._queue]:
                group.future.cancel()
            self._queue.clear()
            raise

    def _take(self) -> list[_Group]:
        """The next commit's groups: whole groups in order, up to max_items (one larger
        group goes alone). Groups whose caller already gave up are dropped unstored."""
        groups: list[_Group] = []
        count = 0
        while self._queue:
            group = self._queue[0]
            if group.future.done():
                self._queue.popleft()
                continue
            if groups and count + len(group.items) > self._max_items:
                break
            groups.append(self._queue.popleft())
            count += len(group.items)
        return groups

    async def _commit(self, groups: list[_Group]) -> None:
        while groups:
            try:
                ids = await self._store.append([item for group in groups for item in group.items])
            except StoreFull as full:
                if full.app_id is not None and len(groups) > 1:
                    groups = _without_app(groups, full)
                    continue
                if len(groups) == 1:
                    _fail(groups[0], full)
                    return
                for group in groups:
                    if not group.future.done():
                        await self._commit_alone(group)
            except Exception as error:
                for group in groups:
                    _fail(group, error)
            else:
                start = 0
                for group in groups:
                    _resolve(group, ids[start : start + len(group.items)])
                    start += len(group.items)
            return

    async def _commit_alone(self, group: _Group) -> None:
        try:
            ids = await self._store.append(group.items)
        except Exception as error:
            _fail(group, error)
        else:
            _resolve(group, ids)


def _without_app(groups: list[_Group], full: StoreFull) -> list[_Group]:
    """Fails the groups holding items of the app at its bound; the others, to commit."""
    others: list[_Group] = []
    for group in groups:
        if any(item.app_id == full.app_id for item in group.items):
            _fail(group, full)
        else:
            others.append(group)
    return others


def _resolve(group: _Group, ids: list[int]) -> None:
    if not group.future.done():
        group.future.set_result(ids)


def _fail(group: _Group, error: Exception) -> None:
    if not group.future.done():
        group.future.set_exception(error)
