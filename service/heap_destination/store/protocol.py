"""The interface delivery and the API use; both engines implement it."""

from collections.abc import Sequence
from typing import Protocol

from heap_destination.store.items import AppBacklog, NewItem, StoredItem


class Store(Protocol):
    async def append(self, items: Sequence[NewItem]) -> list[int]:
        """Stores all items in one transaction and returns their ids, in order.

        Raises StoreFull, storing nothing, when the bound on undelivered items in total or
        for one app_id would be exceeded.
        """
        ...

    async def claim(self, worker: str, limit: int, lease_seconds: float) -> list[StoredItem]:
        """Leases up to `limit` due items of one (base_url, app_id, endpoint), oldest first.

        The group is that of the oldest due item. Items whose lease expired (a crashed
        worker) are due again. Claimed items are "delivering" with attempts + 1.
        """
        ...

    async def mark_delivered(self, ids: Sequence[int], heap_status: int) -> None:
        """Final whatever the item's state: Heap has it, even if a lease had expired."""
        ...

    async def mark_failed(
        self,
        ids: Sequence[int],
        error: str,
        heap_status: int | None,
        heap_body: str,
        retry_at: float,
    ) -> None:
        """Back to "stored", not claimable before `retry_at`; `heap_body` is cut to 500
        characters. Items already delivered or dead are left as they are."""
        ...

    async def mark_dead(
        self, ids: Sequence[int], reason: str, heap_status: int | None, heap_body: str
    ) -> None:
        """`reason` becomes last_error. Items already delivered or dead are left as they are."""
        ...

    async def status(
        self, message_id: str | None = None, item_id: int | None = None
    ) -> list[StoredItem]:
        """The items of a message and/or the item with an id; ValueError when given neither."""
        ...

    async def dead_letters(
        self,
        app_id: str | None,
        reason_contains: str | None,
        limit: int,
        after_id: int | None,
    ) -> list[StoredItem]:
        """Dead items by id, after `after_id`; `reason_contains` ignores case."""
        ...

    async def replay_dead(self, app_id: str | None) -> int:
        """Dead items (of one app, or all) become "stored" with attempts 0; their count."""
        ...

    async def purge_dead(self, app_id: str | None) -> int:
        """Deletes dead items (of one app, or all); their count."""
        ...

    async def backlog(self) -> list[AppBacklog]:
        """Per app_id with undelivered items or deliveries in the last 60 s, by app_id."""
        ...

    async def prune(self, older_than: float) -> int:
        """Deletes delivered and dead items accepted before `older_than`."""
        ...

    async def close(self) -> None: ...
